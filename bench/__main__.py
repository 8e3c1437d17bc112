"""`python -m bench` (`make bench`): the gateway's benchmarks, printed as tables.

python -m bench                     # everything (a few minutes)
python -m bench --only inprocess    # or e2e, memory
python -m bench --quick             # tiny sizes: checks that it all runs, measures nothing
"""

import argparse
import os
import platform
import secrets
import sys
import time

from bench import e2e, inprocess, memory, stages
from bench.report import table

PARTS = ("inprocess", "e2e", "memory")


def _inprocess(args) -> None:
    sizes = (1, 2) if args.quick else (1, 10, 100)
    rows = inprocess.measure(sizes=sizes, repeat=2 if args.quick else args.repeat)
    print("\n## In-process cost of receiving a lot (CPU ms, median)\n")
    print(
        table(
            [
                "guide type",
                "guides",
                "request bytes",
                "floor",
                "gateway",
                "ratio",
                "db driver",
                "tiss.validate",
                "tiss valid",
            ],
            [
                (
                    r.guide_type,
                    r.size,
                    r.request_bytes,
                    r.floor_ms,
                    r.gateway_ms,
                    f"{r.ratio:.2f}x",
                    r.db_ms,
                    r.tiss_ms,
                    r.tiss_valid,
                )
                for r in rows
            ],
        )
    )
    print(
        "\nfloor: lxml parse + official XSD + MD5 of the same bytes; gateway: the whole WSGI "
        "call minus time in the database driver; target: ratio <= 1.5 for 100 guides"
    )
    _stages([r for r in rows if r.steps is not None])


def _stages(rows) -> None:
    print("\n## Where the gateway's time goes, largest lots (CPU ms, median)\n")
    print(
        table(
            ["guide type", "guides", "floor", *stages.STEPS, "the rest", "gateway"],
            [
                (
                    r.guide_type,
                    r.size,
                    r.floor_ms,
                    *(r.steps.ms[step] for step in stages.STEPS),
                    r.gateway_ms - r.steps.total,
                    r.gateway_ms,
                )
                for r in rows
            ],
        )
    )
    print(
        "\neach step run on its own on the same lots, with the gateway's own functions: parse "
        "(hardened), schema (official XSD) and hash are the floor's work; guides: reading the "
        "guides' fields; digest: the content digest that tells a resend from another lot with the "
        "same number; receipt: built, sealed and serialised. The rest (gateway minus the steps): "
        "spyne, login, lot rules, the Python side of storing the lot and its archive record"
    )


def _e2e(args) -> None:
    sizes = e2e.QUICK if args.quick else e2e.Sizes()
    phases = e2e.run(args.workers, sizes)
    print(f"\n## End to end over HTTP, PostgreSQL, {args.workers} gunicorn workers\n")
    print(
        table(
            [
                "phase",
                "requests",
                "errors",
                "per second",
                "p50 ms",
                "p99 ms",
                "CPU ms/req: gateway",
                "postgres",
                "client",
                "CPU-bound rate",
            ],
            [
                (
                    p.name,
                    p.requests,
                    p.errors,
                    p.rate,
                    p.p50_ms,
                    p.p99_ms,
                    p.gateway_cpu_ms,
                    p.postgres_cpu_ms,
                    p.client_cpu_ms,
                    p.cpu_bound_rate,
                )
                for p in phases
            ],
        )
    )
    print(
        "\ntargets: >= 100 ten-guide lots/s, >= 500 status queries/s, "
        "p99 < 100 ms at half the max rate.\nCPU-bound rate: cores x 1000 / (gateway + postgres "
        "+ client CPU ms per request), what the measured costs allow on an otherwise idle machine"
    )


def _memory(args) -> None:
    rows = memory.run(limit=256 * 1024 if args.quick else None)
    print("\n## Worker resident memory (KiB)\n")
    print(
        table(
            [
                "message",
                "request bytes",
                "answer",
                "RSS before",
                "RSS after",
                "growth",
                "growth / size",
                "peak RSS",
            ],
            [
                (
                    r.message,
                    r.request_bytes,
                    r.answer,
                    r.rss_before_kib,
                    r.rss_after_kib,
                    r.growth_kib,
                    f"{r.growth_per_size:.2f}x",
                    r.peak_kib,
                )
                for r in rows
            ],
        )
    )
    print("\ntarget: growth under ten times the message size")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=PARTS, action="append", help="run only this part")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke run)")
    parser.add_argument("--repeat", type=int, default=30, help="lots per in-process cell")
    # Cores + 1: a sync worker waits on PostgreSQL for part of each request, but with the database
    # and the load generator on the same cores more workers only add switching; on the 2-core
    # reference machine 3 workers did better than 4 and 6 (bench/RESULTS.md).
    parser.add_argument(
        "--workers", type=int, default=(os.cpu_count() or 1) + 1, help="gunicorn workers"
    )
    args = parser.parse_args(argv)
    # The portal needs a key; without one it writes a generated key to disk and warns.
    os.environ.setdefault("TISS_SECRET_KEY", secrets.token_hex(32))
    started = time.monotonic()
    print(
        f"# tiss-gateway benchmarks: {platform.node()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.2f}"
    )
    for part in args.only or PARTS:
        {"inprocess": _inprocess, "e2e": _e2e, "memory": _memory}[part](args)
    print(f"\n({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
