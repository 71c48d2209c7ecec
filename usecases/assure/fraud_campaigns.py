"""The space a fraud ring controls, a campaign drawn from it, and the attacker that searches it.

A campaign (`Campaign`) is a setting of what a ring decides, in the terms the hk simulator and the scorer's
features can express (usecases/fraud/features.py SPEC):

- family: card_online (a leaked card on online merchants: channel, merchant category), card_present (counterfeit
  cards at a terminal), fps_transfer (account takeover or scam: FPS to a mule);
- amount_x: each transaction's amount as a multiple of the victim's usual amount on that channel (the customer
  amount ratios, z-score, typical amount and unusual-amount count see it);
- per_victim and gap_min: how many transactions per victim and how far apart (split payments and velocity: the
  10-minute, 1-hour and 1-day counts, seconds since the last transaction);
- hour: hour of day (time of day, night);
- merchant: the victim's usual terminal or online merchant, a new ordinary one, or a new risky one (electronics,
  jewellery, travel: merchant category, terminal counts);
- victims: how many victims share the ring's asset: cards per compromised terminal, victims per ring device,
  senders per mule payee (terminal 1-hour count, device new customers, payee new senders);
- device: the victim's own device (remote access), one ring device shared by the campaign, or a fresh device per
  victim (device new, device age, device new customers);
- payee_age_days: FPS, days between the ring adding the mule payee with a small first payment and the theft
  (payee new, new payees in 7 days);
- mule_hops: FPS, 0 = an external mule account; k = the money passes through k mule accounts at this bank, each
  forwarding within the hour (the mule's inflow in 24 hours, its amounts against its habits). The money counts as
  stolen only when every hop is approved.

Not expressible, so not searched: terminal compromise by skimming (the fraud rides on the victim's own legitimate
card-present purchases, which the ring does not choose), label noise and reporting.

The attacker (`attack`) uses Optuna's TPE sampler (seeded; sequential, so deterministic) to maximise the HKD a
campaign steals undetected; it sees each probe's decision only (optionally its score).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from .fraud_bank import BudgetSpent, Oracle, Profile

FAMILIES = ("card_online", "card_present", "fps_transfer")
MERCHANTS = ("usual", "new_ordinary", "new_risky")
DEVICES = ("victim", "ring", "fresh")
RISKY = ("electronics", "jewellery", "travel")
ORDINARY = ("grocery", "restaurant", "retail", "pharmacy", "marketplace", "digital_services")
CHANNEL = {"card_online": "card_not_present", "card_present": "card_present", "fps_transfer": "fps"}
AGING_AMOUNT = 200.0  # the small first payment that makes the mule a known payee
VICTIM_STAGGER_S = 420  # victims of one campaign start 7 minutes apart
HOP_DELAY_S = 1800
NOT_SEARCHED = [
    "terminal compromise by skimming (the fraud rides on the victim's own purchases, not chosen by the ring)",
    "card testing bursts before a big purchase (expressible as small amounts at high velocity, not a "
    "separate two-phase pattern)",
    "when and whether victims report (label delay and noise are the bank's)",
]


@dataclass
class Campaign:
    family: str = "card_online"
    amount_x: float = 1.0
    per_victim: int = 1
    gap_min: float = 60.0
    hour: int = 12
    merchant: str = "usual"
    victims: int = 1
    device: str = "victim"
    payee_age_days: int = 0
    mule_hops: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    def words(self) -> str:
        """The campaign in plain words."""
        per = f"{self.per_victim} transaction{'s' if self.per_victim > 1 else ''} per victim"
        if self.per_victim > 1:
            per += f", {self.gap_min:.0f} min apart"
        amount = f"each {self.amount_x:.2g}x the victim's usual amount"
        at = f"from {self.hour:02d}:00"
        if self.family == "fps_transfer":
            payee = (
                "to a new mule payee"
                if self.payee_age_days == 0
                else f"to a mule payee added {self.payee_age_days} day(s) earlier with a HKD {AGING_AMOUNT:.0f} payment"
            )
            chain = (
                "an external mule account" if self.mule_hops == 0 else f"{self.mule_hops} mule account(s) at this bank"
            )
            return (
                f"FPS transfers {payee}, {per}, {amount}, {at}, from {self._device()}; {self.victims} victim(s) "
                f"per mule; the money leaves through {chain}"
            )
        where = {
            "usual": "at the victim's usual " + ("online merchant" if self.family == "card_online" else "terminal"),
            "new_ordinary": "at a new everyday merchant",
            "new_risky": "at a new electronics/jewellery/travel merchant",
        }
        what = "online card payments" if self.family == "card_online" else "counterfeit card purchases in store"
        share = (
            f"{self.victims} card(s) per ring terminal"
            if self.family == "card_present"
            else f"{self.victims} victim(s) per campaign, {self._device()}"
        )
        return f"{what} {where[self.merchant]}, {per}, {amount}, {at}; {share}"

    def _device(self) -> str:
        return {
            "victim": "the victim's own device (remote access)",
            "ring": "one ring device shared by its victims",
            "fresh": "a fresh device per victim",
        }[self.device]


def suggest(trial) -> Campaign:
    """One campaign from an Optuna trial (conditional: FPS settings only for FPS, devices not in store)."""
    family = trial.suggest_categorical("family", FAMILIES)
    c = Campaign(
        family=family,
        amount_x=trial.suggest_float("amount_x", 0.2, 30.0, log=True),
        per_victim=trial.suggest_int("per_victim", 1, 8),
        gap_min=trial.suggest_float("gap_min", 1.0, 720.0, log=True),
        hour=trial.suggest_int("hour", 0, 23),
        victims=trial.suggest_int("victims", 1, 6),
    )
    if family != "fps_transfer":
        c.merchant = trial.suggest_categorical("merchant", MERCHANTS)
    if family != "card_present":
        c.device = trial.suggest_categorical("device", DEVICES)
    if family == "fps_transfer":
        c.payee_age_days = trial.suggest_int("payee_age_days", 0, 21)
        c.mule_hops = trial.suggest_int("mule_hops", 0, 3)
    return c


class World:
    """What the ring can reach: victims (their habits), merchants by category, mule accounts, new ids; and the
    moment the campaigns start (the day after the bank's history ends)."""

    def __init__(self, df: pd.DataFrame, victims: list[Profile], mules: list[Profile]):
        self.victims, self.mules = victims, mules
        self.next_victim = 0
        cp, cnp = df[df["channel"] == "card_present"], df[df["channel"] == "card_not_present"]
        self.terminals = {k: self._by_category(cp, k) for k in (RISKY, ORDINARY)}
        self.online = {k: self._by_category(cnp, k) for k in (RISKY, ORDINARY)}
        cats = df.loc[df["terminal_id"] >= 0, ["terminal_id", "merchant_category"]].drop_duplicates("terminal_id")
        self.category = dict(zip(cats["terminal_id"].tolist(), cats["merchant_category"].astype(str).tolist()))
        self.new_device = int(df["device_id"].max()) + 1_000_000
        self.new_payee = int(df["payee_id"].max()) + 1_000_000
        self.start_day = int(pd.Timestamp(df["timestamp"].max()).normalize().value // 10**9) + 86_400

    @staticmethod
    def _by_category(rows: pd.DataFrame, cats: tuple[str, ...]) -> np.ndarray:
        ids = rows.loc[rows["merchant_category"].astype(str).isin(cats), "terminal_id"].unique()
        return np.sort(ids.astype(np.int64)) if len(ids) else np.sort(rows["terminal_id"].unique().astype(np.int64))

    def take(self, k: int) -> list[Profile]:
        """The next k victims (cycling through the pool: a ring's trials hit different cards)."""
        out = [self.victims[(self.next_victim + i) % len(self.victims)] for i in range(k)]
        self.next_victim += k
        return out

    def fresh_id(self, kind: str) -> int:
        if kind == "device":
            self.new_device += 1
            return self.new_device
        self.new_payee += 1
        return self.new_payee


@dataclass
class Step:
    """One transaction of a campaign: `victim` (index), `leg` (theft, aging payment, mule hop)."""

    t: int
    txn: dict
    victim: int
    leg: str  # "theft" | "aging" | "hop"
    theft: int = -1  # which theft a hop forwards (and the theft's own number)


def plan(
    c: Campaign, world: World, victims: list[Profile], rng: np.random.Generator, start: int | None = None
) -> list[Step]:
    """The transactions of campaign `c` on these victims, in time order (seconds since the epoch)."""
    start = world.start_day if start is None else start
    t0 = start + c.payee_age_days * 86_400 + c.hour * 3600 + int(rng.integers(0, 600))
    ring_device = world.fresh_id("device")
    risky = c.merchant == "new_risky"
    pool = (world.terminals if c.family == "card_present" else world.online)[RISKY if risky else ORDINARY]
    ring_merchant = int(pool[rng.integers(0, len(pool))])
    mule_payee = world.fresh_id("payee") if c.mule_hops == 0 else world.mules[0].customer
    steps: list[Step] = []
    for i, v in enumerate(victims):
        typical = max(v.typical[CHANNEL[c.family]], 20.0)
        device = {"victim": v.device, "ring": ring_device, "fresh": world.fresh_id("device")}[c.device]
        if c.family == "fps_transfer" and c.payee_age_days > 0:
            steps.append(Step(start + 10 * 3600 + i * 60, _fps(v, AGING_AMOUNT, device, mule_payee), i, "aging"))
        for j in range(c.per_victim):
            t = t0 + i * VICTIM_STAGGER_S + int(j * c.gap_min * 60)
            amount = round(min(typical * c.amount_x * math.exp(rng.normal(0, 0.1)), 1_000_000.0), 2)
            if c.family == "fps_transfer":
                steps.append(Step(t, _fps(v, amount, device, mule_payee), i, "theft", len(steps)))
                steps += _hops(c, world, t, amount, i, len(steps) - 1)
                continue
            term = ring_merchant
            if c.merchant == "usual":
                term = v.usual_terminal if c.family == "card_present" else v.usual_online
                term = ring_merchant if term < 0 else term
            steps.append(
                Step(
                    t,
                    {
                        "customer_id": v.customer,
                        "amount": amount,
                        "channel": CHANNEL[c.family],
                        "terminal_id": term,
                        "merchant_category": world.category.get(term, "retail"),
                        "device_id": device if c.family == "card_online" else -1,
                    },
                    i,
                    "theft",
                    len(steps),
                )
            )
    steps.sort(key=lambda s: s.t)
    return steps


def as_transactions(steps: list[dict], first_id: int, scenario: str, label_delay) -> pd.DataFrame:
    """Planned steps ({"t", **txn}) as the bank's transaction rows, labelled fraud under `scenario`, each label
    arriving `label_delay` (one Timedelta, or one per row) after the transaction: how a campaign enters a data set."""
    add = pd.DataFrame(steps)
    ts = pd.to_datetime(add["t"], unit="s")
    return pd.DataFrame(
        {
            "txn_id": np.arange(len(add)) + first_id,
            "timestamp": ts,
            "customer_id": add["customer_id"],
            "terminal_id": add["terminal_id"],
            "amount": add["amount"],
            "channel": add["channel"],
            "merchant_category": add["merchant_category"],
            "district": "online",
            "device_id": add["device_id"].fillna(-1),
            "payee_id": add.get("payee_id", pd.Series(-1, index=add.index)).fillna(-1),
            "is_fraud": 1,
            "scenario": scenario,
            "label_time": ts + label_delay,
        }
    )


def _fps(v: Profile, amount: float, device: int, payee: int) -> dict:
    return {
        "customer_id": v.customer,
        "amount": amount,
        "channel": "fps",
        "merchant_category": "transfer",
        "device_id": device,
        "payee_id": payee,
        "terminal_id": -1,
    }


def _hops(c: Campaign, world: World, t: int, amount: float, victim: int, theft: int) -> list[Step]:
    """The stolen money forwarded through `mule_hops` mule accounts at this bank, then out."""
    out = []
    for h in range(c.mule_hops):
        mule = world.mules[h % len(world.mules)]
        nxt = world.mules[h + 1].customer if h + 1 < c.mule_hops else world.fresh_id("payee")
        out.append(
            Step(
                t + (h + 1) * HOP_DELAY_S,
                _fps(mule, round(amount * 0.97 ** (h + 1), 2), mule.device, nxt),
                victim,
                "hop",
                theft,
            )
        )
    return out


@dataclass
class Outcome:
    """What one campaign did against the bank: probes, declines, HKD stolen undetected."""

    queries: int = 0
    fraud_txns: int = 0
    declined: int = 0
    stolen_hkd: float = 0.0
    attempted_hkd: float = 0.0
    near_miss: float = 0.0  # score mode only: partial credit for declines close to approval
    truncated: bool = False

    @property
    def recall(self) -> float:
        return self.declined / self.fraud_txns if self.fraud_txns else 0.0


def run(oracle, steps: list[Step]) -> Outcome:
    """Submit a campaign probe by probe in one trial. A declined card or account is blocked: the victim's later
    transactions are not tried. A theft counts as stolen when it and every mule hop after it are approved (a
    declined hop freezes the money)."""
    out = Outcome()
    blocked: set[int] = set()
    frozen: set[int] = set()  # thefts whose money stopped (declined, or a hop declined)
    moving: dict[int, float] = {}  # theft -> amount approved so far
    with oracle.trial():
        for s in steps:
            if (s.leg != "hop" and s.victim in blocked) or (s.leg == "hop" and s.theft in frozen):
                continue
            if oracle.remaining <= 0:
                out.truncated = True
                break
            d = oracle.submit({"timestamp": s.t, **s.txn})
            out.queries += 1
            if s.leg == "aging":
                blocked.update(() if d.approved else (s.victim,))
                continue
            out.fraud_txns += 1
            amount = float(s.txn["amount"])
            out.attempted_hkd += amount if s.leg == "theft" else 0.0
            if d.approved:
                moving.setdefault(s.theft, amount)
                continue
            out.declined += 1
            if d.score is not None:  # score mode: partial credit for a near miss (the threshold is not shown)
                out.near_miss += amount * 0.5 * max(0.0, 1.0 - d.score)
            frozen.add(s.theft)
            moving.pop(s.theft, None)
            if s.leg == "theft":
                blocked.add(s.victim)
        out.stolen_hkd = sum(moving.values())
    return out


@dataclass
class Found:
    """One tried campaign and its outcome."""

    number: int
    campaign: Campaign
    outcome: Outcome
    queries_after: int

    def to_dict(self) -> dict:
        o = self.outcome
        return {
            "trial": self.number,
            "campaign": self.campaign.to_dict(),
            "words": self.campaign.words(),
            "queries": o.queries,
            "fraud_txns": o.fraud_txns,
            "declined": o.declined,
            "recall": round(o.recall, 4),
            "stolen_hkd": round(o.stolen_hkd, 2),
            "attempted_hkd": round(o.attempted_hkd, 2),
            "queries_after": self.queries_after,
        }


@dataclass
class AttackLog:
    trials: list[Found] = field(default_factory=list)
    curve: list[dict] = field(default_factory=list)  # cumulative figures against queries spent


def _sampler(name: str, seed: int):
    import warnings

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if name == "random":  # the peer: the same space and budget, no learning
        return optuna.samplers.RandomSampler(seed=seed)
    with warnings.catch_warnings():  # `group` is marked experimental; it is what conditional spaces need
        warnings.simplefilter("ignore")
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=20, multivariate=True, group=True)


def attack(
    oracle: Oracle,
    world: World,
    seed: int,
    progress: Callable[[float, str], None] | None = None,
    every: int = 100,
    sampler: str = "tpe",
) -> AttackLog:
    """Search campaigns until the query budget is spent (Optuna TPE, seeded; the value is HKD stolen undetected,
    plus partial credit for near misses when scores are shown). `sampler="random"` is the peer."""
    import optuna

    study = optuna.create_study(direction="maximize", sampler=_sampler(sampler, seed))
    rng = np.random.default_rng(seed)
    log = AttackLog()
    totals = {"fraud_txns": 0, "declined": 0, "stolen_hkd": 0.0}
    next_mark = every
    while oracle.remaining > 0:
        trial = study.ask()
        c = suggest(trial)
        steps = plan(c, world, world.take(c.victims), rng)
        try:
            o = run(oracle, steps)
        except BudgetSpent:  # run() checks the budget first; kept as a guard
            break
        study.tell(trial, o.stolen_hkd + o.near_miss)
        log.trials.append(Found(len(log.trials), c, o, oracle.used))
        totals["fraud_txns"] += o.fraud_txns
        totals["declined"] += o.declined
        totals["stolen_hkd"] += o.stolen_hkd
        while oracle.used >= next_mark or oracle.remaining <= 0:
            log.curve.append(
                {
                    "queries": oracle.used,
                    "evasion_rate": round(1 - totals["declined"] / max(totals["fraud_txns"], 1), 4),
                    "hkd_undetected": round(totals["stolen_hkd"], 2),
                    "trials": len(log.trials),
                }
            )
            next_mark += every
            if oracle.remaining <= 0:
                break
        if progress is not None:
            progress(oracle.used / oracle.budget, f"{oracle.used}/{oracle.budget} queries, {len(log.trials)} campaigns")
        if o.queries == 0:  # nothing could be submitted (the budget ran out mid-campaign)
            break
    return log
