"""`sandbox server`: the multi-user MLflow server (admin), its permission sync, and users' credentials."""

from __future__ import annotations

import shlex
import time

import click

from sandbox import procs, server
from sandbox.errors import SandboxError

from .cli_common import SandboxGroup, State, emit, json_option, pass_state

RESYNC_POLL_S = 2.0


def register(cli: click.Group) -> None:
    cli.add_command(server_group)


@click.group("server", cls=SandboxGroup, invoke_without_command=True)
@click.option("--port", type=int, default=5000, show_default=True, help="Port to listen on.")
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Loopback address to bind (127.0.0.1, ::1 or localhost)."
)
@click.option(
    "--timeout", type=float, default=180.0, show_default=True, help="Seconds to wait for the server to answer /health."
)
@click.option(
    "--sync-only", is_flag=True, help="Do not start a server: sync permissions into the running one and exit."
)
@click.option(
    "--backend-store-uri",
    envvar="SANDBOX_BACKEND_STORE_URI",
    metavar="URI",
    help="Tracking database: postgresql://USER[:PASSWORD]@HOST[:PORT]/DB (default: the store's SQLite file). "
    "Also read from $SANDBOX_BACKEND_STORE_URI, which keeps a password out of the shell history.",
)
@json_option
@click.pass_context
def server_group(
    click_ctx: click.Context,
    port: int,
    host: str,
    timeout: float,
    sync_only: bool,
    backend_store_uri: str | None,
    as_json: bool,
) -> None:
    """Run the multi-user MLflow server over this store (admin), until interrupted.

    Starts `mlflow server --app-name sandbox` on HOST:PORT: MLflow's basic auth
    (default permission: none) plus the sandbox's checks (own bank's names only, no
    client-chosen artifact locations, reviewers read evidence not models, no user
    listing). Syncs sandbox users and roles into MLflow grants, re-syncs when users
    or banks change, and stops the server (and its workers) on Ctrl-C, SIGTERM or SIGHUP.
    Tracking data goes to the store's SQLite file, or to PostgreSQL with
    --backend-store-uri; MLflow's users and grants stay in state/mlflow-auth.db.
    Users get their MLflow credentials with `sandbox server token`.
    """
    if click_ctx.invoked_subcommand is not None:
        return
    state: State = click_ctx.ensure_object(State)
    actor = state.actor()
    store = state.store
    if sync_only:
        result = server.sync(store, actor)
        emit(result.to_dict(), as_json, lambda d: f"{result.url}: {result.summary()}")
        return
    say = (lambda msg: None) if as_json else (lambda msg: click.echo(msg, err=True))
    say(f"starting MLflow server on {host}:{port} (store {store.home}) ...")
    with procs.stop_signals():  # SIGINT, SIGTERM, SIGHUP: stop the server's whole process group, even while it starts
        try:
            srv = server.start(store, actor, host=host, port=port, timeout=timeout, backend_store_uri=backend_store_uri)
        except KeyboardInterrupt:  # start() stopped what it had started
            say("stopped")
            return
        try:
            result = server.sync(store, actor, srv.url)
            info = {
                "url": srv.url,
                "pid": srv.pid,
                "startup_s": srv.startup_s,
                "backend": srv.backend,
                "sync": result.to_dict(),
                "log": str(srv.log_path),
                "credentials": "sandbox server token --env",
            }
            emit(
                info,
                as_json,
                lambda d: "\n".join(
                    [
                        f"MLflow server ready at {srv.url} (started in {srv.startup_s:.1f} s; backend {srv.backend}; log: {srv.log_path})",
                        f"  {result.summary()}",
                        "  users: get your MLflow user and password with `sandbox server token` (as yourself), or",
                        f'         eval "$(sandbox server token --env)"   # sets MLFLOW_TRACKING_* and SANDBOX_TRACKING_URI={srv.url}',
                        "  press Ctrl-C to stop",
                    ]
                ),
            )
            _watch_and_resync(store, actor, srv, say)
        except KeyboardInterrupt:
            say("stopping the MLflow server ...")
        finally:
            srv.stop()  # holds further stop signals until the group is gone
    say("stopped")


def _watch_and_resync(store, actor, srv, say) -> None:
    """Poll until interrupted: fail loudly if the server died, re-sync grants when users or banks changed."""
    stamp = _stamp(store)
    while True:
        time.sleep(RESYNC_POLL_S)
        if not srv.alive():
            raise SandboxError(
                f"the MLflow server stopped (exit code {srv.proc.returncode}); last log lines:\n{srv.log_tail()}",
                f"read {srv.log_path} and start it again",
            )
        now = _stamp(store)
        if now != stamp:
            stamp = now
            again = server.sync(store, actor, srv.url)
            if again.changed:
                say(f"store changed: {again.summary()}")


def _stamp(store) -> tuple:
    try:
        st = store.file.stat()
        return (st.st_mtime_ns, st.st_size)
    except FileNotFoundError:
        return (0, 0)


@server_group.command("sync")
@click.option("--url", help="The server's address (default: $SANDBOX_TRACKING_URI, else this store's running server).")
@json_option
@pass_state
def server_sync(state: State, url: str | None, as_json: bool) -> None:
    """Sync sandbox users and roles into the running server's MLflow permissions (admin; idempotent)."""
    result = server.sync(state.store, state.actor(), url)
    emit(result.to_dict(), as_json, lambda d: f"{result.url}: {result.summary()}")


@server_group.command("token")
@click.option("--url", help="The server's address (default: $SANDBOX_TRACKING_URI, else this store's running server).")
@click.option(
    "--env", "as_env", is_flag=True, help='Print `export` lines for the shell: eval "$(sandbox server token --env)".'
)
@json_option
@pass_state
def server_token(state: State, url: str | None, as_env: bool, as_json: bool) -> None:
    """Print your own MLflow user name and password for the sandbox's MLflow server."""
    cred = server.credentials(state.store, state.actor(), url)
    if as_env:
        click.echo("\n".join(f"export {k}={shlex.quote(v)}" for k, v in sorted(cred.env().items())))
        return

    def human(d: dict) -> str:
        lines = [f"MLflow user:     {d['username']}", f"MLflow password: {d['password']}"]
        lines.append(
            f"server:          {d['tracking_uri']}"
            if d["tracking_uri"]
            else "server:          (none running for this store; an admin starts it with `sandbox server`)"
        )
        return "\n".join(lines)

    emit(cred.to_dict(), as_json, human)
