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
from typing import Callable

import numpy as np
import pandas as pd

from .schema import canonical

DAY = 86_400
HANDBOOK_SCENARIOS = {1: "amount_over_220", 2: "compromised_terminal", 3: "compromised_card"}
HK_SCENARIOS = {1: "compromised_terminal", 2: "compromised_card", 3: "card_testing", 4: "account_takeover",
                5: "app_scam"}
UNSPECIFIED_SCENARIO = {99: "reported_unspecified"}

DISTRICTS = ("Central and Western", "Wan Chai", "Eastern", "Southern", "Yau Tsim Mong", "Sham Shui Po",
             "Kowloon City", "Wong Tai Sin", "Kwun Tong", "Kwai Tsing", "Tsuen Wan", "Tuen Mun", "Yuen Long",
             "North", "Tai Po", "Sha Tin", "Sai Kung", "Islands")
DISTRICT_POP = np.array([235, 166, 529, 264, 310, 431, 410, 406, 673, 495, 320, 506, 668, 310, 316, 692, 489, 185],
                        dtype=float)
# category: (median HKD, weight at physical terminals, weight online)
CATEGORIES = {
    "grocery": (120, 0.30, 0.05), "restaurant": (220, 0.28, 0.04), "transport": (45, 0.10, 0.02),
    "retail": (450, 0.14, 0.20), "pharmacy": (160, 0.07, 0.02), "electronics": (2600, 0.04, 0.15),
    "travel": (3800, 0.02, 0.10), "jewellery": (7000, 0.01, 0.02), "digital_services": (60, 0.00, 0.22),
    "marketplace": (320, 0.04, 0.18),
}
CAT_NAMES = tuple(CATEGORIES)
CAT_MEDIAN = np.array([v[0] for v in CATEGORIES.values()], dtype=float)
CAT_W_PHYS = np.array([v[1] for v in CATEGORIES.values()])
CAT_W_ONLINE = np.array([v[2] for v in CATEGORIES.values()])
RISKY_ONLINE = np.array([CAT_NAMES.index(c) for c in ("electronics", "jewellery", "travel", "marketplace", "digital_services")])
BIG_ONLINE = np.array([CAT_NAMES.index(c) for c in ("electronics", "jewellery", "travel")])

# Incidents per 1,000 customers (terminals for scenario 1) per day, before drift; and the share of all
# transactions each scenario is designed to make up at the default settings (checked by the tests).
HK_RATES = {1: 0.25, 2: 0.45, 3: 0.12, 4: 0.07, 5: 0.12}
HK_SHARE_RANGES = {1: (0.0004, 0.006), 2: (0.0007, 0.006), 3: (0.0003, 0.004), 4: (0.00005, 0.0015),
                   5: (0.00008, 0.002)}

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
    seconds: float = 0.0
    knobs: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def _progress(progress: Callable[[float, str], None] | None, f: float, msg: str) -> None:
    if progress is not None:
        progress(f, msg)


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
    df = pd.DataFrame({
        "txn_id": np.arange(len(t), dtype=np.int64),
        "timestamp": ts.astype("datetime64[ns]"),
        "customer_id": cols["customer_id"][order],
        "terminal_id": cols["terminal_id"][order],
        "amount": np.round(cols["amount"][order], 2),
        "channel": pd.Categorical.from_codes(cols["channel"][order].astype(np.int8), categories=["card_present", "card_not_present", "fps"]),
        "merchant_category": cols["merchant_category"][order],
        "district": cols["district"][order],
        "device_id": cols["device_id"][order],
        "payee_id": cols["payee_id"][order],
        "is_fraud": cols["is_fraud"][order],
        "scenario": cols["scenario"][order],
        "label_time": label_t.astype("datetime64[ns]"),
    })
    return canonical(df)


# -- handbook ---------------------------------------------------------------
def simulate_handbook(customers: int = 5000, terminals: int = 10000, days: int = 183, seed: int = 0,
                      start: str = "2018-04-01", radius: float = 5.0, label_delay_days: float = 7,
                      progress=None) -> pd.DataFrame:
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
            comp_t[tt, day:day + 28] = True
        for cc in rng.choice(customers, min(per_day(k_c), customers), replace=False):
            comp_c[cc, day + 1:day + 15] = True
    scenario[comp_t[term, d]] = 2
    leaked = comp_c[c, d] & (rng.random(n) < 1 / 3)
    amount[leaked] = amount[leaked] * 5
    scenario[leaked] = 3
    t = d * DAY + tod
    cols = {
        "t": t, "customer_id": c.astype(np.int64), "terminal_id": term, "amount": amount,
        "channel": np.zeros(n, np.int8), "merchant_category": np.full(n, "general", dtype=object),
        "district": np.full(n, "grid", dtype=object), "device_id": np.full(n, -1, np.int64),
        "payee_id": np.full(n, -1, np.int64), "is_fraud": (scenario > 0).astype(np.int8), "scenario": scenario,
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
    h[cp] = np.where(u[cp] < 0.4, rng.normal(12.8, 1.4, cp.sum()),
                     np.where(u[cp] < 0.85, rng.normal(19.0, 2.0, cp.sum()), rng.uniform(7, 23, cp.sum())))
    h[cnp] = np.where(u[cnp] < 0.6, rng.normal(21.0, 2.5, cnp.sum()), rng.uniform(0, 24, cnp.sum()))
    h[fps] = np.where(u[fps] < 0.5, rng.normal(10.0, 2.5, fps.sum()), rng.normal(20.0, 2.5, fps.sum()))
    return np.mod(np.rint(h * 3600), DAY).astype(np.int64)


def _night_time(rng, n: int) -> np.ndarray:
    h = np.where(rng.random(n) < 0.55, rng.uniform(0, 6, n), rng.uniform(6, 24, n))
    return np.rint(h * 3600).astype(np.int64)


def _span_days(rng, n: int, lo: int, hi: int) -> np.ndarray:
    return rng.integers(lo, hi + 1, n)


def simulate_hk(customers: int = 5000, days: int = 120, seed: int = 0, start: str = "2025-01-01",
                hardness: float = 0.5, label_delay_days: float = 7.0, label_noise: float = 0.02, drift: float = 0.5,
                progress=None) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    C, D = int(customers), int(days)
    h = float(np.clip(hardness, 0, 1))
    # -- entities ------------------------------------------------------------
    home = _choice_p(rng, 18, DISTRICT_POP, C)
    work = np.where(rng.random(C) < 0.6, _choice_p(rng, 18, DISTRICT_POP, C), home)
    rate = rng.gamma(2.2, 0.8, C)                      # transactions a day, mean ~1.8
    spend = rng.lognormal(0.0, 0.45, C)                # spending level
    mix = rng.dirichlet([6.0, 2.5, 1.5], C)            # channel mix: card present, online, FPS
    P = max(200, C)                                    # physical terminals
    O = max(40, C // 25)                               # online merchants
    t_district = _choice_p(rng, 18, DISTRICT_POP, P)
    t_cat = np.concatenate([_choice_p(rng, len(CAT_NAMES), CAT_W_PHYS, P), _choice_p(rng, len(CAT_NAMES), CAT_W_ONLINE, O)])
    online_pop = 1.0 / np.arange(1, O + 1) ** 1.1
    rng.shuffle(online_pop)
    # terminals per district (CSR), and 16 regular terminals per customer near home or work
    order = np.argsort(t_district, kind="stable")
    d_off = np.concatenate([[0], np.cumsum(np.bincount(t_district, minlength=18))])
    K = 16
    reg_d = np.where(rng.random((C, K)) < 0.65, home[:, None], work[:, None])
    size = d_off[reg_d + 1] - d_off[reg_d]
    regulars = order[d_off[reg_d] + np.floor(rng.random((C, K)) * np.maximum(size, 1)).astype(np.int64)]
    # devices: a phone each; 30% change phone at some day (legit "new device" look-alike)
    dev1 = np.arange(C, dtype=np.int64)
    dev2 = C + np.arange(C, dtype=np.int64)
    switch_day = np.where(rng.random(C) < 0.3, rng.integers(1, max(D, 2), C), D + 1)
    next_device = 2 * C
    # payees: billers (popular, legit high in-degree), other customers, external accounts
    B = max(20, C // 100)
    BILLER0, EXT0, NEW0, MULE0 = 1_000_000, 2_000_000, 3_000_000, 4_000_000
    biller_pop = 1.0 / np.arange(1, B + 1) ** 0.8
    KP = 6
    payees = np.empty((C, KP), dtype=np.int64)
    payees[:, :2] = BILLER0 + _choice_p(rng, B, biller_pop, 2 * C).reshape(C, 2)
    personal_is_cust = rng.random((C, KP - 2)) < 0.6
    payees[:, 2:] = np.where(personal_is_cust, rng.integers(0, C, (C, KP - 2)), EXT0 + rng.integers(0, 4 * C, (C, KP - 2)))
    payee_w = np.array([0.3, 0.2, 0.125, 0.125, 0.125, 0.125])
    _progress(progress, 0.1, "customers, terminals, devices and payees created")

    # -- legitimate activity --------------------------------------------------
    dow = (pd.Timestamp(start).dayofweek + np.arange(D)) % 7
    weekly = np.array([0.95, 0.95, 1.0, 1.0, 1.1, 1.3, 1.15])[dow]
    counts = rng.poisson(rate[:, None] * weekly[None, :])
    cell = np.repeat(np.arange(C * D), counts.ravel())
    c, d = cell // D, cell % D
    n = len(c)
    u = rng.random(n)
    channel = (u > mix[c, 0]).astype(np.int8) + (u > mix[c, 0] + mix[c, 1]).astype(np.int8)
    t = d * DAY + _time_of_day(rng, channel)
    growth = 1.0 + 0.10 * drift * d / max(D, 1)
    term = np.full(n, -1, dtype=np.int64)
    cp, cnp, fps = channel == 0, channel == 1, channel == 2
    n_cp = int(cp.sum())
    term_cp = regulars[c[cp], rng.integers(0, K, n_cp)]
    wander = rng.random(n_cp) < 0.12
    term_cp[wander] = rng.integers(0, P, int(wander.sum()))
    term[cp] = term_cp
    term[cnp] = P + _choice_p(rng, O, online_pop, int(cnp.sum()))
    cat = np.where(term >= 0, t_cat[np.maximum(term, 0)], -1)
    amount = np.empty(n)
    has_t = term >= 0
    amount[has_t] = CAT_MEDIAN[cat[has_t]] * spend[c[has_t]] * rng.lognormal(0, 0.65, int(has_t.sum()))
    payee = np.full(n, -1, dtype=np.int64)
    n_fps = int(fps.sum())
    slot = _choice_p(rng, KP, payee_w, n_fps)
    payee_f = payees[c[fps], slot]
    newp = rng.random(n_fps) < 0.04 * (1 + h)                  # legit new payees (rent, a new friend)
    payee_f[newp] = NEW0 + np.arange(int(newp.sum()))
    new_payee_next = NEW0 + int(newp.sum())
    payee[fps] = payee_f
    fps_med = np.where(slot < 2, 650.0, 900.0)
    amount[fps] = fps_med * spend[c[fps]] * rng.lognormal(0, 0.9, n_fps)
    big = rng.random(n) < 0.003 * (1 + h)                      # legit look-alike: a rare big spend
    amount[big] *= rng.lognormal(1.8, 0.4, int(big.sum()))
    amount *= growth
    device = np.full(n, -1, dtype=np.int64)
    online = ~cp
    use2 = d >= switch_day[c]
    device[online] = np.where(use2[online] & (rng.random(int(online.sum())) < 0.9), dev2[c[online]], dev1[c[online]])
    district = np.where(term >= 0, -1, -1)
    district[cp] = t_district[term[cp]]
    legit = {"t": t, "c": c, "term": term, "amount": amount, "channel": channel, "device": device, "payee": payee,
             "district": district, "scenario": np.zeros(n, np.int8)}
    _progress(progress, 0.35, f"{n:,} legitimate transactions drawn")

    # -- 1 compromised terminals: a share of the transactions there during the compromise is fraud
    ramp = np.arange(D) / max(D - 1, 1)
    n_comp = rng.poisson(HK_RATES[1] * P / 1000 * np.ones(D))
    comp = np.zeros((P, D + 40), dtype=bool)
    for day in np.flatnonzero(n_comp):
        for tt in rng.choice(P, n_comp[day], replace=False):
            comp[tt, day:day + rng.integers(7, 29)] = True
    p_skim = 0.55 - 0.25 * h
    hit = cp.copy()
    hit[cp] = comp[term[cp], d[cp]]
    legit["scenario"][hit & (rng.random(n) < p_skim)] = 1

    parts = [legit]

    def incident_days(key: float, scale: float) -> np.ndarray:
        lam = key * C / 1000 * scale
        return np.repeat(np.arange(D), rng.poisson(lam))

    # -- 2 compromised cards: online (some counterfeit card-present) spending on risky merchants
    inc = incident_days(HK_RATES[2], np.ones(D))
    victims = rng.integers(0, C, len(inc))
    k = rng.integers(2, 11, len(inc))
    vi = np.repeat(np.arange(len(inc)), k)
    m = len(vi)
    day = inc[vi] + np.floor(rng.random(m) * rng.integers(1, 8, len(inc))[vi]).astype(np.int64)
    t2 = day * DAY + _night_time(rng, m)
    counterfeit = rng.random(m) < 0.2
    term2 = np.where(counterfeit, rng.integers(0, P, m), P + _choice_p(rng, O, online_pop * np.isin(t_cat[P:], RISKY_ONLINE), m))
    ch2 = np.where(counterfeit, 0, 1).astype(np.int8)
    uplift = rng.lognormal(np.log(3.2 - 2.0 * h), 0.5, m)
    amt2 = CAT_MEDIAN[t_cat[term2]] * spend[victims[vi]] * uplift
    ring_dev = next_device + rng.integers(0, max(3, len(inc) // 3), len(inc))  # fraud rings reuse devices
    next_device += max(3, len(inc) // 3)
    spoof = rng.random(len(inc)) < 0.5 * h
    dev_inc = np.where(spoof, np.where(inc >= switch_day[victims], dev2[victims], dev1[victims]), ring_dev)
    dev2_ = np.where(ch2 == 1, dev_inc[vi], -1)
    parts.append({"t": t2, "c": victims[vi], "term": term2, "amount": amt2, "channel": ch2, "device": dev2_,
                  "payee": np.full(m, -1, np.int64), "district": np.where(ch2 == 0, t_district[np.minimum(term2, P - 1)], -1),
                  "scenario": np.full(m, 2, np.int8)})

    # -- 3 card testing: a burst of tiny online attempts, then a large purchase
    inc = incident_days(HK_RATES[3], 1.0 - 0.5 * drift * ramp)
    victims = rng.integers(0, C, len(inc))
    k = rng.integers(3, 13, len(inc))
    vi = np.repeat(np.arange(len(inc)), k)
    m = len(vi)
    t0 = inc * DAY + _night_time(rng, len(inc))
    within = np.concatenate([np.sort(rng.uniform(0, rng.uniform(120, 1500), kk)) for kk in k]) if len(k) else np.zeros(0)
    t3 = t0[vi] + np.rint(within).astype(np.int64)
    tester = P + rng.choice(np.flatnonzero(np.isin(t_cat[P:], RISKY_ONLINE)), max(1, O // 10))
    term3 = tester[rng.integers(0, len(tester), len(inc))][vi]
    amt3 = rng.uniform(1, 40, m) * (1 + 0.5 * h * rng.random(m))
    ring = next_device + rng.integers(0, max(2, len(inc) // 4), len(inc))
    next_device += max(2, len(inc) // 4)
    tb = t0 + np.rint(rng.uniform(0.3, 48, len(inc)) * 3600).astype(np.int64)
    termb = P + _choice_p(rng, O, online_pop * np.isin(t_cat[P:], BIG_ONLINE), len(inc))
    amtb = CAT_MEDIAN[t_cat[termb]] * rng.lognormal(np.log(2.5 - 1.2 * h), 0.5, len(inc))
    parts.append({"t": np.concatenate([t3, tb]), "c": np.concatenate([victims[vi], victims]),
                  "term": np.concatenate([term3, termb]), "amount": np.concatenate([amt3, amtb]),
                  "channel": np.ones(m + len(inc), np.int8), "device": np.concatenate([ring[vi], ring]),
                  "payee": np.full(m + len(inc), -1, np.int64), "district": np.full(m + len(inc), -1),
                  "scenario": np.full(m + len(inc), 3, np.int8)})

    # mule accounts: external (a pool) and some of our own customers recruited as mules
    n_ext_mules = max(4, int(C * D * (HK_RATES[4] + HK_RATES[5]) / 1000 / 4))
    mule_customers = rng.choice(C, max(2, C // 400), replace=False)

    def mule_payees(size: int) -> np.ndarray:
        own = rng.random(size) < 0.35
        return np.where(own, mule_customers[rng.integers(0, len(mule_customers), size)],
                        MULE0 + rng.integers(0, n_ext_mules, size))

    fanout: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    # -- 4 account takeover: new device, new payees, draining FPS transfers
    inc = incident_days(HK_RATES[4], np.ones(D))
    victims = rng.integers(0, C, len(inc))
    k = rng.integers(1, 6, len(inc))
    vi = np.repeat(np.arange(len(inc)), k)
    m = len(vi)
    t_start = inc * DAY + _night_time(rng, len(inc))
    t4 = t_start[vi] + np.rint(rng.uniform(0, 6 * 3600, m)).astype(np.int64)
    n_new = rng.integers(1, 4, len(inc))
    pay_pool = mule_payees(3 * len(inc)).reshape(-1, 3) if len(inc) else np.zeros((0, 3), np.int64)
    payee4 = pay_pool[vi, rng.integers(0, 3, m) % n_new[vi]]
    reuse = rng.random(len(inc)) < 0.4 * h                       # remote-access tools: the victim's own device
    own_dev = np.where(inc >= switch_day[victims], dev2[victims], dev1[victims])
    dev4 = np.where(reuse, own_dev, next_device + np.arange(len(inc)))
    next_device += len(inc)
    amt4 = 900 * spend[victims[vi]] * rng.lognormal(np.log(9 - 5 * h), 0.6, m)
    parts.append({"t": t4, "c": victims[vi], "term": np.full(m, -1, np.int64), "amount": amt4,
                  "channel": np.full(m, 2, np.int8), "device": dev4[vi], "payee": payee4,
                  "district": np.full(m, -1), "scenario": np.full(m, 4, np.int8)})
    fanout.append((t4, payee4, amt4))

    # -- 5 authorised push payment scams: the victim pays a mule from their own device
    inc = incident_days(HK_RATES[5], 1.0 + drift * ramp)
    victims = rng.integers(0, C, len(inc))
    k = rng.integers(1, 4, len(inc))
    vi = np.repeat(np.arange(len(inc)), k)
    m = len(vi)
    t5 = (inc[vi] + rng.integers(0, 4, m)) * DAY + _time_of_day(rng, np.full(m, 2, np.int8))
    mule = mule_payees(len(inc))
    amt5 = rng.lognormal(np.log(12000 * (1 - 0.4 * h)), 0.8, m)
    own_dev = np.where(inc >= switch_day[victims], dev2[victims], dev1[victims])
    parts.append({"t": t5, "c": victims[vi], "term": np.full(m, -1, np.int64), "amount": amt5,
                  "channel": np.full(m, 2, np.int8), "device": own_dev[vi], "payee": mule[vi],
                  "district": np.full(m, -1), "scenario": np.full(m, 5, np.int8)})
    fanout.append((t5, mule[vi], amt5))

    # mule chains: money into a mule customer is forwarded within hours to 2-4 second-level mules
    t_in = np.concatenate([f[0] for f in fanout])
    p_in = np.concatenate([f[1] for f in fanout])
    a_in = np.concatenate([f[2] for f in fanout])
    own = p_in < C
    if own.any():
        t_in, p_in, a_in = t_in[own], p_in[own], a_in[own]
        k = rng.integers(2, 5, len(t_in))
        vi = np.repeat(np.arange(len(t_in)), k)
        m = len(vi)
        t6 = t_in[vi] + np.rint(rng.uniform(0.5, 18, m) * 3600).astype(np.int64)
        amt6 = a_in[vi] * 0.92 / k[vi] * rng.uniform(0.6, 1.4, m)
        amt6 = np.maximum(amt6, 50)
        mdev = np.where(t_in[vi] // DAY >= switch_day[p_in[vi]], dev2[p_in[vi]], dev1[p_in[vi]])
        parts.append({"t": t6, "c": p_in[vi], "term": np.full(m, -1, np.int64), "amount": amt6,
                      "channel": np.full(m, 2, np.int8), "device": mdev,
                      "payee": MULE0 + rng.integers(0, n_ext_mules, m), "district": np.full(m, -1),
                      "scenario": np.full(m, 5, np.int8)})
    _progress(progress, 0.6, "fraud scenarios injected")

    cols = {k_: np.concatenate([p[k_] for p in parts]) for k_ in parts[0]}
    inside = cols["t"] < D * DAY
    cols = {k_: v[inside] for k_, v in cols.items()}
    n = len(cols["t"])
    sc = cols["scenario"]
    # labels: reported after a delay (fraud: spread around the configured delay); some frauds are never
    # reported and a few legitimate transactions are disputed as fraud (label noise)
    is_fraud = (sc > 0).astype(np.int8)
    missed = (sc > 0) & (rng.random(n) < label_noise)
    false_claim = (sc == 0) & (rng.random(n) < label_noise * 0.01)
    is_fraud[missed] = 0
    is_fraud[false_claim] = 1
    delay = np.where(sc > 0, rng.gamma(4.0, label_delay_days / 4.0, n), label_delay_days)
    label_t = cols["t"] + np.rint(delay * DAY).astype(np.int64)
    term = cols["term"]
    cat_idx = np.where(term >= 0, t_cat[np.maximum(term, 0)], -1)
    cat_names = np.array(CAT_NAMES + ("transfer",), dtype=object)
    dist_names = np.array(DISTRICTS + ("online",), dtype=object)
    out = {
        "t": cols["t"], "customer_id": cols["c"].astype(np.int64), "terminal_id": term.astype(np.int64),
        "amount": np.maximum(np.round(cols["amount"], 2), 1.0), "channel": cols["channel"],
        "merchant_category": cat_names[cat_idx], "district": dist_names[np.where(cols["district"] >= 0, cols["district"], 18)],
        "device_id": cols["device"].astype(np.int64), "payee_id": cols["payee"].astype(np.int64),
        "is_fraud": is_fraud, "scenario": sc.astype(np.int8), "label_t": label_t,
    }
    _progress(progress, 0.8, "labels delayed and noised")
    return _finish(out, start, label_delay_days)


def scenario_names(preset: str) -> dict[int, str]:
    names = {"handbook": HANDBOOK_SCENARIOS, "hk": HK_SCENARIOS}.get(preset, {})
    return {0: "legitimate", **names, **UNSPECIFIED_SCENARIO}


def summarise(df: pd.DataFrame, preset: str) -> dict:
    names = scenario_names(preset)
    counts = df.loc[df["scenario"] > 0, "scenario"].value_counts().sort_index()
    days = int((df["timestamp"].max().normalize() - df["timestamp"].min().normalize()).days + 1) if len(df) else 0
    return {"rows": int(len(df)), "fraud_rows": int(df["is_fraud"].sum()),
            "fraud_rate": float(df["is_fraud"].mean()) if len(df) else 0.0,
            "scenario_counts": {names.get(int(k), f"scenario_{int(k)}"): int(v) for k, v in counts.items()},
            "days": days, "customers": int(df["customer_id"].nunique()),
            "start": str(df["timestamp"].min()) if len(df) else "", "end": str(df["timestamp"].max()) if len(df) else ""}
