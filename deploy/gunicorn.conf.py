"""gunicorn settings for production: `gunicorn -c deploy/gunicorn.conf.py 'gateway.app:create_app()'`.

Every worker builds its own application (no preload), so database connections are never shared
across processes; each worker verifies and compiles the schema sets once when it starts.
"""

import multiprocessing
import os

bind = os.environ.get("TISS_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("TISS_WORKERS", multiprocessing.cpu_count() * 2))
worker_class = "sync"
preload_app = False
timeout = 60  # a 100-guide lot takes well under a second; 60 s only catches a stuck worker
graceful_timeout = 30  # finish the messages in flight on reload/restart
keepalive = 5
max_requests = 5000  # recycle workers now and then; jitter avoids restarting all at once
max_requests_jitter = 500
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
accesslog = "-"
errorlog = "-"
