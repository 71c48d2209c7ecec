"""A bank's MLflow runs, artifacts and registered models, as the workspace door hands them out.

`start_run` opens a run in `<bank>/<usecase>`, tagged, metered and recorded in the bank's ledger (who ran
it is the ledger's word, not a tag). The other functions read and register; the door (sandbox/workspace.py)
checks access before it calls any of them, and passes only what it checked.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import tracking
from .compute import Meter, _cpu_seconds, detect_device, outermost
from .metric_writer import log_compute

if TYPE_CHECKING:
    from .workspace import WorkspaceContext


@contextmanager
def start_run(
    ctx: WorkspaceContext,
    usecase: str,
    run_name: str | None,
    *,
    seed: int | None,
    data_hash: str | None,
    params: dict | None,
    tags: dict | None,
) -> Iterator[Any]:
    """The run itself (access, use case and quota already checked by the door)."""
    import mlflow

    uri = tracking.tracking_uri(ctx.store.mlruns)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    exp_id = ctx.experiment_id(usecase)
    device = detect_device()
    all_tags = tracking.run_tags(ctx.bank, usecase, ctx.actor.name, seed, data_hash, device)
    all_tags.update(tags or {})
    t0, c0 = time.perf_counter(), _cpu_seconds()
    status = "FINISHED"
    with outermost() as first, mlflow.start_run(experiment_id=exp_id, run_name=run_name, tags=all_tags) as active:
        run_id = active.info.run_id
        ctx._record(f"{usecase}.run.start", run_id=run_id, run_name=run_name)  # who ran it: the ledger's word
        if params:
            mlflow.log_params(params)
        try:
            yield active
        except BaseException as exc:
            status = "FAILED"
            ctx._record(f"{usecase}.run.failed", run_id=run_id, error=type(exc).__name__)
            raise
        finally:
            meter = Meter(device=device, wall_s=time.perf_counter() - t0, cpu_s=_cpu_seconds() - c0)
            log_compute(ctx.client(), run_id, meter)
            if first:  # inside metered work (an assurance campaign training a model) the outer block counts it
                ctx.ledger.record(ctx.bank, ctx.actor.name, usecase=usecase, run_id=run_id, meter=meter)
            if status == "FINISHED":
                ctx._record(
                    f"{usecase}.run",
                    run_id=run_id,
                    run_name=run_name,
                    device=device,
                    wall_s=round(meter.wall_s, 3),
                    cpu_s=round(meter.cpu_s, 3),
                )


def artifact_paths(client: Any, run_id: str, path: str | None = None) -> list[str]:
    """Every file artifact of a run under `path`, walking folders."""
    out: list[str] = []

    def walk(p: str | None) -> None:
        for info in client.list_artifacts(run_id, p):
            if info.is_dir:
                walk(info.path)
            else:
                out.append(info.path)

    walk(path)
    return out


def download_artifact(mlruns: Path, run_id: str, artifact_path: str) -> Path:
    """Download (or locate) one artifact of a run the door already fetched for this bank."""
    import mlflow

    return Path(
        mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path=artifact_path, tracking_uri=tracking.tracking_uri(mlruns)
        )
    )


def register_artifacts(client, bank: str, usecase: str, source: str, run_id: str) -> Any:
    """Register a run's artifact folder that is not an MLflow model (a chat configuration) as <bank>.<usecase>:
    `mlflow.register_model` only takes logged models, so the registered model is made here when missing."""
    from mlflow.exceptions import MlflowException

    name = tracking.registered_model_name(bank, usecase)
    try:
        client.get_registered_model(name)
    except MlflowException:
        client.create_registered_model(name, tags={tracking.TAG_BANK: bank})
    return client.create_model_version(name, source, run_id=run_id, tags={tracking.TAG_BANK: bank})


def register(bank: str, usecase: str, model_uri: str) -> Any:
    """Register as <bank>.<usecase>, tagged with the bank."""
    import mlflow

    name = tracking.registered_model_name(bank, usecase)
    with contextlib.redirect_stdout(sys.stderr):  # MLflow prints "Successfully registered..." (breaks --json)
        return mlflow.register_model(model_uri, name, tags={tracking.TAG_BANK: bank})
