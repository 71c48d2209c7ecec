"""Scoring: a batch scorer for files and a streaming scorer that keeps per-customer/terminal state.

`FeatureState` evaluates the feature definitions of features.py one
transaction at a time (append-only per-entity time series, prefix sums and
binary search), so that real-time scores equal batch scores; the tests compare
the two. Single rows are predicted with XGBoost's `inplace_predict` on one
thread (no thread start-up, no DMatrix). Reasons come from occlusion: each
reason group's features are set to the median of legitimate training rows and
the drop in score is that group's contribution.
"""

from __future__ import annotations

import atexit
import gc
import heapq
import time
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from sandbox.compute import BatchMeter, Meter, metered
from sandbox.errors import InvalidInput

from . import checks, data, features, model_store, schema
from .features import (
    CATEGORY_CODE,
    CHANNEL_CODE,
    CUST_WINDOWS,
    DAY,
    FEATURES,
    HOUR,
    OTHER_CATEGORY,
    SMALL_AMOUNT,
    TERM_WINDOWS,
    TICK,
)

EPOCH = datetime(1970, 1, 1)
FIDX = {f: i for i, f in enumerate(FEATURES)}
HISTORY_DAYS = 75  # batch scoring: windows need 30 + 30 (unusual flags) + the label delay

# Where `FeatureState.step` writes each feature: resolved by name once, at import (no lookup per transaction).
_STEP_WRITES: list[str] = []


def _at(name: str) -> int:
    _STEP_WRITES.append(name)
    return FIDX[name]


_AMOUNT = _at("amount")
_TX_HOUR = _at("tx_hour")
_TX_NIGHT = _at("tx_during_night")
_TX_WEEKEND = _at("tx_during_weekend")
_IS_CNP = _at("is_cnp")
_IS_FPS = _at("is_fps")
_CATEGORY = _at("merchant_category_code")
# customer: (window in ticks, where its count goes, where its average amount goes)
_CUST_WINDOW_AT = tuple(
    (w * TICK, _at(f"cust_nb_tx_{k}"), _at(f"cust_avg_amount_{k}")) for k, w in CUST_WINDOWS.items()
)
_CUST_RATIO_7D = _at("cust_amount_ratio_7d")
_CUST_RATIO_30D = _at("cust_amount_ratio_30d")
_CUST_Z_30D = _at("cust_amount_z_30d")
_CUST_RATIO_TYPICAL_30D = _at("cust_amount_ratio_typical_30d")
_CUST_UNUSUAL_7D = _at("cust_nb_unusual_7d")
_CUST_NB_10MIN = _at("cust_nb_tx_10min")
_CUST_NB_1H = _at("cust_nb_tx_1h")
_CUST_SMALL_1H = _at("cust_nb_small_1h")
_CUST_CNP_1D = _at("cust_nb_cnp_1d")
_CUST_SECS_SINCE_LAST = _at("cust_secs_since_last")
# terminal: (window in ticks, where its count goes, where its fraud rate goes)
_TERM_WINDOW_AT = tuple((w * TICK, _at(f"term_nb_tx_{k}"), _at(f"term_risk_{k}")) for k, w in TERM_WINDOWS.items())
_TERM_NB_1H = _at("term_nb_tx_1h")
_TERM_RISK_3D = _at("term_risk_3d")
_TERM_VICTIMS_7D = _at("term_fraud_customers_7d")
_TERM_VICTIMS_30D = _at("term_fraud_customers_30d")
_TERM_EPISODE_DAYS = _at("term_fraud_episode_days")
_TERM_DAYS_SINCE_FRAUD = _at("term_days_since_known_fraud")
_TERM_TX_SINCE_FRAUD = _at("term_tx_since_known_fraud")
_NO_TERMINAL_ZERO = (
    *(at for _, nb_at, risk_at in _TERM_WINDOW_AT for at in (nb_at, risk_at)),
    _TERM_NB_1H,
    _TERM_RISK_3D,
    _TERM_VICTIMS_7D,
    _TERM_VICTIMS_30D,
)  # a transaction without a terminal
_DEVICE_NEW = _at("device_new")
_DEVICE_AGE_DAYS = _at("device_age_days")
_DEVICE_NEW_CUSTOMERS_30D = _at("device_new_customers_30d")
_PAYEE_NEW = _at("payee_new")
_PAYEE_NEW_SENDERS_7D = _at("payee_new_senders_7d")
_PAYEE_SENDERS_TOTAL = _at("payee_senders_total")
_PAYEE_AMOUNT_1D = _at("payee_amount_1d")
_CUST_NEW_PAYEES_7D = _at("cust_new_payees_7d")
_CUST_INFLOW_24H = _at("cust_inflow_24h")
if sorted(_STEP_WRITES) != sorted(FEATURES):  # each feature of features.SPEC written exactly once
    raise RuntimeError(
        f"FeatureState.step writes {sorted(set(_STEP_WRITES) ^ set(FEATURES))} wrongly: "
        "give each feature of features.SPEC one place above"
    )


class _Series:
    """An append-only time series of ticks with prefix sums of some values."""

    __slots__ = ("t", "cums")

    def __init__(self, nvals: int = 0):
        self.t: list[int] = []
        self.cums = [[0.0] for _ in range(nvals)]

    def append(self, tick: int, *vals: float) -> None:
        self.t.append(tick)
        for c, v in zip(self.cums, vals):
            c.append(c[-1] + v)

    def upto(self, bound: int) -> int:
        """How many events have tick <= bound."""
        return bisect_right(self.t, bound)

    def trim(self, before: int, min_drop: int = 256) -> None:
        """Forget events at or before `before` (prefix sums stay aligned: differences are unchanged)."""
        k = bisect_right(self.t, before)
        if k >= min_drop:
            del self.t[:k]
            for c in self.cums:
                del c[:k]


@dataclass
class ScoreResult:
    score: float
    alert: bool
    reasons: list[str] = field(default_factory=list)
    threshold: float = 0.5
    txn_id: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def _seconds(ts) -> int:
    if isinstance(ts, str):
        try:
            dt = datetime.fromisoformat(ts.strip().replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput(
                "timestamp", f"{ts!r} is not a date-time", "use ISO 8601, e.g. 2025-03-01T14:05:09"
            ) from None
    elif isinstance(ts, (int, np.integer)):
        return int(ts)
    elif isinstance(ts, datetime):
        dt = ts
    elif isinstance(ts, np.datetime64):
        return int(ts.astype("datetime64[s]").astype(np.int64))
    else:
        raise InvalidInput("timestamp", f"{ts!r} is not a date-time", "use ISO 8601, e.g. 2025-03-01T14:05:09")
    if dt.tzinfo is not None:
        dt = pd.Timestamp(dt).tz_convert("Asia/Hong_Kong").tz_localize(None).to_pydatetime()
    return int((dt - EPOCH).total_seconds())


def _int_id(txn: dict, key: str, default: int = -1) -> int:
    v = txn.get(key, default)
    if v is None or v == "":
        return default
    try:
        i = int(v)
    except (TypeError, ValueError):
        raise InvalidInput(key, f"{v!r} is not an integer id", "use whole numbers (-1 for none)") from None
    if i < -1:
        raise InvalidInput(key, f"{i} is not a valid id", "use whole numbers >= 0 (-1 for none)")
    return i


class FeatureState:
    """Per-entity state from which the features of the next transaction are computed, then updated.

    `step` follows `features.compute` group by group (transaction, customer, terminal, device, payee) and writes
    each feature by name: its position in the row comes from FIDX once, at import, so the order of FEATURES
    can change without touching this class."""

    def __init__(self, label_delay_days: float = 7.0):
        self.label_delay = int(round(label_delay_days * DAY)) * TICK  # terminal counts stop this long (ticks) before
        self.last_sec = None
        self.rank = 0
        self.cust: dict[int, _Series] = {}  # ticks, prefix sums of amount, amount^2, small, cnp
        self.cust_last: dict[int, int] = {}
        self.cust_typ: dict[int, _Series] = {}  # same ticks; prefix sums of typical amount, count, unusual
        self.term: dict[int, _Series] = {}
        self.reports: dict[int, tuple[list[int], list[float]]] = {}  # terminal -> (label ticks, tx seconds)
        self.pending: list[tuple[int, int, int, int]] = []  # (label tick, terminal, tx second, customer)
        self.victims: dict[int, list[int]] = {}  # terminal -> label ticks of first frauds per customer
        self.victim_seen: set[tuple[int, int]] = set()  # (terminal, customer) with a reported fraud
        self.dev_first: dict[tuple[int, int], int] = {}  # (customer, device) -> first second
        self.dev_new: dict[int, _Series] = {}  # device -> ticks of new customers
        self.pay_seen: set[tuple[int, int]] = set()
        self.pay_new: dict[int, _Series] = {}  # payee -> ticks of new senders
        self.pay_total: dict[int, int] = {}
        self.pay_amt: dict[int, _Series] = {}
        self.cust_newpay: dict[int, _Series] = {}
        self.inflow: dict[int, _Series] = {}

    # -- time ------------------------------------------------------------------
    def _next_tick(self, sec: int) -> int:
        """The tick of a transaction at `sec` (seconds, then its rank within the second); the clock moves on."""
        if self.last_sec is not None and sec < self.last_sec:
            raise InvalidInput(
                "timestamp",
                "transactions must arrive in time order",
                f"this one is {self.last_sec - sec} s older than the previous one",
            )
        self.rank = self.rank + 1 if sec == self.last_sec else 0
        self.last_sec = sec
        return sec * TICK + min(self.rank, TICK - 1)

    def report_fraud(self, terminal_id: int, tx_second: int, label_second: int, customer_id: int = -1) -> None:
        """A fraud label arrives (known from the end of `label_second` on). Without the customer, the report counts
        as a new victim at the terminal."""
        if terminal_id >= 0:
            heapq.heappush(self.pending, (label_second * TICK + TICK - 1, terminal_id, tx_second, customer_id))

    def _release(self, tick: int) -> None:
        pend = self.pending
        while pend and pend[0][0] <= tick:
            lt, term, txs, cust = heapq.heappop(pend)
            lts, txss = self.reports.setdefault(term, ([], []))
            lts.append(lt)
            txss.append(float(txs))
            if cust < 0 or (term, cust) not in self.victim_seen:
                if cust >= 0:
                    self.victim_seen.add((term, cust))
                self.victims.setdefault(term, []).append(lt)

    # -- one transaction -------------------------------------------------------
    def step(
        self,
        sec: int,
        cust: int,
        amount: float,
        channel: int,
        cat: float,
        term: int,
        dev: int,
        payee: int,
        out: np.ndarray | None = None,
        dev_first: bool | None = None,
        pay_first: bool | None = None,
    ) -> np.ndarray:
        """Features of this transaction (written into `out`, by name), then the state includes it.

        The same groups, in the same order, as `features.compute`: the transaction itself, the customer, the
        terminal, the device, the payee."""
        tick = self._next_tick(sec)
        self._release(tick)
        f = np.empty(len(FEATURES), dtype=np.float64) if out is None else out
        hour = (sec % DAY) / HOUR
        f[_AMOUNT] = amount
        f[_TX_HOUR] = hour
        f[_TX_NIGHT] = 1.0 if hour < features.NIGHT_HOUR else 0.0
        f[_TX_WEEKEND] = 1.0 if (sec // DAY + 3) % 7 >= 5 else 0.0
        f[_IS_CNP] = 1.0 if channel == 1 else 0.0
        f[_IS_FPS] = 1.0 if channel == 2 else 0.0
        f[_CATEGORY] = cat
        self._customer_step(f, tick, sec, cust, amount, channel)
        if term >= 0:
            self._terminal_step(f, tick, sec, term)
        else:
            for at in _NO_TERMINAL_ZERO:
                f[at] = 0.0
            f[_TERM_EPISODE_DAYS] = f[_TERM_DAYS_SINCE_FRAUD] = f[_TERM_TX_SINCE_FRAUD] = float("nan")
        self._device_step(f, tick, sec, cust, dev, dev_first)
        self._payee_step(f, tick, cust, amount, payee, pay_first)
        return f

    def _customer_step(self, f: np.ndarray, tick: int, sec: int, cust: int, amount: float, channel: int) -> None:
        """The customer's windows: counts, averages, this amount against their history, velocity."""
        series = self.cust.get(cust)
        if series is None:
            series = self.cust[cust] = _Series(4)
        series.append(
            tick, amount, amount * amount, 1.0 if amount < SMALL_AMOUNT else 0.0, 1.0 if channel == 1 else 0.0
        )
        n = len(series.t)
        sum_amount, sum_amount2, sum_small, sum_cnp = series.cums
        for window, nb_at, avg_at in _CUST_WINDOW_AT:
            first = series.upto(tick - window)
            count = n - first
            f[nb_at] = count
            f[avg_at] = (sum_amount[n] - sum_amount[first]) / max(count, 1)
        # this amount against the previous 7 and 30 days (itself left out); a 0.00 history has no ratio
        first_7d = series.upto(tick - 7 * DAY * TICK)
        n_prev = n - 1 - first_7d
        mean = (sum_amount[n - 1] - sum_amount[first_7d]) / n_prev if n_prev > 0 else float("nan")
        f[_CUST_RATIO_7D] = amount / mean if n_prev > 0 and mean > 0 else float("nan")
        first_30d = series.upto(tick - 30 * DAY * TICK)
        n_prev = n - 1 - first_30d
        mean = (sum_amount[n - 1] - sum_amount[first_30d]) / n_prev if n_prev > 0 else float("nan")
        f[_CUST_RATIO_30D] = amount / mean if n_prev > 0 and mean > 0 else float("nan")
        sum2 = sum_amount2[n - 1] - sum_amount2[first_30d]
        known_mean = mean if n_prev > 0 else 0.0
        var = max(sum2 / max(n_prev, 1) - known_mean * known_mean, 0.0)
        f[_CUST_Z_30D] = (amount - mean) / (var**0.5 + 1.0) if n_prev > 0 else float("nan")
        unusual = 1.0 if (n_prev > 0 and amount > features.UNUSUAL_FACTOR * mean) else 0.0
        self._customer_typical_step(f, tick, cust, amount, unusual, n, first_7d, first_30d)
        f[_CUST_NB_10MIN] = n - series.upto(tick - 600 * TICK)
        first = series.upto(tick - HOUR * TICK)
        f[_CUST_NB_1H] = n - first
        f[_CUST_SMALL_1H] = sum_small[n] - sum_small[first]
        first = series.upto(tick - DAY * TICK)
        f[_CUST_CNP_1D] = sum_cnp[n] - sum_cnp[first]
        last = self.cust_last.get(cust)
        f[_CUST_SECS_SINCE_LAST] = sec - last if last is not None else float("nan")
        self.cust_last[cust] = sec

    def _customer_typical_step(
        self, f: np.ndarray, tick: int, cust: int, amount: float, unusual: float, n: int, first_7d: int, first_30d: int
    ) -> None:
        """This amount against the customer's typical amount (earlier unusual ones left out), and how many unusual
        amounts they had in the previous 7 days. `n`, `first_7d`, `first_30d`: positions in the customer's series
        (this one has the same ticks)."""
        series = self.cust_typ.get(cust)
        if series is None:
            series = self.cust_typ[cust] = _Series(3)
        series.append(tick, amount * (1 - unusual), 1 - unusual, unusual)
        sum_typical, n_typical, n_unusual = series.cums
        typ_n = n_typical[n - 1] - n_typical[first_30d]
        typ_s = sum_typical[n - 1] - sum_typical[first_30d]
        f[_CUST_RATIO_TYPICAL_30D] = amount / (typ_s / typ_n) if typ_n > 0 and typ_s > 0 else float("nan")
        f[_CUST_UNUSUAL_7D] = n_unusual[n - 1] - n_unusual[first_7d]

    def _terminal_step(self, f: np.ndarray, tick: int, sec: int, term: int) -> None:
        """The terminal's windows: counts before the label delay, fraud reported (label known) in the window,
        distinct victims, and when the frauds reported in the last 30 days happened."""
        series = self.term.get(term)
        if series is None:
            series = self.term[term] = _Series(0)
        series.append(tick)
        delay = self.label_delay
        counted = series.upto(tick - delay)
        reports = self.reports.get(term)
        for window, nb_at, risk_at in _TERM_WINDOW_AT:
            nb = counted - series.upto(tick - delay - window)
            nf = (len(reports[0]) - bisect_right(reports[0], tick - window)) if reports else 0
            f[nb_at] = nb
            f[risk_at] = nf / max(nb, 1) if nb > 0 else 0.0
        f[_TERM_NB_1H] = len(series.t) - series.upto(tick - HOUR * TICK)
        nb = counted - series.upto(tick - delay - 3 * DAY * TICK)
        nf = (len(reports[0]) - bisect_right(reports[0], tick - 3 * DAY * TICK)) if reports else 0
        f[_TERM_RISK_3D] = nf / max(nb, 1) if nb > 0 else 0.0
        victims = self.victims.get(term)
        f[_TERM_VICTIMS_7D] = (len(victims) - bisect_right(victims, tick - 7 * DAY * TICK)) if victims else 0.0
        f[_TERM_VICTIMS_30D] = (len(victims) - bisect_right(victims, tick - 30 * DAY * TICK)) if victims else 0.0
        first = bisect_right(reports[0], tick - 30 * DAY * TICK) if reports else 0
        if reports and first < len(reports[0]):
            f[_TERM_EPISODE_DAYS] = (sec - reports[1][first]) / DAY
            f[_TERM_DAYS_SINCE_FRAUD] = (sec - reports[1][-1]) / DAY
            # clean transactions (before the delay, at most 30 days back) after the latest reported fraud
            lo = max(tick - delay - 30 * DAY * TICK + 1, (int(reports[1][-1]) + 1) * TICK)
            f[_TERM_TX_SINCE_FRAUD] = counted - series.upto(lo - 1) if lo <= tick - delay else 0.0
        else:
            f[_TERM_EPISODE_DAYS] = f[_TERM_DAYS_SINCE_FRAUD] = f[_TERM_TX_SINCE_FRAUD] = float("nan")

    def _device_step(self, f: np.ndarray, tick: int, sec: int, cust: int, dev: int, dev_first: bool | None) -> None:
        """Is the device new for the customer (`dev_first` overrides what the state knows), its age for them,
        how many customers are new to it."""
        if dev < 0:
            f[_DEVICE_NEW] = 0.0
            f[_DEVICE_AGE_DAYS] = float("nan")
            f[_DEVICE_NEW_CUSTOMERS_30D] = 0.0
            return
        key = (cust, dev)
        first = self.dev_first.get(key)
        is_new = first is None if dev_first is None else dev_first
        if first is None:
            first = self.dev_first[key] = sec
        newcomers = self.dev_new.get(dev)
        if is_new:
            if newcomers is None:
                newcomers = self.dev_new[dev] = _Series(0)
            newcomers.append(tick)
        f[_DEVICE_NEW] = 1.0 if is_new else 0.0
        f[_DEVICE_AGE_DAYS] = (sec - first) / DAY
        f[_DEVICE_NEW_CUSTOMERS_30D] = (
            (len(newcomers.t) - newcomers.upto(tick - 30 * DAY * TICK)) if newcomers is not None else 0.0
        )

    def _payee_step(
        self, f: np.ndarray, tick: int, cust: int, amount: float, payee: int, pay_first: bool | None
    ) -> None:
        """Payees: novelty (`pay_first` overrides what the state knows), fan-in (mule signal), the customer's new
        payees, and money flowing into the customer (fan-out)."""
        if payee >= 0:
            key = (cust, payee)
            is_new = (key not in self.pay_seen) if pay_first is None else pay_first
            if is_new:
                self.pay_seen.add(key)
                senders = self.pay_new.get(payee)
                if senders is None:
                    senders = self.pay_new[payee] = _Series(0)
                senders.append(tick)
                self.pay_total[payee] = self.pay_total.get(payee, 0) + 1
                added = self.cust_newpay.get(cust)
                if added is None:
                    added = self.cust_newpay[cust] = _Series(0)
                added.append(tick)
            senders = self.pay_new.get(payee)
            f[_PAYEE_NEW] = 1.0 if is_new else 0.0
            f[_PAYEE_NEW_SENDERS_7D] = (
                (len(senders.t) - senders.upto(tick - 7 * DAY * TICK)) if senders is not None else 0.0
            )
            f[_PAYEE_SENDERS_TOTAL] = self.pay_total.get(payee, 0)
            received = self.pay_amt.get(payee)
            if received is None:
                received = self.pay_amt[payee] = _Series(1)
            received.append(tick, amount)
            m = len(received.t)
            f[_PAYEE_AMOUNT_1D] = received.cums[0][m] - received.cums[0][received.upto(tick - DAY * TICK)]
            inflow = self.inflow.get(payee)
            if inflow is None:
                inflow = self.inflow[payee] = _Series(1)
            inflow.append(tick, amount)
        else:
            f[_PAYEE_NEW] = f[_PAYEE_NEW_SENDERS_7D] = f[_PAYEE_SENDERS_TOTAL] = f[_PAYEE_AMOUNT_1D] = 0.0
        added = self.cust_newpay.get(cust)
        f[_CUST_NEW_PAYEES_7D] = (len(added.t) - added.upto(tick - 7 * DAY * TICK)) if added is not None else 0.0
        inflow = self.inflow.get(cust)
        if inflow is not None:
            m = len(inflow.t)
            f[_CUST_INFLOW_24H] = inflow.cums[0][m] - inflow.cums[0][inflow.upto(tick - DAY * TICK)]
        else:
            f[_CUST_INFLOW_24H] = 0.0

    def absorb(
        self,
        sec: int,
        cust: int,
        amount: float,
        channel: int,
        term: int,
        dev: int,
        payee: int,
        dev_first: bool,
        pay_first: bool,
        unusual: bool,
    ) -> None:
        """The state updates of `step` without computing features (for loading history fast)."""
        tick = self._next_tick(sec)
        series = self.cust.get(cust)
        if series is None:
            series = self.cust[cust] = _Series(4)
        series.append(
            tick, amount, amount * amount, 1.0 if amount < SMALL_AMOUNT else 0.0, 1.0 if channel == 1 else 0.0
        )
        u = 1.0 if unusual else 0.0
        typical = self.cust_typ.get(cust)
        if typical is None:
            typical = self.cust_typ[cust] = _Series(3)
        typical.append(tick, amount * (1 - u), 1 - u, u)
        self.cust_last[cust] = sec
        if term >= 0:
            series = self.term.get(term)
            if series is None:
                series = self.term[term] = _Series(0)
            series.append(tick)
        if dev >= 0:
            self.dev_first.setdefault((cust, dev), sec)
            if dev_first:
                newcomers = self.dev_new.get(dev)
                if newcomers is None:
                    newcomers = self.dev_new[dev] = _Series(0)
                newcomers.append(tick)
        if payee >= 0:
            if pay_first:
                self.pay_seen.add((cust, payee))
                for store, key in ((self.pay_new, payee), (self.cust_newpay, cust)):
                    ser = store.get(key)
                    if ser is None:
                        ser = store[key] = _Series(0)
                    ser.append(tick)
                self.pay_total[payee] = self.pay_total.get(payee, 0) + 1
            for store in (self.pay_amt, self.inflow):
                ser = store.get(payee)
                if ser is None:
                    ser = store[payee] = _Series(1)
                ser.append(tick, amount)

    def compact(self, min_drop: int = 256) -> None:
        """Drop per-entity events older than every window (31 days plus the label delay) to bound memory."""
        if self.last_sec is None:
            return
        before = self.last_sec * TICK - 31 * DAY * TICK - self.label_delay
        for store in (
            self.cust,
            self.cust_typ,
            self.term,
            self.dev_new,
            self.pay_new,
            self.pay_amt,
            self.cust_newpay,
            self.inflow,
        ):
            for ser in store.values():
                ser.trim(before, min_drop)
        for lts, txss in self.reports.values():
            k = bisect_right(lts, before + self.label_delay)
            if k >= min_drop:
                del lts[:k]
                del txss[:k]
        for lts in self.victims.values():
            k = bisect_right(lts, before + self.label_delay)
            if k >= min_drop:
                del lts[:k]

    def warm(self, df: pd.DataFrame, tail_days: float = 40.0) -> None:
        """Load history (in data order) as if every row had been scored, with its fraud labels fed in.

        Windows need only the last `tail_days` (30 days plus the label delay), whose rows are absorbed one by one;
        the "ever seen" facts (devices, payees, a customer's last transaction) come from the whole history.
        """
        if not len(df):
            return
        secs = features.epoch_seconds(df["timestamp"].to_numpy())
        cust = df["customer_id"].to_numpy(np.int64)
        dev = df["device_id"].to_numpy(np.int64)
        payee = df["payee_id"].to_numpy(np.int64)
        term = df["terminal_id"].to_numpy(np.int64)
        fraud = df["is_fraud"].to_numpy() == 1
        label_s = features.epoch_seconds(df["label_time"].to_numpy())
        dev_first = features.pair_first(cust, dev)
        pay_first = features.pair_first(cust, payee)
        cut = int(np.searchsorted(secs, secs[-1] - int(tail_days * DAY), side="right"))
        h = slice(0, cut)
        for c, d, s_ in zip(
            cust[h][dev_first[h]].tolist(), dev[h][dev_first[h]].tolist(), secs[h][dev_first[h]].tolist()
        ):
            self.dev_first[(c, d)] = s_
        self.pay_seen.update(zip(cust[h][pay_first[h]].tolist(), payee[h][pay_first[h]].tolist()))
        for p_, k in zip(*np.unique(payee[h][pay_first[h]], return_counts=True)):
            self.pay_total[int(p_)] = int(k)
        last = pd.Series(secs[h]).groupby(cust[h]).max()
        self.cust_last.update(zip(last.index.tolist(), last.to_numpy().tolist()))
        late = fraud[h] & (label_s[h] >= secs[cut - 1] if cut else False)
        for t_, s_, l_, c_ in zip(
            term[h][late].tolist(), secs[h][late].tolist(), label_s[h][late].tolist(), cust[h][late].tolist()
        ):
            self.report_fraud(t_, s_, l_, c_)
        early = fraud[h] & ~late & (term[h] >= 0)  # reported before every window: only "seen before" matters
        self.victim_seen.update(zip(term[h][early].tolist(), cust[h][early].tolist()))
        if cut:
            self.last_sec = int(secs[cut - 1])
            self.rank = int(cut - 1 - np.searchsorted(secs, secs[cut - 1], side="left"))
        amount = df["amount"].to_numpy(np.float64)
        ch_codes, ch_uniques = pd.factorize(np.asarray(df["channel"], dtype=object))
        channel = np.array([CHANNEL_CODE.get(str(u), 0) for u in ch_uniques] + [0], dtype=np.int64)[ch_codes]
        unusual = features.unusual_flags(df)
        tail = slice(cut, len(df))
        for args in zip(
            secs[tail].tolist(),
            cust[tail].tolist(),
            amount[tail].tolist(),
            channel[tail].tolist(),
            term[tail].tolist(),
            dev[tail].tolist(),
            payee[tail].tolist(),
            dev_first[tail].tolist(),
            pay_first[tail].tolist(),
            unusual[tail].tolist(),
        ):
            self.absorb(*args)
        for t_, s_, l_, c_ in zip(
            term[tail][fraud[tail]].tolist(),
            secs[tail][fraud[tail]].tolist(),
            label_s[tail][fraud[tail]].tolist(),
            cust[tail][fraud[tail]].tolist(),
        ):
            self.report_fraud(t_, s_, l_, c_)


class ScoreMeter(BatchMeter):
    """A long-lived scorer's work counted against the bank's quota in batches (sandbox/compute.py BatchMeter): one
    usage record per `FLUSH_N` scores or `FLUSH_S` seconds (and at exit), since a ledger append per transaction
    would cost more than the scoring. Over quota at load, the scorer is not made; later, it refuses the next
    transaction after a flush says so."""

    FLUSH_N = 10_000

    def __init__(self, ctx):
        super().__init__(ctx, "fraud", "score")
        ctx.check_quota()
        self.checked = True
        atexit.register(self.flush)


class StreamingScorer:
    """Scores one transaction at a time with this bank's model; keeps per-customer/terminal state."""

    meter: ScoreMeter | None = None  # set by load_scorer: scores count against the bank's compute quota

    def __init__(self, booster, sidecar: dict, state: FeatureState, bank: str):
        self.booster = booster
        # single rows: one thread (no thread start-up), on the CPU (no copy to a GPU for one row)
        self.booster.set_param({"nthread": 1, "device": "cpu"})
        self.sidecar = sidecar
        self.bank = bank
        self.features = list(sidecar["features"])
        self.idx = np.array([FIDX[f] for f in self.features], dtype=np.int64)
        self.threshold = float(sidecar["threshold"])
        self.state = state
        self._buf = np.empty(len(FEATURES))
        base = sidecar.get("baseline", {})
        self.baseline = np.array([np.nan if base.get(f) is None else base[f] for f in self.features], dtype=np.float32)
        pos = {f: i for i, f in enumerate(self.features)}
        self.groups = [(g, [pos[f] for f in fs if f in pos]) for g, fs in features.REASON_GROUPS.items()]
        self.groups = [(g, ix) for g, ix in self.groups if ix]
        self.scored = 0

    def _parse(self, txn: dict):
        if not isinstance(txn, dict):
            raise InvalidInput("transaction", "not a mapping", "pass a dict with timestamp, customer_id, amount ...")
        for key in ("timestamp", "customer_id", "amount"):
            if key not in txn:
                raise InvalidInput(key, "missing", "every transaction needs timestamp, customer_id and amount")
        try:
            amount = float(txn["amount"])
        except (TypeError, ValueError):
            raise InvalidInput("amount", f"{txn['amount']!r} is not a number", "use an amount in HKD") from None
        if not (0 <= amount <= schema.MAX_AMOUNT):
            raise InvalidInput("amount", f"{amount} is out of range", f"use 0 <= amount <= {schema.MAX_AMOUNT:,.0f}")
        ch = txn.get("channel", "card_present")
        if ch not in CHANNEL_CODE:
            raise InvalidInput("channel", f"{ch!r} is not a channel", f"use one of {', '.join(CHANNEL_CODE)}")
        cat = float(CATEGORY_CODE.get(txn.get("merchant_category", "general"), OTHER_CATEGORY))
        cust = _int_id(txn, "customer_id")
        if cust < 0:
            raise InvalidInput("customer_id", "missing", "every transaction needs a customer_id")
        return (
            _seconds(txn["timestamp"]),
            cust,
            amount,
            CHANNEL_CODE[ch],
            cat,
            _int_id(txn, "terminal_id"),
            _int_id(txn, "device_id"),
            _int_id(txn, "payee_id"),
        )

    def features_of(self, txn: dict) -> np.ndarray:
        """The model's feature row for this transaction (and the state moves on)."""
        f = self.state.step(*self._parse(txn), out=self._buf)
        return f[self.idx].astype(np.float32).reshape(1, -1)

    def score(self, txn: dict, explain: bool = True, top: int = 4) -> ScoreResult:
        meter = self.meter
        if meter is None:
            return self._score(txn, explain, top)
        meter.check()
        with Meter() as used:
            result = self._score(txn, explain, top)
        meter.add(used)
        return result

    def _score(self, txn: dict, explain: bool, top: int) -> ScoreResult:
        row = self.features_of(txn)
        if explain:
            rows = np.repeat(row, len(self.groups) + 1, axis=0)
            for k, (_, ix) in enumerate(self.groups, start=1):
                rows[k, ix] = self.baseline[ix]
            preds = self.booster.inplace_predict(rows)
            score = float(preds[0])
            contrib = score - preds[1:]
            order = np.argsort(-contrib)[:top]
            reasons = [self._reason(self.groups[k][0], row[0], float(contrib[k])) for k in order if contrib[k] > 1e-4]
        else:
            score = float(self.booster.inplace_predict(row)[0])
            reasons = []
        self.scored += 1
        if self.scored % 100_000 == 0:
            self.state.compact()
        return ScoreResult(
            score=score,
            alert=score >= self.threshold,
            reasons=reasons,
            threshold=self.threshold,
            txn_id=txn.get("txn_id"),
        )

    def _reason(self, group: str, row: np.ndarray, contribution: float) -> str:
        names = [f for f in features.REASON_GROUPS[group] if f in self.features]
        f = names[0]
        v = row[self.features.index(f)]
        value = "n/a" if not np.isfinite(v) else (f"{v:,.2f}" if abs(v) < 1e6 else f"{v:,.0f}")
        return f"{group}: {features.SPEC[f]} = {value} (+{contribution:.3f})"

    def report_fraud(self, terminal_id: int, timestamp, reported_at=None, customer_id: int | None = None) -> None:
        """A fraud was reported: the transaction at `terminal_id` at `timestamp`, reported at `reported_at` (default:
        now), of `customer_id` (counts distinct victims at the terminal; without it every report is a new victim)."""
        sec = _seconds(timestamp)
        self.state.report_fraud(
            int(terminal_id),
            sec,
            _seconds(reported_at) if reported_at is not None else sec,
            -1 if customer_id is None else int(customer_id),
        )


@metered("fraud", "score")  # loading and warming the scorer is work too
def load_scorer(
    ctx, model_path: str | Path | None = None, warm: bool = True, version: str | int | None = None
) -> StreamingScorer:
    """This bank's streaming scorer with its champion (or an explicit `version`, or a model file), its state
    warmed on the bank's transaction history. `scorer.sidecar["model_stage"]` says which it is."""
    ctx.require("fraud.score")
    ctx.require("models.load")
    booster, sidecar = model_store.load(ctx, model_path, version)
    state = FeatureState(label_delay_days=float(sidecar.get("label_delay_days", 7)))
    if warm:
        try:
            df, _ = data.load(ctx)
        except Exception as exc:  # noqa: BLE001 - no history is fine: start cold
            if type(exc).__name__ != "NotFound":
                raise
            df = None
        if df is not None and len(df):
            state.warm(df)
            gc.freeze()  # the warmed state is long-lived: keep the collector from rescanning it on every score
    ctx.audit("fraud.scorer.load", run_id=sidecar.get("run_id"))
    scorer = StreamingScorer(booster, sidecar, state, ctx.bank)
    scorer.meter = ScoreMeter(ctx)
    return scorer


HISTORY_COLUMNS = [
    "txn_id",
    "timestamp",
    "customer_id",
    "terminal_id",
    "amount",
    "channel",
    "device_id",
    "payee_id",
    "is_fraud",
    "label_time",
]  # what the windows need of the history (not its text columns)


def _with_history(hist: pd.DataFrame, batch: pd.DataFrame) -> pd.DataFrame:
    """History rows (all before the batch, in data order) then the batch rows (in data order), as one table.

    Built column by column: the batch's labels are unknown (is_fraud 0, never reported), and the merchant
    category, which only the batch rows' own features use, is empty for the history rows.
    """
    nh = len(hist)
    cols: dict[str, object] = {}
    for c in ("txn_id", "customer_id", "terminal_id", "device_id", "payee_id"):
        cols[c] = np.concatenate([hist[c].to_numpy(np.int64), batch[c].to_numpy(np.int64)])
    cols["amount"] = np.concatenate([hist["amount"].to_numpy(np.float64), batch["amount"].to_numpy(np.float64)])
    ts_b = batch["timestamp"].to_numpy("datetime64[ns]")
    cols["timestamp"] = np.concatenate([hist["timestamp"].to_numpy("datetime64[ns]"), ts_b])
    cols["is_fraud"] = np.concatenate([hist["is_fraud"].to_numpy(np.int8), np.zeros(len(batch), np.int8)])
    cols["label_time"] = np.concatenate(
        [hist["label_time"].to_numpy("datetime64[ns]"), ts_b + np.timedelta64(3650, "D")]
    )
    ch = np.concatenate(
        [
            features.channel_codes(hist["channel"]) if nh else np.zeros(0, np.int64),
            features.channel_codes(batch["channel"]),
        ]
    )
    cols["channel"] = pd.Categorical.from_codes(ch, categories=list(schema.CHANNELS))
    mc_codes, mc_cats = pd.factorize(batch["merchant_category"])
    cols["merchant_category"] = pd.Categorical.from_codes(
        np.concatenate([np.full(nh, -1), mc_codes]), categories=pd.Index(mc_cats).astype(str)
    )
    return pd.DataFrame(cols)


def batch_features(
    ctx,
    batch: pd.DataFrame,
    label_delay_days: float,
    names: tuple[str, ...],
    stage: Callable[[str], None] | None = None,
) -> tuple[pd.DataFrame, int]:
    """Features of a validated batch (in data order) over the bank's stored history before its first row:
    the same definition as training (features.compute), with the batch's own labels unknown. Returns the
    features and the number of history rows used."""
    hist = data.load_history(ctx, batch["timestamp"].iloc[0], HISTORY_DAYS, HISTORY_COLUMNS)
    if stage:
        stage("history_read")
    combined = _with_history(hist, batch)
    if stage:
        stage("combine")
    X = features.compute(
        combined, label_delay_days=label_delay_days, only=names, rows=np.arange(len(hist), len(combined))
    )
    if stage:
        stage("features")
    return X, len(hist)


@metered("fraud", "score")
def score_batch(
    ctx,
    input_path: str | Path,
    output_path: str | Path,
    model_path: str | Path | None = None,
    version: str | int | None = None,
) -> dict:
    """Score a CSV/Parquet file of transactions (schema of `sandbox fraud import`; is_fraud may be absent).

    The bank's stored history before the first input transaction feeds the windows; labels in the input are
    ignored (they are not known at scoring time). Writes txn_id, score, alert (CSV or Parquet by suffix), in
    data order (timestamp, then txn_id). The result carries the whole time (`wall_s`) and each stage's
    (`stage_s`); its shape is in docs/results.md.
    """
    ctx.require("fraud.score")
    ctx.require("models.load")
    t0 = time.perf_counter()
    stages: dict[str, float] = {}
    lap = [t0]

    def stage(name: str) -> None:
        now = time.perf_counter()
        stages[name] = round(now - lap[0], 4)
        lap[0] = now

    # Each path is opened once and checked by descriptor; the input is read from its descriptor and the scores
    # are written to a temp file in the output's checked folder, then renamed (never through a link).
    with (
        ctx.user_output(output_path, checks.label("output")) as out,
        ctx.user_file(input_path, checks.label("input")) as src,
    ):
        if src.same_file(out.existing()):  # the same inode: another spelling, a link or a hard link of the input
            raise InvalidInput(
                checks.label("output"),
                f"{out.path} is the input file: the scores would overwrite the transactions",
                "write the scores to another file, e.g. --output scores.csv",
            )
        booster, sidecar = model_store.load(ctx, model_path, version)  # the champion unless told otherwise
        stage("model_load")
        if out.suffix.lower() not in (".csv", ".parquet"):
            raise InvalidInput(
                checks.label("output"),
                f"{out.name} must end in .csv or .parquet",
                "name the output file.csv or file.parquet",
            )
        batch = _read_batch(src, stage)
        X, n_hist = batch_features(
            ctx, batch, float(sidecar.get("label_delay_days", 7)), tuple(sidecar["features"]), stage
        )
        scores = booster.inplace_predict(np.ascontiguousarray(X.to_numpy()))
        stage("predict")
        thr = float(sidecar["threshold"])
        out_frame = pd.DataFrame(
            {"txn_id": batch["txn_id"].to_numpy(), "score": scores.astype(np.float64), "alert": scores >= thr}
        )
        _write_scores(out, out_frame)
        out_path = out.path
    stage("write")
    total = time.perf_counter() - t0
    res = _result(out_frame, thr, out_path, sidecar, n_hist, stages, total)
    ctx.audit(
        "fraud.score",
        rows=res["rows"],
        alerts=res["alerts"],
        run_id=sidecar.get("run_id"),
        model_version=res["model_version"],
        model_stage=res["model_stage"],
    )
    return res


def _read_batch(src, stage: Callable[[str], None]) -> pd.DataFrame:
    """The input's transactions, validated (any invalid row refuses the whole file) and in data order."""
    raw, _ = schema.read_table(src)
    if "is_fraud" not in raw.columns and "TX_FRAUD" not in raw.columns:
        raw = raw.assign(is_fraud=0)
    stage("read")
    batch, rejections, n_rejected, _layout = schema.validate(raw, text="category")
    if n_rejected:
        r = rejections[0]
        raise InvalidInput(
            checks.label("input"),
            f"{n_rejected} invalid row(s); first: row {r.row}, column {r.column}: {r.reason}",
            "fix the file; see `sandbox fraud import --help` for the schema",
        )
    batch = features.sort_frame(batch)
    stage("validate")
    return batch


def _write_scores(out, out_frame: pd.DataFrame) -> None:
    """Write the scores through the checked output (temp file, then rename): CSV or Parquet by suffix."""
    with out.writing() as fh:
        if out.suffix.lower() == ".csv":
            out_frame.to_csv(fh, index=False)
        else:
            out_frame.to_parquet(fh, index=False)


def _result(out_frame: pd.DataFrame, thr: float, out_path, sidecar: dict, n_hist: int, stages: dict, total: float):
    """score_batch's result (docs/results.md): counts, the model used, the time taken (`wall_s`, `stage_s`)."""
    return {
        "rows": int(len(out_frame)),
        "alerts": int(out_frame["alert"].sum()),
        "threshold": thr,
        "output": str(out_path),
        "run_id": sidecar.get("run_id"),
        "model_version": sidecar.get("model_version", ""),
        "model_stage": sidecar.get("model_stage", ""),
        "history_rows": int(n_hist),
        "features_s": stages["features"],
        "predict_s": stages["predict"],
        "stage_s": stages,
        "wall_s": round(total, 3),
        "rows_per_s": round(len(out_frame) / max(total, 1e-9), 1),
    }
