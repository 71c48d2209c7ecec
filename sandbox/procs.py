"""Child processes that stop when their parent is told to stop.

The serving commands (`sandbox app`, `sandbox demo`, `sandbox server`) start long-lived children: Streamlit,
the permissioned `sandbox server`, which starts `mlflow server` and its workers in a process group of their own.
Python's default SIGTERM and SIGHUP kill the parent at once and orphan those children with their ports bound,
and a Ctrl-C that reaches only the parent (`kill -INT`) left them running too. So:

- `Children.start` runs each child in its own session (process group): a terminal's Ctrl-C reaches the parent
  only, which then stops the children in order, so no child is half-stopped by a signal it got twice.
- `stop_signals` makes SIGINT, SIGTERM and SIGHUP raise `KeyboardInterrupt` in the parent (one way out,
  whatever the signal), deferred while a child is being started so no child is left unrecorded.
- `Children.stop` sends SIGTERM to each child's group, waits, then SIGKILL; descendants that left the group
  (a grandchild in a session of its own) are found through /proc before the stop and killed if still there.
  It returns when every recorded process is gone, so the ports are free.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_PROC = Path("/proc")
_deferred: list[int] = []  # signals received while a child was being started
_defer_depth = 0


def _stat(pid: int) -> tuple[str, int, int, int] | None:
    """(state, parent pid, process group, start time in ticks) of `pid` from /proc; None when it is gone."""
    try:
        raw = (_PROC / str(pid) / "stat").read_text()
    except (OSError, ValueError):
        return None
    fields = raw[raw.rfind(")") + 2 :].split()  # the command name in parentheses may hold spaces
    try:
        return fields[0], int(fields[1]), int(fields[2]), int(fields[19])
    except (IndexError, ValueError):
        return None


def descendants(pid: int) -> list[tuple[int, int]]:
    """Every living descendant of `pid` as (pid, start time), whatever its process group; [] without /proc."""
    children: dict[int, list[tuple[int, int]]] = {}
    try:
        entries = [int(e.name) for e in _PROC.iterdir() if e.name.isdigit()]
    except OSError:
        return []
    for p in entries:
        st = _stat(p)
        if st and st[0] != "Z":
            children.setdefault(st[1], []).append((p, st[3]))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child[0])
    return out


def alive(pid: int, start: int | None = None) -> bool:
    """True while `pid` runs (not a zombie) and, given `start`, is still the process that started then."""
    st = _stat(pid)
    if st is None:
        if _PROC.exists():
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return st[0] != "Z" and (start is None or st[3] == start)


def _on_signal(signum, frame) -> None:
    if _defer_depth:
        _deferred.append(signum)
        return
    raise KeyboardInterrupt(signal.Signals(signum).name)


@contextlib.contextmanager
def stop_signals() -> Iterator[None]:
    """Within the block, SIGINT, SIGTERM and SIGHUP raise KeyboardInterrupt (the previous handlers come back after).
    Only the main thread can install handlers; elsewhere this does nothing."""
    try:
        previous = {sig: signal.signal(sig, _on_signal) for sig in STOP_SIGNALS}
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def shielded(reraise: bool = True) -> Iterator[None]:
    """Hold stop signals (under `stop_signals`) for the block: starting a child and recording it, or stopping them.
    After the block a held signal raises KeyboardInterrupt (`reraise`), or is dropped (a stop already under way)."""
    global _defer_depth
    _defer_depth += 1
    try:
        yield
    finally:
        _defer_depth -= 1
        if not _defer_depth and _deferred:
            name = signal.Signals(_deferred[0]).name
            _deferred.clear()
            if reraise:
                raise KeyboardInterrupt(name)


class Children:
    """The children of one serving command, each in its own process group; `stop()` ends them all."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen] = []

    def start(self, cmd: Sequence[str], **kwargs) -> subprocess.Popen:
        """`subprocess.Popen(cmd, **kwargs)` in a new session, recorded before a stop signal can interrupt."""
        with shielded():
            proc = subprocess.Popen(list(cmd), start_new_session=True, **kwargs)
            self.procs.append(proc)
        return proc

    def all_alive(self) -> bool:
        return all(p.poll() is None for p in self.procs)

    def stop(self, timeout: float = 20.0) -> None:
        """Stop every child and its descendants (see `stop_processes`); a second Ctrl-C does not cut it short."""
        with shielded(reraise=False):
            stop_processes(self.procs, timeout)


def stop_processes(procs: Sequence[subprocess.Popen], timeout: float = 20.0) -> None:
    """SIGTERM to each process's group (each a group leader: started with start_new_session), wait up to `timeout`
    s, then SIGKILL; then kill any descendant seen before the stop that outlived it (one in a group of its own
    that its parent did not stop). Returns when all of them are gone."""
    own = os.getpgrp()
    seen = [d for p in procs if p.poll() is None for d in descendants(p.pid)]
    for p in procs:
        if p.poll() is None:
            _killpg(p.pid, signal.SIGTERM, own)
    deadline = time.monotonic() + timeout
    for p in procs:
        try:
            p.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _killpg(p.pid, signal.SIGKILL, own)
            try:
                p.wait(5.0)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    for p in procs:  # members of a group may outlive its leader for a moment
        _killpg(p.pid, signal.SIGKILL, own)
    left = [(pid, start) for pid, start in seen if alive(pid, start)]
    grace = time.monotonic() + 5.0
    while left and time.monotonic() < grace:  # a grandchild its parent is still stopping
        time.sleep(0.1)
        left = [(pid, start) for pid, start in left if alive(pid, start)]
    for pid, _ in left:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    until = time.monotonic() + 5.0
    while any(alive(pid, start) for pid, start in left) and time.monotonic() < until:
        time.sleep(0.05)


def _killpg(pgid: int, sig: int, own: int) -> None:
    if pgid <= 1 or pgid == own:  # never the caller's own group
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
