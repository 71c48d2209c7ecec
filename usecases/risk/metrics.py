"""Discrimination, calibration and stability metrics for PD models (snake_case names throughout)."""

from __future__ import annotations

import numpy as np

PSI_WATCH = 0.10  # PSI at or above: the population has moved; look at it
PSI_ACTION = 0.25  # PSI at or above: significant shift


def auc(y: np.ndarray, p: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p))


def ks(y: np.ndarray, p: np.ndarray) -> float:
    """Kolmogorov-Smirnov: the largest gap between the score distributions of defaulters and non-defaulters."""
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(y, p)
    return float(np.max(tpr - fpr))


def brier(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean((np.asarray(p, float) - np.asarray(y, float)) ** 2))


def calibration_table(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict]:
    """Predicted vs observed default rate in equal-count bins of the predicted PD."""
    y, p = np.asarray(y, float), np.asarray(p, float)
    order = np.argsort(p, kind="stable")
    rows = []
    for chunk in np.array_split(order, bins):
        if len(chunk) == 0:
            continue
        rows.append({"predicted": float(p[chunk].mean()), "observed": float(y[chunk].mean()), "count": int(len(chunk))})
    return rows


def calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: count-weighted mean |observed - predicted| over equal-count PD bins."""
    rows = calibration_table(y, p, bins)
    n = sum(r["count"] for r in rows)
    return float(sum(r["count"] * abs(r["observed"] - r["predicted"]) for r in rows) / n)


def summary(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """The standard panel for a PD (higher p = riskier)."""
    a = auc(y, p)
    return {
        "auc": a,
        "gini": 2 * a - 1,
        "ks": ks(y, p),
        "brier": brier(y, p),
        "calibration_error": calibration_error(y, p),
        "default_rate": float(np.mean(y)),
        "mean_pd": float(np.mean(p)),
        "rows": int(len(y)),
    }


def roc_points(y: np.ndarray, p: np.ndarray, max_points: int = 200) -> dict[str, list[float]]:
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(y, p)
    if len(fpr) > max_points:
        idx = np.unique(np.linspace(0, len(fpr) - 1, max_points).round().astype(int))
        fpr, tpr = fpr[idx], tpr[idx]
    return {"fpr": [round(float(v), 5) for v in fpr], "tpr": [round(float(v), 5) for v in tpr]}


def numeric_edges(baseline: np.ndarray, bins: int = 10) -> np.ndarray:
    """Inner decile edges of a baseline sample (unique), for PSI of a numeric variable."""
    x = np.asarray(baseline, float)
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return np.array([])
    return np.unique(np.quantile(x, np.linspace(0, 1, bins + 1)[1:-1]))


def bucketise(x: np.ndarray, edges: np.ndarray | None = None, special: tuple[float, ...] = ()) -> np.ndarray:
    """Bucket labels for PSI: numeric buckets by edges, special codes and missing values in buckets of their own."""
    if edges is None:  # categorical
        return np.asarray(["<missing>" if v is None or v != v else str(v) for v in x], dtype=object)
    x = np.asarray(x, float)
    out = np.digitize(np.nan_to_num(x, nan=0.0), edges).astype(object)
    for code in special:
        out[x == code] = f"special {code:g}"
    out[np.isnan(x)] = "<missing>"
    return out


def psi(expected: np.ndarray, actual: np.ndarray, eps: float = 1e-4) -> float:
    """Population stability index between two samples of bucket labels."""
    labels, codes = np.unique(
        np.concatenate([np.asarray(expected, dtype=object), np.asarray(actual, dtype=object)]).astype(str),
        return_inverse=True,
    )
    return psi_codes(codes[: len(expected)], codes[len(expected) :], len(labels), eps)


def psi_codes(expected: np.ndarray, actual: np.ndarray, k: int, eps: float = 1e-4) -> float:
    """PSI from integer bucket codes 0..k-1 (the fast path used per vintage)."""
    e = np.maximum(np.bincount(expected, minlength=k) / max(len(expected), 1), eps)
    a = np.maximum(np.bincount(actual, minlength=k) / max(len(actual), 1), eps)
    return float(np.sum((a - e) * np.log(a / e)))


def psi_level(value: float) -> str:
    return "significant" if value >= PSI_ACTION else "watch" if value >= PSI_WATCH else "stable"
