"""What every example shares: where the gateway is, who the staff member is, and a zeep client
built from the WSDL the gateway publishes (GET /backoffice/v1?wsdl).

Connection settings come from the command line or the environment:
  --url       TISS_GATEWAY_URL      base URL of the gateway (default http://127.0.0.1:8000)
  --login     TISS_STAFF_LOGIN      staff login (tiss-gateway staff add)
  --password  TISS_STAFF_PASSWORD   its password (prefer the variable: argv is visible in ps)
  --auth      TISS_STAFF_AUTH       wsse (WS-Security UsernameToken, default) or basic
"""

import argparse
import getpass
import os
import sys
from collections.abc import Callable

import requests
import zeep
from zeep.exceptions import Fault, TransportError
from zeep.transports import Transport
from zeep.wsse.username import UsernameToken

BO = "urn:tiss-gateway:backoffice:v1"


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--url", default=os.environ.get("TISS_GATEWAY_URL", "http://127.0.0.1:8000"))
    p.add_argument("--login", default=os.environ.get("TISS_STAFF_LOGIN"))
    p.add_argument("--password", default=os.environ.get("TISS_STAFF_PASSWORD"))
    p.add_argument(
        "--auth", choices=("wsse", "basic"), default=os.environ.get("TISS_STAFF_AUTH", "wsse")
    )
    return p


def connect(args: argparse.Namespace):
    """The service proxy of the back office, authenticated as the staff member."""
    if not args.login:
        sys.exit("informe o login (--login ou TISS_STAFF_LOGIN)")
    password = args.password
    if password is None:
        password = getpass.getpass(f"senha de {args.login}: ")
    session = requests.Session()
    wsse = None
    if args.auth == "basic":
        session.auth = (args.login, password)
    else:
        wsse = UsernameToken(args.login, password)
    client = zeep.Client(
        f"{args.url.rstrip('/')}/backoffice/v1?wsdl",
        transport=Transport(session=session, timeout=60, operation_timeout=300),
        wsse=wsse,
    )
    return client.service


def run(main: Callable[[], None]) -> None:
    """Run an example; a refusal prints the gateway's message and exits with 1."""
    try:
        main()
    except Fault as fault:
        category = None
        if fault.detail is not None:
            category = fault.detail.findtext(f"{{{BO}}}backOfficeFault/{{{BO}}}categoria")
        print(f"recusado ({category or 'falha SOAP'}): {fault.message}", file=sys.stderr)
        sys.exit(1)
    except (TransportError, requests.RequestException) as exc:
        print(f"falha de comunicação com o gateway: {exc}", file=sys.stderr)
        sys.exit(1)


def money(value) -> str:
    """Brazilian notation, right-aligned: 1.234,56."""
    if value is None:
        return f"{'-':>12}"
    text = f"{value:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")
    return f"{text:>12}"


def print_protocol(protocolo) -> None:
    print(
        f"protocolo {protocolo.numeroProtocolo}  prestador {protocolo.codigoPrestador}  "
        f"lote {protocolo.numeroLote}  ({protocolo.tipoGuia})"
    )
    print(f"  situação: {protocolo.status} - {protocolo.descricaoStatus}")
    print(
        f"  informado {money(protocolo.valorInformado)}  processado "
        f"{money(protocolo.valorProcessado)}  liberado {money(protocolo.valorLiberado)}  "
        f"glosa {money(protocolo.valorGlosa)}"
    )
    print("  histórico:")
    for change in protocolo.historico.alteracao:
        reason = f" - {change.motivo}" if change.motivo else ""
        print(
            f"    {change.data:%Y-%m-%d %H:%M:%S %Z}  {change.status} {change.descricaoStatus}"
            f"  ({change.responsavel}){reason}"
        )
