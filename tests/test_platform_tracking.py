"""Runs land in the bank's own experiment with the evidence a reviewer needs; quotas refuse."""

from __future__ import annotations

import json

import pytest

from sandbox import QuotaExceeded, Store, open_workspace, tracking
from sandbox.workspace import flush_tracking


def test_run_is_tagged_with_bank_usecase_actor_seed_data_hash_commit_and_versions(ctx_a):
    import mlflow

    with ctx_a.run("fraud", run_name="tagged", seed=7, data_hash="abc123", params={"max_depth": 6}) as run:
        mlflow.log_metric("average_precision", 0.8)
    flush_tracking()  # compute figures are written by a background writer
    got = ctx_a.get_run(run.info.run_id)
    tags = got.data.tags
    assert tags[tracking.TAG_BANK] == "harbour-bank" and tags[tracking.TAG_USECASE] == "fraud"
    assert tags[tracking.TAG_ACTOR] == "alice" and tags[tracking.TAG_SEED] == "7"
    assert tags[tracking.TAG_DATA_HASH] == "abc123" and tags[tracking.TAG_GIT]
    assert "mlflow" in json.loads(tags[tracking.TAG_VERSIONS])
    assert tags[tracking.TAG_DEVICE] in ("cpu", "cuda")
    assert got.data.params["max_depth"] == "6"
    assert got.data.metrics["compute_wall_seconds"] > 0
    exp = ctx_a.client().get_experiment(got.info.experiment_id)
    assert exp.name == "harbour-bank/fraud"
    assert "/artifacts/harbour-bank/fraud" in exp.artifact_location


def test_usage_is_metered_per_bank_and_device(ctx_a):
    import mlflow

    before = ctx_a.usage()
    with ctx_a.run("risk", run_name="metered"):
        mlflow.log_metric("gini", 0.5)
    after = ctx_a.usage()
    assert after["runs"] == before["runs"] + 1
    assert after["wall_s"] >= before["wall_s"]
    assert set(after["by_device"]) <= {"cpu", "cuda"}


def test_job_over_quota_is_refused_before_it_starts(tmp_path):
    s = Store(tmp_path)
    s.init("root", "password-123")
    s.create_bank("tiny-bank")
    sci = s.add_user("tina", "scientist", "password-123", bank="tiny-bank")
    s.set_quota("tiny-bank", 0)
    ctx = open_workspace("tiny-bank", sci, s)
    with pytest.raises(QuotaExceeded, match="quota set"):
        with ctx.run("fraud"):
            raise AssertionError("must not start")
    assert ctx.usage()["runs"] == 0
    assert any(e["event"] == "quota.refused" for e in ctx.audit_entries())


def test_data_hash_is_stable_and_content_sensitive():
    import pandas as pd

    a = pd.DataFrame({"x": [1, 2, 3], "y": ["a", "b", "c"]})
    assert tracking.hash_frame(a) == tracking.hash_frame(a.copy())
    assert tracking.hash_frame(a) != tracking.hash_frame(a.assign(x=[1, 2, 4]))


def test_stock_mlflow_client_opens_the_store(store, ctx_a):
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{store.mlruns / 'mlflow.db'}"
    names = {e.name for e in MlflowClient(uri).search_experiments()}
    assert "harbour-bank/fraud" in names
