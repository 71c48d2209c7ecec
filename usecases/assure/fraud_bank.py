"""The bank as a fraud ring meets it: one transaction in, approve or decline out, within a query budget.

`Oracle` wraps the bank's streaming scorer (its state warmed on the bank's history, as `sandbox fraud score` does)
and hands the attacker nothing but `submit(txn) -> Decision` (approved or not; the score only when the run is told
to show it) and `trial()`. A trial is one candidate campaign played against the bank as it stands at the end of its
history: every probe of the trial moves the scorer's state on (velocity, new devices, payee fan-in all count), and
when the trial ends the state is rolled back, so that candidates are independent trials against the same bank
rather than a ring's single run whose later probes see the earlier ones. The rollback journals only the entries a
trial touches (`_Journal`): copying the warmed state of a 5,000-customer bank for each trial would cost seconds.

`profiles()` is what a ring knows of its victims from a compromised card or account (the statement): the usual
amount per channel, the usual terminal and online merchant, the device, the hours they are active. The attacker
never sees features, the model or its threshold.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd

_MISSING = object()
_DICTS = (
    "cust",
    "cust_last",
    "cust_typ",
    "term",
    "reports",
    "victims",
    "dev_first",
    "dev_new",
    "pay_total",
    "pay_amt",
    "pay_new",
    "cust_newpay",
    "inflow",
)
_SETS = ("victim_seen", "pay_seen")


class BudgetSpent(Exception):
    """The attacker asked for one query more than its budget."""


@dataclass(frozen=True)
class Decision:
    approved: bool
    score: float | None = None  # only when the oracle shows scores (observe="score")


def _clone(v):
    """A copy of one state entry deep enough that appending to it leaves the original as it was."""
    if hasattr(v, "cums"):  # scorer._Series
        c = type(v).__new__(type(v))
        c.t, c.cums = list(v.t), [list(x) for x in v.cums]
        return c
    if isinstance(v, tuple):
        return tuple(list(x) for x in v)
    if isinstance(v, list):
        return list(v)
    return v


class _CowDict(dict):
    """A state dict that hands out copies of the entries a trial reads, and remembers the originals."""

    def __init__(self, base: dict):
        super().__init__(base)
        self.saved: dict = {}

    def _touch(self, key):
        if key not in self.saved:
            self.saved[key] = dict.get(self, key, _MISSING)
            if self.saved[key] is not _MISSING:
                dict.__setitem__(self, key, _clone(self.saved[key]))

    def get(self, key, default=None):
        if key in self:
            self._touch(key)
            return dict.__getitem__(self, key)
        return default

    def __getitem__(self, key):
        self._touch(key)
        return dict.__getitem__(self, key)

    def __setitem__(self, key, value):
        self._touch(key)
        dict.__setitem__(self, key, value)

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return self[key]

    def rollback(self) -> None:
        for key, v in self.saved.items():
            if v is _MISSING:
                dict.pop(self, key, None)
            else:
                dict.__setitem__(self, key, v)
        self.saved.clear()


class _CowSet(set):
    def __init__(self, base: set):
        super().__init__(base)
        self.added: list = []

    def add(self, item) -> None:
        if item not in self:
            self.added.append(item)
            set.add(self, item)

    def rollback(self) -> None:
        for item in self.added:
            self.discard(item)
        self.added.clear()


class _Journal:
    """Makes a warmed `FeatureState` roll back to where it stood (the scorer's state layout: see scorer.py)."""

    def __init__(self, state):
        missing = [a for a in (*_DICTS, *_SETS, "pending", "last_sec", "rank") if not hasattr(state, a)]
        if missing:  # the scorer's state was reorganised: this is the one place to follow it
            raise RuntimeError(f"FeatureState has no {missing}: update usecases/assure/fraud_bank.py _DICTS/_SETS")
        self.state = state
        for a in _DICTS:  # a state already journaled (a second oracle on the same scorer) keeps its journal
            if not isinstance(getattr(state, a), _CowDict):
                setattr(state, a, _CowDict(getattr(state, a)))
        for a in _SETS:
            if not isinstance(getattr(state, a), _CowSet):
                setattr(state, a, _CowSet(getattr(state, a)))

    @contextmanager
    def trial(self):
        s = self.state
        mark = (s.last_sec, s.rank, list(s.pending))
        try:
            yield
        finally:
            for a in (*_DICTS, *_SETS):
                getattr(s, a).rollback()
            s.last_sec, s.rank, s.pending = mark[0], mark[1], mark[2]


class Oracle:
    """The bank's model behind its streaming scorer: decisions only, a query budget, independent trials."""

    def __init__(self, scorer, budget: int, show_score: bool = False):
        self.__scorer = scorer  # name-mangled: the attacker is handed `submit` and `trial`, nothing else
        self.__journal = _Journal(scorer.state)
        self.budget = int(budget)
        self.used = 0
        self.show_score = show_score

    @property
    def remaining(self) -> int:
        return self.budget - self.used

    def submit(self, txn: dict) -> Decision:
        if self.used >= self.budget:
            raise BudgetSpent(f"the query budget of {self.budget} is spent")
        self.used += 1
        res = self.__scorer.score(txn, explain=False)
        return Decision(approved=not res.alert, score=round(res.score, 4) if self.show_score else None)

    @contextmanager
    def trial(self):
        with self.__journal.trial():
            yield self


@dataclass
class Profile:
    """What a ring learns of one victim from their card or account statement."""

    customer: int
    typical: dict  # channel -> median amount (HKD) in the last 30 days
    usual_terminal: int  # most used card terminal (-1: none)
    usual_online: int  # most used online merchant (-1: none)
    usual_category: str
    device: int  # the device they bank on (-1: none seen)
    active_hours: tuple[int, int]  # 10th and 90th percentile hour


def profiles(df: pd.DataFrame, n: int, seed: int, exclude: set[int] | None = None) -> list[Profile]:
    """`n` victims (seeded) among customers active in the last 30 days of the history, with their habits."""
    end = df["timestamp"].max()
    recent = df[df["timestamp"] > end - pd.Timedelta(days=30)]
    recent = recent[recent["is_fraud"] == 0]
    counts = recent["customer_id"].value_counts()
    pool = np.sort(counts[counts >= 5].index.to_numpy())
    if exclude:
        pool = pool[~np.isin(pool, list(exclude))]
    rng = np.random.default_rng(seed)
    chosen = rng.permutation(pool)[:n]
    out = []
    by = recent[recent["customer_id"].isin(chosen)].groupby("customer_id", sort=False)
    overall = recent.groupby(recent["channel"].astype(str), observed=True)["amount"].median().to_dict()
    for c in chosen.tolist():
        g = by.get_group(c)
        ch = g["channel"].astype(str)
        typical = {
            k: float(g.loc[ch == k, "amount"].median()) if (ch == k).any() else float(overall.get(k, 300.0))
            for k in ("card_present", "card_not_present", "fps")
        }
        cp, cnp = g[ch == "card_present"], g[ch == "card_not_present"]
        dev = g.loc[g["device_id"] >= 0, "device_id"]
        hours = g["timestamp"].dt.hour
        out.append(
            Profile(
                customer=int(c),
                typical=typical,
                usual_terminal=int(cp["terminal_id"].mode().iloc[0]) if len(cp) else -1,
                usual_online=int(cnp["terminal_id"].mode().iloc[0]) if len(cnp) else -1,
                usual_category=str(cp["merchant_category"].mode().iloc[0]) if len(cp) else "retail",
                device=int(dev.iloc[-1]) if len(dev) else -1,
                active_hours=(int(hours.quantile(0.1)), int(hours.quantile(0.9))),
            )
        )
    return out
