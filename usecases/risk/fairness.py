"""Fairness at the chosen cut-off, by protected attribute, with fairlearn's MetricFrame.

Outcome coding: y_true = 1 for a default, y_pred = 1 for a decline. So the
false-positive rate is the share of good payers declined, and the approval
rate is 1 - selection rate. Per attribute (sex, age band):

* approval rate per group;
* demographic parity difference (largest gap in approval rates);
* equalized odds difference (largest gap in true- or false-positive rates);
* false-positive-rate ratio (smallest / largest share of good payers declined).

A breach is a difference above `max_difference` (default 0.05) or a ratio below
`min_ratio` (default 0.8); each breach becomes a flag on the run and in the
model card.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

MAX_DIFFERENCE = 0.05
MIN_RATIO = 0.8


def assess(y_true: np.ndarray, decline: np.ndarray, groups: dict[str, np.ndarray],
           max_difference: float = MAX_DIFFERENCE, min_ratio: float = MIN_RATIO) -> dict:
    """Fairness table per attribute and group, and the list of breaches."""
    from fairlearn.metrics import (MetricFrame, demographic_parity_difference, equalized_odds_difference,
                                   false_positive_rate, selection_rate, true_positive_rate)

    y_true = np.asarray(y_true, dtype=int)
    decline = np.asarray(decline, dtype=int)
    attributes = []
    flags = []
    for attr, values in groups.items():
        sensitive = pd.Series(np.asarray(values, dtype=object), name=attr)
        mf = MetricFrame(metrics={"selection_rate": selection_rate, "false_positive_rate": false_positive_rate,
                                  "true_positive_rate": true_positive_rate, "count": lambda yt, yp: len(yt)},
                         y_true=y_true, y_pred=decline, sensitive_features=sensitive)
        by = mf.by_group
        fpr = by["false_positive_rate"].astype(float)
        summary = {
            "demographic_parity_difference": float(demographic_parity_difference(y_true, decline, sensitive_features=sensitive)),
            "equalized_odds_difference": float(equalized_odds_difference(y_true, decline, sensitive_features=sensitive)),
            "fpr_ratio": float(fpr.min() / fpr.max()) if fpr.max() > 0 else 1.0,
        }
        group_rows = [{"group": str(g), "count": int(by.loc[g, "count"]),
                       "approval_rate": 1.0 - float(by.loc[g, "selection_rate"]),
                       "false_positive_rate": float(by.loc[g, "false_positive_rate"]),
                       "true_positive_rate": float(by.loc[g, "true_positive_rate"])} for g in by.index]
        checks = [("demographic_parity_difference", summary["demographic_parity_difference"] > max_difference, max_difference),
                  ("equalized_odds_difference", summary["equalized_odds_difference"] > max_difference, max_difference),
                  ("fpr_ratio", summary["fpr_ratio"] < min_ratio, min_ratio)]
        attr_flags = []
        for metric, breached, threshold in checks:
            if breached:
                flag = {"attribute": attr, "metric": metric, "value": summary[metric], "threshold": threshold}
                attr_flags.append(flag)
                flags.append(flag)
        attributes.append({"attribute": attr, **summary, "groups": group_rows,
                           "flags": [f["metric"] for f in attr_flags]})
    return {"thresholds": {"max_difference": max_difference, "min_ratio": min_ratio},
            "attributes": attributes, "flags": flags}


def flag_names(report: dict) -> list[str]:
    return [f"{f['attribute']}.{f['metric']}" for f in report["flags"]]
