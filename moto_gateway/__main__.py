"""`python -m moto_gateway`: serve Moto's S3 API on GATEWAY_HOST:GATEWAY_PORT until SIGTERM or SIGINT.

The port is bound before Moto is imported (seconds on a busy machine): a client that connects while Moto
loads waits in the listen backlog and is answered, instead of being refused, e.g. after a restart.
"""

import logging
import signal
import socket

from common.gc_tuning import tune_garbage_collector
from common.settings import load_settings, setup_logging
from moto_gateway.settings import GatewaySettings

log = logging.getLogger("moto_gateway")
LISTEN_BACKLOG = 1024


def listen(host: str, port: int) -> socket.socket:
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    return socket.create_server((host, port), family=family, backlog=LISTEN_BACKLOG)


def main() -> int:
    settings = load_settings(GatewaySettings, "moto_gateway")
    setup_logging(settings.log_level)
    try:
        listener = listen(settings.gateway_host, settings.gateway_port)
    except OSError as exc:
        log.error("cannot listen on %s:%s: %s", settings.gateway_host, settings.gateway_port, exc.strerror)
        return 1
    from moto_gateway.app import create_app  # noqa: PLC0415 (after binding, see the docstring)
    from moto_gateway.server.http_server import make_server  # noqa: PLC0415
    from moto_gateway.state import durable  # noqa: PLC0415

    # waitress logs one line per refused or timed-out client at INFO/WARNING; its errors still show.
    logging.getLogger("waitress").setLevel(logging.ERROR)
    server = make_server(create_app(settings), settings, listener)
    tune_garbage_collector()  # Moto's modules are loaded: out of every collection's walk from here on

    def stop(signum, _frame):
        # Raised in the main thread, which runs waitress's loop: waitress closes its sockets and threads. The
        # state folder stops first, while the loop's wake-up pipe that releases held answers is still open.
        log.info("received %s, stopping", signal.Signals(signum).name)
        try:
            durable.stop_active()
        except Exception:  # noqa: BLE001 (what was committed stays; the exit goes on)
            log.exception("the state folder did not stop cleanly")
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info(
        "Moto S3 listening on http://%s:%s (validation %s, header signatures %s, %d threads)",
        settings.gateway_host,
        settings.gateway_port,
        "on" if settings.gateway_validation else "off",
        "verified"
        if settings.gateway_validation and settings.gateway_verify_header_signatures
        else "not verified",
        settings.gateway_threads,
    )
    server.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
