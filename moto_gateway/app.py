"""Builds the WSGI application the moto service serves: Moto's own dispatcher."""

from moto.server import DomainDispatcherApplication, create_backend_app

from moto_gateway.settings import GatewaySettings


def create_app(settings: GatewaySettings):
    return DomainDispatcherApplication(create_backend_app)
