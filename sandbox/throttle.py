"""Sign-in throttle: exponential backoff per user name and per client, shared by every face.

`Store.authenticate` consults it before checking a password, so the CLI, the web app and any API get the same
limits from one file (`state/auth-throttle.json`, 0600, read-modify-write under `state/auth-throttle.lock`).
After `free` failures for a key (a user name, known or not, so the throttle itself reveals nothing about who
exists; or a client id a face passes, e.g. the web app's remote address) each further failure closes the key for
`BASE_DELAY_S * 2 ** (failures - free)` seconds, at most `MAX_DELAY_S`. While a key is closed an attempt is
refused without looking at the password (the right one too: that is what stops guessing). A success clears the
user's count; a client's count only ages out (a success with the attacker's own account must not reset it).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from . import atomic
from .errors import AuthenticationFailed

USER_FREE_FAILURES = 5  # a person mistyping: five tries, then 1 s, 2 s, 4 s ... 5 min
CLIENT_FREE_FAILURES = 20  # a client (an address) may front several people (an office, a proxy)
BASE_DELAY_S = 1.0
MAX_DELAY_S = 300.0
FORGET_AFTER_S = 900.0  # a count with no failure for 15 min (and no open window) is forgotten
MAX_KEYS = 10_000  # the file stays small whatever names a guesser sends


class LoginThrottled(AuthenticationFailed):
    """Too many failed sign-ins: refused without checking the password until `retry_at` (epoch seconds)."""

    def __init__(self, message: str, fix: str, retry_at: float):
        self.retry_at = retry_at
        super().__init__(message, fix)


@dataclass(frozen=True)
class Closed:
    key: str
    until: float

    @property
    def retry_after_s(self) -> float:
        return max(0.0, self.until - time.time())


def user_key(name: str) -> str:
    return _key("user", name)


def client_key(client: str) -> str:
    return _key("client", client)


def _key(kind: str, value: str) -> str:
    value = str(value)
    if len(value) > 64 or not value.isprintable():  # a guesser's 10 kB "name" is stored as its digest
        value = "sha256:" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"{kind}:{value}"


def _free(key: str) -> int:
    return CLIENT_FREE_FAILURES if key.startswith("client:") else USER_FREE_FAILURES


class LoginThrottle:
    """The persistent failure counts of one store."""

    def __init__(self, state_dir: Path | str):
        self.path = Path(state_dir) / "auth-throttle.json"
        self.lock_path = Path(state_dir) / "auth-throttle.lock"

    def _read(self) -> dict[str, dict]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (ValueError, UnicodeDecodeError):
            return {}  # a damaged file is rewritten on the next failure; it never locks everyone out
        return data if isinstance(data, dict) else {}

    def closed(self, keys: list[str], now: float | None = None) -> Closed | None:
        """The key whose window is open longest, if any of `keys` may not try now."""
        now = time.time() if now is None else now
        data = self._read()
        worst = None
        for key in keys:
            rec = data.get(key)
            until = float(rec.get("until", 0)) if isinstance(rec, dict) else 0.0
            if until > now and (worst is None or until > worst.until):
                worst = Closed(key, until)
        return worst

    def failed(self, keys: list[str], now: float | None = None) -> Closed | None:
        """Count a failure for each key; return the longest window it opened (None while under the free count)."""
        now = time.time() if now is None else now
        opened = None
        with self._locked():
            data = self._read()
            for key in keys:
                rec = data.get(key)
                if not isinstance(rec, dict) or _stale(rec, now):
                    rec = {"failures": 0, "until": 0.0}
                rec["failures"] = int(rec.get("failures", 0)) + 1
                rec["last"] = now
                over = rec["failures"] - _free(key)
                if over >= 0:
                    rec["until"] = now + min(BASE_DELAY_S * 2 ** min(over, 32), MAX_DELAY_S)
                    if opened is None or rec["until"] > opened.until:
                        opened = Closed(key, rec["until"])
                data[key] = rec
            self._write(self._pruned(data, now))
        return opened

    def succeeded(self, key: str) -> None:
        """Clear a user's count after a right password (a no-op, without a write, when there is none)."""
        if key not in self._read():
            return
        with self._locked():
            data = self._read()
            if data.pop(key, None) is not None:
                self._write(data)

    @staticmethod
    def _pruned(data: dict, now: float) -> dict:
        keep = {k: v for k, v in data.items() if isinstance(v, dict) and not _stale(v, now)}
        if len(keep) > MAX_KEYS:
            keep = dict(sorted(keep.items(), key=lambda kv: float(kv[1].get("last", 0)))[-MAX_KEYS:])
        return keep

    def _write(self, data: dict) -> None:
        atomic.write_bytes(self.path, json.dumps(data, sort_keys=True).encode("utf-8"), mode=0o600)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # held for one small read and write
            yield
        finally:
            os.close(fd)  # closing releases the lock


def _stale(rec: dict, now: float) -> bool:
    """No failure and no open window for FORGET_AFTER_S: the count starts again."""
    return now - max(float(rec.get("last", 0)), float(rec.get("until", 0))) > FORGET_AFTER_S


def refusal(name: str, closed: Closed) -> LoginThrottled:
    """The one-line error for an attempt made while a window is open."""
    wait = max(1, int(closed.retry_after_s + 0.999))
    at = time.strftime("%H:%M:%S", time.gmtime(closed.until))
    who = f"for {name!r}" if closed.key.startswith("user:") else "from this client"
    return LoginThrottled(
        f"too many failed sign-ins {who}: try again in {wait} s (after {at} UTC)",
        "wait, then use the right password; each refused attempt is audited",
        closed.until,
    )
