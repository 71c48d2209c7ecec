"""The detectors: XGBoost (local threads, a Dask cluster, or a GPU) and a logistic-regression baseline.

Nothing here pickles: XGBoost saves as UBJ/JSON, the baseline as JSON coefficients.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import contextmanager

import numpy as np

from sandbox.errors import InvalidInput

from . import checks

# Chosen on the handbook data with validation windows that end before the protocol's test window
# (train from 2018-07-04 and 2018-07-11): shallow trees, a slow learning rate, fine bins (amount thresholds matter).
XGB_PARAMS = {
    "objective": "binary:logistic",
    "eval_metric": "aucpr",
    "tree_method": "hist",
    "max_depth": 4,
    "learning_rate": 0.05,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "min_child_weight": 1.0,
    "reg_lambda": 5.0,
    "max_bin": 2048,
}
XGB_ROUNDS = 400


def xgb_params(seed: int, device: str, nthread: int | None = None, **overrides) -> dict:
    p = dict(XGB_PARAMS, seed=int(seed), device=device, nthread=int(nthread or os.cpu_count() or 1))
    p.update(overrides)
    return p


def fit_xgb(
    X, y, seed: int = 0, device: str = "cpu", rounds: int = XGB_ROUNDS, progress: Callable | None = None, **overrides
):
    import xgboost as xgb

    params = xgb_params(seed, device, **overrides)
    dtrain = xgb.QuantileDMatrix(
        np.asarray(X, dtype=np.float32),
        label=np.asarray(y, dtype=np.float32),
        feature_names=list(getattr(X, "columns", [])) or None,
        max_bin=params["max_bin"],
    )
    callbacks = [_ProgressCallback(progress, rounds)] if progress else None
    return xgb.train(params, dtrain, num_boost_round=rounds, callbacks=callbacks)


def _ProgressCallback(progress, rounds):
    import xgboost as xgb

    class CB(xgb.callback.TrainingCallback):
        def after_iteration(self, model, epoch, evals_log):
            if epoch % 25 == 0:
                progress(epoch / rounds, f"boosting round {epoch}/{rounds}")
            return False

    return CB()


SCHEDULER_CONNECT_S = 5


def _unreachable(scheduler: str, exc: BaseException) -> InvalidInput:
    why = str(exc)[:120] if isinstance(exc, (OSError, ValueError)) else "it does not answer as a Dask scheduler does"
    return InvalidInput(
        checks.label("scheduler"),
        f"cannot connect to a Dask scheduler at {scheduler!r} ({why})",
        "check the address (e.g. tcp://10.0.0.5:8786) and that `dask scheduler` runs there, or drop "
        "--scheduler to train on a local cluster",
    )


def check_scheduler(scheduler: str) -> None:
    """Open and close one connection to the scheduler, or refuse it in one line within SCHEDULER_CONNECT_S.

    A bare connection, not a Client: a Client that failed to connect leaves a traceback on stderr when collected."""
    import asyncio

    from distributed.comm import connect

    async def probe() -> None:
        comm = await connect(scheduler, timeout=SCHEDULER_CONNECT_S)
        await comm.close()

    try:
        asyncio.run(probe())
    except Exception as exc:  # noqa: BLE001 - a bad address, a refusal, a timeout or a peer that is no scheduler
        raise _unreachable(scheduler, exc) from None


@contextmanager
def dask_client(scheduler: str | None, n_workers: int = 2, threads_per_worker: int = 1):
    """A client to the given scheduler, or to a LocalCluster started (and stopped) here."""
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout=f"{SCHEDULER_CONNECT_S}s")
        except (OSError, ValueError) as exc:
            raise _unreachable(scheduler, exc) from None
        with client:
            yield client
        return
    with (
        LocalCluster(
            n_workers=n_workers, threads_per_worker=threads_per_worker, processes=False, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def fit_xgb_dask(
    X,
    y,
    seed: int = 0,
    device: str = "cpu",
    rounds: int = XGB_ROUNDS,
    scheduler: str | None = None,
    n_workers: int = 2,
    **overrides,
):
    import dask.array as da
    import xgboost.dask as xgb_dask

    Xn = np.asarray(X, dtype=np.float32)
    yn = np.asarray(y, dtype=np.float32)
    names = list(getattr(X, "columns", [])) or None
    with dask_client(scheduler, n_workers=n_workers) as client:
        workers = max(1, len(client.scheduler_info().get("workers", {})) or n_workers)
        chunk = max(1, int(np.ceil(len(Xn) / workers)))
        dX = da.from_array(Xn, chunks=(chunk, Xn.shape[1]))
        dy = da.from_array(yn, chunks=(chunk,))
        params = xgb_params(seed, device, nthread=1, **overrides)
        dtrain = xgb_dask.DaskQuantileDMatrix(client, dX, dy, feature_names=names, max_bin=params["max_bin"])
        params.pop("nthread")
        out = xgb_dask.train(client, params, dtrain, num_boost_round=rounds)
        return out["booster"]


def predict_xgb(booster, X) -> np.ndarray:
    return booster.inplace_predict(np.ascontiguousarray(np.asarray(X, dtype=np.float32)))


def gain_importance(booster, features: list[str]) -> dict[str, float]:
    raw = booster.get_score(importance_type="gain")
    total = sum(raw.values()) or 1.0
    return {f: float(raw.get(f, 0.0) / total) for f in features}


# -- logistic-regression baseline ----------------------------------------------
def _prep(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    return np.nan_to_num(np.sign(X) * np.log1p(np.abs(X)), nan=0.0, posinf=0.0, neginf=0.0)


class LogReg:
    """Signed-log features, standardised, L2 logistic regression; saved as plain JSON."""

    def __init__(self, mean=None, scale=None, coef=None, intercept: float = 0.0):
        self.mean, self.scale, self.coef, self.intercept = mean, scale, coef, intercept

    def fit(self, X, y, seed: int = 0) -> LogReg:
        from sklearn.linear_model import LogisticRegression

        Z = _prep(X)
        self.mean = Z.mean(axis=0)
        self.scale = Z.std(axis=0) + 1e-9
        lr = LogisticRegression(C=1.0, max_iter=1000, random_state=seed)
        lr.fit((Z - self.mean) / self.scale, np.asarray(y))
        self.coef, self.intercept = lr.coef_[0], float(lr.intercept_[0])
        return self

    def predict(self, X) -> np.ndarray:
        z = ((_prep(X) - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def importance(self, features: list[str]) -> dict[str, float]:
        w = np.abs(self.coef)
        return {f: float(v / (w.sum() or 1.0)) for f, v in zip(features, w)}

    def to_json(self) -> dict:
        return {
            "kind": "logreg",
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept,
        }

    @classmethod
    def from_json(cls, d: dict) -> LogReg:
        return cls(np.array(d["mean"]), np.array(d["scale"]), np.array(d["coef"]), float(d["intercept"]))
