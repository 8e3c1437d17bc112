"""Log lines as production writes them (JSON, the request id filter on the handler), for tests
that check what an operator reads in the logs."""

import contextlib
import io
import json
import logging
from collections.abc import Callable, Iterator

from gateway.logs import JsonFormatter, RequestIdFilter


@contextlib.contextmanager
def json_log_lines(level: int = logging.DEBUG) -> Iterator[Callable[[], list[dict]]]:
    """Every line logged at `level` or above while open, each parsed as JSON (a line that is not
    JSON fails the test where it is read)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(level)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
