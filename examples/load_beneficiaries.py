"""Load (insert or update) beneficiaries from a CSV file, in batches, over the back office.

  python examples/load_beneficiaries.py FILE.csv [--batch 1000]

UTF-8 CSV (commas or semicolons) with a header: numero_carteira, nome, plano, situacao
(ativo|suspenso|cancelado), data_adesao (AAAA-MM-DD), and optionally data_desligamento,
validade_carteira. Each batch is stored whole or not at all; the gateway says which carteira is
wrong.
(On the gateway host, `tiss-gateway beneficiary import FILE.csv` loads the same file at once.)
"""

import csv
import sys
from pathlib import Path

from _backoffice import connect, parser, run

COLUMNS = {
    "numero_carteira": "numeroCarteira",
    "nome": "nome",
    "plano": "plano",
    "situacao": "situacao",
    "data_adesao": "dataAdesao",
    "data_desligamento": "dataDesligamento",
    "validade_carteira": "validadeCarteira",
}
REQUIRED = ("numero_carteira", "nome", "plano", "situacao", "data_adesao")


def main() -> None:
    p = parser(__doc__)
    p.add_argument("file")
    p.add_argument("--batch", type=int, default=1000, help="beneficiaries per call (max 5000)")
    args = p.parse_args()
    with Path(args.file).open(encoding="utf-8-sig", newline="") as f:
        # Commas or semicolons (a spreadsheet saved as CSV in Portuguese), as the CLI's import.
        first_line = f.readline()
        f.seek(0)
        delimiter = ";" if ";" in first_line and "," not in first_line else ","
        reader = csv.DictReader(f, delimiter=delimiter)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or ())]
        if missing:
            sys.exit(f"{args.file}: faltam as colunas {', '.join(missing)} no cabeçalho")
        rows = [
            {COLUMNS[k]: (v or "").strip() or None for k, v in row.items() if k in COLUMNS}
            for row in reader
        ]
    service = connect(args)
    loaded = 0
    for start in range(0, len(rows), args.batch):
        batch = rows[start : start + args.batch]
        loaded += service.carregarBeneficiarios(beneficiario=batch)
        print(f"  {loaded}/{len(rows)} gravados")
    print(f"{loaded} beneficiário(s) carregado(s) de {args.file}")


if __name__ == "__main__":
    run(main)
