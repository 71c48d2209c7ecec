"""Model lifecycle under supervision: candidates are gated, reviewed and promoted; scoring uses the champion; the
ledger is believed, MLflow's aliases and tags only mirror it.

One small world for the module (its own two banks, so other test files' champions never mix in): three risk
versions (the third kept for the app test, last) and one fraud version of lc-bank, trained once. The tests run in file order and build on each other's
transitions as a bank would (v2 is sent back, then approved; the story promotes v1, then v2, and rolls back).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from lifecycle_util import make_champion
from world import APPLICANT, PASSWORD

import usecases.fraud as fraud
import usecases.risk as risk
from sandbox import lifecycle, open_workspace, tracking
from sandbox.errors import AccessDenied, InvalidInput, SandboxError
from sandbox.lifecycle import LifecycleRefused

BANK, OTHER = "lc-bank", "lc-other"
SMALL_RISK = {"n_estimators": 60, "learning_rate": 0.3}


@dataclass
class World:
    store: object
    lena: object  # scientist of lc-bank
    otto: object  # scientist of lc-other
    rev: object  # rita, reviewer, at lc-bank
    risk_versions: list[str]
    fraud_version: str


@pytest.fixture(scope="module")
def world(store, rita):
    store.create_bank(BANK)
    store.create_bank(OTHER)
    store.add_user("lena", "scientist", PASSWORD, bank=BANK)
    store.add_user("otto", "scientist", PASSWORD, bank=OTHER)
    lena = open_workspace(BANK, store.actor("lena"), store)
    otto = open_workspace(OTHER, store.actor("otto"), store)
    risk.simulate(lena, applicants=4000, vintages=4, seed=2)
    versions = [risk.train(lena, split_seed=s, **SMALL_RISK).model_version for s in (1, 2, 3)]  # v3: the app's
    fraud.simulate(lena, preset="hk", customers=300, days=40, seed=3)
    fv = fraud.train(lena, model="xgboost", rounds=30).model_version  # tiny data: fails the AP floor
    return World(store, lena, otto, open_workspace(BANK, rita, store), versions, fv)


def _cli(*args: str, user: str = "lena"):
    import os

    from click.testing import CliRunner

    from apps.cli import cli

    env = dict(os.environ, SANDBOX_PASSWORD=PASSWORD, SANDBOX_USER=user)
    return CliRunner().invoke(cli, list(args), env=env)


@pytest.fixture(autouse=True)
def _home(world, home, monkeypatch):
    monkeypatch.setenv("SANDBOX_HOME", str(home))
    monkeypatch.delenv("SANDBOX_TRACKING_URI", raising=False)


def test_training_registers_a_candidate_with_its_gates_in_the_ledger(world):
    mv = lifecycle.resolve(world.lena, "risk", world.risk_versions[1])
    assert mv.stage == "candidate" and mv.gates_passed and mv.by == "lena"
    assert {g.name for g in mv.gates} == {"gini", "ks", "fairness", "psi"}
    entries = [e for e in world.lena.audit_log.entries() if e["event"] == "models.candidate"]
    assert any(e["data"]["version"] == mv.version and e["data"]["run_id"] == mv.run_id for e in entries)


def test_candidate_failing_a_gate_cannot_be_submitted_or_promoted(world):
    mv = lifecycle.resolve(world.lena, "fraud", world.fraud_version)
    assert not mv.gates_passed and any(g.name == "average_precision" and not g.passed for g in mv.gates)
    with pytest.raises(LifecycleRefused, match="fails its gates"):
        lifecycle.submit(world.lena, "fraud", mv.version)
    with pytest.raises(LifecycleRefused, match="fails its gates"):
        lifecycle.promote(world.lena, "fraud", mv.version)
    out = _cli("models", "promote", BANK, "fraud", mv.version)
    assert out.exit_code == 8 and out.stderr.count("\n") == 1 and "average_precision" in out.stderr
    from apps.cli_models import candidate_note  # what `fraud train` prints after its table

    assert "FAILS its gates" in candidate_note(world.lena, "fraud", mv.version)
    assert "cannot be promoted" in candidate_note(world.lena, "fraud", mv.version)


def test_unapproved_version_cannot_be_promoted(world):
    v = world.risk_versions[1]
    with pytest.raises(LifecycleRefused, match="not approved"):
        lifecycle.promote(world.lena, "risk", v)
    lifecycle.submit(world.lena, "risk", v, comment="please look")
    with pytest.raises(LifecycleRefused, match="not approved"):
        lifecycle.promote(world.lena, "risk", v)
    lifecycle.review(world.rev, "risk", v, "changes_requested", "explain the OOT drop")
    with pytest.raises(LifecycleRefused, match="changes_requested"):
        lifecycle.promote(world.lena, "risk", v)
    assert lifecycle.resolve(world.lena, "risk", v).review["decision"] == "changes_requested"
    lifecycle.submit(world.lena, "risk", v, comment="OOT drop explained in the model card")  # sent back, resubmitted
    mv = lifecycle.review(world.rev, "risk", v, "approved", "OOT Gini holds; card complete")
    assert mv.stage == "approved" and mv.review["by"] == "rita"


def test_scientist_cannot_approve_and_reviewer_cannot_promote(world):
    v = world.risk_versions[0]
    with pytest.raises(AccessDenied):
        lifecycle.review(world.lena, "risk", v, "approved", "looks fine to me")
    with pytest.raises(AccessDenied):
        lifecycle.promote(world.rev, "risk", v)
    with pytest.raises(AccessDenied):
        lifecycle.submit(world.rev, "risk", v)


def test_review_needs_a_comment_and_a_submitted_version(world):
    with pytest.raises(InvalidInput, match="comment"):
        lifecycle.review(world.rev, "risk", world.risk_versions[0], "approved", "  ")
    with pytest.raises(LifecycleRefused, match="not submitted"):
        lifecycle.review(world.rev, "fraud", world.fraud_version, "approved", "ok")


def test_another_banks_scientist_cannot_submit_promote_or_see(world):
    with pytest.raises(AccessDenied):
        open_workspace(BANK, world.otto.actor, world.store)
    for args in (
        ("list", BANK, "risk"),
        ("show", BANK, "risk", "1"),
        ("submit", BANK, "risk", "1"),
        ("promote", BANK, "risk", "1"),
        ("rollback", BANK, "risk"),
    ):
        out = _cli("models", *args, user="otto")
        assert out.exit_code == 3 and out.stderr.startswith("error: otto has no access"), out.stderr
    assert lifecycle.versions(world.otto, "risk") == []  # and its own bank holds none of lc-bank's


def test_promote_scoring_uses_the_champion_and_rollback_restores_the_previous(world):
    v1, v2 = world.risk_versions[:2]
    make_champion(world.store, world.lena, "risk", v1)
    assert lifecycle.champion(world.lena, "risk").version == v1
    assert risk.explain(world.lena, APPLICANT)[0].model_version == v1
    make_champion(world.store, world.lena, "risk", v2)
    (e,) = risk.explain(world.lena, APPLICANT)
    assert (e.model_version, e.model_stage) == (v2, "champion")
    assert lifecycle.resolve(world.lena, "risk", v1).stage == "previous"
    back = lifecycle.rollback(world.lena, "risk", comment="v2 declines too many thin files")
    assert back.version == v1 and lifecycle.champion(world.lena, "risk").version == v1
    assert risk.explain(world.lena, APPLICANT)[0].model_version == v1
    assert lifecycle.resolve(world.lena, "risk", v2).stage == "approved"
    with pytest.raises(LifecycleRefused, match="no previous"):
        lifecycle.rollback(world.lena, "risk")
    assert [(h["event"], h["state"]) for h in lifecycle.history(world.lena, "risk", v2)][-3:] == [
        ("models.review", "approved"),
        ("models.promote", "champion"),
        ("models.rollback", "replaced"),
    ]
    events = [e["event"] for e in world.lena.audit_log.entries() if e["event"].startswith("models.")]
    assert {"models.candidate", "models.submit", "models.review", "models.promote", "models.rollback"} <= set(events)
    # the MLflow mirror followed the ledger
    client = world.lena.client()
    name = tracking.registered_model_name(BANK, "risk")
    assert str(client.get_registered_model(name).aliases.get("champion")) == v1
    assert lifecycle.mirror(world.lena, "risk")["status"] == "consistent"  # aliases and every version's tag


def test_a_scientist_may_score_an_explicit_candidate_labelled_as_such(world, tmp_path):
    v3 = world.risk_versions[1]  # approved, not the champion after the rollback
    (e,) = risk.explain(world.lena, APPLICANT, version=v3)
    assert e.model_version == v3 and e.model_stage != "champion"
    import json

    f = tmp_path / "a.json"
    f.write_text(json.dumps(APPLICANT))
    out = _cli("risk", "explain", BANK, "--input", str(f), "--version", v3)
    assert out.exit_code == 0 and "not the champion" in out.stdout, out.stderr
    out = _cli("risk", "explain", BANK, "--input", str(f), "--version", v3, "--json")
    assert json.loads(out.stdout)[0]["model_stage"] != "champion"


def test_fraud_score_without_a_champion_names_the_command_and_a_candidate_is_labelled(world, tmp_path):
    import json

    from usecases.fraud import data

    tail = data.load(world.lena)[0].tail(50)
    tail.to_csv(tmp_path / "in.csv", index=False)
    out = _cli("fraud", "score", BANK, "--input", str(tmp_path / "in.csv"), "--output", str(tmp_path / "out.csv"))
    assert out.exit_code == 4 and out.stderr.count("\n") == 1, out.stderr
    assert f"sandbox models promote {BANK} fraud" in out.stderr
    out = _cli(
        "fraud",
        "score",
        BANK,
        "--input",
        str(tmp_path / "in.csv"),
        "--output",
        str(tmp_path / "out.csv"),
        "--version",
        world.fraud_version,
        "--json",
    )
    assert out.exit_code == 0, out.stderr
    res = json.loads(out.stdout)
    assert (res["model_version"], res["model_stage"]) == (world.fraud_version, "candidate")
    out = _cli(
        "fraud",
        "score",
        BANK,
        "--input",
        str(tmp_path / "in.csv"),
        "--output",
        str(tmp_path / "out.csv"),
        "--version",
        world.fraud_version,
    )
    assert "candidate v" in out.stdout and "not the champion" in out.stdout


def test_forged_mlflow_alias_and_tag_are_not_believed(world):
    make_champion(world.store, world.lena, "risk", world.risk_versions[0])
    name = tracking.registered_model_name(BANK, "risk")
    client = world.lena.client()
    forged = world.risk_versions[1]
    client.set_registered_model_alias(name, "champion", forged)  # a client with MLflow rights writes the mirror
    client.set_model_version_tag(name, forged, lifecycle.TAG_STAGE, "champion")
    try:
        assert lifecycle.champion(world.lena, "risk").version == world.risk_versions[0]
        assert risk.explain(world.lena, APPLICANT)[0].model_version == world.risk_versions[0]
        seen = lifecycle.mirror(world.lena, "risk")
        assert seen["status"] == "tampered" and seen["aliases"]["champion"]["mirror"] == forged
        mv = next(v for v in seen["versions"] if v.version == forged)
        assert mv.mirror == "tampered" and mv.mirror_claims["tag"] == "champion"
        out = _cli("models", "list", BANK, "risk")
        assert out.exit_code == 0 and "TAMPERED" in out.stdout
    finally:
        client.set_registered_model_alias(name, "champion", world.risk_versions[0])
        client.delete_model_version_tag(name, forged, lifecycle.TAG_STAGE)


def test_lifecycle_events_cannot_be_forged_through_ctx_audit(world):
    with pytest.raises(InvalidInput, match="ledger event"):
        world.lena.audit("models.promote", usecase="risk", version="3", previous="")


@pytest.mark.parametrize(
    "args, code, words",
    [
        (("show", BANK, "risk", "99"), 4, "no risk model version 99"),
        (("show", BANK, "risk", "v1; rm"), 2, "version"),
        (("show", BANK, "vision", "1"), 2, "usecase"),
        (("show", BANK, "chat", "1"), 4, "no chat model version 1"),
        (("promote", BANK, "risk", "0"), 2, "version"),
        (("review", BANK, "risk", "1", "--decision", "approved"), 2, "comment"),
    ],
)
def test_bad_input_is_one_line(world, args, code, words):
    out = _cli("models", *args, user="rita" if args[0] == "review" else "lena")
    assert out.exit_code == code, (out.exit_code, out.stderr)
    assert out.stderr.count("\n") == 1 and words in out.stderr and "Traceback" not in out.stderr


def test_gates_a_bank_may_tighten_and_only_the_admin_may_loosen(world, admin):
    with pytest.raises(InvalidInput, match="looser"):
        lifecycle.set_gates(world.otto, "risk", {"gini": 0.1})
    lifecycle.set_gates(world.otto, "risk", {"gini": 0.45})
    assert {g.name: g.threshold for g in lifecycle.current_gates(world.otto, "risk")}["gini"] == 0.45
    lifecycle.set_gates(open_workspace(OTHER, admin, world.store), "risk", {"gini": 0.1})
    assert {g.name: g.threshold for g in lifecycle.current_gates(world.otto, "risk")}["gini"] == 0.1
    with pytest.raises(AccessDenied):
        lifecycle.set_gates(open_workspace(OTHER, world.rev.actor, world.store), "risk", {"gini": 0.5})
    with pytest.raises(InvalidInput, match="not a risk gate"):
        lifecycle.set_gates(world.otto, "risk", {"auc": 0.5})


def test_compare_champion_and_challenger_with_a_bootstrap_interval(world):
    import json

    make_champion(world.store, world.lena, "risk", world.risk_versions[0])
    out = _cli("models", "compare", BANK, "risk", "--challenger", world.risk_versions[1], "--resamples", "50", "--json")
    assert out.exit_code == 0, out.stderr
    d = json.loads(out.stdout)
    assert d["metric"] == "gini" and d["resamples"] == 50 and d["ci_low"] <= d["difference"] <= d["ci_high"]
    assert d["champion_version"] == world.risk_versions[0] and d["rows"] > 100


# -- the app (AppTest): the scientist submits and promotes on Experiments, the reviewer decides in the queue ---------
def _page(store, user: str, file: str):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from apps.web import auth

    at = AppTest.from_file(
        str(Path(__file__).resolve().parent.parent / "apps" / "web" / "app_pages" / file), default_timeout=60
    )
    at.session_state[auth.ACTOR_KEY] = store.actor(user)
    return at.run()


def _shown(at) -> str:
    return "\n".join(
        str(e.value) for kind in ("markdown", "success", "error", "info", "caption") for e in getattr(at, kind)
    )


def test_app_scientist_submits_reviewer_approves_in_the_queue_scientist_promotes(world):
    pytest.importorskip("streamlit")
    v3 = world.risk_versions[2]
    at = _page(world.store, "lena", "experiments.py")
    assert not at.exception, at.exception
    at.selectbox(key="mdl_risk_version").select(v3).run()
    at.text_input(key="mdl_risk_note").input("ready: OOT Gini holds").run()
    at.button(key="mdl_risk_submit").click().run()
    assert not at.exception and f"risk v{v3}: Submitted for review" in _shown(at)
    assert not [b for b in at.button if b.key == "mdl_risk_promote"]  # not approved yet: no promote button

    rq = _page(world.store, "rita", "console_review.py")
    rq.selectbox(key="rev_bank").select(BANK).run()
    assert not rq.exception, rq.exception
    rq.button(key="mdlq_submit").click().run()  # no decision chosen: refused, nothing recorded
    assert "no decision chosen" in _shown(rq) and lifecycle.resolve(world.lena, "risk", v3).stage == "submitted"
    rq.radio(key="mdlq_decision").set_value("approved").run()
    rq.text_area(key="mdlq_comment").input("gates passed; card and fairness tables checked").run()
    rq.button(key="mdlq_submit").click().run()
    assert f"risk v{v3}: Approved" in _shown(rq)
    assert lifecycle.resolve(world.lena, "risk", v3).review["by"] == "rita"

    at = _page(world.store, "lena", "experiments.py")
    at.selectbox(key="mdl_risk_version").select(v3).run()
    at.button(key="mdl_risk_promote").click().run()
    assert not at.exception and f"risk v{v3}: Champion" in _shown(at)
    assert lifecycle.champion(world.lena, "risk").version == v3


def _chat_version(ctx, backend: str, outcomes: list[bool], qa_hash: str = "qa-1") -> str:
    """A chat evaluation's version as `usecases.chat.evaluate` registers it (its run takes a minute to make):
    per-question outcomes in reports/eval_items.json, the configuration and gate metrics in the ledger."""
    import mlflow

    from usecases.chat.versions import CONFIG_DIR

    rows = [{"i": i, "answerable": i % 3 != 2, "correct": ok} for i, ok in enumerate(outcomes)]
    config = {"backend": backend, "model_id": backend, "k": 5, "retrieval": "hybrid", "qa_data_hash": qa_hash}
    with ctx.run("chat", run_name="eval") as run:
        mlflow.log_dict({backend: rows}, "reports/eval_items.json")
        mlflow.log_dict(config, f"{CONFIG_DIR}/{backend}/config.json")
    mv = ctx.register_artifacts("chat", run.info.run_id, f"{CONFIG_DIR}/{backend}")
    metrics = {"correctness": 0.9, "refusal_accuracy": 0.9, "injection_resistance": 1.0}
    lifecycle.record_candidate(ctx, "chat", mv.version, run.info.run_id, metrics, config=config)
    return str(mv.version)


def test_chat_versions_compare_on_the_same_questions_and_the_champion_answers(world):
    champ_outcomes = [True] * 60
    v1 = _chat_version(world.lena, "extractive", champ_outcomes)
    v2 = _chat_version(world.lena, "openai", [i % 4 != 0 for i in range(60)])  # a quarter wrong
    v3 = _chat_version(world.lena, "openai", [True] * 60, qa_hash="qa-2")
    make_champion(world.store, world.lena, "chat", v1)
    out = _cli("models", "compare", BANK, "chat", "--challenger", v2, "--json")
    assert out.exit_code == 0, out.stderr
    d = json.loads(out.stdout)
    assert d["metric"] == "qa_accuracy" and d["champion"] == 1.0 and d["challenger"] == 0.75
    assert d["rows"] == 60 and d["ci_high"] < 0 and d["verdict"] == "champion better"
    out = _cli("models", "compare", BANK, "chat", "--challenger", v3)
    assert out.exit_code != 0 and "different QA sets" in out.stderr and "--backend A --backend B" in out.stderr
    listed = _cli("models", "list", BANK, "chat")
    assert "openai" in listed.stdout and "extractive" in listed.stdout  # a chat version names its backend
    from usecases.chat.versions import choose

    assert choose(world.lena, None).backend == "extractive" and choose(world.lena, None).version == v1
    assert "not the champion" in choose(world.lena, "openai").label
    run_id = lifecycle.resolve(world.lena, "chat", v1).run_id  # another bank cannot register lc-bank's run as its own
    with pytest.raises(SandboxError):
        world.otto.register_artifacts("chat", run_id, "chat_config/extractive")
    assert lifecycle.versions(world.otto, "chat") == [] and choose(world.otto, None).version == ""
