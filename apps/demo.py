"""Demo day: three fictional banks with users, data, trained models, chat indexes, evaluations and reviews.

`sandbox demo` calls `seed()`: orchestration only, through the platform (`Store`,
`open_workspace`) and the use cases' public APIs, never their internals. It is
idempotent: banks and users that exist are kept, and a use case that already
has a finished run in a bank is skipped, so a second run takes seconds.

Demo credentials are fixed and printed (a demo store only). A store not made by
the demo (its `admin` does not answer to the demo password) is refused, so the
demo never adds known passwords to a real store.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from sandbox import Actor, AuthenticationFailed, NotFound, SandboxError, Store, StoreError, open_workspace

DEMO_PASSWORD = "sandbox-demo-2026"
ADMIN, REVIEWER = "admin", "rita"


@dataclass(frozen=True)
class DemoBank:
    id: str
    name: str
    scientist: str
    seed: int
    quota_s: float
    risk_bias: float = 0.0  # > 0: the fairness checks should flag it
    risk_drift: float = 0.0  # > 0: PSI should flag the drifted features
    fraud_hardness: float = 0.5


BANKS: tuple[DemoBank, ...] = (
    DemoBank("harbour-bank", "Harbour Bank", "alice", seed=11, quota_s=7_200),
    DemoBank("peak-bank", "Peak Bank", "bob", seed=22, quota_s=7_200, risk_drift=1.0),
    DemoBank("junk-bay-bank", "Junk Bay Bank", "carol", seed=33, quota_s=3_600, risk_bias=0.6, fraud_hardness=0.8),
)

# Data sizes per profile: "full" fits three banks in <= 10 minutes on 2 cores, "fast" about a
# minute, "tiny" is for tests.
PROFILES: dict[str, dict[str, int]] = {
    "full": {"customers": 5_000, "days": 63, "applicants": 30_000, "vintages": 12},
    "fast": {"customers": 600, "days": 49, "applicants": 8_000, "vintages": 6},
    "tiny": {"customers": 300, "days": 42, "applicants": 3_000, "vintages": 4},
}
USECASE_STEPS = ("fraud", "risk", "chat")


@dataclass
class Step:
    bank: str
    usecase: str
    status: str  # seeded | skipped | unavailable | failed
    detail: str = ""
    wall_s: float = 0.0
    run_id: str | None = None


@dataclass
class DemoReport:
    home: str
    profile: str
    created: list[str] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    reviews: list[dict] = field(default_factory=list)
    lifecycle: list[dict] = field(default_factory=list)  # what each bank's newest fraud/risk version became
    wall_s: float = 0.0

    @property
    def ok(self) -> bool:
        return not any(s.status == "failed" for s in self.steps)

    def credentials(self) -> list[dict]:
        rows = [
            {"user": ADMIN, "role": "admin", "bank": "", "password": DEMO_PASSWORD},
            {"user": REVIEWER, "role": "reviewer", "bank": "", "password": DEMO_PASSWORD},
        ]
        rows += [{"user": b.scientist, "role": "scientist", "bank": b.id, "password": DEMO_PASSWORD} for b in BANKS]
        return rows

    def to_dict(self) -> dict:
        return {
            "home": self.home,
            "profile": self.profile,
            "created": self.created,
            "steps": [asdict(s) for s in self.steps],
            "reviews": self.reviews,
            "lifecycle": self.lifecycle,
            "wall_s": round(self.wall_s, 1),
            "ok": self.ok,
            "credentials": self.credentials(),
        }


# -- the store: admin, banks, users, quotas -----------------------------------------
def _admin(store: Store, report: DemoReport) -> Actor:
    if not store.exists:
        store.init(ADMIN, DEMO_PASSWORD)
        report.created.append(f"store {store.home}")
    try:
        return store.authenticate(ADMIN, DEMO_PASSWORD)
    except AuthenticationFailed:
        raise StoreError(
            f"the store at {store.home} was not made by `sandbox demo` (its {ADMIN!r} does not use the demo password)",
            "point SANDBOX_HOME (or --home) at an empty folder for the demo",
        ) from None


def _people(store: Store, admin: Actor, report: DemoReport) -> None:
    banks = store.banks()
    users = store.users()
    for b in BANKS:
        if b.id not in banks:
            store.create_bank(b.id, b.name, by=admin.name)
            report.created.append(f"bank {b.id}")
        if store.quota_is_default(b.id):  # the demo's allocation, unless an admin has set one
            store.set_quota(b.id, b.quota_s, by=admin.name)
        if b.scientist not in users:
            store.add_user(b.scientist, "scientist", DEMO_PASSWORD, bank=b.id, by=admin.name)
            report.created.append(f"scientist {b.scientist} ({b.id})")
        elif users[b.scientist].get("bank") != b.id:
            raise StoreError(
                f"user {b.scientist} exists but works for {users[b.scientist].get('bank')}, not {b.id}",
                "use an empty folder for the demo store",
            )
    if REVIEWER not in users:
        store.add_user(REVIEWER, "reviewer", DEMO_PASSWORD, by=admin.name)
        report.created.append(f"reviewer {REVIEWER}")


# -- use cases ------------------------------------------------------------------------
def _finished(ctx, usecase: str) -> list:
    return [r for r in ctx.runs(usecase) if r.info.status == "FINISHED"]


def _api(usecase: str, *names: str) -> Any | None:
    import importlib

    try:
        mod = importlib.import_module(f"usecases.{usecase}")
    except ImportError:
        return None
    return mod if all(callable(getattr(mod, n, None)) for n in names) else None


def _run_id(result: Any) -> str | None:
    rid = getattr(result, "run_id", None)
    if rid is None and isinstance(result, dict):
        rid = result.get("run_id")
    return rid


def _seed_fraud(ctx, b: DemoBank, sizes: dict, progress) -> str | None:
    fraud = _api("fraud", "simulate", "train")
    if fraud is None:
        raise LookupError("usecases.fraud has no simulate/train yet")
    fraud.simulate(
        ctx,
        preset="hk",
        customers=sizes["customers"],
        days=sizes["days"],
        seed=b.seed,
        hardness=b.fraud_hardness,
        progress=progress,
    )
    return _run_id(fraud.train(ctx, progress=progress))


def _seed_risk(ctx, b: DemoBank, sizes: dict, progress) -> str | None:
    risk = _api("risk", "simulate", "train")
    if risk is None:
        raise LookupError("usecases.risk has no simulate/train yet")
    risk.simulate(
        ctx,
        applicants=sizes["applicants"],
        vintages=sizes["vintages"],
        seed=b.seed,
        bias=b.risk_bias,
        drift=b.risk_drift,
        progress=progress,
    )
    return _run_id(risk.train(ctx, progress=progress))


def _seed_chat(ctx, b: DemoBank, sizes: dict, progress) -> str | None:
    chat = _api("chat", "ingest", "evaluate", "documents")
    corpus = None
    try:
        from usecases.chat import corpus
    except ImportError:
        pass
    if chat is None or corpus is None:
        raise LookupError("usecases.chat has no ingest/evaluate/corpus yet")
    if not chat.documents(ctx):
        folder = ctx.path("chat", "corpus", create=True)
        paths = corpus.write_corpus(folder, ctx.bank)
        if b.id == BANKS[0].id:  # the first demo bank is bilingual: its Traditional Chinese policies too
            from usecases.chat.corpus_zh import write_corpus_zh

            paths += write_corpus_zh(folder, ctx.bank)
        chat.ingest(ctx, paths, progress=progress)
    # The default backend only: the side-by-side of every backend is `sandbox chat eval` / bench/chat.py.
    return _run_id(chat.evaluate(ctx, backends=[chat.default_backend()], progress=progress))


SEEDERS: dict[str, Callable] = {"fraud": _seed_fraud, "risk": _seed_risk, "chat": _seed_chat}


def _risk_passes(run) -> bool:
    """The sandbox bar for credit risk: XGBoost Gini and KS >= 0.40 out of time, no fairness or PSI flags."""
    m = run.data.metrics
    return (
        m.get("xgboost_gini", 0) >= 0.40
        and m.get("xgboost_ks", 0) >= 0.40
        and not m.get("fairness_flag_count", 0)
        and not m.get("psi_flag_count", 0)
    )


def _reviews(store: Store, report: DemoReport) -> None:
    """The reviewer signs off the demo's risk runs: approved when they meet the bar, else changes requested
    naming what failed (once; a run already reviewed keeps its decision)."""
    rita = store.actor(REVIEWER)
    for b in BANKS:
        ctx = open_workspace(b.id, rita, store)
        runs = _finished(ctx, "risk")
        book = ctx.read_ledger()  # the sandbox's record of reviews, not the runs' tags
        if not runs or any(book.review(r.info.run_id) for r in runs):
            continue
        run, m = runs[0], runs[0].data.metrics
        if _risk_passes(run):
            decision, comment = (
                "approved",
                (
                    f"Gini {m['xgboost_gini']:.2f} and KS {m['xgboost_ks']:.2f} out of time; "
                    "no fairness or stability flags. Model card complete."
                ),
            )
        else:
            problems = []
            if m.get("fairness_flag_count"):
                problems.append(
                    f"{m['fairness_flag_count']:.0f} fairness flag(s): investigate approval and error rates "
                    "by age band and sex"
                )
            if m.get("psi_flag_count"):
                problems.append(
                    f"{m['psi_flag_count']:.0f} feature(s) shifted (PSI >= 0.10): recalibrate on recent vintages"
                )
            if m.get("xgboost_gini", 0) < 0.40 or m.get("xgboost_ks", 0) < 0.40:
                problems.append("Gini or KS below 0.40 out of time")
            decision, comment = "changes_requested", "; ".join(problems) + "."
        out = ctx.sign_off(run.info.run_id, decision, comment)
        report.reviews.append({"bank": b.id, "usecase": "risk", **out})


# Issue 14's lifecycle on demo day: what the reviewer does with each bank's newest version (when its gates pass).
LIFECYCLE_PLAN: dict[tuple[str, str], str] = {("peak-bank", "risk"): "changes_requested"}  # else: champion
APPROVAL_NOTES = {
    "fraud": "Gates passed; held-out metrics, model card and fairness tables checked.",
    "risk": "Gates passed; held-out metrics, model card and fairness tables checked.",
    "chat": "Gates passed; QA-set correctness, refusals, citations and injection resistance checked.",
}
SMALL_DATA_GATES = {"average_precision": 0.0, "card_precision_at_100": 0.0}  # fraud floors need the full profile's data


def _lifecycle(store: Store, report: DemoReport, profile: str) -> None:
    """Each bank's newest fraud, risk and chat version through the lifecycle, once: a version that passed its gates is
    submitted and approved by the reviewer and promoted to champion (peak-bank's risk one gets a change request
    instead, left pending); one that failed a gate (junk-bay-bank's biased risk data) stays a candidate. A version
    already past `candidate` is left as it is (idempotent)."""
    from sandbox import lifecycle

    rita = store.actor(REVIEWER)
    for b in BANKS:
        ctx = open_workspace(b.id, store.actor(b.scientist), store)
        rev = open_workspace(b.id, rita, store)
        for usecase in lifecycle.LIFECYCLE_USECASES:
            listed = lifecycle.versions(ctx, usecase)
            if not listed or listed[-1].stage != "candidate":
                continue
            mv, plan = listed[-1], LIFECYCLE_PLAN.get((b.id, usecase), "champion")
            note = ""
            if not mv.gates_passed:
                note = "fails its gates: " + "; ".join(g.why for g in mv.gates if not g.passed)
            else:
                lifecycle.submit(ctx, usecase, mv.version, comment="demo: ready for review")
                if plan == "changes_requested":
                    mv = lifecycle.review(
                        rev,
                        usecase,
                        mv.version,
                        "changes_requested",
                        "Score PSI is rising on recent vintages: recalibrate on the latest six months "
                        "and resubmit with the stability report.",
                    )
                else:
                    lifecycle.review(
                        rev,
                        usecase,
                        mv.version,
                        "approved",
                        APPROVAL_NOTES.get(usecase, APPROVAL_NOTES["fraud"]),
                    )
                    mv = lifecycle.promote(ctx, usecase, mv.version, comment="demo: approved by the HKMA reviewer")
                report.reviews.append(
                    {
                        "bank": b.id,
                        "usecase": usecase,
                        "run_id": mv.run_id,
                        "status": mv.review["decision"],
                        "by": mv.review["by"],
                    }
                )
            report.lifecycle.append(
                {"bank": b.id, "usecase": usecase, "version": mv.version, "stage": mv.stage, "note": note}
            )


def _small_data_gates(store: Store, profile: str) -> None:
    """Below the full profile the fraud data are too small for the sandbox's fraud floors (Card Precision@100 counts
    100 cards a day out of a few hundred customers): the admin opens them, before training, for every demo bank."""
    if profile == "full":
        return
    from sandbox import lifecycle

    admin = store.actor(ADMIN)
    for b in BANKS:
        ctx = open_workspace(b.id, admin, store)
        if {g.name: g.threshold for g in lifecycle.current_gates(ctx, "fraud")} != SMALL_DATA_GATES:
            lifecycle.set_gates(ctx, "fraud", SMALL_DATA_GATES)


def seed(
    store: Store | None = None,
    profile: str = "full",
    log: Callable[[str], None] = print,
    usecases: tuple[str, ...] = USECASE_STEPS,
    banks: tuple[str, ...] | None = None,
) -> DemoReport:
    """Seed the demo banks (idempotent). Use-case failures that are user-level errors are reported, not raised."""
    store = store or Store()
    if profile not in PROFILES:
        from sandbox import InvalidInput

        raise InvalidInput("profile", f"{profile!r} is not a demo profile", f"use one of {', '.join(PROFILES)}")
    t0 = time.perf_counter()
    report = DemoReport(home=str(store.home), profile=profile)
    admin = _admin(store, report)
    _people(store, admin, report)
    _small_data_gates(store, profile)
    sizes = PROFILES[profile]
    for b in BANKS:
        if banks is not None and b.id not in banks:
            continue
        ctx = open_workspace(b.id, store.actor(b.scientist), store)
        for usecase in usecases:
            t = time.perf_counter()
            if _finished(ctx, usecase):
                report.steps.append(Step(b.id, usecase, "skipped", "a finished run exists"))
                log(f"{b.id} {usecase}: already seeded, skipped")
                continue

            def progress(fraction: float, message: str = "", _b=b.id, _u=usecase) -> None:
                if message:
                    log(f"{_b} {_u}: {fraction:4.0%} {message}")

            log(f"{b.id} {usecase}: seeding ({profile})")
            try:
                run_id = SEEDERS[usecase](ctx, b, sizes, progress)
            except LookupError as err:
                report.steps.append(Step(b.id, usecase, "unavailable", str(err)))
                log(f"{b.id} {usecase}: skipped, {err}")
                continue
            except SandboxError as err:
                report.steps.append(Step(b.id, usecase, "failed", str(err), time.perf_counter() - t))
                log(f"{b.id} {usecase}: FAILED: {err}")
                continue
            report.steps.append(Step(b.id, usecase, "seeded", "", round(time.perf_counter() - t, 1), run_id))
            log(f"{b.id} {usecase}: done in {time.perf_counter() - t:.0f} s")
    try:
        _lifecycle(store, report, profile)
        _reviews(store, report)
    except NotFound:
        pass
    report.wall_s = time.perf_counter() - t0
    return report


def admin_credentials() -> tuple[str, str]:
    """The demo admin's sign-in, for the demo's own MLflow server process (a demo store only)."""
    return ADMIN, DEMO_PASSWORD


def describe(d: dict, port: int = 8501, mlflow_port: int = 5000, serve: bool = True) -> str:
    """The human summary `sandbox demo` prints: what was seeded, the URLs and the demo credentials."""
    lines = [f"Demo store: {d['home']} (profile {d['profile']}, {d['wall_s']:.0f} s)"]
    for s in d["steps"]:
        extra = f" ({s['wall_s']:.0f} s)" if s["status"] == "seeded" else (f": {s['detail']}" if s["detail"] else "")
        lines.append(f"  {s['bank']:<14} {s['usecase']:<6} {s['status']}{extra}")
    for r in d["reviews"]:
        lines.append(f"  review: {r['bank']} {r['usecase']} run {r['run_id'][:8]} {r['status']} by {r['by']}")
    for m in d.get("lifecycle", []):
        lines.append(
            f"  model:  {m['bank']:<14} {m['usecase']:<6} v{m['version']} {m['stage']}"
            + (f" ({m['note']})" if m.get("note") else "")
        )
    if serve:
        lines += [
            "",
            f"App:       http://127.0.0.1:{port}",
            f"MLflow:    http://127.0.0.1:{mlflow_port}  (signed in, per-bank permissions: each user's MLflow password is "
            "printed by `SANDBOX_USER=<user> sandbox server token`)",
        ]
    lines += ["", "Demo credentials (demo store only):"]
    for c in d["credentials"]:
        lines.append(f"  {c['user']:<7} {c['role']:<10} {c['bank'] or 'all banks':<14} password: {c['password']}")
    if not d["ok"]:
        lines.append("\nSome steps failed (see above); the app still serves what was seeded.")
    return "\n".join(lines)
