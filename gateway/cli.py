"""The `tiss-gateway` command."""

import argparse
import getpass
import os
import re
import sys
from datetime import date
from pathlib import Path
from urllib.parse import unquote

from gateway.config import ConfigError, Settings
from gateway.tiss.schemas import SchemaSetError

DEMO_REGISTRO_ANS = "123456"
DEMO_CNPJ = "11222333000181"
DEMO_CODE = "PREST0001"
DEMO_OPERATOR_CNPJ = "34028316000103"
DEMO_STAFF = "operador.demo"
DEMO_STAFF_PASSWORD = "Operador@Demo2026"
DEMO_PASSWORD = "Demo@Tiss2026"
PASSWORD_HELP = "omit it to type it at a prompt, or pipe it on standard input (unseen in ps)"


def _db(settings: Settings):
    from sqlalchemy.engine import make_url

    from storage.db import Database

    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        if url.database in (None, "", ":memory:") or url.query.get("mode") == "memory":
            # An in-memory database lives as long as the command: nothing would be kept.
            raise ConfigError("TISS_DATABASE_URL: give the SQLite file (sqlite:///path/file.db)")
        folder = Path(url.database).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"cannot create the database folder {folder}: {exc.strerror}"
            ) from None
    return Database(settings.database_url)


def _password(args) -> str:
    """--password, else typed at a prompt (twice), else the first line of standard input: a
    password in the command line shows in `ps` and stays in the shell's history."""
    if args.password is not None:
        return args.password
    if sys.stdin.isatty():
        password = getpass.getpass("password: ")
        if getpass.getpass("password again: ") != password:
            raise ConfigError("the two passwords typed differ")
        return password
    try:
        line = sys.stdin.readline()
    except OSError:  # no standard input at all (closed, or a test runner's)
        line = ""
    if not line:
        raise ConfigError(
            "no password: give --password, type it at the prompt, or pipe it on standard input"
        )
    return line.rstrip("\r\n")


def cmd_db_upgrade(settings: Settings, _args) -> int:
    from storage.migrate import upgrade

    _db(settings).dispose()  # creates the SQLite folder when needed
    upgrade(settings.database_url)
    print("database schema is up to date")
    return 0


def cmd_operator_set(settings: Settings, args) -> int:
    from gateway.services.admin import set_operator

    op = set_operator(_db(settings), args.registro_ans, args.name, args.cnpj)
    print(f"operator {op.registro_ans} {op.name}")
    return 0


def cmd_provider_add(settings: Settings, args) -> int:
    from gateway.services.admin import add_provider

    new = add_provider(
        _db(settings),
        cnpj=args.cnpj,
        cpf=args.cpf,
        code=args.code,
        name=args.name,
        password=_password(args),
        cnes=args.cnes,
    )
    print(f"provider {new.codigo_na_operadora} approved; web-service login {new.login}")
    return 0


def cmd_provider_require_signature(settings: Settings, args) -> int:
    from gateway.services.admin import set_require_signature

    provider = set_require_signature(_db(settings), args.code, args.on)
    state = "must sign every message" if args.on else "may send unsigned messages"
    print(f"provider {provider.codigo_na_operadora} {state}")
    if args.on and settings.signature_ca_file is None:
        print("note: TISS_SIGNATURE_CA_FILE is not set here; a gateway without trusted CAs")
        print("      refuses every message of this provider")
    return 0


def _print_certificate(cert) -> None:
    print(f"  SHA-256 {cert.sha256}")
    print(f"    subject {cert.subject}")
    print(f"    issuer  {cert.issuer} (serial {cert.serial})")
    print(f"    valid   {cert.not_before:%Y-%m-%d %H:%M} to {cert.not_after:%Y-%m-%d %H:%M} UTC")


def cmd_provider_add_certificate(settings: Settings, args) -> int:
    from gateway.services.client_certificates import HolderMismatch, add_certificate

    try:
        data = Path(args.file).read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read {args.file}: {exc.strerror}") from None
    db = _db(settings)
    mismatch = None
    try:
        cert = add_certificate(db, args.provider, data)
    except HolderMismatch as exc:
        if not args.force:
            raise ValueError(f"{exc}. Not registered: --force registers it anyway") from None
        mismatch = exc
        cert = add_certificate(db, args.provider, data, force=True)
    print(f"provider {cert.provider_code} may authenticate with this certificate:")
    _print_certificate(cert)
    if mismatch is not None:
        print(f"note: registered because of --force: {mismatch}")
    if not settings.client_cert_headers:
        print("note: TISS_CLIENT_CERT_HEADERS is not set here; a gateway without it ignores")
        print("      client certificates (deploy/README.md, client certificates)")
    return 0


def cmd_provider_certificates(settings: Settings, args) -> int:
    from gateway.services.client_certificates import list_certificates

    certs = list_certificates(_db(settings), args.provider)
    if not certs:
        print(f"provider {args.provider} has no certificate registered")
    for cert in certs:
        print(f"provider {cert.provider_code}, added {cert.added_at:%Y-%m-%d %H:%M} UTC")
        _print_certificate(cert)
    return 0


def cmd_provider_remove_certificate(settings: Settings, args) -> int:
    from gateway.services.client_certificates import remove_certificate

    cert = remove_certificate(_db(settings), args.provider, args.sha256)
    print(f"provider {cert.provider_code} may no longer authenticate with {cert.sha256}")
    return 0


def cmd_demo(settings: Settings, _args) -> int:
    from sqlalchemy import select

    from gateway.services.admin import add_provider, set_operator
    from gateway.services.backoffice.staff import add_staff
    from gateway.services.beneficiaries import BeneficiaryData, upsert_beneficiaries
    from storage.models import Account, Provider

    cmd_db_upgrade(settings, _args)
    db = _db(settings)
    registro = settings.registro_ans or DEMO_REGISTRO_ANS
    set_operator(db, registro, "Operadora Demonstração Saúde", DEMO_OPERATOR_CNPJ)
    with db.reading() as session:
        exists = session.scalar(select(Provider).where(Provider.cnpj == DEMO_CNPJ))
        staff_exists = session.scalar(select(Account.id).where(Account.login == DEMO_STAFF))
    if staff_exists is None:
        add_staff(db, DEMO_STAFF, DEMO_STAFF_PASSWORD)
    if exists is None:
        add_provider(
            db,
            cnpj=DEMO_CNPJ,
            code=DEMO_CODE,
            name="Clínica Demonstração Ltda",
            password=DEMO_PASSWORD,
        )
    upsert_beneficiaries(
        db,
        [
            BeneficiaryData(
                "00012345678901",
                "Maria da Conceição Souza",
                "Plano Ouro",
                "ativo",
                date(2020, 1, 1),
                None,
                date(2027, 12, 31),
            ),
            BeneficiaryData(
                "00012345678902",
                "João Pereira Lima",
                "Plano Prata",
                "ativo",
                date(2023, 6, 1),
                None,
                date(2027, 6, 30),
            ),
            BeneficiaryData(
                "00012345678903",
                "Ana Beatriz Rocha",
                "Plano Prata",
                "cancelado",
                date(2019, 3, 1),
                date(2025, 8, 31),
                date(2025, 8, 31),
            ),
        ],
    )
    print(f"demo data loaded: operator {registro}, provider {DEMO_CODE}, 3 beneficiaries")
    print(f"  web-service login (loginPrestador): {DEMO_CNPJ}")
    print(f"  password: {DEMO_PASSWORD}  (senhaPrestador is its MD5 hex; same login in the portal)")
    print(f"  operator staff (back office and portal queue): {DEMO_STAFF} / {DEMO_STAFF_PASSWORD}")
    return 0


def cmd_staff_add(settings: Settings, args) -> int:
    from gateway.services.backoffice.staff import add_staff

    staff = add_staff(_db(settings), args.login, _password(args))
    print(f"staff {staff.login} added; back office: POST /backoffice/v1 (WSDL at ?wsdl)")
    return 0


def cmd_beneficiary_import(settings: Settings, args) -> int:
    from gateway.services.backoffice.beneficiaries import import_beneficiaries_csv

    count = import_beneficiaries_csv(_db(settings), Path(args.file))
    print(f"{count} beneficiaries imported from {args.file}")
    return 0


def cmd_serve(settings: Settings, args) -> int:
    from gateway import logs, multiproc

    # Before anything imports prometheus_client (the application does): workers share metrics
    # through this folder. JSON logs unless TISS_LOG_FORMAT says otherwise.
    multiproc.prepare_dir()
    logs.configure(settings.log_format or logs.JSON)

    from gateway.server import serve
    from gateway.soap.services import SERVICES
    from gateway.tiss.namespaces import version_slug

    base = settings.public_url or f"http://{args.host}:{args.port}"
    print(f"tiss-gateway on {base} ({args.workers} workers)")
    for version in settings.accepted_versions:
        for name in SERVICES:
            url = f"{base}/tiss/{version_slug(version)}/{name}"
            print(f"  {version} {name}: POST {url}   WSDL: {url}?wsdl")
    print(f"  back office: POST {base}/backoffice/v1   WSDL: {base}/backoffice/v1?wsdl")
    print(f"  health: {base}/healthz  readiness: {base}/readyz", flush=True)
    print(f"  metrics: {base}/metrics", flush=True)
    serve(settings, host=args.host, port=args.port, workers=args.workers)
    return 0


def cmd_schemas_list(settings: Settings, _args) -> int:
    from gateway.services.schema_sets import describe, load_registry

    for info in describe(load_registry(_db(settings))):
        accepted = "accepted" if info.version in settings.accepted_versions else "not accepted"
        print(f"{info.version}  {info.origin}  ({accepted})")
        for name, digest in sorted(info.files.items()):
            print(f"    {digest}  {name}")
    return 0


def cmd_schemas_import(settings: Settings, args) -> int:
    from gateway.services.schema_sets import import_package

    info = import_package(_db(settings), Path(args.path))
    print(f"imported {info.version} ({len(info.files)} files, compiled offline)")
    for name, digest in sorted(info.files.items()):
        print(f"    {digest}  {name}")
    if info.version not in settings.accepted_versions:
        print(f"note: add {info.version} to TISS_ACCEPTED_VERSIONS to accept it")
    return 0


def cmd_portal_prune(settings: Settings, _args) -> int:
    from datetime import UTC, datetime

    from gateway.services.accounts.access_log import prune

    done = prune(_db(settings), datetime.now(UTC))
    print(
        f"pruned {done.access_log} access-log entries older than 90 days, "
        f"{done.sessions} old sessions, {done.reset_tokens} expired reset links"
    )
    return 0


def _command(subparsers, name: str, text: str) -> argparse.ArgumentParser:
    """A command whose own --help says what it does (help= alone shows only in the list)."""
    return subparsers.add_parser(name, help=text, description=text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tiss-gateway", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    db = _command(sub, "db", "database schema").add_subparsers(dest="action", required=True)
    _command(db, "upgrade", "apply every migration").set_defaults(func=cmd_db_upgrade)

    op = _command(sub, "operator", "this operator").add_subparsers(dest="action", required=True)
    op_set = _command(op, "set", "record this operator's registro ANS and name")
    op_set.add_argument("--registro-ans", required=True)
    op_set.add_argument("--name", required=True)
    op_set.add_argument("--cnpj", help="the operator's CNPJ, printed on statements")
    op_set.set_defaults(func=cmd_operator_set)

    prov = _command(sub, "provider", "providers").add_subparsers(dest="action", required=True)
    add = _command(prov, "add", "add an approved provider with web-service credentials")
    doc = add.add_mutually_exclusive_group(required=True)
    doc.add_argument("--cnpj")
    doc.add_argument("--cpf")
    add.add_argument("--code", required=True, help="codigoPrestadorNaOperadora")
    add.add_argument("--name", required=True)
    add.add_argument("--password", help=PASSWORD_HELP)
    add.add_argument("--cnes", help="7-digit CNES (default 9999999: none informed)")
    add.set_defaults(func=cmd_provider_add)
    req = _command(
        prov, "require-signature", "require (or stop requiring) signed messages from a provider"
    )
    req.add_argument(
        "--code", required=True, help="the provider's codigoPrestadorNaOperadora, CNPJ or CPF"
    )
    on_off = req.add_mutually_exclusive_group(required=True)
    on_off.add_argument("--on", action="store_true", dest="on")
    on_off.add_argument("--off", action="store_false", dest="on")
    req.set_defaults(func=cmd_provider_require_signature)
    provider_help = "the provider's CNPJ, CPF or codigoPrestadorNaOperadora"
    add_cert = _command(
        prov,
        "add-certificate",
        "let a provider authenticate with a client certificate instead of its password",
    )
    add_cert.add_argument("provider", help=provider_help)
    add_cert.add_argument("file", help="the provider's certificate, PEM or DER (no key)")
    add_cert.add_argument(
        "--force",
        action="store_true",
        help="register it even though its ICP-Brasil CNPJ/CPF is not the provider's",
    )
    add_cert.set_defaults(func=cmd_provider_add_certificate)
    list_certs = _command(prov, "certificates", "the certificates a provider may use")
    list_certs.add_argument("provider", help=provider_help)
    list_certs.set_defaults(func=cmd_provider_certificates)
    remove_cert = _command(prov, "remove-certificate", "end a certificate's agreement")
    remove_cert.add_argument("provider", help=provider_help)
    remove_cert.add_argument("sha256", help="its SHA-256 fingerprint, as `certificates` shows")
    remove_cert.set_defaults(func=cmd_provider_remove_certificate)

    serve = _command(sub, "serve", "serve the gateway under gunicorn")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=_number_in(0, 65535), default=8000)  # 0: any free port
    # 0 workers: gunicorn would listen and never answer.
    serve.add_argument("--workers", type=_number_in(1, 256), default=2)
    serve.set_defaults(func=cmd_serve)

    _command(sub, "demo", "migrate and load demo data").set_defaults(func=cmd_demo)

    portal = _command(sub, "portal", "provider portal").add_subparsers(dest="action", required=True)
    _command(
        portal, "prune", "delete access-log entries older than 90 days (run daily)"
    ).set_defaults(func=cmd_portal_prune)

    staff = _command(sub, "staff", "operator staff (back office)").add_subparsers(
        dest="action", required=True
    )
    staff_add = _command(staff, "add", "add a staff account for the back-office API")
    staff_add.add_argument("--login", required=True)
    staff_add.add_argument("--password", help=PASSWORD_HELP)
    staff_add.set_defaults(func=cmd_staff_add)

    beneficiary = _command(sub, "beneficiary", "beneficiary registry").add_subparsers(
        dest="action", required=True
    )
    ben_import = _command(beneficiary, "import", "insert or update from a UTF-8 CSV file")
    ben_import.add_argument("file", help="CSV with the columns documented in the README")
    ben_import.set_defaults(func=cmd_beneficiary_import)

    schemas = _command(sub, "schemas", "TISS schema sets").add_subparsers(
        dest="action", required=True
    )
    _command(schemas, "list", "versions, origin and SHA-256").set_defaults(func=cmd_schemas_list)
    imp = _command(schemas, "import", "import an official ANS package (folder or zip)")
    imp.add_argument("path")
    imp.set_defaults(func=cmd_schemas_import)
    return parser


def _number_in(low: int, high: int):
    def number(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not between {low} and {high}")
        return value

    return number


def _without_credentials(text: str) -> str:
    """`text` with every piece of TISS_DATABASE_URL's login and password masked. A password with
    an unescaped '@' or ':' is misread as part of the host or the port, and the driver's message
    (failed to resolve host 'Senha@127.0.0.1') would quote it. Pieces of one or two characters
    are left: masking them would garble the message, and they say little of the password."""
    url = os.environ.get("TISS_DATABASE_URL", "")
    userinfo = url.partition("://")[2].rpartition("@")[0]
    pieces = {p for raw in re.split(r"[:@/]", userinfo) for p in (raw, unquote(raw))}
    for piece in sorted(pieces, key=len, reverse=True):
        if len(piece) >= 3:
            text = text.replace(piece, "***")
    return text


def main(argv: list[str] | None = None) -> int:
    from sqlalchemy.exc import ArgumentError, DBAPIError

    args = build_parser().parse_args(argv)
    try:
        return args.func(Settings.from_env(), args)
    except (ConfigError, SchemaSetError, ValueError) as exc:
        print(f"tiss-gateway: {_without_credentials(str(exc))}", file=sys.stderr)
    except ArgumentError:
        # Not the URL itself: it may hold the database password.
        print(
            "tiss-gateway: TISS_DATABASE_URL is not a database URL "
            "(sqlite:///path or postgresql+psycopg://user:password@host/database)",
            file=sys.stderr,
        )
    except DBAPIError as exc:
        # Unreachable server, wrong credentials, a schema never created: the driver's first line.
        lines = str(exc.orig).strip().splitlines()
        reason = _without_credentials(lines[0]) if lines else type(exc.orig).__name__
        print(
            f"tiss-gateway: database error: {reason} (is the server up, and has "
            "`tiss-gateway db upgrade` been run?)",
            file=sys.stderr,
        )
    return 2


if __name__ == "__main__":
    sys.exit(main())
