"""MLflow wiring: where the store is, one experiment per bank and use case, run tags, registry names.

Default store: `<home>/mlruns/mlflow.db` (SQLite) with artifacts under
`<home>/mlruns/artifacts/<bank>/<usecase>/`, which the stock
`mlflow ui --backend-store-uri sqlite:///<home>/mlruns/mlflow.db` opens.
`SANDBOX_TRACKING_URI` points the sandbox at a remote MLflow server instead.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import os
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .errors import InvalidInput, NotFound

USECASES: tuple[str, ...] = ("fraud", "risk", "chat")
TAG_BANK, TAG_USECASE, TAG_ACTOR = "sandbox.bank", "sandbox.usecase", "sandbox.actor"
TAG_SEED, TAG_DATA_HASH, TAG_GIT, TAG_VERSIONS = (
    "sandbox.seed",
    "sandbox.data_hash",
    "sandbox.git_commit",
    "sandbox.versions",
)
TAG_DEVICE = "sandbox.device"
TRACKED_LIBRARIES = (
    "mlflow",
    "numpy",
    "pandas",
    "scikit-learn",
    "xgboost-cpu",
    "xgboost",
    "optbinning",
    "shap",
    "fairlearn",
    "faiss-cpu",
    "sentence-transformers",
    "langchain-core",
    "torch",
    "dask",
)

os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
os.environ.setdefault("MLFLOW_TRACKING_INSECURE_TLS", "false")


def tracking_uri(mlruns: Path) -> str:
    """The tracking store's URI. A local database is brought to MLflow's schema first, once per process and
    under the store's lock (`trackdb.ensure_schema`): MLflow's own lazy migration races itself."""
    remote = os.environ.get("SANDBOX_TRACKING_URI", "").strip()
    if remote:
        return remote
    from . import trackdb

    trackdb.ensure_schema(mlruns)
    return f"sqlite:///{trackdb.db_path(mlruns)}"


def artifact_location(mlruns: Path, bank: str, usecase: str) -> str | None:
    if os.environ.get("SANDBOX_TRACKING_URI", "").strip():
        return None  # the server chooses (it proxies artifacts)
    return (Path(mlruns).resolve() / "artifacts" / bank / usecase).as_uri()


def experiment_name(bank: str, usecase: str) -> str:
    return f"{bank}/{check_usecase(usecase)}"


def registered_model_name(bank: str, usecase: str) -> str:
    return f"{bank}.{check_usecase(usecase)}"


def check_usecase(usecase: str) -> str:
    if usecase not in USECASES:
        raise InvalidInput("usecase", f"{usecase!r} is not a use case", f"use one of {', '.join(USECASES)}")
    return usecase


def client(mlruns: Path):
    from mlflow.tracking import MlflowClient

    uri = tracking_uri(mlruns)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def ensure_experiment(mlflow_client, mlruns: Path, bank: str, usecase: str) -> str:
    """Return the experiment id for <bank>/<usecase>, creating it on first use."""
    from mlflow.exceptions import MlflowException

    name = experiment_name(bank, usecase)
    exp = mlflow_client.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    try:
        return mlflow_client.create_experiment(
            name,
            artifact_location=artifact_location(mlruns, bank, usecase),
            tags={TAG_BANK: bank, TAG_USECASE: usecase},
        )
    except MlflowException:
        exp = mlflow_client.get_experiment_by_name(name)  # created by a concurrent process
        if exp is None:
            raise
        return exp.experiment_id


@functools.lru_cache(maxsize=1)
def git_commit() -> str:
    root = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        sha = out.stdout.strip()
        if out.returncode == 0 and sha:
            dirty = subprocess.run(
                ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                capture_output=True,
                text=True,
                timeout=5,
            ).stdout.strip()
            return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.TimeoutExpired):
        pass
    return "unknown"


@functools.lru_cache(maxsize=1)
def library_versions() -> dict[str, str]:
    versions = {}
    for lib in TRACKED_LIBRARIES:
        try:
            versions[lib] = importlib.metadata.version(lib)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def run_tags(
    bank: str, usecase: str, actor: str, seed: int | None, data_hash: str | None, device: str
) -> dict[str, str]:
    return {
        TAG_BANK: bank,
        TAG_USECASE: usecase,
        TAG_ACTOR: actor,
        TAG_SEED: "" if seed is None else str(seed),
        TAG_DATA_HASH: data_hash or "",
        TAG_GIT: git_commit(),
        TAG_VERSIONS: json.dumps(library_versions(), sort_keys=True),
        TAG_DEVICE: device,
        "mlflow.user": actor,  # MLflow's "Created by": the sandbox user, not the account the process runs as
    }


def hash_file(path: Path | str, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def hash_frame(df: Any) -> str:
    """A stable content hash of a DataFrame (values and column names)."""
    import pandas as pd

    h = hashlib.sha256()
    h.update(json.dumps([str(c) for c in df.columns]).encode())
    h.update(pd.util.hash_pandas_object(df, index=False).values.tobytes())
    return h.hexdigest()


_OWNERS: dict[tuple[str, str], tuple[str, str] | None] = {}  # (tracking uri, experiment id) -> (bank, usecase)


def parse_experiment_name(name: str) -> tuple[str, str] | None:
    """(bank, usecase) of a sandbox experiment name `<bank>/<usecase>`; None for any other name."""
    from .store import validate_bank_id

    bank, sep, usecase = name.partition("/")
    if not sep or usecase not in USECASES:
        return None
    try:
        validate_bank_id(bank)
    except InvalidInput:
        return None
    return bank, usecase


def experiment_owner(mlflow_client, experiment_id: str) -> tuple[str, str] | None:
    """The (bank, usecase) whose experiment holds `experiment_id`, from the experiment's name, never a run tag.

    Cached per process: experiment ids are never reused, and the server holds every bank's experiment
    names (created up front by the sync), so a name cannot be renamed onto another bank's.
    """
    from mlflow.exceptions import MlflowException

    key = (str(getattr(mlflow_client, "tracking_uri", "")), str(experiment_id))
    if key not in _OWNERS:
        try:
            exp = mlflow_client.get_experiment(str(experiment_id))
        except MlflowException:
            return None  # not cached: a hiccup is not an answer
        _OWNERS[key] = parse_experiment_name(exp.name) if exp is not None else None
    return _OWNERS[key]


def run_bank(mlflow_client, run) -> str | None:
    """The bank that owns the run's experiment (the `sandbox.bank` tag is a client's claim, not this)."""
    owner = experiment_owner(mlflow_client, run.info.experiment_id)
    return owner[0] if owner else None


REVIEW_TAGS = ("review.status", "review.by", "review.comment", "review.at")
IDENTITY_TAGS = (TAG_BANK, TAG_USECASE, TAG_ACTOR) + REVIEW_TAGS  # claims a client can write; shown from the ledger


def run_summary(run, owner: tuple[str, str], ledger) -> dict[str, Any]:
    """A plain (JSON- and pickle-safe) summary of an MLflow run: what the CLI and the app show of it.

    `owner` is the (bank, usecase) of the run's experiment (`experiment_owner`); `ledger` is that bank's
    `sandbox.ledger.Ledger`. Who ran it and its review come from the ledger: a run with no record of the
    sandbox (made straight through MLflow) has actor None and `recorded` False, and a review mirror
    (tags) that disagrees with the ledger is shown as tampered, never believed.
    """
    tags = run.data.tags
    bank, usecase = owner
    record = ledger.run(run.info.run_id)
    review = ledger.review_of(run.info.run_id, tags)
    flags = []
    if record is None:
        flags.append("unrecorded: not started through the sandbox")
    if review["mirror"] == "tampered":
        flags.append("review mirror tampered: its MLflow tags disagree with the ledger")
    if tags.get(TAG_BANK, bank) != bank:
        flags.append(f"bank tag claims {tags.get(TAG_BANK)!r}")
    if record is not None and tags.get(TAG_ACTOR, record.actor) != record.actor:
        flags.append(f"actor tag claims {tags.get(TAG_ACTOR)!r}")
    return {
        "run_id": run.info.run_id,
        "bank": bank,
        "usecase": usecase,
        "run_name": run.info.run_name,
        "status": run.info.status,
        "actor": record.actor if record else None,
        "recorded": record is not None,
        "start_time": run.info.start_time,
        "end_time": run.info.end_time,
        "metrics": dict(run.data.metrics),
        "params": dict(run.data.params),
        "tags": {k: v for k, v in tags.items() if not k.startswith("mlflow.") and k not in IDENTITY_TAGS},
        "review": review,
        "flags": flags,
    }


def search_runs(
    mlflow_client,
    mlruns: Path,
    banks: Iterable[str],
    usecase: str | None = None,
    filter_string: str = "",
    max_results: int = 200,
) -> list:
    """Runs of the given banks only (their own experiments), newest first."""
    exp_ids = []
    for bank in banks:
        for uc in [usecase] if usecase else USECASES:
            exp = mlflow_client.get_experiment_by_name(experiment_name(bank, uc))
            if exp is not None:
                _OWNERS.setdefault(
                    (str(getattr(mlflow_client, "tracking_uri", "")), str(exp.experiment_id)), (bank, uc)
                )
                exp_ids.append(exp.experiment_id)
    if not exp_ids:
        return []
    return list(
        mlflow_client.search_runs(
            exp_ids, filter_string=filter_string, max_results=max_results, order_by=["attributes.start_time DESC"]
        )
    )


def get_run_of_bank(mlflow_client, run_id: str, bank: str):
    """Fetch a run and prove it belongs to `bank`; a run of another bank is 'not found'."""
    from mlflow.exceptions import MlflowException

    try:
        run = mlflow_client.get_run(run_id)
    except MlflowException:
        run = None
    if run is None or run_bank(mlflow_client, run) != bank:  # the experiment's bank, whatever the tags say
        raise NotFound(f"run {run_id} not found in bank {bank}", "list the bank's runs with `sandbox runs list BANK`")
    return run
