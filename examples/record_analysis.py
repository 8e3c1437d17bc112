"""Record the analysis of a protocol from a JSON file whose keys are the schema's
(registrarAnalise), and show the values stored.

  python examples/record_analysis.py NUMERO [ANALYSIS.json] [--reason TEXT]

Without a file every guide is approved as informed. Example file:
  {"guia": [
     {"numeroGuiaPrestador": "G000001",
      "glosa": [{"codigoGlosa": "1705", "valor": 5.00, "descricao": "taxa a maior"}],
      "item": [{"sequencialItem": 1,
                "glosa": [{"codigoGlosa": "1801", "valor": 20.00}]},
               {"sequencialItem": 2, "valorProcessado": 70.00}]}]}
Guides and items left out: processado = liberado = informado. valorLiberado left out:
valorProcessado minus the glosas.
"""

import json
from decimal import Decimal
from pathlib import Path

from _backoffice import connect, money, parser, print_protocol, run


def main() -> None:
    p = parser(__doc__)
    p.add_argument("numero", help="numeroProtocolo")
    p.add_argument("analysis", nargs="?", help="JSON file (keys as in registrarAnalise)")
    p.add_argument("--reason")
    args = p.parse_args()
    guides = []
    if args.analysis:
        # Amounts as Decimal: a float would not survive as 2-decimal money.
        data = json.loads(Path(args.analysis).read_text("utf-8"), parse_float=Decimal)
        guides = data.get("guia", [])
    protocolo = connect(args).registrarAnalise(
        numeroProtocolo=args.numero, motivo=args.reason, guia=guides
    )
    print_protocol(protocolo)
    print(f"  {'guia':20} {'informado':>12} {'processado':>12} {'liberado':>12}  glosas")
    for guia in protocolo.guia:
        codes = [f"{g.codigoGlosa} {money(g.valor).strip()}" for g in guia.glosa]
        codes += [
            f"item {i.sequencialItem}: {g.codigoGlosa} {money(g.valor).strip()}"
            for i in guia.item
            for g in i.glosa
        ]
        print(
            f"  {guia.numeroGuiaPrestador:20} {money(guia.valorInformado)} "
            f"{money(guia.valorProcessado)} {money(guia.valorLiberado)}  "
            f"{'; '.join(codes) or '-'}"
        )


if __name__ == "__main__":
    run(main)
