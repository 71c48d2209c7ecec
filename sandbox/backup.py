"""`sandbox backup DIR` / `sandbox restore DIR`: a consistent copy of a store, and a verified way back.

What a backup holds, and how each part is kept consistent while the store is in use:

- `mlruns/mlflow.db` and `state/mlflow-auth.db`: SQLite's online backup API (a transactionally consistent
  snapshot, whatever other processes write meanwhile), taken under the store's schema lock so no migration
  runs underneath.
- `state/`: under the store's lock (`state/store.lock`, which users, banks and quotas are written under); each
  audit log is copied together with its head under that log's own append lock, so a copy never holds a log
  and a head from different moments.
- `keys/` (the audit key: the logs cannot be verified without it, so guard the backup like the store),
  `workspaces/` and `mlruns/artifacts/`: every file is replaced by rename when written, so each is copied
  whole; the tree is rescanned until a pass finds nothing changed, so a pointer (a chat index's CURRENT, a
  model's current.json) never names a version that the copy lacks.
- `MANIFEST.json`: every file's size, mode and SHA-256. The backup is built in a hidden folder beside DIR and
  renamed to DIR when complete: a crash leaves no half backup under DIR's name.

`restore` verifies every checksum first, refuses a target store that holds anything unless `force`, stages
the copy inside the target home, and swaps each top folder in by rename (the previous ones are removed only
after every swap succeeded).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import stat
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

from . import atomic, trackdb
from .errors import InvalidInput, StoreError
from .store import Store, _flock_with_timeout
from .tracking import hash_file

FORMAT = "sandbox-backup/1"
MANIFEST = "MANIFEST.json"
TOP = ("state", "keys", "workspaces", "mlruns")
SQLITE_FILES = ("mlruns/mlflow.db", "state/mlflow-auth.db")
SKIP_SUFFIXES = ("-journal", "-wal", "-shm", ".lock")
SKIP_FILES = ("state/mlflow-server.json",)  # a running server's pid and port: not part of what is restored
MAX_PASSES = 5


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _sha256(path: Path) -> str:
    return hash_file(path)


def _skip(rel: str) -> bool:
    name = rel.rsplit("/", 1)[-1]
    return (
        rel in SQLITE_FILES
        or rel in SKIP_FILES
        or name.endswith(SKIP_SUFFIXES)
        or name.startswith((".mlflow.db.", ".mlflow-auth.db."))
    )


def _walk(root: Path, top: str) -> dict[str, tuple[int, int, int]]:
    """{relative path: (inode, size, mtime_ns)} of the regular files under home/top (symlinks never followed)."""
    out = {}
    base = root / top
    if not base.is_dir() or base.is_symlink():
        return out
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = [d for d in dirnames if not (Path(dirpath) / d).is_symlink()]
        for name in filenames:
            p = Path(dirpath) / name
            rel = p.relative_to(root).as_posix()
            if _skip(rel):
                continue
            try:
                st = os.lstat(p)
            except FileNotFoundError:
                continue
            if stat.S_ISREG(st.st_mode):
                out[rel] = (st.st_ino, st.st_size, st.st_mtime_ns)
    return out


def _copy_file(src: Path, dest: Path) -> bool:
    """Copy one regular file by descriptor (no symlink followed), mode kept to the owner's bits. False if it vanished."""
    try:
        fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW)
    except (FileNotFoundError, OSError):
        return False
    with os.fdopen(fd, "rb") as fin:
        mode = stat.S_IMODE(os.fstat(fin.fileno()).st_mode) & 0o700 or 0o600
        dest.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with open(os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as fout:
            shutil.copyfileobj(fin, fout, 1 << 20)
    os.chmod(dest, mode)
    return True


@contextmanager
def _flock(path: Path, timeout: float | None = None) -> Iterator[None]:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if timeout is None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        else:
            _flock_with_timeout(fd, path)
        yield
    finally:
        os.close(fd)


@contextmanager
def _store_locks(store: Store) -> Iterator[None]:
    """The store's lock (users, banks, quotas) and its schema lock (no migration underneath)."""
    with ExitStack() as stack:
        stack.enter_context(_flock(store.state / "store.lock", timeout=60))
        stack.enter_context(trackdb.schema_lock(store.state))
        yield


def _copy_state(store: Store, stage: Path) -> None:
    """state/ under the store's lock; each audit log with its head under the log's append lock."""
    audit_dir = store.state / "audit"
    for rel in sorted(_walk(store.home, "state")):
        src = store.home / rel
        if src.parent == audit_dir and src.name.endswith(".jsonl"):
            head = src.with_name(src.name + ".head")
            with _flock(head):
                _copy_file(src, stage / rel)
                if head.exists():
                    _copy_file(head, stage / (rel + ".head"))
        elif src.parent == audit_dir and src.name.endswith(".jsonl.head"):
            continue  # copied with its log
        else:
            _copy_file(src, stage / rel)


def _copy_tree(store: Store, stage: Path, top: str) -> None:
    """Copy home/top, then rescan and recopy whatever changed, until a pass finds nothing new."""
    copied: dict[str, tuple[int, int, int]] = {}
    for _ in range(MAX_PASSES):
        now = _walk(store.home, top)
        changed = [rel for rel, sig in now.items() if copied.get(rel) != sig]
        if not changed:
            return
        for rel in sorted(changed):
            if _copy_file(store.home / rel, stage / rel):
                copied[rel] = now[rel]
    # still changing after MAX_PASSES: the copy holds whole files, each from its own moment


def _manifest(stage: Path) -> dict:
    files = {}
    for dirpath, _dirs, filenames in os.walk(stage):
        for name in filenames:
            p = Path(dirpath) / name
            rel = p.relative_to(stage).as_posix()
            if rel == MANIFEST:
                continue
            st = p.stat()
            files[rel] = {"sha256": _sha256(p), "size": st.st_size, "mode": f"{stat.S_IMODE(st.st_mode):04o}"}
    return dict(sorted(files.items()))


def backup(store: Store, dest: Path | str, by: str = "admin") -> dict:
    """Write a consistent, checksummed copy of `store` to `dest` (which must not exist or be empty)."""
    store.banks()  # a missing or unreadable store fails here, with its fix
    dest = Path(dest).expanduser().absolute()
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise InvalidInput("DIR", f"{dest} exists and is not an empty folder", "give a new folder for the backup")
    home = store.home.resolve()
    if (
        dest.resolve() == home
        or dest.resolve().is_relative_to(home / "state")
        or any(dest.resolve().is_relative_to(home / t) for t in TOP)
    ):
        raise InvalidInput("DIR", f"{dest} is inside the store", "back up to a folder outside the store's folders")
    dest.parent.mkdir(parents=True, exist_ok=True)
    stage = dest.parent / f".{dest.name}.partial-{os.getpid()}"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(mode=0o700)
    t0 = time.perf_counter()
    try:
        with _store_locks(store):
            _copy_state(store, stage)
            for rel in SQLITE_FILES:
                if (store.home / rel).exists():
                    trackdb.backup_sqlite(store.home / rel, stage / rel)
            mlflow_version = _mlflow_version()
        for top in ("keys", "workspaces", "mlruns"):
            _copy_tree(store, stage, top)
        for d, _dirs, _files in os.walk(stage):
            os.chmod(d, 0o700)
        files = _manifest(stage)
        manifest = {
            "format": FORMAT,
            "created": _now(),
            "home": str(store.home),
            "by": by,
            "mlflow": mlflow_version,
            "files": files,
        }
        atomic.write_json(stage / MANIFEST, manifest, mode=0o600)
        if dest.exists():
            dest.rmdir()
        os.rename(stage, dest)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    summary = {
        "dir": str(dest),
        "files": len(files),
        "bytes": sum(f["size"] for f in files.values()),
        "wall_s": round(time.perf_counter() - t0, 3),
    }
    store.platform_audit().append("store.backup", by, dir=str(dest), files=summary["files"], bytes=summary["bytes"])
    return summary


def _mlflow_version() -> str | None:
    try:
        from importlib.metadata import version

        return version("mlflow")
    except Exception:  # noqa: BLE001 - informative only
        return None


def verify(src: Path | str) -> dict:
    """Check a backup against its manifest; raise StoreError naming the first bad file."""
    src = Path(src).expanduser().absolute()
    try:
        manifest = json.loads((src / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StoreError(
            f"{src} has no {MANIFEST}: it is not a sandbox backup", "give the folder `sandbox backup` wrote"
        ) from None
    except (ValueError, UnicodeDecodeError):
        raise StoreError(f"{src / MANIFEST} is damaged", "use another backup") from None
    if (
        not isinstance(manifest, dict)
        or manifest.get("format") != FORMAT
        or not isinstance(manifest.get("files"), dict)
    ):
        raise StoreError(f"{src / MANIFEST} is not a {FORMAT} manifest", "give the folder `sandbox backup` wrote")
    for rel, info in manifest["files"].items():
        parts = Path(rel).parts
        if Path(rel).is_absolute() or ".." in parts or not parts or parts[0] not in TOP:
            raise StoreError(f"the backup's manifest names {rel!r}, outside a store's folders", "use another backup")
        p = src / rel
        if p.is_symlink() or not p.is_file():
            raise StoreError(f"backup file {rel} is missing", "use another backup")
        if _sha256(p) != info.get("sha256"):
            raise StoreError(f"backup file {rel} fails its checksum (altered or damaged)", "use another backup")
    listed = set(manifest["files"])
    for dirpath, _dirs, filenames in os.walk(src):
        for name in filenames:
            rel = (Path(dirpath) / name).relative_to(src).as_posix()
            if rel != MANIFEST and rel not in listed:
                raise StoreError(
                    f"backup file {rel} is not in the manifest (added after the backup)", "use another backup"
                )
    return manifest


def _occupied(home: Path) -> list[str]:
    return [t for t in TOP if (home / t).is_dir() and any((home / t).iterdir())]


def restore(home: Path | str, src: Path | str, force: bool = False, by: str = "(restore)") -> dict:
    """Verify `src`, then replace the store folders of `home` with it (refused over a non-empty store unless `force`)."""
    home = Path(home).expanduser().resolve()
    src = Path(src).expanduser().absolute()
    manifest = verify(src)
    occupied = _occupied(home)
    if occupied and not force:
        raise StoreError(
            f"the target store {home} is not empty ({', '.join(occupied)})",
            "restore into a new --home, or pass --force to replace it (its current files are discarded)",
        )
    home.mkdir(parents=True, exist_ok=True)
    stage = home / f".restore-{os.getpid()}"
    old = home / f".restore-old-{os.getpid()}"
    for p in (stage, old):
        shutil.rmtree(p, ignore_errors=True)
    stage.mkdir(mode=0o700)
    t0 = time.perf_counter()
    try:
        for rel in manifest["files"]:
            _copy_file(src / rel, stage / rel)
            if _sha256(stage / rel) != manifest["files"][rel]["sha256"]:
                raise StoreError(f"backup file {rel} changed while it was restored", "retry; nothing was replaced")
        for d, _dirs, _files in os.walk(stage):
            os.chmod(d, 0o700)
        old.mkdir(mode=0o700)
        lock = ExitStack()
        if (home / "state").is_dir():  # keep the running store's writers out while the folders swap
            lock.enter_context(_store_locks(Store(home)))
        with lock:
            for top in TOP:
                if (home / top).exists():
                    os.rename(home / top, old / top)
                if (stage / top).exists():
                    os.rename(stage / top, home / top)
    except BaseException:
        for top in TOP:  # undo: the restored folder back to the stage, the previous one back in place
            if (old / top).exists():
                if (home / top).exists():
                    os.rename(home / top, stage / top)
                os.rename(old / top, home / top)
        shutil.rmtree(stage, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
        raise
    shutil.rmtree(stage, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)
    store = Store(home)
    trackdb._checked.discard(str(trackdb.db_path(store.mlruns)))
    summary = {
        "home": str(home),
        "from": str(src),
        "files": len(manifest["files"]),
        "backup_created": manifest.get("created"),
        "wall_s": round(time.perf_counter() - t0, 3),
    }
    if store.exists:
        store.platform_audit().append(
            "store.restore", by, source=str(src), backup_created=manifest.get("created"), files=len(manifest["files"])
        )
    return summary
