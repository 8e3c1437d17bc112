"""Where gunicorn's workers keep their metric values (prometheus_client's multiprocess mode).

prometheus_client picks its mode when it is first imported, so this module does not import it:
`tiss-gateway serve` and deploy/gunicorn.conf.py call `prepare_dir()` in gunicorn's master before
anything imports the application.
"""

import os
import tempfile
from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_dir(directory: str | None = None) -> str:
    """Set PROMETHEUS_MULTIPROC_DIR (the given folder, the one already set, or a new temporary
    one) and empty it: the values of a previous run must not be added to this one's."""
    path = Path(directory or os.environ.get(MULTIPROC_ENV) or tempfile.mkdtemp(prefix="tiss-prom-"))
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()
    os.environ[MULTIPROC_ENV] = str(path)
    return str(path)


def worker_exited(pid: int) -> None:
    """gunicorn's child_exit hook: drop a dead worker's live gauges (its counters are kept)."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)
