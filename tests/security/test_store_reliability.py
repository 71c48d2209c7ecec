"""Finding 18: concurrent first use bricked the store; a damaged store needs a repair path, not a traceback.

Replays: eight processes opening the tracking store of a new store at once (MLflow's lazy schema migration
raced itself: `duplicate column name: step`, `table _alembic_tmp_latest_metrics already exists`, and left the
database half-migrated); a half-migrated or damaged database (one line naming `sandbox doctor --fix` or
restore); `sandbox doctor` (audit chains, tracking schema, checksums, file modes) and `backup` / `restore`.
"""

from __future__ import annotations

import json
import os
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_forkserver_client import run_cli

from sandbox import Store, doctor, open_workspace, trackdb
from sandbox import backup as backup_mod
from sandbox.errors import StoreError

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct-horse-9"
BANK = "harbour-bank"
OLDER = "75868b020152"  # the revision before MLflow 3.17's head (dc11669786a5): its last migration adds tables

OPEN_TRACKING = (
    "import sys; from pathlib import Path; from sandbox import tracking\n"
    "c = tracking.client(Path(sys.argv[1])); c.search_experiments(); print('ok')\n"
)


def _store(home: Path) -> Store:
    s = Store(home)
    s.init("root", PASSWORD)
    s.create_bank(BANK)
    s.add_user("alice", "scientist", PASSWORD, bank=BANK)
    return s


def _cli(home: Path, user: str, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ, SANDBOX_HOME=str(home), SANDBOX_PASSWORD=PASSWORD, SANDBOX_USER=user)
    env.pop("SANDBOX_TRACKING_URI", None)
    return run_cli(env, *args, timeout=timeout)


def _forget(store: Store) -> None:
    """This process checked the database once; a test that damages it afterwards must let it look again."""
    trackdb._checked.discard(str(trackdb.db_path(store.mlruns)))


def _revision(db: Path) -> str:
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    finally:
        con.close()


@pytest.fixture(scope="module")
def older_db(tmp_path_factory) -> Path:
    """A tracking database one MLflow release behind (built with MLflow's own migrations, up to OLDER)."""
    import sqlalchemy
    from alembic import command
    from mlflow.store.db.utils import _get_alembic_config
    from mlflow.store.tracking.dbmodels.initial_models import Base as InitialBase

    path = tmp_path_factory.mktemp("older") / "mlflow.db"
    engine = sqlalchemy.create_engine(f"sqlite:///{path}", poolclass=sqlalchemy.pool.NullPool)
    InitialBase.metadata.create_all(engine)
    config = _get_alembic_config(str(engine.url))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, OLDER)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE sandbox_marker (x TEXT)")
        conn.exec_driver_sql("INSERT INTO sandbox_marker VALUES ('kept')")
    engine.dispose()
    assert _revision(path) == OLDER
    return path


# -- concurrent first use ------------------------------------------------------------------------------
def test_eight_processes_opening_a_new_store_at_once_all_succeed(tmp_path):
    """The replay: no init-time database (a store from before this fix, or one whose database was removed),
    eight processes open the tracking store at the same moment. All succeed; the schema is at MLflow's head."""
    home = tmp_path / "home"
    for d in ("state", "mlruns"):
        (home / d).mkdir(parents=True)
    t0 = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_TRACKING, str(home / "mlruns")],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    elapsed = time.perf_counter() - t0
    failures = [err[-600:] for p, (_out, err) in zip(procs, outs) if p.returncode != 0]
    assert not failures, failures
    assert all(out.strip() == "ok" for out, _err in outs)
    status = trackdb.inspect(home / "mlruns" / "mlflow.db", trackdb.head_revision(home / "state"))
    assert status.state == "current", status
    print(f"8 processes on a fresh store: all ok in {elapsed:.1f} s")


def test_init_creates_the_tracking_schema_once(tmp_path):
    s = _store(tmp_path / "home")
    db = trackdb.db_path(s.mlruns)
    assert trackdb.inspect(db, trackdb.head_revision(s.state)).state == "current"
    assert oct(db.stat().st_mode & 0o777) == oct(0o600)


def test_schema_check_is_cheap_when_current(tmp_path):
    """The per-command check reads one row with sqlite3 (no lock, no alembic): far cheaper than MLflow computing
    its head revision, which MLflow itself does on every store it builds."""
    from mlflow.store.db.utils import _get_latest_schema_revision

    s = _store(tmp_path / "home")
    fast = []
    for _ in range(30):
        _forget(s)
        t0 = time.perf_counter()
        trackdb.ensure_schema(s.mlruns)
        fast.append(time.perf_counter() - t0)
    heads = []
    for _ in range(5):
        t0 = time.perf_counter()
        _get_latest_schema_revision()
        heads.append(time.perf_counter() - t0)
    fast_ms, head_ms = statistics.median(fast) * 1e3, statistics.median(heads) * 1e3
    print(f"schema check: {fast_ms:.2f} ms a command (MLflow's head computation: {head_ms:.1f} ms)")
    assert fast_ms < head_ms / 2, (fast_ms, head_ms)


def test_behind_schema_is_migrated_on_a_copy_and_keeps_its_data(tmp_path, older_db):
    s = _store(tmp_path / "home")
    db = trackdb.db_path(s.mlruns)
    trackdb.backup_sqlite(older_db, db)
    _forget(s)
    assert trackdb.status(s.mlruns).state == "behind"
    trackdb.ensure_schema(s.mlruns)
    assert _revision(db) == trackdb.head_revision(s.state)
    con = sqlite3.connect(db)
    assert con.execute("SELECT x FROM sandbox_marker").fetchall() == [("kept",)]
    con.close()
    ctx = open_workspace(BANK, s.actor("alice"), s)
    assert ctx.runs() == []  # MLflow opens it without complaint


# -- a damaged or half-migrated database -------------------------------------------------------------
def _half_migrated(s: Store) -> Path:
    """What the race (or a crash mid-migration) leaves: the last migration's tables exist, the stamp is behind."""
    db = trackdb.db_path(s.mlruns)
    con = sqlite3.connect(db)
    con.execute("UPDATE alembic_version SET version_num = ?", (OLDER,))
    con.commit()
    con.close()
    _forget(s)
    return db


def test_half_migrated_database_is_one_line_naming_the_repair(tmp_path):
    s = _store(tmp_path / "home")
    db = _half_migrated(s)
    before = db.read_bytes()
    with pytest.raises(StoreError) as err:
        trackdb.ensure_schema(s.mlruns)
    assert "sandbox doctor --fix" in str(err.value) and "sandbox restore" in str(err.value)
    assert db.read_bytes() == before  # the failed migration ran on a copy
    out = _cli(s.home, "alice", "runs", "list", BANK)
    assert out.returncode != 0
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "sandbox doctor" in out.stderr


def test_damaged_database_is_one_line(tmp_path):
    s = _store(tmp_path / "home")
    trackdb.db_path(s.mlruns).write_bytes(b"this is not a database" * 100)
    _forget(s)
    with pytest.raises(StoreError, match="damaged"):
        trackdb.ensure_schema(s.mlruns)
    report = doctor.run(s)
    assert not report.ok and any(f.check == "tracking" and "damaged" in f.problem for f in report.problems())


def test_doctor_fix_repairs_an_interrupted_migration(tmp_path, older_db):
    """A migration killed inside a batch step leaves `_alembic_tmp_<table>` behind and the stamp one step back:
    refused until `doctor --fix` drops the leftover and migrates a copy."""
    s = _store(tmp_path / "home")
    db = trackdb.db_path(s.mlruns)
    trackdb.backup_sqlite(older_db, db)
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE _alembic_tmp_jobs (id TEXT)")
    con.commit()
    con.close()
    _forget(s)
    with pytest.raises(StoreError, match="half-migrated"):
        trackdb.ensure_schema(s.mlruns)
    report = doctor.run(s)
    assert not report.ok
    fixed = doctor.run(s, fix=True)
    assert fixed.ok, fixed.summary()
    assert doctor.run(s).ok
    assert trackdb.status(s.mlruns).state == "current"


def test_doctor_fix_cannot_repair_a_raced_migration_and_says_restore(tmp_path):
    s = _store(tmp_path / "home")
    _half_migrated(s)
    report = doctor.run(s, fix=True)
    bad = [f for f in report.problems() if f.check == "tracking" and not f.fixed]
    assert bad and "restore" in bad[0].fix
    assert not report.ok


# -- doctor: audit, checksums, exit codes ------------------------------------------------------------
def test_doctor_reports_a_broken_audit_chain_and_never_rewrites_it(tmp_path):
    s = _store(tmp_path / "home")
    log = s.bank_audit(BANK)
    for i in range(3):
        log.append("fraud.score", "alice", n=i)
    lines = log.path.read_text().splitlines()
    entry = json.loads(lines[1])
    entry["actor"] = "mallory"
    lines[1] = json.dumps(entry, sort_keys=True, separators=(",", ":"))
    log.path.write_text("\n".join(lines) + "\n")
    tampered = log.path.read_bytes()
    report = doctor.run(s, fix=True)
    bad = [f for f in report.problems() if f.check == "audit"]
    assert bad and BANK in bad[0].target and not bad[0].fixed
    assert log.path.read_bytes() == tampered
    out = _cli(s.home, "root", "doctor", "--json")
    assert out.returncode == 1, out.stderr
    data = json.loads(out.stdout)
    assert data["ok"] is False and any(f["check"] == "audit" and not f["ok"] for f in data["findings"])


def test_doctor_catches_an_altered_index_or_model_file(tmp_path):
    s = _store(tmp_path / "home")
    ctx = open_workspace(BANK, s.actor("alice"), s)
    folder = ctx.path("chat", "index", "v000001", create=True)
    (folder / "chunks.parquet").write_bytes(b"chunk text")
    import hashlib

    manifest = {"version": "v000001", "files": {"chunks.parquet": hashlib.sha256(b"chunk text").hexdigest()}}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    assert [f.ok for f in doctor.check_checksums(s)] == [True]
    (folder / "chunks.parquet").write_bytes(b"chunk text, edited")
    bad = [f for f in doctor.check_checksums(s) if not f.ok]
    assert bad and "chunks.parquet (altered or damaged)" in bad[0].problem


def test_doctor_is_for_admins_only(tmp_path):
    s = _store(tmp_path / "home")
    out = _cli(s.home, "alice", "doctor")
    assert out.returncode == 3 and "may not" in out.stderr


# -- backup and restore ---------------------------------------------------------------------------------
def _world(tmp_path: Path) -> tuple[Store, str]:
    import mlflow

    s = _store(tmp_path / "home")
    ctx = open_workspace(BANK, s.actor("alice"), s)
    with ctx.run("fraud", run_name="to-back-up") as run:
        mlflow.log_metric("average_precision", 0.42)
    (ctx.path("fraud", "data", "note.txt", create=True)).write_text("bank data")
    return s, run.info.run_id


def test_backup_and_restore_round_trip(tmp_path):
    s, run_id = _world(tmp_path)
    out = backup_mod.backup(s, tmp_path / "bk", by="root")
    manifest = json.loads((tmp_path / "bk" / "MANIFEST.json").read_text())
    assert {
        "mlruns/mlflow.db",
        "state/store.json",
        f"state/audit/{BANK}.jsonl",
        "keys/audit.key",
        f"workspaces/{BANK}/fraud/data/note.txt",
    } <= set(manifest["files"])
    assert all(len(f["sha256"]) == 64 for f in manifest["files"].values()) and out["files"] == len(manifest["files"])
    assert not any(os.stat(p).st_mode & 0o077 for p in (tmp_path / "bk").rglob("*"))
    restored = backup_mod.restore(tmp_path / "home2", tmp_path / "bk")
    s2 = Store(tmp_path / "home2")
    assert restored["files"] == len(manifest["files"])
    assert out["wall_s"] >= 0 and restored["wall_s"] >= 0 and "seconds" not in out | restored  # docs/results.md
    assert s2.bank_audit(BANK).verify().ok and s2.platform_audit().verify().ok
    ctx2 = open_workspace(BANK, s2.authenticate("alice", PASSWORD), s2)
    assert ctx2.get_run(run_id).data.metrics["average_precision"] == 0.42
    assert (ctx2.path("fraud", "data", "note.txt")).read_text() == "bank data"
    assert doctor.run(s2).ok, doctor.run(s2).summary()


def test_restore_refuses_a_non_empty_store_without_force(tmp_path):
    s, _run_id = _world(tmp_path)
    backup_mod.backup(s, tmp_path / "bk")
    s.bank_audit(BANK).append("fraud.score", "alice", n=99)
    with pytest.raises(StoreError, match="not empty"):
        backup_mod.restore(s.home, tmp_path / "bk")
    backup_mod.restore(s.home, tmp_path / "bk", force=True, by="root")
    events = [e["event"] for e in s.bank_audit(BANK).entries()]
    assert events[-1] != "fraud.score"  # the entry written after the backup is gone with the rest
    assert s.platform_audit().entries()[-1]["event"] == "store.restore"
    assert s.platform_audit().verify().ok


def test_restore_refuses_a_tampered_backup_and_changes_nothing(tmp_path):
    s, _run_id = _world(tmp_path)
    backup_mod.backup(s, tmp_path / "bk")
    target = tmp_path / "bk" / "workspaces" / BANK / "fraud" / "data" / "note.txt"
    target.write_text("planted")
    with pytest.raises(StoreError, match="fails its checksum"):
        backup_mod.restore(tmp_path / "home2", tmp_path / "bk")
    assert not (tmp_path / "home2" / "state").exists()


def test_cli_backup_restore(tmp_path):
    s, _run_id = _world(tmp_path)
    out = _cli(s.home, "root", "backup", str(tmp_path / "bk"), "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["files"] > 5
    again = _cli(s.home, "root", "restore", str(tmp_path / "bk"))
    assert again.returncode != 0 and "--force" in again.stderr and "Traceback" not in again.stderr
