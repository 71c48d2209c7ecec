"""`sandbox app` (the Streamlit app) and `sandbox demo` (seed three demo banks, then serve the app and MLflow).

Both run their children in process groups of their own (`sandbox.procs`) and stop them all, with their own
children, on SIGINT, SIGTERM or SIGHUP, waiting until they are gone so the ports are free again.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import click

from sandbox import procs

from .cli_common import State, emit, json_option, pass_state

APP = Path(__file__).resolve().parent / "web" / "app.py"
SERVE = Path(__file__).resolve().parent / "web" / "serve.py"  # streamlit, hardened: no /_stcore/metrics, no framing
STOP_TIMEOUT_S = 25.0  # SIGTERM to SIGKILL: the `sandbox server` child takes up to 15 s to stop its MLflow group


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def streamlit_command(port: int, host: str = "127.0.0.1", headless: bool = True) -> list[str]:
    """The `streamlit run` command line for the app (no telemetry, no file watcher, no browser), through
    apps/web/serve.py: security headers on every response, /_stcore/metrics and the agent API refused."""
    return [
        sys.executable,
        str(SERVE),
        "run",
        str(APP),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true" if headless else "false",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        "--server.runOnSave",
        "false",
        "--client.toolbarMode",
        "minimal",
    ]


def mlflow_server_command(port: int, host: str = "127.0.0.1") -> list[str]:
    """The permissioned `sandbox server` (MLflow behind the sandbox's sign-in and per-bank grants).

    The demo never serves the stock `mlflow ui`: that has no sign-in, hands out model files and raw input
    examples, and accepts review tags from anyone on the machine. It runs as the demo admin (`_env(admin=True)`).
    """
    return [sys.executable, "-m", "apps.cli", "server", "--host", host, "--port", str(port)]


def _env(home: Path, admin: tuple[str, str] | None = None) -> dict[str, str]:
    env = dict(
        os.environ,
        SANDBOX_HOME=str(home),
        MLFLOW_DISABLE_TELEMETRY="true",
        DO_NOT_TRACK="true",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
    )
    env.pop("SANDBOX_PASSWORD", None)  # the app signs people in itself
    env.pop("SANDBOX_TRACKING_URI", None)
    if admin:  # the MLflow server is an admin's process: it syncs users and grants from the store
        env.update(SANDBOX_USER=admin[0], SANDBOX_PASSWORD=admin[1])
    return env


def _check_port(port: int, what: str) -> None:
    from sandbox.errors import InvalidInput

    if not (1 <= port <= 65535):
        raise InvalidInput("port", f"{port} is not a port number", "use 1-65535, e.g. --port 8501")
    if not port_free(port):
        raise InvalidInput(
            "port", f"127.0.0.1:{port} is already in use ({what})", "stop what is using it, or pass another --port"
        )


def register(cli: click.Group) -> None:
    _add_app_command(cli)
    _add_demo_command(cli)


def _add_app_command(cli: click.Group) -> None:
    @cli.command("app")
    @click.option("--port", type=int, default=8501, show_default=True, help="Port on 127.0.0.1.")
    @pass_state
    def app(state: State, port: int) -> None:
        """Serve the web app (bank lab, HKMA reviewer console, admin) on 127.0.0.1 until Ctrl-C, SIGTERM or SIGHUP."""
        store = state.store
        if not store.exists:
            store.banks()  # raises the store's own "no sandbox store" error with its fix
        _check_port(port, "the app's port")
        click.echo(f"Financial GenAI Sandbox app: http://127.0.0.1:{port}  (store {store.home}; Ctrl-C to stop)")
        children = procs.Children()
        with procs.stop_signals():  # SIGINT, SIGTERM, SIGHUP: stop Streamlit and whatever it started, then return
            try:
                children.start(streamlit_command(port), env=_env(store.home)).wait()
            except KeyboardInterrupt:
                pass
            finally:
                children.stop(timeout=STOP_TIMEOUT_S)


def _add_demo_command(cli: click.Group) -> None:
    @cli.command("demo")
    @click.option(
        "--no-serve", is_flag=True, help="Seed the demo banks, then stop (do not start the app and MLflow server)."
    )
    @click.option(
        "--fast",
        is_flag=True,
        help="Smaller data sets (about two minutes on 2 cores): for trying things out and tests.",
    )
    @click.option("--port", type=int, default=8501, show_default=True, help="Port of the app.")
    @click.option(
        "--mlflow-port", type=int, default=5000, show_default=True, help="Port of the permissioned MLflow server."
    )
    @json_option
    @pass_state
    def demo(state: State, no_serve: bool, fast: bool, port: int, mlflow_port: int, as_json: bool) -> None:
        """Seed three fictional banks (users, data, models, chat indexes, evaluations), then serve the app and MLflow.

        MLflow is served through the permissioned `sandbox server` (each user signs in with the credentials
        `sandbox server token` prints; reviewers read evidence only), never as an open stock UI.

        Idempotent: what exists is kept and skipped. Demo credentials are fixed and printed; use them for a demo
        store only (`sandbox init` never has a default password).
        """
        from . import demo as demo_mod

        if not no_serve:
            _check_port(port, "the app's port")
            _check_port(mlflow_port, "the MLflow server's port")
        with procs.stop_signals():  # SIGINT, SIGTERM, SIGHUP: seeding stops
            try:
                report = demo_mod.seed(
                    state.store,
                    profile="fast" if fast else "full",
                    log=(lambda m: None) if as_json else (lambda m: click.echo(m, err=True)),
                )
            except KeyboardInterrupt:
                raise click.exceptions.Exit(130) from None
        emit(report.to_dict(), as_json, lambda d: demo_mod.describe(d, port, mlflow_port, serve=not no_serve))
        if no_serve:
            return
        # Armed again after seeding: a native library loaded while seeding reset SIGINT to its default (measured:
        # `kill -INT` then killed this process outright and orphaned both servers).
        with procs.stop_signals():  # serving: every child and its descendants stop, then this returns
            home = state.store.home
            children = procs.Children()
            try:
                children.start(
                    mlflow_server_command(mlflow_port),
                    env=_env(home, demo_mod.admin_credentials()),
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                children.start(streamlit_command(port), env=_env(home))
                click.echo(
                    f"Serving: app http://127.0.0.1:{port}   MLflow (sign-in) http://127.0.0.1:{mlflow_port}   "
                    "(Ctrl-C to stop)",
                    err=True,
                )
                while children.all_alive():  # one gone (a crash): stop the other too
                    time.sleep(0.5)
            except KeyboardInterrupt:
                pass
            finally:  # the server child stops its MLflow group itself (up to ~15 s); then anything left is killed
                children.stop(timeout=STOP_TIMEOUT_S)
