"""Server mode under load: the permissioned `sandbox server` beside the stock `mlflow server` (no auth), same run.

A throwaway store in a temporary folder (an admin, N banks, a scientist per bank, a reviewer) is served with
`sandbox.server.start` + `sync` (whatever app that API serves: MLflow's basic-auth app plus the sandbox guard).
A stock `mlflow server` over its own database is started beside it, with the same worker count (1) and artifact
proxying. Both use SQLite files, or with `--backend postgresql` one database each in a throwaway local PostgreSQL
cluster. Then N + 1 client processes (one per bank's scientist, one reviewer; each a real `MlflowClient` with its
own MLFLOW_TRACKING_USERNAME/PASSWORD, one request in flight each) run the same workload against each server,
phases interleaved (order reversed every other round) so machine noise hits both alike:

    scientist, R runs: create_run, log_batch (3 params, 3 metrics, 1 tag), log_metric x2 (steps), end_run
                       (set_terminated), get_run and search_runs of its own bank's experiment
    reviewer, R times: get_run of each bank's seed run, one search_runs over every bank's experiment

A further phase, on our server only (the stock one cannot deny anything), adds cross-bank probes to the same
workload: after each run the scientist tries another bank's run and experiment (get_run, get_experiment,
get_experiment_by_name, search_runs, create_run, log_metric) and the reviewer tries to write to a bank's run.
Each probe must be denied (HTTP 403/404, or a search/lookup that returns nothing); any probe that succeeds is a
security failure and the bench exits 1. Any failed request on our server (an allowed call that errors, a probe
answered with anything but a denial) also exits 1. Client retries are off (MLFLOW_HTTP_REQUEST_MAX_RETRIES=0),
so a 5xx counts as an error instead of hiding as latency.

Figures: per operation class p50_ms / p99_ms (client-side, whole call) and errors; requests_per_s over all
clients; server CPU ms per request (the server's process group, plus PostgreSQL's, over the phase: less
sensitive to a busy machine than latency); ratios ours/stock (latency and CPU: > 1 is costlier; throughput:
< 1 is slower). `--basic-auth-peer` also runs the workload on MLflow's own basic-auth app over our databases and
grants (no sandbox guard), to split the cost between MLflow's auth and the guard.

Usage: python bench/server_load.py [--quick] [--json] [--clients N] [--runs R] [--rounds K]
                                   [--backend sqlite|postgresql] [--basic-auth-peer]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/ holds scripts whose names could shadow stdlib modules for the client processes too.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
# set_terminated would print the run's URL, fetching the run again to do it: an extra request in end_run's time
os.environ["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] = "true"

PASSWORD = "bench-password-1"
USECASE = "fraud"
WORKLOAD_OPS = (
    "create_run",
    "log_batch",
    "log_metric",
    "end_run",
    "get_run",
    "search_runs",
    "review_get_run",
    "review_search_runs",
)
PROBE_OPS = (
    "deny_get_run",
    "deny_get_experiment",
    "deny_get_experiment_by_name",
    "deny_search_runs",
    "deny_create_run",
    "deny_log_metric",
    "deny_reviewer_log_metric",
)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# -- the client processes ------------------------------------------------------------------------
def _status(exc: BaseException) -> int | None:
    """HTTP status of an MLflow client error (a plain-text 401/403 body becomes a generic error: read the text)."""
    try:
        code = exc.get_http_status_code()  # type: ignore[attr-defined]
    except Exception:
        code = None
    if code in (None, 500):
        text = str(exc)
        for status in (401, 403, 404):
            if f"{status}" in text:
                return status
    return code


class _Recorder:
    def __init__(self) -> None:
        self.lat: dict[str, list[float]] = {}
        self.errors: dict[str, int] = {}
        self.error_samples: list[str] = []
        self.denied: dict[str, int] = {}
        self.denied_as: dict[str, int] = {}  # how: "403", "404", "empty" (a search or lookup that found nothing)
        self.breaches: list[str] = []
        self.requests = 0

    def _deny(self, op: str, how: str, ms: float) -> None:
        self.denied[op] = self.denied.get(op, 0) + 1
        self.denied_as[how] = self.denied_as.get(how, 0) + 1
        self.lat.setdefault(op, []).append(ms)

    def _error(self, op: str, exc: BaseException) -> None:
        self.errors[op] = self.errors.get(op, 0) + 1
        if len(self.error_samples) < 5:
            self.error_samples.append(f"{op}: {type(exc).__name__}: {str(exc)[:200]}")

    def call(self, op: str, fn, *args, **kwargs):
        """An allowed call: timed; an exception counts as an error and gives None."""
        t0 = time.perf_counter()
        try:
            out = fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - every failure is counted, none may stop the load
            self.requests += 1
            self._error(op, exc)
            return None
        self.lat.setdefault(op, []).append((time.perf_counter() - t0) * 1000)
        self.requests += 1
        return out

    def probe(self, op: str, what: str, fn, *args, **kwargs) -> None:
        """A call that must be denied: 403/404, or an answer that reveals nothing (None, an empty list)."""
        t0 = time.perf_counter()
        try:
            out = fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001
            ms = (time.perf_counter() - t0) * 1000
            self.requests += 1
            status = _status(exc)
            if status in (403, 404):
                self._deny(op, str(status), ms)
            else:
                self._error(op, exc)
            return
        ms = (time.perf_counter() - t0) * 1000
        self.requests += 1
        if out is None or (isinstance(out, list) and not out):
            self._deny(op, "empty", ms)
        else:
            self.breaches.append(f"{op}: {what} succeeded: {str(out)[:160]}")

    def result(self, t_start: float, t_end: float) -> dict:
        return {
            "lat": self.lat,
            "errors": self.errors,
            "error_samples": self.error_samples,
            "denied": self.denied,
            "denied_as": self.denied_as,
            "breaches": self.breaches,
            "requests": self.requests,
            "t_start": t_start,
            "t_end": t_end,
        }


def _scientist(client, rec: _Recorder, job: dict) -> None:
    from mlflow.entities import Metric, Param, RunTag

    exp_id, probes = job["exp_id"], job["probes"]
    for i in range(job["runs"]):
        run = rec.call(
            "create_run",
            client.create_run,
            exp_id,
            run_name=f"load-{job['phase']}-{i}",
            tags={"sandbox.usecase": USECASE},
        )
        if run is None:
            continue
        run_id = run.info.run_id
        now = int(time.time() * 1000)
        rec.call(
            "log_batch",
            client.log_batch,
            run_id,
            metrics=[Metric(k, v, now, 0) for k, v in (("auc", 0.9), ("average_precision", 0.7), ("loss", 0.3))],
            params=[Param(k, v) for k, v in (("max_depth", "4"), ("eta", "0.1"), ("rounds", "400"))],
            tags=[RunTag("phase", job["phase"])],
        )
        for step in (1, 2):
            rec.call("log_metric", client.log_metric, run_id, "loss", 0.3 / (step + 1), step=step)
        rec.call("end_run", client.set_terminated, run_id)
        rec.call("get_run", client.get_run, run_id)
        rec.call("search_runs", client.search_runs, [exp_id], max_results=10)
        if probes:
            t = probes[i % len(probes)]
            rec.probe("deny_get_run", f"get_run of {t['bank']}'s run", client.get_run, t["run_id"])
            rec.probe("deny_get_experiment", f"get_experiment {t['exp_name']}", client.get_experiment, t["exp_id"])
            rec.probe(
                "deny_get_experiment_by_name",
                f"get_experiment_by_name {t['exp_name']}",
                client.get_experiment_by_name,
                t["exp_name"],
            )
            rec.probe("deny_search_runs", f"search_runs in {t['exp_name']}", client.search_runs, [t["exp_id"]])
            rec.probe("deny_create_run", f"create_run in {t['exp_name']}", client.create_run, t["exp_id"])
            rec.probe(
                "deny_log_metric", f"log_metric to {t['bank']}'s run", client.log_metric, t["run_id"], "sabotage", 1.0
            )


def _reviewer(client, rec: _Recorder, job: dict) -> None:
    targets = job["targets"]
    exp_ids = [t["exp_id"] for t in targets]
    for i in range(job["runs"]):
        for t in targets:
            rec.call("review_get_run", client.get_run, t["run_id"])
        rec.call("review_search_runs", client.search_runs, exp_ids, max_results=20)
        if job["probes"]:
            t = targets[i % len(targets)]
            rec.probe(
                "deny_reviewer_log_metric",
                f"reviewer log_metric to {t['bank']}'s run",
                client.log_metric,
                t["run_id"],
                "review.status",
                1.0,
            )


def _worker(index: int, inbox, outbox, barrier) -> None:
    """One MLflow client, one identity per job, one request in flight."""
    os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"  # a 5xx is an error here, not hidden latency
    os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] = "60"
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    from mlflow.tracking import MlflowClient

    while True:
        job = inbox.get()
        if job is None:
            return
        try:
            for key, value in (
                ("MLFLOW_TRACKING_USERNAME", job["username"]),
                ("MLFLOW_TRACKING_PASSWORD", job["password"]),
            ):
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            client = MlflowClient(tracking_uri=job["url"])
            rec = _Recorder()
            barrier.wait(timeout=300)  # every client starts together
            t0 = time.monotonic()
            (_reviewer if job["role"] == "reviewer" else _scientist)(client, rec, job)
            outbox.put((index, rec.result(t0, time.monotonic())))
        except BaseException as exc:  # noqa: BLE001 - the parent must hear about it, or it waits forever
            outbox.put((index, {"fatal": f"{type(exc).__name__}: {exc}"}))


class ClientPool:
    """N long-lived client processes (mlflow imported once each), driven phase by phase."""

    def __init__(self, n: int) -> None:
        ctx = mp.get_context("spawn")
        self.barrier = ctx.Barrier(n)
        self.outbox = ctx.Queue()
        self.inboxes = [ctx.Queue() for _ in range(n)]
        self.procs = [
            ctx.Process(target=_worker, args=(i, q, self.outbox, self.barrier), daemon=True)
            for i, q in enumerate(self.inboxes)
        ]
        for p in self.procs:
            p.start()

    def run(self, jobs: list[dict], timeout: float = 900) -> list[dict]:
        assert len(jobs) == len(self.procs)
        for q, job in zip(self.inboxes, jobs):
            q.put(job)
        results: list[dict | None] = [None] * len(jobs)
        deadline = time.monotonic() + timeout
        for _ in jobs:
            index, res = self.outbox.get(timeout=max(1.0, deadline - time.monotonic()))
            if "fatal" in res:
                self.barrier.abort()
                raise RuntimeError(f"client {index} failed: {res['fatal']}")
            results[index] = res
        return results  # type: ignore[return-value]

    def close(self) -> None:
        for q in self.inboxes:
            try:
                q.put(None)
            except (OSError, ValueError):
                pass
        for p in self.procs:
            p.join(5)
            if p.is_alive():
                p.terminate()
                p.join(5)
            if p.is_alive():
                p.kill()


# -- the servers ---------------------------------------------------------------------------------
def _mlflow_exe() -> list[str]:
    exe = Path(sys.executable).with_name("mlflow")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "mlflow"]


class StockServer:
    """`mlflow server` as shipped (no auth app unless `app_args`), in its own process group (started now, awaited
    by `wait`)."""

    def __init__(
        self,
        home: Path,
        backend_uri: str | None = None,
        app_args: tuple[str, ...] = (),
        env_extra: dict[str, str] | None = None,
    ) -> None:
        from sandbox import server

        home.mkdir(parents=True)
        self.port = server.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = home / "mlflow-server.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_TRACKING_", "MLFLOW_AUTH_"))}
        env.update(
            {
                "MLFLOW_DISABLE_TELEMETRY": "true",
                "DO_NOT_TRACK": "true",
                "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
                **(env_extra or {}),
            }
        )  # as the sandbox server runs
        cmd = [
            *_mlflow_exe(),
            "server",
            *app_args,
            "--backend-store-uri",
            backend_uri or f"sqlite:///{home / 'mlflow.db'}",
            "--artifacts-destination",
            str(home / "artifacts"),
            "--serve-artifacts",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            "1",
        ]
        self.t0 = time.perf_counter()
        with open(self.log_path, "ab") as fh:
            self.proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=fh,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=home,
                start_new_session=True,
            )
        self.startup_s: float | None = None

    def wait(self, timeout: float = 300) -> None:
        from sandbox import server

        deadline = time.monotonic() + timeout
        while not server.health(self.url, timeout=1.0):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                tail = self.log_path.read_text(errors="replace").splitlines()[-15:]
                raise RuntimeError("the stock mlflow server did not start:\n" + "\n".join(tail))
            time.sleep(0.25)
        self.startup_s = round(time.perf_counter() - self.t0, 2)

    def stop(self) -> None:
        for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.proc.wait(wait)
            except subprocess.TimeoutExpired:
                continue
        try:  # workers may outlive the leader for a moment
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


class Postgres:
    """A throwaway PostgreSQL cluster on loopback (trust auth, in a temporary folder); one database per server."""

    def __init__(self, tmp: Path, timeout: float = 60) -> None:
        import glob
        import pwd
        import shutil

        from sandbox import server

        found = shutil.which("pg_ctl") or next(
            iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)), None
        )
        if not found:
            raise RuntimeError(
                "PostgreSQL is not installed (no pg_ctl): install Debian's postgresql, or use --backend sqlite"
            )
        self.bin = Path(os.path.realpath(found)).parent
        self.dir = tmp / "postgres"
        self.dir.mkdir()
        self.as_user: list[str] = []
        self.started = False
        if os.geteuid() == 0:  # postgres refuses to run as root: run it as the postgres account
            pw = pwd.getpwnam("postgres")
            os.chmod(tmp, 0o755)  # the account must reach its folder inside the temporary one
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.port = server.free_port()
        self.data = self.dir / "data"
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-instructions")
        self.started = True  # from here on, stop() tries pg_ctl stop
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.dir / "postgres.log"),
            "-w",
            "-t",
            str(int(timeout)),
            "-o",
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1",
            "start",
        )

    def pgid(self) -> int | None:
        """The postmaster's process group (its backends are in it too)."""
        try:
            return os.getpgid(int((self.data / "postmaster.pid").read_text().split()[0]))
        except (OSError, ValueError, IndexError):
            return None

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run([*self.as_user, str(self.bin / tool), *args], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed: {(done.stderr or done.stdout).strip()[-500:]}")

    def database(self, name: str) -> str:
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{name}"  # SQLAlchemy 2.1 defaults to psycopg 3

    def stop(self) -> None:
        if self.started:
            try:
                self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
            except (RuntimeError, subprocess.TimeoutExpired):
                pid_file = self.data / "postmaster.pid"
                if pid_file.exists():  # still running: stop it hard
                    self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
            self.started = False


def basic_auth_server(home: Path, store, backend_uri: str) -> StockServer:
    """MLflow's own basic-auth app (no sandbox guard) over our server's tracking and auth databases, users and
    grants: what the guard adds, apart from what MLflow's auth costs. Leans on sandbox.server's config layout."""
    from sandbox import server

    sec = server.load_secrets(store)
    env = {
        "MLFLOW_AUTH_CONFIG_PATH": str(store.state / server.AUTH_CONFIG_FILE),  # written by server.start
        "MLFLOW_AUTH_ADMIN_USERNAME": server.ADMIN_USERNAME,
        "MLFLOW_AUTH_ADMIN_PASSWORD": sec.admin_password,
        "MLFLOW_FLASK_SERVER_SECRET_KEY": sec.flask_secret_key,
    }
    return StockServer(home, backend_uri, ("--app-name", "basic-auth"), env)


def group_cpu_s(pgid: int | None) -> float | None:
    """CPU seconds (user + system) used so far by the live processes of a process group (Linux /proc)."""
    if pgid is None:
        return None
    total, tick = 0, os.sysconf("SC_CLK_TCK")
    try:
        entries = os.listdir("/proc")
    except OSError:
        return None
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                raw = fh.read().decode("ascii", "replace")
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / tick


def _as(username: str | None, password: str | None):
    from sandbox import server

    return server.mlflow_identity(username, password)


def _seed(url: str, banks: list[str], ident: dict[str, tuple[str | None, str | None]], reader: tuple) -> list[dict]:
    """One run per bank (the probes' and the reviewer's targets); experiment ids looked up as `reader`."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=url)
    targets = []
    for bank in banks:
        name = f"{bank}/{USECASE}"
        with _as(*reader):
            exp = client.get_experiment_by_name(name)
        if exp is None:
            raise RuntimeError(f"experiment {name} is missing on {url}")
        with _as(*ident[bank]):
            run = client.create_run(exp.experiment_id, run_name="seed", tags={"sandbox.usecase": USECASE})
            client.log_param(run.info.run_id, "seed", "1")
            client.set_terminated(run.info.run_id)
        targets.append({"bank": bank, "exp_id": exp.experiment_id, "exp_name": name, "run_id": run.info.run_id})
    return targets


def _jobs(
    phase: str,
    url: str,
    banks: list[str],
    users: dict[str, tuple[str | None, str | None]],
    targets: list[dict],
    runs: int,
    probes: bool,
) -> list[dict]:
    by_bank = {t["bank"]: t for t in targets}
    jobs = []
    for i, bank in enumerate(banks):
        others = [by_bank[b] for b in banks[i + 1 :] + banks[:i]] if probes else []
        user, pw = users[bank]
        jobs.append(
            {
                "phase": phase,
                "url": url,
                "username": user,
                "password": pw,
                "role": "scientist",
                "exp_id": by_bank[bank]["exp_id"],
                "runs": runs,
                "probes": others,
            }
        )
    user, pw = users["_reviewer"]
    jobs.append(
        {
            "phase": phase,
            "url": url,
            "username": user,
            "password": pw,
            "role": "reviewer",
            "targets": targets,
            "runs": runs,
            "probes": probes,
        }
    )
    return jobs


# -- figures -------------------------------------------------------------------------------------
class Phase:
    """Every client's results of every round of one phase kind, merged."""

    def __init__(self) -> None:
        self.lat: dict[str, list[float]] = {}
        self.errors: dict[str, int] = {}
        self.error_samples: list[str] = []
        self.denied: dict[str, int] = {}
        self.denied_as: dict[str, int] = {}
        self.breaches: list[str] = []
        self.requests = 0
        self.seconds = 0.0
        self.server_cpu_s: float | None = 0.0

    def add(self, results: list[dict], server_cpu_s: float | None) -> None:
        self.server_cpu_s = (
            None if server_cpu_s is None or self.server_cpu_s is None else self.server_cpu_s + server_cpu_s
        )
        for r in results:
            for op, xs in r["lat"].items():
                self.lat.setdefault(op, []).extend(xs)
            for op, n in r["errors"].items():
                self.errors[op] = self.errors.get(op, 0) + n
            for op, n in r["denied"].items():
                self.denied[op] = self.denied.get(op, 0) + n
            for how, n in r["denied_as"].items():
                self.denied_as[how] = self.denied_as.get(how, 0) + n
            self.error_samples.extend(r["error_samples"][: max(0, 10 - len(self.error_samples))])
            self.breaches.extend(r["breaches"])
            self.requests += r["requests"]
        self.seconds += max(r["t_end"] for r in results) - min(r["t_start"] for r in results)

    def ops(self, names) -> dict:
        import numpy as np

        out = {}
        for op in names:
            xs = self.lat.get(op, [])
            out[op] = {
                "p50_ms": round(float(np.percentile(xs, 50)), 2) if xs else None,
                "p99_ms": round(float(np.percentile(xs, 99)), 2) if xs else None,
                "n": len(xs),
                "errors": self.errors.get(op, 0),
            }
        return out

    def overall(self, names) -> dict:
        import numpy as np

        xs = [x for op in names for x in self.lat.get(op, [])]
        return {
            "p50_ms": round(float(np.percentile(xs, 50)), 2) if xs else None,
            "p99_ms": round(float(np.percentile(xs, 99)), 2) if xs else None,
            "requests": self.requests,
            "errors": sum(self.errors.values()),
            "requests_per_s": round(self.requests / self.seconds, 1) if self.seconds else None,
            "server_cpu_ms_per_request": (
                round(self.server_cpu_s * 1000 / self.requests, 2)
                if self.server_cpu_s is not None and self.requests
                else None
            ),
            "seconds": round(self.seconds, 2),
        }


def _ratio(a, b):
    return round(a / b, 3) if a is not None and b else None


def run_bench(clients: int, runs: int, rounds: int, backend: str = "sqlite", basic_auth: bool = False) -> dict:
    from sandbox import Store, server

    banks = [f"load-bank-{i:02d}" for i in range(clients)]
    with tempfile.TemporaryDirectory(prefix="server-load-") as d:
        tmp = Path(d)
        t0 = time.perf_counter()
        store = Store(tmp / "home")
        store.init("root", PASSWORD)
        for i, bank in enumerate(banks):
            store.create_bank(bank)
            store.add_user(f"sci-{i:02d}", "scientist", PASSWORD, bank=bank)
        store.add_user("rita", "reviewer", PASSWORD)
        admin = store.actor("root")
        setup_s = round(time.perf_counter() - t0, 2)

        ours = stock = basic = pool = pg = None
        try:
            log(
                f"starting {clients + 1} client processes, the sandbox server and the stock mlflow server ({backend}) ..."
            )
            pool = ClientPool(clients + 1)
            ours_uri = stock_uri = None
            if backend == "postgresql":
                pg = Postgres(tmp)
                ours_uri, stock_uri = pg.database("ours"), pg.database("stock")
            stock = StockServer(tmp / "stock", stock_uri)  # starts beside ours; awaited below
            kwargs = {"backend_store_uri": ours_uri} if ours_uri else {}
            ours = server.start(store, admin, port=server.free_port(), timeout=300, **kwargs)
            synced = server.sync(store, admin)
            if basic_auth:
                basic = basic_auth_server(
                    tmp / "basic-auth", store, ours_uri or f"sqlite:///{(store.mlruns / 'mlflow.db').resolve()}"
                )
                basic.wait()
            stock.wait()

            def cred(user: str) -> tuple[str, str]:
                c = server.credentials(store, store.actor(user), ours.url)
                return c.username, c.password

            ours_users = {bank: cred(f"sci-{i:02d}") for i, bank in enumerate(banks)}
            ours_users["_reviewer"] = cred("rita")
            stock_users = {k: (None, None) for k in ours_users}
            from mlflow.tracking import MlflowClient

            with _as(None, None):
                plain = MlflowClient(tracking_uri=stock.url)
                for bank in banks:  # the sync made these on ours
                    plain.create_experiment(f"{bank}/{USECASE}")
            ours_targets = _seed(ours.url, banks, ours_users, ours_users["_reviewer"])
            stock_targets = _seed(stock.url, banks, stock_users, (None, None))

            # warm-up: every client imports mlflow and makes its first connection to each server (untimed)
            for url, users, targets in ((ours.url, ours_users, ours_targets), (stock.url, stock_users, stock_targets)):
                pool.run(_jobs("warmup", url, banks, users, targets, 1, False))

            phases = {"ours": Phase(), "stock": Phase(), "ours_probes": Phase(), "basic_auth": Phase()}
            kinds = ["ours", "stock", *(["basic_auth"] if basic else [])]
            if basic:  # same workload, credentials and targets as ours: the same databases
                pool.run(_jobs("warmup", basic.url, banks, ours_users, ours_targets, 1, False))
            for r in range(rounds):
                order = kinds if r % 2 == 0 else kinds[::-1]
                for kind in [*order, "ours_probes"]:
                    srv = {"stock": stock, "basic_auth": basic}.get(kind, ours)
                    users, targets = (stock_users, stock_targets) if kind == "stock" else (ours_users, ours_targets)
                    log(f"round {r + 1}/{rounds}: {kind} ...")
                    groups = [srv.proc.pid, pg.pgid() if pg else None]
                    before = [group_cpu_s(g) for g in groups if g is not None]
                    results = pool.run(
                        _jobs(f"{kind}-{r}", srv.url, banks, users, targets, runs, kind == "ours_probes")
                    )
                    after = [group_cpu_s(g) for g in groups if g is not None]
                    cpu = (
                        None if None in before + after or not before else sum(after) - sum(before)
                    )  # the server's processes (and PostgreSQL's) during the phase
                    phases[kind].add(results, cpu)
            ours_startup, stock_startup = ours.startup_s, stock.startup_s
        finally:
            if pool is not None:
                pool.close()
            for srv in (ours, stock, basic, pg):  # servers before their database
                if srv is not None:
                    try:
                        srv.stop()
                    except Exception as exc:  # noqa: BLE001 - stop the others all the same
                        log(f"could not stop {type(srv).__name__}: {exc}")

    o, s, p = phases["ours"], phases["stock"], phases["ours_probes"]
    o_ops, s_ops = o.ops(WORKLOAD_OPS), s.ops(WORKLOAD_OPS)
    ratios = {
        op: {
            "p50": _ratio(o_ops[op]["p50_ms"], s_ops[op]["p50_ms"]),
            "p99": _ratio(o_ops[op]["p99_ms"], s_ops[op]["p99_ms"]),
        }
        for op in WORKLOAD_OPS
    }
    o_all, s_all = o.overall(WORKLOAD_OPS), s.overall(WORKLOAD_OPS)
    ratios["all"] = {
        "p50": _ratio(o_all["p50_ms"], s_all["p50_ms"]),
        "p99": _ratio(o_all["p99_ms"], s_all["p99_ms"]),
        "requests_per_s": _ratio(o_all["requests_per_s"], s_all["requests_per_s"]),
        "server_cpu_ms_per_request": _ratio(o_all["server_cpu_ms_per_request"], s_all["server_cpu_ms_per_request"]),
    }
    attempts = sum(p.denied.values()) + len(p.breaches) + sum(p.errors.get(op, 0) for op in PROBE_OPS)
    ours_errors = o_all["errors"] + sum(p.errors.values())
    return {
        "config": {
            "bank_clients": clients,
            "reviewer_clients": 1,
            "runs_per_client_per_phase": runs,
            "rounds": rounds,
            "backend": backend,
            "server_workers": 1,
            "client_retries": 0,
            "store_setup_s": setup_s,
            "ours_startup_s": ours_startup,
            "stock_ready_s_side_by_side": stock_startup,
            "first_sync_s": synced.wall_s,
        },
        "ours": {"ops": o_ops, "all": o_all, "error_samples": o.error_samples},
        "stock": {"ops": s_ops, "all": s_all, "error_samples": s.error_samples},
        "ratio_ours_to_stock": ratios,
        "ours_with_probes": {
            "ops": p.ops(WORKLOAD_OPS + PROBE_OPS),
            "all": p.overall(WORKLOAD_OPS + PROBE_OPS),
            "error_samples": p.error_samples,
        },
        "basic_auth_app": (
            {
                "ops": phases["basic_auth"].ops(WORKLOAD_OPS),
                "all": phases["basic_auth"].overall(WORKLOAD_OPS),
                "error_samples": phases["basic_auth"].error_samples,
            }
            if phases["basic_auth"].requests
            else None
        ),
        "probes": {
            "attempts": attempts,
            "denied": sum(p.denied.values()),
            "denied_by_op": p.denied,
            "denied_as": p.denied_as,
            "security_failures": len(p.breaches),
            "failures": p.breaches[:20],
            "errors": sum(p.errors.get(op, 0) for op in PROBE_OPS),
        },
        "ok": not p.breaches and ours_errors == 0,
    }


def _fmt(x) -> str:
    return "-" if x is None else f"{x:,.2f}" if isinstance(x, float) else f"{x:,}"


def report(out: dict) -> None:
    c, o, s, r, p = out["config"], out["ours"], out["stock"], out["ratio_ours_to_stock"], out["probes"]
    print(
        f"server load, {c['backend']}: {c['bank_clients']} bank clients + {c['reviewer_clients']} reviewer, "
        f"{c['runs_per_client_per_phase']} runs each per phase, {c['rounds']} round(s); one request in flight per "
        f"client, one server worker, no client retries"
    )
    print(
        f"ours = `sandbox server` (auth + guard, synced grants; ready in {c['ours_startup_s']} s, first sync "
        f"{c['first_sync_s']} s); peer = stock `mlflow server`, no auth, started side by side"
    )
    print(
        f"{'operation':<20}{'ours p50_ms':>12}{'stock p50_ms':>13}{'ratio':>7}{'ours p99_ms':>13}"
        f"{'stock p99_ms':>13}{'ratio':>7}{'n':>7}{'errors':>9}"
    )
    for op in WORKLOAD_OPS:
        a, b = o["ops"][op], s["ops"][op]
        print(
            f"{op:<20}{_fmt(a['p50_ms']):>12}{_fmt(b['p50_ms']):>13}{_fmt(r[op]['p50']):>7}{_fmt(a['p99_ms']):>13}"
            f"{_fmt(b['p99_ms']):>13}{_fmt(r[op]['p99']):>7}{a['n']:>7}{a['errors']:>4}/{b['errors']:<4}"
        )
    a, b = o["all"], s["all"]
    print(
        f"{'all requests':<20}{_fmt(a['p50_ms']):>12}{_fmt(b['p50_ms']):>13}{_fmt(r['all']['p50']):>7}"
        f"{_fmt(a['p99_ms']):>13}{_fmt(b['p99_ms']):>13}{_fmt(r['all']['p99']):>7}{a['requests']:>7}"
        f"{a['errors']:>4}/{b['errors']:<4}"
    )
    print(
        f"throughput: ours {_fmt(a['requests_per_s'])} requests_per_s vs stock {_fmt(b['requests_per_s'])}: "
        f"ratio {_fmt(r['all']['requests_per_s'])} (latency ratios > 1 and throughput ratios < 1 mean ours is slower)"
    )
    print(
        f"server CPU per request (server process group{' + PostgreSQL' if c['backend'] == 'postgresql' else ''}): "
        f"ours {_fmt(a['server_cpu_ms_per_request'])} ms vs stock {_fmt(b['server_cpu_ms_per_request'])} ms: "
        f"ratio {_fmt(r['all']['server_cpu_ms_per_request'])}"
    )
    if out.get("basic_auth_app"):
        x = out["basic_auth_app"]["all"]
        print(
            f"breakdown, same workload (all requests p50_ms / p99_ms / server CPU ms per request): stock no auth "
            f"{_fmt(b['p50_ms'])} / {_fmt(b['p99_ms'])} / {_fmt(b['server_cpu_ms_per_request'])}; MLflow basic-auth app "
            f"{_fmt(x['p50_ms'])} / {_fmt(x['p99_ms'])} / {_fmt(x['server_cpu_ms_per_request'])} ({x['errors']} errors); "
            f"sandbox app {_fmt(a['p50_ms'])} / {_fmt(a['p99_ms'])} / {_fmt(a['server_cpu_ms_per_request'])}"
        )
    w = out["ours_with_probes"]
    print(
        f"cross-bank probes (ours, same workload plus probes; {_fmt(w['all']['requests_per_s'])} requests_per_s, "
        f"all requests p50 {_fmt(w['all']['p50_ms'])} ms, p99 {_fmt(w['all']['p99_ms'])} ms): "
        f"{p['attempts']} attempts, {p['denied']} denied, {p['security_failures']} succeeded (security failures), "
        f"{p['errors']} errors; denied as {', '.join(f'{k} x{v}' for k, v in sorted(p['denied_as'].items()))}"
    )
    for op in PROBE_OPS:
        x = w["ops"][op]
        print(f"  {op:<28} p50_ms {_fmt(x['p50_ms']):>8}  p99_ms {_fmt(x['p99_ms']):>8}  denied {x['n']}")
    for line in p["failures"]:
        print(f"  SECURITY FAILURE {line}")
    for line in o["error_samples"] + w["error_samples"]:
        print(f"  ours error: {line}")
    for line in s["error_samples"]:
        print(f"  stock error: {line}")
    print("OK" if out["ok"] else "FAILED: a probe succeeded or a request to our server failed")


def main() -> int:
    ap = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    ap.add_argument(
        "--quick", action="store_true", help="3 banks, 8 runs per client, 1 round (about a minute on 2 idle cores)"
    )
    ap.add_argument("--json", action="store_true", help="print JSON")
    ap.add_argument(
        "--clients", type=int, help="bank clients, one bank each (default 3 quick, 8 full); plus a reviewer"
    )
    ap.add_argument("--runs", type=int, help="runs per bank client per phase (default 8 quick, 20 full)")
    ap.add_argument("--rounds", type=int, help="rounds of ours / stock / ours with probes (default 1 quick, 2 full)")
    ap.add_argument(
        "--backend",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="tracking database of both servers; postgresql starts a throwaway local cluster (initdb, "
        "pg_ctl) with one database each",
    )
    ap.add_argument(
        "--basic-auth-peer",
        action="store_true",
        help="also run the workload on MLflow's own basic-auth app over our databases and grants (no "
        "sandbox guard): how much of the cost is MLflow's auth",
    )
    args = ap.parse_args()
    clients = args.clients or (3 if args.quick else 8)
    runs = args.runs or (8 if args.quick else 20)
    rounds = args.rounds or (1 if args.quick else 2)
    for flag, value, low in (("--clients", clients, 2), ("--runs", runs, 1), ("--rounds", rounds, 1)):
        if value < low:
            ap.error(f"{flag} must be at least {low}")
    if args.backend == "postgresql":
        import inspect

        from sandbox import server

        if "backend_store_uri" not in inspect.signature(server.start).parameters:
            ap.error("this sandbox.server.start has no PostgreSQL option (backend_store_uri): use --backend sqlite")
    out = run_bench(clients, runs, rounds, args.backend, args.basic_auth_peer)
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        report(out)
    if out["probes"]["security_failures"]:
        log(f"SECURITY FAILURE: {out['probes']['security_failures']} cross-bank probe(s) succeeded")
    return 0 if out["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
