"""deploy/Containerfile and deploy/compose.yaml, checked without a container engine.

No engine (docker, podman) and no registry for the base image here, so the image is not built.
What can be checked is checked for real:

- The Containerfile is parsed (the instructions it uses; anything else fails, so that a new
  instruction gets emulated here rather than ignored) and its build is emulated: every COPY source
  must exist in the build context (the repository) and is copied, with Docker's semantics, into a
  temporary folder standing for WORKDIR; what `pip install -e .` would see at that point is
  checked against pyproject.toml (packages found by setuptools, package data, readme).
- The image is then run: the CMD's gunicorn, from that folder, with the image's ENV (bind, var
  and metrics folders moved to this machine) and a SQLite database migrated by compose's
  `migrate` command run the same way. The project's checkout is not importable there: the
  interpreter runs with -S, so the venv's .pth files (the editable install that maps `gateway`
  and `storage` to this checkout) are not read, and only the copy plus the venv's site-packages
  are on PYTHONPATH. The HEALTHCHECK command must pass, /readyz must say ready, and the files the
  gateway reads at run time (WSDLs, XSDs, templates, static files, migrations) must be served.
- compose.yaml: services, image, build file, dependencies, published port, and that every TISS_*
  variable it sets is one the gateway reads (derived from the code) with a value it accepts.
"""

import ast
import json
import os
import posixpath
import re
import runpy
import shlex
import shutil
import subprocess
import sys
import sysconfig
import time
import tomllib
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path, PurePosixPath

import pytest
import requests
import yaml
from lxml import etree
from packaging.specifiers import SpecifierSet
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from gateway.config import Settings
from storage.migrate import current_head
from tests.conftest import REGISTRO_ANS
from tests.test_deploy import _free_port, _stop, _wait_http

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
CONTAINERFILE = DEPLOY / "Containerfile"
COMPOSE = DEPLOY / "compose.yaml"
PYPROJECT = ROOT / "pyproject.toml"

# What the emulation below knows how to reproduce. Anything else (ADD, ARG, a second FROM,
# COPY --from...) fails the tests instead of being silently skipped.
KNOWN_INSTRUCTIONS = {
    "FROM",
    "ENV",
    "RUN",
    "WORKDIR",
    "COPY",
    "USER",
    "EXPOSE",
    "HEALTHCHECK",
    "CMD",
}
# Run-time paths of the image that must be moved onto this machine to run it here.
MOVED_TO_TMP = ("TISS_VAR_DIR", "PROMETHEUS_MULTIPROC_DIR")


# --- Containerfile parser ----------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str
    value: str
    line: int


def parse_instructions(source: str) -> list[Instruction]:
    """Instructions with their continuation lines joined the way the builder joins them (the
    backslash and newline removed, nothing added); comment lines are dropped, also inside a
    continuation."""
    result: list[Instruction] = []
    parts: list[str] = []
    start = 0
    for number, raw in enumerate(source.splitlines(), 1):
        stripped = raw.strip()
        if stripped.startswith("#") or (not parts and not stripped):
            continue
        if not parts:
            start = number
            raw = raw.lstrip()
        if raw.rstrip().endswith("\\"):
            parts.append(raw.rstrip()[:-1])
            continue
        parts.append(raw)
        keyword, _, value = "".join(parts).strip().partition(" ")
        result.append(Instruction(keyword.upper(), value.strip(), start))
        parts = []
    assert not parts, f"Containerfile ends inside a continuation (line {start})"
    return result


def exec_form(value: str, where: str) -> list[str]:
    assert value.startswith("["), f"{where} must use the exec form (JSON array): {value}"
    argv = json.loads(value)
    assert argv and all(isinstance(a, str) for a in argv), f"{where}: {value}"
    return argv


def parse_env(value: str, line: int) -> dict[str, str]:
    assert "$" not in value, f"line {line}: variable substitution in ENV is not emulated"
    tokens = shlex.split(value)
    if "=" not in tokens[0]:  # legacy form: ENV NAME the rest of the line
        return {tokens[0]: value.split(None, 1)[1]}
    pairs = {}
    for token in tokens:
        name, sep, val = token.partition("=")
        assert sep and name, f"line {line}: ENV expects NAME=value, got {token!r}"
        pairs[name] = val
    return pairs


def parse_duration(raw: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    pieces = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", raw)
    assert pieces and "".join(n + u for n, u in pieces) == raw, f"not a duration: {raw!r}"
    return sum(float(n) * units[u] for n, u in pieces)


@dataclass(frozen=True)
class Healthcheck:
    options: dict[str, str]
    command: list[str]


def parse_healthcheck(value: str, line: int) -> Healthcheck:
    options = {}
    rest = value
    while rest.startswith("--"):
        option, _, rest = rest.partition(" ")
        name, sep, val = option[2:].partition("=")
        assert sep, f"line {line}: HEALTHCHECK option {option!r} without a value"
        options[name] = val
        rest = rest.lstrip()
    keyword, _, command = rest.partition(" ")
    assert keyword.upper() == "CMD", f"line {line}: HEALTHCHECK without CMD (or NONE)"
    command = command.strip()
    argv = json.loads(command) if command.startswith("[") else ["/bin/sh", "-c", command]
    return Healthcheck(options, argv)


@dataclass(frozen=True)
class Copy:
    sources: list[str]
    dest: str
    line: int


def parse_copy(value: str, line: int) -> Copy:
    tokens = json.loads(value) if value.startswith("[") else shlex.split(value)
    flags = [t for t in tokens if t.startswith("--")]
    for flag in flags:
        name = flag[2:].partition("=")[0]
        assert name in ("chown", "chmod", "link"), f"line {line}: COPY {flag} is not emulated"
    args = [t for t in tokens if not t.startswith("--")]
    assert len(args) >= 2, f"line {line}: COPY needs a source and a destination"
    return Copy(args[:-1], args[-1], line)


# --- emulated build ----------------------------------------------------------------------------


@dataclass
class Image:
    app: Path  # the temporary folder standing for WORKDIR
    instructions: list[Instruction]
    base: str = ""
    workdir: str = ""
    env: dict[str, str] = field(default_factory=dict)
    user: str | None = None
    user_line: int = 0
    expose: list[str] = field(default_factory=list)
    healthcheck: Healthcheck | None = None
    cmd: list[str] = field(default_factory=list)
    runs: list[Instruction] = field(default_factory=list)
    copies: list[Copy] = field(default_factory=list)
    # What `pip install` saw: relative paths of the files under WORKDIR, and the packages
    # setuptools discovers there with pyproject.toml's configuration.
    files_at_install: set[str] | None = None
    packages_at_install: set[str] | None = None

    @property
    def port(self) -> int:
        assert len(self.expose) == 1, f"one EXPOSE expected, got {self.expose}"
        port, _, proto = self.expose[0].partition("/")
        assert proto in ("", "tcp"), self.expose
        return int(port)

    def path(self, container_path: str) -> Path:
        """This machine's path for a path of the image under WORKDIR."""
        inner = PurePosixPath(posixpath.normpath(posixpath.join(self.workdir, container_path)))
        assert (
            inner == PurePosixPath(self.workdir) or PurePosixPath(self.workdir) in inner.parents
        ), f"{container_path}: only paths under WORKDIR ({self.workdir}) are emulated"
        return self.app.joinpath(*inner.relative_to(self.workdir).parts)


def setuptools_packages(project: Path) -> set[str]:
    """The packages `pip install` of `project` gets, per its [tool.setuptools] configuration."""
    config = tomllib.loads((project / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = config.get("packages")
    if isinstance(listed, list):
        return {name for name in listed if (project / name.replace(".", "/")).is_dir()}
    from setuptools.discovery import PackageFinder, PEP420PackageFinder

    find = (listed or {}).get("find", {})
    finder = PEP420PackageFinder if find.get("namespaces", True) else PackageFinder
    found = set()
    for where in find.get("where", ["."]):
        found |= set(
            finder.find(
                str(project / where),
                include=find.get("include", ["*"]),
                exclude=find.get("exclude", []),
            )
        )
    return found


def _copy_one(source: Path, target: Path, into_dir: bool) -> None:
    if source.is_dir():  # the folder's content, merged into the destination
        shutil.copytree(source, target, symlinks=True, dirs_exist_ok=True)
        return
    if into_dir:
        target.mkdir(parents=True, exist_ok=True)
        target = target / source.name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)


def build_image(app: Path, context: Path = ROOT) -> Image:
    instructions = parse_instructions(CONTAINERFILE.read_text())
    image = Image(app=app, instructions=instructions)
    for ins in instructions:
        assert ins.keyword in KNOWN_INSTRUCTIONS, (
            f"line {ins.line}: {ins.keyword} is not emulated by tests/test_container.py"
        )
        if ins.keyword == "FROM":
            assert not image.base, f"line {ins.line}: multi-stage builds are not emulated"
            image.base = ins.value.split()[0]
        elif ins.keyword == "WORKDIR":
            assert not image.workdir, f"line {ins.line}: one WORKDIR is emulated"
            assert ins.value.startswith("/"), f"line {ins.line}: WORKDIR must be absolute"
            image.workdir = ins.value
            app.mkdir(parents=True, exist_ok=True)
        elif ins.keyword == "ENV":
            image.env.update(parse_env(ins.value, ins.line))
        elif ins.keyword == "COPY":
            assert image.workdir, f"line {ins.line}: COPY before WORKDIR is not emulated"
            copy = parse_copy(ins.value, ins.line)
            image.copies.append(copy)
            sources = []
            for pattern in copy.sources:
                matched = sorted(context.glob(pattern)) if set("*?[") & set(pattern) else []
                sources += matched or [context / pattern]
            into_dir = copy.dest.endswith("/") or len(sources) > 1
            for source in sources:
                assert source.exists(), f"line {ins.line}: COPY source {source} does not exist"
                assert context in source.resolve().parents, f"{source}: outside the context"
                _copy_one(source, image.path(copy.dest), into_dir)
        elif ins.keyword == "RUN":
            image.runs.append(ins)
            if re.search(r"\bpip install\b", ins.value):
                assert image.files_at_install is None, "pip install run twice"
                assert re.search(r"\bpip install (-e |--editable )?\.(\s|$)", ins.value), (
                    f"line {ins.line}: expected `pip install -e .` of WORKDIR: {ins.value}"
                )
                image.files_at_install = {
                    p.relative_to(app).as_posix() for p in app.rglob("*") if p.is_file()
                }
                image.packages_at_install = setuptools_packages(app)
        elif ins.keyword == "USER":
            image.user, image.user_line = ins.value, ins.line
        elif ins.keyword == "EXPOSE":
            image.expose += ins.value.split()
        elif ins.keyword == "HEALTHCHECK":
            image.healthcheck = parse_healthcheck(ins.value, ins.line)
        elif ins.keyword == "CMD":
            image.cmd = exec_form(ins.value, f"CMD (line {ins.line})")
    return image


@pytest.fixture(scope="module")
def image(tmp_path_factory) -> Image:
    return build_image(tmp_path_factory.mktemp("image") / "app")


# --- running commands inside the emulated image ------------------------------------------------


def image_env(image: Image, **overrides: str) -> dict[str, str]:
    """This machine's environment without anything of the gateway's or Python's, then the image's
    ENV, then PYTHONPATH: the copy first, then the venv's site-packages (the image's
    site-packages: the pinned dependencies)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TISS_", "PYTHON", "PROMETHEUS_", "VIRTUAL_ENV"))
    }
    env.update(image.env)
    paths = sysconfig.get_paths()
    site = dict.fromkeys([paths["purelib"], paths["platlib"]])
    env["PYTHONPATH"] = os.pathsep.join([str(image.app), *site])
    env.update(overrides)
    return env


def image_argv(image: Image, argv: list[str]) -> list[str]:
    """The argv run in the image, as this machine's interpreter with -S. `python` is the
    interpreter; a console script is called like pip's wrapper calls it: the project's own from
    the copy's pyproject.toml, a dependency's from its installed metadata."""
    name, *rest = argv
    if name in ("python", "python3", "python3.11"):
        return [sys.executable, "-S", *rest]
    scripts = tomllib.loads((image.app / "pyproject.toml").read_text())["project"]["scripts"]
    target = scripts.get(name)
    if target is None:
        found = entry_points(group="console_scripts", name=name)
        assert found, f"{name}: no such console script in the project or its dependencies"
        target = next(iter(found)).value
    module, _, func = target.partition(":")
    code = f"import sys; sys.argv[0] = {name!r}; from {module} import {func}; sys.exit({func}())"
    return [sys.executable, "-S", "-c", code, *rest]


def run_in_image(image: Image, argv: list[str], env: dict, timeout: float = 60):
    return subprocess.run(
        image_argv(image, argv),
        cwd=image.app,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# --- compose.yaml ------------------------------------------------------------------------------

COMPOSE_VARIABLES = {"TISS_DB_PASSWORD": "db-password", "TISS_SECRET_KEY": "s" * 40}


def interpolate(value: str, variables: dict[str, str]) -> str:
    """Compose's ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}, $$."""

    def one(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group(1), match.group(2) or "", match.group(3) or ""
        given = variables.get(name)
        empty = given is None or (given == "" and op.startswith(":"))
        if op.endswith("?"):
            assert not empty, f"${{{name}}} is required: {arg}"
        if op.endswith("-") and empty:
            return arg
        return given or ""

    return re.sub(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}", one, value)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def service_env(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {k: interpolate(str(v), COMPOSE_VARIABLES) for k, v in env.items()}


@pytest.fixture(scope="module")
def migrated_by_compose(image, compose, tmp_path_factory):
    """compose's `migrate` command, run in the image against a new SQLite database."""
    tmp = tmp_path_factory.mktemp("migrate")
    url = f"sqlite:///{tmp / 'gateway.db'}"
    env = image_env(
        image,
        TISS_DATABASE_URL=url,
        TISS_VAR_DIR=str(tmp / "var"),
        PROMETHEUS_MULTIPROC_DIR=str(tmp / "prometheus"),
    )
    result = run_in_image(image, compose["services"]["migrate"]["command"], env)
    return url, env, result


# --- the settings the gateway reads, from its code ---------------------------------------------


def _environ_key(node: ast.AST) -> ast.AST | None:
    """The key expression when `node` reads os.environ (get, [], in) or os.getenv."""

    def is_environ(n):
        return (isinstance(n, ast.Attribute) and n.attr == "environ") or (
            isinstance(n, ast.Name) and n.id == "environ"
        )

    if isinstance(node, ast.Call) and node.args:
        f = node.func
        if isinstance(f, ast.Attribute) and f.attr in ("get", "pop", "setdefault"):
            if is_environ(f.value):
                return node.args[0]
        if (isinstance(f, ast.Attribute) and f.attr == "getenv") or (
            isinstance(f, ast.Name) and f.id == "getenv"
        ):
            return node.args[0]
    if isinstance(node, ast.Subscript) and is_environ(node.value):
        return node.slice
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], ast.In):
        if is_environ(node.comparators[0]):
            return node.left
    return None


def environment_read_by(files: list[Path]) -> set[str]:
    """Every variable name the code reads from the environment: directly (os.environ.get,
    os.environ[...], os.getenv, `in os.environ`) or through a helper that reads the variable
    named by one of its parameters (like config.py's _bool, _int, _path)."""
    trees = {path: ast.parse(path.read_text(), str(path)) for path in files}
    helpers: dict[str, int] = {}
    for tree in trees.values():
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef):
                continue
            params = [a.arg for a in fn.args.args]
            for node in ast.walk(fn):
                key = _environ_key(node)
                if isinstance(key, ast.Name) and key.id in params:
                    helpers[fn.name] = params.index(key.id)
    names: set[str] = set()
    for tree in trees.values():
        constants = {
            target.id: node.value.value
            for node in tree.body
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
            for target in node.targets
            if isinstance(target, ast.Name) and isinstance(node.value.value, str)
        }
        for node in ast.walk(tree):
            key = _environ_key(node)
            if key is None and isinstance(node, ast.Call):
                f = node.func
                called = f.id if isinstance(f, ast.Name) else getattr(f, "attr", None)
                if called in helpers and len(node.args) > helpers[called]:
                    key = node.args[helpers[called]]
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                names.add(key.value)
            elif isinstance(key, ast.Name) and key.id in constants:
                names.add(constants[key.id])
    return names


@pytest.fixture(scope="module")
def settings_read(image) -> set[str]:
    """TISS_* variables read by the installed packages and by the gunicorn configuration the
    image's CMD loads."""
    files = [
        path
        for package in sorted({p.split(".")[0] for p in image.packages_at_install})
        for path in (image.app / package).rglob("*.py")
    ]
    files.append(image.path(image.cmd[image.cmd.index("-c") + 1]))
    names = {n for n in environment_read_by(files) if n.startswith("TISS_")}
    # The scan must see the ways settings are read today, or it would accept nothing.
    assert {"TISS_DATABASE_URL", "TISS_TRUST_PROXY", "TISS_BIND", "TISS_WORKERS"} <= names
    return names


# --- the running image -------------------------------------------------------------------------


@dataclass
class Running:
    base: str
    env: dict[str, str]
    seconds_to_ready: float
    log: Path


@pytest.fixture(scope="module")
def running(image, migrated_by_compose, tmp_path_factory):
    url, _, migrated = migrated_by_compose
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    tmp = tmp_path_factory.mktemp("run")
    port = _free_port()
    env = image_env(
        image,
        TISS_BIND=f"127.0.0.1:{port}",
        TISS_DATABASE_URL=url,
        TISS_VAR_DIR=str(tmp / "var"),
        PROMETHEUS_MULTIPROC_DIR=str(tmp / "prometheus"),
    )
    # What compose.yaml's header tells the operator to run once, in the gateway's container.
    operator = run_in_image(
        image,
        ["tiss-gateway", "operator", "set", "--registro-ans", REGISTRO_ANS, "--name", "Op"],
        env,
    )
    assert operator.returncode == 0, operator.stderr[-3000:]
    log = tmp / "gunicorn.log"
    started = time.monotonic()
    with log.open("wb") as out:
        process = subprocess.Popen(
            image_argv(image, image.cmd), cwd=image.app, env=env, stdout=out, stderr=out
        )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_http(f"{base}/readyz", process, log)
        yield Running(base, env, time.monotonic() - started, log)
    finally:
        _stop(process)


# --- tests: the Containerfile ------------------------------------------------------------------


def test_containerfile_is_one_stage_on_the_python_pyproject_requires(image):
    requires = tomllib.loads(PYPROJECT.read_text())["project"]["requires-python"]
    match = re.fullmatch(r"python:(\d+\.\d+)[-.\w]*", image.base)
    assert match, f"base image {image.base!r} is not an official python image with its version"
    assert SpecifierSet(requires).contains(match.group(1)), (image.base, requires)
    # The emulation runs the image with this interpreter: it must be the same minor version.
    assert f"{sys.version_info.major}.{sys.version_info.minor}" == match.group(1)
    assert image.workdir == "/app"
    assert (
        not (ROOT / ".dockerignore").exists()
        and not (DEPLOY / "Containerfile.dockerignore").exists()
    ), "a .dockerignore changes what COPY takes: teach the emulation in tests/test_container.py"


def test_every_copy_source_exists_in_the_repository(image):
    assert image.copies
    for copy in image.copies:
        for source in copy.sources:
            matched = list(ROOT.glob(source)) if set("*?[") & set(source) else [ROOT / source]
            assert matched and all(p.exists() for p in matched), f"line {copy.line}: {source}"


def test_pip_install_sees_everything_pyproject_declares(image):
    """`pip install -e .` runs with what was COPY'd before it: the pyproject, its readme, every
    package setuptools discovers in the repository, and their package data."""
    assert image.files_at_install is not None, "no `pip install -e .` in the Containerfile"
    project = tomllib.loads(PYPROJECT.read_text())
    assert "pyproject.toml" in image.files_at_install
    readme = project["project"].get("readme")
    if readme:
        readme = readme if isinstance(readme, str) else readme["file"]
        assert readme in image.files_at_install, f"pyproject's readme {readme} not COPY'd"
    expected = setuptools_packages(ROOT)
    assert expected, "setuptools finds no package in the repository"
    missing = expected - image.packages_at_install
    assert not missing, f"packages not COPY'd before `pip install`: {sorted(missing)}"
    for package, patterns in project["tool"]["setuptools"].get("package-data", {}).items():
        folder = ROOT / package.replace(".", "/")
        for pattern in patterns:
            matches = [p for p in folder.glob(pattern) if p.is_file()]
            assert matches, f"package data {package}: {pattern} matches nothing in the repository"
            for path in matches:
                assert path.relative_to(ROOT).as_posix() in image.files_at_install, path


def test_image_runs_as_a_user_it_creates_with_a_writable_var_dir(image):
    assert image.user, "no USER: the gateway would run as root"
    user = image.user.split(":")[0]
    assert user not in ("root", "0"), f"USER {image.user} is root"
    before_user = [r.value for r in image.runs if r.line < image.user_line]
    created = [r for r in before_user if re.search(rf"\buseradd\b.*\s{re.escape(user)}\b", r)]
    assert created, f"USER {user} is not created by a RUN useradd before it"
    uid = re.search(r"--uid[= ](\d+)", created[0])
    assert uid is None or int(uid.group(1)) != 0
    # The folders the gateway writes to: TISS_VAR_DIR is made and given to that user while still
    # root; the metrics folder is under /tmp or that folder.
    var_dir = image.env["TISS_VAR_DIR"]
    assert any(
        re.search(rf"\bmkdir -p {re.escape(var_dir)}\b", r)
        and re.search(rf"\bchown (-R )?{re.escape(user)}(:\S+)? {re.escape(var_dir)}\b", r)
        for r in before_user
    ), f"TISS_VAR_DIR {var_dir} is not created and given to {user} before USER"
    metrics_dir = PurePosixPath(image.env["PROMETHEUS_MULTIPROC_DIR"])
    assert any(p in metrics_dir.parents for p in (PurePosixPath("/tmp"), PurePosixPath(var_dir)))


def test_cmd_is_gunicorn_with_the_deploy_configuration_bound_to_the_exposed_port(
    image, monkeypatch
):
    assert image.cmd[0] == "gunicorn", image.cmd
    assert image.cmd[image.cmd.index("-c") + 1] == "deploy/gunicorn.conf.py"
    assert (
        image.path("deploy/gunicorn.conf.py").read_bytes()
        == (DEPLOY / "gunicorn.conf.py").read_bytes()
    )
    assert image.cmd[-1] == "gateway.app:create_app()"
    assert "--bind" not in image.cmd and "-b" not in image.cmd  # the bind is TISS_BIND's
    host, _, port = image.env["TISS_BIND"].rpartition(":")
    assert host == "0.0.0.0", "inside a container the gateway must listen on every interface"
    assert int(port) == image.port, f"EXPOSE {image.expose} but TISS_BIND {image.env['TISS_BIND']}"
    # And the configuration really takes its bind from there, with the image's environment.
    for name in list(os.environ):
        if name.startswith("TISS_"):
            monkeypatch.delenv(name)
    for name, value in image.env.items():
        monkeypatch.setenv(name, value)
    config = runpy.run_path(str(image.path("deploy/gunicorn.conf.py")))
    assert config["bind"] == image.env["TISS_BIND"]


def test_gateway_runs_from_the_copy_not_from_the_checkout(image, tmp_path):
    code = (
        "import importlib.util, json, gateway, storage, gateway.app;"
        "print(json.dumps([gateway.__file__, storage.__file__, gateway.app.__file__,"
        " importlib.util.find_spec('tests') is None]))"
    )
    result = run_in_image(
        image, ["python", "-c", code], image_env(image, TISS_VAR_DIR=str(tmp_path))
    )
    assert result.returncode == 0, result.stderr
    *files, no_tests = json.loads(result.stdout)
    for file in files:
        assert Path(file).resolve().is_relative_to(image.app.resolve()), file
    assert no_tests, "the project's checkout is importable in the emulated image"


def test_healthcheck_passes_on_the_running_image(image, running):
    check = image.healthcheck
    assert check is not None, "no HEALTHCHECK"
    inside = f"127.0.0.1:{image.port}"
    assert any(inside in arg for arg in check.command), f"HEALTHCHECK does not call {inside}"
    timeout = parse_duration(check.options.get("timeout", "30s"))
    start_period = parse_duration(check.options.get("start-period", "0s"))
    assert running.seconds_to_ready < start_period, (
        f"ready after {running.seconds_to_ready:.1f} s, start period {start_period} s"
    )
    port = running.base.rsplit(":", 1)[1]
    argv = [arg.replace(inside, f"127.0.0.1:{port}") for arg in check.command]
    result = run_in_image(image, argv, running.env, timeout=timeout)
    assert result.returncode == 0, result.stderr

    # The same command fails when nothing answers there.
    argv = [arg.replace(inside, f"127.0.0.1:{_free_port()}") for arg in check.command]
    assert run_in_image(image, argv, running.env, timeout=timeout).returncode != 0


def test_running_image_is_ready_and_serves_the_files_it_ships(running):
    ready = requests.get(f"{running.base}/readyz", timeout=10)
    assert ready.status_code == 200 and ready.json()["status"] == "ready", ready.text
    assert set(ready.json()["schemas"].values()) == {"compiled"}, ready.text

    # wsdl/: every service's WSDL, as listed by the index.
    endpoints = requests.get(f"{running.base}/", timeout=10).json()["endpoints"]
    assert endpoints
    for services in endpoints.values():
        for address in services.values():
            path = address.split("://", 1)[1].split("/", 1)[1]
            wsdl = requests.get(f"{running.base}/{path}?wsdl", timeout=10)
            assert wsdl.status_code == 200, (path, wsdl.text[:300])
            etree.fromstring(wsdl.content)

    # xsd/ and wsdl/: the back office's WSDL and its schema.
    from gateway.resources import BACKOFFICE
    from gateway.soap.backoffice.app import PATH

    for url in (f"{PATH}?wsdl", f"{PATH}/{BACKOFFICE}.xsd"):
        answer = requests.get(f"{running.base}{url}", timeout=10)
        assert answer.status_code == 200, (url, answer.text[:300])
        etree.fromstring(answer.content)

    # Templates and static files of the portal.
    page = requests.get(f"{running.base}/portal/", timeout=10)
    assert page.status_code == 200 and "<html" in page.text.lower(), page.text[:300]
    css = re.search(r'<link rel="stylesheet" href="([^"]+)"', page.text)
    assert css, page.text[:1000]
    assert requests.get(f"{running.base}{css.group(1)}", timeout=10).status_code == 200

    # The var dir the portal writes its key into is the image's TISS_VAR_DIR.
    assert (Path(running.env["TISS_VAR_DIR"]) / "secret_key").exists()


# --- tests: compose.yaml -----------------------------------------------------------------------


def test_compose_builds_the_containerfile_and_runs_that_image(compose):
    services = compose["services"]
    assert {"db", "migrate", "gateway"} <= set(services)
    build = services["migrate"]["build"]
    context = (COMPOSE.parent / build.get("context", ".")).resolve()
    assert context == ROOT, f"build context {context} is not the repository"
    assert (context / build.get("dockerfile", "Dockerfile")).resolve() == CONTAINERFILE
    assert services["migrate"]["image"] == services["gateway"]["image"]
    assert "build" not in services["gateway"] or services["gateway"]["build"] == build
    assert "command" not in services["gateway"], "the gateway runs the image's CMD"
    # migrate must migrate the database the gateway uses.
    assert service_env(services["migrate"]) == service_env(services["gateway"])


def test_compose_migrate_command_migrates_a_database_in_the_image(
    migrated_by_compose, compose, image
):
    argv = compose["services"]["migrate"]["command"]
    assert argv[0] in tomllib.loads(PYPROJECT.read_text())["project"]["scripts"]
    url, env, result = migrated_by_compose
    assert result.returncode == 0, result.stderr[-3000:]
    with create_engine(url).connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == (
            current_head()
        )
    # A command the CLI does not have fails the same way (the check above is not vacuous).
    wrong = run_in_image(image, [*argv[:-1], "nonexistent"], env)
    assert wrong.returncode != 0 and "invalid choice" in wrong.stderr, wrong.stderr


def test_compose_sets_only_settings_the_gateway_reads_with_values_it_accepts(
    compose, image, settings_read, monkeypatch, tmp_path
):
    env = service_env(compose["services"]["gateway"])
    given = {name for name in env if name.startswith("TISS_")}
    unknown = given - settings_read
    assert not unknown, f"compose sets variables the gateway never reads: {sorted(unknown)}"
    unknown = {n for n in image.env if n.startswith("TISS_")} - settings_read
    assert not unknown, (
        f"the Containerfile sets variables the gateway never reads: {sorted(unknown)}"
    )

    # The values parse: the gateway's settings and gunicorn's configuration in the container's
    # environment (the image's ENV, then compose's).
    for name in list(os.environ):
        if name.startswith("TISS_"):
            monkeypatch.delenv(name)
    for name, value in {**image.env, **env}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TISS_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "prometheus"))
    settings = Settings.from_env()
    assert settings.database_url == env["TISS_DATABASE_URL"]
    config = runpy.run_path(str(image.path("deploy/gunicorn.conf.py")))
    assert config["workers"] >= 1


def test_compose_database_url_is_the_db_service(compose):
    services = compose["services"]
    url = make_url(service_env(services["gateway"])["TISS_DATABASE_URL"])
    url.get_dialect()  # the driver is installed
    assert url.get_backend_name() == "postgresql"
    assert url.host == "db" and url.host in services
    db_env = service_env(services["db"])
    assert url.username == db_env["POSTGRES_USER"]
    assert url.password == db_env["POSTGRES_PASSWORD"]
    assert url.database == db_env["POSTGRES_DB"]
    assert (url.port or 5432) == 5432


def test_compose_gateway_waits_for_a_healthy_db_and_a_finished_migration(compose):
    services = compose["services"]
    assert "healthcheck" in services["db"], "service_healthy needs a healthcheck on db"
    assert services["gateway"]["depends_on"] == {
        "db": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
    }
    assert services["migrate"]["depends_on"]["db"] == {"condition": "service_healthy"}
    assert str(services["migrate"].get("restart", "no")) == "no"


def test_compose_publishes_the_exposed_port(compose, image):
    gateway = compose["services"]["gateway"]
    bind = {**image.env, **service_env(gateway)}["TISS_BIND"]
    container_ports = []
    for spec in gateway["ports"]:
        if isinstance(spec, dict):
            container_ports.append(int(spec["target"]))
        else:
            port = str(spec).partition("/")[0]
            container_ports.append(int(port.rsplit(":", 1)[-1]))
    assert container_ports == [image.port]
    assert int(bind.rpartition(":")[2]) == image.port
