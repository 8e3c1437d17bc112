"""Move a protocol to another status (dm_statusProtocolo) and show its history.

  python examples/move_protocol.py NUMERO STATUS [--reason TEXT]

Allowed: 1->2,4,8,9  2->3,4,5,8,9  8->2,4,9  5->2,3,4  3->6 (by record_payment.py);
4, 6 and 9 are final. 4, 8 and 9 need a reason; 3 and 5 need a recorded analysis.
"""

from _backoffice import connect, parser, print_protocol, run


def main() -> None:
    p = parser(__doc__)
    p.add_argument("numero", help="numeroProtocolo")
    p.add_argument("status", type=int, choices=(1, 2, 3, 4, 5, 6, 8, 9))
    p.add_argument("--reason", help="why (kept in the history; the provider is owed it)")
    args = p.parse_args()
    protocolo = connect(args).alterarStatusProtocolo(
        numeroProtocolo=args.numero, novoStatus=args.status, motivo=args.reason
    )
    print_protocol(protocolo)


if __name__ == "__main__":
    run(main)
