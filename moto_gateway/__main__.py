"""`python -m moto_gateway`: serve Moto's S3 API on GATEWAY_HOST:GATEWAY_PORT until SIGTERM or SIGINT."""

import logging
import signal

from common.settings import load_settings, setup_logging
from moto_gateway.app import create_app
from moto_gateway.server import make_server
from moto_gateway.settings import GatewaySettings

log = logging.getLogger("moto_gateway")


def main() -> int:
    settings = load_settings(GatewaySettings, "moto_gateway")
    setup_logging(settings.log_level)
    # waitress logs one line per refused or timed-out client at INFO/WARNING; its errors still show.
    logging.getLogger("waitress").setLevel(logging.ERROR)
    app = create_app(settings)
    try:
        server = make_server(app, settings)
    except OSError as exc:
        log.error("cannot listen on %s:%s: %s", settings.gateway_host, settings.gateway_port, exc.strerror)
        return 1

    def stop(signum, _frame):
        # Raised in the main thread, which runs waitress's loop: waitress closes its sockets and threads.
        log.info("received %s, stopping", signal.Signals(signum).name)
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
