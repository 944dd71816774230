"""gunicorn settings for the uploader, from its settings class (a bad variable: one line naming it, exit 2);
each one can be overridden by GUNICORN_CMD_ARGS or the command line.

Threaded workers: a slow client (say, headers sent a byte at a time) holds one thread, not a whole worker,
so `/healthz` and everyone else keep being answered; a connection that sends nothing goes back to the
worker's poller after a few seconds and is closed after `keepalive` seconds.
"""

from common.settings import load_settings
from uploader.settings import UploaderSettings

settings = load_settings(UploaderSettings, "uploader")

bind = "0.0.0.0:8000"
workers = settings.uploader_workers
worker_class = "gthread"
threads = settings.uploader_threads
# create_app() runs once in the master (no S3 call); its workers share the app and its session key.
preload_app = True
timeout = 30
graceful_timeout = 20
keepalive = 5
accesslog = settings.uploader_access_log
errorlog = "-"
loglevel = settings.log_level.lower()
# No runtime control socket: nothing here uses it, and parallel instances would share its path.
control_socket_disable = True


def on_starting(server):
    """Prepare S3 once, before any worker starts; if it cannot be, gunicorn stops with the one-line reason."""
    from uploader.storage import prepare_or_stop

    prepare_or_stop(settings)
