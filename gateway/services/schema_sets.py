"""Schema sets: the built-in ones (PyPI package `tiss`) and those the operator imports."""

import atexit
import hashlib
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from sqlalchemy import delete, select

from gateway.tiss.schemas import (
    ORIGIN_IMPORTED,
    SchemaRegistry,
    SchemaSet,
    SchemaSetError,
    builtin_sets,
    expected_file_names,
    version_of_files,
)
from storage.db import Database
from storage.models import SchemaFile

MAX_SCHEMA_FILE_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class SchemaSetInfo:
    version: str
    origin: str
    files: dict[str, str]  # file name -> SHA-256


def _read_package(path: Path) -> dict[str, bytes]:
    """The .xsd files of an ANS package given as a folder or a zip (nested folders allowed)."""
    files: dict[str, bytes] = {}
    if path.is_dir():
        for item in sorted(path.rglob("*.xsd")):
            files.setdefault(item.name, item.read_bytes())
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                name = PurePosixPath(info.filename).name
                if name.endswith(".xsd") and not info.is_dir():
                    if info.file_size > MAX_SCHEMA_FILE_BYTES:
                        raise SchemaSetError(f"{name}: {info.file_size} bytes is too large")
                    files.setdefault(name, archive.read(info))
    else:
        raise SchemaSetError(f"{path}: not a folder or a zip file")
    return files


def import_package(db: Database, path: Path) -> SchemaSetInfo:
    """Check that an official ANS communication package is complete and compiles offline, then
    record every file with its SHA-256. The version becomes usable once it is also accepted."""
    found = _read_package(path)
    version = version_of_files([n for n in found if n.startswith("tiss")])
    names = expected_file_names(version)
    missing = [n for n in names if n not in found]
    if missing:
        raise SchemaSetError(f"package of {version} lacks {', '.join(missing)}")
    digests = {n: hashlib.sha256(found[n]).hexdigest() for n in names}
    with tempfile.TemporaryDirectory() as tmp:
        for n in names:
            (Path(tmp) / n).write_bytes(found[n])
        SchemaSet(version, ORIGIN_IMPORTED, Path(tmp), digests).compile()
    now = datetime.now(UTC)
    with db.transaction() as session:
        session.execute(delete(SchemaFile).where(SchemaFile.version == version))
        for n in names:
            session.add(
                SchemaFile(
                    version=version,
                    file_name=n,
                    sha256=digests[n],
                    content=found[n],
                    source=str(path)[:300],
                    imported_at=now,
                )
            )
    return SchemaSetInfo(version, ORIGIN_IMPORTED, digests)


def _imported_sets(db: Database) -> list[SchemaSet]:
    with db.reading() as session:
        rows = session.scalars(select(SchemaFile).order_by(SchemaFile.version)).all()
    by_version: dict[str, list[SchemaFile]] = {}
    for row in rows:
        by_version.setdefault(row.version, []).append(row)
    if not by_version:
        return []
    # lxml compiles from files (imports are relative paths), so each process writes its own copy.
    cache = Path(tempfile.mkdtemp(prefix="tiss-schemas-"))
    atexit.register(shutil.rmtree, cache, True)
    sets = []
    for version, files in by_version.items():
        directory = cache / version
        directory.mkdir()
        for f in files:
            (directory / f.file_name).write_bytes(f.content)
        # SchemaRegistry.add() re-checks the written files against the SHA-256 of the import.
        digests = {f.file_name: f.sha256 for f in files}
        sets.append(SchemaSet(version, ORIGIN_IMPORTED, directory, digests))
    return sets


def load_registry(db: Database) -> SchemaRegistry:
    registry = SchemaRegistry()
    for schema_set in builtin_sets():
        registry.add(schema_set)
    for schema_set in _imported_sets(db):
        if registry.get(schema_set.version) is None:  # the package's sets take precedence
            registry.add(schema_set)
    return registry


def describe(registry: SchemaRegistry) -> list[SchemaSetInfo]:
    return [SchemaSetInfo(s.version, s.origin, dict(s.sha256)) for s in registry]
