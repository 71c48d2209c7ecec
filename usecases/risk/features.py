"""Declared risk directions of the model features, and how each model sees them.

A direction is what a credit officer would sign off: +1 means "a higher value
means a higher default risk", -1 the opposite, 0 "no monotone promise"
(categories). XGBoost's monotone constraints are built from this table and
nothing else, and the monotonicity check walks exactly these features.
"""

from __future__ import annotations

from .schema import FEATURE_NAMES, FIELDS

# +1: risk rises with the value; -1: risk falls; 0: unconstrained (categories).
DIRECTIONS: dict[str, int] = {
    "monthly_income": -1,
    "employment_type": 0,
    "employment_tenure_years": -1,
    "housing": 0,
    "debt_servicing_ratio": +1,
    "credit_utilisation": +1,
    "dpd_30_count": +1,
    "dpd_60_count": +1,
    "dpd_90_count": +1,
    "bureau_enquiries_6m": +1,
    "bureau_grade": +1,  # A (best) .. J (worst), coded 0..9
    "product": 0,
    "loan_to_value": +1,
}
assert tuple(DIRECTIONS) == FEATURE_NAMES, "every model feature needs a declared direction, in model order"

CONSTRAINED: tuple[str, ...] = tuple(n for n, d in DIRECTIONS.items() if d != 0)


def monotone_constraints() -> tuple[int, ...]:
    """XGBoost's `monotone_constraints`, one entry per feature in model order."""
    return tuple(DIRECTIONS[n] for n in FEATURE_NAMES)


def scorecard_dtype(name: str) -> str:
    """How OptBinning bins a feature: categories by category, everything else numerically."""
    return "categorical" if FIELDS[name].kind == "category" else "numerical"
