"""Findings 2 and 5: evidence a scientist cannot forge with her own MLflow credentials.

Review decisions live in the bank's audit chain (`sandbox.ledger`, written only by `ctx.sign_off`); MLflow's
`review.*` tags are a mirror that, when it disagrees, is shown as tampered. The bank of a run is the bank whose
experiment holds it, and who ran it is the sandbox's record of `ctx.run`, never the `sandbox.bank` /
`sandbox.actor` tags. Each test performs the attack with a plain `MlflowClient` on the store (what a scientist
does with her MLflow token in server mode; the last test does exactly that against a real server).
"""

from __future__ import annotations

import json
import time

import pytest
from click.testing import CliRunner

from sandbox import InvalidInput, NotFound, open_workspace, tracking
from sandbox import ledger as ledger_mod

BANK_A, BANK_B = "harbour-bank", "peak-bank"
PASSWORD = "correct-horse-9"  # tests/conftest.py


def mlflow_client(store):
    """What alice holds: an MLflow client of the tracking store, no sandbox in between."""
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=tracking.tracking_uri(store.mlruns))


def alices_run(ctx_a, name: str) -> str:
    import mlflow

    with ctx_a.run("risk", run_name=name) as run:
        mlflow.log_metric("gini", 0.31)
    return run.info.run_id


def cli(home, user: str, *args: str):
    """The `sandbox` command in-process, as `user`."""
    from apps.cli import cli as sandbox_cli

    env = {"SANDBOX_HOME": str(home), "SANDBOX_USER": user, "SANDBOX_PASSWORD": PASSWORD, "SANDBOX_TRACKING_URI": None}
    return CliRunner().invoke(sandbox_cli, list(args), env=env, catch_exceptions=False)


def listed(home, user: str, bank: str) -> dict[str, dict]:
    out = cli(home, user, "runs", "list", bank, "--json")
    assert out.exit_code == 0, out.output
    return {r["run_id"]: r for r in json.loads(out.stdout)}


# -- finding 2: self-approval through the review tags --------------------------------------------
def test_scientist_setting_review_tags_on_her_own_run_is_not_an_approval(store, home, ctx_a, review_a):
    run_id = alices_run(ctx_a, "self-approved")
    client = mlflow_client(store)
    client.set_tag(run_id, "review.status", "approved")
    client.set_tag(run_id, "review.by", "rita")
    client.set_tag(run_id, "review.comment", "looks great")

    shown = review_a.summary(review_a.get_run(run_id))
    assert shown["review"]["status"] == "" and shown["review"]["by"] == ""
    assert shown["review"]["source"] == "ledger" and shown["review"]["mirror"] == "tampered"
    assert shown["review"]["mirror_claims"] == {"status": "approved", "by": "rita"}

    row = listed(home, "rita", BANK_A)[run_id]
    assert row["review"]["status"] != "approved" and row["review"]["mirror"] == "tampered"
    show = json.loads(cli(home, "rita", "runs", "show", BANK_A, run_id, "--json").stdout)
    assert show["review"]["status"] == "" and show["review"]["mirror"] == "tampered"
    human = cli(home, "rita", "runs", "show", BANK_A, run_id).stdout
    assert human.splitlines()[1] == "review: none (mirror tampered)"
    assert "mirror tampered: the run's MLflow tags claim approved by rita; the sandbox's ledger does not" in human
    table = cli(home, "rita", "runs", "list", BANK_A).stdout
    assert next(ln for ln in table.splitlines() if ln.startswith(run_id)).rstrip().endswith("none (mirror tampered)")
    assert not any(e["event"] == "review.sign" and e["data"]["run_id"] == run_id for e in ctx_a.audit_entries())


def test_flipping_the_mirror_after_a_change_request_does_not_approve(store, home, ctx_a, review_a):
    run_id = alices_run(ctx_a, "flipped")
    review_a.sign_off(run_id, "changes_requested", "Gini below 0.40 out of time")
    assert review_a.summary(review_a.get_run(run_id))["review"]["mirror"] == "consistent"
    mlflow_client(store).set_tag(run_id, "review.status", "approved")

    shown = review_a.summary(review_a.get_run(run_id))["review"]
    assert (shown["status"], shown["by"], shown["mirror"]) == ("changes_requested", "rita", "tampered")
    row = listed(home, "alice", BANK_A)[run_id]  # the bank sees the same
    assert row["review"]["status"] == "changes_requested" and row["review"]["mirror"] == "tampered"
    human = cli(home, "rita", "runs", "show", BANK_A, run_id).stdout
    assert "review: changes_requested by rita (mirror tampered): Gini below 0.40 out of time" in human
    # the forged "approved" does not make a silent approval possible: turning the ledger's decision needs a comment
    with pytest.raises(InvalidInput, match="reversing"):
        review_a.sign_off(run_id, "approved")
    review_a.sign_off(run_id, "approved", "Recalibrated in the model card")
    shown = review_a.summary(review_a.get_run(run_id))["review"]
    assert (shown["status"], shown["mirror"]) == ("approved", "consistent")


def test_the_door_refuses_to_write_ledger_events_for_a_use_case(ctx_a):
    for event in ("review.sign", "fraud.run", "risk.run.start", "chat.run.failed"):
        with pytest.raises(InvalidInput, match="ledger event"):
            ctx_a.audit(event, run_id="0" * 32, decision="approved")


# -- finding 5: planted runs ------------------------------------------------------------------------
def test_run_planted_in_a_banks_experiment_is_that_banks_unrecorded_run(store, home, ctx_a, ctx_b, rita):
    client = mlflow_client(store)
    exp_a = ctx_a.experiment_id("fraud")
    ctx_b.experiment_id("fraud")  # peak-bank's own experiment exists too: the planted run must not join it
    planted = client.create_run(
        exp_a,
        run_name="planted",
        tags={tracking.TAG_BANK: BANK_B, tracking.TAG_ACTOR: "bob", tracking.TAG_USECASE: "fraud"},
    )
    client.log_metric(planted.info.run_id, "average_precision", 0.99)
    client.set_terminated(planted.info.run_id)
    run_id = planted.info.run_id

    assert run_id not in listed(home, "rita", BANK_B)
    row = listed(home, "rita", BANK_A)[run_id]
    assert row["bank"] == BANK_A and row["actor"] is None and row["recorded"] is False
    assert any(f.startswith("unrecorded") for f in row["flags"]) and any("peak-bank" in f for f in row["flags"])
    table = cli(home, "rita", "runs", "list", BANK_A).stdout
    line = next(ln for ln in table.splitlines() if ln.startswith(run_id))
    assert "unrecorded" in line and "bob" not in line and BANK_B not in line
    human = cli(home, "rita", "runs", "show", BANK_A, run_id).stdout
    assert f"{BANK_A}/fraud  planted  FINISHED  by unrecorded" in human and "bob" not in human

    peak = open_workspace(BANK_B, rita, store)
    log = store.bank_audit(BANK_B)
    before = log.path.read_bytes() if log.path.exists() else b""
    with pytest.raises(NotFound):
        peak.sign_off(run_id, "approved", "planted")
    with pytest.raises(NotFound):
        peak.get_run(run_id)
    refused = cli(home, "rita", "review", BANK_B, run_id, "--decision", "approved", "--comment", "x")
    assert refused.exit_code != 0 and "not found in bank peak-bank" in refused.output
    assert (log.path.read_bytes() if log.path.exists() else b"") == before


def test_actor_tag_is_not_identity_for_recorded_runs(store, ctx_a, review_a):
    run_id = alices_run(ctx_a, "actor-tag")
    mlflow_client(store).set_tag(run_id, tracking.TAG_ACTOR, "bob")
    shown = review_a.summary(review_a.get_run(run_id))
    assert shown["actor"] == "alice" and shown["recorded"] is True
    assert tracking.TAG_ACTOR not in shown["tags"] and any("actor tag claims 'bob'" in f for f in shown["flags"])


def test_a_run_in_progress_is_recorded_and_chat_traces_leave_the_run_views_working(store, ctx_a, review_a):
    from usecases.chat import trace

    with ctx_a.run("chat", run_name="in-progress") as run:
        shown = review_a.summary(review_a.get_run(run.info.run_id))
        assert shown["actor"] == "alice" and shown["recorded"] and not shown["flags"]
    trace.record(
        ctx_a,
        {
            "question": "How long to dispute?",
            "answer": "60 days",
            "backend": "extractive",
            "chunks": [],
            "refused": False,
        },
    )
    summaries = review_a.summaries(review_a.runs("chat"))
    assert any(s["run_id"] == run.info.run_id and s["actor"] == "alice" for s in summaries)


def test_console_shows_the_ledger_and_says_the_mirror_is_tampered(store, home, ctx_a, monkeypatch):
    pytest.importorskip("streamlit")
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from apps.web import auth

    run_id = alices_run(ctx_a, "console-forged")  # the newest risk run: the page opens it
    client = mlflow_client(store)
    client.set_tag(run_id, "review.status", "approved")
    client.set_tag(run_id, "review.by", "rita")
    monkeypatch.setenv("SANDBOX_HOME", str(home))
    page = Path(__file__).resolve().parents[2] / "apps" / "web" / "app_pages" / "console_runs.py"
    at = AppTest.from_file(str(page), default_timeout=60)
    at.session_state[auth.ACTOR_KEY] = store.actor("rita")
    at.run()
    at.selectbox(key="log_usecase").set_value("risk").run()
    assert not at.exception
    frame = at.dataframe[0].value.set_index("run_id")
    assert frame.loc[run_id, "review"] == "Not reviewed (mirror tampered)" and frame.loc[run_id, "by"] == "alice"
    assert any("Review mirror tampered" in e.value and "approved by rita" in e.value for e in at.error)
    assert not any("Approved by rita" in s.value for s in at.success)


# -- the ledger's cost ---------------------------------------------------------------------------
def test_ledger_reads_a_10k_entry_log_in_one_pass_and_caches_it(tmp_path):
    from sandbox.audit import AuditLog

    log = AuditLog(tmp_path / "bank.jsonl")
    batch = []
    for i in range(10_000):
        if i % 10 == 0:
            batch.append(("risk.run", "alice", {"run_id": f"r{i}", "run_name": "x"}))
        elif i % 10 == 1:
            batch.append(("review.sign", "rita", {"run_id": f"r{i - 1}", "decision": "approved", "comment": ""}))
        else:
            batch.append(("chat.ask", "alice", {"question": "q " * 100, "answer": "a " * 300, "chunks": ["c"] * 5}))
    log.append_many(batch)
    t0 = time.perf_counter()
    book = ledger_mod.read(log.path)
    cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    assert ledger_mod.read(log.path) is book
    warm = time.perf_counter() - t0
    assert book.entries == 10_000 and book.review("r9990").state == "approved" and book.run("r0").actor == "alice"
    log.append("review.sign", "rita", run_id="r0", decision="changes_requested", comment="redo")
    t0 = time.perf_counter()
    grown = ledger_mod.read(log.path)
    tail = time.perf_counter() - t0
    assert grown.review("r0").state == "changes_requested" and grown.entries == 10_001
    assert book.review("r0").state == "approved"  # an earlier snapshot does not change under its reader
    print(
        f"\nledger over 10k entries: cold {cold * 1000:.1f} ms, cached {warm * 1e6:.0f} us, one appended {tail * 1000:.2f} ms"
    )
    assert cold < 2.0 and warm < 0.01


def test_ledger_cache_follows_appends_partial_lines_and_edits_in_place(tmp_path):
    from sandbox.audit import AuditLog

    log = AuditLog(tmp_path / "bank.jsonl")
    log.append("risk.run", "alice", run_id="r1")
    assert ledger_mod.read(log.path).review("r1") is None
    line = (
        log.path.read_bytes()
        .splitlines()[0]
        .replace(b'"risk.run"', b'"review.sign"')
        .replace(b'"data":{', b'"data":{"decision":"approved",')
    )
    with open(log.path, "ab") as fh:  # a line still being written is not read
        fh.write(line[:40])
    assert ledger_mod.read(log.path).review("r1") is None
    with open(log.path, "ab") as fh:
        fh.write(line[40:] + b"\n")
    assert ledger_mod.read(log.path).review("r1").state == "approved"
    raw = log.path.read_bytes()  # an edit in place, same size: read afresh (audit verify is what flags it)
    log.path.write_bytes(raw.replace(b'"decision":"approved"', b'"decision":"rejected"'))
    assert ledger_mod.read(log.path).review("r1").state == "rejected"


# -- server mode: alice's own MLflow token --------------------------------------------------------
@pytest.mark.slow
def test_scientist_with_her_mlflow_token_cannot_approve_her_run_on_the_server(tmp_path, monkeypatch):
    import mlflow
    from mlflow.tracking import MlflowClient, _model_registry, _tracking_service

    from sandbox import Store, server

    store = Store(tmp_path)
    store.init("root", PASSWORD)
    store.create_bank(BANK_A)
    store.add_user("alice", "scientist", PASSWORD, bank=BANK_A)
    store.add_user("rita", "reviewer", PASSWORD)
    admin = store.actor("root")
    srv = server.start(store, admin, port=server.free_port(), timeout=150)
    for key in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        monkeypatch.setenv(key, "")
        monkeypatch.delenv(key)
    monkeypatch.setenv("SANDBOX_TRACKING_URI", srv.url)
    saved = (_tracking_service.utils._tracking_uri, _model_registry.utils._registry_uri)
    try:
        server.sync(store, admin)
        ctx = open_workspace(BANK_A, store.actor("alice"), store)
        with ctx.run("risk", run_name="on-server") as run:
            mlflow.log_metric("gini", 0.2)
        token = server.credentials(store, store.actor("alice"), srv.url)
        with server.mlflow_identity(token.username, token.password):
            MlflowClient(srv.url).set_tag(run.info.run_id, "review.status", "approved")
            MlflowClient(srv.url).set_tag(run.info.run_id, "review.by", "rita")
        review = open_workspace(BANK_A, store.actor("rita"), store)
        shown = review.summary(review.get_run(run.info.run_id))["review"]
        assert (shown["status"], shown["mirror"]) == ("", "tampered")
        review.sign_off(run.info.run_id, "changes_requested", "Gini too low")  # through the sync account
        shown = review.summary(review.get_run(run.info.run_id))["review"]
        assert (shown["status"], shown["by"], shown["mirror"]) == ("changes_requested", "rita", "consistent")
    finally:
        mlflow.set_tracking_uri(saved[0])
        mlflow.set_registry_uri(saved[1])
        srv.stop()
