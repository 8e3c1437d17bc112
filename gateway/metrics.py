"""Prometheus metrics, served at GET /metrics.

Under gunicorn every worker is a process of its own: with PROMETHEUS_MULTIPROC_DIR set (see
gateway/multiproc.py) each worker writes its values to files there and /metrics adds them up
across workers. Without it (tests, a single process) the default in-process registry is used.
"""

import logging
import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

from gateway.multiproc import MULTIPROC_ENV

log = logging.getLogger("gateway.answers")

REQUESTS = Counter(
    "tiss_requests",
    "TISS messages answered, by service, version, outcome and table-38 code",
    ["service", "version", "outcome", "code", "channel"],
)
LATENCY = Histogram(
    "tiss_request_duration_seconds",
    "Time from the start of a TISS SOAP request to its answer's bytes, by service",
    ["service"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
LOTS = Counter(
    "tiss_lots_received",
    "Lots received: accepted (new protocol) or duplicate (a resend answered with its protocol)",
    ["version", "guide_type", "outcome"],
)
GUIDES = Counter(
    "tiss_guides_received",
    "Guides in lots received, by the lot's outcome",
    ["version", "guide_type", "outcome"],
)


def observe_answer(service: str, channel: str, answer) -> None:
    """Count and log one answered message (`answer` is gateway.services.answers.Answer)."""
    code = answer.code or ""
    REQUESTS.labels(service, answer.version or "", answer.outcome, code, channel).inc()
    log.info(
        "answered",
        extra={
            "service": service,
            "channel": channel,
            "version": answer.version,
            "outcome": answer.outcome,
            "code": answer.code,
            "fault": answer.fault.value if answer.fault is not None else None,
            "message_id": answer.message_id,
            "protocol": answer.protocol,
            # password | certificate | portal (None: never authenticated); never a credential.
            "auth_method": answer.auth_method,
        },
    )


def observe_lot(version: str, guide_type: str, guides: int, outcome: str) -> None:
    LOTS.labels(version, guide_type, outcome).inc()
    GUIDES.labels(version, guide_type, outcome).inc(guides)


def observe_latency(service: str, seconds: float) -> None:
    LATENCY.labels(service).observe(seconds)


def render() -> tuple[bytes, str]:
    """The exposition text of every metric (summed over gunicorn's workers when multiprocess)."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
