"""Fairness at the chosen cut-off, by protected attribute, with fairlearn's MetricFrame.

Outcome coding: y_true = 1 for a default, y_pred = 1 for a decline. So the
false-positive rate is the share of good payers declined, and the approval
rate is 1 - selection rate. Per attribute (sex, age band):

* approval rate per group;
* demographic parity difference (largest gap in approval rates);
* equalized odds difference (largest gap in true- or false-positive rates);
* false-positive-rate ratio (smallest / largest share of good payers declined).

A breach is a difference above `max_difference` (default 0.05) or a ratio below
`min_ratio` (default 0.8). Small groups make these figures noisy (with a few
thousand applicants a perfectly fair model breaches 0.05 by chance about half
the time), so a breach is *flagged* only when it is also beyond sampling noise:
some pair of groups whose own gap breaches the threshold differs significantly
(two-proportion z-test, Bonferroni-corrected over every pair, rate and
attribute tested: family-wise `alpha` 0.05). Breaches within noise are reported as `watch`, with
the group counts beside them, in the table and the model card. `alpha=None`
flags every point-estimate breach.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MAX_DIFFERENCE = 0.05
MIN_RATIO = 0.8
ALPHA = 0.05


def _p_value(x1: int, n1: int, x2: int, n2: int) -> float:
    """Two-sided p-value of a two-proportion z-test (pooled)."""
    import math

    if min(n1, n2) == 0:
        return 1.0
    p = (x1 + x2) / (n1 + n2)
    se = math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0 if x1 / n1 == x2 / n2 else 0.0
    return math.erfc(abs(x1 / n1 - x2 / n2) / se / math.sqrt(2))


def _significant_pairs(counts: list[tuple[int, int]], breach, tests: int, alpha: float | None) -> bool:
    """Is some pair of groups, whose own rates breach, different beyond noise? counts: (events, trials) per group."""
    for i in range(len(counts)):
        for j in range(i + 1, len(counts)):
            (x1, n1), (x2, n2) = counts[i], counts[j]
            if n1 == 0 or n2 == 0 or not breach(x1 / n1, x2 / n2):
                continue
            if alpha is None or _p_value(x1, n1, x2, n2) < alpha / max(tests, 1):
                return True
    return False


def assess(
    y_true: np.ndarray,
    decline: np.ndarray,
    groups: dict[str, np.ndarray],
    max_difference: float = MAX_DIFFERENCE,
    min_ratio: float = MIN_RATIO,
    alpha: float | None = ALPHA,
) -> dict:
    """Fairness table per attribute and group, and the list of breaches."""
    y_true = np.asarray(y_true, dtype=int)
    decline = np.asarray(decline, dtype=int)
    attributes = []
    flags: list[dict] = []
    watch: list[dict] = []
    # Every pairwise test the assessment may run: per attribute, its pairs x (selection, TPR, FPR, FPR ratio).
    sizes = [len(set(np.asarray(v, dtype=object).tolist())) for v in groups.values()]
    tests = sum(4 * k * (k - 1) // 2 for k in sizes)
    for attr, values in groups.items():
        sensitive, by, summary, group_rows = _by_group(attr, values, y_true, decline)
        sel, neg, pos = _decline_counts(sensitive.to_numpy(), list(by.index), y_true, decline)
        checks = _checks(summary, sel, neg, pos, tests, max_difference, min_ratio, alpha)
        attr_flags, attr_watch = [], []
        for metric, breached, threshold, beyond_noise in checks:
            if not breached:
                continue
            entry = {"attribute": attr, "metric": metric, "value": summary[metric], "threshold": threshold}
            if beyond_noise():
                attr_flags.append(metric)
                flags.append(entry)
            else:
                attr_watch.append(metric)
                watch.append(entry)
        attributes.append(
            {"attribute": attr, **summary, "groups": group_rows, "flags": attr_flags, "watch": attr_watch}
        )
    return {
        "thresholds": {"max_difference": max_difference, "min_ratio": min_ratio, "alpha": alpha},
        "attributes": attributes,
        "flags": flags,
        "watch": watch,
    }


def _by_group(attr: str, values, y_true: np.ndarray, decline: np.ndarray):
    """(sensitive column, fairlearn's per-group table, the attribute's summary metrics, the per-group rows)."""
    from fairlearn.metrics import (
        MetricFrame,
        demographic_parity_difference,
        equalized_odds_difference,
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )

    sensitive = pd.Series(np.asarray(values, dtype=object), name=attr)
    mf = MetricFrame(
        metrics={
            "selection_rate": selection_rate,
            "false_positive_rate": false_positive_rate,
            "true_positive_rate": true_positive_rate,
            "count": lambda yt, yp: len(yt),
        },
        y_true=y_true,
        y_pred=decline,
        sensitive_features=sensitive,
    )
    by = mf.by_group
    fpr = by["false_positive_rate"].astype(float)
    summary = {
        "demographic_parity_difference": float(
            demographic_parity_difference(y_true, decline, sensitive_features=sensitive)
        ),
        "equalized_odds_difference": float(equalized_odds_difference(y_true, decline, sensitive_features=sensitive)),
        "fpr_ratio": float(fpr.min() / fpr.max()) if fpr.max() > 0 else 1.0,
    }
    group_rows = [
        {
            "group": str(g),
            "count": int(by.loc[g, "count"]),
            "approval_rate": 1.0 - float(by.loc[g, "selection_rate"]),
            "false_positive_rate": float(by.loc[g, "false_positive_rate"]),
            "true_positive_rate": float(by.loc[g, "true_positive_rate"]),
        }
        for g in by.index
    ]
    return sensitive, by, summary, group_rows


def _decline_counts(values_arr: np.ndarray, cats: list, y_true: np.ndarray, decline: np.ndarray):
    """Counts per group for the noise test: (declines, applicants), (declined good payers, good payers),
    (declined defaulters, defaulters)."""
    sel, neg, pos = [], [], []
    for g in cats:
        m = values_arr == g
        sel.append((int(decline[m].sum()), int(m.sum())))
        neg.append((int(decline[m & (y_true == 0)].sum()), int((m & (y_true == 0)).sum())))
        pos.append((int(decline[m & (y_true == 1)].sum()), int((m & (y_true == 1)).sum())))
    return sel, neg, pos


def _checks(summary: dict, sel, neg, pos, tests: int, max_difference: float, min_ratio: float, alpha):
    """(metric, breached, threshold, beyond_noise()) for each fairness metric of one attribute."""
    gap = lambda a, b: abs(a - b) > max_difference  # noqa: E731
    low_ratio = lambda a, b: max(a, b) > 0 and min(a, b) / max(a, b) < min_ratio  # noqa: E731
    return [
        (
            "demographic_parity_difference",
            summary["demographic_parity_difference"] > max_difference,
            max_difference,
            lambda: _significant_pairs(sel, gap, tests, alpha),
        ),
        (
            "equalized_odds_difference",
            summary["equalized_odds_difference"] > max_difference,
            max_difference,
            lambda: _significant_pairs(pos, gap, tests, alpha) or _significant_pairs(neg, gap, tests, alpha),
        ),
        (
            "fpr_ratio",
            summary["fpr_ratio"] < min_ratio,
            min_ratio,
            lambda: _significant_pairs(neg, low_ratio, tests, alpha),
        ),
    ]


def flag_names(report: dict) -> list[str]:
    return [f"{f['attribute']}.{f['metric']}" for f in report["flags"]]
