"""End to end over HTTP: `tiss-gateway serve` on a scratch PostgreSQL database, loopback only.

For 10-guide and 100-guide lots: the maximum rate (closed loop) with its latency percentiles,
then the latency at half that rate (open loop). The same for status queries of the protocols the
10-guide lots got. Every phase is bounded by a request count.
"""

import gc
import os
import time
from dataclasses import dataclass

from bench import load, workload
from bench.server import Server, backend_pids, cpu_seconds, scratch_database


@dataclass(frozen=True)
class Phase:
    name: str
    requests: int
    errors: int
    rate: float  # answered per second
    p50_ms: float
    p99_ms: float
    gateway_cpu_ms: float  # CPU of the gunicorn workers per answered request
    postgres_cpu_ms: float  # CPU of the PostgreSQL backends serving them, per request
    client_cpu_ms: float  # CPU of this load generator, per request

    @property
    def cpu_bound_rate(self) -> float:
        """What the measured CPU costs allow on this machine's cores when nothing else runs."""
        total = self.gateway_cpu_ms + self.postgres_cpu_ms + self.client_cpu_ms
        return CORES * 1000 / total if total else 0.0


@dataclass(frozen=True)
class Sizes:
    lots10: int = 1500
    lots100: int = 200
    status: int = 4000
    half_rate_seconds: float = 10.0
    clients: int = 8


QUICK = Sizes(lots10=20, lots100=4, status=30, half_rate_seconds=1.0, clients=2)
CORES = os.cpu_count() or 1


class CpuMeter:
    """CPU spent by the gateway's workers, its PostgreSQL backends and this process."""

    def __init__(self, server: Server, database_url: str) -> None:
        self.server = server
        self.database_url = database_url

    def _snapshot(self) -> tuple[dict[int, float], dict[int, float], float]:
        return (
            cpu_seconds(self.server.worker_pids()),
            cpu_seconds(backend_pids(self.database_url)),
            time.process_time(),
        )

    def run(self, name: str, count: int, measure) -> tuple[Phase, load.Result]:
        before = self._snapshot()
        result = measure()
        after = self._snapshot()
        answered = max(1, len(result.latencies))

        def spent(index: int) -> float:
            return sum(t - before[index].get(pid, 0.0) for pid, t in after[index].items())

        phase = Phase(
            name,
            count,
            result.errors,
            result.rate,
            result.ms(50),
            result.ms(99),
            spent(0) * 1000 / answered,
            spent(1) * 1000 / answered,
            (after[2] - before[2]) * 1000 / answered,
        )
        return phase, result


def _lots(port: int, size: int, count: int) -> list[bytes]:
    path = workload.LOTE_PATH
    return [
        load.http_request(port, path, workload.lot_message("sp-sadt", size).soap)
        for _ in range(count)
    ]


def run(workers: int, sizes: Sizes = Sizes()) -> list[Phase]:
    # The load generator must not pause: a full collection of what earlier parts of the run left
    # in this process (the `tiss` package's schemas, ~60-90 ms) stalled every client thread at
    # once and showed as a p99 of 130-370 ms at half the maximum rate. Frozen out of the
    # collector's sight, as the gateway's workers do after loading.
    gc.collect()
    gc.freeze()
    phases = []
    with scratch_database() as url, Server(url, workers) as server:
        port = server.port
        meter = CpuMeter(server, url)
        # Warm-up: every worker verifies the credential once (argon2) and touches every path.
        warm = load.saturate(port, _lots(port, 10, 4 * workers), clients=workers, keep_bodies=True)
        status_path = workload.STATUS_PATH

        def queries(numbers: list[str], count: int) -> list[bytes]:
            return [
                load.http_request(
                    port, status_path, workload.status_query(numbers[i % len(numbers)])
                )
                for i in range(count)
            ]

        load.saturate(port, queries(warm.protocols(), 4 * workers), clients=workers)

        protocols = warm.protocols()
        for size, count in ((10, sizes.lots10), (100, sizes.lots100)):
            label = f"lots of {size} guides"
            lots = _lots(port, size, count)
            full, result = meter.run(
                f"{label}, max rate",
                count,
                lambda lots=lots: load.saturate(port, lots, sizes.clients, keep_bodies=True),
            )
            if size == 10:  # status queries ask for these: protocols of 10-guide lots
                protocols = result.protocols() or protocols
            half_count = max(1, int(full.rate / 2 * sizes.half_rate_seconds))
            slow = _lots(port, size, half_count)
            half, _ = meter.run(
                f"{label}, at half the max rate",
                half_count,
                lambda slow=slow, rate=full.rate / 2: load.at_rate(port, slow, rate),
            )
            phases += [full, half]

        asked = queries(protocols, sizes.status)
        full, _ = meter.run(
            "status queries, max rate",
            sizes.status,
            lambda: load.saturate(port, asked, sizes.clients),
        )
        half_count = max(1, int(full.rate / 2 * sizes.half_rate_seconds))
        half, _ = meter.run(
            "status queries, at half the max rate",
            half_count,
            lambda: load.at_rate(port, asked[:half_count], full.rate / 2),
        )
        phases += [full, half]
    return phases
