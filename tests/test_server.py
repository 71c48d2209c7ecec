"""Server mode: a real `mlflow server --app-name sandbox` over a sandbox store, driven over HTTP
with MLflow's own MlflowClient as each bank's scientist, a reviewer, a sandbox admin and strangers.

Every test runs on both tracking backends: the store's SQLite file and PostgreSQL. The server starts
once per backend for the module (about 10-20 s) against its own temporary store, and its whole process
group is killed at teardown. PostgreSQL is a throwaway cluster this module starts itself (initdb and
pg_ctl in a temporary folder, on a free loopback port; as root, through `runuser -u postgres`), once per
test session; where it cannot start (no binaries, no postgres user) the PostgreSQL runs skip and say why.
tests/security/test_server_guard.py uses the same helpers (`start_world`, `postgres_uri`).
"""

from __future__ import annotations

import atexit
import glob
import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from sandbox import AccessDenied, InvalidInput, SandboxError, Store, StoreError, server

PASSWORD = "correct-horse-9"
BANK_A, BANK_B = "harbour-bank", "peak-bank"
ROOT = Path(__file__).resolve().parent.parent


def mlflow_as(username: str | None, password: str | None):
    """Act as an MLflow user for a block."""
    return server.mlflow_identity(username, password)


def status_of(exc: BaseException) -> int | None:
    code = getattr(exc, "get_http_status_code", lambda: None)()
    if code in (None, 500):  # a plain-text 401 body becomes a generic MlflowException: read the message
        for status in (401, 403):
            if f"{status}" in str(exc):
                return status
    return code


def denied(fn, *args, **kwargs) -> int:
    from mlflow.exceptions import MlflowException

    with pytest.raises(MlflowException) as info:
        fn(*args, **kwargs)
    return status_of(info.value)


# -- backends: SQLite, and a throwaway PostgreSQL cluster ----------------------------------
BACKENDS = ("sqlite", "postgresql")
_PG: dict = {}  # the session's cluster: {"port", "base", "pg_ctl", "runas"} or {"skip": reason}


def _pg_binaries() -> tuple[str, str] | None:
    for folder in [None, *sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]:
        initdb = shutil.which("initdb", path=folder) if folder else shutil.which("initdb")
        pg_ctl = shutil.which("pg_ctl", path=folder) if folder else shutil.which("pg_ctl")
        if initdb and pg_ctl:
            return initdb, pg_ctl
    return None


def _start_postgres() -> dict:
    found = _pg_binaries()
    if found is None:
        return {
            "skip": "PostgreSQL is not installed (no initdb/pg_ctl on PATH or in /usr/lib/postgresql/*/bin): "
            "apt-get install postgresql (.ci/run does)"
        }
    initdb, pg_ctl = found
    runas: list[str] = []
    base = Path(tempfile.mkdtemp(prefix="sandbox-pg-"))
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        try:
            pg_user = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(base, ignore_errors=True)
            return {"skip": "running as root and there is no 'postgres' user to run PostgreSQL as"}
        if not shutil.which("runuser"):
            shutil.rmtree(base, ignore_errors=True)
            return {"skip": "running as root without `runuser` to start PostgreSQL as the postgres user"}
        os.chown(base, pg_user.pw_uid, pg_user.pw_gid)
        runas = ["runuser", "-u", "postgres", "--"]
    port = server.free_port()
    data, log = base / "data", base / "postgres.log"
    steps = [
        [*runas, initdb, "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"],
        [
            *runas,
            pg_ctl,
            "-D",
            str(data),
            "-l",
            str(log),
            "-w",
            "-t",
            "60",
            "-o",
            f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off",
            "start",
        ],
    ]
    for cmd in steps:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            tail = (out.stderr or out.stdout).strip().splitlines()[-3:]
            if log.exists():
                tail += log.read_text(errors="replace").strip().splitlines()[-3:]
            shutil.rmtree(base, ignore_errors=True)
            return {"skip": f"PostgreSQL did not start ({Path(cmd[len(runas)]).name}): {' | '.join(tail)}"}
    cluster = {"port": port, "base": base, "pg_ctl": pg_ctl, "runas": runas, "data": data}
    atexit.register(_stop_postgres, cluster)
    return cluster


def _stop_postgres(cluster: dict) -> None:
    subprocess.run(
        [*cluster["runas"], cluster["pg_ctl"], "-D", str(cluster["data"]), "-m", "immediate", "stop"],
        capture_output=True,
        timeout=60,
    )
    shutil.rmtree(cluster["base"], ignore_errors=True)


def postgres_uri() -> str:
    """A fresh database in the session's throwaway cluster (started on first use); skips when it cannot start."""
    import psycopg2

    if not _PG:
        _PG.update(_start_postgres())
    if "skip" in _PG:
        pytest.skip(_PG["skip"])
    name = f"sandbox_{secrets.token_hex(4)}"
    conn = psycopg2.connect(host="127.0.0.1", port=_PG["port"], user="postgres", dbname="postgres")
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
    finally:
        conn.close()
    return f"postgresql://postgres@127.0.0.1:{_PG['port']}/{name}"


def start_world(home: Path, backend: str) -> dict:
    """A store (an admin, two banks, a scientist each, a reviewer) and its server on `backend`, synced."""
    uri = postgres_uri() if backend == "postgresql" else None
    store = Store(home)
    store.init("root", PASSWORD)
    for bank in (BANK_A, BANK_B):
        store.create_bank(bank)
    store.add_user("alice", "scientist", PASSWORD, bank=BANK_A)
    store.add_user("bob", "scientist", PASSWORD, bank=BANK_B)
    store.add_user("rita", "reviewer", PASSWORD)
    admin = store.actor("root")
    srv = server.start(store, admin, port=server.free_port(), timeout=150, backend_store_uri=uri)
    try:
        first_sync = server.sync(store, admin)
    except BaseException:
        srv.stop()
        raise
    return {
        "store": store,
        "server": srv,
        "url": srv.url,
        "admin": admin,
        "first_sync": first_sync,
        "backend": backend,
        "backend_uri": uri,
    }


# The general server suite on PostgreSQL is slow-marked (it runs in CI's slow pass); the guard's attack suite
# (tests/security/test_server_guard.py) runs on both backends in the default run.
@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def world(request, tmp_path_factory):
    """Its own store and server per backend; the server's process group is killed at teardown."""
    w = start_world(tmp_path_factory.mktemp(f"server-home-{request.param}"), request.param)
    try:
        yield w
    finally:
        w["server"].stop()
        assert not w["server"].alive()


def creds(world, user: str) -> tuple[str, str]:
    store = world["store"]
    c = server.credentials(store, store.actor(user), world["url"])
    return c.username, c.password


@pytest.fixture(scope="module")
def client(world):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=world["url"], registry_uri=world["url"])


@pytest.fixture(scope="module")
def experiments(world, client):
    with mlflow_as(*creds(world, "rita")):
        return {
            (bank, uc): client.get_experiment_by_name(f"{bank}/{uc}").experiment_id
            for bank in (BANK_A, BANK_B)
            for uc in ("fraud", "risk", "chat")
        }


@pytest.fixture(scope="module")
def alice_run(world, client, experiments, tmp_path_factory):
    """Alice logs a run in harbour-bank/fraud (params, metric, artifacts through the proxy) and registers it."""
    folder = tmp_path_factory.mktemp("alice-artifacts")
    (folder / "model_card.md").write_text("# fraud model\nsynthetic data only\n")
    with mlflow_as(*creds(world, "alice")):
        run = client.create_run(
            experiments[(BANK_A, "fraud")],
            run_name="xgb-baseline",
            tags={"sandbox.bank": BANK_A, "sandbox.usecase": "fraud"},
        )
        run_id = run.info.run_id
        client.log_param(run_id, "max_depth", 6)
        client.log_metric(run_id, "average_precision", 0.81)
        client.log_artifact(run_id, str(folder / "model_card.md"))
        client.log_artifact(run_id, str(folder / "model_card.md"), artifact_path="model")
        client.set_terminated(run_id)
        version = client.create_model_version(f"{BANK_A}.fraud", source=f"{run.info.artifact_uri}/model", run_id=run_id)
    return {"run_id": run_id, "version": version.version}


@pytest.fixture(scope="module")
def bob_run(world, client, experiments):
    with mlflow_as(*creds(world, "bob")):
        run = client.create_run(experiments[(BANK_B, "fraud")], run_name="bob-baseline")
        client.log_metric(run.info.run_id, "average_precision", 0.7)
        client.set_terminated(run.info.run_id)
    return run.info.run_id


# -- the scientists' own banks ------------------------------------------------------------
def test_scientist_logs_artifacts_and_registers_a_model_in_her_own_bank(world, client, alice_run):
    with mlflow_as(*creds(world, "alice")):
        run = client.get_run(alice_run["run_id"])
        assert run.data.metrics["average_precision"] == pytest.approx(0.81)
        assert {a.path for a in client.list_artifacts(alice_run["run_id"])} >= {"model_card.md", "model"}
        local = client.download_artifacts(alice_run["run_id"], "model_card.md")
        assert "synthetic data only" in Path(local).read_text()
        assert client.get_model_version(f"{BANK_A}.fraud", alice_run["version"]).run_id == alice_run["run_id"]
    # the proxied artifacts land under the store's own artifacts folder
    assert list((world["store"].mlruns / "artifacts").rglob("model_card.md"))


# -- another bank -------------------------------------------------------------------------
def test_other_bank_cannot_read_experiment_runs_or_artifacts(world, client, experiments, alice_run):
    exp_a = experiments[(BANK_A, "fraud")]
    with mlflow_as(*creds(world, "bob")):
        assert denied(client.get_experiment, exp_a) == 403
        assert denied(client.get_experiment_by_name, f"{BANK_A}/fraud") == 403
        assert denied(client.get_run, alice_run["run_id"]) == 403
        assert list(client.search_runs([exp_a])) == []  # searches are filtered to what one may read
        assert exp_a not in {e.experiment_id for e in client.search_experiments()}
        assert denied(client.list_artifacts, alice_run["run_id"]) == 403
        assert denied(client.get_metric_history, alice_run["run_id"], "average_precision") == 403


def test_other_bank_cannot_write_to_experiment_or_run(world, client, experiments, alice_run):
    with mlflow_as(*creds(world, "bob")):
        assert denied(client.create_run, experiments[(BANK_A, "fraud")]) == 403
        assert denied(client.log_metric, alice_run["run_id"], "average_precision", 0.99) == 403
        assert denied(client.set_tag, alice_run["run_id"], "sabotage", "yes") == 403
        assert denied(client.delete_run, alice_run["run_id"]) == 403
    with mlflow_as(*creds(world, "alice")):
        assert client.get_run(alice_run["run_id"]).data.metrics["average_precision"] == pytest.approx(0.81)


def test_other_bank_cannot_read_or_add_to_registered_model(world, client, alice_run):
    name = f"{BANK_A}.fraud"
    with mlflow_as(*creds(world, "bob")):
        assert denied(client.get_registered_model, name) == 403
        assert denied(client.get_model_version, name, alice_run["version"]) == 403
        assert denied(client.create_model_version, name, source="mlflow-artifacts:/0/x/artifacts/model") == 403
        names = {m.name for m in client.search_registered_models()}
        assert name not in names
        # nor smuggle A's model into B's registry to download it from there
        run_a = alice_run["run_id"]
        for source, run_id in (
            (f"runs:/{run_a}/model", None),
            (f"runs:/{run_a}/model", run_a),
            (f"models:/{name}/{alice_run['version']}", None),
        ):
            assert denied(client.create_model_version, f"{BANK_B}.fraud", source=source, run_id=run_id) in (400, 403)


def test_sandbox_admin_gets_no_bank_data(world, client, experiments, alice_run):
    with mlflow_as(*creds(world, "root")):
        assert denied(client.get_run, alice_run["run_id"]) == 403
        assert denied(client.get_experiment, experiments[(BANK_A, "fraud")]) == 403
        assert denied(client.get_registered_model, f"{BANK_A}.fraud") == 403


# -- the reviewer -------------------------------------------------------------------------
def test_reviewer_reads_every_banks_runs_and_models(world, client, experiments, alice_run, bob_run):
    with mlflow_as(*creds(world, "rita")):
        assert client.get_run(alice_run["run_id"]).data.metrics["average_precision"] == pytest.approx(0.81)
        assert client.get_run(bob_run).data.metrics["average_precision"] == pytest.approx(0.7)
        found = client.search_runs([experiments[(BANK_A, "fraud")], experiments[(BANK_B, "fraud")]])
        assert {r.info.run_id for r in found} >= {alice_run["run_id"], bob_run}
        assert client.get_registered_model(f"{BANK_A}.fraud").name == f"{BANK_A}.fraud"
        assert "synthetic" in Path(client.download_artifacts(alice_run["run_id"], "model_card.md")).read_text()


def test_reviewer_cannot_create_runs_or_log_to_them(world, client, experiments, alice_run):
    with mlflow_as(*creds(world, "rita")):
        assert denied(client.create_run, experiments[(BANK_A, "fraud")]) == 403
        assert denied(client.log_metric, alice_run["run_id"], "average_precision", 0.1) == 403
        assert denied(client.log_param, alice_run["run_id"], "reviewer_was_here", 1) == 403
        assert denied(client.set_tag, alice_run["run_id"], "review.status", "approved") == 403
        assert denied(client.create_model_version, f"{BANK_A}.fraud", source="mlflow-artifacts:/1/x") == 403


# -- strangers ----------------------------------------------------------------------------
def test_no_credentials_or_wrong_password_get_401(world, client, alice_run):
    with mlflow_as(None, None):
        assert denied(client.get_run, alice_run["run_id"]) == 401
        assert denied(client.search_experiments) == 401
    with mlflow_as("alice", PASSWORD):  # her sandbox password is not her MLflow password
        assert denied(client.get_run, alice_run["run_id"]) == 401
    with mlflow_as("mallory", "guess-guess-guess"):
        assert denied(client.search_experiments) == 401
    with mlflow_as(server.ADMIN_USERNAME, "password1234"):
        assert denied(client.search_experiments) == 401


# -- sync ---------------------------------------------------------------------------------
def test_sync_is_idempotent_and_picks_up_a_new_bank(world, client):
    store, admin = world["store"], world["admin"]
    first = world["first_sync"]
    assert sorted(first.users_created) == ["alice", "bob", "rita", "root"]
    assert len(first.experiments_created) == 6 and len(first.models_created) == 6
    assert first.wall_s > 0 and "seconds" not in first.to_dict()  # units in the name (docs/results.md)
    again = server.sync(store, admin)
    assert not again.changed, again.to_dict()
    assert again.unchanged == len(first.granted)

    with mlflow_as(*creds(world, "bob")):  # bob tries to squat the names of a bank that does not exist yet
        assert denied(client.create_experiment, "tide-bank/fraud") == 403
        assert denied(client.create_registered_model, "tide-bank.fraud") == 403
    store.create_bank("tide-bank")
    store.add_user("tina", "scientist", PASSWORD, bank="tide-bank")
    grown = server.sync(store, admin)
    assert grown.users_created == ["tina"]
    assert set(grown.experiments_created) == {"tide-bank/fraud", "tide-bank/risk", "tide-bank/chat"}
    assert not grown.reclaimed and not grown.revoked
    assert sum(g.startswith("rita ") for g in grown.granted) == 6  # the reviewer reads the new bank too
    assert not any(g.startswith(("alice ", "bob ", "root ")) for g in grown.granted)
    with mlflow_as(*creds(world, "tina")):
        assert denied(client.get_experiment_by_name, f"{BANK_A}/fraud") == 403
        exp = client.get_experiment_by_name("tide-bank/fraud")
        assert exp.artifact_location == f"mlflow-artifacts:/{exp.experiment_id}"
        client.create_run(exp.experiment_id)
    with mlflow_as(*creds(world, "bob")):
        assert denied(client.get_experiment, exp.experiment_id) == 403
        assert denied(client.get_registered_model, "tide-bank.fraud") == 403


def test_sync_repairs_a_tampered_grant_and_password(world, client, experiments):
    store, admin = world["store"], world["admin"]
    sec = server.load_secrets(store)
    auth = server._auth_client(world["url"], server.ADMIN_USERNAME, sec.admin_password)
    exp_a = experiments[(BANK_A, "fraud")]
    # someone shares A's data behind the sandbox's back, and resets a password by hand
    auth.grant_user_permission("bob", "experiment", exp_a, "READ")
    auth.grant_user_permission("bob", "registered_model", "*", "READ")
    auth.update_user_password("rita", "a-password-set-by-hand")
    role = auth.create_role("default", "leaky", "shares harbour-bank with bob")
    auth.add_role_permission(role.id, "experiment", exp_a, "READ")
    auth.assign_role("bob", role.id)
    fixed = server.sync(store, admin)
    assert f"bob experiment {exp_a} READ" in fixed.revoked
    assert "bob registered_model * READ" in fixed.revoked
    assert fixed.passwords_reset == ["rita"]
    assert any("'leaky'" in w and w.startswith("bob ") for w in fixed.warnings)  # roles it does not own: flagged
    auth.unassign_role("bob", role.id)
    with mlflow_as(*creds(world, "bob")):
        assert denied(client.get_experiment, exp_a) == 403
    with mlflow_as(*creds(world, "rita")):
        assert client.get_experiment(exp_a).name == f"{BANK_A}/fraud"


# -- the sandbox's own client in server mode ------------------------------------------------
def test_workspace_runs_through_the_server_as_the_acting_user(world, monkeypatch):
    import mlflow
    import mlflow.xgboost
    import numpy as np
    import xgboost as xgb
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import _model_registry, _tracking_service

    from sandbox import open_workspace

    rng = np.random.default_rng(7)
    x = rng.normal(size=(40, 3))
    booster = xgb.train({"max_depth": 2, "nthread": 1}, xgb.DMatrix(x, label=(x[:, 0] > 0).astype(int)), 3)
    store = world["store"]
    alice, bob = store.actor("alice"), store.actor("bob")
    for key in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        monkeypatch.setenv(key, "")  # recorded, so teardown restores the session's environment
        monkeypatch.delenv(key)
    monkeypatch.setenv("SANDBOX_TRACKING_URI", world["url"])
    saved = (_tracking_service.utils._tracking_uri, _model_registry.utils._registry_uri)
    try:
        assert server.use_credentials(store, alice).username == "alice"
        ctx = open_workspace(BANK_A, alice, store)
        with ctx.run("risk", run_name="scorecard", seed=7) as run:
            mlflow.log_metric("gini", 0.5)
            mlflow.log_text("# scorecard\n", "model_card.md")
            mlflow.xgboost.log_model(booster, name="model", model_format="json", pip_requirements=["xgboost"])
        assert [r.info.run_id for r in ctx.runs("risk")] == [run.info.run_id]
        assert ctx.get_run(run.info.run_id).data.tags["sandbox.actor"] == "alice"
        assert ctx.read_artifact_text(run.info.run_id, "model_card.md") == "# scorecard\n"
        version = ctx.register_model("risk", f"runs:/{run.info.run_id}/model", run.info.run_id)
        assert ctx.model_uri("risk") == f"models:/{BANK_A}.risk/{version.version}"
        server.use_credentials(store, bob)
        with pytest.raises(MlflowException) as info:
            mlflow.tracking.MlflowClient(world["url"]).get_run(run.info.run_id)
        assert status_of(info.value) == 403
    finally:
        mlflow.set_tracking_uri(saved[0])
        mlflow.set_registry_uri(saved[1])


def test_contexts_act_as_their_own_users_and_reviewer_signs_off_through_the_server(world, monkeypatch):
    import mlflow
    from mlflow.tracking import _model_registry, _tracking_service

    from sandbox import open_workspace

    store = world["store"]
    for key in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        monkeypatch.setenv(key, "")
        monkeypatch.delenv(key)
    monkeypatch.setenv("SANDBOX_TRACKING_URI", world["url"])
    saved = (_tracking_service.utils._tracking_uri, _model_registry.utils._registry_uri)
    try:
        ctx = open_workspace(BANK_A, store.actor("alice"), store)  # no token fetched by hand
        with ctx.run("fraud", run_name="to-sign") as run:
            mlflow.log_metric("average_precision", 0.75)
        assert ctx.get_run(run.info.run_id).data.tags["sandbox.actor"] == "alice"
        review = open_workspace(BANK_A, store.actor("rita"), store)
        review.sign_off(run.info.run_id, "approved", "meets the AP threshold")
        assert os.environ["MLFLOW_TRACKING_USERNAME"] == "rita"  # back to the reviewer after the sign-off
        tags = ctx.get_run(run.info.run_id).data.tags
        assert tags["review.status"] == "approved" and tags["review.by"] == "rita"
        assert os.environ["MLFLOW_TRACKING_USERNAME"] == "alice"
    finally:
        mlflow.set_tracking_uri(saved[0])
        mlflow.set_registry_uri(saved[1])


# -- the CLI and bad input ------------------------------------------------------------------
def test_user_gets_own_mlflow_credentials_from_the_cli(world):
    store = world["store"]
    env = dict(os.environ, SANDBOX_HOME=str(store.home), SANDBOX_USER="alice", SANDBOX_PASSWORD=PASSWORD)
    env.pop("SANDBOX_TRACKING_URI", None)
    out = subprocess.run(
        [sys.executable, "-m", "apps.cli", "server", "token", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["username"] == "alice"
    assert data["tracking_uri"] == world["url"]
    assert data["password"] == server.mlflow_password(store, "alice") and len(data["password"]) >= 40
    wrong = subprocess.run(
        [sys.executable, "-m", "apps.cli", "server", "token"],
        cwd=ROOT,
        env=dict(env, SANDBOX_PASSWORD="not-her-password"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert wrong.returncode != 0 and "Traceback" not in wrong.stderr and wrong.stderr.count("\n") == 1


def test_tracking_data_lives_in_the_chosen_backend(world, client, alice_run):
    store = world["store"]
    info = json.loads((store.state / server.RUNTIME_FILE).read_text())
    if world["backend"] == "postgresql":
        import psycopg2

        uri = world["backend_uri"]
        assert info["backend"] == uri.replace("postgresql://", "postgresql+psycopg2://", 1)  # a password would be ***
        conn = psycopg2.connect(uri)
        try:
            with conn.cursor() as cur:
                cur.execute("select name from experiments")
                names = {row[0] for row in cur.fetchall()}
                cur.execute("select count(*) from runs where run_uuid = %s", (alice_run["run_id"],))
                assert cur.fetchone()[0] == 1
        finally:
            conn.close()
        assert {f"{BANK_A}/fraud", f"{BANK_B}/chat"} <= names
        sqlite_file = store.mlruns / "mlflow.db"  # `sandbox init` may create it: it must hold none of the runs
        if sqlite_file.exists():
            import sqlite3

            with sqlite3.connect(sqlite_file) as db:
                tables = {r[0] for r in db.execute("select name from sqlite_master where type='table'")}
                local = {r[0] for r in db.execute("select name from experiments")} if "experiments" in tables else set()
            assert not local & names
    else:
        assert info["backend"].startswith("sqlite:///") and (store.mlruns / "mlflow.db").exists()
    # the database URI reaches MLflow through its environment, never its command line
    cmdline = Path(f"/proc/{world['server'].pid}/cmdline").read_bytes().decode(errors="replace")
    assert "--backend-store-uri" not in cmdline and "--app-name\0sandbox" in cmdline


def test_bad_backend_uri_is_one_clear_error(world):
    with pytest.raises(InvalidInput, match="backend-store-uri"):
        server.check_backend_store_uri("mysql://u:secret@h/db", world["store"])
    assert "secret" not in server.redact_uri("postgresql://u:secret@h:5432/db")
    other = Store(world["store"].home.parent / f"unreachable-{world['backend']}")
    other.init("root", PASSWORD)
    with pytest.raises(SandboxError, match="cannot reach the PostgreSQL backend") as info:
        server.start(
            other,
            other.actor("root"),
            port=server.free_port(),
            backend_store_uri=f"postgresql://u:hunter2@127.0.0.1:{server.free_port()}/nowhere",
        )
    assert "hunter2" not in str(info.value)


def test_cli_backend_store_uri_bad_scheme_is_one_line(tmp_path):
    other = Store(tmp_path / "cli-store")
    other.init("root", PASSWORD)
    env = dict(
        os.environ,
        SANDBOX_HOME=str(other.home),
        SANDBOX_USER="root",
        SANDBOX_PASSWORD=PASSWORD,
        SANDBOX_BACKEND_STORE_URI="mysql://u:hunter2@127.0.0.1/db",
    )
    out = subprocess.run(
        [sys.executable, "-m", "apps.cli", "server", "--port", str(server.free_port())],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode != 0 and "Traceback" not in out.stderr, out.stderr
    assert "backend-store-uri" in out.stderr and "hunter2" not in out.stderr + out.stdout


def test_secrets_are_private_and_no_admin_password_is_in_the_config(world):
    store = world["store"]
    secrets_file = store.state / server.SECRETS_FILE
    assert secrets_file.stat().st_mode & 0o777 == 0o600
    config = (store.state / server.AUTH_CONFIG_FILE).read_text()
    assert "default_permission = NO_PERMISSIONS" in config
    assert "admin_password" not in config and server.load_secrets(store).admin_password not in config
    assert f"sqlite:///{store.state.resolve()}/" in config


def test_non_admin_cannot_start_or_sync_the_server(world):
    store = world["store"]
    for user in ("alice", "rita"):
        with pytest.raises(AccessDenied, match="sandbox server token"):
            server.start(store, store.actor(user), port=server.free_port())
        with pytest.raises(AccessDenied):
            server.sync(store, store.actor(user))


def test_second_server_or_busy_port_is_refused_with_the_fix(world, tmp_path):
    store = world["store"]
    with pytest.raises(SandboxError, match="already runs at"):
        server.start(store, world["admin"], port=server.free_port())
    other = Store(tmp_path / "other")
    other.init("root", PASSWORD)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        with pytest.raises(SandboxError, match="--port"):
            server.start(other, other.actor("root"), port=port)


def test_missing_store_and_public_host_are_refused(tmp_path, world):
    from sandbox.errors import InvalidInput

    with pytest.raises(StoreError, match="sandbox init"):
        server.start(Store(tmp_path / "nowhere"), world["admin"], port=server.free_port())
    with pytest.raises(InvalidInput, match="reverse proxy"):
        server.start(world["store"], world["admin"], host="0.0.0.0", port=server.free_port())
