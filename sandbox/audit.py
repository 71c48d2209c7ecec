"""Append-only, hash-chained audit logs: one per bank plus one for the platform, keyed by the store's audit key.

Each line is canonical JSON holding `seq`, `prev` (the previous entry's hash), `hash` (SHA-256 of the entry
without its own `hash` and `mac`) and, in a keyed log, `mac`: HMAC-SHA256 under the store's audit key of the
log's name and `hash`. A sidecar `.head` file records the last `seq`/`hash` (and a MAC of them), so truncation
is caught as well as edits, deletions, insertions and reorders. Appends take an exclusive `flock` on the head
file and write each line with one `write()` on an O_APPEND descriptor, so several processes can append at once
and no entry is ever half-written. (The head is written after the line: a writer killed between the two leaves
a head one entry behind, which verify reports rather than hides.)

What each check proves:

- `verify()` without a key (a bare `AuditLog(path)`): the file is internally consistent. Anyone who can write
  the file can edit an entry and recompute every hash, link and the head, so this alone proves little.
- `verify()` with the store's key (`Store.platform_audit()`, `Store.bank_audit()`): every entry after keying
  started was written by a holder of the key, in this log, in this order, and the head was too. The key lives
  outside `state/` (`<home>/keys/audit.key`, folder 0700, file 0600), so whoever can write the logs but not
  read the key cannot rewrite them. Entries written before the store had a key ("legacy") are pinned by the
  count and last hash recorded in the key's folder when keying started, so stripping MACs does not make an
  entry legacy. It cannot catch a rollback to an earlier, complete state of the log and head (both validly
  MAC'd), nor anything done by whoever holds the key: local mode trusts the owner of the store's files.
- `verify_anchor(anchor)`: the log still extends a signed head (`anchor()`: log, seq, hash, time) that a
  reviewer kept outside the sandbox: the entry at that seq still has the anchored hash, so every entry up to it
  is as it was when anchored (SHA-256 chain), whoever holds the key. Anchors carry an HMAC under the key and, when
  `cryptography` is installed (it is an MLflow dependency), an Ed25519 signature by a key derived from the audit
  key, with its public key: a reviewer can check an anchor without the audit key, after recording the public key
  (or `key_id`) from a first anchor. The signed bytes are b"sandbox-audit-anchor-v1\\0" followed by the compact,
  key-sorted JSON of {v, log, seq, hash, time, key_id} (`check_anchor_signature`).
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import atomic
from .crashpoint import crash_point
from .errors import AuditChainBroken, StoreError

GENESIS = "0" * 64
ROLL_FORWARD_WINDOW = 1 << 20  # bytes of the log's end read to find entries a killed writer left after the head
HEAD_WIDTH = 240  # fixed-width head record: {"seq", "hash", "mac"} padded with spaces (older heads were 120)
KEY_FILE = "audit.key"
LEGACY_FILE = "audit-legacy.json"
ANCHOR_VERSION = 1
_ED25519_CONTEXT = b"sandbox-audit-anchor-v1\0"

# Loaded keys, by key file and its (device, inode, mtime): one stat per append instead of a read.
_SECRETS: dict[str, tuple[tuple[int, ...], bytes]] = {}


def _canonical(entry: dict) -> bytes:
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode("utf-8")


def _entry_hash(entry: dict) -> str:
    body = {k: v for k, v in entry.items() if k not in ("hash", "mac")}
    return hashlib.sha256(_canonical(body)).hexdigest()


_PADS: dict[bytes, tuple[Any, Any]] = {}


def _hmac(secret: bytes, *parts: str) -> str:
    """HMAC-SHA256 (RFC 2104) of the parts joined by NUL, from the key's precomputed inner and outer states:
    about 1 us, against 4 us for `hmac.digest`, whose OpenSSL 3 set-up dominates a message this short."""
    pads = _PADS.get(secret)
    if pads is None:
        block = (hashlib.sha256(secret).digest() if len(secret) > 64 else secret).ljust(64, b"\0")
        pads = _PADS[secret] = (
            hashlib.sha256(bytes(x ^ 0x36 for x in block)),
            hashlib.sha256(bytes(x ^ 0x5C for x in block)),
        )
    inner, outer = pads[0].copy(), pads[1].copy()
    inner.update("\0".join(parts).encode("utf-8"))
    outer.update(inner.digest())
    return outer.hexdigest()


def _ed25519():
    """The Ed25519 classes when `cryptography` is installed (an MLflow dependency), else None."""
    try:
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError:  # pragma: no cover - cryptography ships with mlflow
        return None
    return ed25519


class AuditKey:
    """The store's audit key: 32 random bytes (hex) in `<home>/keys/audit.key`, outside `state/`.

    Created by `Store.init`, and lazily (under the key folder's lock, so processes starting at once on an
    older store agree on one key) the first time an older store's logs are appended to or verified. Keying an
    older store records, beside the key, how many entries each log in `logs_dir` had and the last one's hash:
    those entries need no MAC, and every later one does.
    """

    def __init__(self, key_dir: Path | str, logs_dir: Path | str):
        # Built on every append: plain strings here, Paths only when keying (pathlib parsing costs more than HMAC).
        self.dir = Path(key_dir)
        self.logs_dir = Path(logs_dir)
        self._file = os.path.join(key_dir, KEY_FILE)
        self._secret: bytes | None = None  # read once per instance (Store keeps one)

    @property
    def path(self) -> Path:
        return Path(self._file)

    @property
    def legacy_path(self) -> Path:
        return self.dir / LEGACY_FILE

    # -- the secret ---------------------------------------------------------
    def secret(self) -> bytes:
        """The key's bytes, created if the store has none yet. Refuses a key others could read."""
        if self._secret is not None:
            return self._secret
        try:
            st = os.stat(self._file)
        except FileNotFoundError:
            return self.ensure()
        stamp = (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_mode, st.st_uid)  # a chmod is seen, not cached over
        cached = _SECRETS.get(self._file)
        if cached is not None and cached[0] == stamp:
            self._secret = cached[1]
            return self._secret
        return self._read()

    def _read(self) -> bytes:
        fd = os.open(self._file, os.O_RDONLY | os.O_NOFOLLOW)
        try:
            st = os.fstat(fd)
            if st.st_mode & 0o077 or st.st_uid != os.geteuid():
                raise StoreError(
                    f"the audit key {self.path} is readable by others or not owned by this user",
                    f"chmod 600 {self.path} as the store's owner (and 700 its folder), then rotate it "
                    "if others may have read it",
                )
            raw = os.read(fd, 4096).strip()
        finally:
            os.close(fd)
        try:
            secret = bytes.fromhex(raw.decode("ascii"))
        except (ValueError, UnicodeDecodeError):
            secret = b""
        if len(secret) < 32:
            raise StoreError(f"the audit key {self.path} is damaged", "restore it from the backup of the keys folder")
        _SECRETS[self._file] = ((st.st_dev, st.st_ino, st.st_mtime_ns, st.st_mode, st.st_uid), secret)
        self._secret = secret
        return secret

    def ensure(self) -> bytes:
        """Create the key if it does not exist yet (race-free across processes); return it."""
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self.dir.stat().st_mode & 0o077:
            os.chmod(self.dir, 0o700)
        lock = os.open(self.dir / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if self.path.exists():
                return self._read()
            legacy = self._scan_legacy()
            secret = secrets.token_bytes(32)
            atomic.write_json(self.legacy_path, legacy, mode=0o600)  # before the key: a crash leaves no key
            atomic.write_bytes(self.path, secret.hex().encode("ascii") + b"\n", mode=0o600)
        finally:
            os.close(lock)
        return self._read()

    def _scan_legacy(self) -> dict[str, dict]:
        """Each existing log's entry count and last hash at keying time; refuse if a log already has MACs."""
        legacy: dict[str, dict] = {}
        if not self.logs_dir.is_dir():
            return legacy
        for log in sorted(self.logs_dir.glob("*.jsonl")):
            lines = [ln for ln in log.read_bytes().splitlines() if ln.strip()]
            last: dict = {}
            for raw in reversed(lines):
                try:
                    last = json.loads(raw)
                    break
                except ValueError:
                    continue
            if not isinstance(last, dict):
                last = {}
            if "mac" in last:
                raise StoreError(
                    f"the audit key {self.path} is missing but {log} was written with one",
                    f"restore {self.path.parent} from a backup; a new key cannot vouch for those entries",
                )
            legacy[log.name] = {
                "entries": int(last.get("seq", len(lines))),
                "hash": last.get("hash"),
                "keyed_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
        return legacy

    def legacy(self, log_name: str) -> tuple[int, str | None]:
        """(entries, last hash) of `log_name` when keying started: (0, None) for a log begun under the key."""
        self.secret()  # keying an older store records the legacy counts first
        try:
            rec = json.loads(self.legacy_path.read_text(encoding="utf-8")).get(log_name)
        except FileNotFoundError:
            return 0, None  # no record: every entry needs its MAC
        except ValueError:
            raise StoreError(
                f"{self.legacy_path} is damaged", "restore it from the backup of the keys folder"
            ) from None
        if not rec:
            return 0, None
        return int(rec["entries"]), rec.get("hash")

    # -- MACs and signatures ----------------------------------------------
    def entry_mac(self, log_name: str, digest: str) -> str:
        return _hmac(self.secret(), "entry", log_name, digest)

    def head_mac(self, log_name: str, seq: int, digest: str) -> str:
        return _hmac(self.secret(), "head", log_name, str(seq), digest)

    def key_id(self) -> str:
        """A public fingerprint of the key, to tell which store signed an anchor."""
        return _hmac(self.secret(), "key-id")[:16]

    def _signer(self):
        ed = _ed25519()
        if ed is None:
            return None
        seed = hmac.new(self.secret(), b"sandbox-audit-anchor-ed25519-seed", hashlib.sha256).digest()
        return ed.Ed25519PrivateKey.from_private_bytes(seed)

    def public_key(self) -> str | None:
        """The anchors' Ed25519 public key (hex), or None without `cryptography`."""
        signer = self._signer()
        if signer is None:
            return None
        from cryptography.hazmat.primitives import serialization

        return signer.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()

    def sign_anchor(self, payload: dict) -> dict:
        body = _canonical(payload)
        signed = dict(payload, mac=_hmac(self.secret(), "anchor", body.decode("utf-8")))
        signer = self._signer()
        if signer is not None:
            signed["public_key"] = self.public_key()
            signed["ed25519"] = signer.sign(_ED25519_CONTEXT + body).hex()
        return signed


def _anchor_payload(anchor: dict) -> dict:
    return {k: anchor[k] for k in ("v", "log", "seq", "hash", "time", "key_id")}


def check_anchor_signature(anchor: dict, public_key: str) -> bool:
    """Check an anchor's Ed25519 signature with a public key recorded earlier: no audit key needed."""
    ed = _ed25519()
    if ed is None or not isinstance(anchor.get("ed25519"), str):
        return False
    try:
        key = ed.Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key))
        key.verify(bytes.fromhex(anchor["ed25519"]), _ED25519_CONTEXT + _canonical(_anchor_payload(anchor)))
    except Exception:  # noqa: BLE001 - any malformed or wrong signature is simply "not valid"
        return False
    return True


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    entries: int
    first_bad_line: int | None = None
    reason: str = ""
    path: str = ""

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "first_bad_line": self.first_bad_line,
            "reason": self.reason,
            "path": self.path,
        }


class AuditLog:
    """One chained log. With `key` (the store's AuditKey) every entry and the head carry a MAC."""

    def __init__(self, path: Path | str, key: AuditKey | None = None):
        self.path = Path(path)
        self.head_path = self.path.with_name(self.path.name + ".head")
        self.key = key
        self.name = self.path.name

    @contextmanager
    def _locked(self) -> Iterator[int]:
        """Hold the exclusive lock on the head file (which doubles as the lock) and yield its fd."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.head_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield fd
        finally:
            os.close(fd)  # closing releases the lock

    @staticmethod
    def _parse_head_record(raw: bytes) -> dict:
        raw = raw.strip(b"\0 \n")
        if not raw:
            return {"seq": 0, "hash": GENESIS}
        head = json.loads(raw)
        return {"seq": int(head["seq"]), "hash": str(head["hash"]), "mac": head.get("mac"), "size": head.get("size")}

    @classmethod
    def _parse_head(cls, raw: bytes) -> tuple[int, str]:
        head = cls._parse_head_record(raw)
        return head["seq"], head["hash"]

    def _read_head_record(self) -> dict:
        try:
            return self._parse_head_record(self.head_path.read_bytes())
        except FileNotFoundError:
            return {"seq": 0, "hash": GENESIS}

    def _read_head(self) -> tuple[int, str]:
        head = self._read_head_record()
        return head["seq"], head["hash"]

    def _write_head(self, fd: int, seq: int, digest: str, secret: bytes | None = None, size: int | None = None) -> None:
        # Fixed-width record rewritten in place under the lock: one small pwrite, no rename. `size` (the log's
        # length in bytes, outside the MAC) is only a hint: an append that finds the log longer rolls forward.
        head: dict[str, Any] = {"seq": seq, "hash": digest}
        if secret is not None:
            head["mac"] = _hmac(secret, "head", self.name, str(seq), digest)
        if size is not None:
            head["size"] = size
        os.pwrite(fd, json.dumps(head).encode().ljust(HEAD_WIDTH) + b"\n", 0)

    def _roll_forward(self, seq: int, prev: str, secret: bytes | None) -> tuple[int, str]:
        """(seq, hash) past entries a writer killed between its line and its head left after the head: only
        entries that continue the chain from the head, each with a valid hash (and MAC, keyed). Else unchanged."""
        try:
            with open(self.path, "rb") as fh:
                size = fh.seek(0, os.SEEK_END)
                start = max(0, size - ROLL_FORWARD_WINDOW)
                fh.seek(start)
                tail = fh.read().split(b"\n")
        except FileNotFoundError:
            return seq, prev
        lines = tail[1:-1] if start else tail[:-1]  # a window that starts mid-line drops that line; the last is ''
        later = []
        for raw in reversed(lines):
            try:
                entry = json.loads(raw)
            except ValueError:
                return seq, prev
            if not isinstance(entry, dict) or not isinstance(entry.get("seq"), int) or entry["seq"] <= seq:
                break
            later.append(entry)
        for entry in reversed(later):
            ok = (
                entry["seq"] == seq + 1
                and entry.get("prev") == prev
                and _entry_hash(entry) == entry.get("hash")
                and (
                    secret is None
                    or hmac.compare_digest(str(entry.get("mac")), _hmac(secret, "entry", self.name, entry["hash"]))
                )
            )
            if not ok:
                break
            seq, prev = entry["seq"], entry["hash"]
        return seq, prev

    def repair_head(self) -> bool:
        """Roll the head forward over entries a killed writer appended but did not record in the head (see
        `_roll_forward`); the log itself is never rewritten. True if the head moved."""
        secret = self.key.secret() if self.key is not None else None
        with self._locked() as head_fd:
            head = self._parse_head_record(os.pread(head_fd, HEAD_WIDTH + 1, 0))
            seq, prev = self._roll_forward(head["seq"], head["hash"], secret)
            if seq == head["seq"]:
                return False
            self._write_head(head_fd, seq, prev, secret, self.path.stat().st_size)
        return True

    def append(self, event: str, actor: str, **data: Any) -> dict:
        return self.append_many([(event, actor, data)])[-1]

    def append_many(self, events: Iterable[tuple[str, str, dict]]) -> list[dict]:
        """Append events in order under one lock acquisition."""
        secret = self.key.secret() if self.key is not None else None  # before the lock: keying may scan logs
        written: list[dict] = []
        with self._locked() as head_fd:
            head = self._parse_head_record(os.pread(head_fd, HEAD_WIDTH + 1, 0))
            seq, prev = head["seq"], head["hash"]
            try:
                size = os.stat(self.path).st_size
            except FileNotFoundError:
                size = 0
            if size != head.get("size") and (size or seq):  # a writer was killed between its line and its head
                seq, prev = self._roll_forward(seq, prev, secret)
            lines = []
            for event, actor, data in events:
                seq += 1
                entry = {
                    "seq": seq,
                    "ts": datetime.now(UTC).isoformat(timespec="microseconds"),
                    "event": event,
                    "actor": actor,
                    "data": data,
                    "prev": prev,
                }
                entry["hash"] = prev = _entry_hash(entry)
                if secret is not None:
                    entry["mac"] = _hmac(secret, "entry", self.name, prev)
                lines.append(_canonical(entry) + b"\n")
                written.append(entry)
            if not lines:
                return written
            blob = b"".join(lines)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, blob)
                crash_point("audit.before_head")
            finally:
                os.close(fd)
            self._write_head(head_fd, seq, prev, secret, size + len(blob))
        return written

    def entries(self) -> list[dict]:
        """All entries, parsed; raises ValueError on an unparseable line (verify() says which)."""
        if not self.path.exists():
            return []
        with open(self.path, "rb") as fh:
            return [json.loads(line) for line in fh if line.strip()]

    def tail(self, n: int = 50) -> list[dict]:
        return self.entries()[-n:]

    def verify(self) -> VerifyResult:
        """Walk the chain (and, keyed, every MAC); name the first bad line (1-based) and why."""
        return self._verify()[0]

    def _verify(self, want_seq: int | None = 0) -> tuple[VerifyResult, str | None]:
        """verify(), and the hash of entry `want_seq` (None: of the last entry; None if the log is shorter)."""
        path = str(self.path)
        head = self._read_head_record()
        head_seq = head["seq"]
        secret = legacy_n = legacy_hash = None
        if self.key is not None:
            secret = self.key.secret()
            legacy_n, legacy_hash = self.key.legacy(self.name)
        wanted = GENESIS if not want_seq else None
        if not self.path.exists():
            if head_seq:
                return VerifyResult(False, 0, 1, f"log is missing but its head records {head_seq} entries", path), None
            if legacy_n:
                return VerifyResult(
                    False, 0, 1, f"log is missing but it had {legacy_n} entries when the store was keyed", path
                ), None
            return VerifyResult(True, 0, path=path), wanted
        prev = GENESIS
        n = 0
        with open(self.path, "rb") as fh:
            for lineno, raw in enumerate(fh, start=1):
                digest, problem = self._line_problem(raw, lineno, prev, secret, legacy_n, legacy_hash)
                if problem is not None:
                    return VerifyResult(False, n, lineno, problem, path), wanted
                if lineno == want_seq:
                    wanted = digest
                prev = digest
                n = lineno
        bad = self._head_problem(head, n, prev, secret, legacy_n, legacy_hash)
        if bad is not None:
            return VerifyResult(False, n, bad[0], bad[1], path), wanted
        return VerifyResult(True, n, path=path), (prev if want_seq is None else wanted)

    def _line_problem(
        self, raw: bytes, lineno: int, prev: str, secret, legacy_n, legacy_hash
    ) -> tuple[str | None, str | None]:
        """(the entry's hash, None) if line `lineno` is whole, untouched and linked to `prev`; else (None, why)."""
        if not raw.endswith(b"\n"):
            return None, "last line is incomplete (half-written or truncated)"
        try:
            entry = json.loads(raw)
            seq, entry_prev, digest = entry["seq"], entry["prev"], entry["hash"]
        except (ValueError, KeyError, TypeError):
            return None, "line is not a valid audit entry (edited or corrupted)"
        if _entry_hash(entry) != digest:
            return None, "entry content does not match its hash (edited)"
        if seq != lineno:
            what = "deleted" if seq > lineno else "inserted or duplicated"
            return None, f"sequence {seq} where {lineno} was expected (an entry was {what}, or entries reordered)"
        if entry_prev != prev:
            return None, "previous-hash link broken (entries inserted or reordered)"
        if secret is not None:
            mac = entry.get("mac")
            if mac is None and lineno > legacy_n:
                return None, "entry has no MAC (stripped, or written without the store's audit key)"
            if mac is not None and not hmac.compare_digest(str(mac), _hmac(secret, "entry", self.name, digest)):
                return None, (
                    "entry MAC does not match (rewritten without the store's audit key, or copied from another log)"
                )
            if lineno == legacy_n and legacy_hash is not None and digest != legacy_hash:
                return None, "entry differs from the one recorded when the store was keyed (rewritten)"
        return digest, None

    def _head_problem(self, head: dict, n: int, prev: str, secret, legacy_n, legacy_hash) -> tuple[int, str] | None:
        """(bad line, why) if the head record does not match a log of `n` entries ending in `prev`; else None."""
        head_seq, head_hash = head["seq"], head["hash"]
        if n != head_seq or (n and prev != head_hash):
            if n < head_seq:
                return n + 1, f"log ends after {n} entries but its head records {head_seq} (truncated)"
            if n == head_seq + 1:
                return n, (
                    "head is one entry behind the log (a writer was interrupted mid-append, or the head was altered)"
                )
            return (
                head_seq + 1 if n > head_seq else n,
                f"log has {n} entries but its head records {head_seq} (head file altered)",
            )
        if secret is not None:
            if n < legacy_n:
                return n + 1, f"log ends after {n} entries but it had {legacy_n} when the store was keyed (truncated)"
            mac = head.get("mac")
            unkeyed_ok = n == 0 or (n == legacy_n and prev == legacy_hash)
            if mac is None and not unkeyed_ok:
                return n, "head has no MAC (rewritten without the store's audit key)"
            if mac is not None and not hmac.compare_digest(str(mac), _hmac(secret, "head", self.name, str(n), prev)):
                return n, "head MAC does not match (rewritten without the store's audit key)"
        return None

    # -- anchors ------------------------------------------------------------
    @property
    def log_name(self) -> str:
        """The name anchors carry: 'platform' or the bank id."""
        return self.path.stem

    def anchor(self) -> dict:
        """A signed head (log, seq, hash, time) for a reviewer to keep outside the sandbox."""
        if self.key is None:
            raise StoreError("this audit log has no key to sign an anchor with", "open it through the store")
        result, digest = self._verify(want_seq=None)  # the entries verified, not a head read later
        if not result.ok:
            raise AuditChainBroken(
                f"audit log {result.path} is broken at line {result.first_bad_line}: {result.reason}",
                "an anchor vouches for a valid log only; restore the log from a backup",
            )
        payload = {
            "v": ANCHOR_VERSION,
            "log": self.log_name,
            "seq": result.entries,
            "hash": digest,
            "time": datetime.now(UTC).isoformat(timespec="seconds"),
            "key_id": self.key.key_id(),
        }
        return self.key.sign_anchor(payload)

    def verify_anchor(self, anchor: Any) -> VerifyResult:
        """Does this log still extend `anchor`? Refuses an anchor not signed by this store's key."""
        path = str(self.path)

        def bad(reason: str, line: int | None = None, n: int = 0) -> VerifyResult:
            return VerifyResult(False, n, line, reason, path)

        if self.key is None:
            return bad("this audit log has no key to check an anchor with")
        try:
            payload = _anchor_payload(anchor)
            seq = payload["seq"]
            if not (
                isinstance(seq, int)
                and seq >= 0
                and isinstance(payload["hash"], str)
                and isinstance(anchor["mac"], str)
            ):
                raise TypeError
        except (KeyError, TypeError):
            return bad("the anchor is not a sandbox audit anchor (keep the JSON `sandbox audit anchor` prints)")
        if payload["log"] != self.log_name:
            return bad(f"the anchor is for the {payload['log']!r} log, not {self.log_name!r}")
        if payload["v"] != ANCHOR_VERSION:
            return bad(f"anchor version {payload['v']!r} is not supported")
        if payload["key_id"] != self.key.key_id():
            return bad("the anchor was signed by another key (another store, or forged)")
        expected = _hmac(self.key.secret(), "anchor", _canonical(payload).decode("utf-8"))
        if not hmac.compare_digest(anchor["mac"], expected):
            return bad("the anchor's signature is wrong (forged or altered)")
        if "ed25519" in anchor:
            own = self.key.public_key()
            if own is not None and (anchor.get("public_key") != own or not check_anchor_signature(anchor, own)):
                return bad("the anchor's Ed25519 signature is wrong (forged or altered)")
        result, digest = self._verify(want_seq=seq)
        if not result.ok:
            return result
        if result.entries < seq:
            return bad(
                f"the log has {result.entries} entries but the anchor at {payload['time']} recorded {seq} "
                "(truncated or rewritten since)",
                result.entries + 1,
                result.entries,
            )
        if digest != payload["hash"]:
            return bad(
                f"entry {seq} no longer has the hash anchored at {payload['time']} (the log was rewritten since)",
                seq,
                result.entries,
            )
        return VerifyResult(True, result.entries, path=path)
