"""`sandbox api` with the clients banks already use: the official `openai` client and LangChain's ChatOpenAI
against a real server (one per module, a subprocess on a free port), keys scoped and refused as they should be,
and the chat's `openai` backend calling a real sandbox API over HTTP (no fake endpoint)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import openai
import pytest
from cli_forkserver_client import run_cli

from sandbox import Store, open_workspace
from sandbox.apikeys import KeyStore

REPO = Path(__file__).resolve().parent.parent
PASSWORD = "correct-horse-9"  # this module's own store (a world of its own: a server over it)
BANK_A, BANK_B = "harbour-bank", "peak-bank"
DOCS = {
    "card-disputes.md": (
        "# Card Disputes Policy\n\nHarbour Bank\n\n"
        "1.1 A cardholder may raise a dispute within 47 days from the statement date.\n\n"
        "1.2 The Card Disputes Unit acknowledges every dispute in writing within 3 business days.\n"
    ),
    "complaints.txt": (
        "Complaint Handling Policy\n\nHarbour Bank\n\n"
        "2.1 The Bank gives the customer a final response within 33 days of receipt.\n\n"
        "2.3 Complaint records are kept for 8 years after the case is closed.\n"
    ),
}
QUESTION = "How many days does a cardholder have to raise a dispute?"
TXN = {
    "timestamp": "2026-03-01T10:00:00",
    "customer_id": 7,
    "terminal_id": 12,
    "amount": 880.0,
    "channel": "card_present",
}


@dataclass
class World:
    store: Store
    url: str
    proc: subprocess.Popen
    keys: dict[str, str]
    log: Path

    @property
    def base(self) -> str:
        return f"{self.url}/v1"

    def client(self, who: str = "alice", **kw) -> openai.OpenAI:
        return openai.OpenAI(base_url=self.base, api_key=self.keys[who], max_retries=0, timeout=120, **kw)

    def post(self, path: str, who: str, body) -> httpx.Response:
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        return httpx.post(
            f"{self.base}{path}",
            content=data,
            timeout=120,
            headers={"Authorization": f"Bearer {self.keys[who]}", "Content-Type": "application/json"},
        )

    def get(self, path: str, who: str, **params) -> httpx.Response:
        return httpx.get(
            f"{self.base}{path}", params=params, timeout=120, headers={"Authorization": f"Bearer {self.keys[who]}"}
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _keys(store: Store) -> dict[str, str]:
    ks = KeyStore(store)
    out = {}
    for who, kw in {
        "alice": {"rate_per_min": 100_000},
        "bob": {},
        "rita": {},
        "slow": {"rate_per_min": 3},
        "revoked": {},
        "expired": {},
    }.items():
        user = who if who in ("alice", "bob", "rita") else "alice"
        rec, out[who] = ks.create(store.actor(user), name=who, **kw)
        if who == "revoked":
            ks.revoke(store.actor(user), rec.id)
        if who == "expired":  # a key made 91 days ago: its record, aged
            data = json.loads(ks.path.read_text())
            data["keys"][rec.id]["expires"] = "2020-01-01T00:00:00+00:00"
            ks.path.write_text(json.dumps(data))
    return out


def _fraud_champion(store: Store) -> None:
    from lifecycle_util import lenient_gates, make_champion

    import usecases.fraud as fraud

    ctx = open_workspace(BANK_A, store.actor("alice"), store)
    lenient_gates(store, BANK_A, "fraud")
    fraud.simulate(ctx, preset="hk", customers=300, days=40, seed=3)
    fraud.train(ctx, model="xgboost", rounds=30)
    make_champion(store, ctx, "fraud")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A store of two banks; harbour-bank has documents and a fraud champion; a server over it, started first
    (its start overlaps the ingest and the training), serving the extractive generator as `sandbox/extractive`
    so the bank's `openai` backend has a real OpenAI-compatible endpoint: this same kind of server."""
    from usecases import chat

    home = tmp_path_factory.mktemp("api-home")
    store = Store(home)
    store.init("root", PASSWORD)
    for bank in (BANK_A, BANK_B):
        store.create_bank(bank)
    store.add_user("alice", "scientist", PASSWORD, bank=BANK_A)
    store.add_user("bob", "scientist", PASSWORD, bank=BANK_B)
    store.add_user("rita", "reviewer", PASSWORD)
    keys = _keys(store)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(
        os.environ,
        SANDBOX_HOME=str(home),
        SANDBOX_CHAT_OPENAI_URL=f"{url}/v1",
        SANDBOX_CHAT_OPENAI_MODEL="sandbox/extractive",
        SANDBOX_CHAT_OPENAI_API_KEY=keys["alice"],
    )
    for var in ("SANDBOX_USER", "SANDBOX_PASSWORD", "SANDBOX_TRACKING_URI", "SANDBOX_CHAT_BACKEND"):
        env.pop(var, None)
    log = home / "api.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "apps.cli", "api", "--port", str(port), "--serve-llm", "extractive"],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        folder = home / "docs"
        folder.mkdir()
        for name, text in DOCS.items():
            (folder / name).write_text(text, encoding="utf-8")
        chat.ingest(open_workspace(BANK_A, store.actor("alice"), store), [folder])
        _fraud_champion(store)
        _wait_healthy(url, proc, log)
        yield World(store, url, proc, keys, log)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"sandbox api exited ({proc.returncode}): {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"sandbox api did not answer /health in {timeout:.0f} s: {log.read_text()[-2000:]}")


def _extension(obj) -> dict:
    return (obj.model_extra or {}).get("sandbox") or {}


# -- the openai client --------------------------------------------------------------
def test_openai_client_lists_only_the_keys_own_assistant(world):
    ids = [m.id for m in world.client("alice").models.list()]
    assert f"{BANK_A}/assistant" in ids and f"{BANK_B}/assistant" not in ids
    assert world.client("alice").models.retrieve(f"{BANK_A}/assistant").owned_by == BANK_A


def test_openai_client_gets_a_cited_grounded_answer(world):
    resp = world.client("alice").chat.completions.create(
        model=f"{BANK_A}/assistant", messages=[{"role": "user", "content": QUESTION}]
    )
    text = resp.choices[0].message.content
    ext = _extension(resp)
    assert "47 days" in text and "[1]" in text and resp.choices[0].finish_reason == "stop"
    assert not ext["refused"] and ext["grounded"] and ext["citations"][0]["document"] == "card-disputes.md"
    assert ext["guardrails"]["question"]["blocked"] is False and ext["trace_id"]


def test_openai_client_streams_the_same_checked_answer(world):
    client = world.client("alice")
    whole = client.chat.completions.create(
        model=f"{BANK_A}/assistant", messages=[{"role": "user", "content": QUESTION}]
    )
    chunks = list(
        client.chat.completions.create(
            model=f"{BANK_A}/assistant", stream=True, messages=[{"role": "user", "content": QUESTION}]
        )
    )
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len(chunks) > 3 and streamed == whole.choices[0].message.content
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop" and _extension(last)["citations"]


def test_a_refusal_is_an_ordinary_answer(world):
    resp = world.client("alice").chat.completions.create(
        model=f"{BANK_A}/assistant", messages=[{"role": "user", "content": "What is the longest tenor of a car loan?"}]
    )
    assert resp.choices[0].finish_reason == "stop" and resp.choices[0].message.content
    assert _extension(resp)["refused"] is True and not _extension(resp)["citations"]


def test_langchain_chat_openai_invokes_and_streams(world):
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(model=f"{BANK_A}/assistant", base_url=world.base, api_key=world.keys["alice"], max_retries=0)
    msg = llm.invoke(QUESTION)
    assert "47 days" in msg.content
    streamed = "".join(part.content for part in llm.stream(QUESTION))
    assert streamed == msg.content


# -- keys and the door ------------------------------------------------------------------
def test_a_scientists_key_cannot_reach_another_banks_assistant_or_models(world):
    client = world.client("alice")
    with pytest.raises(openai.PermissionDeniedError, match="reaches bank harbour-bank"):
        client.chat.completions.create(model=f"{BANK_B}/assistant", messages=[{"role": "user", "content": QUESTION}])
    with pytest.raises(openai.PermissionDeniedError):
        client.models.retrieve(f"{BANK_B}/assistant")
    assert world.post("/fraud/score", "alice", {"bank": BANK_B, "transaction": TXN}).status_code == 403
    assert world.get("/runs", "alice", bank=BANK_B).status_code == 403
    assert world.get("/runs", "bob", bank=BANK_A).status_code == 403
    denied = [
        e
        for e in world.store.platform_audit().entries()
        if e.get("event") == "access.denied" and e.get("data", e).get("bank") == BANK_B
    ]
    assert denied


def test_a_reviewers_key_reads_runs_but_cannot_ask_score_or_explain(world):
    runs = world.get("/runs", "rita", bank=BANK_A)
    assert runs.status_code == 200 and runs.json()["data"] and all(r["bank"] == BANK_A for r in runs.json()["data"])
    assert world.client("rita").models.list().data == []
    with pytest.raises(openai.PermissionDeniedError, match="chat.ask"):
        world.client("rita").chat.completions.create(
            model=f"{BANK_A}/assistant", messages=[{"role": "user", "content": QUESTION}]
        )
    for path, body in (
        ("/fraud/score", {"bank": BANK_A, "transaction": TXN}),
        ("/risk/explain", {"bank": BANK_A, "applicant": {"income": 1}}),
    ):
        r = world.post(path, "rita", body)
        assert r.status_code == 403 and r.json()["error"]["type"] == "permission_error"


def test_revoked_expired_and_made_up_keys_are_refused(world):
    for who, word in (("revoked", "revoked"), ("expired", "expired")):
        with pytest.raises(openai.AuthenticationError, match=word):
            world.client(who).models.list()
    forged = world.keys["alice"][:-4] + "AAAA"
    with pytest.raises(openai.AuthenticationError, match="not valid"):
        openai.OpenAI(base_url=world.base, api_key=forged, max_retries=0).models.list()
    r = httpx.get(f"{world.base}/models")
    assert r.status_code == 401 and "Authorization: Bearer" in r.json()["error"]["message"]


def test_a_key_over_its_rate_limit_gets_429(world):
    codes = [world.get("/models", "slow").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    r = world.get("/models", "slow")
    assert r.headers["Retry-After"] and r.json()["error"]["code"] == "rate_limit_exceeded"


def test_errors_name_the_field_and_the_fix(world):
    r = world.post("/chat/completions", "alice", {"model": f"{BANK_A}/assistant"})
    err = r.json()["error"]
    assert r.status_code == 400 and err["param"] == "messages" and '"role": "user"' in err["message"]
    r = world.post("/chat/completions", "alice", b"{not json")
    assert r.status_code == 400 and r.json()["error"]["param"] == "body"
    r = world.post("/chat/completions", "alice", {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 404 and f"{BANK_A}/assistant" in r.json()["error"]["message"]
    r = world.post("/fraud/score", "alice", {"transactions": [TXN, {**TXN, "amount": "lots"}]})
    assert r.status_code == 400 and r.json()["error"]["param"] == "transactions[1].amount"
    r = world.post("/risk/explain", "alice", {"applicant": {"income": 1}})
    assert r.status_code in (400, 404) and "sandbox" in r.json()["error"]["message"]


# -- fraud, audit, the openai backend ----------------------------------------------------
def test_fraud_score_one_and_a_batch_with_top_reasons(world):
    one = world.post("/fraud/score", "alice", {"transaction": TXN, "top": 2}).json()
    assert len(one["data"]) == 1 and 0 <= one["data"][0]["score"] <= 1 and len(one["data"][0]["reasons"]) <= 2
    assert one["model"]["run_id"] and one["bank"] == BANK_A
    assert one["model"]["model_version"] and one["model"]["model_stage"] == "champion"  # which version scored
    batch = [{**TXN, "txn_id": i, "amount": 100.0 + i} for i in range(20)]
    many = world.post("/fraud/score", "alice", {"transactions": batch}).json()
    assert [r["txn_id"] for r in many["data"]] == list(range(20))


def test_every_call_is_in_the_banks_audit_chain(world):
    world.get("/models", "alice")
    world.post("/fraud/score", "alice", {"transaction": TXN})
    calls = [e for e in world.store.bank_audit(BANK_A).entries() if e.get("event") == "api.call"]
    paths = {e.get("data", e).get("path") for e in calls}
    assert {"/v1/fraud/score", "/v1/chat/completions"} <= paths
    scored = [(e["actor"], e["data"]["status"]) for e in calls if e["data"]["path"] == "/v1/fraud/score"]
    assert ("alice", 200) in scored and ("rita", 403) in scored  # the reviewer's refused call is on record too
    assert all(e["data"]["key_id"] for e in calls)
    assert world.store.bank_audit(BANK_A).verify().ok


def test_the_chat_openai_backend_calls_a_sandbox_api_over_http(world, monkeypatch):
    from usecases import chat

    monkeypatch.setenv("SANDBOX_CHAT_OPENAI_URL", world.base)
    monkeypatch.setenv("SANDBOX_CHAT_OPENAI_MODEL", "sandbox/extractive")
    monkeypatch.setenv("SANDBOX_CHAT_OPENAI_API_KEY", world.keys["alice"])
    ctx = open_workspace(BANK_A, world.store.actor("alice"), world.store)
    ans = chat.ask(ctx, QUESTION, backend="openai")
    assert ans.model_id == "openai:sandbox/extractive" and ans.fallback is None and "47 days" in ans.answer
    # the server's own assistant with the openai backend: it calls the served generator over HTTP too
    resp = world.client("alice").chat.completions.create(
        model=f"{BANK_A}/assistant",
        extra_body={"sandbox": {"backend": "openai"}},
        messages=[{"role": "user", "content": QUESTION}],
    )
    assert _extension(resp)["model_id"] == "openai:sandbox/extractive" and "47 days" in resp.choices[0].message.content
    # the generator's endpoint is itself behind a key: bob's bank key is scoped, a reviewer's refused
    with pytest.raises(openai.PermissionDeniedError):
        world.client("rita").chat.completions.create(
            model="sandbox/extractive", messages=[{"role": "user", "content": "hi"}]
        )


# -- the command ----------------------------------------------------------------------
def test_api_key_commands_show_the_key_once_and_store_only_its_hash(world):
    env = dict(os.environ, SANDBOX_HOME=str(world.store.home), SANDBOX_USER="bob", SANDBOX_PASSWORD=PASSWORD)

    def run(*args: str) -> subprocess.CompletedProcess:
        return run_cli(env, *args, timeout=120)

    made = run("api-key", "create", "--name", "cli-test", "--days", "7", "--json")
    assert made.returncode == 0, made.stderr
    rec = json.loads(made.stdout)
    assert rec["bank"] == BANK_B and rec["key"].startswith("sbx_")
    stored = (world.store.state / "api-keys.json").read_text()
    assert rec["key"] not in stored and rec["key"].rsplit("_", 1)[1] not in stored
    assert oct((world.store.state / "api-keys.json").stat().st_mode & 0o777) == "0o600"
    listed = run("api-key", "list", "--json")
    assert rec["id"] in listed.stdout and rec["key"] not in listed.stdout
    assert run("api-key", "revoke", rec["id"]).returncode == 0
    refused = httpx.get(f"{world.base}/models", headers={"Authorization": f"Bearer {rec['key']}"})
    assert refused.status_code == 401 and "revoked" in refused.json()["error"]["message"]
    wide = run("api", "--host", "0.0.0.0", "--port", "1")
    assert wide.returncode == 2 and "loopback" in wide.stderr and "Traceback" not in wide.stderr


def test_the_server_stops_cleanly_on_sigterm(world):
    world.proc.send_signal(signal.SIGTERM)
    assert world.proc.wait(30) == 0
    port = int(world.url.rsplit(":", 1)[1])
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))  # the port is free again
    assert "Traceback" not in world.log.read_text()
