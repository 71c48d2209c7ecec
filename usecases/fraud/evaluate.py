"""The evaluation protocol and its metrics.

Protocol (the Fraud Detection Handbook's): train on `train_days` days, skip
`delay_days` (labels of that period are not known yet when the model goes
live), test on `test_days` days. Customers known to be compromised (a fraud
label known by the test day: from the training period, or reported
`delay_days` before) are removed from each test day, as an investigator
would have blocked those cards.

Which windows (`plan`), named by `sandbox fraud train --protocol`:
- `handbook`: the book's "test performance", four prequential folds of 7+7+7
  days one week apart, training from 2018-07-25, 08-01, 08-08 and 08-15 when
  the data cover those dates (up to 2018-09-04); on other dates, the four
  latest weekly folds (the last one ends on the data's last day). Figures are
  the mean and standard deviation (ddof=0, as the book) over the folds.
- `latest`: one window, the latest that fits (the last test day is the
  data's last day). The default, except for handbook-preset data that cover
  the book's dates (default `handbook` there, where published figures exist).
- a `train_start` date: one window from that date (`window`).

Metrics: ROC AUC, average precision, Card Precision@100 with the handbook's
definition (per test day, the share of frauded cards among the 100 cards with
the highest score, cards detected on earlier test days removed, averaged over
days; `card_precision_at_100_no_removal` keeps them), recall at a daily alert
budget, recall per scenario.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score

from sandbox.errors import InvalidInput

from . import checks

DAY = pd.Timedelta(days=1)


@dataclass
class Protocol:
    train_days: int = 7
    delay_days: int = 7
    test_days: int = 7
    train_start: str | None = None  # ISO date: one window from it (default: the protocol's windows)
    alert_budget: int | None = None  # alerts a day; default 1% of a day's transactions
    remove_known_compromised: bool = True

    def to_dict(self) -> dict:
        return dict(self.__dict__)


PROTOCOLS = ("handbook", "latest")
HANDBOOK_FOLD_STARTS = ("2018-07-25", "2018-08-01", "2018-08-08", "2018-08-15")  # ModelSelection.ipynb, test
HANDBOOK_STEP_DAYS = 7
HANDBOOK_DAYS = (7, 7, 7)  # train, delay, test
MAX_WINDOW_DAYS = 366
MAX_ALERT_BUDGET = 1_000_000


def protocol_name(name: str | None, p: Protocol) -> str | None:
    """Check a --protocol choice against the other settings (before any work); None: decided by the data."""
    if name is None:
        return "window" if p.train_start is not None else None
    checks.choice("protocol", name, PROTOCOLS)
    if p.train_start is not None:
        raise InvalidInput(
            checks.label("train_start"),
            f"{p.train_start} is one window, and --protocol {name} chooses its own windows",
            "drop --train-start, or drop --protocol to train on the window from that date",
        )
    days = (p.train_days, p.delay_days, p.test_days)
    if name == "handbook" and days != HANDBOOK_DAYS:
        raise InvalidInput(
            checks.label("protocol"),
            f"handbook is the book's 7+7+7 days (train + delay + test), not {'+'.join(map(str, days))}",
            "drop --train-days/--delay-days/--test-days, or use --protocol latest (or --train-start) for other windows",
        )
    return name


@dataclass
class Plan:
    name: str  # handbook, latest, or window (one window from train_start)
    starts: list[pd.Timestamp]  # each fold's first training day, oldest first
    basis: str  # why these dates, in words

    def to_dict(self) -> dict:
        return {
            "protocol": self.name,
            "folds": len(self.starts),
            "basis": self.basis,
            "fold_train_starts": [str(s.date()) for s in self.starts],
        }


def plan(df: pd.DataFrame, p: Protocol, name: str | None, preset: str | None) -> Plan:
    """The training windows of a protocol on these data, or a one-line error saying what would fit."""
    day = df["timestamp"].dt.normalize()
    first, last = day.min(), day.max()
    need = p.train_days + p.delay_days + p.test_days
    book = [pd.Timestamp(s) for s in HANDBOOK_FOLD_STARTS]
    book_fits = (
        first <= book[0]
        and book[-1] + (need - 1) * DAY <= last
        and (p.train_days, p.delay_days, p.test_days) == HANDBOOK_DAYS
    )
    if name is None:
        name = "handbook" if preset == "handbook" and book_fits else "latest"
    if name == "window":
        start = pd.Timestamp(p.train_start)
        _check_fits(first, last, start, p, need)
        return Plan("window", [start], f"one window from --train-start {start.date()}")
    span = int((last - first) / DAY) + 1
    if name == "latest":
        _check_fits(first, last, last - (need - 1) * DAY, p, need)
        return Plan(
            "latest",
            [last - (need - 1) * DAY],
            "the latest window that fits (its last test day is the data's last day)",
        )
    if book_fits:
        return Plan("handbook", book, "the book's dates")
    n, step = len(book), HANDBOOK_STEP_DAYS
    full = need + (n - 1) * step
    if span < full:
        fits = (
            f"--protocol latest (one {need}-day window) fits"
            if span >= need
            else f"simulate or import at least {need} days for --protocol latest"
        )
        raise InvalidInput(
            checks.label("protocol"),
            f"handbook needs {full} days ({n} folds of {need} days, one "
            f"week apart) and the data cover {first.date()}..{last.date()} ({span} days)",
            f"{fits}, or simulate or import at least {full} days",
        )
    latest = last - (need - 1) * DAY
    starts = [latest - (n - 1 - i) * step * DAY for i in range(n)]
    return Plan(
        "handbook",
        starts,
        f"the {n} latest weekly folds (the data do not cover the book's "
        f"{HANDBOOK_FOLD_STARTS[0]}..{(book[-1] + (need - 1) * DAY).date()})",
    )


def protocol_from(kwargs: dict, preset: str | None = None) -> Protocol:
    """The protocol of these settings, each checked (a bad one is refused naming it and its CLI option)."""
    fields = Protocol.__dataclass_fields__
    unknown = sorted(set(kwargs) - set(fields))
    if unknown:
        raise InvalidInput("protocol", f"unknown setting(s) {', '.join(unknown)}", f"use {', '.join(fields)}")
    p = Protocol(**kwargs)
    for name in ("train_days", "delay_days", "test_days"):
        setattr(p, name, checks.number(name, getattr(p, name), 0 if name == "delay_days" else 1, MAX_WINDOW_DAYS))
    p.train_start = checks.iso_date("train_start", p.train_start)
    p.alert_budget = checks.number("alert_budget", p.alert_budget, 1, MAX_ALERT_BUDGET)
    if not isinstance(p.remove_known_compromised, (bool, np.bool_)):
        raise InvalidInput(
            "remove_known_compromised", f"{p.remove_known_compromised!r} is not true or false", "pass True or False"
        )
    return p


@dataclass
class Split:
    train: np.ndarray  # row positions
    delay: np.ndarray
    test: np.ndarray
    train_start: pd.Timestamp
    test_start: pd.Timestamp
    test_end: pd.Timestamp


def split(df: pd.DataFrame, p: Protocol, start: pd.Timestamp | None = None) -> Split:
    """One window: from `start` (a fold of a plan), else from p.train_start, else the latest that fits."""
    day = df["timestamp"].dt.normalize()
    first, last = day.min(), day.max()
    need = p.train_days + p.delay_days + p.test_days
    if start is None:
        start = (
            last - (need - 1) * DAY
            if p.train_start is None
            else pd.Timestamp(checks.iso_date("train_start", p.train_start))
        )
    _check_fits(first, last, start, p, need)
    test_start = start + (p.train_days + p.delay_days) * DAY
    test_end = test_start + p.test_days * DAY
    d = day.to_numpy()
    train = np.flatnonzero((d >= start) & (d < start + p.train_days * DAY))
    delay = np.flatnonzero((d >= start + p.train_days * DAY) & (d < test_start))
    test = np.flatnonzero((d >= test_start) & (d < test_end))
    if p.remove_known_compromised:
        test = _drop_known_compromised(df, train, test, p)
    return Split(train, delay, test, start, test_start, test_end)


def _check_fits(first: pd.Timestamp, last: pd.Timestamp, start: pd.Timestamp, p: Protocol, need: int) -> None:
    """Refuse a protocol the data cannot hold, saying what would fit: a concrete --train-start, or how many days."""
    windows = f"{p.train_days}+{p.delay_days}+{p.test_days} = {need} days (train + delay + test)"
    span = int((last - first) / DAY) + 1
    if need > span:
        raise InvalidInput(
            checks.label("protocol"),
            f"the data covers {first.date()}..{last.date()} ({span} days), too short for {windows}",
            f"simulate or import at least {need} days, or shorten --train-days/--delay-days/--test-days",
        )
    latest = last - (need - 1) * DAY
    if first <= start <= latest:
        return
    suggest = first if start < first else latest
    raise InvalidInput(
        checks.label("train_start"),
        f"{start.date()} does not fit the data "
        f"({first.date()}..{last.date()}): {windows} from it end on {(start + (need - 1) * DAY).date()}",
        f"pass a --train-start from {first.date()} to {latest.date()}, e.g. --train-start {suggest.date()}",
    )


def _drop_known_compromised(df: pd.DataFrame, train: np.ndarray, test: np.ndarray, p: Protocol) -> np.ndarray:
    """The handbook's rule: frauded customers of the training period, plus those frauded `delay_days` before each test day."""
    fraud = df["is_fraud"].to_numpy() == 1
    cust = df["customer_id"].to_numpy()
    day = df["timestamp"].dt.normalize().to_numpy()
    known = set(cust[train][fraud[train]].tolist())
    start_day = day[train].min() if len(train) else None
    keep = np.ones(len(test), dtype=bool)
    test_days = day[test]
    for i in range(p.test_days):
        this = start_day + np.timedelta64(p.train_days + p.delay_days + i, "D")
        seen = start_day + np.timedelta64(p.train_days + i - 1, "D")
        known |= set(cust[(day == seen) & fraud].tolist())
        m = test_days == this
        keep[m] = ~np.isin(cust[test][m], np.fromiter(known, dtype=cust.dtype, count=len(known)))
    return test[keep]


def card_precision_top_k(
    days: np.ndarray,
    customers: np.ndarray,
    y: np.ndarray,
    score: np.ndarray,
    k: int = 100,
    remove_detected: bool = True,
) -> float:
    """The Fraud Detection Handbook's Card Precision@k (`card_precision_top_k` in its shared functions).

    Per test day, each card's score and label are the maximum over its transactions; the share of frauded
    cards among the day's k highest-scored cards is that day's figure (always divided by k), and the metric is
    their mean. With `remove_detected` (the book's definition), cards found compromised in an earlier test
    day's top k are dropped from later days, as investigators would have blocked them; without it the same
    card can be counted again on every day (`card_precision_at_100_no_removal`, a different, higher figure).
    """
    df = pd.DataFrame({"day": days, "c": customers, "y": y, "s": score})
    per = df.groupby(["day", "c"], sort=False).agg(y=("y", "max"), s=("s", "max")).reset_index()
    detected: set = set()
    out = []
    for _, g in per.groupby("day", sort=True):
        if detected:
            g = g[~g["c"].isin(detected)]
        top = g.sort_values("s", ascending=False, kind="stable").head(k)
        hits = top.loc[top["y"] == 1, "c"]
        out.append(len(hits) / k)
        if remove_detected:
            detected.update(hits.tolist())
    return float(np.mean(out)) if out else 0.0


FOLD_METRICS = (
    "roc_auc",
    "average_precision",
    "card_precision_at_100",
    "card_precision_at_100_no_removal",
    "recall_at_budget",
    "precision_at_budget",
)
LATEST_FOLD = ("threshold", "alert_budget")  # the kept (latest) model's own settings, not averaged
SUMMED = ("test_rows", "test_fraud_rows")


def combine(folds: list[dict]) -> dict:
    """The headline metrics of several folds (oldest first), as the book reports its test performance: each
    metric's mean over the folds (a scenario's recall over the folds whose test period has it), `<m>_sd` (the
    standard deviation, ddof=0 as the book) and `fold_<i>_<m>` for FOLD_METRICS; row counts summed; the
    threshold and alert budget of the latest fold, whose model is the one kept. One fold: its metrics."""
    if len(folds) == 1:
        return dict(folds[0])
    out: dict = {}
    for k in dict.fromkeys(k for f in folds for k in f):
        vals = [float(f[k]) for f in folds if k in f]
        if k in LATEST_FOLD:
            out[k] = float(folds[-1][k])
        elif k in SUMMED:
            out[k] = int(sum(vals))
        else:
            out[k] = float(np.mean(vals))
    for k in FOLD_METRICS:
        vals = [float(f[k]) for f in folds]
        out[f"{k}_sd"] = float(np.std(vals))
        out.update({f"fold_{i}_{k}": v for i, v in enumerate(vals, 1)})
    return out


def default_budget(n_rows: int, n_days: int) -> int:
    return max(1, int(round(0.01 * n_rows / max(n_days, 1))))


def budget_curve(y: np.ndarray, score: np.ndarray, n_days: int, daily_volume: float) -> list[dict]:
    """Precision, recall and threshold when alerting the top `alerts_per_day` transactions a day on average."""
    order = np.argsort(-score, kind="stable")
    ys = y[order]
    tp = np.cumsum(ys)
    total = max(int(y.sum()), 1)
    top = max(2.0, 0.1 * daily_volume)
    grid = {int(b) for b in np.round(np.geomspace(1, top, 24))}
    budgets = sorted(grid | {b for b in (10, 25, 50, 100, 200, 500) if b <= top})
    rows = []
    for b in budgets:
        k = min(len(y), b * n_days)
        if k <= 0:
            continue
        rows.append(
            {
                "alerts_per_day": int(b),
                "alerts": int(k),
                "precision": float(tp[k - 1] / k),
                "recall": float(tp[k - 1] / total),
                "threshold": float(score[order][k - 1]),
            }
        )
    return rows


def metrics(
    df_test: pd.DataFrame, score: np.ndarray, threshold: float, n_days: int, scenario_names: dict[int, str]
) -> tuple[dict, dict]:
    """Headline metrics and the report tables, for the test rows and their scores."""
    y = df_test["is_fraud"].to_numpy().astype(int)
    if y.sum() == 0 or y.sum() == len(y):
        raise InvalidInput(
            "test window",
            f"the test period has {int(y.sum())} fraud rows of {len(y)}",
            "choose a period with both fraud and legitimate transactions (train_start / test_days)",
        )
    days = df_test["timestamp"].dt.normalize().to_numpy()
    cust = df_test["customer_id"].to_numpy()
    alert = score >= threshold
    m = {
        "roc_auc": float(roc_auc_score(y, score)),
        "average_precision": float(average_precision_score(y, score)),
        "card_precision_at_100": card_precision_top_k(days, cust, y, score, 100),
        "card_precision_at_100_no_removal": card_precision_top_k(days, cust, y, score, 100, remove_detected=False),
        "recall_at_budget": float((alert & (y == 1)).sum() / y.sum()),
        "precision_at_budget": float((alert & (y == 1)).sum() / max(alert.sum(), 1)),
        "alerts_per_day": float(alert.sum() / max(n_days, 1)),
        "threshold": float(threshold),
        "test_rows": int(len(y)),
        "test_fraud_rows": int(y.sum()),
    }
    sc = df_test["scenario"].to_numpy()
    per = []
    for sid in sorted(set(sc[sc > 0].tolist())):
        mask = sc == sid
        name = scenario_names.get(int(sid), f"scenario_{sid}")
        rec = float(alert[mask].mean())
        per.append(
            {
                "scenario": name,
                "scenario_id": int(sid),
                "frauds": int(mask.sum()),
                "detected": int(alert[mask].sum()),
                "recall": rec,
            }
        )
        m[f"recall_{name}"] = rec
    prec, rec, _ = precision_recall_curve(y, score)
    idx = np.unique(np.round(np.linspace(0, len(prec) - 1, min(len(prec), 300))).astype(int))
    daily_volume = len(y) / max(n_days, 1)
    reports = {
        "pr_curve": {
            "recall": rec[idx].round(5).tolist(),
            "precision": prec[idx].round(5).tolist(),
            "average_precision": m["average_precision"],
        },
        "alert_budget": {
            "budgets": budget_curve(y, score, n_days, daily_volume),
            "chosen_threshold": float(threshold),
            "test_days": int(n_days),
            "transactions_per_day": float(daily_volume),
        },
        "recall_per_scenario": {"threshold": float(threshold), "scenarios": per},
        "calibration": calibration(y, score),
    }
    return m, reports


def calibration(y: np.ndarray, score: np.ndarray, bins: int = 10) -> dict:
    edges = np.unique(np.quantile(score, np.linspace(0, 1, bins + 1)))
    which = (
        np.clip(np.searchsorted(edges, score, side="right") - 1, 0, len(edges) - 2)
        if len(edges) > 1
        else np.zeros(len(score), int)
    )
    mp, fp, cnt = [], [], []
    for b in range(max(len(edges) - 1, 1)):
        m = which == b
        if m.any():
            mp.append(float(score[m].mean()))
            fp.append(float(y[m].mean()))
            cnt.append(int(m.sum()))
    brier = float(np.mean((score - y) ** 2))
    return {"mean_predicted": mp, "fraction_positive": fp, "count": cnt, "brier_score": brier}
