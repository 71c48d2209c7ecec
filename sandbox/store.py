"""The sandbox store: banks, users (argon2 hashes) and quotas under `$SANDBOX_HOME`.

Layout (all git-ignored when the home is the repository):

    state/store.json        banks, users, quotas (atomic writes, a lock for read-modify-write)
    state/audit/platform.jsonl, state/audit/<bank>.jsonl    hash-chained audit logs
    state/usage/<bank>.jsonl                                compute ledger
    keys/audit.key, keys/audit-legacy.json                  the audit chains' HMAC key (0600, folder 0700)
    workspaces/<bank>/      the bank's files, reached only through WorkspaceContext.path()
    mlruns/mlflow.db, mlruns/artifacts/                     the default MLflow store
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from . import atomic
from .access import ROLES, Actor
from .audit import AuditKey, AuditLog
from .errors import AuthenticationFailed, InvalidInput, NotFound, StoreError
from .throttle import LoginThrottle, client_key, user_key
from .throttle import refusal as login_refusal

BANK_ID = re.compile(r"^[a-z][a-z0-9-]{2,31}$")
USER_NAME = re.compile(r"^[a-z][a-z0-9._-]{1,31}$")
SCHEMA_VERSION = 1
MIN_PASSWORD = 8

# Moderate argon2id cost: ~20 ms a check on these machines, still far beyond guessing rates.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# An unknown user's password is checked against this hash of a random, discarded password, so a wrong name
# costs what a wrong password does (no user enumeration by timing). Rebuilt if _hasher's parameters change.
_DUMMY_HASH = "$argon2id$v=19$m=19456,t=2,p=1$Dy6Lfwm+u/C6QLt9SQW/Vg$Y4YBLClMWTA2lH0bB1Cyyrp4w2R+hVAzXgkF5Ma8GT0"


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _hasher.check_needs_rehash(_DUMMY_HASH):
        _DUMMY_HASH = _hasher.hash(os.urandom(24).hex())
    return _DUMMY_HASH


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


def default_home() -> Path:
    env = os.environ.get("SANDBOX_HOME")
    return Path(env).expanduser().resolve() if env else repo_root()


def validate_bank_id(bank: str) -> str:
    if not isinstance(bank, str) or not BANK_ID.fullmatch(bank):  # fullmatch: `$` passes a final "\n"
        raise InvalidInput(
            "bank",
            f"{bank!r} is not a valid bank id",
            "use 3-32 characters: a lowercase letter, then lowercase letters, digits or '-' (e.g. harbour-bank)",
        )
    return bank


def validate_user_name(name: str) -> str:
    if not isinstance(name, str) or not USER_NAME.fullmatch(name):
        raise InvalidInput(
            "user",
            f"{name!r} is not a valid user name",
            "use 2-32 characters: a lowercase letter, then lowercase letters, digits, '.', '_' or '-'",
        )
    return name


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Store:
    """One sandbox home. Cheap to construct; reads the store file on demand."""

    def __init__(self, home: Path | str | None = None):
        self.home = Path(home).expanduser().resolve() if home else default_home()
        self.state = self.home / "state"
        self.file = self.state / "store.json"
        self.workspaces = self.home / "workspaces"
        self.mlruns = self.home / "mlruns"
        self.keys = self.home / "keys"  # the audit key: outside state/, 0700 (sandbox/audit.py)

    # -- lifecycle -------------------------------------------------------
    @property
    def exists(self) -> bool:
        return self.file.exists()

    def init(self, admin: str, password: str) -> Actor:
        validate_user_name(admin)
        _check_password(password)
        if self.exists:
            raise StoreError(
                f"a sandbox store already exists at {self.home}",
                "use it as it is, or choose another with --home/SANDBOX_HOME",
            )
        for d in (self.state / "audit", self.state / "usage", self.workspaces, self.mlruns):
            d.mkdir(mode=0o700, parents=True, exist_ok=True)
        for d in (self.state, self.state / "audit", self.state / "usage", self.workspaces, self.mlruns):
            os.chmod(d, 0o700)  # store folders are the owner's only, whatever the caller's umask
        if not os.environ.get("SANDBOX_TRACKING_URI", "").strip():
            from . import trackdb

            trackdb.ensure_schema(self.mlruns)  # created and migrated once, here, not raced by first users
        data = {
            "schema": SCHEMA_VERSION,
            "banks": {},
            "quotas": {},
            "users": {admin: {"role": "admin", "bank": None, "hash": _hasher.hash(password), "created": _now()}},
        }
        self.audit_key.ensure()  # before the first entry: every entry of a new store carries its MAC
        atomic.write_json(self.file, data, mode=0o600)
        actor = Actor(admin, "admin")
        self.platform_audit().append("store.init", admin, home=str(self.home))
        return actor

    def _load(self) -> dict:
        if not self.exists:
            raise StoreError(
                f"no sandbox store at {self.home}",
                "run `sandbox init --admin NAME --password-stdin` or point --home/SANDBOX_HOME at an existing store",
            )
        try:
            data = json.loads(self.file.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or data.get("schema") != SCHEMA_VERSION:
                raise ValueError("unknown schema")
            for key in ("banks", "users", "quotas"):
                if not isinstance(data.get(key), dict):
                    raise ValueError(f"missing {key}")
        except (ValueError, UnicodeDecodeError) as exc:
            raise StoreError(
                f"the users file {self.file} is corrupted ({exc})",
                f"restore it from a backup ({self.file.name}.bak is written before each change); nothing was changed",
            ) from None
        except PermissionError:
            raise StoreError(f"cannot read {self.file}", "check the file's permissions") from None
        return data

    @contextmanager
    def _mutate(self) -> Iterator[dict]:
        """Read-modify-write under an exclusive lock; the previous file is kept as .bak."""
        self.state.mkdir(parents=True, exist_ok=True)
        lock = os.open(self.state / "store.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            _flock_with_timeout(lock, self.state / "store.lock")
            data = self._load()
            before = self.file.read_bytes()
            yield data
            atomic.write_bytes(self.file.with_name(self.file.name + ".bak"), before, mode=0o600)
            atomic.write_json(self.file, data, mode=0o600)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
            os.close(lock)

    # -- audit -----------------------------------------------------------
    def platform_audit(self) -> AuditLog:
        return AuditLog(self.state / "audit" / "platform.jsonl", key=self.audit_key)

    def bank_audit(self, bank: str) -> AuditLog:
        return AuditLog(self.state / "audit" / f"{validate_bank_id(bank)}.jsonl", key=self.audit_key)

    @functools.cached_property
    def audit_key(self) -> AuditKey:
        """The HMAC key of the audit chains (created by init, or lazily for an older store)."""
        return AuditKey(self.keys, self.state / "audit")

    # -- banks -----------------------------------------------------------
    def create_bank(self, bank: str, display_name: str | None = None, by: str = "admin") -> dict:
        validate_bank_id(bank)
        with self._mutate() as data:
            if bank in data["banks"]:
                raise InvalidInput("bank", f"{bank} already exists", "choose another id, or use the existing bank")
            record = {"name": display_name or bank, "created": _now()}
            data["banks"][bank] = record
            quota_s = default_quota_s()
            data["quotas"][bank] = {"compute_seconds": quota_s, "set": _now(), "by": by, "default": True}
        (self.workspaces / bank).mkdir(mode=0o700, parents=True, exist_ok=True)
        self.platform_audit().append("bank.create", by, bank=bank, compute_seconds=quota_s)
        self.bank_audit(bank).append("bank.create", by, bank=bank, compute_seconds=quota_s)
        return {"id": bank, **record, "quota_s": quota_s}

    def banks(self) -> dict[str, dict]:
        return self._load()["banks"]

    def require_bank(self, bank: str) -> str:
        validate_bank_id(bank)
        if bank not in self.banks():
            raise NotFound(
                f"unknown bank {bank!r}", "list banks with `sandbox bank list`, or ask an admin to create it"
            )
        return bank

    # -- users -----------------------------------------------------------
    def add_user(self, name: str, role: str, password: str, bank: str | None = None, by: str = "admin") -> Actor:
        validate_user_name(name)
        if role not in ROLES:
            raise InvalidInput("role", f"{role!r} is not a role", f"use one of {', '.join(ROLES)}")
        if role == "scientist":
            if not bank:
                raise InvalidInput("bank", "a scientist needs a bank", "pass --bank BANK")
            self.require_bank(bank)
        elif bank:
            raise InvalidInput("bank", f"a {role} works across banks and takes no bank", "drop --bank")
        _check_password(password)
        digest = _hasher.hash(password)
        with self._mutate() as data:
            if name in data["users"]:
                raise InvalidInput("user", f"{name} already exists", "choose another name")
            data["users"][name] = {"role": role, "bank": bank, "hash": digest, "created": _now()}
        self.platform_audit().append("user.add", by, user=name, role=role, bank=bank)
        return Actor(name, role, bank)

    def users(self) -> dict[str, dict]:
        return {n: {k: v for k, v in u.items() if k != "hash"} for n, u in self._load()["users"].items()}

    def actor(self, name: str) -> Actor:
        users = self._load()["users"]
        if name not in users:
            raise NotFound(f"unknown user {name!r}", "check the name, or ask an admin to add you")
        u = users[name]
        return Actor(name, u["role"], u.get("bank"))

    def authenticate(self, name: str, password: str, client: str | None = None) -> Actor:
        """Check a user's password. Every face signs in here, passing `client` when it has one (the web app: the
        remote address), so the throttle (sandbox/throttle.py) holds for all: after a few failures for a user
        name or a client, attempts are refused unchecked for a doubling delay. An unknown name is checked against
        a dummy hash and throttled alike, so neither timing nor the throttle tells who exists."""
        users = self._load()["users"]
        throttle = LoginThrottle(self.state)
        keys = [user_key(name)] + ([client_key(client)] if client else [])
        closed = throttle.closed(keys)
        if closed is not None:
            self.platform_audit().append(
                "auth.throttled",
                name if name in users else "(unknown)",
                user=name,
                client=client,
                retry_after_s=round(closed.retry_after_s, 1),
            )
            raise login_refusal(name, closed)
        u = users.get(name)
        try:
            _hasher.verify(u["hash"] if u else _dummy_hash(), password)
            if u is None:
                raise VerificationError()
        except (VerificationError, InvalidHashError):
            opened = throttle.failed(keys)
            extra = {"closed_for_s": round(opened.retry_after_s, 1)} if opened else {}
            self.platform_audit().append("auth.failed", name if u else "(unknown)", user=name, client=client, **extra)
            raise AuthenticationFailed(
                f"wrong user name or password for {name!r}", "check SANDBOX_USER/--user and SANDBOX_PASSWORD"
            ) from None
        throttle.succeeded(user_key(name))
        return Actor(name, u["role"], u.get("bank"))

    # -- quotas (usage lives in compute.py) -------------------------------
    def set_quota(self, bank: str, compute_seconds: float, by: str = "admin") -> None:
        self.require_bank(bank)
        if not (compute_seconds >= 0):
            raise InvalidInput("seconds", f"{compute_seconds} is not a valid quota", "give a number of seconds >= 0")
        with self._mutate() as data:
            data["quotas"][bank] = {"compute_seconds": float(compute_seconds), "set": _now(), "by": by}
        self.platform_audit().append("quota.set", by, bank=bank, compute_seconds=float(compute_seconds))
        self.bank_audit(bank).append("quota.set", by, compute_seconds=float(compute_seconds))

    def quota_is_default(self, bank: str) -> bool:
        """True while the bank's quota is the one it was created with (no admin has set it)."""
        q = self._load()["quotas"].get(bank)
        return q is None or bool(q.get("default"))

    def quota(self, bank: str) -> float | None:
        q = self._load()["quotas"].get(bank)
        return None if q is None else float(q["compute_seconds"])


DEFAULT_QUOTA_S = 36_000.0  # ten hours of wall-clock compute: a centre allocates time per project, never "unlimited"


def default_quota_s() -> float:
    """A new bank's compute quota: SANDBOX_DEFAULT_QUOTA_S when set (seconds), else ten hours; the admin changes it
    with `sandbox quota set`."""
    raw = os.environ.get("SANDBOX_DEFAULT_QUOTA_S", "").strip()
    try:
        value = float(raw) if raw else DEFAULT_QUOTA_S
    except ValueError:
        raise InvalidInput(
            "SANDBOX_DEFAULT_QUOTA_S",
            f"{raw!r} is not a number of seconds",
            "set it to seconds >= 0, e.g. 36000, or unset it",
        ) from None
    if not value >= 0:
        raise InvalidInput("SANDBOX_DEFAULT_QUOTA_S", f"{raw!r} is not a valid quota", "give seconds >= 0")
    return value


def _flock_with_timeout(fd: int, path: Path) -> None:
    """Wait a while for another writer; then fail with a message instead of hanging."""
    atomic.flock_with_timeout(
        fd,
        float(os.environ.get("SANDBOX_LOCK_TIMEOUT", "15")),
        f"the store is locked by another sandbox process ({path})",
        "wait for it to finish and retry; nothing was changed",
    )


def _check_password(password: str) -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise InvalidInput("password", f"must be at least {MIN_PASSWORD} characters", "choose a longer password")
