"""`tiss-gateway serve`: the WSGI application under gunicorn."""

import gc

from gunicorn.app.base import BaseApplication

from gateway import logs, multiproc
from gateway.app import build_app
from gateway.config import Settings
from gateway.services.gateway import Gateway


class _Gunicorn(BaseApplication):
    def __init__(self, settings: Settings, options: dict) -> None:
        self.settings = settings
        self.options = options
        self.gateway: Gateway | None = None
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        self.gateway = Gateway.start(self.settings)
        return build_app(self.gateway)

    def post_fork(self, _server, _worker) -> None:
        # Connections opened (and a record id held) by the master while preloading must not be
        # shared by workers.
        if self.gateway is not None:
            self.gateway.db.after_fork()
        # Everything loaded so far (compiled schemas, modules, mappers) lives as long as the
        # worker: out of the collector's sight, a full collection no longer walks it (one took
        # ~80 ms in the benchmarks, paid by whichever request triggered it).
        gc.freeze()


def serve(settings: Settings, *, host: str, port: int, workers: int) -> None:
    # Preloading verifies and compiles the schema sets once, in the master, before forking:
    # a set that does not match its SHA-256 stops the server from starting at all.
    app_options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "preload_app": True,
        "timeout": 60,
        "graceful_timeout": 30,
        "limit_request_line": 8190,
        # The gateway logs each request itself (JSON, with the request id and duration).
        "accesslog": None,
        "logger_class": logs.GunicornLogger,
        "errorlog": "-",
        "logconfig_dict": logs.logging_config(settings.log_format or logs.JSON),
        "child_exit": lambda _server, worker: multiproc.worker_exited(worker.pid),
    }
    runner = _Gunicorn(settings, app_options)
    runner.cfg.set("post_fork", runner.post_fork)
    runner.run()
