"""Exact path-dependent TreeSHAP for the risk XGBoost model, with per-leaf tables (the "v2" idea of Fast TreeSHAP).

Why: reason codes need every feature's SHAP value for every applicant, and XGBoost's `pred_contribs` walks the
EXTEND/UNWIND recursion of every leaf for every row, O(leaves x depth^2) per applicant. A leaf's contribution
depends on the applicant only through which of the leaf's path features the applicant satisfies (an on/off pattern
of at most `depth` bits): for fixed covers the values for every pattern can be tabulated once per model, so that an
applicant costs one pattern test and `depth` additions per leaf. The values are the same as XGBoost's (tested to
float32 rounding); they are the classic closed form

    phi_i += v * (o_i - z_i) * sum_{S in D \\ {i}} |S|! (d - |S| - 1)! / d! * prod_{j in S} o_j * prod_{j not in S} z_j

over a leaf's d distinct path features D, with z_j the cover fraction of the path's splits on feature j and o_j = 1
when the applicant takes the path's side of every split on j (a missing value takes the default side).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

MAX_PATH_FEATURES = 12  # 2^12 patterns per leaf at most; deeper trees fall back to XGBoost's own TreeSHAP
MAX_TABLE = 8_000_000  # table entries (64 MB) at most, else the same fallback


@dataclass
class Tables:
    n_features: int
    bias: float  # base margin + every tree's expected value
    leaf_tab: np.ndarray  # per leaf: offset into `table`
    leaf_d: np.ndarray  # per leaf: distinct path features
    leaf_feat: np.ndarray  # per leaf x MAX: feature of each slot
    cond_start: np.ndarray  # per leaf: first condition (conditions of leaf l: cond_start[l]..cond_start[l+1])
    cond_slot: np.ndarray
    cond_feat: np.ndarray
    cond_thr: np.ndarray  # float32, as XGBoost compares
    cond_left: np.ndarray  # the path goes left at this split
    cond_default_left: np.ndarray
    table: np.ndarray  # float64: for each leaf, 2^d patterns x d values (the leaf value included)


def build(booster) -> Tables | None:
    """Tables for a binary:logistic booster's margin; None when a tree is too deep for tables."""
    model = json.loads(bytes(booster.save_raw("json")))
    learner = model["learner"]
    n_features = int(learner["learner_model_param"]["num_feature"])
    base_score = float(str(learner["learner_model_param"]["base_score"]).strip("[]"))
    base_margin = math.log(base_score / (1.0 - base_score))
    leaf_d, leaf_feat, leaf_z, leaf_v = [], [], [], []
    cond_start, cond_slot, cond_feat, cond_thr, cond_left, cond_dl = [0], [], [], [], [], []
    for tree in model["learner"]["gradient_booster"]["model"]["trees"]:
        if any(t != 0 for t in tree["split_type"]):
            return None  # categorical splits: not tabulated here
        left, right = tree["left_children"], tree["right_children"]
        feat, thr, dleft, cover = (
            tree["split_indices"],
            tree["split_conditions"],
            tree["default_left"],
            tree["sum_hessian"],
        )
        stack = [(0, [])]  # (node, path: (node, went_left))
        while stack:
            node, path = stack.pop()
            if left[node] == -1:
                slots: dict[int, int] = {}
                z: list[float] = []
                for parent, went_left in path:
                    f = feat[parent]
                    if f not in slots:
                        slots[f] = len(slots)
                        z.append(1.0)
                    child = left[parent] if went_left else right[parent]
                    z[slots[f]] *= cover[child] / cover[parent]
                    cond_slot.append(slots[f])
                    cond_feat.append(f)
                    cond_thr.append(thr[parent])
                    cond_left.append(went_left)
                    cond_dl.append(bool(dleft[parent]))
                if len(slots) > MAX_PATH_FEATURES:
                    return None
                cond_start.append(len(cond_slot))
                leaf_d.append(len(slots))
                leaf_feat.append(list(slots) + [0] * (MAX_PATH_FEATURES - len(slots)))
                leaf_z.append(z + [0.0] * (MAX_PATH_FEATURES - len(z)))
                leaf_v.append(float(thr[node]))  # a leaf's value is stored in split_conditions
                continue
            stack.append((right[node], path + [(node, False)]))
            stack.append((left[node], path + [(node, True)]))
    d = np.asarray(leaf_d, dtype=np.int64)
    sizes = (1 << d) * d
    if sizes.sum() > MAX_TABLE:
        return None
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    z = np.asarray(leaf_z, dtype=np.float64)
    v = np.asarray(leaf_v, dtype=np.float64)
    table = np.zeros(int(sizes.sum()), dtype=np.float64)
    _fill_tables(d, z, v, offsets, table)
    bias = base_margin + float(np.sum(v * np.prod(np.where(np.arange(MAX_PATH_FEATURES) < d[:, None], z, 1.0), axis=1)))
    return Tables(
        n_features,
        bias,
        offsets,
        d,
        np.asarray(leaf_feat, dtype=np.int64),
        np.asarray(cond_start, np.int64),
        np.asarray(cond_slot, np.int64),
        np.asarray(cond_feat, np.int64),
        np.asarray(cond_thr, np.float32),
        np.asarray(cond_left, np.bool_),
        np.asarray(cond_dl, np.bool_),
        table,
    )


@njit(cache=True)
def _fill_tables(d, z, v, offsets, table):
    for leaf in range(len(d)):
        n = d[leaf]
        if n == 0:
            continue
        w = np.empty(n)  # |S|! (n - |S| - 1)! / n!
        for s in range(n):
            w[s] = math.exp(math.lgamma(s + 1) + math.lgamma(n - s) - math.lgamma(n + 1))
        coef = np.empty(n)
        for pattern in range(1 << n):
            base = offsets[leaf] + pattern * n
            for i in range(n):
                # coef[s] = sum over subsets S of the other features with |S| = s of prod o_j (in S) prod z_j (not in S)
                coef[:] = 0.0
                coef[0] = 1.0
                m = 0
                for j in range(n):
                    if j == i:
                        continue
                    o = 1.0 if (pattern >> j) & 1 else 0.0
                    for s in range(m + 1, 0, -1):
                        coef[s] = coef[s] * z[leaf, j] + coef[s - 1] * o
                    coef[0] = coef[0] * z[leaf, j]
                    m += 1
                total = 0.0
                for s in range(n):
                    total += w[s] * coef[s]
                o_i = 1.0 if (pattern >> i) & 1 else 0.0
                table[base + i] = v[leaf] * (o_i - z[leaf, i]) * total


@njit(cache=True)
def _rows(
    X,
    lo,
    hi,
    out,
    leaf_tab,
    leaf_d,
    leaf_feat,
    cond_start,
    cond_slot,
    cond_feat,
    cond_thr,
    cond_left,
    cond_default_left,
    table,
):
    # leaf by leaf over the rows of the chunk: a leaf's conditions and table (2^d x d values) stay in L1 cache
    for leaf in range(len(leaf_d)):
        n = leaf_d[leaf]
        if n == 0:
            continue
        for r in range(lo, hi):
            pattern = (1 << n) - 1
            for c in range(cond_start[leaf], cond_start[leaf + 1]):
                x = X[r, cond_feat[c]]
                if np.isnan(x):
                    ok = cond_left[c] == cond_default_left[c]
                else:
                    ok = (x < cond_thr[c]) == cond_left[c]
                if not ok:
                    pattern &= ~(1 << cond_slot[c])
            base = leaf_tab[leaf] + pattern * n
            for k in range(n):
                out[r, leaf_feat[leaf, k]] += table[base + k]


@njit(cache=True, parallel=True)
def _rows_parallel(
    X,
    chunk,
    out,
    leaf_tab,
    leaf_d,
    leaf_feat,
    cond_start,
    cond_slot,
    cond_feat,
    cond_thr,
    cond_left,
    cond_default_left,
    table,
):
    n_chunks = (X.shape[0] + chunk - 1) // chunk
    for i in prange(n_chunks):
        _rows(
            X,
            i * chunk,
            min((i + 1) * chunk, X.shape[0]),
            out,
            leaf_tab,
            leaf_d,
            leaf_feat,
            cond_start,
            cond_slot,
            cond_feat,
            cond_thr,
            cond_left,
            cond_default_left,
            table,
        )


PARALLEL_FROM = 256  # rows; a single applicant stays on the calling thread (no thread team to wake)


def contributions(t: Tables, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact TreeSHAP of the margin: (per feature, bias), like XGBoost's `pred_contribs` split into its two parts."""
    X = np.ascontiguousarray(X, dtype=np.float32)
    phi = np.zeros((X.shape[0], t.n_features))
    args = (
        phi,
        t.leaf_tab,
        t.leaf_d,
        t.leaf_feat,
        t.cond_start,
        t.cond_slot,
        t.cond_feat,
        t.cond_thr,
        t.cond_left,
        t.cond_default_left,
        t.table,
    )
    if X.shape[0] < PARALLEL_FROM:
        _rows(X, 0, X.shape[0], *args)
    else:
        _rows_parallel(X, 64, *args)
    return phi, np.full(X.shape[0], t.bias)
