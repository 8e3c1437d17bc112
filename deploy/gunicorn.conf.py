"""gunicorn settings for production:

    gunicorn -c deploy/gunicorn.conf.py 'gateway.app:create_app()'

Every worker builds its own application (no preload), so database connections are never shared
across processes; each worker verifies and compiles the schema sets once when it starts, and a
reload (SIGHUP) starts workers with the code now on disk while the old ones finish what they are
doing (settings come from the environment the master started with: a change needs a restart).
Environment: TISS_BIND, TISS_WORKERS, TISS_LOG_FORMAT, the TISS_* settings of the README,
PROMETHEUS_MULTIPROC_DIR (default: a folder under /tmp made at start).
"""

import gc
import multiprocessing
import os

from gateway import logs, multiproc

# Set but empty (compose's ${TISS_BIND:-}) is unset: gunicorn would listen nowhere.
bind = os.environ.get("TISS_BIND") or "127.0.0.1:8000"
# Sync workers: a lot is CPU work (parse, XSD, hash) plus a short transaction; 2 per core keeps
# the cores busy while some workers wait on PostgreSQL. nginx buffers request bodies, so a slow
# client never holds a worker.
workers = int(os.environ.get("TISS_WORKERS") or multiprocessing.cpu_count() * 2)
worker_class = "sync"
preload_app = False
timeout = 60  # a 100-guide lot takes well under a second; 60 s only catches a stuck worker
graceful_timeout = 30  # finish the messages in flight on reload/restart
keepalive = 5
max_requests = 5000  # recycle workers now and then; jitter avoids restarting all at once
max_requests_jitter = 500

# Request size: the request line and headers are bounded here; the body by the gateway itself
# (TISS_MAX_MESSAGE_BYTES, refused before it is read) and by nginx (client_max_body_size).
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190

# Logs: JSON on stderr (journald or the container runtime collects them). The gateway writes one
# access line per request itself, with the request id and the duration.
accesslog = None
logger_class = logs.GunicornLogger
errorlog = "-"
logconfig_dict = logs.logging_config(
    logs.format_named(os.environ.get("TISS_LOG_FORMAT")) or logs.JSON
)

# Metrics: each worker writes its values to PROMETHEUS_MULTIPROC_DIR, /metrics adds them up.
# Set here, in the master, so that workers inherit it before they import prometheus_client.
os.environ.setdefault(multiproc.MULTIPROC_ENV, "/tmp/tiss-gateway-prometheus")


def on_starting(_server) -> None:
    # Emptied once per master start (not on reload): a previous run's values must not count.
    multiproc.prepare_dir()


def post_worker_init(_worker) -> None:
    # The application is loaded: what exists now lives as long as the worker. Frozen out of the
    # collector's sight, a full collection no longer walks it (one took ~80 ms in the benchmarks,
    # paid by whichever request triggered it).
    gc.freeze()


def child_exit(_server, worker) -> None:
    multiproc.worker_exited(worker.pid)
