"""The MLflow server process: its address and port checks, the auth config, the backend store URI
(SQLite or PostgreSQL), starting it as a child the sandbox stops, and waiting until it answers."""

from __future__ import annotations

import errno
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from . import atomic, procs
from .access import Actor
from .errors import InvalidInput, SandboxError
from .progress import Progress
from .progress import report as report_progress
from .server_client import health
from .server_config import (
    ADMIN_USERNAME,
    AUTH_CACHE_TTL_S,
    AUTH_CONFIG_FILE,
    AUTH_DB_FILE,
    LOG_FILE,
    LOOPBACK_HOSTS,
    RUNTIME_FILE,
    _now,
)
from .server_credentials import running_server
from .server_secrets import load_secrets
from .server_sync import _require_admin
from .store import Store


# -- the server process ---------------------------------------------------------------
def _check_host(host: str) -> str:
    if host not in LOOPBACK_HOSTS:
        raise InvalidInput(
            "host",
            f"{host!r} is not a loopback address; basic auth over plain HTTP would send passwords in the clear",
            "serve on 127.0.0.1 and put a TLS-terminating reverse proxy in front to reach it from other machines",
        )
    return host


def _check_port_free(host: str, port: int) -> None:
    if not (0 < port < 65536):
        raise InvalidInput("port", f"{port} is not a TCP port", "use a number from 1024 to 65535, e.g. --port 5000")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server's own listener does
        try:
            s.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                raise SandboxError(
                    f"port {port} on {host} is in use (or not allowed)",
                    "pick a free one with --port N, or stop the process that holds it",
                ) from None
            raise


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def write_auth_config(store: Store) -> Path:
    """The basic-auth config: no default permission, an absolute auth DB path, no password inside."""
    path = store.state / AUTH_CONFIG_FILE
    db = (store.state / AUTH_DB_FILE).resolve()
    text = (
        "# Written by `sandbox server` on each start; edits are overwritten.\n"
        "# The admin password is not here: it is passed in the environment (see sandbox/server.py).\n"
        "[mlflow]\n"
        "default_permission = NO_PERMISSIONS\n"
        f"database_uri = sqlite:///{db}\n"
        f"admin_username = {ADMIN_USERNAME}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
        "grant_default_workspace_access = false\n"
        "# One worker process (--workers 1), so a password change invalidates the only cache at once.\n"
        f"auth_cache_ttl_seconds = {AUTH_CACHE_TTL_S}\n"
    )
    atomic.write_text(path, text, mode=0o600)
    return path


def _mlflow_command() -> list[str]:
    exe = Path(sys.executable).with_name("mlflow")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("mlflow")
    return [found] if found else [sys.executable, "-m", "mlflow"]


def check_backend_store_uri(uri: str | None, store: Store) -> str:
    """The tracking backend: the store's SQLite file by default, or a PostgreSQL URI (psycopg2 driver)."""
    if uri is None or not uri.strip():
        return f"sqlite:///{(store.mlruns / 'mlflow.db').resolve()}"
    uri = uri.strip()
    scheme = uri.split(":", 1)[0].lower()
    if scheme not in ("sqlite", "postgresql", "postgresql+psycopg2", "postgres"):
        raise InvalidInput(
            "backend-store-uri",
            f"{redact_uri(uri)!r} is not a SQLite or PostgreSQL URI",
            "use postgresql://USER[:PASSWORD]@HOST[:PORT]/DB, or leave it out for the store's SQLite file",
        )
    if scheme in ("postgres", "postgresql"):  # name the driver: SQLAlchemy 2.1 defaults to psycopg 3, not installed
        uri = "postgresql+psycopg2" + uri[len(scheme) :]
    if scheme.startswith("postgres"):
        try:
            import psycopg2  # noqa: F401
        except ImportError:
            raise SandboxError(
                "the PostgreSQL driver psycopg2 is not installed",
                "pip install psycopg2-binary (it is in the sandbox's dependencies)",
            ) from None
    return uri


def redact_uri(uri: str) -> str:
    """A database URI with its password hidden, for messages and records."""
    return re.sub(r"(://[^:/@]+:)[^/]*@", r"\1***@", uri)


def _check_database(uri: str, timeout: int = 5) -> None:
    """Fail fast, in one line, when the PostgreSQL backend cannot be reached."""
    if not uri.startswith("postgresql"):
        return
    import sqlalchemy

    engine = sqlalchemy.create_engine(
        uri, connect_args={"connect_timeout": timeout}, poolclass=sqlalchemy.pool.NullPool
    )
    try:
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text("select 1"))
    except sqlalchemy.exc.SQLAlchemyError as exc:
        first = (
            str(getattr(exc, "orig", exc) or exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        )
        raise SandboxError(
            f"cannot reach the PostgreSQL backend {redact_uri(uri)}: {first}",
            "start PostgreSQL, create the database and check the user, password, host and port",
        ) from None
    finally:
        engine.dispose()


class MlflowServer:
    """A running `mlflow server --app-name sandbox` in its own process group."""

    def __init__(self, store: Store, host: str, port: int, proc: subprocess.Popen, log_path: Path):
        self.store = store
        self.host = host
        self.port = port
        self.proc = proc
        self.log_path = log_path
        self.url = f"http://{'[::1]' if host == '::1' else host}:{port}"
        self.startup_s: float | None = None
        self.backend: str | None = None  # the tracking backend's URI, password hidden

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server and every process it started (its process group, and any descendant that left it),
        holding stop signals meanwhile: a second Ctrl-C must not leave its workers running."""
        with procs.shielded(reraise=False):
            procs.stop_processes([self.proc], timeout)
        runtime = self.store.state / RUNTIME_FILE
        info = running_server(self.store)
        if info is None or int(info.get("pid", -1)) == self.proc.pid:
            runtime.unlink(missing_ok=True)

    def __enter__(self) -> MlflowServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start(
    store: Store,
    actor: Actor,
    *,
    host: str = "127.0.0.1",
    port: int = 5000,
    timeout: float = 180.0,
    progress: Progress = None,
    backend_store_uri: str | None = None,
) -> MlflowServer:
    """Start the store's MLflow server and wait until it answers /health (admin only; does not sync).
    `backend_store_uri`: a PostgreSQL URI for the tracking data (default: the store's SQLite file)."""
    backend, sec, config = _prepare(store, actor, host, port, backend_store_uri)
    env = _server_env(store, sec, config, backend)
    cmd = _server_command(store, host, port)
    log_path = store.state / LOG_FILE
    t0 = time.perf_counter()
    server = _launch_and_wait(store, host, port, cmd, env, backend, log_path, timeout, progress, t0)
    try:
        _record_start(store, actor, server, backend, t0)
        report_progress(progress, 1.0, f"MLflow server ready at {server.url}")
    except BaseException:  # a stop signal between /health and here: stop the server rather than orphan it
        server.stop()
        raise
    return server


def _record_start(store: Store, actor: Actor, server: MlflowServer, backend: str, t0: float) -> None:
    """Write where the server runs (state/mlflow-server.json, 0600) and audit its start on the platform log."""
    server.startup_s = round(time.perf_counter() - t0, 2)
    server.backend = redact_uri(backend)
    atomic.write_json(
        store.state / RUNTIME_FILE,
        {
            "url": server.url,
            "pid": server.pid,
            "host": server.host,
            "port": server.port,
            "backend": server.backend,
            "started": _now(),
            "by": actor.name,
        },
        mode=0o600,
    )
    store.platform_audit().append(
        "server.start", actor.name, url=server.url, pid=server.pid, startup_s=server.startup_s, backend=server.backend
    )


def _prepare(store: Store, actor: Actor, host: str, port: int, backend_store_uri: str | None):
    """Refuse what cannot start (not admin, no store, a bad host, a server already running, a taken port, an
    unreachable database); then write the auth config and bring both databases' schemas up to date.
    Returns (backend URI, secrets, auth config path)."""
    _require_admin(store, actor, "run the MLflow server")
    store.banks()  # a missing or corrupted store fails here, with its fix
    _check_host(host)
    info = running_server(store)
    if info is not None:
        raise SandboxError(
            f"this store's MLflow server already runs at {info['url']} (pid {info['pid']})",
            f"use it, or stop it first (kill {info['pid']})",
        )
    _check_port_free(host, port)
    backend = check_backend_store_uri(backend_store_uri, store)
    _check_database(backend)
    sec = load_secrets(store)
    config = write_auth_config(store)
    (store.mlruns / "artifacts").mkdir(parents=True, exist_ok=True)
    from . import (
        trackdb,  # the server must not migrate a database while CLI processes do (under the store's lock)
    )

    if not (backend_store_uri or "").strip():
        trackdb.ensure_schema(store.mlruns)
    trackdb.ensure_auth_schema(store.state / AUTH_DB_FILE, store.state)
    return backend, sec, config


def _server_env(store: Store, sec, config: Path, backend: str) -> dict[str, str]:
    """The server's environment: no MLflow client credentials of ours, the auth settings and the backend."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_TRACKING_", "MLFLOW_AUTH_"))}
    env.update(
        {
            "MLFLOW_AUTH_CONFIG_PATH": str(config),
            "MLFLOW_AUTH_ADMIN_USERNAME": ADMIN_USERNAME,
            "MLFLOW_AUTH_ADMIN_PASSWORD": sec.admin_password,
            "MLFLOW_FLASK_SERVER_SECRET_KEY": sec.flask_secret_key,
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "DO_NOT_TRACK": "true",
            "MLFLOW_BACKEND_STORE_URI": backend,  # in the environment, not argv: `ps` shows no database password
            "SANDBOX_HOME": str(store.home),  # the guard reads the store's users and banks (sandbox/server_guard.py)
        }
    )
    # MLflow's GenAI job runner (scorers, LLM judges) starts ~8 more Python processes; the sandbox
    # uses none of it. An operator who wants it sets MLFLOW_SERVER_ENABLE_JOB_EXECUTION=true.
    env.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
    return env


def _server_command(store: Store, host: str, port: int) -> list[str]:
    """`mlflow server --app-name sandbox` serving the store's artifacts, one worker."""
    return [
        *_mlflow_command(),
        "server",
        "--app-name",
        "sandbox",
        "--artifacts-destination",
        str((store.mlruns / "artifacts").resolve()),
        "--serve-artifacts",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        "1",
    ]


def _launch_and_wait(
    store: Store, host, port, cmd, env, backend, log_path: Path, timeout, progress, t0
) -> MlflowServer:
    """Start the server in its own session (output appended to the log) and wait for /health; stop it on any
    failure or stop signal while it starts."""
    server: MlflowServer | None = None
    try:
        with open(os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "ab") as log:
            log.write(
                f"\n--- {_now()} sandbox server starting on {host}:{port} (backend {redact_uri(backend)})\n".encode()
            )
            log.flush()
            with procs.shielded():  # a stop signal (under procs.stop_signals) lands once `server` holds the process
                proc = subprocess.Popen(
                    cmd,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    cwd=store.state,
                    start_new_session=True,
                    umask=0o077,
                )  # its files 0600
                server = MlflowServer(store, host, port, proc, log_path)
        deadline = time.monotonic() + timeout
        while not health(server.url, timeout=1.0):
            if not server.alive():
                tail = server.log_tail()
                if "address already in use" in tail.lower():
                    raise SandboxError(f"port {port} on {host} is in use", "pick a free one with --port N")
                raise SandboxError(
                    f"the MLflow server exited while starting (code {proc.returncode}); last log lines:\n{tail}",
                    f"read {log_path}",
                )
            if time.monotonic() > deadline:
                raise SandboxError(
                    f"the MLflow server did not answer /health within {timeout:.0f} s",
                    f"read {log_path}; on a busy machine try again",
                )
            report_progress(progress, min(0.95, (time.perf_counter() - t0) / 30.0), "waiting for the MLflow server")
            time.sleep(0.25)
    except BaseException:
        if server is not None:
            server.stop()
        raise
    return server
