"""A small HTTP load generator for loopback: raw sockets, requests built in advance, so that the
client costs as little CPU as possible on a machine it shares with the gateway and PostgreSQL.

Closed loop (`saturate`): N clients send back to back; gives the maximum rate.
Open loop (`at_rate`): requests start on a fixed schedule whatever the answers do, and latency
is counted from the scheduled start, so a slow answer cannot hide the queue it causes.
"""

import re
import socket
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from bench.report import percentile

_PROTOCOL = re.compile(rb"<ans:numeroProtocolo>([^<]+)</ans:numeroProtocolo>")


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)  # seconds
    errors: int = 0
    elapsed: float = 0.0
    bodies: list[bytes] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def ms(self, pct: float) -> float:
        return percentile(self.latencies, pct) * 1000

    def protocols(self) -> list[str]:
        found = (_PROTOCOL.search(body) for body in self.bodies)
        return [m.group(1).decode() for m in found if m]


def http_request(port: int, path: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        'Content-Type: text/xml; charset=ISO-8859-1\r\nSOAPAction: ""\r\n'
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


def send(port: int, request: bytes, timeout: float = 60.0) -> tuple[int, bytes]:
    """One request on a new connection (gunicorn's sync workers close after each answer)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    answer = b"".join(chunks)
    status = int(answer[9:12]) if answer.startswith(b"HTTP/1.") else 0
    return status, answer


def saturate(
    port: int, requests: Sequence[bytes], clients: int, keep_bodies: bool = False
) -> Result:
    result = Result()
    lock = threading.Lock()
    queue = iter(requests)

    def client() -> None:
        while True:
            with lock:
                request = next(queue, None)
            if request is None:
                return
            started = time.perf_counter()
            try:
                status, answer = send(port, request)
            except OSError:
                status, answer = 0, b""
            elapsed = time.perf_counter() - started
            with lock:
                if status == 200:
                    result.latencies.append(elapsed)
                    if keep_bodies:
                        result.bodies.append(answer)
                else:
                    result.errors += 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.elapsed = time.perf_counter() - started
    return result


def at_rate(port: int, requests: Sequence[bytes], rate: float, max_in_flight: int = 64) -> Result:
    result = Result()
    lock = threading.Lock()

    def one(request: bytes, scheduled: float) -> None:
        try:
            status, _ = send(port, request)
        except OSError:
            status = 0
        elapsed = time.perf_counter() - scheduled
        with lock:
            if status == 200:
                result.latencies.append(elapsed)
            else:
                result.errors += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max_in_flight) as pool:
        for i, request in enumerate(requests):
            scheduled = started + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(one, request, scheduled)
    result.elapsed = time.perf_counter() - started
    return result
