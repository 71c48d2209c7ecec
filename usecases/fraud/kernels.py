"""Compiled loops behind the vectorised features (numba, cached on disk after the first compile).

Each kernel is a single pass over arrays already in group order (a counting sort puts the rows of a group
together, in data order), so a window over a million rows costs a few milliseconds instead of a binary
search per row. The arithmetic is the same as the reference definitions in features.py: per-group prefix
sums added in data order, window sums as differences of two prefix sums, so the values do not change.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def group_sort(codes, ngroups, rows):
    """Positions `rows` (ascending) sorted by codes[row] (stable: data order within a group); codes < 0 left out."""
    counts = np.zeros(ngroups + 1, np.int64)
    for r in rows:
        c = codes[r]
        if c >= 0:
            counts[c + 1] += 1
    for g in range(ngroups):
        counts[g + 1] += counts[g]
    out = np.empty(counts[ngroups], np.int64)
    for r in rows:
        c = codes[r]
        if c >= 0:
            out[counts[c]] = r
            counts[c] += 1
    return out


@njit(cache=True, nogil=True)
def dense_codes(ids, max_id):
    """Codes 0..k-1 for the distinct ids >= 0 (in order of first appearance), -1 for ids < 0; ids <= max_id."""
    table = np.full(max_id + 1, -1, np.int64)
    codes = np.empty(len(ids), np.int64)
    k = 0
    for i in range(len(ids)):
        x = ids[i]
        if x < 0:
            codes[i] = -1
        else:
            c = table[x]
            if c < 0:
                c = k
                table[x] = k
                k += 1
            codes[i] = c
    return codes, k


@njit(cache=True, nogil=True)
def first_of_pairs(order, a, b, nb):
    """Rows `order` grouped by a (data order within a group); b: codes < nb (-1: none). Per row: is the pair
    (a, b) new here, and the row where the pair first occurred (the row itself when b < 0)."""
    n = len(a)
    seen_by = np.full(nb, -1, np.int64)
    first_row = np.zeros(nb, np.int64)
    is_first = np.zeros(n, np.bool_)
    pos = np.arange(n)
    for i in range(len(order)):
        r = order[i]
        c = b[r]
        if c < 0:
            continue
        if seen_by[c] != a[r]:
            seen_by[c] = a[r]
            first_row[c] = r
            is_first[r] = True
        pos[r] = first_row[c]
    return is_first, pos


@njit(cache=True, nogil=True)
def rank_ticks(seconds, tick):
    """seconds (sorted) * tick + the row's rank within its second (capped at tick - 1)."""
    out = np.empty(len(seconds), np.int64)
    rank = 0
    for i in range(len(seconds)):
        rank = rank + 1 if i > 0 and seconds[i] == seconds[i - 1] else 0
        out[i] = seconds[i] * tick + min(rank, tick - 1)
    return out


@njit(cache=True, nogil=True)
def group_cumsum(eg, v, order):
    """Prefix sums of v[order] that restart at each group (eg sorted), with Kahan compensation as pandas'
    groupby().cumsum() does (the reference definition), so the sums match it bit for bit."""
    out = np.empty(len(order), np.float64)
    acc = 0.0
    comp = 0.0
    for i in range(len(order)):
        if i == 0 or eg[i] != eg[i - 1]:
            acc = 0.0
            comp = 0.0
        y = v[order[i]] - comp
        t = acc + y
        comp = t - acc - y
        acc = t
        out[i] = acc
    return out


@njit(cache=True, nogil=True)
def bounds(eg, et, qg, qt, lo, hi):
    """For each query (sorted by group, then tick): the event positions [a, b) of its group with tick in
    (qt - lo, qt - hi]. Events are sorted by group, then tick. Two pointers that only move forward."""
    m, n = len(qg), len(eg)
    a = np.empty(m, np.int64)
    b = np.empty(m, np.int64)
    pa = 0
    pb = 0
    for i in range(m):
        g = qg[i]
        ta = qt[i] - lo
        tb = qt[i] - hi
        while pa < n and (eg[pa] < g or (eg[pa] == g and et[pa] <= ta)):
            pa += 1
        while pb < n and (eg[pb] < g or (eg[pb] == g and et[pb] <= tb)):
            pb += 1
        a[i] = pa
        b[i] = pb
    return a, b


@njit(cache=True, nogil=True)
def window_sum(a, b, qg, eg, cs):
    """Sum over events [a, b) of the query's group, from the group's prefix sums `cs`."""
    out = np.empty(len(a), np.float64)
    for i in range(len(a)):
        g = qg[i]
        sb = cs[b[i] - 1] if b[i] > 0 and eg[b[i] - 1] == g else 0.0
        sa = cs[a[i] - 1] if a[i] > 0 and eg[a[i] - 1] == g else 0.0
        out[i] = sb - sa
    return out


@njit(cache=True, nogil=True)
def previous_in_group(order, codes, values, fill):
    """values of the previous row of the same group (rows `order` in group order); `fill` for the first."""
    out = np.full(len(codes), fill)
    for i in range(1, len(order)):
        if codes[order[i]] == codes[order[i - 1]]:
            out[order[i]] = values[order[i - 1]]
    return out


@njit(cache=True, nogil=True)
def first_seen(codes, ncodes):
    """Per row: is this the first row of its code (codes in data order), and the position of that first row."""
    first_pos = np.full(ncodes, -1, np.int64)
    is_first = np.zeros(len(codes), np.bool_)
    pos = np.empty(len(codes), np.int64)
    for i in range(len(codes)):
        c = codes[i]
        if first_pos[c] < 0:
            first_pos[c] = i
            is_first[i] = True
        pos[i] = first_pos[c]
    return is_first, pos


@njit(cache=True, nogil=True)
def _after(eg, et, g, bound):
    """Position after the last event (g, tick <= bound) in events sorted by group, then tick."""
    a, b = 0, len(eg)
    while a < b:
        m = (a + b) >> 1
        if eg[m] < g or (eg[m] == g and et[m] <= bound):
            a = m + 1
        else:
            b = m
    return a


@njit(cache=True, nogil=True)
def count_between(eg, et, qg, lo, hi):
    """For each query: how many events of its group have tick in [lo, hi] (per-query bounds; 0 when lo > hi).
    Events are sorted by group, then tick."""
    out = np.zeros(len(qg), np.float64)
    for i in range(len(qg)):
        if lo[i] <= hi[i]:
            out[i] = _after(eg, et, qg[i], hi[i]) - _after(eg, et, qg[i], lo[i] - 1)
    return out
