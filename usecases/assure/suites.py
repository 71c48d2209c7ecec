"""Regulator-held test suites: data the reviewers choose and the banks never read.

A suite is materialised once, by a reviewer (`assure.suite_manage`), in the store's reviewer-only area
`state/suites/<name>/` (folder 0700, files 0600; under `state/`, so every file option of every command refuses it:
sandbox/userfile.py guards the store's state). It holds the suite's rows (`rows.parquet`) and its manifest
(`suite.json`: use case, seed, options, what the suite is in words, row counts and the rows' SHA-256). Banks see a
suite's name and their own aggregate result (suite_runs.py), never the rows, the seed or the options.

Kinds (each from the use case's own simulator, with a seed the bank's data never used; without --seed a random one):

- fraud: a fresh simulated hk month (30 days of history for the features, then the test month) with a shifted
  scenario mix (`thin`: a share of the customers hit by a scenario lose that scenario's rows; drift and hardness
  set apart from the preset's) and a scenario variant the hk simulator never draws, so no bank's simulated
  training data has it: `VARIANT`, remote-access account takeover with split FPS payments to a mule payee aged a
  few days and forwarded through a mule at the bank (scenario 6), built with the fraud ring's campaign planner.
- risk: an out-of-time vintage (the month after the simulator's last) drawn with drift (a rising-rates shift of
  DSR, utilisation and enquiries) and a fairness stress (`bias`: the simulator's historical bias against women and
  applicants aged 18-29, in their recorded inputs and labels).
- chat: held-out questions on the bank's synthetic library (bank-independent rows; each bank's expected values
  looked up at run time, questions its own eval asks dropped), prompt injections and a red-team slice; or a
  reviewer's own question file (`file=`) for banks with their own documents (chat_suite.py).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import secrets
import shutil
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from sandbox import atomic
from sandbox.access import Actor, require
from sandbox.errors import InvalidInput, NotFound

USECASES = ("fraud", "risk", "chat")
NAME = re.compile(r"^[a-z][a-z0-9-]{2,31}$")
ROWS, MANIFEST = "rows.parquet", "suite.json"
VARIANT_ID, VARIANT_NAME = 6, "remote_access_split_ato"
VARIANT = (
    "remote-access account takeover: FPS transfers from the victim's own device (remote-access tool), split "
    "into 3 payments 20 minutes apart of about 1.5x the victim's usual FPS amount, to a mule payee the ring "
    "added 4 days earlier with a HKD 200 payment, forwarded through one mule account at the bank"
)
FRAUD_DEFAULTS = {
    "customers": 2000,
    "history_days": 30,
    "test_days": 30,
    "start": "2025-04-01",
    "hardness": 0.6,
    "drift": 1.0,
    "thin": {"compromised_terminal": 0.5, "compromised_card": 0.5},
    "variant_episodes": None,
}
RISK_DEFAULTS = {"applicants": 6000, "drift": 1.0, "bias": 0.5}


@dataclass
class Suite:
    name: str
    usecase: str
    created: str
    by: str
    seed: int
    options: dict
    description: str
    rows: int
    sha256: str
    facts: dict = field(default_factory=dict)  # counts: scenarios, defaults, test window

    def to_dict(self) -> dict:
        return asdict(self)

    def public(self) -> dict:
        """What a bank may know of the suite: its name and use case."""
        return {"name": self.name, "usecase": self.usecase}


def root(store) -> Path:
    """The reviewer-only area (created 0700 on first use)."""
    path = store.state / "suites"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise InvalidInput(
            "suite",
            f"{str(name)[:40]!r} is not a suite name",
            "use 3-32 characters: a lowercase letter, then lowercase letters, digits or '-' (e.g. hk-may)",
        )
    return name


def _require(store, actor: Actor, action: str = "assure.suite_manage") -> None:
    require(
        actor,
        action,
        None,
        audit=store.platform_audit(),
        message=f"{actor.name} may not use the regulator's test suites (reviewers own them)",
        fix="suites are held by HKMA reviewers; a bank sees its own results with `sandbox assure results BANK`",
    )


# -- fraud ----------------------------------------------------------------------------------------
def _fraud_options(opts: dict) -> dict:
    o = {**FRAUD_DEFAULTS, **{k: v for k, v in opts.items() if v is not None}}
    for key, lo, hi in (("customers", 100, 50_000), ("history_days", 14, 90), ("test_days", 7, 62)):
        if isinstance(o[key], bool) or not isinstance(o[key], (int, np.integer)) or not lo <= int(o[key]) <= hi:
            raise InvalidInput(
                key, f"{o[key]!r} is not a whole number in {lo}..{hi:,}", f"give --{key.replace('_', '-')} {lo}..{hi}"
            )
    for key in ("hardness", "drift"):
        if not isinstance(o[key], (int, float)) or not 0 <= float(o[key]) <= 2:
            raise InvalidInput(key, f"{o[key]!r} is out of range", f"give --{key} between 0 and 2")
    from usecases.fraud.simulator import HK_SCENARIOS

    names = set(HK_SCENARIOS.values())
    for k, v in o["thin"].items():
        if k not in names or not isinstance(v, (int, float)) or not 0 <= float(v) <= 1:
            raise InvalidInput(
                "thin",
                f"{k}={v!r} is not a scenario and a share to keep",
                f"use NAME=SHARE with NAME one of {', '.join(sorted(names))} and SHARE in 0..1",
            )
    try:
        pd.Timestamp(o["start"])
    except ValueError:
        raise InvalidInput("start", f"{o['start']!r} is not a date", "e.g. --start 2025-04-01") from None
    return o


def _thin(df: pd.DataFrame, keep: dict[str, float], rng: np.random.Generator) -> pd.DataFrame:
    """Drop a scenario's rows for a (1 - share) of the customers it hit: the incidents that did not happen."""
    from usecases.fraud.simulator import HK_SCENARIOS

    ids = {v: k for k, v in HK_SCENARIOS.items()}
    drop = np.zeros(len(df), dtype=bool)
    for name, share in keep.items():
        sid = ids[name]
        hit = df["scenario"].to_numpy() == sid
        custs = np.unique(df.loc[hit, "customer_id"].to_numpy())
        gone = custs[rng.random(len(custs)) >= share]
        drop |= hit & np.isin(df["customer_id"].to_numpy(), gone)
    return df.loc[~drop].reset_index(drop=True)


def _variant(df: pd.DataFrame, test_start: pd.Timestamp, test_days: int, episodes: int, seed: int) -> pd.DataFrame:
    """VARIANT's transactions during the test month (the ring's planner, usecases/assure/fraud_campaigns.py), on
    victims active before it; labelled fraud after a delay like the simulator's."""
    from . import fraud_campaigns as fc
    from .fraud_bank import profiles

    rng = np.random.default_rng(seed + 104_729)
    history = df[df["timestamp"] < test_start]
    people = profiles(history, 3 + episodes, seed)
    if len(people) < 5:
        return df.iloc[:0]
    world = fc.World(history, people[3:], people[:3])
    rows = []
    c = fc.Campaign(
        family="fps_transfer",
        amount_x=1.5,
        per_victim=3,
        gap_min=20.0,
        victims=1,
        device="victim",
        payee_age_days=4,
        mule_hops=1,
    )
    for _ in range(episodes):
        c.hour = int(rng.integers(8, 22))
        day = int(rng.integers(0, max(test_days - c.payee_age_days - 1, 1)))
        start = int((test_start + pd.Timedelta(days=day)).value // 10**9)
        rows += [{"t": s.t, **s.txn} for s in fc.plan(c, world, world.take(c.victims), rng, start=start)]
    delay = pd.to_timedelta(rng.gamma(4.0, 7.0 / 4.0, len(rows)), unit="D")
    return fc.as_transactions(rows, int(df["txn_id"].max()) + 1, VARIANT_ID, delay)


def _make_fraud(seed: int, opts: dict) -> tuple[pd.DataFrame, str, dict]:
    from usecases.fraud.features import sort_frame
    from usecases.fraud.schema import canonical
    from usecases.fraud.simulator import scenario_names, simulate_hk

    o = _fraud_options(opts)
    days = int(o["history_days"]) + int(o["test_days"])
    df = simulate_hk(
        customers=int(o["customers"]),
        days=days,
        seed=seed,
        start=str(o["start"]),
        hardness=float(o["hardness"]),
        drift=float(o["drift"]),
    )
    df = _thin(df, o["thin"], np.random.default_rng(seed + 7))
    test_start = pd.Timestamp(o["start"]) + pd.Timedelta(days=int(o["history_days"]))
    episodes = o["variant_episodes"] or max(2, int(o["customers"]) * int(o["test_days"]) // 6000)
    extra = _variant(df, test_start, int(o["test_days"]), int(episodes), seed)
    if len(extra):
        df = sort_frame(
            pd.concat([canonical(df), canonical(extra)], ignore_index=True).sort_values(
                ["timestamp", "txn_id"], kind="stable"
            )
        )
    test = df[df["timestamp"] >= test_start]
    names = {**scenario_names("hk"), VARIANT_ID: VARIANT_NAME}
    counts = test.loc[test["scenario"] > 0, "scenario"].value_counts().sort_index()
    facts = {
        "test_start": str(test_start.date()),
        "test_days": int(o["test_days"]),
        "test_rows": int(len(test)),
        "test_fraud_rows": int(test["is_fraud"].sum()),
        "scenario_counts": {names.get(int(k), f"scenario_{int(k)}"): int(v) for k, v in counts.items()},
    }
    thin = ", ".join(f"{k} kept for {v:.0%} of the customers it hit" for k, v in o["thin"].items()) or "none"
    words = (
        f"a fresh hk month ({o['test_days']} test days from {test_start.date()} after {o['history_days']} days "
        f"of history, {o['customers']} customers, another seed than any bank's); shifted scenario mix: {thin}; "
        f"drift {o['drift']} (APP scams rise and card testing falls over the period), hardness {o['hardness']}; "
        f"variant the hk simulator never draws (scenario {VARIANT_ID}, {VARIANT_NAME}): {VARIANT}"
    )
    opts_out = {k: v for k, v in o.items()}
    opts_out["variant_episodes"] = int(episodes)
    return df, words, {"facts": facts, "options": opts_out}


# -- risk -----------------------------------------------------------------------------------------
def _make_risk(seed: int, opts: dict) -> tuple[pd.DataFrame, str, dict]:
    from usecases.risk.simulator import LAST_VINTAGE, generate

    o = {**RISK_DEFAULTS, **{k: v for k, v in opts.items() if v is not None}}
    if (
        isinstance(o["applicants"], bool)
        or not isinstance(o["applicants"], (int, np.integer))
        or not 500 <= int(o["applicants"]) <= 200_000
    ):
        raise InvalidInput(
            "applicants", f"{o['applicants']!r} is not a whole number in 500..200,000", "give --applicants 500..200000"
        )
    for key in ("drift", "bias"):
        if not isinstance(o[key], (int, float)) or not 0 <= float(o[key]) <= 2:
            raise InvalidInput(key, f"{o[key]!r} is out of range", f"give --{key} between 0 and 2")
    # two vintages, the second kept: vintage v of V has the drift shift drift * v / (V - 1), so it gets all of it
    df = generate(2 * int(o["applicants"]), 2, seed, bias=float(o["bias"]), drift=float(o["drift"]))
    df = df[df["vintage_index"] == 1].reset_index(drop=True)
    year, month = LAST_VINTAGE
    nxt = f"{year + month // 12}-{month % 12 + 1:02d}"  # the month after the simulator's last vintage
    df["vintage"] = nxt
    facts = {
        "vintage": nxt,
        "applicants": int(len(df)),
        "default_rate": round(float(df["default_12m"].mean()), 4) if "default_12m" in df else None,
    }
    words = (
        f"an out-of-time vintage ({nxt}, after every vintage the risk simulator draws for a bank), "
        f"{len(df)} applicants from another seed; drift {o['drift']} (DSR +{0.10 * float(o['drift']):.2f}, "
        f"utilisation and enquiries up: a rising-rates shift); fairness stress: bias {o['bias']} (women and "
        "applicants aged 18-29 recorded with understated income and a worse bureau grade, and label bias)"
    )
    return df, words, {"facts": facts, "options": o}


def _make_chat(seed: int, opts: dict) -> tuple[pd.DataFrame, str, dict]:
    from . import chat_suite

    return chat_suite.make(seed, opts)


MAKERS = {"fraud": _make_fraud, "risk": _make_risk, "chat": _make_chat}


def create(store, actor: Actor, name: str, usecase: str, seed: int | None = None, **options) -> Suite:
    """Materialise a suite in the reviewer-only area; refuses an existing name (suites are never overwritten)."""
    _require(store, actor)
    check_name(name)
    if usecase not in USECASES:
        raise InvalidInput("usecase", f"{usecase!r} has no regulator-held suite", f"use one of {', '.join(USECASES)}")
    if seed is None:
        seed = secrets.randbelow(2**31 - 1)  # a seed no bank can guess; kept in the manifest only
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) < 2**31:
        raise InvalidInput("seed", f"{seed!r} is not a whole number >= 0", "give --seed 0..2147483647, or leave it out")
    area = root(store)
    final = area / name
    if final.exists():
        raise InvalidInput(
            "suite", f"a suite named {name} already exists", "choose another name (`sandbox assure suite list`)"
        )
    if options.get("file") is not None:
        if usecase != "chat":
            raise InvalidInput("file", f"a {usecase} suite is simulated, not read from a file", "drop --file")
        from . import chat_suite

        rows, fname, sha = chat_suite.read_file(store, actor, options.pop("file"))
        options.update(file_rows=rows, file_name=fname, file_sha256=sha)
    options.pop("file", None)
    df, words, extra = MAKERS[usecase](int(seed), options)
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    data = buf.getvalue()
    suite = Suite(
        name=name,
        usecase=usecase,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        by=actor.name,
        seed=int(seed),
        options=_jsonable(extra["options"]),
        description=words,
        rows=int(len(df)),
        sha256=hashlib.sha256(data).hexdigest(),
        facts=extra["facts"],
    )
    tmp = area / f".{name}.{secrets.token_hex(4)}.tmp"
    tmp.mkdir(mode=0o700)
    try:
        atomic.write_bytes(tmp / ROWS, data, mode=0o600)
        atomic.write_json(tmp / MANIFEST, suite.to_dict(), mode=0o600)
        os.rename(tmp, final)  # all or nothing; fails if another reviewer took the name meanwhile
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if final.exists():
            raise InvalidInput("suite", f"a suite named {name} already exists", "choose another name") from None
        raise
    store.platform_audit().append(
        "assure.suite_create", actor.name, suite=name, usecase=usecase, rows=suite.rows, sha256=suite.sha256
    )
    return suite


def _jsonable(obj):
    return json.loads(json.dumps(obj, default=lambda v: v.item() if hasattr(v, "item") else str(v)))


def _manifest(path: Path) -> Suite | None:
    try:
        return Suite(**json.loads((path / MANIFEST).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def list_suites(store, actor: Actor) -> list[Suite]:
    """Every suite (reviewers only), by name."""
    _require(store, actor)
    area = root(store)
    return [
        s
        for p in sorted(area.iterdir())
        if p.is_dir() and not p.name.startswith(".") and (s := _manifest(p)) is not None
    ]


def load(store, actor: Actor, name: str, action: str = "assure.suite_manage") -> tuple[Suite, pd.DataFrame]:
    """A suite and its rows, checked against the manifest's SHA-256 (for the suite run; reviewers only)."""
    _require(store, actor, action)
    check_name(name)
    path = root(store) / name
    suite = _manifest(path) if path.is_dir() else None
    if suite is None:
        raise NotFound(
            f"no suite named {name}",
            "list them with `sandbox assure suite list`, or create one with "
            "`sandbox assure suite create NAME --usecase fraud|risk|chat`",
        )
    data = (path / ROWS).read_bytes()
    if hashlib.sha256(data).hexdigest() != suite.sha256:
        raise InvalidInput(
            "suite", f"suite {name}'s rows do not match its manifest", "create the suite again under a new name"
        )
    return suite, pd.read_parquet(io.BytesIO(data))
