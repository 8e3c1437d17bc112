"""Resident memory of a worker before and after the largest message the configuration accepts.

One gunicorn worker, so that every request lands on the process being measured. The largest
message is a lot of SP/SADT guides filling TISS_MAX_MESSAGE_BYTES (it is answered 5015, more
than 100 guides, after every other check); a 100-guide lot, the largest lot accepted, is measured
too.
"""

from dataclasses import dataclass

from bench import load, workload
from bench.server import Server, rss_kib, scratch_database
from gateway.config import Settings


@dataclass(frozen=True)
class MemoryRow:
    message: str
    request_bytes: int
    answer: str
    rss_before_kib: int
    rss_after_kib: int
    peak_kib: int

    @property
    def growth_kib(self) -> int:
        return self.rss_after_kib - self.rss_before_kib

    @property
    def growth_per_size(self) -> float:
        return self.growth_kib * 1024 / self.request_bytes


def largest_lot(limit: int) -> bytes:
    """A SOAP request with as many SP/SADT guides as fit in `limit` bytes."""
    per_guide = len(workload.lot_message("sp-sadt", 11).soap) - len(
        workload.lot_message("sp-sadt", 10).soap
    )
    overhead = len(workload.lot_message("sp-sadt", 1).soap) - per_guide
    count = max(1, (limit - overhead) // per_guide - 2)
    while True:
        soap = workload.lot_message("sp-sadt", count).soap
        if len(soap) <= limit:
            return soap
        count -= max(1, (len(soap) - limit) // per_guide + 1)


def _answer_kind(answer: bytes) -> str:
    if b"numeroProtocolo" in answer:
        return "protocol"
    start = answer.find(b"<ans:codigoGlosa>")
    if start >= 0:
        return "glosa " + answer[start + 17 : start + 21].decode()
    return "fault" if b"Fault" in answer else "?"


def run(limit: int | None = None) -> list[MemoryRow]:
    limit = limit or Settings.from_env().max_message_bytes
    messages = [
        ("lot of 100 SP/SADT guides", workload.lot_message("sp-sadt", 100).soap),
        ("largest message accepted (TISS_MAX_MESSAGE_BYTES)", largest_lot(limit)),
    ]
    rows = []
    with scratch_database() as url, Server(url, workers=1) as server:
        (pid,) = server.worker_pids()
        port = server.port
        warm = [workload.lot_message("sp-sadt", 10).soap for _ in range(20)]
        warm += [workload.lot_message("sp-sadt", 100).soap for _ in range(3)]
        for soap in warm:  # a worker in service: caches, pools and the credential warm
            load.send(port, load.http_request(port, workload.LOTE_PATH, soap))
        for name, soap in messages:
            before = rss_kib(pid)
            status, answer = load.send(port, load.http_request(port, workload.LOTE_PATH, soap))
            after = rss_kib(pid)
            rows.append(
                MemoryRow(
                    name,
                    len(soap),
                    f"{status} {_answer_kind(answer)}",
                    before["VmRSS"],
                    after["VmRSS"],
                    after["VmHWM"],
                )
            )
    return rows
