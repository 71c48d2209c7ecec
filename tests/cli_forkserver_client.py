"""The tests' side of tests/cli_forkserver.py: start it once, then run commands through it like subprocess.run."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path


class ForkServer:
    def __init__(self, folder: Path, root: Path) -> None:
        self.folder, self.root, self.n = folder, root, 0
        self.path = str(folder / "fork.sock")
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("cli_forkserver.py")), self.path],
            cwd=root,
            env=dict(os.environ, PYTHONPATH=str(root)),
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline()  # after the preload: about 6 s
        if line.strip() != "ready":
            raise RuntimeError(f"the CLI fork server did not start (exit {self.proc.poll()})")

    def run(self, env: dict, *args: str, stdin: str | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
        self.n += 1
        streams = {name: self.folder / f"{self.n}.{name}" for name in ("stdin", "stdout", "stderr")}
        streams["stdin"].write_text(stdin or "", encoding="utf-8")
        for name in ("stdout", "stderr"):
            streams[name].write_bytes(b"")
        req = {"args": list(args), "env": dict(env), "cwd": str(self.root), **{k: str(v) for k, v in streams.items()}}
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.connect(self.path)
            conn.sendall((json.dumps(req) + "\n").encode())
            answers = conn.makefile("r", encoding="utf-8")
            pid = json.loads(answers.readline())["pid"]
            conn.settimeout(timeout)
            try:
                rc = json.loads(answers.readline())["rc"]
            except TimeoutError:
                os.kill(pid, signal.SIGKILL)
                raise subprocess.TimeoutExpired(["sandbox", *args], timeout) from None
        out = [streams[n].read_text(encoding="utf-8", errors="replace") for n in ("stdout", "stderr")]
        for path in streams.values():
            path.unlink()
        return subprocess.CompletedProcess([sys.executable, "-m", "apps.cli", *args], rc, *out)

    def close(self) -> None:
        import shutil

        self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


_SERVER: list[ForkServer] = []
ROOT = Path(__file__).resolve().parent.parent


def exec_cli(env: dict, *args: str, stdin: str | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """`sandbox ARGS...` by `python -m apps.cli` itself: a fresh interpreter (start-up under the command's own
    environment included), its umask, exit code, one-line errors, no traceback."""
    return subprocess.run(
        [sys.executable, "-m", "apps.cli", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
    )


def run_cli(env: dict, *args: str, stdin: str | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """`sandbox ARGS...` in a process of its own, through the session's fork server (started on first use, stopped
    at exit); SANDBOX_TEST_EXEC=1 or no fork: a plain `python -m apps.cli`. The tests' one way to run the CLI."""
    if os.environ.get("SANDBOX_TEST_EXEC") == "1" or not hasattr(os, "fork"):
        return exec_cli(env, *args, stdin=stdin, timeout=timeout)
    if not _SERVER:
        import atexit
        import tempfile

        _SERVER.append(ForkServer(Path(tempfile.mkdtemp(prefix="sandbox-cli-")), ROOT))
        atexit.register(_SERVER[0].close)
    return _SERVER[0].run(env, *args, stdin=stdin, timeout=timeout)
