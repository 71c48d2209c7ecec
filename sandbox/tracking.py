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
from pathlib import Path
from typing import Any, Iterable

from .errors import InvalidInput, NotFound

USECASES: tuple[str, ...] = ("fraud", "risk", "chat")
TAG_BANK, TAG_USECASE, TAG_ACTOR = "sandbox.bank", "sandbox.usecase", "sandbox.actor"
TAG_SEED, TAG_DATA_HASH, TAG_GIT, TAG_VERSIONS = "sandbox.seed", "sandbox.data_hash", "sandbox.git_commit", "sandbox.versions"
TAG_DEVICE = "sandbox.device"
TRACKED_LIBRARIES = ("mlflow", "numpy", "pandas", "scikit-learn", "xgboost-cpu", "xgboost", "optbinning", "shap",
                     "fairlearn", "faiss-cpu", "sentence-transformers", "langchain-core", "torch", "dask")

os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
os.environ.setdefault("MLFLOW_TRACKING_INSECURE_TLS", "false")


def tracking_uri(mlruns: Path) -> str:
    remote = os.environ.get("SANDBOX_TRACKING_URI", "").strip()
    if remote:
        return remote
    return f"sqlite:///{Path(mlruns).resolve() / 'mlflow.db'}"


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
        return mlflow_client.create_experiment(name, artifact_location=artifact_location(mlruns, bank, usecase),
                                               tags={TAG_BANK: bank, TAG_USECASE: usecase})
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
            dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                                   capture_output=True, text=True, timeout=5).stdout.strip()
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


def run_tags(bank: str, usecase: str, actor: str, seed: int | None, data_hash: str | None, device: str) -> dict[str, str]:
    return {
        TAG_BANK: bank, TAG_USECASE: usecase, TAG_ACTOR: actor,
        TAG_SEED: "" if seed is None else str(seed), TAG_DATA_HASH: data_hash or "",
        TAG_GIT: git_commit(), TAG_VERSIONS: json.dumps(library_versions(), sort_keys=True),
        TAG_DEVICE: device,
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


def run_bank(run) -> str | None:
    return run.data.tags.get(TAG_BANK)


REVIEW_TAGS = ("review.status", "review.by", "review.comment", "review.at")


def run_summary(run) -> dict[str, Any]:
    """A plain (JSON- and pickle-safe) summary of an MLflow run: what the CLI and the app show of it."""
    tags = run.data.tags
    return {
        "run_id": run.info.run_id, "bank": tags.get(TAG_BANK), "usecase": tags.get(TAG_USECASE),
        "run_name": run.info.run_name, "status": run.info.status, "actor": tags.get(TAG_ACTOR),
        "start_time": run.info.start_time, "end_time": run.info.end_time,
        "metrics": dict(run.data.metrics), "params": dict(run.data.params),
        "tags": {k: v for k, v in tags.items() if not k.startswith("mlflow.")},
        "review": {k.split(".", 1)[1]: tags.get(k, "") for k in REVIEW_TAGS},
    }


def search_runs(mlflow_client, mlruns: Path, banks: Iterable[str], usecase: str | None = None,
                filter_string: str = "", max_results: int = 200) -> list:
    """Runs of the given banks only (their own experiments), newest first."""
    exp_ids = []
    for bank in banks:
        for uc in ([usecase] if usecase else USECASES):
            exp = mlflow_client.get_experiment_by_name(experiment_name(bank, uc))
            if exp is not None:
                exp_ids.append(exp.experiment_id)
    if not exp_ids:
        return []
    return list(mlflow_client.search_runs(exp_ids, filter_string=filter_string, max_results=max_results,
                                          order_by=["attributes.start_time DESC"]))


def get_run_of_bank(mlflow_client, run_id: str, bank: str):
    """Fetch a run and prove it belongs to `bank`; a run of another bank is 'not found'."""
    from mlflow.exceptions import MlflowException

    try:
        run = mlflow_client.get_run(run_id)
    except MlflowException:
        run = None
    if run is None or run_bank(run) != bank:
        raise NotFound(f"run {run_id} not found in bank {bank}", "list the bank's runs with `sandbox runs list BANK`")
    return run
