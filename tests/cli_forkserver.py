"""`sandbox ARGS...` in a fresh process without paying the imports each time: a fork server for the tests.

About 150 tests run the CLI as a user does, in a process of its own (its exit code, its one-line errors, its umask,
no traceback). Each such process spent 2 to 6 s importing MLflow, pandas, XGBoost and torch before doing anything:
minutes of the default test run. This server imports them once, single-threaded, then forks one child per command;
the child takes the command's environment, working folder and standard streams, runs `apps.cli.main()` and exits
the way `python -m apps.cli` would (atexit handlers included). Nothing the command does survives it.

What a fork cannot show is a fault at import time under the command's own environment: `sandbox_exec` (a real
`python -m apps.cli`) keeps that covered in the tests that look at start-up.

Protocol (one Unix-socket connection per command): the client sends one JSON line {"args", "env", "cwd", "stdin",
"stdout", "stderr"} (file paths for the three streams); the server answers {"pid": N} at once and {"rc": N} when the
command ended.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import socket
import sys

PRELOAD = (
    "numpy",
    "pandas",
    "pyarrow",
    "sklearn.metrics",
    "xgboost",
    "mlflow",
    "mlflow.tracking",
    "sqlalchemy",
    "apps.cli",
    "usecases.fraud",
    "usecases.risk",
    "usecases.chat",
)


def _child(req: dict) -> None:
    """Become the command: its streams, folder and environment, then `sandbox ARGS...` as `python -m apps.cli`."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for fd, path, mode in (
        (0, req["stdin"], os.O_RDONLY),
        (1, req["stdout"], os.O_WRONLY),
        (2, req["stderr"], os.O_WRONLY),
    ):
        new = os.open(path, mode)
        os.dup2(new, fd)
        os.close(new)
    sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115 - the process's own stream
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    os.chdir(req["cwd"])
    os.environ.clear()
    os.environ.update(req["env"])
    sys.argv = ["sandbox", *req["args"]]
    from apps.cli import main

    main()


def _run(req: dict) -> int:
    """The command's exit status, as `python -m apps.cli` would end with it."""
    try:
        _child(req)
    except SystemExit as stop:
        if stop.code is None or isinstance(stop.code, int):
            return stop.code or 0
        print(stop.code, file=sys.stderr)
        return 1
    except BaseException:  # an uncaught exception: its traceback and status 1
        import traceback

        traceback.print_exc()
        return 1
    return 0


def _exit(rc: int) -> None:
    """End as the interpreter would (atexit handlers: MLflow's queues, the metric writer), without tearing down
    every preloaded module one by one, which alone took a second."""
    import atexit

    try:
        atexit._run_exitfuncs()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(rc)


def _serve_one(conn: socket.socket) -> None:
    """In a forked waiter: fork the command, report its pid, wait, report its exit status."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    req = json.loads(conn.makefile("r", encoding="utf-8").readline())
    pid = os.fork()
    if pid == 0:
        conn.close()
        _exit(_run(req))
    conn.sendall((json.dumps({"pid": pid}) + "\n").encode())
    _, status = os.waitpid(pid, 0)
    rc = os.waitstatus_to_exitcode(status)
    conn.sendall((json.dumps({"rc": rc}) + "\n").encode())
    conn.close()
    os._exit(0)


def serve(path: str) -> None:
    for name in PRELOAD:
        importlib.import_module(name)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(16)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # waiters are reaped by the kernel
    print("ready", flush=True)
    parent = os.getppid()
    server.settimeout(5)
    while True:
        try:
            conn, _ = server.accept()
        except TimeoutError:
            if os.getppid() != parent:  # the test run ended without closing us (killed): go too
                os._exit(0)  # not return: the preloaded libraries' threads would keep the interpreter waiting
            continue
        conn.settimeout(None)
        if os.fork() == 0:
            server.close()
            _serve_one(conn)
        conn.close()


if __name__ == "__main__":
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    serve(sys.argv[1])
