"""`sandbox evidence ...`: build a signed evidence pack of a model version, verify one, the reviewers' cohort view.

sandbox evidence BANK USECASE [--version V | --run RUN_ID] --out FILE.zip   (the champion by default)
sandbox evidence verify FILE.zip [--public-key HEX]
sandbox evidence key                                                      (the public key packs are signed with)
sandbox evidence cohort [--out FILE.csv|FILE.parquet]
"""

from __future__ import annotations

import re
from pathlib import Path

import click

from sandbox.errors import InvalidInput

from .cli_common import SandboxGroup, State, emit, json_option, pass_state, table, user_path


class _EvidenceGroup(SandboxGroup):
    """`sandbox evidence BANK USECASE ...` is `sandbox evidence build BANK USECASE ...`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            args = ["build", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_EvidenceGroup)
def evidence() -> None:
    """Evidence packs: a signed zip per model version (report, principles, gates, reviews, audit), and the cohort.

    `sandbox evidence BANK USECASE --out FILE.zip` is short for `sandbox evidence build BANK USECASE --out FILE.zip`."""


@evidence.command("build")
@click.argument("bank_id")
@click.argument("usecase", type=click.Choice(["fraud", "risk", "chat"]))
@click.option("--version", help="Model version (default: the bank's champion).")
@click.option("--run", "run_id", help="Pack this run instead (chat evaluations; runs without a version).")
@click.option("--out", required=True, type=user_path(Path), help="Where to write the pack (a .zip).")
@json_option
@pass_state
def build_cmd(
    state: State, bank_id: str, usecase: str, version: str | None, run_id: str | None, out: Path, as_json: bool
) -> None:
    """Build the evidence pack of a model version (default: the champion) and write it to --out."""
    from sandbox import evidence as api

    d = api.write(state.ctx(bank_id), usecase, out, version=version, run_id=run_id)

    def human(d: dict) -> str:
        which = f"v{d['version']} ({d['stage']})" if d["version"] else f"run {d['run_id']}"
        counts = ", ".join(f"{n} {s}" for s, n in d["principles"].items())
        return (
            f"wrote {d['path']}: {d['bank']} {d['usecase']} {which}, {d['files']} files, {d['bytes']:,} bytes\n"
            f"principles: {counts}\npack sha256 {d['pack_sha256']}\n"
            f"signed by key {d['key_id']} (public key {d['public_key']}); check it: sandbox evidence verify {d['path']}"
        )

    emit(d, as_json, human)


@evidence.command("verify")
@click.argument("pack", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--public-key",
    help="The signer's Ed25519 public key (hex, from `sandbox evidence key`). "
    "Default: this store's key when readable, else only the pack's integrity is checked.",
)
@json_option
@pass_state
def verify_cmd(state: State, pack: Path, public_key: str | None, as_json: bool) -> None:
    """Check every file's SHA-256 and the manifest's signature; exit 1 naming each file that changed."""
    from sandbox import evidence as api

    source = "the given public key"
    if public_key is not None and not re.fullmatch(r"[0-9a-fA-F]{64}", public_key.strip()):
        raise InvalidInput(
            "--public-key",
            "not an Ed25519 public key (64 hex digits)",
            "copy the public_key printed by `sandbox evidence key`",
        )
    if public_key is None:
        public_key, source = _store_public_key(state), "this store's public key"
    d = api.verify(api.read_pack(pack), public_key, key_source=source)
    d["path"] = str(pack)

    def human(d: dict) -> str:
        sig = d["signature"]
        lines = [
            f"{d['path']}: {'OK' if d['ok'] else 'FAILED'}",
            f"signature: {'valid' if sig['ok'] else 'INVALID'} (checked against {sig['checked_against']}; "
            f"key {sig.get('key_id')})" + (f": {sig['problem']}" if sig.get("problem") else ""),
        ]
        lines += [f"  {f['status']}: {f['path']}" for f in d["files"] if f["status"] != "ok"]
        if d["ok"]:
            lines.append(f"{len(d['files'])} files match the signed manifest")
        return "\n".join(lines)

    emit(d, as_json, human)
    if not d["ok"]:
        raise SystemExit(1)


def _store_public_key(state: State) -> str | None:
    """The store's signing key, when this user can read it (its owner, in local mode); else None."""
    from sandbox.errors import SandboxError

    try:
        store = state.store
        if not store.exists or not store.audit_key.path.exists():
            return None
        return store.audit_key.public_key()
    except (SandboxError, OSError):
        return None


@evidence.command("key")
@json_option
@pass_state
def key_cmd(state: State, as_json: bool) -> None:
    """Print the Ed25519 public key packs (and audit anchors) are signed with: record it to verify packs later."""
    state.actor()
    key = state.store.audit_key
    emit(
        {"alg": "Ed25519", "public_key": key.public_key(), "key_id": key.key_id()},
        as_json,
        lambda d: f"{d['public_key']}  (key id {d['key_id']})",
    )


@evidence.command("cohort")
@click.option("--out", type=user_path(Path), help="Also write the table as .csv or .parquet.")
@json_option
@pass_state
def cohort_cmd(state: State, out: Path | None, as_json: bool) -> None:
    """Every bank's champion per use case: headline metrics, gates, review state, and the pack command."""
    from sandbox import cohort

    rows = cohort.rows(state.store, state.actor())
    written = cohort.export(state.store, rows, out) if out is not None else None

    def human(d: list[dict] | dict) -> str:
        rows = d["rows"] if isinstance(d, dict) else d
        shown = [
            {
                **r,
                "version": r["version"] or "",
                "headline": ", ".join(f"{k} {v:.3f}" for k, v in r["headline"].items()),
                "gates": r["gates"] or "",
                "review": r["review"] or "",
                "suite": r.get("suite") or "",
            }
            for r in rows
        ]
        text = table(shown, ["bank", "usecase", "version", "stage", "gates", "review", "headline", "suite"])
        return text + (f"\nwrote {written['rows']} rows to {written['path']}" if written else "")

    emit(rows if not written else {"rows": rows, "written": written}, as_json, human)


def register(cli: click.Group) -> None:
    cli.add_command(evidence)
