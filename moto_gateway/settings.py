from pydantic import Field

from common.settings import AwsSettings


class GatewaySettings(AwsSettings):
    """The moto service's settings; the AWS_* credentials are the ones presigned requests are checked with."""

    gateway_host: str = Field("127.0.0.1", min_length=1, description="address to listen on (0.0.0.0 in a container)")
    gateway_port: int = Field(5000, ge=1, le=65535)
