"""Per-user API keys for `sandbox api`: shown once, stored hashed, scoped to the user's bank and role, expiring.

A key reads `sbx_<id>_<secret>`: the id (12 hex) names the record, the secret (32 random bytes, base64url) proves it.
Only SHA-256 of the secret is stored (`state/api-keys.json`, 0600, read-modify-write under `state/api-keys.lock`):
a 256-bit random secret cannot be guessed, so a slow password hash (argon2, ~20 ms) would buy nothing and would put
20 ms on every call; the comparison is constant-time.

A key carries what its user was when it was made (role, bank). It is refused when revoked, expired, or when the
user's role or bank changed since (a scientist moved to another bank does not keep a key into the old one). The
actor a key yields is the store's user: every request still goes through the workspace door (`open_workspace`,
`ctx.require`), so a key can do nothing its user could not do at the CLI. A reviewer's key may be narrowed to one
bank. Creation, revocation and refusals are in the platform audit chain.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from . import atomic
from .access import Actor, can, require
from .errors import AuthenticationFailed, InvalidInput, NotFound
from .store import Store, validate_bank_id

PREFIX = "sbx"
TOKEN = re.compile(r"^sbx_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
DEFAULT_DAYS = 90
MAX_DAYS = 366
DEFAULT_RATE_PER_MIN = 600  # a notebook or an app's back end; raised per key with --rate-limit
MAX_RATE_PER_MIN = 100_000
MAX_KEYS_PER_USER = 20
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$")


@dataclass(frozen=True)
class ApiKey:
    """One key's record (never its secret)."""

    id: str
    name: str
    user: str
    role: str
    bank: str | None  # the bank it reaches: a scientist's own; a reviewer's one bank, or None for all
    created: str
    expires: str
    rate_per_min: int
    revoked: str | None = None
    revoked_by: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def state(self) -> str:
        if self.revoked:
            return "revoked"
        return "expired" if _parse(self.expires) <= datetime.now(UTC) else "active"


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


class KeyStore:
    """The API keys of one store. Reads are cached by the file's (mtime, size), so a revocation made by
    `sandbox api-key revoke` in another process holds on the running server's next request."""

    def __init__(self, store: Store):
        self.store = store
        self.path = store.state / "api-keys.json"
        self.lock_path = store.state / "api-keys.lock"
        self._cache: tuple[tuple[int, int], dict] | None = None
        self._cache_lock = threading.Lock()

    # -- file ---------------------------------------------------------------
    def _read(self) -> dict:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return {}
        stamp = (st.st_mtime_ns, st.st_size)
        with self._cache_lock:
            if self._cache is not None and self._cache[0] == stamp:
                return self._cache[1]
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            from .errors import StoreError

            raise StoreError(
                f"the API key file {self.path} is corrupted",
                "restore it from a backup, or move it aside and create new keys",
            ) from None
        keys = data.get("keys", {}) if isinstance(data, dict) else {}
        with self._cache_lock:
            self._cache = (stamp, keys)
        return keys

    @contextmanager
    def _mutate(self) -> Iterator[dict]:
        self.store.state.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            atomic.flock_with_timeout(
                fd, 15.0, f"the API key file is locked by another sandbox process ({self.lock_path})"
            )
            keys = dict(self._read())
            yield keys
            atomic.write_json(self.path, {"schema": 1, "keys": keys}, mode=0o600)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    # -- manage ---------------------------------------------------------------
    def create(
        self,
        actor: Actor,
        name: str = "default",
        days: int = DEFAULT_DAYS,
        bank: str | None = None,
        rate_per_min: int = DEFAULT_RATE_PER_MIN,
    ) -> tuple[ApiKey, str]:
        """A new key for `actor` (signed in); returns its record and the token, which is never shown again."""
        require(
            actor,
            "api_key.create",
            audit=self.store.platform_audit(),
            message=f"{actor.name} is an {actor.role}: the API serves banks' work and reviews, not platform administration",
            fix="create keys as a scientist or a reviewer",
        )
        if not isinstance(name, str) or not NAME.fullmatch(name):
            raise InvalidInput(
                "name",
                f"{name!r} is not a key name",
                "use 1-64 letters, digits, spaces, '.', '_' or '-', e.g. --name notebook",
            )
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
            raise InvalidInput("days", f"{days!r} is not a lifetime", f"give 1 to {MAX_DAYS} days, e.g. --days 30")
        if (
            isinstance(rate_per_min, bool)
            or not isinstance(rate_per_min, int)
            or not 1 <= rate_per_min <= MAX_RATE_PER_MIN
        ):
            raise InvalidInput(
                "rate_limit", f"{rate_per_min!r} is not a rate", f"give 1 to {MAX_RATE_PER_MIN} requests a minute"
            )
        scope = self._scope(actor, bank)
        key_id, secret = secrets.token_hex(6), base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
        now = _now()
        rec = ApiKey(
            key_id,
            name,
            actor.name,
            actor.role,
            scope,
            now.isoformat(),
            (now + timedelta(days=days)).isoformat(),
            rate_per_min,
        )
        with self._mutate() as keys:
            live = [k for k in keys.values() if k["user"] == actor.name and ApiKey(**_public(k)).state == "active"]
            if len(live) >= MAX_KEYS_PER_USER:
                raise InvalidInput(
                    "name",
                    f"{actor.name} already has {len(live)} active keys (limit {MAX_KEYS_PER_USER})",
                    "revoke keys you no longer use: `sandbox api-key revoke KEY_ID`",
                )
            keys[key_id] = {**rec.to_dict(), "sha256": _digest(secret)}
        self.store.platform_audit().append(
            "api_key.create",
            actor.name,
            key_id=key_id,
            name=name,
            role=actor.role,
            bank=scope,
            expires=rec.expires,
            rate_per_min=rate_per_min,
        )
        return rec, f"{PREFIX}_{key_id}_{secret}"

    def _scope(self, actor: Actor, bank: str | None) -> str | None:
        """The bank a new key reaches: the one asked for, if the actor may open it; else the actor's own (a
        scientist's bank; None for a reviewer: every bank)."""
        if bank is None:
            return actor.bank
        validate_bank_id(bank)
        self.store.require_bank(bank)
        require(
            actor,
            "workspace.open",
            bank,
            audit=self.store.platform_audit(),
            message=f"{actor.name} may not reach bank {bank}",
            fix="create a key for your own bank",
            key_action="api_key.create",
        )
        return bank

    def list(self, actor: Actor, everyone: bool = False) -> list[ApiKey]:
        """The actor's own keys; with `everyone`, every user's (an admin's view: `user.list`)."""
        if everyone:
            require(
                actor,
                "user.list",
                audit=self.store.platform_audit(),
                message=f"{actor.name} may not list other users' keys",
                fix="list your own keys (drop --all)",
            )
        keys = [ApiKey(**_public(k)) for k in self._read().values()]
        return sorted((k for k in keys if everyone or k.user == actor.name), key=lambda k: (k.user, k.created, k.id))

    def revoke(self, actor: Actor, key_id: str) -> ApiKey:
        """Revoke one of the actor's keys (an admin: anyone's). Takes effect on the server's next request."""
        if not isinstance(key_id, str) or not re.fullmatch(r"[0-9a-f]{12}", key_id):
            raise InvalidInput(
                "key_id", f"{key_id!r} is not a key id", "use an id from `sandbox api-key list` (12 hex digits)"
            )
        with self._mutate() as keys:
            rec = keys.get(key_id)
            if rec is None or (rec["user"] != actor.name and not can(actor, "user.add")):
                raise NotFound(f"no key {key_id} of yours", "list your keys with `sandbox api-key list`")
            if not rec.get("revoked"):
                keys[key_id] = {**rec, "revoked": _now().isoformat(), "revoked_by": actor.name}
            out = ApiKey(**_public(keys[key_id]))
        self.store.platform_audit().append("api_key.revoke", actor.name, key_id=key_id, user=out.user)
        return out

    # -- check ----------------------------------------------------------------
    def authenticate(self, token: str, client: str | None = None) -> tuple[Actor, ApiKey]:
        """The actor and key behind a bearer token, or AuthenticationFailed (audited, without the secret)."""
        m = TOKEN.fullmatch(token or "")
        if not m:
            raise self._refuse(
                None,
                "malformed",
                client,
                "the key is not an sbx_ key",
                "send `Authorization: Bearer sbx_...` with a key from `sandbox api-key create`",
            )
        key_id, secret = m.groups()
        rec = self._read().get(key_id)
        if rec is None or not hmac.compare_digest(rec.get("sha256", ""), _digest(secret)):
            raise self._refuse(
                key_id,
                "unknown",
                client,
                "the API key is not valid",
                "check the key, or create one with `sandbox api-key create`",
            )
        key = ApiKey(**_public(rec))
        if key.state != "active":
            when = key.revoked if key.revoked else key.expires
            raise self._refuse(
                key_id,
                key.state,
                client,
                f"API key {key_id} was {key.state} on {when}",
                "create a new key with `sandbox api-key create`",
            )
        try:
            actor = self.store.actor(key.user)
        except NotFound:
            raise self._refuse(
                key_id, "user gone", client, f"the user of API key {key_id} no longer exists", "ask an admin"
            ) from None
        if actor.role != key.role or (actor.bank is not None and key.bank != actor.bank):
            raise self._refuse(
                key_id,
                "role changed",
                client,
                f"{key.user}'s role or bank changed since API key {key_id} was made",
                "create a new key",
            )
        return actor, key

    def _refuse(self, key_id: str | None, why: str, client: str | None, message: str, fix: str) -> AuthenticationFailed:
        self.store.platform_audit().append("api.auth_failed", "(api)", key_id=key_id, reason=why, client=client)
        return AuthenticationFailed(message, fix)


def _public(rec: dict) -> dict:
    return {k: rec.get(k) for k in ApiKey.__dataclass_fields__}
