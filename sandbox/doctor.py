"""`sandbox doctor`: check a store end to end, and repair what can be repaired without losing evidence.

Checks, each a list of findings (ok or not, what is wrong, how to fix it):

- audit: every chain (the platform's and each bank's) verifies, MACs included. `--fix` never rewrites a log;
  it only rolls a head forward that a writer killed mid-append left one entry behind, when the log's extra
  entry is a valid, keyed continuation (`AuditLog.repair_head`).
- tracking: the MLflow database is at MLflow's head schema revision, passes SQLite's integrity check and has
  no leftovers of an interrupted migration; so is the server's permission database when there is one.
  `--fix` creates a missing database and migrates one that is behind or half-migrated on a copy, under the
  store's lock, swapping it in only when the copy reached the head revision (`trackdb.repair`).
- checksums: every checksum manifest in the banks' workspaces matches its files. A manifest is any JSON file
  there with `files: {relative path: sha256}` (chat index versions, risk models) or `model_file` + `sha256`
  (the fraud detector's sidecar); the platform reads the format, it imports no use case. Not fixable here:
  the fix is to retrain or re-ingest.
- modes: no file or folder under the store's own folders (state/, keys/, workspaces/, mlruns/) is readable or
  writable by group or others. `--fix` chmods them (files 0600 or 0700 when executable, folders 0700).
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import trackdb
from .store import Store
from .tracking import hash_file

STORE_FOLDERS = ("state", "keys", "workspaces", "mlruns")
MANIFEST_MAX_BYTES = 4 << 20
HEX64 = frozenset("0123456789abcdef")


@dataclass
class Finding:
    check: str
    target: str
    ok: bool
    problem: str = ""
    fix: str = ""
    fixed: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Report:
    home: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Healthy now: every finding is fine or was fixed."""
        return all(f.ok or f.fixed for f in self.findings)

    def problems(self) -> list[Finding]:
        return [f for f in self.findings if not f.ok]

    def to_dict(self) -> dict:
        return {"home": self.home, "ok": self.ok, "findings": [f.to_dict() for f in self.findings]}

    def summary(self) -> str:
        counts: dict[str, list[int]] = {}
        for f in self.findings:
            c = counts.setdefault(f.check, [0, 0, 0])
            c[0] += 1
            c[1] += not f.ok
            c[2] += f.fixed
        lines = [
            f"{check}: {n - bad} of {n} ok" + (f", {fixed} fixed" if fixed else "")
            for check, (n, bad, fixed) in counts.items()
        ]
        for f in self.problems():
            state = "FIXED" if f.fixed else "PROBLEM"
            lines.append(f"{state} {f.check} {f.target}: {f.problem}" + ("" if f.fixed else f" -> {f.fix}"))
        lines.append("store is healthy" if self.ok else "store has problems (see above)")
        return "\n".join(lines)


def run(store: Store, fix: bool = False, extra: Iterable[Callable[[Store, bool], list[Finding]]] = ()) -> Report:
    """Every check (and `extra` ones a face adds), repairing what is safe when `fix`."""
    report = Report(str(store.home))
    for check in (check_audit, check_tracking, check_checksums, *extra, check_modes):  # modes last: repairs make files
        report.findings += check(store, fix)
    return report


# -- audit ---------------------------------------------------------------------------------------
HEAD_BEHIND = "head is one entry behind"


def check_audit(store: Store, fix: bool = False) -> list[Finding]:
    logs = [("platform", store.platform_audit())]
    try:
        logs += [(b, store.bank_audit(b)) for b in sorted(store.banks())]
    except Exception as err:  # noqa: BLE001 - a damaged users file is a finding, not a crash
        return [
            Finding(
                "audit",
                "state/store.json",
                False,
                f"cannot list banks: {err}",
                "restore state/store.json from its .bak or a backup",
            )
        ]
    out = []
    for name, log in logs:
        target = f"{name} ({log.path.name})"
        try:
            result = log.verify()
        except Exception as err:  # noqa: BLE001 - e.g. a damaged key: say it, keep checking the rest
            out.append(Finding("audit", target, False, str(err), "restore the keys/ folder or the log from a backup"))
            continue
        if result.ok:
            out.append(Finding("audit", target, True))
            continue
        f = Finding(
            "audit",
            target,
            False,
            f"broken at line {result.first_bad_line}: {result.reason}",
            "restore the log from a backup (`sandbox restore DIR`); doctor never rewrites an audit log",
        )
        if HEAD_BEHIND in result.reason:
            f.fix = "run `sandbox doctor --fix` (rolls the head forward over the verified last entry)"
            repair = getattr(log, "repair_head", None)
            if fix and repair is not None and repair():
                f.fixed = log.verify().ok
        out.append(f)
    return out


# -- tracking --------------------------------------------------------------------------------------
def check_tracking(store: Store, fix: bool = False) -> list[Finding]:
    if os.environ.get("SANDBOX_TRACKING_URI", "").strip():
        return [
            Finding(
                "tracking",
                os.environ["SANDBOX_TRACKING_URI"],
                True,
                "remote tracking server: its database is checked where it runs",
            )
        ]
    out = []
    st = trackdb.status(store.mlruns)
    f = Finding("tracking", "mlruns/mlflow.db", st.ok, "" if st.ok else f"{st.state}: {st.detail}", trackdb.REPAIR)
    if st.state in ("missing", "behind", "half-migrated"):
        f.fix = (
            "run `sandbox doctor --fix` (creates or migrates it on a copy under the store's lock), or restore a backup"
        )
    if not st.ok and fix and st.state in ("missing", "behind", "half-migrated"):
        try:
            after = trackdb.repair(store.mlruns)
            f.fixed = after.ok
            if not f.fixed:
                f.problem += f"; after the repair: {after.state} {after.detail}"
        except Exception as err:  # noqa: BLE001 - report why the repair failed, keep going
            f.problem += f"; the repair failed: {err}"
            f.fix = "restore mlruns/ from a backup (`sandbox restore DIR`)"
    out.append(f)
    if st.state not in ("missing", "damaged"):
        verdict = trackdb.integrity(trackdb.db_path(store.mlruns))
        out.append(
            Finding(
                "tracking",
                "mlruns/mlflow.db integrity",
                verdict == "ok",
                "" if verdict == "ok" else f"SQLite integrity_check: {verdict}",
                "restore mlruns/ from a backup (`sandbox restore DIR`)",
            )
        )
    auth = store.state / "mlflow-auth.db"
    if auth.exists():
        verdict = trackdb.integrity(auth)
        out.append(
            Finding(
                "tracking",
                "state/mlflow-auth.db integrity",
                verdict == "ok",
                "" if verdict == "ok" else f"SQLite integrity_check: {verdict}",
                "stop the server, move the file aside and start it again (the sync recreates the grants)",
            )
        )
    return out


# -- checksum manifests -----------------------------------------------------------------------------
def _sha256(path: Path) -> str:
    return hash_file(path)


def _is_digest(v: object) -> bool:
    return isinstance(v, str) and len(v) == 64 and set(v) <= HEX64


def _manifest_entries(doc: object) -> dict[str, str] | None:
    """{relative path: sha256} a JSON document vouches for, or None if it is not a checksum manifest."""
    if not isinstance(doc, dict):
        return None
    files = doc.get("files")
    if isinstance(files, dict) and files and all(isinstance(k, str) and _is_digest(v) for k, v in files.items()):
        return dict(files)
    if isinstance(doc.get("model_file"), str) and _is_digest(doc.get("sha256")):
        return {doc["model_file"]: doc["sha256"]}
    return None


def manifests(root: Path) -> Iterable[tuple[Path, dict[str, str]]]:
    """Checksum manifests under `root` (temporary and hidden folders skipped)."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.endswith(".json") or name.startswith("."):
                continue
            path = Path(dirpath) / name
            try:
                if path.is_symlink() or path.stat().st_size > MANIFEST_MAX_BYTES:
                    continue
                entries = _manifest_entries(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError, UnicodeDecodeError):
                continue
            if entries:
                yield path, entries


def check_checksums(store: Store, fix: bool = False) -> list[Finding]:
    out = []
    if not store.workspaces.is_dir():
        return out
    for manifest, entries in manifests(store.workspaces):
        rel = manifest.relative_to(store.home).as_posix()
        bad = []
        for name, digest in sorted(entries.items()):
            target = manifest.parent / name
            if Path(name).is_absolute() or ".." in Path(name).parts:
                bad.append(f"{name} (path leaves the folder)")
            elif not target.is_file() or target.is_symlink():
                bad.append(f"{name} (missing)")
            elif _sha256(target) != digest:
                bad.append(f"{name} (altered or damaged)")
        out.append(
            Finding(
                "checksums",
                rel,
                not bad,
                "; ".join(bad),
                "retrain the model or ingest the documents again; or restore the bank's workspace from a backup",
            )
        )
    return out


# -- file modes --------------------------------------------------------------------------------------
def loose_modes(store: Store) -> Iterable[tuple[Path, int]]:
    """(path, mode) of every file or folder in the store's own folders that group or others can reach."""
    for top in STORE_FOLDERS:
        root = store.home / top
        if not root.is_dir() or root.is_symlink():
            continue
        for dirpath, _dirnames, filenames in os.walk(root):
            here = Path(dirpath)
            for p in [here] + [here / n for n in filenames]:
                try:
                    st = os.lstat(p)
                except FileNotFoundError:
                    continue
                if stat.S_ISLNK(st.st_mode) or st.st_uid != os.geteuid():
                    continue
                if st.st_mode & 0o077:
                    yield p, stat.S_IMODE(st.st_mode)


def check_modes(store: Store, fix: bool = False) -> list[Finding]:
    loose = list(loose_modes(store))
    if not loose:
        return [Finding("modes", "state/ keys/ workspaces/ mlruns/", True)]
    out = []
    for p, mode in loose:
        rel = p.relative_to(store.home).as_posix()
        f = Finding(
            "modes",
            rel,
            False,
            f"mode {mode:04o}: group or others can reach it",
            "run `sandbox doctor --fix` (chmod files 0600, folders 0700)",
        )
        if fix:
            try:
                os.chmod(p, mode & 0o700)  # symlinks were skipped above (lstat)
                f.fixed = True
            except OSError as err:
                f.problem += f"; chmod failed: {err}"
        out.append(f)
    return out
