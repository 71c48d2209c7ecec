"""Leakage-free transaction features: one definition for training, batch and real-time scoring.

Every feature of a transaction at time t uses only transactions up to and
including it (in data order: timestamp, then txn_id) and only labels already
known at t (a fraud label is known from its `label_time`). Windows are
half-open: (t - w, t]. `SPEC` below is the definition; `compute()` evaluates
it for a whole table: a counting sort groups the rows of each customer,
terminal, device or payee, and each window is one two-pointer pass over the
group (compiled loops in kernels.py; no Python loop over rows);
`scorer.FeatureState` evaluates the same `SPEC` one transaction at a time for
the streaming scorer, and the tests check that both agree.

Time is kept in "ticks": seconds * 1024 + the rank of the row within its
second, so that rows in the same second keep their order and no window ever
sees a later row.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

TICK = 1024
DAY = 86_400
HOUR = 3_600
SMALL_AMOUNT = 50.0
NIGHT_HOUR = 6
UNUSUAL_FACTOR = 3.0
PARALLEL_ROWS = 200_000  # tables at least this long compute their feature groups on two threads

CATEGORY_VOCAB = (
    "grocery",
    "restaurant",
    "transport",
    "retail",
    "pharmacy",
    "electronics",
    "travel",
    "jewellery",
    "digital_services",
    "marketplace",
    "transfer",
    "general",
)
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
    "term_risk_3d": "terminal's reported fraud in the last 3d / its transactions",
    "term_fraud_customers_7d": "customers whose first fraud at this terminal was reported in the last 7 days (common point of compromise)",
    "term_fraud_customers_30d": "customers whose first fraud at this terminal was reported in the last 30 days",
    "term_tx_since_known_fraud": "terminal's transactions since the latest fraud reported there (before the label "
    "delay, at most 30 days back): none while its compromise goes on, several once it is over",
}
FEATURES: tuple[str, ...] = tuple(SPEC)

# The 15 features of the Fraud Detection Handbook (Le Borgne et al., chapter 3), in our names.
HANDBOOK_FEATURES: tuple[str, ...] = (
    "amount",
    "tx_during_weekend",
    "tx_during_night",
    "cust_nb_tx_1d",
    "cust_avg_amount_1d",
    "cust_nb_tx_7d",
    "cust_avg_amount_7d",
    "cust_nb_tx_30d",
    "cust_avg_amount_30d",
    "term_nb_tx_1d",
    "term_risk_1d",
    "term_nb_tx_7d",
    "term_risk_7d",
    "term_nb_tx_30d",
    "term_risk_30d",
)

# Features grouped into the reasons a scorer gives (occlusion is done per group).
REASON_GROUPS: dict[str, tuple[str, ...]] = {
    "amount": ("amount",),
    "amount_vs_customer_history": (
        "cust_amount_ratio_typical_30d",
        "cust_amount_ratio_7d",
        "cust_amount_ratio_30d",
        "cust_amount_z_30d",
        "cust_nb_unusual_7d",
        "cust_avg_amount_1d",
        "cust_avg_amount_7d",
        "cust_avg_amount_30d",
    ),
    "time_of_day": ("tx_hour", "tx_during_night", "tx_during_weekend"),
    "channel_and_merchant": ("is_cnp", "is_fps", "merchant_category_code"),
    "customer_velocity": (
        "cust_nb_tx_10min",
        "cust_nb_tx_1h",
        "cust_nb_small_1h",
        "cust_nb_cnp_1d",
        "cust_secs_since_last",
        "cust_nb_tx_1d",
        "cust_nb_tx_7d",
        "cust_nb_tx_30d",
    ),
    "terminal_risk": (
        "term_risk_1d",
        "term_risk_3d",
        "term_risk_7d",
        "term_risk_30d",
        "term_fraud_customers_7d",
        "term_fraud_customers_30d",
        "term_nb_tx_1d",
        "term_nb_tx_7d",
        "term_nb_tx_30d",
        "term_nb_tx_1h",
        "term_fraud_episode_days",
        "term_days_since_known_fraud",
        "term_tx_since_known_fraud",
    ),
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
    """seconds (sorted) -> strictly increasing ticks: seconds * TICK + the row's rank within its second."""
    return _kernels().rank_ticks(np.ascontiguousarray(seconds, dtype=np.int64), TICK)


def label_ticks(label_seconds: np.ndarray) -> np.ndarray:
    """A label reported in second s is known to rows from the end of second s on."""
    return label_seconds * TICK + (TICK - 1)


def epoch_seconds(ts) -> np.ndarray:
    return np.asarray(ts, dtype="datetime64[s]").astype(np.int64)


def _kernels():
    from . import kernels  # numba: imported on first use, not with the package

    return kernels


class _Events:
    """Events grouped by an integer code, sorted by (group, tick), with per-group prefix sums of some values.

    `order` says which rows of `values` the events are, in sorted order (values are not copied)."""

    def __init__(self, g: np.ndarray, t: np.ndarray, values: dict[str, np.ndarray], order: np.ndarray):
        kernels = _kernels()
        self.g, self.t, self.order = g, t, order
        self.raw = values
        self.within = {
            k: kernels.group_cumsum(g, np.ascontiguousarray(v, dtype=np.float64), order) for k, v in values.items()
        }

    def window(self, q: _Queries, lo: int, hi: int = 0, what: str | None = None) -> np.ndarray:
        """Count (or sum of `what`) of events with the query's group and tick in (tick - lo, tick - hi]; 0 without
        a group."""
        kernels = _kernels()
        a, b = kernels.bounds(self.g, self.t, q.g, q.t, lo, hi)
        res = (b - a).astype(np.float64) if what is None else kernels.window_sum(a, b, q.g, self.g, self.within[what])
        out = np.zeros(q.n)
        out[q.pos] = res
        return out

    def first_last(self, q: _Queries, lo: int, what: str) -> tuple[np.ndarray, np.ndarray]:
        """`what` of the first and the last event in (tick - lo, tick]; NaN where there is none."""
        first, last = np.full(q.n, np.nan), np.full(q.n, np.nan)
        vals = self.raw[what][self.order]
        if len(vals):
            a, b = _kernels().bounds(self.g, self.t, q.g, q.t, lo, 0)
            has = b > a
            first[q.pos] = np.where(has, vals[np.minimum(a, len(vals) - 1)], np.nan)
            last[q.pos] = np.where(has, vals[np.maximum(b - 1, 0)], np.nan)
        return first, last


class _Queries:
    """The rows whose features are wanted, sorted by (group, tick); `pos` is each one's place in the output."""

    def __init__(self, g: np.ndarray, t: np.ndarray, pos: np.ndarray, n: int):
        self.g, self.t, self.pos, self.n = g, t, pos, n


class _Rows:
    """The table's rows and the subset `sel` (ascending) whose features are computed."""

    def __init__(self, n: int, sel: np.ndarray, tick: np.ndarray):
        self.n, self.sel, self.tick = n, sel, tick
        self.all = len(sel) == n
        self.pos = np.full(n, -1, np.int64)
        self.pos[sel] = np.arange(len(sel))
        self.in_sel = self.pos >= 0
        self.index = np.arange(n)


class _Grouped:
    """Rows grouped by an integer code (< 0: in no group), in data order within each group (a counting sort)."""

    def __init__(self, rows: _Rows, codes: np.ndarray, ngroups: int):
        self.rows, self.codes = rows, codes
        self.order = _kernels().group_sort(codes, ngroups, rows.index)
        self.g = codes[self.order]
        self.t = rows.tick[self.order]

    def events(self, mask: np.ndarray | None = None, values: dict[str, np.ndarray] | None = None) -> _Events:
        if mask is None:
            return _Events(self.g, self.t, values or {}, self.order)
        keep = mask[self.order]
        return _Events(self.g[keep], self.t[keep], values or {}, self.order[keep])

    def queries(self, every_row: bool = False) -> _Queries:
        r = self.rows
        if every_row or r.all:
            return _Queries(
                self.g, self.t, self.order if every_row else r.pos[self.order], r.n if every_row else len(r.sel)
            )
        keep = r.in_sel[self.order]
        return _Queries(self.g[keep], self.t[keep], r.pos[self.order[keep]], len(r.sel))


def _factorize(*arrays: np.ndarray) -> tuple[list[np.ndarray], int]:
    """Codes for the ids of several arrays in one code space; negative ids (none) become -1."""
    allv = np.concatenate(arrays) if len(arrays) > 1 else np.ascontiguousarray(arrays[0], dtype=np.int64)
    hi = int(allv.max(initial=-1))
    if hi < 8 * len(allv) + (1 << 22):  # ids small enough for a lookup table (one pass, no hashing)
        codes, k = _kernels().dense_codes(allv, max(hi, 0))
    else:
        codes, uniques = pd.factorize(allv)
        codes, k = codes.astype(np.int64), len(uniques)
        codes[allv < 0] = -1
    out, i = [], 0
    for a in arrays:
        out.append(codes[i : i + len(a)])
        i += len(a)
    return out, k


def _first_of_pairs(by_a: _Grouped, b: np.ndarray, nb: int) -> tuple[np.ndarray, np.ndarray]:
    """For each row: is the pair (a, b) new here (data order), and the row where the pair first occurred."""
    return _kernels().first_of_pairs(by_a.order, by_a.codes, b, nb)


def pair_first(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """True where the pair (a, b) occurs for the first time (rows in data order); False when b < 0."""
    a_codes = pd.factorize(np.asarray(a))[0].astype(np.int64)
    (b_codes,), nb = _factorize(np.asarray(b, dtype=np.int64))
    rows = _Rows(len(a_codes), np.arange(len(a_codes)), np.zeros(len(a_codes), np.int64))
    return _first_of_pairs(_Grouped(rows, a_codes, int(a_codes.max(initial=-1)) + 1), b_codes, nb)[0]


def category_codes(categories) -> np.ndarray:
    codes, uniques = pd.factorize(
        categories if isinstance(categories, pd.Series) else np.asarray(categories, dtype=object)
    )
    lut = np.array([CATEGORY_CODE.get(str(u), OTHER_CATEGORY) for u in uniques] + [OTHER_CATEGORY], dtype=np.float64)
    return lut[codes]


def channel_codes(channels) -> np.ndarray:
    """0 card present, 1 card not present, 2 FPS (unknown or missing: card present)."""
    codes, uniques = pd.factorize(channels if isinstance(channels, pd.Series) else np.asarray(channels, dtype=object))
    return np.array([CHANNEL_CODE.get(str(u), 0) for u in uniques] + [0], dtype=np.int64)[codes]


def _unusual(cust_grouped: _Grouped, amount: np.ndarray) -> tuple[np.ndarray, _Events]:
    """Per row: amount over UNUSUAL_FACTOR x the customer's average of the previous 30 days (every row)."""
    ev = cust_grouped.events(values={"amount": amount})
    q_all = cust_grouped.queries(every_row=True)
    nb = ev.window(q_all, 30 * DAY * TICK, 1)
    s = ev.window(q_all, 30 * DAY * TICK, 1, what="amount")
    mean_prev = np.where(nb > 0, s / np.maximum(nb, 1), np.nan)
    return amount > UNUSUAL_FACTOR * np.nan_to_num(mean_prev, nan=np.inf), ev


def unusual_flags(df: pd.DataFrame) -> np.ndarray:
    """Per row: is its amount over UNUSUAL_FACTOR x the customer's average of the previous 30 days?"""
    sec = epoch_seconds(df["timestamp"].to_numpy())
    tick = ticks(sec - int(sec.min(initial=0)))
    (cust,), ncust = _factorize(df["customer_id"].to_numpy(np.int64))
    rows = _Rows(len(df), np.arange(len(df)), tick)
    return _unusual(_Grouped(rows, cust, ncust), df["amount"].to_numpy(dtype=np.float64))[0]


class _Table:
    """The arrays one `compute` call works on: every row of the table (history for the windows), the selected
    rows whose features are wanted, and the rows grouped by customer (the customer and payee features share it)."""

    def __init__(self, df: pd.DataFrame, sel: np.ndarray, label_delay_days: float):
        self.df, self.sel = df, sel
        self.label_delay = int(round(label_delay_days * DAY)) * TICK  # terminal counts stop this long before t
        self.sec = epoch_seconds(df["timestamp"].to_numpy())
        self.base = int(self.sec.min(initial=0))
        self.tick = ticks(self.sec - self.base)
        self.amount = df["amount"].to_numpy(dtype=np.float64)
        self.cust_raw = df["customer_id"].to_numpy(np.int64)
        self.term_raw = df["terminal_id"].to_numpy(np.int64)
        self.dev_raw = df["device_id"].to_numpy(np.int64)
        self.payee_raw = df["payee_id"].to_numpy(np.int64)
        self.channel = channel_codes(df["channel"])
        self.sel_amount, self.sel_sec = self.amount[sel], self.sec[sel]
        self.rows = _Rows(len(df), sel, self.tick)
        (self.cust,), self.ncust = _factorize(self.cust_raw)
        self.by_cust = _Grouped(self.rows, self.cust, self.ncust)
        self.q_cust = self.by_cust.queries()


def _transaction_features(tab: _Table, out: dict[str, np.ndarray]) -> None:
    """Amount, time of day and week, channel and merchant category of the transaction itself."""
    sel, sel_sec = tab.sel, tab.sel_sec
    hour = (sel_sec % DAY) / HOUR
    out["amount"] = tab.sel_amount
    out["tx_hour"] = hour
    out["tx_during_night"] = (hour < NIGHT_HOUR).astype(np.float64)
    out["tx_during_weekend"] = ((sel_sec // DAY + 3) % 7 >= 5).astype(np.float64)
    out["is_cnp"] = (tab.channel[sel] == 1).astype(np.float64)
    out["is_fps"] = (tab.channel[sel] == 2).astype(np.float64)
    categories = tab.df["merchant_category"]
    out["merchant_category_code"] = category_codes(categories.iloc[sel] if not tab.rows.all else categories)


def _customer_features(tab: _Table, out: dict[str, np.ndarray]) -> None:
    """The customer's windows: counts, averages, this amount against their history, velocity."""
    amount, sel_amount, q_cust = tab.amount, tab.sel_amount, tab.q_cust
    small = (amount < SMALL_AMOUNT).astype(np.float64)
    cix = tab.by_cust.events(
        values={
            "amount": amount,
            "amount2": amount * amount,
            "small": small,
            "cnp": (tab.channel == 1).astype(np.float64),
        }
    )
    for k, w in CUST_WINDOWS.items():
        nb = cix.window(q_cust, w * TICK)
        out[f"cust_nb_tx_{k}"] = nb
        out[f"cust_avg_amount_{k}"] = cix.window(q_cust, w * TICK, what="amount") / np.maximum(nb, 1)
    for k, w in (("7d", 7 * DAY), ("30d", 30 * DAY)):
        nb_prev = cix.window(q_cust, w * TICK, 1)
        s_prev = cix.window(q_cust, w * TICK, 1, what="amount")
        mean_prev = np.where(nb_prev > 0, s_prev / np.maximum(nb_prev, 1), np.nan)
        # a 0.00 history (card verifications) has no ratio: NaN, as with no history (the scorer does the same)
        out[f"cust_amount_ratio_{k}"] = np.where(
            mean_prev > 0, sel_amount / np.where(mean_prev > 0, mean_prev, 1.0), np.nan
        )
        if k == "30d":
            s2 = cix.window(q_cust, w * TICK, 1, what="amount2")
            var = np.maximum(s2 / np.maximum(nb_prev, 1) - np.nan_to_num(mean_prev) ** 2, 0.0)
            out["cust_amount_z_30d"] = (sel_amount - mean_prev) / (np.sqrt(var) + 1.0)
    # a typical amount that leaves out earlier unusual ones (a leaked card's inflated spending must not hide the next)
    unusual = _unusual(tab.by_cust, amount)[0].astype(np.float64)
    uix = tab.by_cust.events(values={"typ_amt": amount * (1 - unusual), "typ_n": 1 - unusual, "unusual": unusual})
    typ_n = uix.window(q_cust, 30 * DAY * TICK, 1, what="typ_n")
    typ_s = uix.window(q_cust, 30 * DAY * TICK, 1, what="typ_amt")
    typ_ok = (typ_n > 0) & (typ_s > 0)
    out["cust_amount_ratio_typical_30d"] = np.where(
        typ_ok, sel_amount / np.where(typ_ok, typ_s / np.maximum(typ_n, 1), 1.0), np.nan
    )
    out["cust_nb_unusual_7d"] = uix.window(q_cust, 7 * DAY * TICK, 1, what="unusual")
    out["cust_nb_tx_10min"] = cix.window(q_cust, 600 * TICK)
    out["cust_nb_tx_1h"] = cix.window(q_cust, HOUR * TICK)
    out["cust_nb_small_1h"] = cix.window(q_cust, HOUR * TICK, what="small")
    out["cust_nb_cnp_1d"] = cix.window(q_cust, DAY * TICK, what="cnp")
    # previous transaction of the same customer
    prev = _kernels().previous_in_group(tab.by_cust.order, tab.cust, tab.sec.astype(np.float64), np.nan)
    out["cust_secs_since_last"] = tab.sel_sec - prev[tab.sel]


def _terminal_features(tab: _Table, out: dict[str, np.ndarray]) -> None:
    """The terminal's windows: counts before the label delay, and fraud reported (label known) in the window."""
    delay, sec, base = tab.label_delay, tab.sec, tab.base
    is_fraud = tab.df["is_fraud"].to_numpy(np.int64) == 1
    (term,), nterm = _factorize(tab.term_raw)
    by_term = _Grouped(tab.rows, term, nterm)
    q_term = by_term.queries()
    tix = by_term.events()
    f_term = term[is_fraud]
    f_lt = label_ticks(epoch_seconds(tab.df["label_time"].to_numpy()[is_fraud]) - base)
    f_sec = (sec - base)[is_fraud].astype(np.float64)
    fo = np.lexsort((f_lt, f_term))
    fo = fo[f_term[fo] >= 0]
    fix = _Events(f_term[fo], f_lt[fo], {"tx_sec": f_sec}, fo)
    for k, w in TERM_WINDOWS.items():
        nb = tix.window(q_term, delay + w * TICK, delay)
        nf = fix.window(q_term, w * TICK)
        out[f"term_nb_tx_{k}"] = nb
        out[f"term_risk_{k}"] = np.where(nb > 0, nf / np.maximum(nb, 1), 0.0)
    nb = tix.window(q_term, delay + 3 * DAY * TICK, delay)
    out["term_risk_3d"] = np.where(nb > 0, fix.window(q_term, 3 * DAY * TICK) / np.maximum(nb, 1), 0.0)
    # distinct victims: a customer counts at the terminal from the report of their first fraud there
    first_victim = _kernels().first_of_pairs(fo, f_term, tab.cust[is_fraud], tab.ncust)[0]
    fv = fo[first_victim[fo]]
    vix = _Events(f_term[fv], f_lt[fv], {}, fv)
    for k, w in (("7d", 7 * DAY), ("30d", 30 * DAY)):
        out[f"term_fraud_customers_{k}"] = vix.window(q_term, w * TICK)
    out["term_nb_tx_1h"] = tix.window(q_term, HOUR * TICK)
    first_tx, last_tx = fix.first_last(q_term, 30 * DAY * TICK, "tx_sec")
    out["term_fraud_episode_days"] = ((tab.sel_sec - base) - first_tx) / DAY
    out["term_days_since_known_fraud"] = ((tab.sel_sec - base) - last_tx) / DAY
    # transactions whose labels are in (not reported: clean) since the latest reported fraud: a terminal still
    # compromised has none, one whose fraud was a leaked card's (or whose compromise ended) has several
    hi = q_term.t - delay
    lo = np.maximum(
        hi - 30 * DAY * TICK + 1, (np.nan_to_num(last_tx[q_term.pos], nan=-2.0) + 1).astype(np.int64) * TICK
    )
    clean = _kernels().count_between(tix.g, tix.t, q_term.g, lo, hi)
    out["term_tx_since_known_fraud"] = np.full(q_term.n, np.nan)
    out["term_tx_since_known_fraud"][q_term.pos] = clean
    out["term_tx_since_known_fraud"][np.isnan(last_tx)] = np.nan


def _device_features(tab: _Table, out: dict[str, np.ndarray]) -> None:
    """Is the device new for the customer, how old is it for them, how many customers are new to it."""
    sel, sec = tab.sel, tab.sec
    (dev,), ndev = _factorize(tab.dev_raw)
    dev_first, dev_first_pos = _first_of_pairs(tab.by_cust, dev, ndev)
    out["device_new"] = dev_first[sel].astype(np.float64)
    out["device_age_days"] = np.where(tab.dev_raw[sel] >= 0, (tab.sel_sec - sec[dev_first_pos[sel]]) / DAY, np.nan)
    by_dev = _Grouped(tab.rows, dev, ndev)
    out["device_new_customers_30d"] = by_dev.events(mask=dev_first).window(by_dev.queries(), 30 * DAY * TICK)


def _payee_features(tab: _Table, out: dict[str, np.ndarray]) -> None:
    """Payees: novelty, fan-in (mule signal), and money flowing into our own customers (fan-out)."""
    amount, rows = tab.amount, tab.rows
    (payee,), npayee = _factorize(tab.payee_raw)
    pay_first = _first_of_pairs(tab.by_cust, payee, npayee)[0]
    out["payee_new"] = pay_first[tab.sel].astype(np.float64)
    by_payee = _Grouped(rows, payee, npayee)
    q_payee = by_payee.queries()
    pfx = by_payee.events(mask=pay_first)
    out["payee_new_senders_7d"] = pfx.window(q_payee, 7 * DAY * TICK)
    out["payee_senders_total"] = pfx.window(q_payee, int(tab.tick.max(initial=0)) + TICK)
    out["payee_amount_1d"] = by_payee.events(values={"amount": amount}).window(q_payee, DAY * TICK, what="amount")
    out["cust_new_payees_7d"] = tab.by_cust.events(mask=pay_first).window(tab.q_cust, 7 * DAY * TICK)
    (acct_payee, acct_cust), nacct = _factorize(tab.payee_raw, tab.cust_raw)
    inx = _Grouped(rows, acct_payee, nacct).events(values={"amount": amount})
    out["cust_inflow_24h"] = inx.window(_Grouped(rows, acct_cust, nacct).queries(), DAY * TICK, what="amount")


def _terminal_device_payee_features(tab: _Table, out: dict[str, np.ndarray]) -> None:
    """The half of the features that does not need the customer windows (run beside them on large tables)."""
    _terminal_features(tab, out)
    _device_features(tab, out)
    _payee_features(tab, out)


def compute(
    df: pd.DataFrame, label_delay_days: float = 7.0, only: tuple[str, ...] | None = None, rows: np.ndarray | None = None
) -> pd.DataFrame:
    """Features of `df`'s rows (in data order: see `sort_frame`), or only of the positions `rows`.

    Every row of `df` is history for the windows; `rows` only limits whose features are computed (batch
    scoring asks for the new transactions, with the bank's history in front of them).
    """
    n = len(df)
    sel = np.arange(n) if rows is None else np.asarray(rows, dtype=np.int64)
    if len(sel) > 1 and not np.all(sel[1:] > sel[:-1]):  # any order, repeats allowed: compute each row once
        uniq = np.unique(sel)
        return compute(df, label_delay_days, only, uniq).iloc[np.searchsorted(uniq, sel)].reset_index(drop=True)
    tab = _Table(df, sel, label_delay_days)
    out: dict[str, np.ndarray] = {}
    _transaction_features(tab, out)
    if n >= PARALLEL_ROWS:  # two independent halves on two threads (the kernels release the GIL)
        with ThreadPoolExecutor(max_workers=1) as pool:
            other = pool.submit(_terminal_device_payee_features, tab, out)
            _customer_features(tab, out)
            other.result()
    else:
        _customer_features(tab, out)
        _terminal_device_payee_features(tab, out)

    names = list(only or FEATURES)
    mat = np.empty((len(names), len(sel)), dtype=np.float32)  # one block, no consolidation copy
    for i, k in enumerate(names):
        mat[i] = out[k]
    return pd.DataFrame(mat.T, columns=names, copy=False)
