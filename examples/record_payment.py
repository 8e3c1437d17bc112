"""Record a payment from a JSON file whose keys are the schema's (registrarPagamento).

  python examples/record_payment.py PAYMENT.json

Example file:
  {"codigoPrestador": "PREST0001", "dataPagamento": "2026-12-10", "competencia": "202612",
   "formaPagamento": "1", "banco": "001", "agencia": "1234", "conta": "98765-4",
   "protocolo": [{"numeroProtocolo": "000000000001"},
                 {"numeroProtocolo": "000000000002",
                  "guia": [{"numeroGuiaPrestador": "G000002", "valorPago": 100.00}]}],
   "debitoCredito": [{"indicador": "1", "tipoDebitoCredito": "01", "descricao": "IRRF",
                      "valor": 15.00}]}
Guides left out are paid their valor liberado. Protocols must be in 3 or 5; they end in 6.
"""

import json
from decimal import Decimal
from pathlib import Path

from _backoffice import connect, money, parser, run


def main() -> None:
    p = parser(__doc__)
    p.add_argument("payment", help="JSON file (keys as in registrarPagamento)")
    args = p.parse_args()
    data = json.loads(Path(args.payment).read_text("utf-8"), parse_float=Decimal)
    result = connect(args).registrarPagamento(**data)
    print(
        f"pagamento {result.idPagamento} ao prestador {result.codigoPrestador} em "
        f"{result.dataPagamento:%d/%m/%Y}, competência {result.competencia[4:]}/"
        f"{result.competencia[:4]}"
    )
    for protocolo in result.protocolo:
        print(
            f"  protocolo {protocolo.numeroProtocolo}: {money(protocolo.valorPago)}  "
            f"(situação {protocolo.status})"
        )
    print(f"  bruto    {money(result.valorBruto)}")
    print(f"  débitos  {money(result.valorDebitos)}")
    print(f"  créditos {money(result.valorCreditos)}")
    print(f"  líquido  {money(result.valorLiquido)}")


if __name__ == "__main__":
    run(main)
