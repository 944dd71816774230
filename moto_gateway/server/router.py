"""The gateway's own endpoints, under paths starting with `/_` (no bucket name can contain '_')."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from moto_gateway.wsgi.answers import WsgiApp, json_response


class Router:
    """Serves registered `/_...` paths itself and hands every other request to the wrapped app unchanged."""

    def __init__(self, app: WsgiApp, routes: dict[str, WsgiApp] | None = None):
        self.app = app
        self.routes: dict[str, WsgiApp] = dict(routes or {})
        self.prefixes: dict[str, WsgiApp] = {}

    def add(self, path: str, handler: WsgiApp, *, subpaths: bool = False) -> None:
        """Serve `path`; with `subpaths`, also every `path/...` (the handler reads the rest from PATH_INFO)."""
        if not path.startswith("/_"):
            raise ValueError(f"gateway routes start with /_ so that they can never be a bucket: {path}")
        self.routes[path] = handler
        if subpaths:
            self.prefixes[path + "/"] = handler

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_"):
            handler = self.routes.get(path.rstrip("/") or path)
            if handler is None:
                handler = next((h for prefix, h in self.prefixes.items() if path.startswith(prefix)), None)
            if handler is not None:
                return handler(environ, start_response)
        return self.app(environ, start_response)


def health_handler(status: dict) -> WsgiApp:
    """GET/HEAD /_health: 200 with the gateway's mode; the compose healthcheck probes it."""

    def handle(environ: dict, start_response: Callable) -> list[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in ("GET", "HEAD"):
            return json_response(start_response, 405, {"error": "use GET"}, method)
        return json_response(start_response, 200, {"status": "ok", **status}, method)

    return handle
