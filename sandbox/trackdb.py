"""The local tracking database's schema: created once, migrated under the store's lock, checked cheaply.

MLflow creates and migrates its SQLite schema lazily, with no lock, whenever a store object is built: several
processes starting at once on a new store raced each other through the migrations (`duplicate column name:
step`) and left the database half-migrated. Here:

- `ensure_schema(mlruns)` runs before any MLflow store is built (`tracking.tracking_uri` calls it). Its fast
  path reads the database's alembic revision with the stdlib `sqlite3` module and compares it with MLflow's
  head revision (cached in `state/tracking-schema.json` per MLflow version, since computing it costs ~35 ms):
  no lock, a few milliseconds, once per process.
- Otherwise it takes `state/tracking.lock` and, if the database is still missing or behind, builds the new
  schema on a copy (a fresh database, or an online-backup copy of the old one), migrates the copy and renames
  it over `mlflow.db`. A crash mid-migration leaves the previous database untouched; a database that is
  damaged or half-migrated (an older version's race, or a copy from elsewhere) is refused with one line
  naming the repair (`sandbox doctor --fix`, or `sandbox restore DIR`), never a traceback.
- `ensure_auth_schema(db, state)` does the same for the MLflow server's permission database.
"""

from __future__ import annotations

import json
import os
import sqlite3
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import atomic
from .errors import StoreError

DB_FILE = "mlflow.db"
SCHEMA_CACHE = "tracking-schema.json"
LOCK_FILE = "tracking.lock"
LOCK_TIMEOUT_S = 300.0  # a migration takes seconds; on a loaded machine, many more
AUTH_VERSION_TABLE = "alembic_version_auth"
REPAIR = "run `sandbox doctor` to see what is wrong and `sandbox doctor --fix` to repair what it safely can, or restore a backup with `sandbox restore DIR`"

_checked: set[str] = set()  # databases found current in this process
_template: dict[str, bytes] = {}  # MLflow version -> bytes of a freshly migrated, empty database


def db_path(mlruns: Path | str) -> Path:
    return Path(mlruns).resolve() / DB_FILE


def state_dir(mlruns: Path | str) -> Path:
    """The store's state folder (beside mlruns/), where the lock and the cached head live."""
    mlruns = Path(mlruns).resolve()
    state = mlruns.parent / "state"
    return state if state.is_dir() else mlruns


def _existing_uri(db: Path) -> str:
    """Open an existing database only (never create one). Read-write, not read-only: a writer killed
    mid-transaction leaves a hot journal that only a writable connection can roll back."""
    return "file:" + urllib.parse.quote(str(db)) + "?mode=rw"


# -- heads ------------------------------------------------------------------
def _mlflow_version() -> str:
    from mlflow.version import VERSION  # mlflow is being imported by the caller anyway

    return VERSION


def head_revision(state: Path | None = None) -> str:
    """MLflow's head tracking-schema revision, cached per MLflow version in `state/tracking-schema.json`."""
    version = _mlflow_version()
    cache = (state / SCHEMA_CACHE) if state is not None else None
    if cache is not None:
        try:
            data = json.loads(cache.read_text(encoding="utf-8"))
            if data.get("mlflow") == version and isinstance(data.get("head"), str):
                return data["head"]
        except (OSError, ValueError, AttributeError):
            pass
    from mlflow.store.db.utils import _get_latest_schema_revision

    head = _get_latest_schema_revision()
    if cache is not None and cache.parent.is_dir():
        try:
            atomic.write_json(cache, {"mlflow": version, "head": head}, mode=0o600)
        except OSError:
            pass  # a read-only store still works, only slower
    return head


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory
    from mlflow.store.db.utils import _get_alembic_config

    return {s.revision for s in ScriptDirectory.from_config(_get_alembic_config(db_url="")).walk_revisions()}


# -- reading a database without MLflow -----------------------------------------
@dataclass
class SchemaStatus:
    """What the tracking database looks like: `state` is current, missing, behind, newer, half-migrated or damaged."""

    path: str
    state: str
    revision: str | None = None
    head: str | None = None
    detail: str = ""
    tables: int = 0
    leftovers: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.state == "current"

    def to_dict(self) -> dict:
        return asdict(self)


def _revision_fast(db: Path, version_table: str = "alembic_version") -> str | None:
    """The stamped revision, or None when it cannot be read cheaply (the slow path then looks closer)."""
    try:
        con = sqlite3.connect(_existing_uri(db), uri=True, timeout=30)
    except sqlite3.Error:
        return None
    try:
        rows = con.execute(f"SELECT version_num FROM {version_table}").fetchall()
    except sqlite3.Error:
        return None
    finally:
        con.close()
    return rows[0][0] if len(rows) == 1 else None


def inspect(db: Path, head: str, version_table: str = "alembic_version", known: set[str] | None = None) -> SchemaStatus:
    """Classify a database file (no lock, read-only)."""
    st = SchemaStatus(path=str(db), state="missing", head=head)
    try:
        size = db.stat().st_size
    except FileNotFoundError:
        return st
    if size == 0:
        st.detail = "empty file"
        return st
    try:
        con = sqlite3.connect(_existing_uri(db), uri=True, timeout=30)
        try:
            names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            rows = con.execute(f"SELECT version_num FROM {version_table}").fetchall() if version_table in names else []
        finally:
            con.close()
    except sqlite3.DatabaseError as err:
        st.state, st.detail = "damaged", f"not a readable SQLite database ({err})"
        return st
    st.tables = len([n for n in names if not n.startswith(("alembic_", "sqlite_"))])
    st.leftovers = sorted(n for n in names if n.startswith("_alembic_tmp_"))
    revs = [r[0] for r in rows]
    st.revision = revs[0] if len(revs) == 1 else None
    if not names or (st.tables == 0 and not revs):
        st.state, st.detail = "missing", "no tables yet"
    elif len(revs) != 1:
        st.state = "half-migrated"
        st.detail = f"{st.tables} tables but {'no' if not revs else len(revs)} schema revision stamp(s)"
    elif st.leftovers:
        st.state, st.detail = "half-migrated", f"a migration was interrupted (left {', '.join(st.leftovers)})"
    elif st.revision == head:
        st.state = "current"
    elif known is not None and st.revision not in known:
        st.state, st.detail = "newer", f"revision {st.revision} is unknown to the installed MLflow {_mlflow_version()}"
    else:
        st.state, st.detail = "behind", f"revision {st.revision}, MLflow {_mlflow_version()} expects {head}"
    return st


def integrity(db: Path) -> str:
    """SQLite's own `PRAGMA integrity_check` ('ok' when sound)."""
    try:
        con = sqlite3.connect(_existing_uri(db), uri=True, timeout=30)
        try:
            return "; ".join(r[0] for r in con.execute("PRAGMA integrity_check").fetchall()[:5])
        finally:
            con.close()
    except sqlite3.DatabaseError as err:
        return str(err)


def status(mlruns: Path | str) -> SchemaStatus:
    """The tracking database's schema state, for `sandbox doctor`."""
    state = state_dir(mlruns)
    return inspect(db_path(mlruns), head_revision(state), known=_known_revisions())


# -- the lock -------------------------------------------------------------------
@contextmanager
def schema_lock(state: Path, timeout: float | None = None) -> Iterator[None]:
    """The store's schema lock (`state/tracking.lock`): one creator or migrator at a time, across processes."""
    state.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = state / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        atomic.flock_with_timeout(
            fd,
            LOCK_TIMEOUT_S if timeout is None else timeout,
            f"the tracking database is being created or migrated by another process ({path})",
        )
        yield
    finally:
        os.close(fd)  # releases the lock


# -- creating and migrating -----------------------------------------------------
def ensure_schema(mlruns: Path | str) -> None:
    """Make sure the tracking database exists at MLflow's head revision before MLflow opens it.

    Fast (no lock) when it already is; otherwise creates or migrates it once, under the store's lock.
    Raises StoreError naming the repair for a damaged, half-migrated or newer database.
    """
    db = db_path(mlruns)
    key = str(db)
    if key in _checked:
        return
    state = state_dir(mlruns)
    head = head_revision(state)
    if _revision_fast(db) == head:
        _checked.add(key)
        return
    db.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with schema_lock(state):
        _bring_to_head(db, head)
    _checked.add(key)


def _bring_to_head(db: Path, head: str, repair: bool = False) -> SchemaStatus:
    """Under the lock: create a missing database, migrate one that is behind (on a copy), refuse the rest."""
    st = inspect(db, head, known=_known_revisions())
    if st.state == "current":
        return st
    if st.state == "missing":
        _create(db)
        return inspect(db, head)
    if st.state == "behind" or (repair and st.state == "half-migrated" and st.revision is not None):
        _migrate_copy(db, head, drop_leftovers=repair)
        return inspect(db, head)
    what = {"newer": "was written by a newer MLflow", "damaged": "is damaged", "half-migrated": "is half-migrated"}.get(
        st.state, f"is {st.state}"
    )
    fix = (
        "install the MLflow version that wrote it (see `pip show mlflow`), or restore a backup with "
        "`sandbox restore DIR`"
        if st.state == "newer"
        else REPAIR
    )
    raise StoreError(f"the tracking database {db} {what} ({st.detail})", fix)


def _sidecars(db: Path) -> list[Path]:
    return [db.with_name(db.name + s) for s in ("-journal", "-wal", "-shm")]


def _create(db: Path) -> None:
    """A fresh, fully migrated database built beside `db` and renamed into place (all or nothing)."""
    version = _mlflow_version()
    tmp = db.with_name(f".{db.name}.new-{os.getpid()}")
    for p in [tmp, *_sidecars(tmp)]:
        p.unlink(missing_ok=True)
    try:
        if version in _template:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(_template[version])
        else:
            _migrate_file(tmp, create=True)
            _template[version] = tmp.read_bytes()
        _finish(tmp, db)
    finally:
        tmp.unlink(missing_ok=True)


def _migrate_copy(db: Path, head: str, drop_leftovers: bool = False) -> None:
    """Copy `db` with SQLite's online backup, migrate the copy, rename it over `db`."""
    tmp = db.with_name(f".{db.name}.migrate-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    try:
        backup_sqlite(db, tmp)
        if drop_leftovers:
            con = sqlite3.connect(tmp)
            try:
                for (name,) in con.execute(
                    "SELECT name FROM sqlite_master WHERE type='table' AND name LIKE '\\_alembic\\_tmp\\_%' ESCAPE '\\'"
                ).fetchall():
                    con.execute(f'DROP TABLE "{name}"')
                con.commit()
            finally:
                con.close()
        try:
            _migrate_file(tmp, create=False)
        except Exception as err:  # noqa: BLE001 - any migration failure: the original is untouched, say so
            raise StoreError(
                f"the tracking database {db} could not be migrated to revision {head} "
                f"({type(err).__name__}: {str(err).splitlines()[0][:200]}); it was left as it was",
                REPAIR,
            ) from None
        if inspect(tmp, head).state != "current":
            raise StoreError(
                f"the tracking database {db} did not reach revision {head} when migrated; it was left as it was", REPAIR
            )
        _finish(tmp, db)
    finally:
        for p in [tmp, *_sidecars(tmp)]:
            p.unlink(missing_ok=True)


def _migrate_file(path: Path, create: bool) -> None:
    import logging

    import sqlalchemy
    from mlflow.store.db import utils as dbutils

    quiet = [logging.getLogger(n) for n in ("mlflow.store.db.utils", "alembic.runtime.migration")]
    levels = [lg.level for lg in quiet]
    for lg in quiet:
        lg.setLevel(logging.WARNING)
    engine = sqlalchemy.create_engine(f"sqlite:///{path}", poolclass=sqlalchemy.pool.NullPool)
    try:
        if create:
            dbutils._initialize_tables(engine)
        else:
            dbutils._upgrade_db(engine)
    finally:
        engine.dispose()
        for lg, level in zip(quiet, levels):
            lg.setLevel(level)


def _finish(tmp: Path, db: Path) -> None:
    os.chmod(tmp, 0o600)
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    for p in _sidecars(db):  # a journal left by a crashed writer of the old file must not replay onto the new one
        if p.exists() and not db.exists():
            p.unlink()
    os.replace(tmp, db)


def backup_sqlite(src: Path, dest: Path) -> None:
    """A consistent copy of a live SQLite database (the online backup API), mode 0600."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(fd)
    source = sqlite3.connect(_existing_uri(src), uri=True, timeout=60)
    try:
        target = sqlite3.connect(dest)
        try:
            source.backup(target)
        finally:
            target.close()
    finally:
        source.close()


def repair(mlruns: Path | str) -> SchemaStatus:
    """`doctor --fix`: under the lock, create or migrate; retry a half-migrated database on a copy with
    alembic's leftover temporary tables dropped. The original is replaced only by a copy that reached head."""
    db = db_path(mlruns)
    state = state_dir(mlruns)
    head = head_revision(state)
    with schema_lock(state):
        st = _bring_to_head(db, head, repair=True)
    _checked.discard(str(db))
    return st


# -- the MLflow server's permission database -------------------------------------------------
def ensure_auth_schema(db: Path, state: Path) -> None:
    """Create or migrate `state/mlflow-auth.db` once, under the store's lock, before the server opens it."""
    import sqlalchemy
    from mlflow.server.auth.db import utils as authdb

    with schema_lock(state):
        fresh = not db.exists() or db.stat().st_size == 0
        target = db.with_name(f".{db.name}.new-{os.getpid()}") if fresh else db
        if fresh:
            target.unlink(missing_ok=True)
        engine = sqlalchemy.create_engine(f"sqlite:///{target}", poolclass=sqlalchemy.pool.NullPool)
        try:
            authdb.migrate_if_needed(engine, "head")
        except Exception as err:  # noqa: BLE001
            if fresh:
                target.unlink(missing_ok=True)
            raise StoreError(
                f"the server's permission database {db} could not be migrated "
                f"({type(err).__name__}: {str(err).splitlines()[0][:200]})",
                "stop the server, move the file aside and start it again (the sync recreates the "
                "permissions), or restore a backup with `sandbox restore DIR`",
            ) from None
        finally:
            engine.dispose()
        if fresh:
            _finish(target, db)
        else:
            os.chmod(db, 0o600)
