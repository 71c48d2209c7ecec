"""`sandbox api` (serve the HTTP API, apps/api.py) and `sandbox api-key create|list|revoke` (sandbox/apikeys.py)."""

from __future__ import annotations

import os
import threading
import time

import click

from sandbox import procs
from sandbox.apikeys import DEFAULT_DAYS, DEFAULT_RATE_PER_MIN, KeyStore
from sandbox.errors import InvalidInput, SandboxError

from .cli_common import SandboxGroup, State, emit, json_option, pass_state, table

LOOPBACK = ("127.0.0.1", "::1", "localhost")
STOP_WAIT_S = 10.0


def register(cli: click.Group) -> None:
    cli.add_command(api_cmd)
    cli.add_command(api_key)


@click.command("api")
@click.option("--port", type=int, default=8000, show_default=True, help="Port to listen on.")
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Loopback address to bind (127.0.0.1, ::1 or localhost)."
)
@click.option(
    "--serve-llm",
    type=click.Choice(["extractive", "embedded"]),
    help="Also serve the sandbox's own generator as model sandbox/NAME: an OpenAI-compatible endpoint for "
    "another sandbox's `openai` chat backend (a bank's own LLM endpoint).",
)
@click.option("--no-warm", is_flag=True, help="Do not load the chat pipeline before the first request.")
@json_option
@pass_state
def api_cmd(state: State, port: int, host: str, serve_llm: str | None, no_warm: bool, as_json: bool) -> None:
    """Serve the OpenAI-compatible API (assistants, fraud scoring, risk explanations, runs) until Ctrl-C, SIGTERM or SIGHUP.

    Callers authenticate with API keys (`sandbox api-key create`); every call goes through the same access checks
    as the CLI and is audited. Binds to loopback only: put a TLS reverse proxy in front to serve other machines.
    """
    _serve(state, port, host, serve_llm, not no_warm, as_json)


def _serve(state: State, port: int, host: str, serve_llm: str | None, warm: bool, as_json: bool) -> None:
    import uvicorn

    from . import api
    from .cli_web import port_free

    if host not in LOOPBACK:
        raise InvalidInput(
            "host",
            f"{host!r} is not a loopback address",
            "bind 127.0.0.1 (the default) and put a TLS reverse proxy in front for other machines",
        )
    if not 1 <= port <= 65535:
        raise InvalidInput("port", f"{port} is not a port number", "use 1-65535, e.g. --port 8000")
    if host != "::1" and not port_free(port, "127.0.0.1" if host == "localhost" else host):
        raise InvalidInput("port", f"{host}:{port} is already in use", "stop what is using it, or pass another --port")
    store = state.store
    store.banks()  # no store: its own error, with its fix
    say = (lambda msg: None) if as_json else (lambda msg: click.echo(msg, err=True))
    service = api.Service(store, serve_llm=serve_llm)
    t0 = time.perf_counter()
    with procs.stop_signals():  # SIGINT, SIGTERM, SIGHUP: stop serving, finish open calls, return
        try:
            if warm:
                say("loading the chat pipeline ...")
                service.warm()
            warm_s = time.perf_counter() - t0
            server = uvicorn.Server(
                uvicorn.Config(
                    api.create_app(service),
                    host=host,
                    port=port,
                    log_level="warning",
                    access_log=False,
                    lifespan="off",
                    timeout_graceful_shutdown=5,
                )
            )
            thread = threading.Thread(target=server.run, name="sandbox-api", daemon=True)  # signals stay with us
            thread.start()
            _wait_started(server, thread)
            url = f"http://{'[::1]' if host == '::1' else host}:{port}"
            emit(
                {
                    "url": url,
                    "base_url": f"{url}/v1",
                    "pid": os.getpid(),
                    "warm_s": round(warm_s, 2),
                    "serve_llm": serve_llm,
                    "store": str(store.home),
                },
                as_json,
                lambda d: "\n".join(
                    [
                        f"sandbox API ready at {d['base_url']} (store {d['store']}; warm-up {d['warm_s']:.1f} s)",
                        "  keys: `sandbox api-key create` (shown once); send `Authorization: Bearer sbx_...`",
                        "  press Ctrl-C to stop",
                    ]
                ),
            )
            while thread.is_alive():
                thread.join(0.5)
        except KeyboardInterrupt:
            say("stopping the sandbox API ...")
        finally:
            with procs.shielded(reraise=False):
                _stop(locals().get("server"), locals().get("thread"))
    say("stopped")


def _wait_started(server, thread: threading.Thread) -> None:
    while not server.started:
        if not thread.is_alive():
            raise SandboxError("the API server did not start (see the lines above)", "check the port and the store")
        time.sleep(0.05)


def _stop(server, thread: threading.Thread | None) -> None:
    """Stop accepting, let open calls finish (up to 5 s), then close; returns when the port is free."""
    if server is None or thread is None:
        return
    server.should_exit = True
    thread.join(STOP_WAIT_S)
    if thread.is_alive():
        server.force_exit = True
        thread.join(5.0)


# -- keys -------------------------------------------------------------------------
@click.group("api-key", cls=SandboxGroup)
def api_key() -> None:
    """Your API keys for `sandbox api`: create (shown once), list, revoke."""


@api_key.command("create")
@click.option("--name", default="default", show_default=True, help="What the key is for (e.g. notebook).")
@click.option("--days", type=int, default=DEFAULT_DAYS, show_default=True, help="Days until it expires (1-366).")
@click.option("--bank", help="Reviewers: narrow the key to one bank (scientists' keys reach their own bank only).")
@click.option("--rate-limit", type=int, default=DEFAULT_RATE_PER_MIN, show_default=True, help="Requests a minute.")
@json_option
@pass_state
def create_cmd(state: State, name: str, days: int, bank: str | None, rate_limit: int, as_json: bool) -> None:
    """Create an API key for yourself, scoped to your bank and role. The key is printed once: store it now."""
    rec, token = KeyStore(state.store).create(state.actor(), name=name, days=days, bank=bank, rate_per_min=rate_limit)
    emit(
        {**rec.to_dict(), "key": token},
        as_json,
        lambda d: "\n".join(
            [
                f"API key {d['id']} ({d['name']}) for {d['user']} ({d['role']}, bank {d['bank'] or 'all, read-only'}), "
                f"expires {d['expires']}, {d['rate_per_min']} requests a minute:",
                f"  {token}",
                "It is shown only this once (the sandbox keeps only its hash): store it now, e.g. in OPENAI_API_KEY.",
            ]
        ),
    )


@api_key.command("list")
@click.option("--all", "everyone", is_flag=True, help="Every user's keys (admin).")
@json_option
@pass_state
def list_cmd(state: State, everyone: bool, as_json: bool) -> None:
    """List your API keys (never the keys themselves): id, name, scope, state, expiry."""
    keys = KeyStore(state.store).list(state.actor(), everyone=everyone)
    rows = [{**k.to_dict(), "state": k.state, "bank": k.bank or "(all)"} for k in keys]
    emit(rows, as_json, lambda r: table(r, ["id", "name", "user", "role", "bank", "state", "expires", "rate_per_min"]))


@api_key.command("revoke")
@click.argument("key_id")
@json_option
@pass_state
def revoke_cmd(state: State, key_id: str, as_json: bool) -> None:
    """Revoke one of your keys (an admin: anyone's); the running API refuses it from its next request."""
    rec = KeyStore(state.store).revoke(state.actor(), key_id)
    emit(
        {**rec.to_dict(), "state": rec.state},
        as_json,
        lambda d: f"revoked API key {d['id']} ({d['name']}) of {d['user']}",
    )
