"""List the messages the gateway received since a time, following every page.

python examples/list_messages.py --since 2026-11-01T00:00:00-03:00 [--provider CODE]
    [--outcome accepted|duplicate|rejected|error] [--service tissLoteGuias] [--until T]
    [--page-size N]
"""

import argparse
from datetime import UTC, datetime, timedelta

from _backoffice import connect, parser, run


def instant(text: str) -> datetime:
    """2026-11-01, 2026-11-01T08:00 or 2026-11-01T08:00:00-03:00 (no time zone: UTC)."""
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 date or time") from None


def main() -> None:
    p = parser(__doc__)
    p.add_argument(
        "--since",
        type=instant,
        default=datetime.now(UTC) - timedelta(days=1),
        help="ISO 8601 date or time; without a time zone it is UTC (default: 24 hours ago)",
    )
    p.add_argument("--until", type=instant, help="exclusive")
    p.add_argument("--provider", help="codigoPrestadorNaOperadora")
    p.add_argument("--outcome", choices=("accepted", "duplicate", "rejected", "error"))
    p.add_argument("--service")
    p.add_argument("--page-size", type=int, default=100)
    args = p.parse_args()
    service = connect(args)
    since = args.since

    cursor, total = None, 0
    print(
        f"{'id':>8}  {'recebida em (UTC)':19}  {'serviço':28}  {'prestador':14}  "
        f"{'resultado':9}  {'códigos':10}  protocolo"
    )
    while True:
        page = service.listarMensagens(
            desde=since,
            ate=args.until,
            codigoPrestador=args.provider,
            resultado=args.outcome,
            servico=args.service,
            limite=args.page_size,
            cursor=cursor,
        )
        for m in page.mensagem:
            print(
                f"{m.id:>8}  {m.recebidaEm:%Y-%m-%d %H:%M:%S}  {m.servico:28}  "
                f"{m.codigoPrestador or '-':14}  {m.resultado:9}  "
                f"{','.join(m.codigoGlosa) or '-':10}  {m.numeroProtocolo or '-'}"
            )
        total += len(page.mensagem)
        cursor = page.proximoCursor
        if cursor is None:
            break
    print(f"{total} mensagem(ns)")


if __name__ == "__main__":
    run(main)
