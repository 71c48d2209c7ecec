"""A paired bootstrap: is one model really better than another on the same rows, or is it noise?

Both models' scores on the same held-out rows are resampled together (the same rows each time), so the interval
is for the difference itself, not two intervals that overlap. Seeded: the same inputs give the same interval.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .errors import InvalidInput

MAX_RESAMPLES = 5000


def paired(
    y: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    metric: Callable[[np.ndarray, np.ndarray], float],
    *,
    resamples: int = 200,
    seed: int = 0,
    level: float = 0.95,
) -> dict:
    """metric(y, b) - metric(y, a) with its percentile confidence interval over `resamples` paired resamples.
    A resample holding one class only (the metric is undefined there) is drawn again."""
    if isinstance(resamples, bool) or not isinstance(resamples, int) or not 20 <= resamples <= MAX_RESAMPLES:
        raise InvalidInput("resamples", f"{resamples!r} is not a number of resamples", f"give 20 to {MAX_RESAMPLES}")
    y = np.asarray(y)
    if len(y) == 0 or y.min() == y.max():
        raise InvalidInput("held-out rows", "both outcomes are needed to compare models", "use data with both classes")
    rng = np.random.default_rng(seed)
    n, diffs, tries = len(y), [], 0
    while len(diffs) < resamples and tries < resamples * 3:
        tries += 1
        idx = rng.integers(0, n, n)
        yy = y[idx]
        if yy.min() == yy.max():
            continue
        diffs.append(metric(yy, b[idx]) - metric(yy, a[idx]))
    d = np.asarray(diffs)
    tail = (1 - level) / 2
    low, high = (float(np.quantile(d, tail)), float(np.quantile(d, 1 - tail))) if len(d) else (float("nan"),) * 2
    base_a, base_b = float(metric(y, a)), float(metric(y, b))
    verdict = (
        "challenger better"
        if low > 0
        else "champion better"
        if high < 0
        else "no clear difference (the interval holds 0)"
    )
    return {
        "champion": base_a,
        "challenger": base_b,
        "difference": base_b - base_a,
        "ci_low": low,
        "ci_high": high,
        "level": level,
        "resamples": len(d),
        "seed": seed,
        "rows": int(n),
        "positives": int(y.sum()),
        "verdict": verdict,
    }
