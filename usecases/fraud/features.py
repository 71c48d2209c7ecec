"""Leakage-free transaction features: one definition for training, batch and real-time scoring.

Every feature of a transaction at time t uses only transactions up to and
including it (in data order: timestamp, then txn_id) and only labels already
known at t (a fraud label is known from its `label_time`). Windows are
half-open: (t - w, t]. `SPEC` below is the definition; `compute()` evaluates
it for a whole table with sorted arrays and binary search (no Python loop
over rows); `scorer.FeatureState` evaluates the same `SPEC` one transaction at
a time for the streaming scorer, and the tests check that both agree.

Time is kept in "ticks": seconds * 1024 + the rank of the row within its
second, so that rows in the same second keep their order and no window ever
sees a later row.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

TICK = 1024
DAY = 86_400
HOUR = 3_600
SMALL_AMOUNT = 50.0
NIGHT_HOUR = 6
UNUSUAL_FACTOR = 3.0

CATEGORY_VOCAB = ("grocery", "restaurant", "transport", "retail", "pharmacy", "electronics", "travel", "jewellery",
                  "digital_services", "marketplace", "transfer", "general")
CATEGORY_CODE = {c: i for i, c in enumerate(CATEGORY_VOCAB)}
OTHER_CATEGORY = len(CATEGORY_VOCAB)
CHANNEL_CODE = {"card_present": 0, "card_not_present": 1, "fps": 2}

CUST_WINDOWS = {"1d": DAY, "7d": 7 * DAY, "30d": 30 * DAY}
TERM_WINDOWS = {"1d": DAY, "7d": 7 * DAY, "30d": 30 * DAY}

# name -> (group, description) : the reason a feature exists, shown with the scorer's reasons
SPEC: dict[str, str] = {
    "amount": "transaction amount (HKD)",
    "tx_hour": "hour of day",
    "tx_during_night": "between midnight and 6 am",
    "tx_during_weekend": "on a Saturday or Sunday",
    "is_cnp": "card not present (online)",
    "is_fps": "FPS transfer",
    "merchant_category_code": "merchant category",
    **{f"cust_nb_tx_{k}": f"customer's transactions in the last {k}" for k in CUST_WINDOWS},
    **{f"cust_avg_amount_{k}": f"customer's average amount in the last {k}" for k in CUST_WINDOWS},
    "cust_amount_ratio_7d": "amount / customer's average of the previous 7 days",
    "cust_amount_ratio_30d": "amount / customer's average of the previous 30 days",
    "cust_amount_z_30d": "amount in standard deviations above the customer's previous 30 days",
    "cust_nb_tx_10min": "customer's transactions in the last 10 minutes",
    "cust_nb_tx_1h": "customer's transactions in the last hour",
    "cust_nb_small_1h": f"customer's transactions under HKD {SMALL_AMOUNT:.0f} in the last hour",
    "cust_nb_cnp_1d": "customer's online transactions in the last day",
    "cust_secs_since_last": "seconds since the customer's previous transaction",
    **{f"term_nb_tx_{k}": f"terminal's transactions in the {k} before the label delay" for k in TERM_WINDOWS},
    **{f"term_risk_{k}": f"terminal's reported fraud in the last {k} / its transactions" for k in TERM_WINDOWS},
    "term_nb_tx_1h": "terminal's transactions in the last hour",
    "term_fraud_episode_days": "days since the earliest fraud reported at the terminal in the last 30 days happened",
    "term_days_since_known_fraud": "days since the latest fraud reported at the terminal in the last 30 days happened",
    "device_new": "device never seen before for this customer",
    "device_age_days": "days since the customer first used this device",
    "device_new_customers_30d": "customers new to this device in the last 30 days",
    "payee_new": "payee never paid before by this customer",
    "payee_new_senders_7d": "senders new to this payee in the last 7 days (mule fan-in)",
    "payee_senders_total": "distinct senders this payee has received from",
    "payee_amount_1d": "amount received by this payee in the last day",
    "cust_new_payees_7d": "new payees the customer added in the last 7 days",
    "cust_inflow_24h": "FPS money received by the customer in the last 24 hours (mule fan-out)",
    "cust_amount_ratio_typical_30d": "amount / customer's typical amount (previous 30 days, unusual amounts left out)",
    "cust_nb_unusual_7d": f"customer's unusual amounts (over {UNUSUAL_FACTOR:g}x their 30-day average) in the previous 7 days",
}
FEATURES: tuple[str, ...] = tuple(SPEC)

# The 15 features of the Fraud Detection Handbook (Le Borgne et al., chapter 3), in our names.
HANDBOOK_FEATURES: tuple[str, ...] = (
    "amount", "tx_during_weekend", "tx_during_night",
    "cust_nb_tx_1d", "cust_avg_amount_1d", "cust_nb_tx_7d", "cust_avg_amount_7d", "cust_nb_tx_30d", "cust_avg_amount_30d",
    "term_nb_tx_1d", "term_risk_1d", "term_nb_tx_7d", "term_risk_7d", "term_nb_tx_30d", "term_risk_30d",
)

# Features grouped into the reasons a scorer gives (occlusion is done per group).
REASON_GROUPS: dict[str, tuple[str, ...]] = {
    "amount": ("amount",),
    "amount_vs_customer_history": ("cust_amount_ratio_typical_30d", "cust_amount_ratio_7d", "cust_amount_ratio_30d",
                                   "cust_amount_z_30d", "cust_nb_unusual_7d",
                                   "cust_avg_amount_1d", "cust_avg_amount_7d", "cust_avg_amount_30d"),
    "time_of_day": ("tx_hour", "tx_during_night", "tx_during_weekend"),
    "channel_and_merchant": ("is_cnp", "is_fps", "merchant_category_code"),
    "customer_velocity": ("cust_nb_tx_10min", "cust_nb_tx_1h", "cust_nb_small_1h", "cust_nb_cnp_1d",
                          "cust_secs_since_last", "cust_nb_tx_1d", "cust_nb_tx_7d", "cust_nb_tx_30d"),
    "terminal_risk": ("term_risk_1d", "term_risk_7d", "term_risk_30d", "term_nb_tx_1d", "term_nb_tx_7d",
                      "term_nb_tx_30d", "term_nb_tx_1h", "term_fraud_episode_days", "term_days_since_known_fraud"),
    "new_device": ("device_new", "device_age_days", "device_new_customers_30d"),
    "new_payee": ("payee_new", "cust_new_payees_7d"),
    "mule_payee": ("payee_new_senders_7d", "payee_senders_total", "payee_amount_1d"),
    "mule_inflow": ("cust_inflow_24h",),
}


def sort_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Data order: timestamp, then txn_id."""
    ts = df["timestamp"].to_numpy()
    ids = df["txn_id"].to_numpy()
    if len(df) > 1 and not (np.all(ts[1:] >= ts[:-1]) and np.all((ts[1:] > ts[:-1]) | (ids[1:] > ids[:-1]))):
        df = df.sort_values(["timestamp", "txn_id"], kind="stable")
    return df.reset_index(drop=True)


def ticks(seconds: np.ndarray) -> np.ndarray:
    """seconds (sorted) -> strictly increasing ticks."""
    n = len(seconds)
    first = np.searchsorted(seconds, seconds, side="left")
    rank = np.arange(n) - first
    return seconds * TICK + np.minimum(rank, TICK - 1)


def label_ticks(label_seconds: np.ndarray) -> np.ndarray:
    """A label reported in second s is known to rows from the end of second s on."""
    return label_seconds * TICK + (TICK - 1)


def epoch_seconds(ts) -> np.ndarray:
    return np.asarray(ts, dtype="datetime64[s]").astype(np.int64)


class _Index:
    """Events grouped by an integer key, sorted by time, answering window counts and sums by binary search."""

    def __init__(self, group: np.ndarray, tick: np.ndarray, span: int, values: dict[str, np.ndarray] | None = None):
        ok = group >= 0
        g, t = group[ok], tick[ok]
        order = np.lexsort((t, g))
        self.span = span  # > every tick and every window length, so groups never overlap
        self.key = g[order].astype(np.int64) * self.span + t[order]
        self.g = g[order].astype(np.int64)
        # cumulative sums restart at each group, so a window's sum never depends on other groups' rows
        self.within = {k: pd.Series(v[ok][order].astype(np.float64)).groupby(self.g).cumsum().to_numpy()
                       for k, v in (values or {}).items()}
        self.values = {k: v[ok][order].astype(np.float64) for k, v in (values or {}).items()}

    def _before(self, what: str, pos: np.ndarray, group: np.ndarray) -> np.ndarray:
        """Sum of `what` over the group's events before sorted position `pos`."""
        prev = np.maximum(pos - 1, 0)
        if not len(self.g):
            return np.zeros(len(pos))
        same = (pos > 0) & (self.g[np.minimum(prev, len(self.g) - 1)] == group)
        return np.where(same, self.within[what][np.minimum(prev, len(self.g) - 1)], 0.0)

    def window(self, query: "_Query", lo: int, hi: int = 0, what: str | None = None) -> np.ndarray:
        """Count (or sum of `what`) of events with the query's group and time in (tick - lo, tick - hi]."""
        a = np.searchsorted(self.key, query.key - lo, side="right")
        b = np.searchsorted(self.key, query.key - hi, side="right")
        res = (b - a).astype(np.float64) if what is None else (self._before(what, b, query.g) - self._before(what, a, query.g))
        out = np.empty(len(res))
        out[query.order] = res
        out[query.none] = 0.0
        return out


    def first_last(self, query: "_Query", lo: int, what: str) -> tuple[np.ndarray, np.ndarray]:
        """`what` of the first and the last event in (tick - lo, tick]; NaN where there is none."""
        a = np.searchsorted(self.key, query.key - lo, side="right")
        b = np.searchsorted(self.key, query.key, side="right")
        vals = self.values[what]
        has = b > a
        first = np.where(has, vals[np.minimum(a, len(vals) - 1)] if len(vals) else np.nan, np.nan)
        last = np.where(has, vals[np.maximum(b - 1, 0)] if len(vals) else np.nan, np.nan)
        f, l_ = np.empty(len(a)), np.empty(len(a))
        f[query.order], l_[query.order] = first, last
        f[query.none], l_[query.none] = np.nan, np.nan
        return f, l_


class _Query:
    """Rows asking about windows of their group, sorted once (sorted needles make binary search cache-friendly)."""

    def __init__(self, group: np.ndarray, tick: np.ndarray, span: int):
        self.order = np.lexsort((tick, group))
        self.g = np.maximum(group, 0)[self.order].astype(np.int64)
        self.key = self.g * span + tick[self.order]
        self.none = group < 0


def _codes(*arrays: np.ndarray) -> list[np.ndarray]:
    """Factorize several id arrays into one code space; negative ids (none) stay -1."""
    allv = np.concatenate(arrays)
    codes, _ = pd.factorize(allv)
    codes = codes.astype(np.int64)
    codes[allv < 0] = -1
    out, i = [], 0
    for a in arrays:
        out.append(codes[i:i + len(a)])
        i += len(a)
    return out


def _pair_codes(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ca, _ = pd.factorize(a)
    cb, _ = pd.factorize(b)
    return ca.astype(np.int64) * (int(cb.max(initial=0)) + 1) + cb


def pair_first(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """True where the pair (a, b) occurs for the first time (rows in data order); False when b < 0."""
    first = ~pd.Series(_pair_codes(a, b)).duplicated(keep="first").to_numpy()
    return first & (b >= 0)


def category_codes(categories) -> np.ndarray:
    codes, uniques = pd.factorize(np.asarray(categories, dtype=object))
    lut = np.array([CATEGORY_CODE.get(str(u), OTHER_CATEGORY) for u in uniques] + [OTHER_CATEGORY], dtype=np.float64)
    return lut[codes]


def fraud_lt_max(df: pd.DataFrame, base: int) -> int:
    fraud = df["is_fraud"].to_numpy() == 1
    if not fraud.any():
        return 0
    return int(label_ticks(epoch_seconds(df["label_time"].to_numpy()[fraud]).max() - base))


def unusual_flags(df: pd.DataFrame) -> np.ndarray:
    """Per row: is its amount over UNUSUAL_FACTOR x the customer's average of the previous 30 days?"""
    sec = epoch_seconds(df["timestamp"].to_numpy())
    tt = ticks(sec - int(sec.min(initial=0)))
    amount = df["amount"].to_numpy(dtype=np.float64)
    (cust,) = _codes(df["customer_id"].to_numpy(np.int64))
    span = 2 * (int(tt.max(initial=0)) + 40 * DAY * TICK)
    q = _Query(cust, tt, span)
    cix = _Index(cust, tt, span, {"amount": amount})
    nb = cix.window(q, 30 * DAY * TICK, 1)
    mean = np.where(nb > 0, cix.window(q, 30 * DAY * TICK, 1, what="amount") / np.maximum(nb, 1), np.inf)
    return amount > UNUSUAL_FACTOR * mean


def compute(df: pd.DataFrame, label_delay_days: float = 7.0, only: tuple[str, ...] | None = None,
            rows: np.ndarray | None = None) -> pd.DataFrame:
    """Features of `df`'s rows (in data order: see `sort_frame`), or only of the positions `rows`.

    Every row of `df` is history for the windows; `rows` only limits whose features are computed (batch
    scoring asks for the new transactions, with the bank's history in front of them).
    """
    n = len(df)
    sel = np.arange(n) if rows is None else np.asarray(rows, dtype=np.int64)
    D = int(round(label_delay_days * DAY)) * TICK
    sec = epoch_seconds(df["timestamp"].to_numpy())
    base = int(sec.min(initial=0))
    tt = ticks(sec - base)
    amount = df["amount"].to_numpy(dtype=np.float64)
    cust_raw = df["customer_id"].to_numpy(np.int64)
    term_raw = df["terminal_id"].to_numpy(np.int64)
    dev_raw = df["device_id"].to_numpy(np.int64)
    payee_raw = df["payee_id"].to_numpy(np.int64)
    ch_codes, ch_uniques = pd.factorize(np.asarray(df["channel"], dtype=object))
    channel = np.array([CHANNEL_CODE.get(str(u), 0) for u in ch_uniques] + [0], dtype=np.int64)[ch_codes]
    A, S, T = amount[sel], sec[sel], tt[sel]
    out: dict[str, np.ndarray] = {}

    hour = (S % DAY) / HOUR
    out["amount"] = A
    out["tx_hour"] = hour
    out["tx_during_night"] = (hour < NIGHT_HOUR).astype(np.float64)
    out["tx_during_weekend"] = ((S // DAY + 3) % 7 >= 5).astype(np.float64)
    out["is_cnp"] = (channel[sel] == 1).astype(np.float64)
    out["is_fps"] = (channel[sel] == 2).astype(np.float64)
    out["merchant_category_code"] = category_codes(df["merchant_category"].to_numpy()[sel])

    # every index shares one span, larger than any tick (labels included) plus the longest window
    span = 2 * (int(max(tt.max(initial=0), fraud_lt_max(df, base))) + D + 40 * DAY * TICK)
    # customer windows
    (cust,) = _codes(cust_raw)
    small = (amount < SMALL_AMOUNT).astype(np.float64)
    q_cust = _Query(cust[sel], T, span)
    q_all = q_cust if rows is None else _Query(cust, tt, span)
    cix = _Index(cust, tt, span, {"amount": amount, "amount2": amount * amount, "small": small,
                                  "cnp": (channel == 1).astype(np.float64)})
    for k, w in CUST_WINDOWS.items():
        nb = cix.window(q_cust, w * TICK)
        out[f"cust_nb_tx_{k}"] = nb
        out[f"cust_avg_amount_{k}"] = cix.window(q_cust, w * TICK, what="amount") / np.maximum(nb, 1)
    for k, w in (("7d", 7 * DAY), ("30d", 30 * DAY)):
        nb_prev = cix.window(q_cust, w * TICK, 1)
        s_prev = cix.window(q_cust, w * TICK, 1, what="amount")
        mean_prev = np.where(nb_prev > 0, s_prev / np.maximum(nb_prev, 1), np.nan)
        out[f"cust_amount_ratio_{k}"] = A / mean_prev
        if k == "30d":
            s2 = cix.window(q_cust, w * TICK, 1, what="amount2")
            var = np.maximum(s2 / np.maximum(nb_prev, 1) - np.nan_to_num(mean_prev) ** 2, 0.0)
            out["cust_amount_z_30d"] = (A - mean_prev) / (np.sqrt(var) + 1.0)
            if rows is None:
                mean_prev_30d = mean_prev
            else:
                nb_all = cix.window(q_all, w * TICK, 1)
                s_all = cix.window(q_all, w * TICK, 1, what="amount")
                mean_prev_30d = np.where(nb_all > 0, s_all / np.maximum(nb_all, 1), np.nan)
    # a typical amount that leaves out earlier unusual ones (a leaked card's inflated spending must not hide the next)
    unusual = (amount > UNUSUAL_FACTOR * np.nan_to_num(mean_prev_30d, nan=np.inf)).astype(np.float64)
    uix = _Index(cust, tt, span, {"typ_amt": amount * (1 - unusual), "typ_n": 1 - unusual, "unusual": unusual})
    typ_n = uix.window(q_cust, 30 * DAY * TICK, 1, what="typ_n")
    typ_s = uix.window(q_cust, 30 * DAY * TICK, 1, what="typ_amt")
    out["cust_amount_ratio_typical_30d"] = np.where(typ_n > 0, A / np.where(typ_n > 0, typ_s / np.maximum(typ_n, 1), 1.0), np.nan)
    out["cust_nb_unusual_7d"] = uix.window(q_cust, 7 * DAY * TICK, 1, what="unusual")
    out["cust_nb_tx_10min"] = cix.window(q_cust, 600 * TICK)
    out["cust_nb_tx_1h"] = cix.window(q_cust, HOUR * TICK)
    out["cust_nb_small_1h"] = cix.window(q_cust, HOUR * TICK, what="small")
    out["cust_nb_cnp_1d"] = cix.window(q_cust, DAY * TICK, what="cnp")
    # previous transaction of the same customer: the row before in (customer, tick) order
    order = q_all.order
    prev = np.full(n, np.nan)
    same = cust[order][1:] == cust[order][:-1]
    prev[order[1:]] = np.where(same, sec[order][:-1], np.nan)
    out["cust_secs_since_last"] = S - prev[sel]

    # terminal windows: counts before the label delay, and fraud reported (label known) in the window
    is_fraud = df["is_fraud"].to_numpy(np.int64) == 1
    fraud_lt = label_ticks(epoch_seconds(df["label_time"].to_numpy()[is_fraud]) - base)
    term, term_ev = _codes(term_raw, term_raw[is_fraud])
    q_term = _Query(term[sel], T, span)
    tix = _Index(term, tt, span)
    fraud_sec = (sec - base)[is_fraud].astype(np.float64)
    fix = _Index(term_ev, fraud_lt, span, {"tx_sec": fraud_sec})
    for k, w in TERM_WINDOWS.items():
        nb = tix.window(q_term, D + w * TICK, D)
        nf = fix.window(q_term, w * TICK)
        out[f"term_nb_tx_{k}"] = nb
        out[f"term_risk_{k}"] = np.where(nb > 0, nf / np.maximum(nb, 1), 0.0)
    out["term_nb_tx_1h"] = tix.window(q_term, HOUR * TICK)
    first_tx, last_tx = fix.first_last(q_term, 30 * DAY * TICK, "tx_sec")
    out["term_fraud_episode_days"] = ((S - base) - first_tx) / DAY
    out["term_days_since_known_fraud"] = ((S - base) - last_tx) / DAY

    # devices
    dev_first = pair_first(cust_raw, dev_raw)
    out["device_new"] = dev_first[sel].astype(np.float64)
    _, first_idx, inverse = np.unique(_pair_codes(cust_raw, dev_raw), return_index=True, return_inverse=True)
    first_sec = sec[first_idx][inverse][sel]
    out["device_age_days"] = np.where(dev_raw[sel] >= 0, (S - first_sec) / DAY, np.nan)
    (dev,) = _codes(dev_raw)
    q_dev = _Query(dev[sel], T, span)
    dfx = _Index(np.where(dev_first, dev, -1), tt, span)
    out["device_new_customers_30d"] = dfx.window(q_dev, 30 * DAY * TICK)

    # payees: novelty, fan-in (mule signal), and money flowing into our own customers (fan-out)
    pay_first = pair_first(cust_raw, payee_raw)
    out["payee_new"] = pay_first[sel].astype(np.float64)
    payee, = _codes(payee_raw)
    q_payee = _Query(payee[sel], T, span)
    pfx = _Index(np.where(pay_first, payee, -1), tt, span)
    out["payee_new_senders_7d"] = pfx.window(q_payee, 7 * DAY * TICK)
    out["payee_senders_total"] = pfx.window(q_payee, int(tt.max(initial=0)) + TICK)
    pax = _Index(payee, tt, span, {"amount": amount})
    out["payee_amount_1d"] = pax.window(q_payee, DAY * TICK, what="amount")
    cpx = _Index(np.where(pay_first, cust, -1), tt, span)
    out["cust_new_payees_7d"] = cpx.window(q_cust, 7 * DAY * TICK)
    acct_payee, acct_cust = _codes(payee_raw, cust_raw)
    q_acct_cust = _Query(acct_cust[sel], T, span)
    inx = _Index(acct_payee, tt, span, {"amount": amount})
    out["cust_inflow_24h"] = inx.window(q_acct_cust, DAY * TICK, what="amount")

    names = only or FEATURES
    return pd.DataFrame({k: out[k].astype(np.float32) for k in names})
