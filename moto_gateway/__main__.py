"""`python -m moto_gateway`: serve Moto's S3 API on GATEWAY_HOST:GATEWAY_PORT until SIGTERM or SIGINT."""

import logging
import signal
import threading

from werkzeug.serving import make_server

from common.settings import load_settings, setup_logging
from moto_gateway.app import create_app
from moto_gateway.settings import GatewaySettings

log = logging.getLogger("moto_gateway")


def main() -> int:
    settings = load_settings(GatewaySettings, "moto_gateway")
    setup_logging(settings.log_level)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    try:
        server = make_server(
            settings.gateway_host, settings.gateway_port, create_app(settings), threaded=True
        )
    except OSError as exc:
        log.error("cannot listen on %s:%s: %s", settings.gateway_host, settings.gateway_port, exc.strerror)
        return 1

    def stop(signum, _frame):
        log.info("received %s, stopping", signal.Signals(signum).name)
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info(
        "Moto S3 listening on http://%s:%s (validation %s, header signatures %s)",
        settings.gateway_host,
        settings.gateway_port,
        "on" if settings.gateway_validation else "off",
        "verified"
        if settings.gateway_validation and settings.gateway_verify_header_signatures
        else "not verified",
    )
    server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
