"""Compute is the centre's currency: every kind of work is metered against the bank and the user, and refused
over quota with the usage and the limit in the message (issue 18)."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest
from cli_forkserver_client import run_cli

from sandbox import AccessDenied, QuotaExceeded, Store, open_workspace
from sandbox.compute import metered

ROOT = Path(__file__).resolve().parent.parent
PW = "password-123"


@pytest.fixture
def small(tmp_path):
    s = Store(tmp_path)
    s.init("root", PW)
    s.create_bank("tiny-bank")
    s.create_bank("other-bank")
    s.add_user("tina", "scientist", PW, bank="tiny-bank")
    s.add_user("tom", "scientist", PW, bank="tiny-bank")
    s.add_user("rita", "reviewer", PW)
    return s


def test_work_outside_runs_is_metered_per_kind_and_user(small):
    from usecases import fraud, risk

    tina = open_workspace("tiny-bank", small.actor("tina"), small)
    tom = open_workspace("tiny-bank", small.actor("tom"), small)
    fraud.simulate(tina, preset="handbook", customers=60, days=14, seed=1)
    risk.simulate(tom, applicants=1000, vintages=3, seed=1)
    u = tina.usage()
    assert u["runs"] == 0 and u["jobs"] == 2
    assert set(u["by_kind"]) == {"simulate"} and set(u["by_usecase"]) == {"fraud", "risk"}
    assert set(u["by_user"]) == {"tina", "tom"} and u["wall_s"] == pytest.approx(sum(u["by_user"].values()), abs=0.01)
    assert u["gpu_s"] == 0.0 or tina.device == "cuda"
    rows = tina.usage_records()
    assert [(r["user"], r["usecase"], r["kind"]) for r in rows] == [
        ("tina", "fraud", "simulate"),
        ("tom", "risk", "simulate"),
    ]


def test_work_over_quota_is_refused_before_it_starts_naming_usage_and_limit(small):
    from usecases import fraud

    tina = open_workspace("tiny-bank", small.actor("tina"), small)
    small.set_quota("tiny-bank", 0)
    with pytest.raises(QuotaExceeded, match=r"used 0\.0 of its 0\.0 compute seconds.*quota set"):
        fraud.simulate(tina, preset="handbook", customers=60, days=14, seed=1)
    assert not tina.path("fraud").exists() or not any(tina.path("fraud").iterdir())  # nothing was done
    assert tina.usage()["jobs"] == 0
    assert any(e["event"] == "quota.refused" for e in tina.audit_entries())


def test_nested_work_counts_once_and_a_refusal_at_the_door_not_at_all(small):
    calls = []

    @metered("risk", "explain")
    def inner(ctx):
        calls.append("inner")

    @metered("risk", "evaluate")
    def outer(ctx):
        inner(ctx)

    @metered("risk", "explain")
    def forbidden(ctx):
        ctx.require("risk.explain")

    tina = open_workspace("tiny-bank", small.actor("tina"), small)
    outer(tina)
    assert calls == ["inner"] and tina.usage()["by_kind"] == {"evaluate": pytest.approx(tina.usage()["wall_s"])}
    with pytest.raises(AccessDenied):
        forbidden(open_workspace("tiny-bank", small.actor("rita"), small))
    assert tina.usage()["jobs"] == 1


def test_usage_export_is_csv_per_bank_and_period_for_admins_and_reviewers(small):
    from usecases import fraud

    fraud.simulate(
        open_workspace("tiny-bank", small.actor("tina"), small), preset="handbook", customers=60, days=14, seed=1
    )
    env = dict(os.environ, SANDBOX_HOME=str(small.home), SANDBOX_PASSWORD=PW)

    def cli(user, *args):
        return run_cli(env, "--user", user, "quota", *args, timeout=120)

    out = cli("rita", "export", "--since", "2000-01-01")
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert [(r["bank"], r["user"], r["kind"]) for r in rows] == [("tiny-bank", "tina", "simulate")]
    assert float(rows[0]["wall_s"]) > 0 and len(rows[0]["hash"]) == 64
    assert cli("root", "export", "--until", "2000-01-01", "--json").stdout.strip() == "[]"
    bad = cli("root", "export", "--since", "last week")
    assert bad.returncode != 0 and "--since" in bad.stderr and "Traceback" not in bad.stderr
    shown = json.loads(cli("root", "show", "--json").stdout)
    assert {r["bank"]: r["jobs"] for r in shown} == {"other-bank": 0, "tiny-bank": 1}


def test_a_long_lived_scorer_is_metered_in_batches_and_stops_over_quota(small):
    from sandbox.compute import Meter
    from usecases.fraud.scorer import ScoreMeter

    tina = open_workspace("tiny-bank", small.actor("tina"), small)
    meter = ScoreMeter(tina)
    for _ in range(3):
        meter.add(Meter(wall_s=0.001, cpu_s=0.001))
    assert tina.usage()["jobs"] == 0  # not one ledger append per transaction
    meter.flush()
    rows = tina.usage_records()
    assert [(r["kind"], r["units"], r["user"]) for r in rows] == [("score", 3, "tina")]
    small.set_quota("tiny-bank", 0)
    meter.add(Meter(wall_s=0.001, cpu_s=0.001))
    meter.flush()
    assert isinstance(meter.over, QuotaExceeded)  # the scorer raises it on the next transaction
    with pytest.raises(QuotaExceeded):
        meter.check()
