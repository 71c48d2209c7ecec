"""`sandbox api`: the HTTP face (FastAPI), OpenAI-compatible, beside the CLI and the web app.

    GET  /v1/models                 the assistants (`<bank>/assistant`) this key reaches
    POST /v1/chat/completions       a bank's assistant, as OpenAI's chat completions (`stream: true`: server-sent events)
    POST /v1/fraud/score            one transaction or a batch, scored by the bank's model, with the top reasons
    POST /v1/risk/explain           credit decisions with their adverse factors
    GET  /v1/runs                   read-only run summaries (what a reviewer reads)
    GET  /health                    liveness, no key needed

Every call carries `Authorization: Bearer sbx_...` (sandbox/apikeys.py). The key names a user; the call then goes
through the same door as the CLI (`open_workspace`, `ctx.require`, audited denials) and the same use-case functions
(`usecases.chat.ask`, `usecases.fraud.load_scorer`, `usecases.risk.explain`), so a key can do nothing its user could
not do at the CLI, and each call lands in the bank's audit chain (`api.call`) beside what the use case records itself.

The assistant's answer is computed whole (retrieval, scope check, generation, grounding, redaction) before a byte is
sent: a streamed answer is the same checked text in pieces, never text that could later fail the grounding check.
Its citations and guardrail verdicts travel in the extension field `sandbox` (on the last chunk when streaming);
a refusal is an ordinary answer (`finish_reason: "stop"`, `sandbox.refused: true`). Errors have OpenAI's shape
(`{"error": {"message", "type", "param", "code"}}`) and say what to fix.

The service keeps the chat pipeline (embedding model, each bank's index) and each bank's fraud scorer warm in this
process: that is the answer to the 8-second cold `sandbox chat ask`.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from sandbox import open_workspace, require
from sandbox.apikeys import ApiKey, KeyStore
from sandbox.errors import (
    AccessDenied,
    AuthenticationFailed,
    InvalidInput,
    NotFound,
    QuotaExceeded,
    SandboxError,
    StoreError,
)
from sandbox.store import Store

log = logging.getLogger("sandbox.api")
ASSISTANT = "assistant"
LLM_MODELS = ("extractive", "embedded")  # `--serve-llm`: a generator for another sandbox's `openai` backend
MAX_BODY = 1_000_000
MAX_BATCH = 10_000
AUTH_FAILURES_PER_MIN = 30  # per client address: more and further attempts get 429 unchecked (and unaudited)


class ApiError(Exception):
    """An error answered in OpenAI's shape."""

    def __init__(
        self,
        status: int,
        kind: str,
        message: str,
        param: str | None = None,
        code: str | None = None,
        headers: dict | None = None,
    ):
        super().__init__(message)
        self.status, self.kind, self.message, self.param, self.code = status, kind, message, param, code
        self.headers = headers or {}

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}}


def from_sandbox(err: SandboxError) -> ApiError:
    """The sandbox's own errors, which already carry their fix, as HTTP answers."""
    if isinstance(err, InvalidInput):
        return ApiError(400, "invalid_request_error", str(err), err.field, "invalid_value")
    if isinstance(err, AuthenticationFailed):
        return ApiError(401, "authentication_error", str(err), None, "invalid_api_key")
    if isinstance(err, AccessDenied):
        return ApiError(403, "permission_error", str(err), None, "access_denied")
    if isinstance(err, NotFound):
        return ApiError(404, "not_found_error", str(err), None, "not_found")
    if isinstance(err, QuotaExceeded):
        return ApiError(429, "insufficient_quota", str(err), None, "quota_exceeded")
    if isinstance(err, StoreError):
        return ApiError(503, "server_error", str(err), None, "store_unavailable")
    return ApiError(500, "server_error", str(err), None, "sandbox_error")


class Stream:
    """A streamed answer: its server-sent events, already computed and checked."""

    def __init__(self, events: Iterator[str]):
        self.events = events


def bad(field: str, problem: str, fix: str) -> ApiError:
    return from_sandbox(InvalidInput(field, problem, fix))


# -- rate limits ----------------------------------------------------------------
class RateLimiter:
    """A token bucket per key (capacity: a minute's worth, refilled continuously). In memory: one server process."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, per_min: int) -> float:
        """0 when the call may go; else the seconds until it may."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(per_min), now))
            tokens = min(float(per_min), tokens + (now - last) * per_min / 60.0)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) * 60.0 / per_min


class FailureWindow:
    """Failed key attempts per client address in the last minute (in memory): past the limit, refused unchecked."""

    def __init__(self) -> None:
        self._seen: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str | None, now: float) -> list[float]:
        return [t for t in self._seen.get(str(client), []) if now - t < 60.0]

    def record(self, client: str | None) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._seen) > 10_000:
                self._seen.clear()
            self._seen[str(client)] = self._recent(client, now)[-AUTH_FAILURES_PER_MIN:] + [now]

    def closed(self, client: str | None) -> bool:
        with self._lock:
            return len(self._recent(client, time.monotonic())) >= AUTH_FAILURES_PER_MIN


@dataclass
class Caller:
    """Who is calling: the key's user, and the key (its bank scope)."""

    actor: Any
    key: ApiKey
    service: Service
    bank: str | None = None  # the bank the call acted in (for its audit entry)

    def ctx(self, bank: str):
        """The workspace door for `bank`, narrowed to the key's scope first (both refusals audited)."""
        store = self.service.store
        if self.key.bank is not None and bank != self.key.bank:
            require(
                self.actor,
                "workspace.open",
                bank,
                audit=store.platform_audit(),
                refusal=f"key reaches {self.key.bank} only",
                message=f"API key {self.key.id} reaches bank {self.key.bank}, not {bank}",
                fix=f"use a model of {self.key.bank} (e.g. {self.key.bank}/{ASSISTANT}), or a key for {bank}",
                key_id=self.key.id,
            )
        ctx = open_workspace(bank, self.actor, store)
        self.bank = bank
        return ctx

    def banks(self) -> list[str]:
        return [self.key.bank] if self.key.bank else sorted(self.service.store.banks())


class Service:
    """What stays warm between calls: the key store, the limiters, each bank's fraud scorer, the chat pipeline."""

    def __init__(self, store: Store, serve_llm: str | None = None):
        if serve_llm is not None and serve_llm not in LLM_MODELS:
            raise InvalidInput("serve_llm", f"{serve_llm!r} is not a generator", f"use one of {', '.join(LLM_MODELS)}")
        self.store = store
        self.keys = KeyStore(store)
        self.limiter = RateLimiter()
        self.failures = FailureWindow()
        self.serve_llm = serve_llm
        self.chat_lock = threading.Lock()  # the pipeline is CPU-bound: one question at a time uses the cores best
        self.llm_lock = threading.Lock()  # the served generator: apart, so a bank's assistant may call this server
        self._scorers: dict[str, tuple[tuple, Any, threading.Lock]] = {}
        self._scorers_lock = threading.Lock()
        self._warm_banks: set[str] = set()

    # -- auth -------------------------------------------------------------------
    def authenticate(self, authorization: str | None, client: str | None) -> Caller:
        """The caller behind the bearer key; 401 (audited), or 429 over the key's rate or too many failures."""
        if self.failures.closed(client):
            raise ApiError(
                429,
                "rate_limit_error",
                f"more than {AUTH_FAILURES_PER_MIN} failed API key attempts a minute "
                "from this client: wait a minute, then use a valid key",
                None,
                "rate_limit_exceeded",
                {"Retry-After": "60"},
            )
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            self.failures.record(client)
            raise ApiError(
                401,
                "authentication_error",
                "no API key: send the header `Authorization: Bearer sbx_...` "
                "(create a key with `sandbox api-key create`)",
                None,
                "missing_api_key",
            )
        try:
            actor, key = self.keys.authenticate(token.strip(), client)
        except AuthenticationFailed:
            self.failures.record(client)
            raise
        wait = self.limiter.take(key.id, key.rate_per_min)
        if wait:
            raise ApiError(
                429,
                "rate_limit_error",
                f"API key {key.id} is over its rate limit of {key.rate_per_min} "
                f"requests a minute: retry in {wait:.1f} s (or create a key with a higher --rate-limit)",
                None,
                "rate_limit_exceeded",
                {"Retry-After": str(max(1, int(wait + 0.999)))},
            )
        return Caller(actor, key, self)

    # -- warm state -------------------------------------------------------------
    def warm(self) -> None:
        """Load the embedding model and the extractive reader before the first question (no bank data read)."""
        from usecases.chat.answer import Extractive, Passage
        from usecases.chat.embed import get_embedder

        emb = get_embedder()
        Extractive(emb).generate(
            "How long is the warm-up?", [Passage(1, "The warm-up takes about four seconds.", "warm", "warm", 1.0, 1.0)]
        )

    def chat_ready(self, ctx) -> None:
        """A bank's first question: its index and MLflow's tracing loaded by `chat.warm` (records nothing)."""
        if ctx.bank in self._warm_banks:
            return
        from usecases import chat

        chat.warm(ctx)
        self._warm_banks.add(ctx.bank)

    def scorer(self, ctx):
        """The bank's streaming scorer, loaded once through `fraud.load_scorer` (the same checks and model as the
        CLI: the bank's champion) and loaded again when the champion changes. The door is asked on every call."""
        from usecases import fraud

        ctx.require("fraud.score")
        ctx.require("models.load")
        sig = _model_signature(ctx)
        with self._scorers_lock:
            held = self._scorers.get(ctx.bank)
            if held is None or held[0] != sig:
                held = (sig, fraud.load_scorer(ctx), threading.Lock())
                self._scorers[ctx.bank] = held
        return held[1], held[2]


def _model_signature(ctx) -> tuple:
    """Which model scores for the bank now: its champion (sandbox/lifecycle.py, read from the ledger, incrementally
    cached); a promotion or a rollback loads the new champion on the next call."""
    from sandbox import lifecycle

    mv = lifecycle.champion(ctx, "fraud")
    return (mv.version, mv.run_id) if mv is not None else ()


# -- request bodies ---------------------------------------------------------------
def _get(body: dict, field: str, kind: type | tuple, default: Any = None, required: bool = False, fix: str = "") -> Any:
    if field not in body or body[field] is None:
        if required:
            raise bad(field, "missing", fix or f"add {field!r} to the request body")
        return default
    value = body[field]
    if isinstance(value, bool) and kind in (int, float) or not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise bad(field, f"{value!r:.60} is not a {names}", fix or f"send {field!r} as a {names}")
    return value


def _int_in(body: dict, field: str, default: int, lo: int, hi: int) -> int:
    value = _get(body, field, int, default, fix=f"send {field!r} as a whole number from {lo} to {hi}")
    if not lo <= value <= hi:
        raise bad(field, f"{value} is out of range", f"use {lo} to {hi}")
    return value


def _text_of(content: Any, i: int) -> str:
    """A message's text: a string, or OpenAI's list of parts (text parts only)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(p, dict) for p in content):
        if any(p.get("type") != "text" for p in content):
            raise bad(
                f"messages[{i}].content", "holds a part that is not text", "send text only (the assistant reads text)"
            )
        return "\n".join(str(p.get("text", "")) for p in content)
    raise bad(f"messages[{i}].content", "is neither a string nor a list of text parts", "send the question as a string")


def _messages(body: dict) -> list[dict]:
    msgs = _get(body, "messages", list, required=True, fix='send "messages": [{"role": "user", "content": "..."}]')
    out = []
    for i, m in enumerate(msgs):
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            raise bad(f"messages[{i}]", "is not a message with a role", 'send {"role": "user", "content": "..."}')
        out.append({"role": m["role"], "content": _text_of(m.get("content", ""), i)})
    if not any(m["role"] == "user" for m in out):
        raise bad("messages", "has no user message", 'add {"role": "user", "content": "your question"}')
    return out


def _bank_of_model(caller: Caller, model: str) -> str:
    bank, sep, kind = model.partition("/")
    if not sep or kind != ASSISTANT:
        own = caller.key.bank or "BANK"
        raise from_sandbox(
            NotFound(
                f"model {model!r} does not exist",
                f"use {own}/{ASSISTANT} (the bank's assistant); list yours with GET /v1/models",
            )
        )
    return bank


def _words(text: str) -> int:
    return len(text.split())


# -- chat -------------------------------------------------------------------------
def chat_completion(caller: Caller, body: dict) -> dict | Stream:
    """A bank's assistant (or, with --serve-llm, the served generator) as an OpenAI chat completion."""
    model = _get(
        body, "model", str, required=True, fix=f'send "model": "BANK/{ASSISTANT}" (GET /v1/models lists yours)'
    )
    msgs = _messages(body)
    stream = _get(body, "stream", bool, False)
    if _get(body, "n", int, 1) != 1:
        raise bad("n", "only one choice is answered", "drop n, or send n: 1")
    if model.startswith("sandbox/"):
        text, extra = served_generation(caller, model, msgs, body)
    else:
        text, extra = ask_assistant(caller, model, msgs, body)
    cid = f"chatcmpl-{(extra.get('trace_id') or uuid.uuid4().hex)}"
    prompt_n, answer_n = sum(_words(m["content"]) for m in msgs), _words(text)
    usage = {"prompt_tokens": prompt_n, "completion_tokens": answer_n, "total_tokens": prompt_n + answer_n}
    created = int(time.time())
    if stream:
        options = _get(body, "stream_options", dict, {})
        return Stream(_sse(cid, created, model, text, extra, usage if options.get("include_usage") else None))
    return {
        "id": cid,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "system_fingerprint": None,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop", "logprobs": None}
        ],
        "usage": usage,
        "sandbox": extra,
    }


def ask_assistant(caller: Caller, model: str, msgs: list[dict], body: dict) -> tuple[str, dict]:
    """The last user message, asked through `usecases.chat.ask` (the CLI's call): single-turn, grounded, cited."""
    from usecases import chat

    bank = _bank_of_model(caller, model)
    opts = _get(body, "sandbox", dict, {}, fix='send "sandbox" as an object, e.g. {"backend": "extractive", "k": 5}')
    backend = _get(opts, "backend", str, None, fix=f"use one of {', '.join(chat.BACKENDS)}")
    k = _int_in(opts, "k", 5, 1, 20)
    question = next(m["content"] for m in reversed(msgs) if m["role"] == "user")
    ctx = caller.ctx(bank)
    ctx.require("chat.ask")
    with caller.service.chat_lock:
        caller.service.chat_ready(ctx)
        ans = chat.ask(ctx, question, backend=backend, k=k)
    extra = {
        k2: getattr(ans, k2)
        for k2 in (
            "refused",
            "grounded",
            "citations",
            "guardrails",
            "backend",
            "model_id",
            "model_version",
            "model_label",
            "confidence",
            "fallback",
            "trace_id",
            "latency_ms",
            "question",
        )
    }
    extra["bank"] = bank
    return ans.answer, extra


def _sse(cid: str, created: int, model: str, text: str, extra: dict, usage: dict | None):
    """The checked answer as chat.completion.chunk events: role, the text in word pieces, the stop with `sandbox`."""

    def event(delta: dict, finish: str | None = None, **more) -> str:
        chunk = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "system_fingerprint": None,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
            **more,
        }
        return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"

    yield event({"role": "assistant", "content": ""})
    for piece in re.findall(r"\S+\s*|\s+", text):
        yield event({"content": piece})
    yield event({}, "stop", sandbox=extra)
    if usage is not None:
        yield (
            f"data: {json.dumps({'id': cid, 'object': 'chat.completion.chunk', 'created': created, 'model': model, 'choices': [], 'usage': usage})}\n\n"
        )
    yield "data: [DONE]\n\n"


PROMPT = re.compile(r"Passages:\n(?P<passages>.*)\n\nQuestion: (?P<question>.*?)\nAnswer:\s*\Z", re.S)
PASSAGE = re.compile(r"^\[(\d+)\] \(([^)\n]*)\) (.*?)(?=\n\n\[\d+\] \(|\Z)", re.S | re.M)


def served_generation(caller: Caller, model: str, msgs: list[dict], body: dict) -> tuple[str, dict]:
    """`sandbox api --serve-llm NAME`: the sandbox's own generator behind OpenAI's API, for another sandbox's
    `openai` backend (a bank's own LLM endpoint). It reads the prompt `usecases.chat.answer.prompt_messages` writes;
    the calling pipeline still checks every answer against its passages. Needs `chat.ask` in the key's bank."""
    name = model.partition("/")[2]
    if caller.service.serve_llm is None or name != caller.service.serve_llm:
        served = f"sandbox/{caller.service.serve_llm}" if caller.service.serve_llm else "none (start with --serve-llm)"
        raise from_sandbox(NotFound(f"model {model!r} is not served here", f"served generator: {served}"))
    if caller.key.bank is None:
        raise from_sandbox(AccessDenied(f"API key {caller.key.id} belongs to no bank", "use a scientist's key"))
    ctx = caller.ctx(caller.key.bank)
    ctx.require("chat.ask")
    max_tokens = _int_in(body, "max_tokens", 200, 1, 1024)
    with caller.service.llm_lock:
        text = _generate(name, msgs, max_tokens)
    return text, {"bank": caller.key.bank, "generator": name}


def _generate(name: str, msgs: list[dict], max_tokens: int) -> str:
    from usecases.chat.answer import REFUSAL, Embedded, Extractive, Passage, clean_generation
    from usecases.chat.embed import get_embedder

    if name == "embedded":
        import torch

        gen = Embedded()
        tok, lm = gen._load()
        inputs = tok.apply_chat_template(msgs, add_generation_prompt=True, return_tensors="pt", return_dict=True)
        inputs = {k: v.to(gen.device) for k, v in inputs.items()}
        with torch.inference_mode():
            out = lm.generate(
                **inputs,
                max_new_tokens=max_tokens,
                do_sample=False,
                pad_token_id=tok.eos_token_id,
                eos_token_id=tok.eos_token_id,
            )
        return clean_generation(tok.decode(out[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True))
    m = PROMPT.search(next(m["content"] for m in reversed(msgs) if m["role"] == "user"))
    if m is None:
        return REFUSAL
    found = PASSAGE.findall(m.group("passages"))
    if not found:
        return REFUSAL
    emb = get_embedder()
    question = m.group("question").strip()
    vecs = emb.encode([question] + [t for _, _, t in found])
    passages = [
        Passage(int(n), t.strip(), f"p{n}", doc, float(c), float(c))
        for (n, doc, t), c in zip(found, vecs[1:] @ vecs[0])
    ]
    return Extractive(emb).generate(question, passages).text


# -- models -----------------------------------------------------------------------
def _model_card(model_id: str, owner: str) -> dict:
    return {"id": model_id, "object": "model", "created": 0, "owned_by": owner}


def list_models(caller: Caller, _params: dict) -> dict:
    """The assistants this key may ask (its bank's; none for a reviewer, who reads evidence, not documents)."""
    data = []
    for bank in caller.banks():
        if open_workspace(bank, caller.actor, caller.service.store).can("chat.ask"):
            data.append(_model_card(f"{bank}/{ASSISTANT}", bank))
    llm = caller.service.serve_llm
    if llm and caller.key.bank and open_workspace(caller.key.bank, caller.actor, caller.service.store).can("chat.ask"):
        data.append(_model_card(f"sandbox/{llm}", "sandbox"))
    return {"object": "list", "data": data}


def get_model(caller: Caller, model_id: str) -> dict:
    if model_id.startswith("sandbox/"):
        listed = {m["id"] for m in list_models(caller, {})["data"]}
        if model_id not in listed:
            raise from_sandbox(
                NotFound(f"model {model_id!r} is not served to this key", "list yours with GET /v1/models")
            )
        return _model_card(model_id, "sandbox")
    bank = _bank_of_model(caller, model_id)
    caller.ctx(bank).require("chat.ask")
    return _model_card(model_id, bank)


# -- fraud, risk, runs --------------------------------------------------------------
def _bank(caller: Caller, body: dict) -> str:
    bank = _get(body, "bank", str, caller.key.bank)
    if bank is None:
        raise bad("bank", "missing", "name the bank: this key reaches every bank, so say which one")
    return bank


def fraud_score(caller: Caller, body: dict) -> dict:
    """One transaction (`transaction`) or a batch (`transactions`), scored in order by the bank's streaming scorer
    (`fraud.load_scorer`, as `sandbox fraud score`): each becomes history for the next, as in production."""
    ctx = caller.ctx(_bank(caller, body))
    one = _get(body, "transaction", dict, None, fix="send one transaction as an object")
    many = _get(body, "transactions", list, None, fix="send a batch as a list of objects")
    if (one is None) == (many is None):
        raise bad(
            "transaction",
            "give exactly one of transaction or transactions",
            'send {"transaction": {...}} or {"transactions": [{...}, ...]}',
        )
    txns = [one] if one is not None else many
    if not 1 <= len(txns) <= MAX_BATCH:
        raise bad("transactions", f"{len(txns)} transactions", f"send 1 to {MAX_BATCH:,} a call")
    explain = _get(body, "explain", bool, True)
    top = _int_in(body, "top", 4, 1, 10)
    scorer, lock = caller.service.scorer(ctx)
    with lock:
        for i, txn in enumerate(txns):  # every row checked before any moves the scorer's state
            try:
                scorer._parse(txn)
            except InvalidInput as err:
                prefix = "transaction" if one is not None else f"transactions[{i}]"
                raise bad(f"{prefix}.{err.field}", err.message.split(": ", 1)[-1], err.fix or "") from None
        results = [scorer.score(t, explain=explain, top=top).to_dict() for t in txns]
    side = scorer.sidecar
    return {
        "object": "list",
        "bank": ctx.bank,
        "data": results,
        "alerts": sum(r["alert"] for r in results),
        "model": {
            "run_id": side.get("run_id"),
            "model_version": side.get("model_version") or None,  # the registered version scoring (docs/results.md)
            "model_stage": side.get("model_stage") or None,
            "threshold": scorer.threshold,
        },
    }


def risk_explain(caller: Caller, body: dict) -> dict:
    """Credit decisions and their adverse factors, through `usecases.risk.explain` (as `sandbox risk explain`)."""
    from usecases import risk

    ctx = caller.ctx(_bank(caller, body))
    one = _get(body, "applicant", dict, None, fix="send one applicant as an object of fields")
    many = _get(body, "applicants", list, None, fix="send applicants as a list of objects")
    if (one is None) == (many is None):
        raise bad(
            "applicants",
            "give exactly one of applicant or applicants",
            'send {"applicant": {...}} or {"applicants": [{...}, ...]} (fields: `sandbox risk explain --help`)',
        )
    rows = [one] if one is not None else many
    if len(rows) > MAX_BATCH:
        raise bad("applicants", f"{len(rows)} applicants", f"send at most {MAX_BATCH:,} a call")
    model = _get(body, "model", str, "xgboost")
    top = _int_in(body, "top", 4, 1, 50)
    out = risk.explain(ctx, rows, model=model, top=top)
    return {"object": "list", "bank": ctx.bank, "data": [e.to_dict() for e in out]}


def list_runs(caller: Caller, params: dict) -> dict:
    """Run summaries (metrics, parameters, review; never data) of the banks this key reaches: `runs.read`."""
    limit = params.get("limit", "50")
    if not str(limit).isdigit() or not 1 <= int(limit) <= 500:
        raise bad("limit", f"{limit!r} is not a number of runs", "use 1 to 500")
    usecase = params.get("usecase") or None
    banks = [params["bank"]] if params.get("bank") else caller.banks()
    data = []
    for bank in banks:
        ctx = caller.ctx(bank)
        data += ctx.summaries(ctx.runs(usecase, max_results=int(limit)))
    caller.bank = banks[0] if len(banks) == 1 else None
    return {"object": "list", "data": data}


# -- the app ----------------------------------------------------------------------
def _audit(service: Service, caller: Caller | None, request, status: int, ms: float) -> None:
    """One `api.call` entry a call: in the bank's chain when the call acted in one bank, else the platform's."""
    if caller is None:
        return  # refused before a key was known: `api.auth_failed` is already in the platform chain
    data = {
        "key_id": caller.key.id,
        "method": request.method,
        "path": request.url.path,
        "status": status,
        "ms": round(ms, 2),
    }
    if caller.bank:
        service.store.bank_audit(caller.bank).append("api.call", caller.actor.name, **data)
    else:
        service.store.platform_audit().append("api.call", caller.actor.name, **data)


def _error_response(err: ApiError) -> JSONResponse:
    return JSONResponse(err.body(), status_code=err.status, headers=err.headers)


async def _body(request) -> dict:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise ApiError(
            413,
            "invalid_request_error",
            f"the request body is {len(raw):,} bytes (limit {MAX_BODY:,})",
            None,
            "body_too_large",
        )
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise bad("body", "is not JSON", "send a JSON object with Content-Type: application/json") from None
    if not isinstance(body, dict):
        raise bad("body", "is not a JSON object", 'send a JSON object, e.g. {"model": ..., "messages": [...]}')
    return body


def _call(service: Service, request, fn: Callable, payload: Any, client: str | None, t0: float):
    """Authenticate, run `fn`, map errors to OpenAI's shape, audit the call; a stream comes back as its generator."""
    caller, status = None, 200
    try:
        caller = service.authenticate(request.headers.get("authorization"), client)
        result = fn(caller, payload)
        return result if isinstance(result, Stream) else JSONResponse(result)
    except ApiError as err:
        status = err.status
        return _error_response(err)
    except SandboxError as err:
        mapped = from_sandbox(err)
        status = mapped.status
        return _error_response(mapped)
    except Exception:  # noqa: BLE001 - a bug: logged with its traceback here, never sent to the client
        log.exception("internal error on %s %s", request.method, request.url.path)
        status = 500
        return _error_response(
            ApiError(
                500,
                "server_error",
                "internal error in the sandbox API: the operator finds the traceback in the server's log",
                None,
                "internal_error",
            )
        )
    finally:
        _audit(service, caller, request, status, (time.perf_counter() - t0) * 1000)


def create_app(service: Service):
    """The FastAPI app over one service. No interactive docs (they would load scripts from the internet)."""
    app = FastAPI(title="Financial GenAI Sandbox API", docs_url=None, redoc_url=None, openapi_url=None)

    async def handle(request: Request, fn: Callable, arg: Any = None, body: bool = True):
        """Read the body here (async), then one hop to a worker thread: authenticate, call, audit."""
        t0 = time.perf_counter()
        try:
            payload = (await _body(request)) if body else (arg if arg is not None else dict(request.query_params))
        except ApiError as err:
            return _error_response(err)
        client = request.client.host if request.client else None
        result = await run_in_threadpool(_call, service, request, fn, payload, client, t0)
        if isinstance(result, Stream):
            return StreamingResponse(
                result.events,
                media_type="text/event-stream",
                headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
            )
        return result

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        fix = {
            404: "see the routes: /v1/models, /v1/chat/completions, /v1/fraud/score, /v1/risk/explain, /v1/runs",
            405: "check the method (GET for /v1/models and /v1/runs, POST for the others)",
        }.get(exc.status_code, "")
        return _error_response(
            ApiError(
                exc.status_code,
                "invalid_request_error",
                f"{request.method} {request.url.path}: {exc.detail}" + (f": {fix}" if fix else ""),
                None,
                "unknown_route" if exc.status_code == 404 else None,
            )
        )

    @app.get("/health")
    async def health():
        return {"status": "ok"}

    @app.get("/v1/models")
    async def models(request: Request):
        return await handle(request, list_models, body=False)

    @app.get("/v1/models/{model_id:path}")
    async def model(request: Request, model_id: str):
        return await handle(request, get_model, model_id, body=False)

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request):
        return await handle(request, chat_completion)

    @app.post("/v1/fraud/score")
    async def score(request: Request):
        return await handle(request, fraud_score)

    @app.post("/v1/risk/explain")
    async def explain(request: Request):
        return await handle(request, risk_explain)

    @app.get("/v1/runs")
    async def runs(request: Request):
        return await handle(request, list_runs, body=False)

    return app
