"""Seeded, vectorised transaction simulators: the `handbook` design and a Hong Kong (`hk`) preset.

`handbook` follows the published design of the Fraud Detection Handbook
simulator (Le Borgne et al., chapter 3): customers and terminals on a
100 x 100 grid, each customer using the terminals within radius 5; per day a
Poisson number of transactions at a normal time of day, amounts normal around
the customer's mean; three scenarios: (1) every amount over 220 is fraud,
(2) each day 2 terminals are compromised for 28 days and all their
transactions are fraud, (3) each day 3 cards leak for 14 days and a third of
their transactions become fraud at 5x the amount. Written from that
description with numpy arrays (no per-transaction loop).

`hk` is our richer Hong Kong design: 18 districts, card terminals with a
merchant category, online merchants, devices and FPS payees; channels
card-present, card-not-present and FPS. Scenarios (id: name):
1 compromised_terminal, 2 compromised_card, 3 card_testing,
4 account_takeover, 5 app_scam (authorised push payment into mule accounts,
with fan-in to mules and fan-out along mule chains). Realism knobs: label
delay, label noise, drift, legitimate look-alikes and a hardness setting.
Fraud amounts come from distributions that overlap legitimate ones; nothing is
a constant and no column is a sentinel for fraud.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from sandbox.progress import report as _progress

from .schema import canonical

DAY = 86_400
HANDBOOK_SCENARIOS = {1: "amount_over_220", 2: "compromised_terminal", 3: "compromised_card"}
HK_SCENARIOS = {
    1: "compromised_terminal",
    2: "compromised_card",
    3: "card_testing",
    4: "account_takeover",
    5: "app_scam",
}
UNSPECIFIED_SCENARIO = {99: "reported_unspecified"}

DISTRICTS = (
    "Central and Western",
    "Wan Chai",
    "Eastern",
    "Southern",
    "Yau Tsim Mong",
    "Sham Shui Po",
    "Kowloon City",
    "Wong Tai Sin",
    "Kwun Tong",
    "Kwai Tsing",
    "Tsuen Wan",
    "Tuen Mun",
    "Yuen Long",
    "North",
    "Tai Po",
    "Sha Tin",
    "Sai Kung",
    "Islands",
)
DISTRICT_POP = np.array(
    [235, 166, 529, 264, 310, 431, 410, 406, 673, 495, 320, 506, 668, 310, 316, 692, 489, 185], dtype=float
)
# category: (median HKD, weight at physical terminals, weight online)
CATEGORIES = {
    "grocery": (120, 0.30, 0.05),
    "restaurant": (220, 0.28, 0.04),
    "transport": (45, 0.10, 0.02),
    "retail": (450, 0.14, 0.20),
    "pharmacy": (160, 0.07, 0.02),
    "electronics": (2600, 0.04, 0.15),
    "travel": (3800, 0.02, 0.10),
    "jewellery": (7000, 0.01, 0.02),
    "digital_services": (60, 0.00, 0.22),
    "marketplace": (320, 0.04, 0.18),
}
CAT_NAMES = tuple(CATEGORIES)
CAT_MEDIAN = np.array([v[0] for v in CATEGORIES.values()], dtype=float)
CAT_W_PHYS = np.array([v[1] for v in CATEGORIES.values()])
CAT_W_ONLINE = np.array([v[2] for v in CATEGORIES.values()])
RISKY_ONLINE = np.array(
    [CAT_NAMES.index(c) for c in ("electronics", "jewellery", "travel", "marketplace", "digital_services")]
)
BIG_ONLINE = np.array([CAT_NAMES.index(c) for c in ("electronics", "jewellery", "travel")])

# Incidents per 1,000 customers (terminals for scenario 1) per day, before drift; and the share of all
# transactions each scenario is designed to make up at the default settings (checked by the tests).
HK_RATES = {1: 0.25, 2: 0.45, 3: 0.12, 4: 0.07, 5: 0.12}
HK_SHARE_RANGES = {
    1: (0.0004, 0.006),
    2: (0.0007, 0.006),
    3: (0.0003, 0.004),
    4: (0.00005, 0.0015),
    5: (0.00008, 0.002),
}

PRESETS = {
    "handbook": {"customers": 5000, "terminals": 10000, "days": 183, "start": "2018-04-01"},
    "hk": {"customers": 5000, "days": 120, "start": "2025-01-01"},
}


@dataclass
class SimulationResult:
    rows: int
    fraud_rows: int
    fraud_rate: float
    scenario_counts: dict[str, int]
    days: int
    data_hash: str
    preset: str
    seed: int
    customers: int = 0
    start: str = ""
    end: str = ""
    wall_s: float = 0.0
    knobs: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def frame_hash(df: pd.DataFrame) -> str:
    h = hashlib.sha256()
    h.update(",".join(map(str, df.columns)).encode())
    for col in df.columns:
        s = df[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            s = s.cat.codes
        elif s.dtype == object or pd.api.types.is_string_dtype(s):
            s = pd.Series(pd.factorize(s)[0])
        h.update(np.ascontiguousarray(s.to_numpy()).tobytes())
    return h.hexdigest()


def _finish(cols: dict, start: str, label_delay_days: float) -> pd.DataFrame:
    """Sort by time, assign txn ids, build the canonical frame."""
    t = cols["t"]
    order = np.lexsort((cols["customer_id"], t))
    base = np.datetime64(start, "s")
    ts = base + t[order].astype("timedelta64[s]")
    label_t = base + cols["label_t"][order].astype("timedelta64[s]")
    df = pd.DataFrame(
        {
            "txn_id": np.arange(len(t), dtype=np.int64),
            "timestamp": ts.astype("datetime64[ns]"),
            "customer_id": cols["customer_id"][order],
            "terminal_id": cols["terminal_id"][order],
            "amount": np.round(cols["amount"][order], 2),
            "channel": pd.Categorical.from_codes(
                cols["channel"][order].astype(np.int8), categories=["card_present", "card_not_present", "fps"]
            ),
            "merchant_category": cols["merchant_category"][order],
            "district": cols["district"][order],
            "device_id": cols["device_id"][order],
            "payee_id": cols["payee_id"][order],
            "is_fraud": cols["is_fraud"][order],
            "scenario": cols["scenario"][order],
            "label_time": label_t.astype("datetime64[ns]"),
        }
    )
    return canonical(df)


# -- handbook ---------------------------------------------------------------
def simulate_handbook(
    customers: int = 5000,
    terminals: int = 10000,
    days: int = 183,
    seed: int = 0,
    start: str = "2018-04-01",
    radius: float = 5.0,
    label_delay_days: float = 7,
    progress=None,
) -> pd.DataFrame:
    from scipy.spatial import cKDTree

    rng = np.random.default_rng(seed)
    cxy = rng.uniform(0, 100, (customers, 2))
    mean_amt = rng.uniform(5, 100, customers)
    std_amt = mean_amt / 2
    rate = rng.uniform(0, 4, customers)
    txy = rng.uniform(0, 100, (terminals, 2))
    tree = cKDTree(txy)
    avail = tree.query_ball_point(cxy, r=radius)
    n_avail = np.fromiter((len(a) for a in avail), dtype=np.int64, count=customers)
    offsets = np.concatenate([[0], np.cumsum(n_avail)])
    flat = np.fromiter((t for a in avail for t in sorted(a)), dtype=np.int64, count=int(offsets[-1]))
    _progress(progress, 0.15, "customers and terminals placed")

    counts = rng.poisson(np.repeat(rate[:, None], days, axis=1))
    counts[n_avail == 0] = 0
    cell = np.repeat(np.arange(customers * days), counts.ravel())
    c, d = cell // days, cell % days
    n = len(c)
    tod = np.rint(rng.normal(DAY / 2, 20000, n)).astype(np.int64)
    keep = (tod >= 0) & (tod < DAY)
    c, d, tod = c[keep], d[keep], tod[keep]
    n = len(c)
    amount = rng.normal(mean_amt[c], std_amt[c])
    neg = amount < 0
    amount[neg] = rng.uniform(0, mean_amt[c[neg]] * 2)
    amount = np.round(amount, 2)
    term = flat[offsets[c] + np.floor(rng.random(n) * n_avail[c]).astype(np.int64)]
    _progress(progress, 0.5, f"{n:,} transactions drawn")

    scenario = np.zeros(n, dtype=np.int8)
    scenario[amount > 220] = 1
    comp_t = np.zeros((terminals, days + 28), dtype=bool)
    comp_c = np.zeros((customers, days + 14), dtype=bool)
    # the published design compromises 2 of 10,000 terminals and 3 of 5,000 cards a day; smaller worlds scale it
    k_t, k_c = 2 * terminals / 10_000, 3 * customers / 5_000

    def per_day(k: float) -> int:
        return int(k) if float(k).is_integer() else int(rng.poisson(k))

    for day in range(days):
        for tt in rng.choice(terminals, min(per_day(k_t), terminals), replace=False):
            comp_t[tt, day : day + 28] = True
        for cc in rng.choice(customers, min(per_day(k_c), customers), replace=False):
            comp_c[cc, day + 1 : day + 15] = True
    scenario[comp_t[term, d]] = 2
    leaked = comp_c[c, d] & (rng.random(n) < 1 / 3)
    amount[leaked] = amount[leaked] * 5
    scenario[leaked] = 3
    t = d * DAY + tod
    cols = {
        "t": t,
        "customer_id": c.astype(np.int64),
        "terminal_id": term,
        "amount": amount,
        "channel": np.zeros(n, np.int8),
        "merchant_category": np.full(n, "general", dtype=object),
        "district": np.full(n, "grid", dtype=object),
        "device_id": np.full(n, -1, np.int64),
        "payee_id": np.full(n, -1, np.int64),
        "is_fraud": (scenario > 0).astype(np.int8),
        "scenario": scenario,
        "label_t": t + int(round(label_delay_days * DAY)),
    }
    _progress(progress, 0.8, "fraud scenarios applied")
    return _finish(cols, start, label_delay_days)


# -- hk -----------------------------------------------------------------------
def _choice_p(rng, n_items: int, p: np.ndarray, size: int) -> np.ndarray:
    cdf = np.cumsum(p / p.sum())
    return np.minimum(np.searchsorted(cdf, rng.random(size), side="right"), n_items - 1)


def _time_of_day(rng, channel: np.ndarray) -> np.ndarray:
    n = len(channel)
    u = rng.random(n)
    h = np.empty(n)
    cp, cnp, fps = channel == 0, channel == 1, channel == 2
    # card present: lunch and evening peaks; online: late evening; FPS: morning and evening
    h[cp] = np.where(
        u[cp] < 0.4,
        rng.normal(12.8, 1.4, cp.sum()),
        np.where(u[cp] < 0.85, rng.normal(19.0, 2.0, cp.sum()), rng.uniform(7, 23, cp.sum())),
    )
    h[cnp] = np.where(u[cnp] < 0.6, rng.normal(21.0, 2.5, cnp.sum()), rng.uniform(0, 24, cnp.sum()))
    h[fps] = np.where(u[fps] < 0.5, rng.normal(10.0, 2.5, fps.sum()), rng.normal(20.0, 2.5, fps.sum()))
    return np.mod(np.rint(h * 3600), DAY).astype(np.int64)


def _night_time(rng, n: int) -> np.ndarray:
    h = np.where(rng.random(n) < 0.55, rng.uniform(0, 6, n), rng.uniform(6, 24, n))
    return np.rint(h * 3600).astype(np.int64)


def _span_days(rng, n: int, lo: int, hi: int) -> np.ndarray:
    return rng.integers(lo, hi + 1, n)


REGULAR_TERMINALS = 16  # card terminals each customer uses near home or work
KNOWN_PAYEES = 6  # per customer: 2 billers, then 4 personal payees
KNOWN_PAYEE_WEIGHTS = np.array([0.3, 0.2, 0.125, 0.125, 0.125, 0.125])
BILLER0, EXTERNAL0, NEW_PAYEE0, MULE0 = 1_000_000, 2_000_000, 3_000_000, 4_000_000  # payee id ranges


@dataclass
class _HkWorld:
    """The entities of one hk simulation, which every scenario draws from (in a fixed order: one seeded rng)."""

    rng: np.random.Generator
    customers: int
    days: int
    hardness: float
    drift: float
    physical: int  # physical card terminals: ids 0 .. physical - 1
    online: int  # online merchants: terminal ids physical .. physical + online - 1
    home: np.ndarray
    work: np.ndarray
    rate: np.ndarray  # transactions a day
    spend: np.ndarray  # spending level
    mix: np.ndarray  # channel mix: card present, online, FPS
    terminal_district: np.ndarray
    terminal_category: np.ndarray  # physical terminals, then online merchants
    online_popularity: np.ndarray
    regulars: np.ndarray  # customers x REGULAR_TERMINALS
    first_device: np.ndarray
    second_device: np.ndarray
    switch_day: np.ndarray  # the day a customer moves to their second device (days + 1: never)
    payees: np.ndarray  # customers x KNOWN_PAYEES
    ramp: np.ndarray  # 0 .. 1 over the days (drift)
    next_device: int  # the next unused device id (fraud rings take new ones)

    def device_on(self, day: np.ndarray, customer: np.ndarray) -> np.ndarray:
        """The customer's own device on that day."""
        return np.where(day >= self.switch_day[customer], self.second_device[customer], self.first_device[customer])

    def new_devices(self, count: int) -> int:
        """Reserve `count` device ids; the first of them."""
        first = self.next_device
        self.next_device += count
        return first


def _hk_world(rng: np.random.Generator, customers: int, days: int, hardness: float, drift: float) -> _HkWorld:
    """Customers, terminals, devices and payees."""
    n_cust = customers
    home = _choice_p(rng, 18, DISTRICT_POP, n_cust)
    work = np.where(rng.random(n_cust) < 0.6, _choice_p(rng, 18, DISTRICT_POP, n_cust), home)
    rate = rng.gamma(2.2, 0.8, n_cust)  # transactions a day, mean ~1.8
    spend = rng.lognormal(0.0, 0.45, n_cust)  # spending level
    mix = rng.dirichlet([6.0, 2.5, 1.5], n_cust)  # channel mix: card present, online, FPS
    physical = max(200, n_cust)
    online = max(40, n_cust // 25)
    terminal_district = _choice_p(rng, 18, DISTRICT_POP, physical)
    terminal_category = np.concatenate(
        [_choice_p(rng, len(CAT_NAMES), CAT_W_PHYS, physical), _choice_p(rng, len(CAT_NAMES), CAT_W_ONLINE, online)]
    )
    online_popularity = 1.0 / np.arange(1, online + 1) ** 1.1
    rng.shuffle(online_popularity)
    # terminals per district (CSR), and the regular terminals of each customer near home or work
    by_district = np.argsort(terminal_district, kind="stable")
    district_start = np.concatenate([[0], np.cumsum(np.bincount(terminal_district, minlength=18))])
    regular_district = np.where(rng.random((n_cust, REGULAR_TERMINALS)) < 0.65, home[:, None], work[:, None])
    size = district_start[regular_district + 1] - district_start[regular_district]
    pick = np.floor(rng.random((n_cust, REGULAR_TERMINALS)) * np.maximum(size, 1)).astype(np.int64)
    regulars = by_district[district_start[regular_district] + pick]
    # devices: a phone each; 30% change phone at some day (legit "new device" look-alike)
    first_device = np.arange(n_cust, dtype=np.int64)
    second_device = n_cust + np.arange(n_cust, dtype=np.int64)
    switch_day = np.where(rng.random(n_cust) < 0.3, rng.integers(1, max(days, 2), n_cust), days + 1)
    # payees: billers (popular, legit high in-degree), other customers, external accounts
    n_billers = max(20, n_cust // 100)
    biller_popularity = 1.0 / np.arange(1, n_billers + 1) ** 0.8
    n_personal = KNOWN_PAYEES - 2
    payees = np.empty((n_cust, KNOWN_PAYEES), dtype=np.int64)
    payees[:, :2] = BILLER0 + _choice_p(rng, n_billers, biller_popularity, 2 * n_cust).reshape(n_cust, 2)
    personal_is_customer = rng.random((n_cust, n_personal)) < 0.6
    payees[:, 2:] = np.where(
        personal_is_customer,
        rng.integers(0, n_cust, (n_cust, n_personal)),
        EXTERNAL0 + rng.integers(0, 4 * n_cust, (n_cust, n_personal)),
    )
    return _HkWorld(
        rng=rng,
        customers=n_cust,
        days=days,
        hardness=hardness,
        drift=drift,
        physical=physical,
        online=online,
        home=home,
        work=work,
        rate=rate,
        spend=spend,
        mix=mix,
        terminal_district=terminal_district,
        terminal_category=terminal_category,
        online_popularity=online_popularity,
        regulars=regulars,
        first_device=first_device,
        second_device=second_device,
        switch_day=switch_day,
        payees=payees,
        ramp=np.arange(days) / max(days - 1, 1),
        next_device=2 * n_cust,
    )


def _hk_legitimate(w: _HkWorld, start: str) -> tuple[dict, np.ndarray]:
    """Everyday card-present, online and FPS activity; the transactions and the day of each."""
    rng, n_cust, n_days, physical = w.rng, w.customers, w.days, w.physical
    dow = (pd.Timestamp(start).dayofweek + np.arange(n_days)) % 7
    weekly = np.array([0.95, 0.95, 1.0, 1.0, 1.1, 1.3, 1.15])[dow]
    counts = rng.poisson(w.rate[:, None] * weekly[None, :])
    cell = np.repeat(np.arange(n_cust * n_days), counts.ravel())
    cust, day = cell // n_days, cell % n_days
    n = len(cust)
    u = rng.random(n)
    channel = (u > w.mix[cust, 0]).astype(np.int8) + (u > w.mix[cust, 0] + w.mix[cust, 1]).astype(np.int8)
    t = day * DAY + _time_of_day(rng, channel)
    growth = 1.0 + 0.10 * w.drift * day / max(n_days, 1)
    term = np.full(n, -1, dtype=np.int64)
    cp, cnp, fps = channel == 0, channel == 1, channel == 2
    n_cp = int(cp.sum())
    term_cp = w.regulars[cust[cp], rng.integers(0, REGULAR_TERMINALS, n_cp)]
    wander = rng.random(n_cp) < 0.12
    term_cp[wander] = rng.integers(0, physical, int(wander.sum()))
    term[cp] = term_cp
    term[cnp] = physical + _choice_p(rng, w.online, w.online_popularity, int(cnp.sum()))
    cat = np.where(term >= 0, w.terminal_category[np.maximum(term, 0)], -1)
    amount = np.empty(n)
    has_t = term >= 0
    amount[has_t] = CAT_MEDIAN[cat[has_t]] * w.spend[cust[has_t]] * rng.lognormal(0, 0.65, int(has_t.sum()))
    payee = np.full(n, -1, dtype=np.int64)
    n_fps = int(fps.sum())
    slot = _choice_p(rng, KNOWN_PAYEES, KNOWN_PAYEE_WEIGHTS, n_fps)
    payee_fps = w.payees[cust[fps], slot]
    new_payee = rng.random(n_fps) < 0.04 * (1 + w.hardness)  # legit new payees (rent, a new friend)
    payee_fps[new_payee] = NEW_PAYEE0 + np.arange(int(new_payee.sum()))
    payee[fps] = payee_fps
    fps_median = np.where(slot < 2, 650.0, 900.0)
    amount[fps] = fps_median * w.spend[cust[fps]] * rng.lognormal(0, 0.9, n_fps)
    big = rng.random(n) < 0.003 * (1 + w.hardness)  # legit look-alike: a rare big spend
    amount[big] *= rng.lognormal(1.8, 0.4, int(big.sum()))
    amount *= growth
    device = np.full(n, -1, dtype=np.int64)
    online = ~cp
    on_second = day >= w.switch_day[cust]
    device[online] = np.where(
        on_second[online] & (rng.random(int(online.sum())) < 0.9),
        w.second_device[cust[online]],
        w.first_device[cust[online]],
    )
    district = np.full(n, -1, dtype=np.int64)
    district[cp] = w.terminal_district[term[cp]]
    legit = {
        "t": t,
        "c": cust,
        "term": term,
        "amount": amount,
        "channel": channel,
        "device": device,
        "payee": payee,
        "district": district,
        "scenario": np.zeros(n, np.int8),
    }
    return legit, day


def _hk_compromised_terminals(w: _HkWorld, legit: dict, day: np.ndarray) -> None:
    """Scenario 1: a share of the card-present transactions at a terminal during its compromise is fraud
    (marked in `legit` in place)."""
    rng, physical = w.rng, w.physical
    n_comp = rng.poisson(HK_RATES[1] * physical / 1000 * np.ones(w.days))
    compromised = np.zeros((physical, w.days + 40), dtype=bool)
    for first_day in np.flatnonzero(n_comp):
        for terminal in rng.choice(physical, n_comp[first_day], replace=False):
            compromised[terminal, first_day : first_day + rng.integers(7, 29)] = True
    p_skim = 0.55 - 0.25 * w.hardness
    cp = legit["channel"] == 0
    hit = cp.copy()
    hit[cp] = compromised[legit["term"][cp], day[cp]]
    legit["scenario"][hit & (rng.random(len(cp)) < p_skim)] = 1


def _incident_days(w: _HkWorld, rate: float, scale) -> np.ndarray:
    """The day of each incident: Poisson per day, `rate` per 1,000 customers times `scale`."""
    lam = rate * w.customers / 1000 * scale
    return np.repeat(np.arange(w.days), w.rng.poisson(lam))


def _hk_compromised_cards(w: _HkWorld) -> dict:
    """Scenario 2: online (some counterfeit card-present) spending on risky merchants."""
    rng, physical = w.rng, w.physical
    inc = _incident_days(w, HK_RATES[2], np.ones(w.days))
    victims = rng.integers(0, w.customers, len(inc))
    per_incident = rng.integers(2, 11, len(inc))
    of = np.repeat(np.arange(len(inc)), per_incident)  # the incident of each transaction
    m = len(of)
    day = inc[of] + np.floor(rng.random(m) * rng.integers(1, 8, len(inc))[of]).astype(np.int64)
    t = day * DAY + _night_time(rng, m)
    counterfeit = rng.random(m) < 0.2
    risky = w.online_popularity * np.isin(w.terminal_category[physical:], RISKY_ONLINE)
    term = np.where(counterfeit, rng.integers(0, physical, m), physical + _choice_p(rng, w.online, risky, m))
    channel = np.where(counterfeit, 0, 1).astype(np.int8)
    uplift = rng.lognormal(np.log(3.2 - 2.0 * w.hardness), 0.5, m)
    amount = CAT_MEDIAN[w.terminal_category[term]] * w.spend[victims[of]] * uplift
    n_ring = max(3, len(inc) // 3)
    ring_device = w.next_device + rng.integers(0, n_ring, len(inc))  # fraud rings reuse devices
    w.new_devices(n_ring)
    spoof = rng.random(len(inc)) < 0.5 * w.hardness
    incident_device = np.where(spoof, w.device_on(inc, victims), ring_device)
    device = np.where(channel == 1, incident_device[of], -1)
    district = np.where(channel == 0, w.terminal_district[np.minimum(term, physical - 1)], -1)
    return {
        "t": t,
        "c": victims[of],
        "term": term,
        "amount": amount,
        "channel": channel,
        "device": device,
        "payee": np.full(m, -1, np.int64),
        "district": district,
        "scenario": np.full(m, 2, np.int8),
    }


def _hk_card_testing(w: _HkWorld) -> dict:
    """Scenario 3: a burst of tiny online attempts, then a large purchase."""
    rng, physical = w.rng, w.physical
    inc = _incident_days(w, HK_RATES[3], 1.0 - 0.5 * w.drift * w.ramp)
    victims = rng.integers(0, w.customers, len(inc))
    per_incident = rng.integers(3, 13, len(inc))
    of = np.repeat(np.arange(len(inc)), per_incident)
    m = len(of)
    t0 = inc * DAY + _night_time(rng, len(inc))
    within = (
        np.concatenate([np.sort(rng.uniform(0, rng.uniform(120, 1500), kk)) for kk in per_incident])
        if len(per_incident)
        else np.zeros(0)
    )
    t_tests = t0[of] + np.rint(within).astype(np.int64)
    testers = physical + rng.choice(
        np.flatnonzero(np.isin(w.terminal_category[physical:], RISKY_ONLINE)), max(1, w.online // 10)
    )
    term_tests = testers[rng.integers(0, len(testers), len(inc))][of]
    amount_tests = rng.uniform(1, 40, m) * (1 + 0.5 * w.hardness * rng.random(m))
    n_ring = max(2, len(inc) // 4)
    ring = w.next_device + rng.integers(0, n_ring, len(inc))
    w.new_devices(n_ring)
    t_big = t0 + np.rint(rng.uniform(0.3, 48, len(inc)) * 3600).astype(np.int64)
    big_online = w.online_popularity * np.isin(w.terminal_category[physical:], BIG_ONLINE)
    term_big = physical + _choice_p(rng, w.online, big_online, len(inc))
    amount_big = CAT_MEDIAN[w.terminal_category[term_big]] * rng.lognormal(
        np.log(2.5 - 1.2 * w.hardness), 0.5, len(inc)
    )
    total = m + len(inc)
    return {
        "t": np.concatenate([t_tests, t_big]),
        "c": np.concatenate([victims[of], victims]),
        "term": np.concatenate([term_tests, term_big]),
        "amount": np.concatenate([amount_tests, amount_big]),
        "channel": np.ones(total, np.int8),
        "device": np.concatenate([ring[of], ring]),
        "payee": np.full(total, -1, np.int64),
        "district": np.full(total, -1),
        "scenario": np.full(total, 3, np.int8),
    }


@dataclass
class _Mules:
    """Mule accounts: external ones (a pool) and some of our own customers recruited as mules."""

    rng: np.random.Generator
    external: int
    customers: np.ndarray

    @classmethod
    def recruit(cls, w: _HkWorld) -> _Mules:
        external = max(4, int(w.customers * w.days * (HK_RATES[4] + HK_RATES[5]) / 1000 / 4))
        return cls(w.rng, external, w.rng.choice(w.customers, max(2, w.customers // 400), replace=False))

    def payees(self, size: int) -> np.ndarray:
        own = self.rng.random(size) < 0.35
        return np.where(
            own,
            self.customers[self.rng.integers(0, len(self.customers), size)],
            MULE0 + self.rng.integers(0, self.external, size),
        )


def _hk_account_takeover(w: _HkWorld, mules: _Mules) -> dict:
    """Scenario 4: a new device, new payees, draining FPS transfers."""
    rng = w.rng
    inc = _incident_days(w, HK_RATES[4], np.ones(w.days))
    victims = rng.integers(0, w.customers, len(inc))
    per_incident = rng.integers(1, 6, len(inc))
    of = np.repeat(np.arange(len(inc)), per_incident)
    m = len(of)
    t_start = inc * DAY + _night_time(rng, len(inc))
    t = t_start[of] + np.rint(rng.uniform(0, 6 * 3600, m)).astype(np.int64)
    n_new = rng.integers(1, 4, len(inc))
    pay_pool = mules.payees(3 * len(inc)).reshape(-1, 3) if len(inc) else np.zeros((0, 3), np.int64)
    payee = pay_pool[of, rng.integers(0, 3, m) % n_new[of]]
    reuse = rng.random(len(inc)) < 0.4 * w.hardness  # remote-access tools: the victim's own device
    device = np.where(reuse, w.device_on(inc, victims), w.new_devices(len(inc)) + np.arange(len(inc)))
    amount = 900 * w.spend[victims[of]] * rng.lognormal(np.log(9 - 5 * w.hardness), 0.6, m)
    return {
        "t": t,
        "c": victims[of],
        "term": np.full(m, -1, np.int64),
        "amount": amount,
        "channel": np.full(m, 2, np.int8),
        "device": device[of],
        "payee": payee,
        "district": np.full(m, -1),
        "scenario": np.full(m, 4, np.int8),
    }


def _hk_app_scam(w: _HkWorld, mules: _Mules) -> dict:
    """Scenario 5: authorised push payment scams, the victim pays a mule from their own device."""
    rng = w.rng
    inc = _incident_days(w, HK_RATES[5], 1.0 + w.drift * w.ramp)
    victims = rng.integers(0, w.customers, len(inc))
    per_incident = rng.integers(1, 4, len(inc))
    of = np.repeat(np.arange(len(inc)), per_incident)
    m = len(of)
    t = (inc[of] + rng.integers(0, 4, m)) * DAY + _time_of_day(rng, np.full(m, 2, np.int8))
    mule = mules.payees(len(inc))
    amount = rng.lognormal(np.log(12000 * (1 - 0.4 * w.hardness)), 0.8, m)
    own_device = w.device_on(inc, victims)
    return {
        "t": t,
        "c": victims[of],
        "term": np.full(m, -1, np.int64),
        "amount": amount,
        "channel": np.full(m, 2, np.int8),
        "device": own_device[of],
        "payee": mule[of],
        "district": np.full(m, -1),
        "scenario": np.full(m, 5, np.int8),
    }


def _hk_mule_chains(w: _HkWorld, mules: _Mules, into_mules: list[dict]) -> dict | None:
    """Money into a mule customer is forwarded within hours to 2-4 second-level mules (scenario 5);
    None when no transfer reached one of our customers."""
    rng = w.rng
    t_in = np.concatenate([p["t"] for p in into_mules])
    payee_in = np.concatenate([p["payee"] for p in into_mules])
    amount_in = np.concatenate([p["amount"] for p in into_mules])
    own = payee_in < w.customers
    if not own.any():
        return None
    t_in, mule, amount_in = t_in[own], payee_in[own], amount_in[own]
    forwards = rng.integers(2, 5, len(t_in))
    of = np.repeat(np.arange(len(t_in)), forwards)
    m = len(of)
    t = t_in[of] + np.rint(rng.uniform(0.5, 18, m) * 3600).astype(np.int64)
    amount = amount_in[of] * 0.92 / forwards[of] * rng.uniform(0.6, 1.4, m)
    amount = np.maximum(amount, 50)
    device = w.device_on(t_in[of] // DAY, mule[of])
    return {
        "t": t,
        "c": mule[of],
        "term": np.full(m, -1, np.int64),
        "amount": amount,
        "channel": np.full(m, 2, np.int8),
        "device": device,
        "payee": MULE0 + rng.integers(0, mules.external, m),
        "district": np.full(m, -1),
        "scenario": np.full(m, 5, np.int8),
    }


def _hk_labelled(w: _HkWorld, parts: list[dict], label_delay_days: float, label_noise: float) -> dict:
    """All transactions inside the period, as `_finish` columns, with their labels: reported after a delay
    (fraud: spread around the configured delay); some frauds are never reported and a few legitimate
    transactions are disputed as fraud (label noise)."""
    rng = w.rng
    cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    inside = cols["t"] < w.days * DAY
    cols = {k: v[inside] for k, v in cols.items()}
    n = len(cols["t"])
    scenario = cols["scenario"]
    is_fraud = (scenario > 0).astype(np.int8)
    missed = (scenario > 0) & (rng.random(n) < label_noise)
    false_claim = (scenario == 0) & (rng.random(n) < label_noise * 0.01)
    is_fraud[missed] = 0
    is_fraud[false_claim] = 1
    delay = np.where(scenario > 0, rng.gamma(4.0, label_delay_days / 4.0, n), label_delay_days)
    label_t = cols["t"] + np.rint(delay * DAY).astype(np.int64)
    term = cols["term"]
    cat_idx = np.where(term >= 0, w.terminal_category[np.maximum(term, 0)], -1)
    cat_names = np.array(CAT_NAMES + ("transfer",), dtype=object)
    dist_names = np.array(DISTRICTS + ("online",), dtype=object)
    return {
        "t": cols["t"],
        "customer_id": cols["c"].astype(np.int64),
        "terminal_id": term.astype(np.int64),
        "amount": np.maximum(np.round(cols["amount"], 2), 1.0),
        "channel": cols["channel"],
        "merchant_category": cat_names[cat_idx],
        "district": dist_names[np.where(cols["district"] >= 0, cols["district"], 18)],
        "device_id": cols["device"].astype(np.int64),
        "payee_id": cols["payee"].astype(np.int64),
        "is_fraud": is_fraud,
        "scenario": scenario.astype(np.int8),
        "label_t": label_t,
    }


def simulate_hk(
    customers: int = 5000,
    days: int = 120,
    seed: int = 0,
    start: str = "2025-01-01",
    hardness: float = 0.5,
    label_delay_days: float = 7.0,
    label_noise: float = 0.02,
    drift: float = 0.5,
    progress=None,
) -> pd.DataFrame:
    """The hk preset: the entities, their legitimate activity, then each fraud scenario in turn, then labels.

    Every step draws from one seeded generator in this order, so the same arguments give the same rows."""
    rng = np.random.default_rng(seed)
    world = _hk_world(rng, int(customers), int(days), float(np.clip(hardness, 0, 1)), drift)
    _progress(progress, 0.1, "customers, terminals, devices and payees created")
    legit, legit_day = _hk_legitimate(world, start)
    _progress(progress, 0.35, f"{len(legit['t']):,} legitimate transactions drawn")
    _hk_compromised_terminals(world, legit, legit_day)
    parts = [legit, _hk_compromised_cards(world), _hk_card_testing(world)]
    mules = _Mules.recruit(world)
    into_mules = [_hk_account_takeover(world, mules), _hk_app_scam(world, mules)]
    parts += into_mules
    chains = _hk_mule_chains(world, mules, into_mules)
    if chains is not None:
        parts.append(chains)
    _progress(progress, 0.6, "fraud scenarios injected")
    out = _hk_labelled(world, parts, label_delay_days, label_noise)
    _progress(progress, 0.8, "labels delayed and noised")
    return _finish(out, start, label_delay_days)


def scenario_names(preset: str) -> dict[int, str]:
    names = {"handbook": HANDBOOK_SCENARIOS, "hk": HK_SCENARIOS}.get(preset, {})
    return {0: "legitimate", **names, **UNSPECIFIED_SCENARIO}


def summarise(df: pd.DataFrame, preset: str) -> dict:
    names = scenario_names(preset)
    counts = df.loc[df["scenario"] > 0, "scenario"].value_counts().sort_index()
    days = int((df["timestamp"].max().normalize() - df["timestamp"].min().normalize()).days + 1) if len(df) else 0
    return {
        "rows": int(len(df)),
        "fraud_rows": int(df["is_fraud"].sum()),
        "fraud_rate": float(df["is_fraud"].mean()) if len(df) else 0.0,
        "scenario_counts": {names.get(int(k), f"scenario_{int(k)}"): int(v) for k, v in counts.items()},
        "days": days,
        "customers": int(df["customer_id"].nunique()),
        "start": str(df["timestamp"].min()) if len(df) else "",
        "end": str(df["timestamp"].max()) if len(df) else "",
    }
