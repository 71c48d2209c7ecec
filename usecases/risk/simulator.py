"""Synthetic Hong Kong credit applicants with a known ground truth.

The ground-truth process (what the tests and the benchmark check the models
against). Each applicant has a latent creditworthiness q ~ N(0, 1) (higher is
better) that the bureau fields reflect; sex and age are drawn independently of
q and of every risk driver, so with `bias=0` nothing links a protected group to
risk. Default within 12 months happens when

    logit = sum of the terms below - 0.30 q + shock,   shock ~ N(0, 1.5^2)

(`shock`: life events no field shows). With DSR the debt servicing ratio
(capped at 1), U credit utilisation, D30/D60/D90 delinquency counts, E bureau
enquiries in 6 months (capped at 10), G the bureau grade index (A=0 .. J=9), T
employment tenure in years, I monthly income in HKD, L[p] the product's DSR
guide (credit card 35%, mortgage 50%, personal loan 65%), s(x) the logistic
function and R = s((25,000 - I) / 4,000) (below-median incomes revolve
balances), the terms (`ground_truth_terms`) are:

    intercept                       -6.1
    dsr_over_limit_x_income         wD[p] * 2 tanh(X / 2) * (0.1 + 2.2 R),  X = 0.05 softplus((DSR - L[p]) / 0.05) / 0.10
    utilisation_x_product_x_income  wU[p] * (1.2 U + 2 max(U - 0.8, 0)) * (0.1 + 2.0 R)
    utilisation_x_dpd30             2 U min(D30, 3) / 3
    utilisation_x_dsr               2 U max(DSR - 0.3, 0) / 0.3
    delinquency                     0.15 min(D30, 5) + 0.30 min(D60, 4) + 0.50 min(D90, 3)
    enquiries_x_product             wE[p] * (0.10 E + 0.20 max(E - 3, 0))
    bureau_grade                    0.06 G
    tenure_x_employment             -0.35 log(1 + T) * (3 if self-employed else 1)
    income_x_verification           -0.45 log(I / 22,000) * v[employment]
    employment                      civil servant -0.5, salaried 0, self-employed +0.3, part-time +0.35, unemployed +0.8
    housing                         private owned -0.35, subsidised ownership -0.2, with family 0,
                                    private rented +0.15, public rental +0.25
    product                         mortgage -0.7, credit card +0.1, personal loan +0.3
    ltv_x_dsr                       3 max(LTV - 0.6, 0) * DSR / 0.5   (mortgages only)
    thin_file                       +0.35 if no bureau record, +0.15 if no revolving line
    risk_layering                   3 (Su Sd + Su Se + Sd Se),  Su = s((U - 0.75) / 0.04),
                                    Sd = s((DSR - L[p]) / 0.03), Se = s((E - 3.5) / 0.4)

with product weights wU (card 4.0, loan 0.3, mortgage 0), wD (mortgage 2.0,
loan 1.5, card 0.3), wE (card 0.7, loan 2.5, mortgage 0.3) and income
reliability v (civil servant 1.5, salaried 1.2, self-employed 0.2, part-time
0.6, unemployed 0.3: a declared income says less when no payslip backs it).

Every term is monotone in its risk drivers in the declared direction
(features.DIRECTIONS). The interactions are the realistic ones credit
officers talk about: each product has its own drivers and DSR guide,
utilisation hurts revolvers (lower incomes) far more than transactors, and
risk layering (two or more stress signals together) is worse than the sum of
its parts. An additive scorecard can only average them; a tree model can
represent them. `true_pd` stores P(default | terms, q) with the shock
integrated out (probit approximation) and without the bias term.

Knobs:

* `drift` (0 = none): vintage v of V gets shift s = drift * v / (V - 1):
  DSR + 0.10 s, utilisation logit + 0.8 s, enquiry rate x exp(0.6 s): a
  rising-rates environment. Drifted features: `DRIFTED_FEATURES`. The
  ground-truth formula is unchanged (covariate drift).
* `bias` (0 = none): historical bias against women and applicants aged 18-29,
  three ways: biased inputs (their recorded income is their true income x
  exp(-0.3 bias), as if part of it went uncounted at verification, so their
  recorded DSR is higher by the same factor; their recorded bureau grade is
  worse than their true grade by 0.8 * bias standard deviations), and 0.6 * bias is added to
  the default logit for each of the two groups an applicant belongs to (label
  bias: defaults recorded that true risk does not explain).

Missing values and special codes follow `schema` (income not declared 3%,
more for the self-employed; tenure not stated 2%; thin file 5% with bureau
fields -1 and no grade; no revolving line 8% with utilisation -1).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .schema import (
    AGE_BANDS,
    BUREAU_GRADES,
    EMPLOYMENT_TYPES,
    FEATURE_NAMES,
    HOUSING_TYPES,
    LABEL,
    PRODUCTS,
    SPECIAL_NO_BUREAU,
    SPECIAL_NO_REVOLVING,
    age_band,
)

DRIFTED_FEATURES: tuple[str, ...] = ("debt_servicing_ratio", "credit_utilisation", "bureau_enquiries_6m")
DISADVANTAGED = {"sex": "F", "age_band": AGE_BANDS[0]}
DSR_LIMIT = {"mortgage": 0.50, "credit_card": 0.35, "personal_loan": 0.65}
EMPLOYMENT_EFFECT = {"civil_servant": -0.5, "salaried": 0.0, "self_employed": 0.3, "part_time": 0.35, "unemployed": 0.8}
HOUSING_EFFECT = {
    "private_owned": -0.35,
    "subsidised_ownership": -0.2,
    "with_family": 0.0,
    "private_rented": 0.15,
    "public_rental": 0.25,
}
PRODUCT_EFFECT = {"mortgage": -0.7, "credit_card": 0.1, "personal_loan": 0.3}
UTILISATION_WEIGHT = {"credit_card": 4.0, "personal_loan": 0.3, "mortgage": 0.0}
DSR_WEIGHT = {"mortgage": 2.0, "personal_loan": 1.5, "credit_card": 0.3}
ENQUIRY_WEIGHT = {"credit_card": 0.7, "personal_loan": 2.5, "mortgage": 0.3}
SHOCK_SD = 1.5  # life events no field shows (job loss, illness): irreducible
LAYERING = 3.0
INCOME_UNDERSTATEMENT = 0.3  # with bias b, the group's recorded income is x exp(-0.3 b)
# Declared income says less when it cannot be verified from payslips.
INCOME_RELIABILITY = {"civil_servant": 1.5, "salaried": 1.2, "self_employed": 0.2, "part_time": 0.6, "unemployed": 0.3}
INTERCEPT = -6.1
LAST_VINTAGE = (2025, 12)


def vintage_names(vintages: int) -> list[str]:
    """Application months, oldest first, ending at LAST_VINTAGE (fixed, so data never depends on today)."""
    y, m = LAST_VINTAGE
    out = []
    for k in range(vintages - 1, -1, -1):
        mm = (y * 12 + m - 1) - k
        out.append(f"{mm // 12:04d}-{mm % 12 + 1:02d}")
    return out


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


def ground_truth_terms(true: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The documented ground-truth logit, term by term, from true (unmasked) values (no noise, no bias)."""
    dsr = np.clip(true["debt_servicing_ratio"], 0.0, 1.0)
    income, util = true["monthly_income"], true["credit_utilisation"]
    d30, d60, d90 = true["dpd_30_count"], true["dpd_60_count"], true["dpd_90_count"]
    enq, grade, tenure, ltv = (
        np.minimum(true["bureau_enquiries_6m"], 10),
        true["bureau_grade"],
        true["employment_tenure_years"],
        true["loan_to_value"],
    )
    product = true["product"]

    def per(table: dict, key: np.ndarray) -> np.ndarray:
        return np.vectorize(table.get, otypes=[float])(key)

    excess = 0.05 * _softplus((dsr - per(DSR_LIMIT, product)) / 0.05) / 0.10
    revolver = _sigmoid((25_000.0 - income) / 4_000.0)  # below-median incomes revolve card balances
    s_dsr = _sigmoid((dsr - per(DSR_LIMIT, product)) / 0.03)
    s_util = _sigmoid((util - 0.75) / 0.04)
    s_enq = _sigmoid((enq - 3.5) / 0.4)
    return {
        "intercept": np.full(len(dsr), INTERCEPT),
        "dsr_over_limit_x_income": per(DSR_WEIGHT, product) * 2.0 * np.tanh(excess / 2.0) * (0.1 + 2.2 * revolver),
        "utilisation_x_product_x_income": per(UTILISATION_WEIGHT, product)
        * (1.2 * util + 2.0 * np.maximum(util - 0.8, 0.0))
        * (0.1 + 2.0 * revolver),
        "utilisation_x_dpd30": 2.0 * util * np.minimum(d30, 3) / 3.0,
        "utilisation_x_dsr": 2.0 * util * np.maximum(dsr - 0.3, 0.0) / 0.3,
        "delinquency": 0.15 * np.minimum(d30, 5) + 0.30 * np.minimum(d60, 4) + 0.50 * np.minimum(d90, 3),
        "enquiries_x_product": per(ENQUIRY_WEIGHT, product) * (0.10 * enq + 0.20 * np.maximum(enq - 3, 0)),
        "bureau_grade": 0.06 * grade,
        "tenure_x_employment": -0.35
        * np.log1p(tenure)
        * np.where(true["employment_type"] == "self_employed", 3.0, 1.0),
        "income_x_verification": -0.45 * np.log(income / 22_000.0) * per(INCOME_RELIABILITY, true["employment_type"]),
        "employment": per(EMPLOYMENT_EFFECT, true["employment_type"]),
        "housing": per(HOUSING_EFFECT, true["housing"]),
        "product": per(PRODUCT_EFFECT, product),
        "ltv_x_dsr": 3.0 * np.maximum(np.nan_to_num(ltv, nan=0.0) - 0.6, 0.0) * dsr / 0.5,
        "thin_file": 0.35 * true["thin_file"] + 0.15 * true["no_revolving"],
        "risk_layering": LAYERING * (s_util * s_dsr + s_util * s_enq + s_dsr * s_enq),
    }


def ground_truth_logit(true: dict[str, np.ndarray]) -> np.ndarray:
    """Sum of `ground_truth_terms`."""
    return np.sum(list(ground_truth_terms(true).values()), axis=0)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def true_pd(z: np.ndarray) -> np.ndarray:
    """P(default) given the ground-truth logit, the unobserved shock integrated out (probit approximation)."""
    return 1.0 / (1.0 + np.exp(-np.asarray(z) / np.sqrt(1.0 + np.pi * SHOCK_SD**2 / 8.0)))


def _choice(rng: np.random.Generator, options: tuple[str, ...], logits: np.ndarray) -> np.ndarray:
    """Draw one option per row from row-wise logits (n x k)."""
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    u = rng.random(len(p))[:, None]
    idx = (p.cumsum(axis=1) < u).sum(axis=1)
    return np.asarray(options, dtype=object)[np.minimum(idx, len(options) - 1)]


GRADE_CUTS = np.array([-1.2816, -0.8416, -0.5244, -0.2533, 0.0, 0.2533, 0.5244, 0.8416, 1.2816])  # deciles of N(0,1)


def _draw_person(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Sex and age (independent of risk), and the latent creditworthiness q."""
    sex = np.where(rng.random(n) < 0.5, "F", "M").astype(object)
    age = np.clip(np.round(rng.normal(41, 11.5, n)), 21, 75)
    return {"sex": sex, "age": age, "band": age_band(age), "q": rng.normal(0, 1, n)}


def _draw_work(rng: np.random.Generator, n: int, q: np.ndarray, age: np.ndarray) -> dict[str, np.ndarray]:
    """Employment type, true monthly income and employment tenure."""
    emp = _choice(rng, EMPLOYMENT_TYPES, np.tile(np.log([0.08, 0.62, 0.14, 0.11, 0.05]), (n, 1)))
    emp_income = np.vectorize(
        {"civil_servant": 0.35, "salaried": 0.0, "self_employed": 0.1, "part_time": -0.6, "unemployed": -1.2}.get,
        otypes=[float],
    )(emp)
    sigma = np.where(emp == "self_employed", 0.75, 0.5)
    income = np.round(22_000 * np.exp(emp_income + 0.15 * q + sigma * rng.normal(0, 1, n)), -2)
    income = np.maximum(income, 3_000)
    tenure = np.where(emp == "unemployed", 0.0, np.minimum(rng.gamma(1.5, 3.0, n), age - 18))
    return {"emp": emp, "income": income, "tenure": np.round(tenure, 1)}


def _draw_credit(
    rng: np.random.Generator, n: int, q: np.ndarray, income: np.ndarray, shift: np.ndarray
) -> dict[str, np.ndarray]:
    """Housing, product and the true bureau picture (DSR, LTV, utilisation, delinquencies, enquiries, grade,
    thin file, no revolving line); `shift` is each applicant's vintage drift."""
    log_inc = np.log(income / 22_000)
    housing = _choice(
        rng,
        HOUSING_TYPES,
        np.column_stack(
            [-0.8 + 1.5 * log_inc, -0.9 + 0.5 * log_inc, np.zeros(n), -0.4 + 0.3 * log_inc, -0.3 - 1.5 * log_inc]
        ),
    )
    product = _choice(rng, PRODUCTS, np.column_stack([-1.0 + 1.2 * log_inc, 0.2 * np.ones(n), np.zeros(n)]))
    base_dsr = np.vectorize({"mortgage": 0.36, "credit_card": 0.22, "personal_loan": 0.40}.get, otypes=[float])(product)
    dsr = np.clip(base_dsr * np.exp(0.45 * rng.normal(0, 1, n) - 0.12 * q) + 0.10 * shift, 0.01, 1.5)
    ltv = np.where(product == "mortgage", np.clip(rng.beta(6, 3, n) * 0.95, 0.2, 0.9), np.nan)
    util = np.clip(1.15 / (1 + np.exp(-(-0.9 - 0.7 * q + 0.8 * rng.normal(0, 1, n) + 0.8 * shift))), 0, 1.15)
    d30 = rng.poisson(np.exp(-1.5 - 0.9 * q)).astype(float)
    d60 = rng.poisson(np.exp(-2.6 - 1.0 * q)).astype(float)
    d90 = rng.poisson(np.exp(-3.4 - 1.1 * q)).astype(float)
    enq = rng.poisson(np.exp(0.3 - 0.35 * q + 0.6 * shift)).astype(float)
    grade_latent = -(0.8 * q + 0.6 * rng.normal(0, 1, n))
    thin = rng.random(n) < 0.05
    no_rev = (~thin) & (rng.random(n) < 0.08)
    return {
        "housing": housing,
        "product": product,
        "dsr": dsr,
        "ltv": ltv,
        "util": util,
        "d30": d30,
        "d60": d60,
        "d90": d90,
        "enq": enq,
        "grade_latent": grade_latent,
        "thin": thin,
        "no_rev": no_rev,
    }


def _draw_default(
    rng: np.random.Generator, person: dict, work: dict, credit: dict, bias: float
) -> tuple[np.ndarray, np.ndarray]:
    """The ground-truth logit (documented terms - 0.30 q) and the recorded default: the logit plus the shock
    and, with `bias`, the label bias against each disadvantaged group an applicant belongs to."""
    n = len(person["q"])
    thin, no_rev = credit["thin"], credit["no_rev"]
    true = {
        "debt_servicing_ratio": credit["dsr"],
        "monthly_income": work["income"],
        "credit_utilisation": np.where(thin | no_rev, 0.0, credit["util"]),
        "dpd_30_count": credit["d30"],
        "dpd_60_count": credit["d60"],
        "dpd_90_count": credit["d90"],
        "bureau_enquiries_6m": credit["enq"],
        "bureau_grade": np.digitize(credit["grade_latent"], GRADE_CUTS).astype(float),
        "employment_tenure_years": work["tenure"],
        "loan_to_value": credit["ltv"],
        "product": credit["product"],
        "employment_type": work["emp"],
        "housing": credit["housing"],
        "thin_file": thin.astype(float),
        "no_revolving": no_rev.astype(float),
    }
    terms = ground_truth_terms(true)
    z_true = np.sum(list(terms.values()), axis=0) - 0.30 * person["q"]
    shock = SHOCK_SD * rng.normal(0, 1, n)
    group = (person["sex"] == DISADVANTAGED["sex"]).astype(float) + (
        person["band"] == DISADVANTAGED["age_band"]
    ).astype(float)
    z_label = z_true + shock + 0.6 * bias * group
    default = (rng.random(n) < 1.0 / (1.0 + np.exp(-z_label))).astype(np.int8)
    return z_true, default


def _recorded(rng: np.random.Generator, person: dict, work: dict, credit: dict, bias: float) -> dict[str, np.ndarray]:
    """What the bank records: the biased grade and income, special codes, missing values."""
    n = len(person["q"])
    thin, no_rev = credit["thin"], credit["no_rev"]
    in_group = (person["sex"] == DISADVANTAGED["sex"]) | (person["band"] == DISADVANTAGED["age_band"])
    grade = np.digitize(credit["grade_latent"] + 0.8 * bias * in_group, GRADE_CUTS)
    grade_txt = np.asarray(BUREAU_GRADES, dtype=object)[grade]
    grade_txt[thin] = None
    for arr in (credit["d30"], credit["d60"], credit["d90"], credit["enq"]):  # in place: the frame shows the codes
        arr[thin] = SPECIAL_NO_BUREAU
    util = np.round(np.where(thin | no_rev, SPECIAL_NO_REVOLVING, credit["util"]), 3)
    p_missing_income = np.where(work["emp"] == "self_employed", 0.09, 0.02)
    # Biased income verification: part of the group's income is not counted, so its DSR looks higher too.
    understated = np.exp(-INCOME_UNDERSTATEMENT * bias * in_group)
    income = np.where(rng.random(n) < p_missing_income, np.nan, np.round(work["income"] * understated, -2))
    dsr = np.where(np.isnan(income), np.nan, np.round(np.minimum(credit["dsr"] / understated, 1.5), 3))
    tenure = np.where(rng.random(n) < 0.02, np.nan, work["tenure"])
    return {"grade": grade_txt, "util": util, "income": income, "dsr": dsr, "tenure": tenure}


def generate(applicants: int, vintages: int, seed: int, bias: float = 0.0, drift: float = 0.0) -> pd.DataFrame:
    """Draw the applicants (pure function of its arguments: same seed, same rows).

    One generator, drawn in a fixed order: vintages, the person, their work, their credit, the default, then
    what the bank records."""
    rng = np.random.default_rng(seed)
    n = applicants
    v_index = np.repeat(np.arange(vintages), -(-n // vintages))[:n]
    rng.shuffle(v_index)
    shift = drift * v_index / max(vintages - 1, 1)
    person = _draw_person(rng, n)
    work = _draw_work(rng, n, person["q"], person["age"])
    credit = _draw_credit(rng, n, person["q"], work["income"], shift)
    z_true, default = _draw_default(rng, person, work, credit, bias)
    rec = _recorded(rng, person, work, credit, bias)
    names = vintage_names(vintages)
    df = pd.DataFrame(
        {
            "applicant_id": [f"A{seed % 100000:05d}-{i:07d}" for i in range(n)],
            "vintage": np.asarray(names, dtype=object)[v_index],
            "vintage_index": v_index.astype(np.int16),
            "sex": person["sex"],
            "age": person["age"].astype(np.int16),
            "age_band": person["band"],
            "monthly_income": rec["income"],
            "employment_type": work["emp"],
            "employment_tenure_years": rec["tenure"],
            "housing": credit["housing"],
            "debt_servicing_ratio": rec["dsr"],
            "credit_utilisation": rec["util"],
            "dpd_30_count": credit["d30"],
            "dpd_60_count": credit["d60"],
            "dpd_90_count": credit["d90"],
            "bureau_enquiries_6m": credit["enq"],
            "bureau_grade": rec["grade"],
            "product": credit["product"],
            "loan_to_value": np.round(credit["ltv"], 3),
            LABEL: default,
            "true_pd": true_pd(z_true),
        }
    )
    for c in ("sex", "age_band", "employment_type", "housing", "bureau_grade", "product", "vintage"):
        df[c] = df[c].astype(object)
    assert set(FEATURE_NAMES) <= set(df.columns)
    return df
