"""Finding 19: kill -9 in the middle of a job must leave the previous good state answering and verifying.

Each test runs the real command in a subprocess that SIGKILLs itself at a named point
(`SANDBOX_CRASH_AT`, sandbox/crashpoint.py: a no-op in normal runs) between the steps whose order makes the
write crash-safe, then checks from outside: the bank's data, model or index still loads and answers, the
audit chains verify (or `sandbox doctor --fix` repairs the one known case), and the next run of the same job
succeeds. Two cheap kills run by default (an audit append, `fraud import`); the use cases' heavier jobs
(`chat ingest`, `fraud train`, `risk train`) are marked slow.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from cli_forkserver_client import run_cli
from world import APPLICANT

from sandbox import Store, doctor, open_workspace

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct-horse-9"
BANK = "harbour-bank"
KILLED = -signal.SIGKILL


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A store of its own (the jobs below replace this bank's data, model and index)."""
    s = Store(tmp_path_factory.mktemp("crash") / "home")
    s.init("root", PASSWORD)
    s.create_bank(BANK)
    s.add_user("alice", "scientist", PASSWORD, bank=BANK)
    s.add_user("rita", "reviewer", PASSWORD)  # approves the versions the model tests make champions
    return s


@pytest.fixture(scope="module")
def ctx(world):
    return open_workspace(BANK, world.actor("alice"), world)


def _killed_at(store: Store, point: str, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run `sandbox ARGS` as alice; it must die by SIGKILL at `point` (not finish, not fail on its own)."""
    env = dict(
        os.environ,
        SANDBOX_HOME=str(store.home),
        SANDBOX_PASSWORD=PASSWORD,
        SANDBOX_USER="alice",
        SANDBOX_CRASH_AT=point,
    )
    env.pop("SANDBOX_TRACKING_URI", None)
    out = run_cli(env, *args, timeout=timeout)
    assert out.returncode == KILLED, f"expected SIGKILL at {point}, got {out.returncode}: {out.stderr[-800:]}"
    return out


def _audit_ok(store: Store) -> None:
    for log in (store.platform_audit(), store.bank_audit(BANK)):
        result = log.verify()
        assert result.ok, result


# -- default: cheap kills -----------------------------------------------------------------------------
APPEND = (
    "import sys; from sandbox import Store\n"
    "Store(sys.argv[1]).bank_audit(sys.argv[2]).append('fraud.score', 'alice', n=1)\n"
)


def _kill_an_append(store: Store) -> None:
    env = dict(os.environ, SANDBOX_CRASH_AT="audit.before_head")
    out = subprocess.run(
        [sys.executable, "-c", APPEND, str(store.home), BANK],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == KILLED, out.stderr


def test_audit_append_killed_before_its_head_is_rolled_forward_by_the_next_append(world):
    """Killed between the line and the head: the next append used to reuse the head's seq and break the chain
    for good ("sequence N where N+1 was expected"); now it continues after the killed writer's entry."""
    log = world.bank_audit(BANK)
    before = len(log.entries())
    _kill_an_append(world)
    assert "one entry behind" in log.verify().reason
    log.append("fraud.score", "alice", n=2)
    assert log.verify().ok, log.verify()
    assert [e["data"].get("n") for e in log.entries()[before:]] == [1, 2]


def test_audit_head_left_behind_is_repaired_by_doctor_fix_without_rewriting_the_log(world):
    log = world.bank_audit(BANK)
    _kill_an_append(world)
    body = log.path.read_bytes()
    found = [f for f in doctor.check_audit(world) if not f.ok]
    assert found and "doctor --fix" in found[0].fix
    fixed = [f for f in doctor.check_audit(world, fix=True) if not f.ok]
    assert fixed and all(f.fixed for f in fixed)
    assert log.verify().ok and log.path.read_bytes() == body


def test_fraud_import_killed_between_its_two_files_keeps_a_matching_data_set(world, ctx, tmp_path):
    """The Parquet file is renamed in, then the description: killed between the two, the description used to
    name the old data (its hash and row count), so the next `fraud train` recorded the wrong data hash."""
    from usecases import fraud
    from usecases.fraud import data, simulator

    fraud.simulate(ctx, preset="hk", customers=40, days=4, seed=1)
    new = simulator.simulate_hk(customers=30, days=4, seed=9)
    upload = tmp_path / "upload.parquet"
    new.drop(columns=[c for c in ("scenario",) if c in new.columns]).to_parquet(upload, index=False)
    _killed_at(world, "fraud.data.between_files", "fraud", "import", BANK, str(upload))
    df, info = data.load(ctx)
    assert info["data_hash"] == simulator.frame_hash(df) and info["rows"] == len(df)
    _audit_ok(world)
    report = fraud.import_transactions(ctx, upload)  # the same job, run again, completes
    assert report.accepted == len(data.load(ctx)[0])
    assert not list(ctx.path("fraud", "data").glob("*.new"))


# -- slow: the use cases' jobs --------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("point", ["chat.index.before_rename", "chat.index.before_current"])
def test_chat_ingest_killed_keeps_answering_from_the_previous_index(world, ctx, tmp_path, point):
    import usecases.chat as chat

    first = tmp_path / "refunds.md"
    first.write_text("# Refunds\n\nRefunds are paid within 5 business days. Refund canary: HERON-17.\n")
    chat.ingest(ctx, [first])
    version = chat._bank_snapshot(ctx).version
    second = tmp_path / f"travel-{point.rsplit('.', 1)[-1]}.md"
    second.write_text(f"# Travel\n\nOverseas card use needs no notice. Travel canary: OTTER-52 ({point}).\n")
    _killed_at(world, point, "chat", "ingest", BANK, str(second))
    assert chat._bank_snapshot(ctx).version == version
    assert second.name not in [d["name"] for d in chat.documents(ctx)]
    answer = chat.ask(ctx, "How many days until refunds are paid?")
    assert "5" in answer.answer and not answer.refused
    assert all(f.ok for f in doctor.check_checksums(world))
    _audit_ok(world)
    report = chat.ingest(ctx, [second])  # a version folder the killed writer left must not block the next one
    assert [d["name"] for d in report.added] == [second.name]


@pytest.mark.slow
def test_fraud_train_killed_while_saving_the_model_still_scores(world, ctx):
    import pandas as pd
    from lifecycle_util import lenient_gates, make_champion

    from usecases import fraud
    from usecases.fraud import data, model_store

    fraud.simulate(ctx, preset="hk", customers=300, days=40, seed=3)
    lenient_gates(world, BANK, "fraud")
    first = fraud.train(ctx, model="xgboost", rounds=30)
    make_champion(world, ctx, "fraud", first.model_version)
    _killed_at(world, "fraud.model.between_files", "fraud", "train", BANK)
    booster, side = model_store.load(ctx)  # the champion's model on disk and the sidecar that vouches for it
    assert side["sha256"] == model_store.sha256(bytes(booster.save_raw(raw_format="ubj")))
    assert side["run_id"] == first.run_id  # the killed save wrote its own run's folder, never the champion's
    end = data.load(ctx)[0]["timestamp"].max()
    txn = {
        "txn_id": 1,
        "timestamp": (end + pd.Timedelta(minutes=5)).isoformat(),
        "customer_id": 7,
        "amount": 250.0,
        "channel": "fps",
        "payee_id": 4_000_001,
        "device_id": 999_999,
    }
    result = fraud.load_scorer(ctx).score(txn)
    assert 0.0 <= result.score <= 1.0
    _audit_ok(world)
    again = fraud.train(ctx, model="xgboost", rounds=30, register=False)
    assert not ctx.path("fraud", "models", again.run_id, model_store.SIDECAR_FILE + ".new").exists()


@pytest.mark.slow
def test_risk_train_killed_before_switching_models_keeps_the_previous_model(world, ctx):
    from lifecycle_util import make_champion

    import usecases.risk as risk
    from usecases.risk import store as risk_store

    risk.simulate(ctx, applicants=4000, vintages=4, seed=2)
    first = risk.train(ctx, n_estimators=60, learning_rate=0.3)
    make_champion(world, ctx, "risk", first.model_version)
    _killed_at(world, "risk.model.before_current", "risk", "train", BANK)
    assert risk_store.load(ctx).run_id == first.run_id
    assert risk.explain(ctx, [APPLICANT])[0].reasons
    _audit_ok(world)
