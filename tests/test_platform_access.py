"""Isolation and access control, proven by trying."""

from __future__ import annotations

import os

import pytest
from world import BANK_A, BANK_B

from sandbox import AccessDenied, InvalidInput, NotFound, Store, open_workspace
from sandbox.access import ACTIONS, ROLE_ACTIONS, can


def _denials(store: Store) -> list[dict]:
    return [e for e in store.platform_audit().entries() if e["event"] == "access.denied"]


@pytest.mark.parametrize("bad", ["Harbour", "ab", "1bank", "bank_a", "a" * 40, "../etc", "bank/../x", ""])
def test_invalid_bank_ids_are_refused_with_the_rule(store, bad):
    with pytest.raises(InvalidInput, match="bank"):
        store.create_bank(bad)


def test_scientist_cannot_open_another_banks_workspace(store, alice):
    before = len(_denials(store))
    with pytest.raises(AccessDenied, match=BANK_B):
        open_workspace(BANK_B, alice, store)
    assert len(_denials(store)) == before + 1


@pytest.mark.parametrize(
    "parts", [("..", BANK_B, "secret.txt"), ("/etc/passwd",), ("fraud", "..", "..", BANK_B), ("a\\..\\b",), ("x\x00y",)]
)
def test_path_refuses_anything_outside_the_bank_root(ctx_a, parts):
    with pytest.raises(AccessDenied, match="leaves the workspace"):
        ctx_a.path(*parts)


def test_path_refuses_symlinks_pointing_out(ctx_a, ctx_b):
    secret = ctx_b.path("secret.txt", create=True)
    secret.write_text("bank B only")
    link = ctx_a.path("link-to-b")
    if link.is_symlink() or link.exists():
        link.unlink()
    os.symlink(ctx_b.root, link)
    with pytest.raises(AccessDenied):
        ctx_a.path("link-to-b", "secret.txt")


def test_path_stays_inside_the_bank_root(ctx_a):
    p = ctx_a.path("fraud", "data", "tx.parquet", create=True)
    assert p.is_relative_to(ctx_a.root) and p.parent.is_dir()


def test_reviewer_is_denied_every_write_and_raw_data_action(review_a, store):
    before = len(_denials(store))
    denied = [a for a in ACTIONS.values() if a.resource == "bank" and (a.writes or a.raw_data)]
    assert denied
    for action in denied:
        with pytest.raises(AccessDenied):
            review_a.require(action.name)
    with pytest.raises(AccessDenied):
        review_a.path("fraud")
    assert len(_denials(store)) >= before + len(denied) + 1


def test_reviewer_reads_evidence_of_every_bank(store, rita):
    for bank in (BANK_A, BANK_B):
        ctx = open_workspace(bank, rita, store)
        for action in ("runs.read", "models.read", "audit.read", "usage.read", "review.sign"):
            ctx.require(action)


def test_admin_is_denied_bank_data(store, admin):
    ctx = open_workspace(BANK_A, admin, store)
    for action in ("data.read", "runs.read", "models.read", "fraud.train", "chat.ask", "audit.read"):
        with pytest.raises(AccessDenied):
            ctx.require(action)
    with pytest.raises(AccessDenied):
        ctx.path("fraud")


def test_only_admins_administer(alice, rita, admin):
    for action in ("bank.create", "user.add", "quota.set", "server.run"):
        assert not can(alice, action) and not can(rita, action) and can(admin, action)


def test_every_declared_role_action_exists():
    for role, actions in ROLE_ACTIONS.items():
        assert actions <= set(ACTIONS), role


def test_scientist_cannot_fetch_another_banks_run_by_id(ctx_a, ctx_b):
    import mlflow

    with ctx_b.run("fraud", run_name="bank-b-private") as run:
        mlflow.log_metric("average_precision", 0.5)
    run_id = run.info.run_id
    with pytest.raises(NotFound):
        ctx_a.get_run(run_id)
    with pytest.raises(NotFound):
        ctx_a.artifact_local_path(run_id, "model_card.md")
    assert run_id not in {r.info.run_id for r in ctx_a.runs()}


def test_scientist_cannot_reach_another_banks_registered_model(ctx_a, ctx_b):
    import mlflow

    with ctx_b.run("risk", run_name="b-model") as run:
        mlflow.log_text("weights", "model/weights.txt")
    ctx_b.register_model("risk", f"{run.info.artifact_uri}/model", run_id=run.info.run_id)
    assert ctx_b.model_uri("risk").startswith(f"models:/{BANK_B}.risk/")
    with pytest.raises(NotFound):
        ctx_a.model_uri("risk")  # alice only ever gets her own bank's name
    with pytest.raises(NotFound):
        ctx_a.register_model("risk", f"{run.info.artifact_uri}/model", run_id=run.info.run_id)


def test_reviewer_sees_evidence_but_not_models(store, rita, ctx_a):
    import mlflow

    with ctx_a.run("fraud", run_name="evidence") as run:
        mlflow.log_text("# Model card", "model_card.md")
        mlflow.log_text("{}", "reports/metrics.json")
        mlflow.log_text("customer rows", "model/input_example.json")
    review = open_workspace(BANK_A, rita, store)
    visible = review.list_artifacts(run.info.run_id)
    assert "model_card.md" in visible and "reports/metrics.json" in visible
    assert not any(p.startswith("model/") for p in visible)
    assert review.read_artifact_text(run.info.run_id, "model_card.md") == "# Model card"
    with pytest.raises(AccessDenied):
        review.artifact_local_path(run.info.run_id, "model/input_example.json")


def test_sign_off_is_recorded_as_tags_and_audit_and_seen_by_the_bank(store, rita, ctx_a):
    import mlflow

    with ctx_a.run("risk", run_name="to-review") as run:
        mlflow.log_metric("gini", 0.6)
    review = open_workspace(BANK_A, rita, store)
    with pytest.raises(InvalidInput, match="comment"):
        review.sign_off(run.info.run_id, "changes_requested", "")
    review.sign_off(run.info.run_id, "changes_requested", "Add an out-of-time check")
    tags = ctx_a.get_run(run.info.run_id).data.tags
    assert tags["review.status"] == "changes_requested" and tags["review.comment"] == "Add an out-of-time check"
    assert any(e["event"] == "review.sign" for e in ctx_a.audit_entries())
    with pytest.raises(AccessDenied):
        ctx_a.sign_off(run.info.run_id, "approved")
    with pytest.raises(InvalidInput, match="reversing"):  # turning a change request into an approval says why
        review.sign_off(run.info.run_id, "approved")
    review.sign_off(run.info.run_id, "approved", "Out-of-time check added in the model card")
    assert ctx_a.get_run(run.info.run_id).data.tags["review.status"] == "approved"


def test_user_files_inside_another_banks_workspace_are_refused_everywhere(ctx_a, ctx_b, store, tmp_path):
    """A scientist cannot pull another bank's raw files in by path (import, score, ingest, explain), directly or
    through a link, nor write a scored file into it; their own files outside the store are fine."""
    from usecases import chat, fraud, risk

    theirs = ctx_b.path("fraud", "data", "transactions.csv", create=True)
    theirs.write_text("txn_id,timestamp,customer_id,terminal_id,amount,is_fraud\nT1,2025-01-01T09:00:00,C1,M1,10.0,0\n")
    doc = ctx_b.path("chat", "uploads", "policy.txt", create=True)
    doc.write_text("Bank B's dispute window is 45 days. " * 5)
    applicant = ctx_b.path("risk", "applicant.json", create=True)
    applicant.write_text("{}")
    link = tmp_path / "innocent.csv"
    os.symlink(theirs, link)
    before = len(_denials(store))
    attempts = [
        lambda: fraud.import_transactions(ctx_a, theirs),
        lambda: fraud.import_transactions(ctx_a, link),
        lambda: fraud.score_batch(ctx_a, theirs, tmp_path / "out.csv"),
        lambda: fraud.score_batch(ctx_a, tmp_path / "mine.csv", ctx_b.root / "fraud" / "scored.csv"),
        lambda: chat.ingest(ctx_a, [doc]),
        lambda: chat.ingest(ctx_a, [doc.parent]),
        lambda: risk.explain(ctx_a, applicant),
        lambda: fraud.import_transactions(ctx_a, store.state / "store.json"),
        lambda: fraud.import_transactions(ctx_a, store.mlruns / "mlflow.db"),
    ]
    for attempt in attempts:
        with pytest.raises(AccessDenied, match="outside the workspace of " + BANK_A):
            attempt()
    assert len(_denials(store)) == before + len(attempts)
    assert not (ctx_b.root / "fraud" / "scored.csv").exists()
    mine = tmp_path / "mine.txt"
    mine.write_text("x")
    own = ctx_a.path("chat", "x.txt", create=True)
    own.write_text("y")
    with ctx_a.user_file(mine) as f, ctx_a.user_file(own) as g:  # opened once; read from the descriptor
        assert (f.name, f.read_bytes(), g.name, g.read_bytes()) == ("mine.txt", b"x", "x.txt", b"y")
    beside = store.home / "docs" / "policy.md"  # the store's own folder, outside workspaces, state and runs
    beside.parent.mkdir(exist_ok=True)
    beside.write_text("z")
    with ctx_a.user_file(beside) as f:
        assert f.read_bytes() == b"z"
    assert len(_denials(store)) == before + len(attempts)
