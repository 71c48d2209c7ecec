"""Reason codes: the top adverse factors of each applicant, in plain language.

XGBoost: exact TreeSHAP contributions (per-leaf tables, `treeshap`; equal to
XGBoost's `pred_contribs` and `shap.TreeExplainer`, checked in the tests and the
benchmark) scaled into calibrated log-odds; a factor is adverse when it pushes
the PD up. Scorecard: points lost per attribute, i.e. the best points the
variable can give minus the applicant's points.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .schema import FEATURE_NAMES, Clean
from .simulator import DSR_LIMIT

_PRODUCT_NAME = {"mortgage": "mortgage", "credit_card": "credit card", "personal_loan": "personal loan"}
_LABEL = {
    "civil_servant": "civil servant",
    "salaried": "salaried",
    "self_employed": "self-employed",
    "part_time": "part-time",
    "unemployed": "unemployed",
    "private_owned": "owner-occupied private housing",
    "subsidised_ownership": "subsidised home ownership",
    "with_family": "living with family",
    "private_rented": "private rented housing",
    "public_rental": "public rental housing",
}


@dataclass
class Explanation:
    index: int
    applicant_id: Any
    model: str
    probability: float
    score: float
    decision: str
    reasons: list[str]
    factors: list[dict] = field(default_factory=list)
    model_version: str = ""  # the registered version that decided (sandbox/lifecycle.py)
    model_stage: str = ""  # champion, or candidate ... when a scientist named another version

    def to_dict(self) -> dict:
        return asdict(self)


def _count(k: float, what: str) -> str:
    k = int(k)
    return f"{k} {what}" if k != 1 else f"1 {what.replace('payments', 'payment').replace('enquiries', 'enquiry')}"


def sentence(name: str, value: Any, product: str | None) -> str:
    """One plain-language adverse reason for a feature value."""
    missing = value is None or (isinstance(value, float) and value != value)
    if name == "monthly_income":
        return "Monthly income was not declared" if missing else f"Monthly income HK${value:,.0f} is low"
    if name == "employment_type":
        return f"Employment type ({_LABEL.get(value, value)}) carries higher risk"
    if name == "employment_tenure_years":
        if missing:
            return "Employment tenure was not stated"
        return (
            "Employment tenure of less than a year is short"
            if value < 1
            else f"Employment tenure of {value:g} years is short"
        )
    if name == "housing":
        return f"Housing ({_LABEL.get(value, value)}) is associated with higher risk"
    if name == "debt_servicing_ratio":
        if missing:
            return "Debt servicing ratio could not be computed (income not declared)"
        limit = DSR_LIMIT.get(product or "", None)
        tail = f" (guide {limit:.0%})" if limit is not None and value > limit else ""
        return f"Debt servicing ratio {value:.0%} is high for this product{tail}"
    if name == "credit_utilisation":
        return (
            "No revolving credit line on the credit report" if value < 0 else f"Credit utilisation {value:.0%} is high"
        )
    if name in ("dpd_30_count", "dpd_60_count", "dpd_90_count"):
        if value < 0:
            return "No credit bureau record"
        days = name.split("_")[1]
        return _count(value, f"payments {days}+ days past due on the credit report")
    if name == "bureau_enquiries_6m":
        return "No credit bureau record" if value < 0 else _count(value, "credit enquiries in the last 6 months")
    if name == "bureau_grade":
        return "No credit bureau record" if missing else f"Bureau grade {value} is weak"
    if name == "product":
        return f"The product ({_PRODUCT_NAME.get(value, value)}) carries higher risk"
    if name == "loan_to_value":
        if missing:  # not a mortgage: what the model holds against it is the product
            return sentence("product", product, product)
        return f"Loan-to-value {value:.0%} is high"
    return f"{name} = {value}"


def _value_columns(clean: Clean) -> list[list[Any]]:
    """Per feature, the applicant values as plain Python objects (fast to format)."""
    return [(clean.text[n] if n in clean.text else clean.numeric[n]).tolist() for n in FEATURE_NAMES]


def reasons(clean: Clean, impact: np.ndarray, top: int) -> list[tuple[list[str], list[dict]]]:
    """Top adverse factors per simulated applicant, in the simulator's plain language."""
    products = clean.text["product"].tolist()
    return top_factors(
        impact,
        top,
        FEATURE_NAMES,
        _value_columns(clean),
        lambda i, j, val: sentence(FEATURE_NAMES[j], val, products[i]),
        lambda val: None if isinstance(val, float) and val != val else val,
    )


def top_factors(
    impact: np.ndarray,
    top: int,
    names: Sequence[str],
    values: list[list[Any]],
    say: Callable[[int, int, Any], str],
    show: Callable[[Any], Any],
) -> list[tuple[list[str], list[dict]]]:
    """Top adverse factors per applicant from an (n x features) impact matrix (higher = more adverse): `say` words
    applicant i's value of feature j, `show` gives the value as a factor carries it. Factors worded alike (thin-file
    fields: "No credit bureau record") merge into one reason with their impacts summed."""
    k = min(top + 3, impact.shape[1])  # a few spare: merged factors do not use up the `top`
    order = np.argsort(-impact, axis=1, kind="stable")[:, :k]
    out = []
    imp_list = impact.tolist()
    for i, row in enumerate(order.tolist()):
        texts: list[str] = []
        factors: list[dict] = []
        for j in row:
            v = imp_list[i][j]
            if v <= 1e-9:
                break
            val = values[j][i]
            text = say(i, j, val)
            if text in texts:
                factors[texts.index(text)]["impact"] += v
                continue
            if len(texts) == top:
                break
            texts.append(text)
            factors.append({"feature": names[j], "value": show(val), "impact": v})
        for f in factors:
            f["impact"] = round(f["impact"], 4)
        out.append((texts, factors))
    return out


def explain_rows(
    ctx, models: Any, model: str, rows: Any, matrix: Callable[[], np.ndarray], why: Callable, **audit: Any
) -> list[Explanation]:
    """Decisions and adverse reasons of `rows` (applicants with `n` and `ids`) by the loaded `models`: XGBoost
    by exact TreeSHAP contributions (`matrix` gives its input), the scorecard by points lost; audited."""
    cut, sc = models.sidecar["cutoffs"], models.scorecard
    if model == "xgboost":
        nthread = 1 if rows.n < 256 else max(1, os.cpu_count() or 1)
        impact, base = models.xgboost.contributions(matrix(), nthread=nthread)
        z = impact.sum(axis=1) + base
        prob = 1.0 / (1.0 + np.exp(-z))
        score = sc.offset - sc.factor * z
        decline = prob > cut["xgboost"]
    else:
        pts = sc.points(rows)
        score = pts.sum(axis=1)
        prob = sc.pd_from_score(score)
        # Points lost vs the variable's best attribute, for the attributes that score below the typical applicant.
        impact = np.where(pts < sc.typical_points()[None, :], sc.best_points()[None, :] - pts, 0.0)
        decline = score < cut["scorecard_score"]
    reasons_ = why(impact)
    out = [
        Explanation(
            index=i,
            applicant_id=rows.ids[i],
            model=model,
            probability=round(float(prob[i]), 6),
            score=round(float(score[i]), 2),
            decision="decline" if decline[i] else "approve",
            reasons=reasons_[i][0],
            factors=reasons_[i][1],
            model_version=models.version,
            model_stage=models.stage,
        )
        for i in range(rows.n)
    ]
    ctx.audit(
        "risk.explain", model=model, run_id=models.run_id, applicants=rows.n, declined=int(np.sum(decline)), **audit
    )
    return out
