"""Findings 3, 6 and 16: the sandbox's MLflow server refuses what MLflow's grants alone allowed.

Each test is the attack, through a real `sandbox server` (`mlflow server --app-name sandbox`), on both
tracking backends (the store's SQLite file and a throwaway PostgreSQL cluster; see tests/test_server.py):

 3  a scientist claims a future bank's experiment with an artifact_location in her own folder;
    and `bank create` + sync on a store where such a squat already exists (made before the guard)
 16 look-alike names (`peak-bank/fraud `, `peak-bank/FRAUD`, `peak-bank.fraud2`), renames into and
    out of sandbox names, and user enumeration (`users/list`)
 6  a reviewer downloads the model (`model.ubj`, `MLmodel`) and its input example (raw rows) through
    every artifact endpoint MLflow offers; evidence (plots/, model_card.md ...) still reads.
"""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from test_server import (  # tests/ is on sys.path
    BACKENDS,
    BANK_A,
    BANK_B,
    PASSWORD,
    creds,
    denied,
    mlflow_as,
    start_world,
)

from sandbox import server


@pytest.fixture(scope="module", params=BACKENDS)
def world(request, tmp_path_factory):
    w = start_world(tmp_path_factory.mktemp(f"guard-home-{request.param}"), request.param)
    try:
        yield w
    finally:
        w["server"].stop()


@pytest.fixture(scope="module")
def client(world):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=world["url"], registry_uri=world["url"])


@contextmanager
def tracking_at(url: str):
    """Point MLflow's process-wide tracking and registry URIs at the server for a block (the client's fallbacks use
    them), then put back what was there."""
    import mlflow
    from mlflow.tracking import _model_registry, _tracking_service

    saved = (_tracking_service.utils._tracking_uri, _model_registry.utils._registry_uri)
    mlflow.set_tracking_uri(url)
    mlflow.set_registry_uri(url)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(saved[0])
        mlflow.set_registry_uri(saved[1])


def http(world, user: str, method: str, path: str, **kwargs) -> requests.Response:
    """A raw request as `user` (their MLflow credentials), for endpoints MlflowClient does not wrap."""
    name, password = creds(world, user)
    return requests.request(method, world["url"] + path, auth=(name, password), timeout=30, **kwargs)


@pytest.fixture(scope="module")
def alice_model(world, client, tmp_path_factory):
    """Alice's fraud run, as the sandbox logs it: evidence files, and a real XGBoost model logged through the
    server with an input example (raw rows, as main did), registered as harbour-bank.fraud; plus copies of the
    model files under the run's own artifacts (where MLflow 2 put them)."""
    import mlflow
    import mlflow.xgboost
    import numpy as np
    import pandas as pd
    import xgboost as xgb

    folder = tmp_path_factory.mktemp("alice-evidence")
    (folder / "model_card.md").write_text("# fraud model\nsynthetic data only\n")
    (folder / "plots").mkdir()
    (folder / "plots" / "pr_curve.png").write_bytes(b"\x89PNG fake plot")
    (folder / "model").mkdir()
    (folder / "model" / "model.ubj").write_bytes(b"UBJ model bytes")
    (folder / "model" / "input_example.json").write_text('{"monthly_income": [52000]}')
    rows = pd.DataFrame({"monthly_income": [52000.0, 18000.0, 33000.0, 71000.0], "age": [41.0, 23.0, 35.0, 52.0]})
    booster = xgb.train({"max_depth": 2, "nthread": 1}, xgb.DMatrix(rows, label=[0, 1, 0, 1]), 2)
    with mlflow_as(*creds(world, "alice")):
        exp_id = client.get_experiment_by_name(f"{BANK_A}/fraud").experiment_id
        run = client.create_run(exp_id, run_name="xgb")
        run_id = run.info.run_id
        client.log_artifact(run_id, str(folder / "model_card.md"))
        client.log_artifacts(run_id, str(folder / "plots"), artifact_path="plots")
        client.log_artifacts(run_id, str(folder / "model"), artifact_path="model")
        with tracking_at(world["url"]):
            with mlflow.start_run(run_id=run_id):
                info = mlflow.xgboost.log_model(
                    booster, name="model", input_example=rows.head(2), pip_requirements=["xgboost"], model_format="ubj"
                )
            version = mlflow.register_model(info.model_uri, f"{BANK_A}.fraud")  # as the sandbox registers
        files = {a.path for a in client.list_artifacts(run_id)}
        assert {"model_card.md", "plots", "model"} <= files
    model_root = f"{exp_id}/models/{info.model_id}/artifacts"
    return {
        "run_id": run_id,
        "exp_id": exp_id,
        "model_id": info.model_id,
        "model_root": model_root,
        "version": version.version,
        "rows": np.asarray(rows),
    }


# -- finding 3: claiming a future bank ----------------------------------------------------------
def test_scientist_cannot_claim_a_future_banks_experiment_or_model(world, client, tmp_path):
    her_folder = tmp_path / "bob-controls-this"
    her_folder.mkdir()
    with mlflow_as(*creds(world, "bob")):
        assert denied(client.create_experiment, "delta-bank/fraud", artifact_location=her_folder.as_uri()) == 403
        assert denied(client.create_experiment, "delta-bank/fraud") == 403
        assert denied(client.create_registered_model, "delta-bank.fraud") == 403
        # nor point even a name of his own bank at a folder of his choosing
        assert denied(client.create_experiment, f"{BANK_B}/fraud", artifact_location=her_folder.as_uri()) == 403
    r = http(
        world,
        "bob",
        "POST",
        "/api/2.0/mlflow/experiments/create",
        data=json.dumps({"name": "delta-bank/fraud", "artifact_location": her_folder.as_uri()}),
        headers={"Content-Type": "text/plain"},
    )  # a body MLflow parses whatever the content type
    assert r.status_code in (400, 403), r.text
    assert not list(her_folder.iterdir())


def test_bank_create_reclaims_an_experiment_squatted_before_the_guard(world, client, tmp_path):
    """A squat made where no guard stood (the stock server of before): `bank create` + sync never lets the bank's
    artifacts reach the squatter's folder, and the bank gets a clean experiment and model."""
    store, admin = world["store"], world["admin"]
    her_folder = tmp_path / "squatter-folder"
    her_folder.mkdir()
    sync_account = (server.ADMIN_USERNAME, server.load_secrets(store).admin_password)
    with mlflow_as(*sync_account):  # stands in for bob on the unguarded server
        squat_fraud = client.create_experiment("echo-bank/fraud", artifact_location=her_folder.as_uri())
        squat_risk = client.create_experiment("echo-bank/risk")  # the server's own root, but before the bank
        client.create_registered_model("echo-bank.fraud")
    time.sleep(1.1)  # the bank's record keeps whole seconds
    store.create_bank("echo-bank")
    store.add_user("erin", "scientist", PASSWORD, bank="echo-bank")
    result = server.sync(store, admin)
    reclaimed = " | ".join(result.reclaimed)
    assert f"experiment echo-bank/fraud ({squat_fraud})" in reclaimed and "not the server's artifact root" in reclaimed
    assert f"experiment echo-bank/risk ({squat_risk})" in reclaimed and "created before the bank" in reclaimed
    assert "registered model echo-bank.fraud" in reclaimed
    assert {"echo-bank/fraud", "echo-bank/risk", "echo-bank/chat"} <= set(result.experiments_created)
    assert "echo-bank.fraud" in result.models_created
    again = server.sync(store, admin)
    assert not again.reclaimed and not again.experiments_created  # the fresh ones are the sandbox's own
    assert (store.state / "audit" / "echo-bank.jsonl").read_text().count('"server.reclaim"') == 3  # in the bank's log

    with mlflow_as(*creds(world, "erin")):
        exp = client.get_experiment_by_name("echo-bank/fraud")
        assert exp.experiment_id != squat_fraud
        assert exp.artifact_location == f"mlflow-artifacts:/{exp.experiment_id}"
        run = client.create_run(exp.experiment_id)
        card = tmp_path / "model_card.md"
        card.write_text("echo's model\n")
        client.log_artifact(run.info.run_id, str(card))
        assert client.get_registered_model("echo-bank.fraud").name == "echo-bank.fraud"
    assert not list(her_folder.iterdir())  # the squatter's folder never receives the bank's artifacts
    assert list((store.mlruns / "artifacts" / exp.experiment_id).rglob("model_card.md"))
    with mlflow_as(*sync_account):
        assert client.get_experiment(squat_fraud).name == f"_reclaimed/echo-bank/fraud/{squat_fraud}"


# -- finding 16: look-alikes, renames, user enumeration -----------------------------------------
@pytest.mark.parametrize(
    "name",
    [
        f"{BANK_B}/fraud ",
        f"{BANK_B}/FRAUD",
        f"{BANK_B}/fraud2",
        f" {BANK_B}/fraud",
        f"{BANK_B}/fraud\n",
        "peak\u2010bank/fraud",
        f"{BANK_A}/fraud2",
        f"{BANK_A}/Fraud",
        f"{BANK_A}/fraud ",
        f"{BANK_A}",
        "notes",
    ],
)
def test_look_alike_experiment_names_are_refused(world, client, name):
    with mlflow_as(*creds(world, "alice")):
        assert denied(client.create_experiment, name) == 403
    assert name not in {e.name for e in _all_experiments(world, client)}


@pytest.mark.parametrize(
    "name",
    [
        f"{BANK_B}.fraud2",
        f"{BANK_B}.FRAUD",
        f"{BANK_B}.fraud ",
        f"{BANK_A}.fraud2",
        f"{BANK_A}.Fraud",
        "peak-bank.fraud.v2",
    ],
)
def test_look_alike_model_names_are_refused(world, client, name):
    with mlflow_as(*creds(world, "alice")):
        assert denied(client.create_registered_model, name) == 403


def test_reviewer_and_admin_create_no_experiments_or_models(world, client):
    for user in ("rita", "root"):
        with mlflow_as(*creds(world, user)):
            assert denied(client.create_experiment, f"{BANK_A}/notes") == 403
            assert denied(client.create_registered_model, f"{BANK_A}.fraud2") == 403


def test_scientist_cannot_rename_into_or_out_of_sandbox_names(world, client):
    exp_a = None
    with mlflow_as(*creds(world, "alice")):
        exp_a = client.get_experiment_by_name(f"{BANK_A}/fraud").experiment_id
        assert denied(client.rename_experiment, exp_a, f"{BANK_B}/fraud2") == 403  # into B's names
        assert denied(client.rename_experiment, exp_a, "scratch") == 403  # out of the sandbox's
        assert denied(client.rename_registered_model, f"{BANK_A}.fraud", f"{BANK_B}.fraud2") == 403
        assert client.get_experiment(exp_a).name == f"{BANK_A}/fraud"
        assert client.get_registered_model(f"{BANK_A}.fraud").name == f"{BANK_A}.fraud"
    with mlflow_as(*creds(world, "bob")):
        assert denied(client.rename_experiment, exp_a, f"{BANK_B}/fraud") == 403


@pytest.mark.parametrize(
    "path",
    [
        "/api/2.0/mlflow/users/list",
        "/ajax-api/2.0/mlflow/users/list",
        "/api/3.0/mlflow/users/permissions/list?username=bob",
        "/api/3.0/mlflow/users/roles/list?username=bob",
        "/api/3.0/mlflow/roles/list",
        "/api/3.0/mlflow/roles/users/list?role_id=1",
    ],
)
def test_scientist_and_reviewer_cannot_list_users(world, path):
    for user in ("alice", "rita"):
        r = http(world, user, "GET", path)
        assert r.status_code == 403, (user, path, r.status_code, r.text[:200])
        assert "bob" not in r.text
    assert http(world, "alice", "GET", "/api/2.0/mlflow/users/current").json()["user"]["username"] == "alice"
    name, password = server.ADMIN_USERNAME, server.load_secrets(world["store"]).admin_password
    listed = requests.get(world["url"] + "/api/2.0/mlflow/users/list", auth=(name, password), timeout=30)
    assert listed.status_code == 200 and "bob" in listed.text  # the sync account still manages users


# -- finding 6: reviewers read evidence, not models or rows --------------------------------------
def test_reviewer_downloads_evidence_but_not_the_model_or_its_input_example(world, client, alice_model, tmp_path):
    run_id, root = alice_model["run_id"], alice_model["model_root"]
    run_root = f"{alice_model['exp_id']}/{run_id}/artifacts"
    with mlflow_as(*creds(world, "rita")), tracking_at(world["url"]):
        assert "synthetic" in Path(client.download_artifacts(run_id, "model_card.md", str(tmp_path))).read_text()
        assert (
            Path(client.download_artifacts(run_id, "plots/pr_curve.png", str(tmp_path)))
            .read_bytes()
            .startswith(b"\x89PNG")
        )
        assert {a.path for a in client.list_artifacts(run_id)} == {"model_card.md", "plots"}  # no model/ in sight
        # the client's listing is refused (403), then it looks for a logged model's file: refused too
        assert denied(client.download_artifacts, run_id, "model/model.ubj", str(tmp_path)) in (403, 404)
        assert denied(client.download_artifacts, run_id, "model/input_example.json", str(tmp_path)) in (403, 404)
        assert not list(tmp_path.rglob("model.ubj")) and not list(tmp_path.rglob("input_example.json"))
        with pytest.raises(requests.HTTPError, match="403"):  # the artifact proxy's client raises requests' error
            client.list_artifacts(run_id, "model")
    refused = [
        f"/api/2.0/mlflow-artifacts/artifacts/{root}/model.ubj",  # the logged model, natively served by FastAPI
        f"/api/2.0/mlflow-artifacts/artifacts/{root}/input_example.json",
        f"/api/2.0/mlflow-artifacts/artifacts/{root}/serving_input_example.json",
        f"/api/2.0/mlflow-artifacts/artifacts/{root}/MLmodel",
        f"/ajax-api/2.0/mlflow-artifacts/artifacts/{root}/MLmodel",
        f"/api/2.0/mlflow-artifacts/artifacts/{run_root}/model/model.ubj",
        f"/api/2.0/mlflow-artifacts/artifacts/{run_root}/model/input_example.json",
        f"/api/2.0/mlflow-artifacts/artifacts/{run_root}/plots/..%2Fmodel%2Fmodel.ubj",
        f"/api/2.0/mlflow-artifacts/artifacts?path={root}",
        f"/api/2.0/mlflow-artifacts/artifacts?path={run_root}/model",
        f"/get-artifact?run_id={run_id}&path=model/input_example.json",
        f"/get-artifact?run_id={run_id}&path=model/MLmodel",
        f"/get-artifact?run_id={run_id}&path=plots/../model/model.ubj",
        f"/model-versions/get-artifact?name={BANK_A}.fraud&version={alice_model['version']}&path=MLmodel",
        f"/model-versions/get-artifact?name={BANK_A}.fraud&version={alice_model['version']}&path=input_example.json",
        f"/api/2.0/mlflow/model-versions/get-download-uri?name={BANK_A}.fraud&version={alice_model['version']}",
        f"/ajax-api/2.0/mlflow/logged-models/{alice_model['model_id']}/artifacts/files?artifact_file_path=MLmodel",
        f"/ajax-api/2.0/mlflow/logged-models/{alice_model['model_id']}/artifacts/files?artifact_file_path=input_example.json",
        f"/ajax-api/2.0/mlflow/logged-models/{alice_model['model_id']}/artifacts/directories",
    ]
    for path in refused:
        r = http(world, "rita", "GET", path)
        assert r.status_code in (400, 403), (path, r.status_code, r.content[:200])
        assert b"UBJ model bytes" not in r.content and b"52000" not in r.content and b"artifact_path" not in r.content
    for path in (
        f"/api/2.0/mlflow-artifacts/artifacts/{run_root}/model_card.md",
        f"/api/2.0/mlflow-artifacts/artifacts/{run_root}/plots/pr_curve.png",
        f"/get-artifact?run_id={run_id}&path=model_card.md",
    ):
        assert http(world, "rita", "GET", path).status_code == 200, path
    listing = http(world, "rita", "GET", f"/api/2.0/mlflow-artifacts/artifacts?path={run_root}").json()
    assert {f["path"] for f in listing.get("files", [])} == {"model_card.md", "plots"}


def test_scientist_still_reads_her_own_model_and_others_cannot(world, alice_model):
    root = alice_model["model_root"]
    mine = http(world, "alice", "GET", f"/api/2.0/mlflow-artifacts/artifacts/{root}/MLmodel")
    assert mine.status_code == 200 and b"xgboost" in mine.content
    assert (
        http(world, "alice", "GET", f"/get-artifact?run_id={alice_model['run_id']}&path=model/model.ubj").content
        == b"UBJ model bytes"
    )
    assert http(world, "bob", "GET", f"/api/2.0/mlflow-artifacts/artifacts/{root}/MLmodel").status_code == 403
    assert http(world, "root", "GET", f"/api/2.0/mlflow-artifacts/artifacts/{root}/MLmodel").status_code == 403


def test_refusals_are_audited(world):
    http(world, "rita", "GET", "/api/2.0/mlflow/users/list")
    log = (world["store"].state / "audit" / "platform.jsonl").read_text()
    assert '"server.denied"' in log and '"users.list"' in log


def _all_experiments(world, client):
    name, password = server.ADMIN_USERNAME, server.load_secrets(world["store"]).admin_password
    with mlflow_as(name, password):
        from mlflow.entities import ViewType

        return client.search_experiments(view_type=ViewType.ALL)


# -- the rules themselves (no server) -------------------------------------------------------------
def test_evidence_rule_admits_only_evidence_paths():
    from sandbox.server_guard import is_evidence_file, is_evidence_listing, proxy_path_refusal

    for ok in ("model_card.md", "model_card.json", "plots/pr_curve.png", "reports/fairness.json", "evaluation/x.json"):
        assert is_evidence_file(ok), ok
    for bad in (
        "model/model.ubj",
        "model/input_example.json",
        "model/MLmodel",
        "MLmodel",
        "model_card.md.bak",
        "plots",
        "plots/",
        "plots/../model/model.ubj",
        "plots/%2e%2e/model/model.ubj",
        "./model_card.md",
        "plots//x.png",
        "plots\\..\\model",
        "",
        "xgboost/serving_input_example.json",
    ):
        assert not is_evidence_file(bad), bad
    assert is_evidence_listing("") and is_evidence_listing("plots") and not is_evidence_listing("model")
    run = "0123456789abcdef0123456789abcdef"
    assert proxy_path_refusal(f"7/{run}/artifacts/plots/a.png", listing=False) == (None, "plots/a.png")
    assert proxy_path_refusal("7", listing=True)[0] is None  # run ids and tier folders: names only
    for refused in (
        "7/models/m-1/artifacts/model.ubj",
        "7/models/m-1/artifacts",
        "7/traces/t/artifacts/x",
        f"7/{run}/artifacts/model/model.ubj",
        f"workspaces/w/7/{run}/artifacts/model_card.md",
        "7/x",
    ):
        assert proxy_path_refusal(refused, listing=False)[0], refused
        assert proxy_path_refusal(refused, listing=True)[0], refused


def test_name_rule_is_exact_and_own_bank_only():
    from sandbox.server_guard import Caller, experiment_create_refusal, model_create_refusal

    alice = Caller("alice", "scientist", BANK_A)
    assert experiment_create_refusal(alice, f"{BANK_A}/risk", None) is None
    assert experiment_create_refusal(alice, f"{BANK_A}/risk", "") is None
    assert "artifact_location" in experiment_create_refusal(alice, f"{BANK_A}/risk", "file:///tmp/mine")
    assert model_create_refusal(alice, f"{BANK_A}.chat") is None
    for name in (f"{BANK_B}/risk", f"{BANK_A}/risk ", f"{BANK_A}/RISK", f"{BANK_A}/risk2", None, 7, ["x"]):
        assert experiment_create_refusal(alice, name, None), name
    for who in (
        Caller("rita", "reviewer", None),
        Caller("root", "admin", None),
        Caller("ghost", None, None),
        Caller("sam", "scientist", None),
    ):  # sam's bank is gone
        assert experiment_create_refusal(who, f"{BANK_A}/risk", None) and model_create_refusal(who, f"{BANK_A}.risk")
