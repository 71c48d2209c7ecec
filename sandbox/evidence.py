"""Evidence packs: one signed, self-checking zip per model version, for a reviewer to keep and show.

    build(ctx, usecase, version=None, run_id=None) -> Pack       (bytes of the zip and its manifest)
    write(ctx, usecase, out, version=None, run_id=None) -> dict  (through ctx.user_output; audited)
    download(ctx, usecase, version=None, run_id=None) -> Pack    (the web app's button; audited)
    verify(data, public_key=None) -> dict                        (every hash, the signature, which file changed)

A pack holds the version's report (report.html, self-contained; report.pdf), the principle table
(principles.json), the run's record (run.json), its model card, reports, plots and the fairness and stability
tables, its gate results, its review and lifecycle history from the ledger, and the audit entries that make
that history (sandbox/evidence_collect.py says what is left out: rows, documents, models).

manifest.json lists every other file with its SHA-256 and size, the run ids, data hashes, the run's code
commit and library versions, and how the pack was built (who, when: the only part that differs between two
builds of the same version). manifest.sig signs the manifest's bytes with Ed25519, by the key pair the audit
anchors already use (derived from the store's audit key, sandbox/audit.py): a reviewer checks a pack with the
public key alone (`sandbox evidence key` prints it; it is the `public_key` of `sandbox audit anchor`). Zip
entries have fixed dates and modes and are written in name order, so the same version and data give the same
file hashes, and the same bytes for every file but the manifest and its signature.

Who may build one: the bank's scientists and HKMA reviewers (`evidence.build`); everything is read through the
workspace door with the reviewer's read-only actions, so no `data.read` is needed, and another bank's
scientist is refused at the door.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import evidence_assurance, evidence_report, principles, report_html, report_pdf, suite_results, tracking
from . import evidence_collect as collect
from .errors import AccessDenied, InvalidInput

FORMAT, FORMAT_VERSION = "sandbox-evidence-pack", 1
MANIFEST, SIGNATURE = "manifest.json", "manifest.sig"
SIGN_CONTEXT = b"sandbox-evidence-manifest-v1\0"  # domain separation from the audit anchors signed by the same key
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
MAX_PACK_BYTES = 256 << 20  # verify reads at most this much, uncompressed, from a pack


@dataclass(frozen=True)
class Pack:
    data: bytes  # the zip
    manifest: dict
    subject: collect.Subject

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def _sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def _previous(ctx, subject: collect.Subject) -> str | None:
    """The version kept for rollback when this one is the champion (the ledger's `previous`)."""
    if subject.model is None or subject.stage != "champion":
        return None
    st = ctx.read_ledger().state("champion", subject.usecase)
    prev = str(st.data.get("previous", "")) if st is not None else ""
    return prev or None


def _contents(ctx, subject: collect.Subject) -> tuple[dict[str, bytes], dict, bool]:
    """Every file of the pack but the manifest and its signature; the run record; whether the chain verified."""
    run = collect.run_record(ctx, subject)
    files = collect.artifacts(ctx, subject)
    files.update(collect.tables(files))
    gates = collect.gates_record(subject)
    history = collect.review_history(ctx, subject)
    entries = collect.audit_entries(ctx, subject)
    chain_ok = ctx.verify_audit().ok
    files["run.json"] = collect.jdump(run)
    files["gates.json"] = collect.jdump(gates)
    files["review_history.json"] = collect.jdump(history)
    held = suite_results.for_version(ctx, subject.usecase, subject.version)  # regulator-held suites: aggregates
    if held:
        files["assurance/suite_results.json"] = collect.jdump(held)
    attacked = evidence_assurance.latest(ctx, subject.usecase, subject.version)  # AI vs AI: aggregates only
    if attacked:
        files[attacked[0]] = collect.jdump(attacked[1])
    files["audit/entries.jsonl"] = b"".join(
        json.dumps(e, sort_keys=True, ensure_ascii=False).encode() + b"\n" for e in entries
    )
    names = sorted({*files, "principles.json", "report.html", "report.pdf", MANIFEST, SIGNATURE})
    facts = evidence_report.facts(subject, run, files, names, history, entries, chain_ok, _previous(ctx, subject))
    rows = principles.assess(facts)
    files["principles.json"] = collect.jdump({"sources": principles.sources(), "rows": rows})
    title, blocks = evidence_report.blocks(subject, run, files, names, gates, history, entries, rows, facts["review"])
    files["report.html"] = report_html.render(title, blocks)
    created = datetime.fromtimestamp((run.get("end_time") or run.get("start_time") or 0) / 1000, UTC)
    files["report.pdf"] = report_pdf.render(title, blocks, created)
    return files, run, chain_ok


def _manifest(
    ctx, subject: collect.Subject, files: dict[str, bytes], run: dict, chain_ok: bool, rows: list[dict]
) -> dict:
    listed = [{"path": p, "sha256": _sha(b), "bytes": len(b)} for p, b in sorted(files.items())]
    content = _sha(collect.jdump(listed))
    key = ctx.store.audit_key
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "subject": {
            "bank": subject.bank,
            "usecase": subject.usecase,
            "version": subject.version,
            "stage": subject.stage,
            "run_id": subject.run_id,
            "run_name": run.get("run_name"),
        },
        "run_ids": [subject.run_id],
        "data_hashes": {"training_data": run.get("data_hash") or None},
        "code_commit": run.get("code_commit") or None,
        "library_versions": run.get("library_versions") or {},
        "files": listed,
        "content_sha256": content,
        "principles": {s: sum(r["status"] == s for r in rows) for s in principles.STATUSES},
        "signing": {"alg": "Ed25519", "public_key": key.public_key(), "key_id": key.key_id()},
        "built": {
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "by": ctx.actor.name,
            "role": ctx.actor.role,
            "sandbox_commit": tracking.git_commit(),
            "audit_chain_verified": chain_ok,
        },
    }


def _sign(ctx, manifest_bytes: bytes) -> bytes:
    """manifest.sig: an Ed25519 signature of the manifest's bytes by the store's anchor key pair (sandbox/audit.py)."""
    key = ctx.store.audit_key
    signer = key._signer()  # the anchors' key pair, derived from the audit key: one key handling, not a twin
    if signer is None:  # pragma: no cover - cryptography ships with mlflow
        raise InvalidInput("signature", "the `cryptography` package is missing", "pip install cryptography")
    sig = signer.sign(SIGN_CONTEXT + manifest_bytes).hex()
    return collect.jdump(
        {
            "alg": "Ed25519",
            "context": SIGN_CONTEXT.rstrip(b"\0").decode(),
            "manifest_sha256": _sha(manifest_bytes),
            "public_key": key.public_key(),
            "key_id": key.key_id(),
            "signature": sig,
        }
    )


def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3  # unix: the same bytes on every host
            z.writestr(info, files[name], compresslevel=6)
    return buf.getvalue()


def build(ctx, usecase: str, version: str | None = None, run_id: str | None = None) -> Pack:
    """The pack of a model version (default: the champion) or of a run, as zip bytes; writes nothing."""
    subject = collect.resolve(ctx, usecase, version, run_id)
    files, run, chain_ok = _contents(ctx, subject)
    rows = json.loads(files["principles.json"])["rows"]
    manifest = _manifest(ctx, subject, files, run, chain_ok, rows)
    manifest_bytes = collect.jdump(manifest)
    files[MANIFEST] = manifest_bytes
    files[SIGNATURE] = _sign(ctx, manifest_bytes)
    return Pack(_zip(files), manifest, subject)


def _check_output(ctx, out: Any) -> None:
    """A reviewer never writes into a bank's workspace (their context is read-only by construction)."""
    if ctx.can("data.write"):
        return
    folder = os.path.realpath(os.path.dirname(os.path.abspath(os.path.expanduser(os.fspath(out)))))
    root = os.path.realpath(ctx.root)
    if folder == root or folder.startswith(root + os.sep):
        raise AccessDenied(
            f"{ctx.actor.name} may not write into the workspace of {ctx.bank}",
            "write the pack outside the sandbox store, e.g. --out ~/packs/pack.zip",
        )


def write(ctx, usecase: str, out: str | os.PathLike, version: str | None = None, run_id: str | None = None) -> dict:
    """Build a pack and write it to `out` (a file the user names, checked by the door; replaced atomically)."""
    if not str(out).endswith(".zip"):
        raise InvalidInput(
            "--out", f"{str(out)[:80]!r} does not end with .zip", "name the pack e.g. harbour-risk-v3.zip"
        )
    _check_output(ctx, out)
    pack = build(ctx, usecase, version, run_id)
    with ctx.user_output(out, field="--out") as target:
        with target.writing() as fh:
            fh.write(pack.data)
    _audit(ctx, pack, "file")
    return summary(pack, str(out))


def download(ctx, usecase: str, version: str | None = None, run_id: str | None = None) -> Pack:
    """Build a pack for the web app's download button (the bytes go to the browser); audited like `write`."""
    pack = build(ctx, usecase, version, run_id)
    _audit(ctx, pack, "download")
    return pack


def _audit(ctx, pack: Pack, delivered: str) -> None:
    """Who took which pack: an `evidence.build` entry in the bank's chain (never part of a pack itself)."""
    ctx.audit(
        "evidence.build",
        usecase=pack.subject.usecase,
        version=pack.subject.version,
        subject_run=pack.subject.run_id,
        content_sha256=pack.manifest["content_sha256"],
        pack_sha256=pack.sha256,
        delivered=delivered,
    )


def summary(pack: Pack, path: str | None = None) -> dict:
    m = pack.manifest
    return {
        "path": path,
        "bank": m["subject"]["bank"],
        "usecase": m["subject"]["usecase"],
        "version": m["subject"]["version"],
        "stage": m["subject"]["stage"],
        "run_id": m["subject"]["run_id"],
        "files": len(m["files"]) + 2,
        "bytes": len(pack.data),
        "pack_sha256": pack.sha256,
        "content_sha256": m["content_sha256"],
        "principles": m["principles"],
        "public_key": m["signing"]["public_key"],
        "key_id": m["signing"]["key_id"],
    }


# -- verify -------------------------------------------------------------------------
def check_signature(manifest_bytes: bytes, sig: dict, public_key: str) -> bool:
    """Whether `sig` is a valid Ed25519 signature of the manifest's bytes by `public_key` (hex)."""
    try:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key))
        key.verify(bytes.fromhex(str(sig["signature"])), SIGN_CONTEXT + manifest_bytes)
    except Exception:  # noqa: BLE001 - a malformed key or signature is simply "not valid"
        return False
    return True


def _sig_consistent(sig_bytes: bytes, sig: dict, manifest: Any, manifest_bytes: bytes) -> bool:
    """manifest.sig is exactly as written (canonical JSON) and agrees with the manifest it signs: no field of
    it (key id, digest) can change unnoticed, though only the signature itself is cryptographic."""
    signing = manifest.get("signing") if isinstance(manifest, dict) else None
    return (
        sig_bytes == collect.jdump(sig)
        and isinstance(signing, dict)
        and sig.get("alg") == "Ed25519"
        and sig.get("context") == SIGN_CONTEXT.rstrip(b"\0").decode()
        and sig.get("manifest_sha256") == _sha(manifest_bytes)
        and sig.get("public_key") == signing.get("public_key")
        and sig.get("key_id") == signing.get("key_id")
    )


def _read_zip(data: bytes) -> tuple[dict[str, bytes], list[dict]]:
    """Every entry's bytes (CRC-checked by zipfile) and the entries that could not be read."""
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise InvalidInput(
            "pack", "not a zip file (truncated or not an evidence pack)", "give the .zip `sandbox evidence` wrote"
        ) from None
    if sum(i.file_size for i in z.infolist()) > MAX_PACK_BYTES:
        raise InvalidInput("pack", "the pack unpacks to more than 256 MiB", "this is not a sandbox evidence pack")
    files, bad = {}, []
    for info in z.infolist():
        try:
            files[info.filename] = z.read(info)
        except (zipfile.BadZipFile, zlib.error, OSError, ValueError) as err:  # CRC mismatch, bad compressed stream
            bad.append({"path": info.filename, "status": "damaged", "problem": f"unreadable ({type(err).__name__})"})
    return files, bad


def verify(data: bytes, public_key: str | None = None, key_source: str = "the given public key") -> dict:
    """Check a pack: the manifest's signature (with `public_key` when given, else the key the pack names, which
    proves integrity but not who signed), then every file's SHA-256; say which file changed, is missing or extra."""
    files, problems = _read_zip(data)
    manifest_bytes, sig_bytes = files.get(MANIFEST), files.get(SIGNATURE)
    out: dict[str, Any] = {"ok": False, "files": [], "changed": [], "signature": {"ok": False}}
    try:
        sig = json.loads(sig_bytes) if sig_bytes is not None else None
        manifest = json.loads(manifest_bytes) if manifest_bytes is not None else None
    except ValueError:
        sig = manifest = None
    signer = str((sig or {}).get("public_key", "")) if isinstance(sig, dict) else ""
    trusted = public_key.strip().lower() if public_key else None
    intact = bool(
        manifest_bytes is not None
        and isinstance(sig, dict)
        and signer  # signed by the key it names
        and _sig_consistent(sig_bytes, sig, manifest, manifest_bytes)
        and check_signature(manifest_bytes, sig, signer)
    )
    sig_ok = intact and (trusted is None or signer == trusted)
    out["signature"] = {
        "ok": sig_ok,
        "public_key": signer or None,
        "key_id": sig.get("key_id") if isinstance(sig, dict) else None,
        "checked_against": key_source
        if trusted
        else "the key named in the pack (integrity only: pass --public-key to check who signed)",
    }
    if intact and not sig_ok:
        out["signature"]["problem"] = (
            "signed by another key than the one given (the pack is intact, but not this signer's)"
        )
    elif not intact:
        out["signature"]["problem"] = (
            "manifest.json or manifest.sig changed (the signature does not match)"
            if manifest_bytes is not None and sig_bytes is not None
            else "manifest or signature missing"
        )
    entries = manifest.get("files", []) if isinstance(manifest, dict) else []
    listed = {f["path"]: f for f in entries if isinstance(f, dict) and "path" in f} if isinstance(entries, list) else {}
    damaged = {p["path"] for p in problems}
    for path in sorted(set(listed) | set(files) | damaged):
        if path in (MANIFEST, SIGNATURE):
            status = "ok" if intact and path not in damaged else "changed"
        elif path in damaged:
            status = "damaged"
        elif not listed:
            status = "unchecked"  # no readable manifest to check it against
        elif path not in listed:
            status = "unlisted"
        elif path not in files:
            status = "missing"
        else:
            status = "ok" if _sha(files[path]) == listed[path].get("sha256") else "changed"
        out["files"].append({"path": path, "status": status})
    out["changed"] = [f["path"] for f in out["files"] if f["status"] not in ("ok", "unchecked")]
    out["ok"] = sig_ok and not out["changed"] and bool(listed)
    out["subject"] = manifest.get("subject") if isinstance(manifest, dict) else None
    out["built"] = manifest.get("built") if isinstance(manifest, dict) else None
    return out


def read_pack(path: str | os.PathLike) -> bytes:
    """A pack's bytes from a file the user names (no store access: verifying needs no account)."""
    p = Path(os.path.expanduser(os.fspath(path)))
    try:
        with open(p, "rb") as fh:
            if os.fstat(fh.fileno()).st_size > MAX_PACK_BYTES:
                raise InvalidInput("pack", f"{p} is larger than 256 MiB", "this is not a sandbox evidence pack")
            return fh.read()
    except (FileNotFoundError, IsADirectoryError, PermissionError) as err:
        raise InvalidInput(
            "pack", f"cannot read {p} ({type(err).__name__})", "give the path of the .zip to check"
        ) from None
