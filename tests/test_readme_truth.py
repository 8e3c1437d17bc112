"""The README must stay true: what it says about configuration, table-38 codes, endpoints, the
command line and the two set-up commands is read from README.md (and deploy/) with plain markdown
parsing and checked against the product, so that a change that forgets the README fails here.

Nothing below copies an expected value from the product: every expectation is the README's own
text (or the official ANS files), and the product is asked."""

import argparse
import html
import importlib
import importlib.util
import os
import re
import runpy
import shlex
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from lxml import etree
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.test import Client

from gateway import multiproc
from gateway.app import build_app
from gateway.cli import build_parser
from gateway.config import PROJECT_ROOT, ConfigError, Settings
from gateway.logs import logging_config
from gateway.services import schema_sets
from gateway.tiss import codes
from gateway.tiss.header import Party
from gateway.tiss.namespaces import version_file_tag, version_slug
from gateway.tiss.samples import (
    SampleQuery,
    lote_guias_ws,
    pedido_elegibilidade_ws,
    solicitacao_demonstrativo_analise_ws,
    solicitacao_status_ws,
)
from gateway.web import create_web_app
from storage import models
from tests.conftest import PROVIDER_A, REGISTRO_ANS, SHARED_TISS
from tests.tissclient import NS, envelope, read_answer, sample_lot

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text("utf-8")
DEPLOY_README = (ROOT / "deploy" / "README.md").read_text("utf-8")
OFFICIAL_SCHEMAS = SHARED_TISS / "schemas"
OFFICIAL_WSDL = SHARED_TISS / "wsdl"
XS = "http://www.w3.org/2001/XMLSchema"
WSDL = "http://schemas.xmlsoap.org/wsdl/"
WSDL_SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"
W = {"w": WSDL, "soap": WSDL_SOAP, "xsd": XS}


# --- reading the README: sections, tables, code -----------------------------------------------


def section(title: str, text: str = README) -> str:
    """The text under `## title`, up to the next `## ` heading (its `###` parts included)."""
    lines = text.splitlines()
    start = lines.index(f"## {title}")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return "\n".join(lines[start + 1 : end])


def _cells(line: str) -> list[str]:
    """A table row's cells; a `|` inside a code span (`<a|b>`) is text, not a separator."""
    cells, cell, in_code = [], "", False
    for ch in line.strip()[1:-1]:
        if ch == "`":
            in_code = not in_code
        if ch == "|" and not in_code:
            cells.append(cell.strip())
            cell = ""
        else:
            cell += ch
    cells.append(cell.strip())
    return cells


@dataclass
class Table:
    header: list[str]
    rows: list[dict[str, str]]

    def column(self, name: str) -> list[str]:
        return [row[name] for row in self.rows]


def tables(text: str) -> list[Table]:
    found, block = [], []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            block.append(line)
            continue
        if block:
            header = _cells(block[0])
            assert set(block[1]) <= set("|-: "), f"not a table separator: {block[1]}"
            rows = [dict(zip(header, _cells(row), strict=True)) for row in block[2:]]
            found.append(Table(header, rows))
            block = []
    return found


def table(text: str, *header: str) -> Table:
    """The one table of `text` whose header starts with these columns."""
    matching = [t for t in tables(text) if tuple(t.header[: len(header)]) == header]
    assert len(matching) == 1, f"expected one table headed {header}, found {len(matching)}"
    return matching[0]


def spans(text: str) -> list[str]:
    """The code spans (`...`) of a piece of markdown, in order."""
    return re.findall(r"`([^`]*)`", text)


def code_blocks(text: str) -> list[str]:
    return re.findall(r"^```[^\n]*\n(.*?)^```", text, flags=re.M | re.S)


def split_outside(text: str, separator: str = ", ") -> list[str]:
    """`text` split at `separator` where it is neither inside parentheses nor a code span."""
    parts, part, depth, in_code, i = [], "", 0, False, 0
    while i < len(text):
        ch = text[i]
        if ch == "`":
            in_code = not in_code
        elif not in_code and ch == "(":
            depth += 1
        elif not in_code and ch == ")":
            depth -= 1
        if not in_code and depth == 0 and text.startswith(separator, i):
            parts.append(part.strip())
            part, i = "", i + len(separator)
            continue
        part += ch
        i += 1
    parts.append(part.strip())
    return parts


def test_the_markdown_reader_reads_the_tables_it_is_given():
    """The helpers above, on a table shaped like the README's (code span with a `|` in it)."""
    text = "intro\n\n| A | B |\n|---|---|\n| `x|y` | 1, (2, 3), `4, 5` |\n\nafter\n"
    (only,) = tables(text)
    assert only.header == ["A", "B"]
    assert only.rows == [{"A": "`x|y`", "B": "1, (2, 3), `4, 5`"}]
    assert split_outside(only.rows[0]["B"]) == ["1", "(2, 3)", "`4, 5`"]
    assert spans(only.rows[0]["A"]) == ["x|y"]


# --- 1. configuration: the variables the code reads are the ones the table documents -------------


CONFIG = table(section("Configuration"), "Variable", "Default", "Meaning")
SOURCE_FILES = [
    *sorted((ROOT / "gateway").rglob("*.py")),
    *sorted((ROOT / "storage").rglob("*.py")),
    ROOT / "deploy" / "gunicorn.conf.py",
]
_NAME = r'"[A-Z][A-Z0-9_]*"|[A-Za-z_][\w.]*'
# A read of the environment: os.environ.get(X), os.getenv(X), os.environ.setdefault(X),
# os.environ.pop(X) or os.environ[X] (not as the target of an assignment).
_ENV_READ = re.compile(
    rf"os\.(?:environ\.get|getenv|environ\.setdefault|environ\.pop)\(\s*({_NAME})"
    rf"|os\.environ\[\s*({_NAME})\s*\](?!\s*=[^=])"
)
_CONSTANT = re.compile(r'^([A-Z][A-Z0-9_]*)\s*=\s*"([A-Z][A-Z0-9_]*)"\s*$', re.M)
_DEF = re.compile(r"^def (\w+)\(\s*(\w+)", re.M)


@dataclass
class EnvReads:
    names: dict[str, set[str]]  # variable -> files (relative) that read it
    helpers: set[str]  # our functions that read the variable named by their first parameter


def environment_reads() -> EnvReads:
    """Every environment variable the product's source reads, found by regular expressions: a
    literal name, a module constant holding the name (`MULTIPROC_ENV`), or a call of one of our
    own reader functions (`_int("TISS_SMTP_PORT", ...)`, any module) whose first parameter is the
    name it reads. An argument that is none of these fails, so that no read goes unseen."""
    sources = {path.relative_to(ROOT).as_posix(): path.read_text("utf-8") for path in SOURCE_FILES}
    constants = {
        name: value for text in sources.values() for name, value in _CONSTANT.findall(text)
    }
    helpers: dict[str, str] = {}  # helper -> its parameter
    for text in sources.values():
        defs = list(_DEF.finditer(text))
        for n, match in enumerate(defs):
            body = text[match.end() : defs[n + 1].start() if n + 1 < len(defs) else len(text)]
            param = match.group(2)
            if re.search(rf"os\.(?:environ\.get|getenv)\(\s*{param}\s*[,)]", body):
                helpers[match.group(1)] = param
    names: dict[str, set[str]] = {}
    for file, text in sources.items():
        arguments = [a or b for a, b in _ENV_READ.findall(text)]
        for helper in helpers:
            arguments += re.findall(rf"(?<![\w.]){helper}\(\s*({_NAME})", text)
        for argument in arguments:
            if argument.startswith('"'):
                name = argument.strip('"')
            elif argument.rsplit(".", 1)[-1] in constants:
                name = constants[argument.rsplit(".", 1)[-1]]
            else:
                assert argument in helpers.values(), f"{file}: cannot tell what {argument} names"
                continue
            names.setdefault(name, set()).add(file)
    return EnvReads(names, set(helpers))


def documented_variables() -> list[str]:
    return [name for cell in CONFIG.column("Variable") for name in spans(cell)]


def test_the_source_scan_finds_each_kind_of_environment_read():
    """The scan below is not vacuous: it sees a literal read, our readers in another module, a
    constant and deploy/gunicorn.conf.py."""
    reads = environment_reads()
    assert {"_bool", "_int", "_path"} <= reads.helpers
    assert "gateway/config.py" in reads.names["TISS_DATABASE_URL"]  # os.environ.get literal
    assert "gateway/config_portal.py" in reads.names["TISS_SMTP_PORT"]  # _int(...) elsewhere
    assert "gateway/config.py" in reads.names["TISS_SIGN_KEY_FILE"]  # _path(...)
    assert "gateway/multiproc.py" in reads.names["PROMETHEUS_MULTIPROC_DIR"]  # via a constant
    assert "deploy/gunicorn.conf.py" in reads.names["TISS_WORKERS"]


def test_every_variable_the_code_reads_is_in_the_configuration_table():
    documented = set(documented_variables())
    undocumented = {
        name: sorted(files)
        for name, files in environment_reads().names.items()
        if name not in documented
    }
    assert undocumented == {}, "read by the code but missing from README's Configuration table"


def test_every_variable_the_configuration_table_documents_is_read_somewhere():
    read = environment_reads().names
    documented = documented_variables()
    assert len(documented) == len(set(documented)), "a variable documented twice"
    assert [name for name in documented if name not in read] == []


# Where Settings.from_env() keeps each documented variable. TISS_BIND, TISS_WORKERS and
# PROMETHEUS_MULTIPROC_DIR belong to deploy/gunicorn.conf.py and are checked there.
SETTINGS_FIELDS = {
    "TISS_DATABASE_URL": "database_url",
    "TISS_REGISTRO_ANS": "registro_ans",
    "TISS_ACCEPTED_VERSIONS": "accepted_versions",
    "TISS_MAX_MESSAGE_BYTES": "max_message_bytes",
    "TISS_MAX_XML_DEPTH": "max_xml_depth",
    "TISS_REFUSE_PRESENTED_GUIDES": "refuse_presented_guides",
    "TISS_ACCEPT_UTF8_HASH": "accept_utf8_hash",
    "TISS_PUBLIC_URL": "public_url",
    "TISS_TRUST_PROXY": "trust_proxy",
    "TISS_CLIENT_CERT_HEADERS": "client_cert_headers",
    "TISS_VAR_DIR": "var_dir",
    "TISS_SECRET_KEY": "portal.secret_key",
    "TISS_COOKIE_SECURE": "portal.cookie_secure",
    "TISS_SMTP_HOST": "portal.mail.smtp_host",
    "TISS_SMTP_PORT": "portal.mail.smtp_port",
    "TISS_SMTP_USER": "portal.mail.smtp_user",
    "TISS_SMTP_PASSWORD": "portal.mail.smtp_password",
    "TISS_SMTP_STARTTLS": "portal.mail.smtp_starttls",
    "TISS_MAIL_FROM": "portal.mail.sender",
    "TISS_LOGIN_RATE_LIMIT": "portal.login_rate_limit",
    "TISS_RATE_LIMIT_STORAGE": "portal.rate_limit_storage",
    "TISS_MAX_UPLOAD_BYTES": "portal.max_upload_bytes",
    "TISS_SIGNATURE_CA_FILE": "signature_ca_file",
    "TISS_SIGNATURE_CRL_DIR": "signature_crl_dir",
    "TISS_SIGN_KEY_FILE": "sign_key_file",
    "TISS_SIGN_CERT_FILE": "sign_cert_file",
    "TISS_LOG_FORMAT": "log_format",
    "TISS_METRICS_TOKEN": "metrics_token",
}
GUNICORN_VARIABLES = {"TISS_BIND", "TISS_WORKERS", "PROMETHEUS_MULTIPROC_DIR"}
# Defaults the README words rather than quotes; each is read here as what Settings must hold.
# The text must be the README's exactly, so that a rewording is looked at again.
WORDED_DEFAULTS = {
    "TISS_VAR_DIR": ("`var/` in the project folder", PROJECT_ROOT / "var"),
    "TISS_REGISTRO_ANS": ("the operator recorded by `operator set`", None),  # the database's
    "TISS_PUBLIC_URL": ("taken from the request", None),
    "TISS_SECRET_KEY": ("generated once into `TISS_VAR_DIR/secret_key`", None),
    # Settings leaves it to the entry point; gunicorn's is checked below.
    "TISS_LOG_FORMAT": ("`json` under `serve` and `deploy/gunicorn.conf.py`", None),
}


def readme_defaults() -> dict[str, str]:
    """Variable -> the README's default text for it (a row naming two variables gives two
    defaults separated by a comma, or one for both)."""
    defaults = {}
    for row in CONFIG.rows:
        names = spans(row["Variable"])
        parts = split_outside(row["Default"]) if len(names) > 1 else [row["Default"]]
        if len(parts) == 1:
            parts = parts * len(names)
        assert len(parts) == len(names), f"cannot pair {names} with {row['Default']!r}"
        defaults.update(zip(names, parts, strict=True))
    return defaults


def attribute(settings: Settings, path: str):
    value = settings
    for name in path.split("."):
        value = getattr(value, name)
    return value


def as_written(value) -> str:
    """A setting's value as the README writes one."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(value)
    if isinstance(value, Path):
        return value.as_posix()
    return str(value)


@pytest.fixture
def clean_env(monkeypatch):
    """No TISS_* variable set: what an operator who sets nothing gets."""
    for name in list(os.environ):
        if name.startswith("TISS_"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_every_documented_variable_is_either_a_setting_or_gunicorns():
    assert set(documented_variables()) == set(SETTINGS_FIELDS) | GUNICORN_VARIABLES


@pytest.mark.parametrize("name", sorted(SETTINGS_FIELDS))
def test_settings_default_is_the_readme_default(clean_env, name):
    text = readme_defaults()[name]
    actual = attribute(Settings.from_env(), SETTINGS_FIELDS[name])
    outside_spans = re.sub(r"`[^`]*`", "", text).strip()
    if text.startswith("unset"):
        assert actual is None, f"README: {name} is unset by default"
    elif name in WORDED_DEFAULTS:
        worded, expected = WORDED_DEFAULTS[name]
        assert text == worded, f"README reworded {name}'s default: read it again"
        assert actual == expected
    elif len(spans(text)) > 1:  # `sqlite:///` + `TISS_VAR_DIR/tiss-gateway.db`
        assert re.fullmatch(r"\+(\s*\+)*", outside_spans), text
        var_dir = WORDED_DEFAULTS["TISS_VAR_DIR"][1].as_posix()
        assert actual == "".join(spans(text)).replace("TISS_VAR_DIR", var_dir)
    else:  # one literal, perhaps with a remark in parentheses: `20971520` (20 MiB)
        (literal,) = spans(text)
        assert re.fullmatch(r"(\(.*\))?", outside_spans), text
        assert as_written(actual) == literal
        mebibytes = re.search(r"\((\d+) MiB\)", text)
        if mebibytes:
            assert int(literal) == int(mebibytes.group(1)) * 1024 * 1024


def _lower_bounds() -> list[tuple[str, int, bool]]:
    """(variable, N, counts characters) for every "at least N" of the Meaning column; in a row
    of two variables, the one named by the word before it ("port at least 1")."""
    bounds = []
    for row in CONFIG.rows:
        names = spans(row["Variable"])
        for match in re.finditer(r"(?:(\w+) )?at least (\d+)( characters)?", row["Meaning"]):
            if len(names) == 1:
                name = names[0]
            else:
                (name,) = [n for n in names if (match.group(1) or "?").upper() in n]
            bounds.append((name, int(match.group(2)), bool(match.group(3))))
    return bounds


def test_the_lower_bounds_are_read_from_the_table():
    assert {name for name, _n, _chars in _lower_bounds()} >= {
        "TISS_MAX_MESSAGE_BYTES",
        "TISS_SMTP_PORT",
        "TISS_SECRET_KEY",
    }


@pytest.mark.parametrize(("name", "bound", "characters"), _lower_bounds())
def test_a_value_below_the_documented_minimum_is_refused(clean_env, name, bound, characters):
    low, ok = ("x" * (bound - 1), "x" * bound) if characters else (str(bound - 1), str(bound))
    clean_env.setenv(name, low)
    with pytest.raises(ConfigError, match=name):
        Settings.from_env()
    clean_env.setenv(name, ok)
    assert as_written(attribute(Settings.from_env(), SETTINGS_FIELDS[name])) == ok


@pytest.mark.parametrize(
    "name",
    [
        name
        for name in sorted(SETTINGS_FIELDS)
        # An empty list of versions is refused on purpose ("at least one"), not defaulted.
        if name != "TISS_ACCEPTED_VERSIONS"
    ],
)
def test_a_variable_set_empty_is_its_readme_default(clean_env, name):
    unset = Settings.from_env()
    clean_env.setenv(name, "")
    empty = Settings.from_env()
    assert attribute(empty, SETTINGS_FIELDS[name]) == attribute(unset, SETTINGS_FIELDS[name])
    assert empty.database_url == unset.database_url


def test_accepted_versions_needs_at_least_one_as_the_readme_says(clean_env):
    assert "at least one" in CONFIG.rows[documented_row("TISS_ACCEPTED_VERSIONS")]["Meaning"]
    clean_env.setenv("TISS_ACCEPTED_VERSIONS", " , ")
    with pytest.raises(ConfigError, match="TISS_ACCEPTED_VERSIONS"):
        Settings.from_env()


@pytest.mark.parametrize("token", ["com espaço", "tôken", 'aspas"', "=abc", "a,b"])
def test_a_metrics_token_no_bearer_header_can_carry_is_refused(clean_env, token):
    """README: the token is what follows "Bearer " (RFC 6750's b64token). One with a space, an
    accent or a quote could never match the header a scraper sends: /metrics would be closed."""
    assert "b64token" in CONFIG.rows[documented_row("TISS_METRICS_TOKEN")]["Meaning"]
    clean_env.setenv("TISS_METRICS_TOKEN", token)
    with pytest.raises(ConfigError, match="TISS_METRICS_TOKEN"):
        Settings.from_env()
    clean_env.setenv("TISS_METRICS_TOKEN", "Abc-123._~+/x==")
    assert Settings.from_env().metrics_token == "Abc-123._~+/x=="


def documented_row(name: str) -> int:
    return next(i for i, row in enumerate(CONFIG.rows) if name in spans(row["Variable"]))


# Stores of the `limits` package and the Python client each needs.
STORE_CLIENTS = [
    ("memcached://tiss:Segredo-do-cache@cache.interno:11211", "pymemcache"),
    ("redis://:Segredo-do-cache@cache.interno:6379/0", "redis"),
    ("valkey://:Segredo-do-cache@cache.interno:6379/0", "valkey"),
]


def test_a_rate_limit_store_without_its_client_is_refused_in_one_line_without_the_url(gw):
    """README: "a store whose Python client is not installed, is refused at start in one line
    that never repeats the URL"."""
    meaning = CONFIG.rows[documented_row("TISS_RATE_LIMIT_STORAGE")]["Meaning"]
    assert "never repeats the URL" in meaning
    missing = [url for url, client in STORE_CLIENTS if importlib.util.find_spec(client) is None]
    if not missing:
        pytest.skip("every store's client is installed here")
    portal = replace(gw.settings.portal, rate_limit_storage=missing[0])
    with pytest.raises(ConfigError) as refused:
        build_app(replace(gw, settings=replace(gw.settings, portal=portal)))
    message = str(refused.value)
    assert "TISS_RATE_LIMIT_STORAGE" in message and "\n" not in message
    assert "Segredo-do-cache" not in message and "cache.interno" not in message


def _gunicorn_conf(monkeypatch, tmp_path, **env: str | None) -> dict:
    """deploy/gunicorn.conf.py as gunicorn reads it, with these variables (None: unset). Its
    PROMETHEUS_MULTIPROC_DIR default is set in this process only for the test's duration."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "prometheus"))
    for name in ("TISS_BIND", "TISS_WORKERS", "TISS_LOG_FORMAT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name)
        else:
            monkeypatch.setenv(name, value)
    return runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))


def test_gunicorn_defaults_are_the_readme_defaults(monkeypatch, tmp_path):
    defaults = readme_defaults()
    conf = _gunicorn_conf(monkeypatch, tmp_path, PROMETHEUS_MULTIPROC_DIR=None)

    (bind,) = spans(defaults["TISS_BIND"])
    assert conf["bind"] == bind
    per_core = re.fullmatch(r"(\d+) per core", defaults["TISS_WORKERS"])
    assert per_core and conf["workers"] == int(per_core.group(1)) * os.cpu_count()
    # TISS_LOG_FORMAT: `json` under deploy/gunicorn.conf.py.
    tiss_formatter = conf["logconfig_dict"]["formatters"]["tiss"]["()"]
    assert tiss_formatter is logging_config("json")["formatters"]["tiss"]["()"]
    # PROMETHEUS_MULTIPROC_DIR: "a folder under /tmp".
    assert defaults["PROMETHEUS_MULTIPROC_DIR"].startswith("a folder under `/tmp`")
    assert Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).parent == Path("/tmp")


def test_gunicorn_settings_are_what_deploy_readme_says(monkeypatch, tmp_path):
    """deploy/README.md: "sync workers (2 per core, `TISS_WORKERS`), 60 s worker timeout, 30 s
    graceful stop, ..., workers recycled every ~5000 requests", and reloads wait "up to 30 s"."""
    (row,) = [
        r for r in table(DEPLOY_README, "File", "What").rows if r["File"] == "`gunicorn.conf.py`"
    ]
    said = row["What"]
    conf = _gunicorn_conf(monkeypatch, tmp_path)
    assert said.startswith("gunicorn settings: sync workers (2 per core, `TISS_WORKERS`)")
    assert conf["worker_class"] == "sync"
    assert conf["timeout"] == int(re.search(r"(\d+) s worker timeout", said).group(1))
    assert conf["graceful_timeout"] == int(re.search(r"(\d+) s graceful stop", said).group(1))
    assert conf["max_requests"] == int(re.search(r"every ~(\d+) requests", said).group(1))
    reload = re.search(r"let[s]? the old ones finish their request, up to (\d+) s", DEPLOY_README)
    assert conf["graceful_timeout"] == int(reload.group(1))


def test_gunicorns_master_loads_only_the_modules_deploy_readme_names(tmp_path):
    """deploy/README.md: "Three small modules stay as the master loaded them (...), read by
    `gunicorn.conf.py`; a release that changes them needs a restart"."""
    said = re.search(r"stay as the master loaded them \((.*?)\s*read by", DEPLOY_README, re.S)
    named = set(spans(said.group(1)))
    assert len(named) == 3
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    code = (
        "import runpy, sys; runpy.run_path('deploy/gunicorn.conf.py');"
        "print(' '.join(m for m in sys.modules if m.split('.')[0] in ('gateway', 'storage')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    loaded = set(done.stdout.split())
    packages = {"gateway", "gateway.tiss"}  # their __init__ is a docstring
    assert loaded - packages == named
    for package in packages:
        init = ROOT / package.replace(".", "/") / "__init__.py"
        assert not re.search(r"^\s*(import|from)\s", init.read_text("utf-8"), re.M)


def test_the_metrics_folder_is_emptied_at_start(monkeypatch, tmp_path):
    """PROMETHEUS_MULTIPROC_DIR "emptied at start": by gunicorn's master (deploy's on_starting)
    and by `tiss-gateway serve` (multiproc.prepare_dir), whose own default is under /tmp."""
    assert "emptied at start" in readme_defaults()["PROMETHEUS_MULTIPROC_DIR"]
    conf = _gunicorn_conf(monkeypatch, tmp_path)
    folder = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    folder.mkdir()
    (folder / "counter_4242.db").write_bytes(b"a previous run's values")
    conf["on_starting"](None)
    assert list(folder.iterdir()) == []

    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    made = Path(multiproc.prepare_dir())
    try:
        assert made.parent == Path(tempfile.gettempdir()) == Path("/tmp")
        assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(made)
    finally:
        made.rmdir()


@pytest.mark.parametrize(
    ("name", "conf_key"),
    [
        ("TISS_BIND", "bind"),
        ("TISS_WORKERS", "workers"),
    ],
)
def test_gunicorn_reads_a_variable_set_empty_as_its_default(monkeypatch, tmp_path, name, conf_key):
    unset = _gunicorn_conf(monkeypatch, tmp_path)[conf_key]
    assert _gunicorn_conf(monkeypatch, tmp_path, **{name: ""})[conf_key] == unset


GATEWAY_VARIABLE = r"(?:TISS|PROMETHEUS)_[A-Z0-9_]+"


def _deploy_settings() -> dict[str, set[str]]:
    """The gateway's variables (TISS_*, PROMETHEUS_*) that the files of deploy/ set, by file."""
    deploy = ROOT / "deploy"
    compose = yaml.safe_load((deploy / "compose.yaml").read_text("utf-8"))
    container = (deploy / "Containerfile").read_text("utf-8")
    unit = (deploy / "tiss-gateway.service").read_text("utf-8")
    return {
        "compose.yaml": set(compose["services"]["gateway"]["environment"]),
        "Containerfile": set(re.findall(rf"^\s*(?:ENV\s+)?({GATEWAY_VARIABLE})=", container, re.M)),
        "tiss-gateway.service": set(re.findall(rf"^Environment=({GATEWAY_VARIABLE})=", unit, re.M)),
        # The env file of "One host", and any other line that sets one.
        "deploy/README.md": set(re.findall(rf"^\s*({GATEWAY_VARIABLE})=", DEPLOY_README, re.M)),
    }


def test_every_variable_deploy_sets_is_documented_and_read():
    documented = set(documented_variables())
    read = set(environment_reads().names)
    by_file = _deploy_settings()
    assert all(by_file.values()), by_file  # each file was read
    strays = {
        file: sorted(name for name in names if name not in documented or name not in read)
        for file, names in by_file.items()
    }
    assert strays == dict.fromkeys(by_file, [])


# --- 2. table-38 codes of "Checks and their answers" ----------------------------------------------


CHECKS = table(section("Checks and their answers"), "#", "Failure", "Code", "Answer")
SIGNATURE_CHECKS = table(section("Digital signatures"), "Failure", "Code (table 38)", "Fault")


def enumeration(version: str, simple_type: str) -> set[str]:
    path = OFFICIAL_SCHEMAS / version / f"tissSimpleTypes{version_file_tag(version)}.xsd"
    found = etree.parse(str(path)).find(f".//{{{XS}}}simpleType[@name='{simple_type}']")
    return {e.get("value") for e in found.iter(f"{{{XS}}}enumeration")}


def code_constants() -> dict[str, str]:
    """gateway/tiss/codes.py's table-38 constants: name -> code."""
    source = (ROOT / "gateway" / "tiss" / "codes.py").read_text("utf-8")
    return dict(re.findall(r'^([A-Z][A-Z0-9_]*) = "(\d{4})"', source, re.M))


def used_outside_codes_py(name: str) -> list[str]:
    word = re.compile(rf"\b{name}\b")
    return [
        path.relative_to(ROOT).as_posix()
        for path in sorted((ROOT / "gateway").rglob("*.py"))
        if path.name != "codes.py" or path.parent.name != "tiss"
        if word.search(path.read_text("utf-8"))
    ]


def codes_in(cells: list[str]) -> list[str]:
    return [code for cell in cells for code in re.findall(r"\b\d{4}\b", cell)]


def checks_codes() -> list[str]:
    return codes_in(CHECKS.column("Code"))


def all_checks_codes() -> set[str]:
    """The codes of "Checks and their answers" and of its signature rows' own table."""
    return set(checks_codes()) | set(codes_in(SIGNATURE_CHECKS.column("Code (table 38)")))


def test_the_checks_table_names_codes():
    assert len(CHECKS.rows) >= 15 and len(set(checks_codes())) >= 20


def test_every_code_of_the_checks_tables_is_official_in_4_03_00():
    official = enumeration("4.03.00", "dm_tipoGlosa")
    assert len(official) > 700  # the whole table 38
    assert sorted(all_checks_codes() - official) == []


def test_every_code_of_the_checks_tables_is_a_constant_the_gateway_uses():
    constants = code_constants()
    by_code: dict[str, list[str]] = {}
    for name, code in constants.items():
        by_code.setdefault(code, []).append(name)
    named = all_checks_codes()
    assert sorted(named - set(by_code)) == [], "named by the README, not a constant of codes.py"
    unused = {
        code: by_code[code]
        for code in named
        if not any(used_outside_codes_py(name) for name in by_code[code])
    }
    assert unused == {}, "a constant nothing in gateway/ answers with"


def test_a_code_a_row_cites_in_its_text_is_in_its_code_column():
    for row in CHECKS.rows:
        cited = set(re.findall(r"\((\d{4})\b", row["Failure"]))
        assert cited <= set(re.findall(r"\b\d{4}\b", row["Code"])), row["#"]


def test_every_fault_category_the_tables_name_is_an_official_st_tiss_fault():
    official = enumeration("4.03.00", "st_tissFault")
    assert official == {kind.value for kind in codes.FaultKind}
    named = {
        word
        for cell in [*CHECKS.column("Answer"), *SIGNATURE_CHECKS.column("Fault")]
        for word in spans(cell)
        if re.fullmatch(r"[A-Z][a-z]+[A-Z]\w+", word)
    }
    assert len(named) >= 6 and sorted(named - official) == []


UPPER = "A-ZÁÉÍÓÚÂÊÔÃÕÇÀ"


def test_code_descriptions_quoted_in_the_readme_are_table_38s():
    """`5014 - CÓDIGO HASH INVÁLIDO...`, `3291 PROTOCOLO NÃO LOCALIZADO`: the words the README
    puts after a code are the start of its table-38 description."""
    quoted = re.findall(
        rf"\b(\d{{4}})(?: -)?\s+([{UPPER}][{UPPER}.]*(?:\s+[{UPPER}][{UPPER}.]*)+)", README
    )
    assert len(quoted) >= 8
    wrong = {}
    for code, words in quoted:
        words = " ".join(words.split()).rstrip(".")
        if not codes.describe(code).startswith(words):
            wrong[code] = (words, codes.describe(code))
    assert wrong == {}


def test_the_4_02_00_stand_ins_the_readme_gives_are_right():
    """ "3291 PROTOCOLO NÃO LOCALIZADO (5052 IDENTIFICADOR INEXISTENTE in 4.02.00, whose table 38
    has no 3291)"; "3168 ... (5018 in a version without 3168)"."""
    match = re.search(r"(\d{4}) PROTOCOLO NÃO LOCALIZADO \((\d{4}) [A-Z ]+ in 4\.02\.00", README)
    assert match, "the README's sentence about 3291 and 4.02.00 moved"
    new, old = match.groups()
    in_402, in_403 = enumeration("4.02.00", "dm_tipoGlosa"), enumeration("4.03.00", "dm_tipoGlosa")
    assert new in in_403 and new not in in_402 and old in in_402
    assert codes.PROTOCOL_NOT_FOUND == new and codes.IDENTIFIER_UNKNOWN == old
    assert "5018 in a version without 3168" in README
    assert codes.SIGNATURE_MISSING == "3168" and codes.CERTIFICATE_INVALID == "5018"


# --- 3. endpoints: every row of the Endpoints table answers as described --------------------------


ENDPOINTS = table(section("Endpoints"), "Method and path", "What")
BACKOFFICE = table(section("Back office (operator API)"), "Method and path", "What")
BACKOFFICE_OPERATIONS = table(section("Back office (operator API)"), "Operation", "What")
SERVICES_TABLE = next(
    t for t in tables(README.split("## Quick start")[0]) if t.header[0] == "Service"
)
README_SERVICES = {
    row["Service"]: tuple(spans(row["Request → answer"])) for row in SERVICES_TABLE.rows
}
README_VERSIONS = re.findall(r"\*\*(4\.\d\d\.\d\d)\*\*", README.split("## Quick start")[0])


def endpoint_row(path: str) -> dict[str, str]:
    """The Endpoints row whose first path is `path`."""
    (row,) = [r for r in ENDPOINTS.rows if spans(r["Method and path"])[0] == path]
    return row


def test_the_readme_names_four_services_in_two_versions():
    assert README_VERSIONS == ["4.02.00", "4.03.00"]
    assert len(README_SERVICES) == 4 and all(len(pair) == 2 for pair in README_SERVICES.values())


def _sample_url(readme_path: str) -> str:
    """A concrete URL for a path as the README writes it (`GET /tiss/v40300/<Service>?wsdl`)."""
    path = readme_path.split(" ", 1)[-1].split("?")[0]
    path = re.sub(r"<(\w+)(\|\w+)+>", r"\1", path)  # <analitico|sintetico>: the first
    return (
        path.replace("<Service>", "tissLoteGuias")
        .replace("<file>", "tissV4_03_00")
        .replace("<n>", "1")
        .replace("<id>", "1")
        .replace("<N>", "1")
    )


def _route(adapter, url: str) -> str | None:
    try:
        endpoint, _args = adapter.match(url, method="GET")
    except MethodNotAllowed:  # POST only (the router's SOAP endpoints, /portal/sair)
        try:
            endpoint, _args = adapter.match(url, method="POST")
        except (NotFound, MethodNotAllowed):
            return None
    except NotFound:
        return None
    return endpoint


def test_the_endpoint_tables_and_the_web_apps_routes_are_the_same(gw):
    """Every route outside the portal is a row of the Endpoints or Back office table, and every
    path those tables give is routed (POST /tiss/... is taken by gateway.app before Flask)."""
    web = create_web_app(gw)
    adapter = web.url_map.bind("localhost")
    readme_paths = [
        path
        for cell in [*ENDPOINTS.column("Method and path"), *BACKOFFICE.column("Method and path")]
        for path in spans(cell)
    ]
    routed = {path: _route(adapter, _sample_url(path)) for path in readme_paths}
    assert not Path(web.static_folder).exists()  # Flask's own /static/ route serves nothing
    assert [path for path, endpoint in routed.items() if endpoint is None] == []
    unlisted = [
        rule.rule
        for rule in web.url_map.iter_rules()
        if not rule.rule.startswith("/portal")
        and rule.endpoint != "static"
        and rule.endpoint not in routed.values()
    ]
    assert unlisted == []


def test_every_portal_path_the_readme_tables_give_is_routed(gw):
    adapter = create_web_app(gw).url_map.bind("localhost")
    portal_tables = [
        table(section("Provider portal (Portal do Prestador)"), "Path", "Who", "What"),
        table(section("Provider web area (Área do prestador)"), "Path", "Menu", "What"),
    ]
    urls = []
    for portal_table in portal_tables:
        base = "/portal"
        for cell in portal_table.column("Path"):
            for path in spans(cell):
                if path.startswith("/"):
                    base = path.rstrip("/") if path.endswith("/") else path.rsplit("/", 1)[0]
                else:
                    path = base + path.removeprefix("…")
                urls.append(path.split("?")[0])
    assert len(urls) >= 25
    assert [url for url in urls if _route(adapter, _sample_url(url)) is None] == []


def test_healthz_row(client):
    assert endpoint_row("GET /healthz")["What"] == "Alive."
    answer = client.get("/healthz")
    assert answer.status_code == 200 and answer.get_json() == {"status": "ok"}


def test_readyz_row_says_per_version_compiled_or_loaded(client, gw):
    what = endpoint_row("GET /readyz")["What"]
    states = spans(what)
    assert "503 otherwise" in what
    # The keys and values a 503 names (each produced in test_observability*), then the states.
    assert states == [
        "database",
        "unreachable",
        "not migrated",
        "operator",
        "schemas",
        "compiled",
        "loaded",
    ]
    ready = client.get("/readyz")
    assert ready.status_code == 200
    body = ready.get_json()
    assert body["status"] == "ready"
    assert body["schemas"] == dict.fromkeys(gw.settings.accepted_versions, "compiled")
    # A worker that loaded and verified the sets but compiled none yet says so.
    fresh = replace(gw, schemas=schema_sets.load_registry(gw.db))
    body = Client(build_app(fresh)).get("/readyz").get_json()
    assert body["schemas"] == dict.fromkeys(gw.settings.accepted_versions, "loaded")


def test_index_row_lists_each_service_of_each_version_and_the_registro_ans(client, gw):
    what = endpoint_row("GET /")["What"]
    assert "each accepted version" in what and "registro ANS" in what
    index = client.get("/")
    assert index.status_code == 200 and index.mimetype == "application/json"
    body = index.get_json()
    assert body["registroANS"] == REGISTRO_ANS
    assert sorted(body["endpoints"]) == README_VERSIONS == sorted(gw.settings.accepted_versions)
    for version, services in body["endpoints"].items():
        assert sorted(services) == sorted(README_SERVICES)
        for name, url in services.items():
            assert url == f"http://localhost/tiss/{version_slug(version)}/{name}"
            assert client.get(f"{urlsplit(url).path}?wsdl").status_code == 200


def _metric_families(section_text: str) -> dict[str, set[str]]:
    return {
        name: set(labels.split(","))
        for name, labels in re.findall(r"`(tiss_\w+)\{([\w,]+)\}`", section_text)
    }


def _labels_of(page: str, family: str) -> set[str] | None:
    for sample in (f"{family}{{", f"{family}_count{{"):
        line = next((ln for ln in page.splitlines() if ln.startswith(sample)), None)
        if line:
            return set(re.findall(r'(\w+)="', line)) - {"le"}
    return None


def test_metrics_row_serves_the_documented_families_and_labels(client):
    assert "TISS_METRICS_TOKEN" in endpoint_row("GET /metrics")["What"]
    families = _metric_families(section("Observability"))
    assert len(families) == 4
    lot = sample_lot(PROVIDER_A, "README-MET", registro_ans=REGISTRO_ANS)
    _post(client, lote_guias_ws(lot), "tissLoteGuias", "4.03.00")  # one of everything
    page = client.get("/metrics")
    assert page.status_code == 200
    assert page.content_type.startswith("text/plain; version=")  # Prometheus text format
    text = page.get_data(as_text=True)
    assert {family: _labels_of(text, family) for family in families} == families
    # prometheus_client adds a `<name>_created` gauge beside each counter and histogram.
    served = {
        name
        for name in re.findall(r"^# TYPE (tiss_\w+) ", text, re.M)
        if not name.endswith("_created")
    }
    assert served == set(families), "a tiss_* metric the README does not list, or the reverse"


def test_metrics_token_row(gw):
    app = build_app(replace(gw, settings=replace(gw.settings, metrics_token="t0k3n-do-readme")))
    client = Client(app)
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "t0k3n-do-readme"}).status_code == 401
    answer = client.get("/metrics", headers={"Authorization": "Bearer t0k3n-do-readme"})
    assert answer.status_code == 200


def _wsdl_shape(root: etree._Element) -> dict:
    """What a SOAP client binds to: names and namespaces of messages, parts, port types,
    bindings, operations and ports, and the imported schema (its file name)."""

    def qname(el, attr):
        prefix, _, local = el.get(attr).rpartition(":")
        return (el.nsmap.get(prefix or None), local)

    def children(el):
        return [c for c in el if isinstance(c.tag, str)]

    def name(el):
        return etree.QName(el).localname

    return {
        "name": root.get("name"),
        "targetNamespace": root.get("targetNamespace"),
        "imports": sorted(
            (i.get("namespace"), i.get("schemaLocation").rsplit("/", 1)[-1])
            for i in root.iterfind("w:types/xsd:schema/xsd:import", W)
        ),
        "messages": sorted(
            (m.get("name"), sorted((p.get("name"), qname(p, "element")) for p in children(m)))
            for m in root.iterfind("w:message", W)
        ),
        "portTypes": sorted(
            (
                pt.get("name"),
                op.get("name"),
                sorted((name(c), c.get("name"), qname(c, "message")) for c in children(op)),
            )
            for pt in root.iterfind("w:portType", W)
            for op in pt.iterfind("w:operation", W)
        ),
        "bindings": sorted(
            (
                b.get("name"),
                qname(b, "type"),
                b.find("soap:binding", W).get("style"),
                b.find("soap:binding", W).get("transport"),
                op.get("name"),
                op.find("soap:operation", W).get("soapAction"),
                sorted(
                    (name(c), c.get("name"), [(name(s), s.get("use")) for s in children(c)])
                    for c in children(op)
                    if name(c) != "operation"
                ),
            )
            for b in root.iterfind("w:binding", W)
            for op in b.iterfind("w:operation", W)
        ),
        "ports": sorted(
            (s.get("name"), p.get("name"), qname(p, "binding"))
            for s in root.iterfind("w:service", W)
            for p in s.iterfind("w:port", W)
        ),
    }


def _official_wsdl(service: str, version: str) -> etree._Element:
    """The ANS WSDL of a service; 4.02.00's is 4.03.00's renamed (shared/tiss/README.md)."""
    raw = (OFFICIAL_WSDL / "4.03.00" / f"{service}V4_03_00.wsdl").read_bytes()
    if version == "4.02.00":
        raw = raw.replace(b"v40300", b"v40200").replace(b"V4_03_00", b"V4_02_00")
    return etree.fromstring(raw)


def _official_bytes(version: str, file_name: str) -> bytes:
    # shared/ keeps 4.02.00 with LF line endings; the set served keeps the ANS CRLF bytes.
    return (OFFICIAL_SCHEMAS / version / file_name).read_bytes().replace(b"\r\n", b"\n")


@pytest.mark.parametrize("version", ["4.02.00", "4.03.00"])
def test_wsdl_row_for_each_service(client, version):
    what = endpoint_row("GET /tiss/v40300/<Service>?wsdl")["What"]
    assert "soap:address" in what and "schema import pointing at the next row" in what
    slug = version_slug(version)
    for service, (request, answer) in README_SERVICES.items():
        response = client.get(f"/tiss/{slug}/{service}?wsdl")
        assert response.status_code == 200 and response.mimetype == "text/xml", service
        published = etree.fromstring(response.data)
        assert _wsdl_shape(published) == _wsdl_shape(_official_wsdl(service, version)), service
        parts = {
            m.get("name").rsplit("_", 1)[-1]: m.find("w:part", W).get("element").split(":")[-1]
            for m in published.iterfind("w:message", W)
        }
        assert (parts["Request"], parts["Response"]) == (request, answer), "README services table"
        address = published.find("w:service/w:port/soap:address", W).get("location")
        assert address == f"http://localhost/tiss/{slug}/{service}"
        location = published.find("w:types/xsd:schema/xsd:import", W).get("schemaLocation")
        assert location.startswith(f"http://localhost/tiss/{slug}/schemas/")
        schema = client.get(urlsplit(location).path)
        assert schema.status_code == 200
        file_name = location.rsplit("/", 1)[-1]
        assert schema.data.replace(b"\r\n", b"\n") == _official_bytes(version, file_name)


@pytest.mark.parametrize("version", ["4.02.00", "4.03.00"])
def test_schema_row_serves_the_seven_official_files_only(client, gw, version):
    what = endpoint_row("GET /tiss/v40300/schemas/<file>.xsd")["What"]
    assert "only the seven files of the set" in what
    official = sorted(p.name for p in (OFFICIAL_SCHEMAS / version).glob("*.xsd"))
    assert len(official) == 7
    assert sorted(gw.schemas.get(version).sha256) == official
    slug = version_slug(version)
    for file_name in official:
        answer = client.get(f"/tiss/{slug}/schemas/{file_name}")
        assert answer.status_code == 200, file_name
        assert answer.data.replace(b"\r\n", b"\n") == _official_bytes(version, file_name)
    other = "tissV4_03_00.xsd" if version == "4.02.00" else "tissV4_02_00.xsd"
    assert client.get(f"/tiss/{slug}/schemas/{other}").status_code == 404


def test_portal_row_is_the_portuguese_home(client):
    home_row = next(
        row
        for row in table(section("Provider portal (Portal do Prestador)"), "Path").rows
        if spans(row["Path"]) == ["/portal/"]
    )
    promised = re.findall(r'"([^"]+)"', home_row["What"])
    assert len(promised) >= 2
    answer = client.get("/portal/")
    assert answer.status_code == 200 and answer.mimetype == "text/html"
    page = html.unescape(answer.get_data(as_text=True))
    assert 'lang="pt-BR"' in page
    assert [text for text in promised if text not in page] == []
    assert "Secretária/o" in page


def _request(element: str, version: str) -> etree._Element:
    """A request of each kind the README's services table names, from PROVIDER_A."""
    query = SampleQuery(
        registro_ans=REGISTRO_ANS,
        origem=Party("CNPJ", PROVIDER_A.cnpj),
        codigo_prestador=PROVIDER_A.code,
        version=version,
        login=PROVIDER_A.cnpj,
        senha_md5=PROVIDER_A.senha_md5,
    )
    if element == "loteGuiasWS":
        numero = f"README{version_slug(version)}"
        return lote_guias_ws(
            sample_lot(PROVIDER_A, numero, registro_ans=REGISTRO_ANS, version=version)
        )
    builders = {
        "solicitacaoStatusProtocoloWS": lambda: solicitacao_status_ws(query, "999999"),
        "pedidoElegibilidadeWS": lambda: pedido_elegibilidade_ws(query, "00099999999999"),
        "solicitacaoDemonstrativoRetornoWS": lambda: solicitacao_demonstrativo_analise_ws(
            query, ["999999"]
        ),
    }
    return builders[element]()


def _post(client, payload, service: str, version: str, soap_action: str = '""'):
    response = client.post(
        f"/tiss/{version_slug(version)}/{service}",
        data=envelope(payload),
        headers={"Content-Type": "text/xml; charset=ISO-8859-1", "SOAPAction": soap_action},
    )
    return read_answer(
        response.status_code, response.headers["Content-Type"], response.data, version
    )


@pytest.mark.parametrize("version", ["4.02.00", "4.03.00"])
def test_post_row_each_service_answers_its_answer_element_whatever_the_soapaction(client, version):
    what = endpoint_row("POST /tiss/v40300/<Service>")["What"]
    assert "SOAPAction is ignored" in what
    found = re.search(r"(\d{4}) PROTOCOLO NÃO LOCALIZADO \((\d{4}) [A-Z ]+ in 4\.02\.00", README)
    not_found = found.group(2) if version == "4.02.00" else found.group(1)
    for service, (request, answer_element) in README_SERVICES.items():
        other = next(s for s in README_SERVICES if s != service)
        answer = _post(
            client, _request(request, version), service, version, soap_action=f'"{other}"'
        )
        assert not answer.is_fault, (service, answer.faultstring)
        assert etree.QName(answer.payload).localname == answer_element, service
        assert answer.text("ans:cabecalho/ans:Padrao") == version
        if request == "loteGuiasWS":
            assert answer.protocol
        elif request == "pedidoElegibilidadeWS":  # an unknown card: the codigoGlosa branch, 1001
            glosa = answer.payload.findtext(".//ans:codigoGlosa/ans:codigoGlosa", namespaces=NS)
            assert glosa == "1001"
        else:  # no such protocol
            assert answer.code == not_found, service


@pytest.mark.parametrize("version", ["4.02.00", "4.03.00"])
def test_post_row_a_message_for_another_service_is_refused_with_5001(client, version):
    what = endpoint_row("POST /tiss/v40300/<Service>")["What"]
    assert "refused (5001), not dispatched elsewhere" in what
    services = list(README_SERVICES)
    for n, service in enumerate(services):
        wrong = services[(n + 1) % len(services)]
        request = README_SERVICES[wrong][0]
        answer = _post(client, _request(request, version), service, version)
        assert answer.is_fault and answer.tiss_fault == "SchemaInvalido", (service, request)
        assert answer.code == "5001", answer.faultstring


def test_backoffice_rows_wsdl_schema_and_every_operation(client):
    assert [spans(c)[0] for c in BACKOFFICE.column("Method and path")] == [
        "POST /backoffice/v1",
        "GET /backoffice/v1?wsdl",
        "GET /backoffice/v1/tissGatewayBackOffice.xsd",
    ]
    answer = client.get("/backoffice/v1?wsdl")
    assert answer.status_code == 200
    published = etree.fromstring(answer.data)
    address = published.find("w:service/w:port/soap:address", W).get("location")
    assert address == "http://localhost/backoffice/v1"
    location = next(published.iter(f"{{{XS}}}import")).get("schemaLocation")
    assert urlsplit(location).path == "/backoffice/v1/tissGatewayBackOffice.xsd"
    schema = client.get(urlsplit(location).path)
    assert schema.status_code == 200
    assert schema.data == (ROOT / "xsd" / "tissGatewayBackOffice.xsd").read_bytes()
    operations = {op.get("name") for op in published.iterfind("w:portType/w:operation", W)}
    documented = {spans(cell)[0] for cell in BACKOFFICE_OPERATIONS.column("Operation")}
    assert operations == documented


# --- 4. the command line -------------------------------------------------------------------------


def leaf_commands(
    parser: argparse.ArgumentParser, prefix=()
) -> dict[tuple, argparse.ArgumentParser]:
    """Every command the parser runs (`provider add`, `serve`), with its own parser."""
    groups = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not groups:
        return {prefix: parser}
    leaves = {}
    for name, sub in groups[0].choices.items():
        leaves.update(leaf_commands(sub, (*prefix, name)))
    return leaves


def readme_command_lines(text: str) -> list[str]:
    return [
        re.split(r"\s+#\s", line, maxsplit=1)[0].strip()
        for block in code_blocks(text)
        for line in block.splitlines()
        if line.startswith("tiss-gateway ")
    ]


def read_command(line: str, leaves) -> tuple[tuple, list[str], list[str]]:
    """(command, the arguments a run needs: `[...]` left out, the first of `(a | b)`, every
    `--option` the line names)."""
    tokens = shlex.split(re.sub(r"([\[\]()|])", r" \1 ", line))
    assert tokens[0] == "tiss-gateway"
    needed, options, optional, alternative = [], [], 0, None
    for token in tokens[1:]:
        if token in ("[", "]"):
            optional += 1 if token == "[" else -1
        elif token == "(":
            alternative = 0
        elif token == "|":
            alternative += 1
        elif token == ")":
            alternative = None
        else:
            if token.startswith("--"):
                options.append(token)
            if optional == 0 and not alternative:
                needed.append(token)
    commands = [c for c in leaves if tuple(needed[: len(c)]) == c]
    assert commands, f"no tiss-gateway command is {line!r}"
    return max(commands, key=len), needed, options


def parses(parser: argparse.ArgumentParser, argv: list[str], line: str) -> argparse.Namespace:
    try:
        return parser.parse_args(argv)
    except SystemExit:
        pytest.fail(f"tiss-gateway refuses the README's {line!r}")


COMMAND_LINE = section("Command line")


def test_every_command_of_the_command_line_section_runs_as_written():
    parser = build_parser()
    leaves = leaf_commands(parser)
    lines = readme_command_lines(COMMAND_LINE)
    assert len(lines) >= 10
    for line in lines:
        command, needed, options = read_command(line, leaves)
        args = parses(parser, needed, line)
        assert callable(args.func), line
        known = leaves[command]._option_string_actions
        assert [o for o in options if o not in known] == [], line


def test_every_command_in_any_readme_block_exists_with_its_options():
    parser = build_parser()
    leaves = leaf_commands(parser)
    for line in readme_command_lines(README):
        command, needed, options = read_command(line, leaves)
        parses(parser, needed, line)
        assert all(o in leaves[command]._option_string_actions for o in options), line


def test_every_command_the_parser_has_is_in_a_readme_command_line():
    leaves = leaf_commands(build_parser())
    written = {read_command(line, leaves)[0] for line in readme_command_lines(README)}
    assert sorted(set(leaves) - written) == []


def test_the_command_line_section_names_every_command():
    leaves = leaf_commands(build_parser())
    missing = [" ".join(c) for c in leaves if " ".join(c) not in COMMAND_LINE]
    assert missing == []


def test_every_command_says_what_it_does_in_its_own_help():
    """README: "Every command's own `--help` says what it does"."""
    assert "Every command's own `--help` says what it does" in COMMAND_LINE
    leaves = leaf_commands(build_parser())
    assert [" ".join(c) for c, p in leaves.items() if not (p.description or "").strip()] == []


def test_demo_credentials_in_the_readme_are_the_demo_commands(tmp_path, monkeypatch, capsys):
    """`make run` "prints ... the demo credentials": the ones Quick start lists."""
    quick = section("Quick start")
    paragraph = quick[quick.index("`make run` prints") :].split("\n\n")[0]
    values = [v for v in spans(paragraph) if v not in ("make run", "senhaPrestador")]
    for name in list(os.environ):
        if name.startswith("TISS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TISS_VAR_DIR", str(tmp_path))
    from gateway.cli import main

    assert main(["demo"]) == 0
    printed = capsys.readouterr().out
    assert len(values) >= 6
    assert [value for value in values if value not in printed] == []
    assert "and three beneficiaries" in " ".join(paragraph.split())
    assert "3 beneficiaries" in printed
    assert (tmp_path / "tiss-gateway.db").is_file()  # the SQLite file under TISS_VAR_DIR


# --- 5. the two set-up commands ---------------------------------------------------------------


MAKEFILE = (ROOT / "Makefile").read_text("utf-8")


def make_variables() -> dict[str, str]:
    return dict(re.findall(r"^(\w+)\s*\?=\s*(.*?)\s*$", MAKEFILE, re.M))


def recipe(target: str) -> tuple[list[str], list[str]]:
    """(prerequisites, recipe lines) of a Makefile target; comment lines are not recipe."""
    lines = MAKEFILE.splitlines()
    (start,) = [i for i, line in enumerate(lines) if re.match(rf"^{target}\s*:(?!=)", line)]
    prerequisites = lines[start].split(":", 1)[1].split()
    body = []
    for line in lines[start + 1 :]:
        if line.startswith("\t"):
            body.append(line.strip())
        elif not line.startswith("#"):
            break
    return prerequisites, body


def quick_start_commands() -> list[tuple[str, str]]:
    (block,) = code_blocks(section("Quick start"))
    return [
        (line.split("#", 1)[0].strip(), line.split("#", 1)[1].strip())
        for line in block.splitlines()
        if line.strip()
    ]


def test_the_two_set_up_commands_are_make_targets():
    commands = quick_start_commands()
    assert [c for c, _ in commands] == ["make run", "make test"]
    targets = set(re.findall(r"^([\w.-]+)\s*:(?!=)", MAKEFILE, re.M))
    assert {"run", "test"} <= targets


def test_make_run_does_what_quick_start_says():
    said = dict(quick_start_commands())["make run"]
    prerequisites, body = recipe("run")
    assert "install" in prerequisites  # "venv + install"
    _, install = recipe(r"\$\(VENV\)/\.installed")
    assert any("-m venv" in line for line in install) and any(
        "pip install" in line for line in install
    )
    assert any(re.search(r"tiss-gateway demo$", line) for line in body)  # migrate, demo data
    serve = next(line for line in body if "tiss-gateway serve" in line)
    variables = make_variables()
    host_port = re.search(r"--host \$\((\w+)\) --port \$\((\w+)\)", serve)
    url = re.search(r"http://[\w.:]+", said).group(0)
    assert f"http://{variables[host_port.group(1)]}:{variables[host_port.group(2)]}" == url
    # Configuration: "`make run` sets it to `false` for plain HTTP on 127.0.0.1".
    cookie_row = CONFIG.rows[documented_row("TISS_COOKIE_SECURE")]["Meaning"]
    assert "`make run` sets it to `false`" in cookie_row
    assert serve.startswith("TISS_COOKIE_SECURE=false ")
    # "migrate SQLite under var/": with nothing set, the database is var/tiss-gateway.db.
    assert "SQLite under var/" in said


def test_make_test_runs_the_whole_suite_after_the_system_packages():
    said = dict(quick_start_commands())["make test"]
    assert "whole test suite" in said
    prerequisites, body = recipe("test")
    assert "install" in prerequisites
    ensure = body.index("scripts/ensure-system-packages")
    (pytest_line,) = [n for n, line in enumerate(body) if "-m pytest" in line]
    assert ensure < pytest_line  # "`make test` first runs `scripts/ensure-system-packages`"
    arguments = body[pytest_line].split("-m pytest", 1)[1].split()
    assert all(a in ("-q", "-v", "-x", "-ra") for a in arguments), "the whole suite, unselected"
    config = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["pytest"]
    assert config["ini_options"]["testpaths"] == ["tests"]
    assert not re.search(r"(^|\s)(-m|-k|--ignore|--deselect)\b", config["ini_options"]["addopts"])
    script = (ROOT / "scripts" / "ensure-system-packages").read_text("utf-8")
    assert "nginx" in script and "chromium" in script  # what the README says it installs


def test_ci_runs_the_readmes_test_command():
    ci = (ROOT / ".ci" / "run").read_text("utf-8")
    steps = [line.strip() for line in ci.splitlines() if line.strip() and not line.startswith("#")]
    test_command = dict(quick_start_commands())
    assert "make test" in test_command and "make test" in steps
    assert "pg_isready" in ci  # Layout: "starts PostgreSQL if needed, then `make test`"
    assert steps.index("make test") == len(steps) - 1


def test_the_test_database_the_readme_describes_is_the_suites_default():
    """ "`make test` expects PostgreSQL at `127.0.0.1:5432` (user `postgres`, trust
    authentication, database `test`) ... `TISS_TEST_POSTGRES`"; the benchmarks fall back to it."""
    quick = section("Quick start")
    assert "PostgreSQL at `127.0.0.1:5432` (user `postgres`" in quick
    for source in ("tests/conftest.py", "bench/server.py"):
        text = (ROOT / source).read_text("utf-8")
        (url,) = re.findall(r'"TISS_TEST_POSTGRES",\s*"([^"]+)"', text)
        parts = urlsplit(url)
        assert (parts.hostname, parts.port, parts.username, parts.password, parts.path) == (
            "127.0.0.1",
            5432,
            "postgres",
            None,
            "/test",
        ), source


def test_make_bench_is_python_m_bench_with_the_options_the_readme_names(capsys):
    benchmarks = section("Benchmarks")
    options = re.search(r"`--only ([\w|]+)`, `(--quick)`", benchmarks)
    _, body = recipe("bench")
    assert any("-m bench" in line for line in body)
    from bench.__main__ import main as bench_main

    with pytest.raises(SystemExit) as done:
        bench_main(["--help"])
    assert done.value.code == 0
    usage = capsys.readouterr().out
    assert "--only {" + options.group(1).replace("|", ",") + "}" in usage
    assert options.group(2) in usage


def test_pyproject_pins_every_dependency():
    """Layout: "`pyproject.toml` (pinned dependencies)"."""
    assert "`pyproject.toml` (pinned dependencies)" in section("Layout")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    requirements = [
        *project["build-system"]["requires"],
        *project["project"]["dependencies"],
        *(r for extra in project["project"]["optional-dependencies"].values() for r in extra),
    ]
    assert [r for r in requirements if not re.fullmatch(r"[\w.\-\[\]]+==[\w.]+", r)] == []


def test_quick_start_python_is_the_makefiles_and_pyprojects():
    assert "Python 3.11 (`python3.11`" in section("Quick start")
    assert make_variables()["PYTHON"] == "python3.11"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    assert project["requires-python"] == ">=3.11,<3.12"


# --- what the README names in the code exists ----------------------------------------------------


TOP_LEVEL = ("gateway/", "storage/", "deploy/", "tests/", "wsdl/", "xsd/", "bench/", "examples/")


def test_every_project_path_the_readmes_name_exists():
    named = {
        path.split("#")[0]
        for text in (README, DEPLOY_README)
        for path in spans(text)
        if path.startswith((*TOP_LEVEL, "scripts/", ".ci/"))
        and " " not in path
        # Made by the test run, not kept in the repository.
        and not path.startswith("tests/artifacts/")
    }
    named |= {f"tests/{p}" for p in spans(README) if re.fullmatch(r"test_\w+\.py", p)}
    examples = README[README.index("**Examples.**") :].split("\n\n")[0]
    named |= {f"examples/{p}" for p in spans(examples) if re.fullmatch(r"\w+\.py", p)}
    assert len(named) >= 40
    assert sorted(p for p in named if not (ROOT / p).exists()) == []


def _resolve(dotted: str):
    for prefix in ("", "gateway.", "gateway.services.", "gateway.tiss."):
        parts = f"{prefix}{dotted}".split(".")
        for cut in range(len(parts), 0, -1):
            try:
                found = importlib.import_module(".".join(parts[:cut]))
            except ImportError:
                continue
            try:
                for name in parts[cut:]:
                    found = getattr(found, name)
            except AttributeError:
                break
            return found
    return None


def test_every_function_and_module_the_readme_names_exists():
    named = sorted(
        token
        for token in set(spans(README))
        if re.fullmatch(r"(gateway|storage|services|inbound|pipeline)\.[\w.]+", token)
    )
    # `gateway.access` is the access log's logger, not a module.
    assert 'getLogger("gateway.access")' in (ROOT / "gateway" / "app.py").read_text("utf-8")
    named.remove("gateway.access")
    assert len(named) >= 8
    assert [name for name in named if _resolve(name) is None] == []


def test_every_table_column_the_readme_names_exists():
    import storage.portal_models  # noqa: F401  (their tables join the metadata)
    import storage.typed_models  # noqa: F401

    metadata = models.Base.metadata.tables
    named = [
        token.split(".")
        for token in spans(README)
        if re.fullmatch(r"[a-z_]+\.[a-z_0-9]+", token) and token.split(".")[0] in metadata
    ]
    assert len(named) >= 6
    assert [".".join(n) for n in named if n[1] not in metadata[n[0]].columns] == []
