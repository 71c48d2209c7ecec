"""The fraud ring (issue 16 part 1) on a tiny world: a small hk bank with a weak champion, in its own store.

The attacker sees decisions only, is deterministic in its seed, keeps to its budget, finds evasion on a weak model;
trials leave the bank's scorer state as it was; the run is one tagged MLflow run with its report; bad input and
other banks' scientists and reviewers are refused with one clear line."""

from __future__ import annotations

import os
from contextlib import contextmanager

import pytest
from lifecycle_util import lenient_gates, make_champion
from world import PASSWORD

from sandbox import Store, open_workspace
from sandbox.errors import AccessDenied, InvalidInput, NotFound

pytest.importorskip("optuna")
from usecases.assure import fraud_campaigns as fc  # noqa: E402
from usecases.assure import fraud_runner as runner  # noqa: E402
from usecases.assure.fraud_bank import Decision, Oracle  # noqa: E402

BANK, OTHER = "ring-bank", "quiet-bank"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A fresh store: ring-bank (tiny hk simulation, a weak champion), quiet-bank (no model), a reviewer."""
    from usecases import fraud

    home = tmp_path_factory.mktemp("assure-fraud")
    store = Store(home)
    store.init("root", PASSWORD)
    for bank in (BANK, OTHER):
        store.create_bank(bank)
    store.add_user("ada", "scientist", PASSWORD, bank=BANK)
    store.add_user("otto", "scientist", PASSWORD, bank=OTHER)
    store.add_user("rita", "reviewer", PASSWORD)
    ctx = open_workspace(BANK, store.actor("ada"), store)
    fraud.simulate(ctx, "hk", customers=250, days=30, seed=1)
    lenient_gates(store, BANK, "fraud")
    fraud.train(ctx, seed=0, rounds=30)
    make_champion(store, ctx, "fraud")
    return {"home": home, "store": store, "ctx": ctx}


@pytest.fixture(scope="module")
def bank(world):
    """The champion behind its warmed scorer, the victims and the ring's reach (what the runner builds)."""
    from usecases.fraud import data, model_store

    booster, sidecar = model_store.load(world["ctx"])
    df, _ = data.load(world["ctx"])
    pool = runner._Pools(df, 0)
    return {
        "booster": booster,
        "sidecar": sidecar,
        "df": df,
        "pool": pool,
        "scorer": runner._scorer(booster, sidecar, df, BANK),
    }


def _attack(bank, budget: int, seed: int, sampler: str = "tpe"):
    oracle = Oracle(bank["scorer"], budget)
    log = fc.attack(
        oracle, fc.World(bank["df"], bank["pool"].attack, bank["pool"].mules), seed, every=20, sampler=sampler
    )
    return oracle, log


class DecisionsOnly:
    """A bank that answers approve/decline and nothing else: the attacker must work against it unchanged."""

    def __init__(self, budget: int):
        self.budget, self.used, self.seen = budget, 0, []

    @property
    def remaining(self) -> int:
        return self.budget - self.used

    def submit(self, txn: dict) -> Decision:
        self.used += 1
        self.seen.append(txn)
        return Decision(approved=txn["amount"] < 500)

    @contextmanager
    def trial(self):
        yield self


def test_attacker_needs_nothing_but_decisions(bank):
    stub = DecisionsOnly(80)
    log = fc.attack(stub, fc.World(bank["df"], bank["pool"].attack, bank["pool"].mules), seed=0)
    assert stub.used == 80 and log.trials
    keys = set().union(*(t.keys() for t in stub.seen))  # what a probe carries: a transaction, no model or feature
    assert keys <= {
        "timestamp",
        "customer_id",
        "amount",
        "channel",
        "terminal_id",
        "merchant_category",
        "device_id",
        "payee_id",
    }
    assert max(t.outcome.stolen_hkd for t in log.trials) > 0  # it learns where the stub approves


def test_oracle_shows_decisions_not_the_model(bank):
    oracle = Oracle(bank["scorer"], 5)
    public = {k for k in vars(oracle) if not k.startswith("_")}
    assert public == {"budget", "used", "show_score"}  # the scorer, model and state are private
    with oracle.trial():
        d = oracle.submit(
            {
                "timestamp": fc.World(bank["df"], bank["pool"].attack, bank["pool"].mules).start_day,
                "customer_id": bank["pool"].attack[0].customer,
                "amount": 100.0,
            }
        )
    assert isinstance(d.approved, bool) and d.score is None  # no score unless observe="score"
    shown = Oracle(bank["scorer"], 1, show_score=True)
    with shown.trial():
        d = shown.submit(
            {
                "timestamp": fc.World(bank["df"], bank["pool"].attack, bank["pool"].mules).start_day,
                "customer_id": bank["pool"].attack[0].customer,
                "amount": 100.0,
            }
        )
    assert 0.0 <= d.score <= 1.0


def test_budget_is_respected_and_the_attack_is_deterministic(bank):
    o1, log1 = _attack(bank, 70, seed=4)
    o2, log2 = _attack(bank, 70, seed=4)
    assert o1.used == o2.used == 70
    assert sum(t.outcome.queries for t in log1.trials) == 70
    assert [t.to_dict() for t in log1.trials] == [t.to_dict() for t in log2.trials]
    _, log3 = _attack(bank, 70, seed=5)
    assert [t.to_dict() for t in log3.trials] != [t.to_dict() for t in log1.trials]
    with pytest.raises(fc.BudgetSpent):
        o1.submit({"timestamp": 0, "customer_id": 1, "amount": 1.0})


def test_a_trial_leaves_the_banks_scorer_as_it_was(bank):
    oracle = Oracle(bank["scorer"], 100)
    v = bank["pool"].attack[1]
    start = fc.World(bank["df"], bank["pool"].attack, bank["pool"].mules).start_day
    probe = {
        "timestamp": start + 3600,
        "customer_id": v.customer,
        "amount": 900.0,
        "channel": "card_not_present",
        "device_id": 987654321,
    }
    with oracle.trial():
        first = bank["scorer"].score(dict(probe), explain=False).score
        for k in range(5):  # velocity, a new device: the state moves on within the trial
            oracle.submit(dict(probe, timestamp=start + 3700 + k))
    with oracle.trial():
        assert bank["scorer"].score(dict(probe), explain=False).score == pytest.approx(first)


def test_evasion_is_found_on_a_weak_model(bank):
    _, log = _attack(bank, 120, seed=0)
    assert log.curve and log.curve[-1]["queries"] == 120
    assert log.curve[-1]["evasion_rate"] > 0 and log.curve[-1]["hkd_undetected"] > 0
    assert all(t.campaign.words() for t in log.trials)


@pytest.fixture(scope="module")
def full_run(world):
    from usecases import assure

    return assure.fraud_attack(world["ctx"], budget=40, rounds=1, seed=0)


def test_run_is_one_tagged_mlflow_run_with_report_plot_and_audit_event(full_run, world):
    ctx = world["ctx"]
    run = ctx.get_run(full_run.run_id)
    assert run.data.tags["sandbox.assure"] == "fraud-attack"
    for name in (
        "evasion_rate",
        "hkd_undetected",
        "campaign_recall",
        "defended_campaign_recall",
        "round1_model_recall",
    ):
        assert name in run.data.metrics
    assert all(k == k.lower() and " " not in k for k in run.data.metrics)
    d = full_run.to_dict()  # units in the name; the MLflow metric keeps its name for history (docs/results.md)
    assert d["wall_s"] > 0 and "cpu_s" in d and "seconds" not in d and "cpu_seconds" not in d
    assert run.data.metrics["attack_seconds"] == full_run.wall_s and "attack_cpu_seconds" in run.data.metrics
    arts = ctx.list_artifacts(full_run.run_id)
    assert "reports/fraud_attack.json" in arts and "plots/fraud_attack.png" in arts
    assert full_run.arms_race[0]["queries"] <= 40 and len(full_run.arms_race) == 1
    assert set(full_run.targets) == {"attacker_finds_campaign_under_half_recall", "defence_recovers_80pct_of_recall"}
    assert any(
        e["event"] == "assure.fraud_attack" and e["data"]["run_id"] == full_run.run_id for e in ctx.audit_entries(20)
    )


@pytest.mark.parametrize(
    "kw, field",
    [
        ({"budget": 0}, "budget"),
        ({"budget": -5}, "budget"),
        ({"rounds": 4}, "rounds"),
        ({"seed": -1}, "seed"),
        ({"observe": "features"}, "observe"),
        ({"budget": True}, "budget"),
    ],
)
def test_bad_settings_are_refused_naming_the_field(world, kw, field):
    from usecases import assure

    with pytest.raises(InvalidInput) as err:
        assure.fraud_attack(world["ctx"], **kw)
    assert err.value.field == field


def test_no_champion_names_the_command(world):
    from usecases import assure

    ctx = open_workspace(OTHER, world["store"].actor("otto"), world["store"])
    with pytest.raises(NotFound) as err:
        assure.fraud_attack(ctx, budget=10)
    assert "sandbox" in str(err.value) and "\n" not in str(err.value)


def test_another_banks_scientist_and_a_reviewer_cannot_attack(world):
    from usecases import assure

    store = world["store"]
    with pytest.raises(AccessDenied):
        assure.fraud_attack(open_workspace(BANK, store.actor("otto"), store), budget=10)
    with pytest.raises(AccessDenied):
        assure.fraud_attack(open_workspace(BANK, store.actor("rita"), store), budget=10)


def _cli(home, *args, user="ada"):
    from click.testing import CliRunner

    from apps.cli import cli

    env = dict(os.environ, SANDBOX_HOME=str(home), SANDBOX_PASSWORD=PASSWORD, SANDBOX_USER=user)
    env.pop("SANDBOX_TRACKING_URI", None)
    return CliRunner().invoke(cli, list(args), env=env, prog_name="sandbox")


@pytest.mark.parametrize(
    "args, user, says",
    [
        ([BANK, "--budget", "0"], "ada", "budget"),
        (["no-such-bank", "--budget", "10"], "ada", "error:"),
        ([OTHER, "--budget", "10"], "otto", "sandbox models promote"),
        ([BANK, "--budget", "10"], "rita", "assure.fraud_attack"),
        ([BANK, "--observe", "model"], "ada", "'model' is not one of"),
    ],
)
def test_cli_bad_input_is_one_clear_line(world, args, user, says):
    r = _cli(world["home"], "assure", "fraud-attack", *args, user=user)
    assert r.exit_code != 0 and says in r.output and "Traceback" not in r.output
    errors = [line for line in r.output.splitlines() if line.lower().startswith("error")]
    assert len(errors) == 1 and says in errors[0]  # one line says what is wrong (click adds its usage lines)


def test_cli_text_shows_the_arms_race_and_the_campaigns_in_words(full_run):
    from apps.cli_assure import _fraud_human

    text = _fraud_human(full_run.to_dict())
    assert "evasion_rate" in text and "targets:" in text and full_run.run_id in text
    assert all(f["words"] in text for f in full_run.found[0])


def test_the_evidence_pack_of_the_attacked_champion_carries_the_campaigns_as_aggregates(full_run, world):
    """The attack is a section of the champion's evidence pack: rounds and campaigns in words, no transaction row."""
    import io
    import json
    import zipfile

    from sandbox import evidence

    reviewer = open_workspace(BANK, world["store"].actor("rita"), world["store"])
    with zipfile.ZipFile(io.BytesIO(evidence.build(reviewer, "fraud", None).data)) as z:
        attack = json.loads(z.read("assurance/fraud_attack.json"))
        html = z.read("report.html").decode()
    assert attack["run_id"] == full_run.run_id and attack["arms_race"] and "worst" not in attack
    assert "AI vs AI assurance" in html and "Campaigns found, in words" in html

    def keys(obj):
        if isinstance(obj, dict):
            for k, v in obj.items():
                yield k
                yield from keys(v)
        elif isinstance(obj, list):
            for v in obj:
                yield from keys(v)

    row_keys = {"customer_id", "txn_id", "terminal_id", "device_id", "payee_id", "timestamp"}
    assert not row_keys & set(keys(attack))  # campaign settings and rates, never a transaction's fields


# -- the app page ------------------------------------------------------------------------------------------------
def _page(world, user: str, monkeypatch):
    pytest.importorskip("streamlit")
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from apps.web import auth

    monkeypatch.setenv("SANDBOX_HOME", str(world["home"]))
    monkeypatch.delenv("SANDBOX_TRACKING_URI", raising=False)
    page = Path(__file__).resolve().parent.parent / "apps" / "web" / "app_pages" / "fraud_attack.py"
    at = AppTest.from_file(str(page), default_timeout=120)
    at.session_state[auth.ACTOR_KEY] = world["store"].actor(user)
    return at.run()


def test_app_page_shows_the_arms_race_and_the_campaigns_in_words(full_run, world, monkeypatch):
    at = _page(world, "ada", monkeypatch)
    assert not at.exception and not at.error
    assert [t.value for t in at.title] == ["Fraud ring vs your champion"]
    labels = {m.label: m.value for m in at.metric}
    assert labels["Evasion, round 1"] == f"{full_run.arms_race[0]['evasion_rate']:.1%}"
    assert labels["Champion"] == f"v{full_run.model_version}"
    assert at.dataframe and at.number_input


def test_app_page_shows_another_banks_scientist_only_his_bank_and_refuses_a_reviewer(full_run, world, monkeypatch):
    at = _page(world, "otto", monkeypatch)  # quiet-bank's scientist: his own bank, which no ring attacked
    assert not at.exception and not at.metric and any("No fraud-ring run yet" in i.value for i in at.info)
    at = _page(world, "rita", monkeypatch)
    assert not at.exception and at.error and not at.metric
