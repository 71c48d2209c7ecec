"""`sandbox api` on a warm service beside the in-process calls it wraps, measured in one run.

A throwaway store in a temporary folder (an admin, one bank, its scientist) gets the bank's synthetic policy
library (ingested) and a fraud champion (simulated, trained, approved, promoted). `sandbox api` is started over it
as a subprocess on a free port (127.0.0.1) with the extractive backend, and warmed with a few calls. Then, with the
bench process as the client (the official `openai` client for chat, one keep-alive `httpx` client for fraud):

    chat, sequential      N questions of the bank's QA set (answerable and not) over HTTP, and the same questions
                          through `usecases.chat.ask` in this process (warm: the peer), interleaved in rounds
    fraud, sequential     M single transactions over HTTP (POST /v1/fraud/score, top reasons), and the same through
                          the bank's `StreamingScorer.score` in this process (loaded once: the peer)
    8 concurrent clients  threads, each its own connection, for chat and for fraud: requests a second over all,
                          and p99 under that load
    cold CLI              one `sandbox chat ask BANK QUESTION` subprocess, start to answer: what a user waited for
                          before the service existed

Figures: p50_ms / p99_ms (client-side, whole call), requests_per_s, errors (any non-2xx or exception; must be 0),
ratios HTTP/in-process (> 1: what the HTTP face costs) and cold CLI / warm HTTP. Targets (issue 15): chat p50 over
HTTP <= 300 ms (extractive backend), fraud p99 over HTTP <= 5 ms, errors 0. The process exits 1 on any error.

Usage: python bench/api.py [--quick] [--json] [--chat N] [--fraud M] [--seconds S]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
for _var, _val in (
    ("MLFLOW_DISABLE_TELEMETRY", "true"),
    ("HF_HUB_OFFLINE", "1"),
    ("TRANSFORMERS_OFFLINE", "1"),
    ("SANDBOX_CHAT_BACKEND", "extractive"),
):
    os.environ.setdefault(_var, _val)

PASSWORD = "bench-password-1"
BANK = "harbour-bank"
CLIENTS = 8
TARGET_CHAT_P50_MS, TARGET_FRAUD_P99_MS = 300.0, 5.0


def log(msg: str) -> None:
    print(f"[bench/api] {msg}", file=sys.stderr, flush=True)


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return round(s[min(len(s) - 1, int(q / 100 * len(s)))], 3) if s else float("nan")


def summary(ms: list[float]) -> dict:
    return {"n": len(ms), "p50_ms": pct(ms, 50), "p99_ms": pct(ms, 99), "mean_ms": round(sum(ms) / max(len(ms), 1), 3)}


# -- the world -------------------------------------------------------------------------
def build(home: Path, quick: bool):
    """Store, bank, scientist, policy library ingested, fraud champion; returns (store, ctx, key)."""
    from sandbox import Store, lifecycle, open_workspace
    from sandbox.apikeys import KeyStore
    from usecases import chat, fraud

    store = Store(home)
    store.init("root", PASSWORD)
    store.create_bank(BANK)
    store.add_user("alice", "scientist", PASSWORD, bank=BANK)
    store.add_user("rita", "reviewer", PASSWORD)
    ctx = open_workspace(BANK, store.actor("alice"), store)
    t0 = time.perf_counter()
    chat.ingest(ctx, chat.write_policy_library(ctx, home / "library"))
    log(f"ingested the policy library in {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    lifecycle.set_gates(
        open_workspace(BANK, store.actor("root"), store),
        "fraud",
        {"average_precision": 0.0, "card_precision_at_100": 0.0},
    )
    fraud.simulate(ctx, preset="hk", customers=300 if quick else 1000, days=40 if quick else 60, seed=3)
    fraud.train(ctx, model="xgboost")
    version = lifecycle.versions(ctx, "fraud")[-1].version
    lifecycle.submit(ctx, "fraud", version, comment="bench")
    lifecycle.review(
        open_workspace(BANK, store.actor("rita"), store), "fraud", version, "approved", "bench: gates open"
    )
    lifecycle.promote(ctx, "fraud", version)
    log(f"fraud champion v{version} in {time.perf_counter() - t0:.1f} s")
    _, key = KeyStore(store).create(store.actor("alice"), name="bench", rate_per_min=100_000)
    return store, ctx, key


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(home: Path, port: int) -> subprocess.Popen:
    env = dict(os.environ, SANDBOX_HOME=str(home))
    for var in ("SANDBOX_USER", "SANDBOX_PASSWORD", "SANDBOX_TRACKING_URI"):
        env.pop(var, None)
    return subprocess.Popen(
        [sys.executable, "-m", "apps.cli", "api", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(home / "api.log", "wb"),
        start_new_session=True,
    )


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 300.0) -> float:
    import httpx

    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if proc.poll() is not None:
            raise SystemExit(f"sandbox api exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return time.perf_counter() - t0
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("sandbox api did not start")


def stop_server(proc: subprocess.Popen) -> float:
    t0 = time.perf_counter()
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    return time.perf_counter() - t0


# -- measurements ----------------------------------------------------------------------
class Tally:
    """Errors over every phase (a non-2xx answer or an exception): the error-rate figure."""

    def __init__(self) -> None:
        self.requests = 0
        self.errors: list[str] = []
        self._lock = threading.Lock()

    def add(self, ok: bool, what: str = "") -> None:
        with self._lock:
            self.requests += 1
            if not ok:
                self.errors.append(what[:300])


def questions(quick: bool) -> list[str]:
    from usecases.chat.corpus import qa_set

    qa = [q for q in qa_set(BANK) if q.kind in ("fact", "unanswerable")]
    return [q.question for q in qa[: 12 if quick else 40]]


def chat_http(client, q: str, tally: Tally) -> float:
    t0 = time.perf_counter()
    try:
        resp = client.chat.completions.create(model=f"{BANK}/assistant", messages=[{"role": "user", "content": q}])
        tally.add(bool(resp.choices[0].message.content))
    except Exception as err:  # noqa: BLE001 - counted, reported
        tally.add(False, f"chat: {type(err).__name__}: {err}")
    return (time.perf_counter() - t0) * 1000


def fraud_http(http, url: str, key: str, txn: dict, tally: Tally) -> float:
    t0 = time.perf_counter()
    try:
        r = http.post(f"{url}/v1/fraud/score", json={"transaction": txn}, headers={"Authorization": f"Bearer {key}"})
        tally.add(r.status_code == 200, f"fraud: HTTP {r.status_code} {r.text[:200]}")
    except Exception as err:  # noqa: BLE001
        tally.add(False, f"fraud: {type(err).__name__}: {err}")
    return (time.perf_counter() - t0) * 1000


def transactions(n: int, first_id: int = 0, second: int = 0, fixed: bool = False) -> list[dict]:
    """Plausible transactions after the simulated history, in time order (the scorer's contract): one a second from
    `second` on, or all at that second (`fixed`: concurrent clients, whose calls may overtake one another)."""
    from datetime import datetime, timedelta

    base = datetime(2025, 4, 1)
    return [
        {
            "txn_id": first_id + i,
            "timestamp": (base + timedelta(seconds=second + (0 if fixed else i))).isoformat(),
            "customer_id": (first_id + i) * 7 % 300,
            "terminal_id": (first_id + i) * 13 % 500,
            "amount": 20.0 + (first_id + i) * 37 % 4000,
            "channel": ("card_present", "card_not_present", "fps")[i % 3],
        }
        for i in range(n)
    ]


def sequential(ctx, url: str, key: str, qs: list[str], n_fraud: int, rounds: int, tally: Tally) -> dict:
    """HTTP and in-process, interleaved round by round so the machine's noise hits both alike."""
    import httpx
    import openai

    from usecases import chat, fraud

    client = openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=120)
    scorer = fraud.load_scorer(ctx)
    http = httpx.Client(timeout=30)
    for q in qs[:3]:  # warm both sides: the server's first question per bank loads its index and tracing
        chat_http(client, q, tally)
        chat.ask(ctx, q, backend="extractive")
    out = {"chat_http": [], "chat_inprocess": [], "fraud_http": [], "fraud_inprocess": []}
    txns = transactions(n_fraud * rounds + 50)  # the server's scorer and ours each see the same stream, in order
    for t in txns[:50]:
        fraud_http(http, url, key, t, tally)
        scorer.score(t, explain=True, top=4)
    pos = 50
    for _ in range(rounds):
        for q in qs:
            out["chat_http"].append(chat_http(client, q, tally))
            t0 = time.perf_counter()
            chat.ask(ctx, q, backend="extractive")
            out["chat_inprocess"].append((time.perf_counter() - t0) * 1000)
        for _ in range(n_fraud):
            out["fraud_http"].append(fraud_http(http, url, key, txns[pos], tally))
            t0 = time.perf_counter()
            scorer.score(txns[pos], explain=True, top=4)
            out["fraud_inprocess"].append((time.perf_counter() - t0) * 1000)
            pos += 1
    http.close()
    return {k: summary(v) for k, v in out.items()}


def concurrent(url: str, key: str, qs: list[str], seconds: float, tally: Tally) -> dict:
    """CLIENTS threads, each with its own connection, for `seconds` per kind: throughput and latency under load."""
    import httpx
    import openai

    res = {}
    for kind in ("chat", "fraud"):
        lat: list[float] = []
        lock = threading.Lock()
        stop = time.perf_counter() + seconds

        def work(i: int, kind: str = kind, stop: float = stop, lat: list = lat, lock=lock) -> None:
            client = openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=120)
            http = httpx.Client(timeout=30)
            txns, j = transactions(20_000, 100_000 * (i + 1), second=10 * 86_400, fixed=True), 0
            while time.perf_counter() < stop:
                ms = (
                    chat_http(client, qs[(i + j) % len(qs)], tally)
                    if kind == "chat"
                    else fraud_http(http, url, key, txns[j % len(txns)], tally)
                )
                j += 1
                with lock:
                    lat.append(ms)
            http.close()

        t0 = time.perf_counter()
        threads = [threading.Thread(target=work, args=(i,)) for i in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        res[kind] = {**summary(lat), "requests_per_s": round(len(lat) / wall, 2), "seconds": round(wall, 2)}
    return res


def cold_cli(home: Path, question: str) -> float:
    env = dict(os.environ, SANDBOX_HOME=str(home), SANDBOX_USER="alice", SANDBOX_PASSWORD=PASSWORD)
    t0 = time.perf_counter()
    r = subprocess.run(
        [sys.executable, "-m", "apps.cli", "chat", "ask", BANK, question, "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if r.returncode != 0:
        raise SystemExit(f"sandbox chat ask failed: {r.stderr[-500:]}")
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--quick", action="store_true", help="fewer calls and a smaller fraud data set (a few minutes on 2 cores)"
    )
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--chat", type=int, help="questions per round (default 12 quick, 40 full)")
    ap.add_argument("--fraud", type=int, help="single transactions per round (default 200 quick, 1000 full)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--seconds", type=float, help="seconds of 8-client load per kind (default 10 quick, 30 full)")
    a = ap.parse_args()
    n_fraud = a.fraud or (200 if a.quick else 1000)
    seconds = a.seconds or (10.0 if a.quick else 30.0)
    tally = Tally()
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        home = Path(tmp)
        store, ctx, key = build(home, a.quick)
        qs = questions(a.quick)[: a.chat] if a.chat else questions(a.quick)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        proc = start_server(home, port)
        try:
            startup_s = wait_healthy(url, proc)
            log(f"sandbox api ready in {startup_s:.1f} s (warm-up included)")
            seq = sequential(ctx, url, key, qs, n_fraud, a.rounds, tally)
            log("sequential done")
            conc = concurrent(url, key, qs, seconds, tally)
            log("concurrent done")
        finally:
            stop_s = stop_server(proc)
        cold_s = cold_cli(home, qs[0])
    report = figures(seq, conc, cold_s, startup_s, stop_s, tally, a, n_fraud, len(qs), seconds)
    if a.json:
        print(json.dumps(report, indent=2))
    else:
        print(human(report))
    return 1 if tally.errors else 0


def figures(
    seq: dict,
    conc: dict,
    cold_s: float,
    startup_s: float,
    stop_s: float,
    tally: Tally,
    a,
    n_fraud: int,
    n_q: int,
    seconds: float,
) -> dict:
    ch, ci, fh, fi = seq["chat_http"], seq["chat_inprocess"], seq["fraud_http"], seq["fraud_inprocess"]
    return {
        "setup": {
            "quick": a.quick,
            "questions": n_q,
            "rounds": a.rounds,
            "fraud_calls_per_round": n_fraud,
            "clients": CLIENTS,
            "load_seconds_per_kind": seconds,
            "backend": "extractive",
            "cpus": os.cpu_count(),
            "load_average_1m": round(os.getloadavg()[0], 2),
        },
        "chat_http": ch,
        "chat_inprocess": ci,
        "fraud_http": fh,
        "fraud_inprocess": fi,
        "chat_http_over_inprocess_p50": round(ch["p50_ms"] / ci["p50_ms"], 3),
        "fraud_http_over_inprocess_p99": round(fh["p99_ms"] / fi["p99_ms"], 3),
        "concurrent_8_clients": conc,
        "cold_cli_chat_ask_s": round(cold_s, 2),
        "cold_cli_over_warm_http_p50": round(cold_s * 1000 / ch["p50_ms"], 1),
        "server_startup_s": round(startup_s, 2),
        "server_stop_s": round(stop_s, 2),
        "requests": tally.requests,
        "errors": len(tally.errors),
        "error_rate": round(len(tally.errors) / max(tally.requests, 1), 6),
        "error_examples": tally.errors[:5],
        "targets": {
            "chat_http_p50_ms_le_300": ch["p50_ms"] <= TARGET_CHAT_P50_MS,
            "fraud_http_p99_ms_le_5": fh["p99_ms"] <= TARGET_FRAUD_P99_MS,
            "errors_0": not tally.errors,
        },
    }


def human(r: dict) -> str:
    c8 = r["concurrent_8_clients"]
    return "\n".join(
        [
            f"sandbox api vs in-process (extractive backend; {r['setup']['cpus']} CPUs, load {r['setup']['load_average_1m']})",
            f"  chat  p50/p99 ms: HTTP {r['chat_http']['p50_ms']:.1f}/{r['chat_http']['p99_ms']:.1f}  in-process "
            f"{r['chat_inprocess']['p50_ms']:.1f}/{r['chat_inprocess']['p99_ms']:.1f}  ratio p50 {r['chat_http_over_inprocess_p50']}",
            f"  fraud p50/p99 ms: HTTP {r['fraud_http']['p50_ms']:.2f}/{r['fraud_http']['p99_ms']:.2f}  in-process "
            f"{r['fraud_inprocess']['p50_ms']:.2f}/{r['fraud_inprocess']['p99_ms']:.2f}  ratio p99 {r['fraud_http_over_inprocess_p99']}",
            f"  8 clients: chat {c8['chat']['requests_per_s']} req/s (p99 {c8['chat']['p99_ms']:.0f} ms), "
            f"fraud {c8['fraud']['requests_per_s']} req/s (p99 {c8['fraud']['p99_ms']:.1f} ms)",
            f"  cold `sandbox chat ask`: {r['cold_cli_chat_ask_s']} s = {r['cold_cli_over_warm_http_p50']}x the warm HTTP p50",
            f"  requests {r['requests']}, errors {r['errors']} (rate {r['error_rate']})",
            f"  targets: {r['targets']}",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
