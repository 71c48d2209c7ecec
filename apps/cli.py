"""The `sandbox` command: a thin click layer over the platform and use-case APIs.

Every command acts as the user named by --user/SANDBOX_USER, authenticated by
SANDBOX_PASSWORD (or a prompt on a terminal), and is checked like any other
action. Commands that print data take --json.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from sandbox.access import SOME_BANK, Actor, can, require
from sandbox.errors import AuditChainBroken, InvalidInput
from sandbox.workspace import REVIEW_DECISIONS

from . import (
    cli_api,
    cli_assure,
    cli_chat,
    cli_evidence,
    cli_fraud,
    cli_models,
    cli_risk,
    cli_risk_import,
    cli_server,
    cli_web,
)
from .cli_common import SandboxGroup, State, emit, json_option, pass_state, read_password_stdin, table


@click.group(cls=SandboxGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="SANDBOX_HOME",
    help="Sandbox store folder (default: $SANDBOX_HOME, else the repository).",
)
@click.option(
    "--user", envvar="SANDBOX_USER", help="Act as this user (default: $SANDBOX_USER); password from $SANDBOX_PASSWORD."
)
@click.pass_context
def cli(ctx: click.Context, home: Path | None, user: str | None) -> None:
    """Financial GenAI Sandbox: isolated bank workspaces for fraud, credit-risk and chat experiments."""
    ctx.obj = State(home=home, user=user)


def _require_platform(state: State, action: str, fix: str = "ask an admin to do it") -> Actor:
    """The acting user, if they may perform a platform action (else refused and audited by access.require)."""
    actor = state.actor()
    require(actor, action, audit=state.store.platform_audit(), fix=fix)
    return actor


@cli.command()
@click.option("--admin", required=True, help="Name of the first admin user.")
@click.option("--password-stdin", is_flag=True, required=True, help="Read the admin password from standard input.")
@json_option
@pass_state
def init(state: State, admin: str, password_stdin: bool, as_json: bool) -> None:
    """Create the store (banks, users, audit, MLflow) and its first admin."""
    store = state.store
    store.init(admin, read_password_stdin())
    emit(
        {"home": str(store.home), "admin": admin},
        as_json,
        lambda d: f"initialised sandbox store at {d['home']} (admin: {d['admin']})",
    )


# -- banks ----------------------------------------------------------------
@cli.group(cls=SandboxGroup)
def bank() -> None:
    """Create and list banks (admin)."""


@bank.command("create")
@click.argument("bank_id")
@click.option("--name", help="Display name, e.g. 'Harbour Bank'.")
@json_option
@pass_state
def bank_create(state: State, bank_id: str, name: str | None, as_json: bool) -> None:
    """Create a bank and its isolated workspace."""
    actor = _require_platform(state, "bank.create")
    rec = state.store.create_bank(bank_id, name, by=actor.name)
    emit(
        rec,
        as_json,
        lambda d: (
            f"created bank {d['id']} with a compute quota of {d['quota_s']:,.0f} s (change it with `sandbox quota set`)"
        ),
    )


@bank.command("list")
@json_option
@pass_state
def bank_list(state: State, as_json: bool) -> None:
    """List banks."""
    actor = state.actor()
    banks = {k: v for k, v in state.store.banks().items() if can(actor, "workspace.open", k)}  # a scientist: her own
    rows = [{"id": k, **v} for k, v in sorted(banks.items())]
    emit(rows, as_json, lambda r: table(r, ["id", "name", "created"]))


# -- users ----------------------------------------------------------------
@cli.group(cls=SandboxGroup)
def user() -> None:
    """Add and list users (admin)."""


@user.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(["scientist", "reviewer", "admin"]), help="The user's role.")
@click.option("--bank", "bank_id", help="The bank a scientist works for.")
@click.option("--password-stdin", is_flag=True, required=True, help="Read the new user's password from standard input.")
@json_option
@pass_state
def user_add(state: State, name: str, role: str, bank_id: str | None, password_stdin: bool, as_json: bool) -> None:
    """Add a user with a role (and a bank, for scientists)."""
    actor = _require_platform(state, "user.add")
    new = state.store.add_user(name, role, read_password_stdin(), bank=bank_id, by=actor.name)
    emit(new.to_dict(), as_json, lambda d: f"added {d['role']} {d['name']}" + (f" of {d['bank']}" if d["bank"] else ""))


@user.command("list")
@json_option
@pass_state
def user_list(state: State, as_json: bool) -> None:
    """List users (no password hashes)."""
    _require_platform(state, "user.list")
    rows = [{"name": n, **u} for n, u in sorted(state.store.users().items())]
    emit(rows, as_json, lambda r: table(r, ["name", "role", "bank", "created"]))


# -- quotas ---------------------------------------------------------------
@cli.group(cls=SandboxGroup)
def quota() -> None:
    """Set and show per-bank compute quotas and usage."""


@quota.command("set")
@click.argument("bank_id")
@click.option("--seconds", type=float, required=True, help="Compute allocation in wall-clock seconds.")
@json_option
@pass_state
def quota_set(state: State, bank_id: str, seconds: float, as_json: bool) -> None:
    """Set a bank's compute quota (admin)."""
    actor = _require_platform(state, "quota.set")
    state.store.set_quota(bank_id, seconds, by=actor.name)
    emit({"bank": bank_id, "quota_s": seconds}, as_json, lambda d: f"quota of {d['bank']}: {d['quota_s']:g} s")


@quota.command("show")
@click.argument("bank_id", required=False)
@json_option
@pass_state
def quota_show(state: State, bank_id: str | None, as_json: bool) -> None:
    """Show compute used vs quota, for one bank or every bank you may see."""
    actor = state.actor()
    banks = [bank_id] if bank_id else [b for b in sorted(state.store.banks()) if can(actor, "usage.read", b)]
    rows = [state.ctx(b).usage() for b in banks]
    emit(
        rows,
        as_json,
        lambda r: table(r, ["bank", "runs", "jobs", "wall_s", "cpu_s", "gpu_s", "quota_s", "remaining_s"]),
    )


@quota.command("export")
@click.argument("bank_id", required=False)
@click.option("--since", help="First day (or time) included, ISO UTC, e.g. 2026-12-01.")
@click.option("--until", help="First day (or time) not included, ISO UTC, e.g. 2027-01-01.")
@json_option
@pass_state
def quota_export(state: State, bank_id: str | None, since: str | None, until: str | None, as_json: bool) -> None:
    """Usage records per bank and period as CSV on standard output (admin, reviewers; a scientist her bank's):
    who ran what kind of work, when, wall/CPU/GPU seconds, each row with its chain hash. Redirect it to a file."""
    from sandbox.compute import usage_csv

    for name, value in (("--since", since), ("--until", until)):
        if value is not None:
            _iso_or_fail(name, value)
    actor = state.actor()
    banks = [bank_id] if bank_id else [b for b in sorted(state.store.banks()) if can(actor, "usage.read", b)]
    rows = [r for b in banks for r in state.ctx(b).usage_records(since, until)]
    if as_json:
        emit(rows, True)
    else:
        click.echo(usage_csv(rows), nl=False)


def _iso_or_fail(name: str, value: str) -> None:
    from datetime import datetime

    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            name, f"{value!r} is not an ISO date or time", "e.g. 2026-12-01 or 2026-12-01T08:00"
        ) from None


# -- audit ----------------------------------------------------------------
@cli.group(cls=SandboxGroup)
def audit() -> None:
    """Verify and show the hash-chained audit trails."""


def _audit_logs(state: State, bank_id: str | None, all_logs: bool):
    actor = state.actor()
    if bank_id:
        ctx = state.ctx(bank_id)
        ctx.require("audit.read")
        return [(bank_id, ctx.audit_log)]
    logs = []
    if all_logs:  # every chain this actor may check (a scientist: her bank's); the others are skipped, not refused
        logs = [(b, state.store.bank_audit(b)) for b in sorted(state.store.banks()) if can(actor, "audit.verify", b)]
    if can(actor, "platform.audit.read"):
        logs.insert(0, ("platform", state.store.platform_audit()))
    elif not all_logs:
        _require_platform(state, "platform.audit.read", fix=f"name your bank: `sandbox audit verify {actor.bank}`")
    return logs


@audit.command("verify")
@click.argument("bank_id", required=False)
@click.option("--all", "all_logs", is_flag=True, help="Verify the platform log and every bank's log you may read.")
@click.option(
    "--anchor",
    "anchor_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also check that the log still extends this anchor (saved from `sandbox audit anchor`).",
)
@json_option
@pass_state
def audit_verify(state: State, bank_id: str | None, all_logs: bool, anchor_file: Path | None, as_json: bool) -> None:
    """Check a chain (a bank's, or the platform's); exit non-zero naming the first bad line.

    With --anchor FILE: also fail unless the log still holds, at the anchor's entry, the hash the anchor signed
    (so nothing up to it was rewritten, truncated or dropped since), and the anchor's signature is this store's."""
    if anchor_file is not None:
        _verify_anchor(state, bank_id, all_logs, anchor_file, as_json)
        return
    results = [{"log": name, **log.verify().to_dict()} for name, log in _audit_logs(state, bank_id, all_logs)]

    def human(rows):
        return "\n".join(
            f"{r['log']}: ok ({r['entries']} entries)"
            if r["ok"]
            else f"{r['log']}: BROKEN at line {r['first_bad_line']} of {r['path']}: {r['reason']}"
            for r in rows
        )

    emit(results, as_json, human)
    if not all(r["ok"] for r in results):
        raise SystemExit(AuditChainBroken.exit_code)


def _read_anchor(path: Path) -> dict:
    import json

    fix = "give the file you saved from `sandbox audit anchor`"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("--anchor", f"cannot read an anchor from {path} ({type(exc).__name__})", fix) from None
    if not isinstance(data, dict) or not isinstance(data.get("log"), str):
        raise InvalidInput("--anchor", f"{path} is not an audit anchor", fix)
    return data


def _verify_anchor(state: State, bank_id: str | None, all_logs: bool, anchor_file: Path, as_json: bool) -> None:
    if all_logs:
        raise InvalidInput("--all", "an anchor is for one log", "drop --all")
    anchor = _read_anchor(anchor_file)
    name = anchor["log"]
    if bank_id and bank_id != name:
        raise InvalidInput(
            "bank",
            f"the anchor is for the {name!r} log, not {bank_id!r}",
            f"run `sandbox audit verify {name} --anchor {anchor_file}`",
        )
    ((_, log),) = _audit_logs(state, None if name == "platform" else name, False)[:1]
    r = log.verify_anchor(anchor)
    row = {"log": name, "anchor_seq": anchor.get("seq"), "anchor_time": anchor.get("time"), **r.to_dict()}
    if as_json:
        emit(row, True)
    elif r.ok:
        click.echo(
            f"{name}: ok ({r.entries} entries; extends the anchor of {row['anchor_time']} at entry {row['anchor_seq']})"
        )
    if not r.ok:
        if as_json:
            raise SystemExit(AuditChainBroken.exit_code)
        where = f" (line {r.first_bad_line})" if r.first_bad_line else ""
        raise AuditChainBroken(
            f"{name} log does not pass the anchor of {row['anchor_time']}{where}: {r.reason}",
            "keep the anchor; restore the log from a backup and investigate who rewrote it",
        )


@audit.command("anchor")
@click.argument("bank_id", required=False)
@click.option("--platform", "platform", is_flag=True, help="Anchor the platform log (the default without a bank).")
@json_option
@pass_state
def audit_anchor(state: State, bank_id: str | None, platform: bool, as_json: bool) -> None:
    """Print a signed head of a log (log, seq, hash, time, signatures) to keep OUTSIDE the sandbox.

    Later, `sandbox audit verify --anchor FILE` fails if the log no longer extends it. The anchor carries an
    HMAC under the store's audit key and an Ed25519 signature with its public key, which anyone can check."""
    import json

    if bank_id and platform:
        raise InvalidInput("--platform", "give a bank or --platform, not both", "drop one")
    ((name, log),) = _audit_logs(state, bank_id, False)[:1]
    anchor = log.anchor()
    state.store.platform_audit().append(
        "audit.anchor", state.actor().name, log=name, seq=anchor["seq"], hash=anchor["hash"]
    )
    emit(anchor, as_json, lambda a: json.dumps(a, sort_keys=True))


@audit.command("show")
@click.argument("bank_id", required=False)
@click.option("-n", "--last", "n", type=int, default=20, show_default=True, help="How many recent entries.")
@json_option
@pass_state
def audit_show(state: State, bank_id: str | None, n: int, as_json: bool) -> None:
    """Show the latest entries of a bank's audit trail (or the platform's)."""
    if n < 1:
        raise InvalidInput("--last", f"{n} is not a number of entries", "give 1 or more, e.g. -n 20")
    ((_, log),) = _audit_logs(state, bank_id, False)[:1]
    result = log.verify()
    if not result.ok:
        raise AuditChainBroken(
            f"audit log {result.path} is broken at line {result.first_bad_line}: {result.reason}",
            "restore it from a backup; run `sandbox audit verify` for details",
        )
    rows = log.tail(n)
    emit(
        rows,
        as_json,
        lambda r: table(
            [
                {"seq": e["seq"], "ts": e["ts"], "actor": e["actor"], "event": e["event"], "data": _short(e["data"])}
                for e in r
            ],
            ["seq", "ts", "actor", "event", "data"],
        ),
    )


def _short(data: dict, width: int = 80) -> str:
    import json

    s = json.dumps(data, sort_keys=True, default=str)
    return s if len(s) <= width else s[: width - 3] + "..."


# -- runs -----------------------------------------------------------------
@cli.group(cls=SandboxGroup)
def runs() -> None:
    """List a bank's MLflow runs."""


def run_row(row: dict) -> dict:
    """The CLI's listing of a run: the shared summary (`ctx.summaries`), without params and tags."""
    return {
        k: row[k]
        for k in (
            "run_id",
            "bank",
            "usecase",
            "run_name",
            "status",
            "actor",
            "recorded",
            "start_time",
            "review",
            "flags",
            "metrics",
        )
    }


def actor_text(row: dict) -> str:
    """Who ran it, by the sandbox's record; a run made straight through MLflow has no actor the sandbox vouches for."""
    return row["actor"] if row["recorded"] else "unrecorded"


def review_text(review: dict) -> str:
    """The ledger's decision; says plainly when the MLflow tags claim something else."""
    text = f"{review['status']} by {review['by']}" if review["status"] else "none"
    return text + (" (mirror tampered)" if review["mirror"] == "tampered" else "")


@runs.command("list")
@click.argument("bank_id", required=False)
@click.option("--usecase", type=click.Choice(["fraud", "risk", "chat"]), help="Only this use case.")
@click.option("--max", "max_results", type=int, default=50, show_default=True, help="At most this many runs per bank.")
@json_option
@pass_state
def runs_list(state: State, bank_id: str | None, usecase: str | None, max_results: int, as_json: bool) -> None:
    """List runs of a bank, newest first; without BANK_ID, of every bank you may read (reviewers: all banks)."""
    if not 1 <= max_results <= 50_000:
        raise InvalidInput("--max", f"{max_results} is not a number of runs", "give 1 to 50000")
    banks = [bank_id] if bank_id else _readable_banks(state)
    rows = []
    for b in banks:
        ctx = state.ctx(b)
        rows += [run_row(r) for r in ctx.summaries(ctx.runs(usecase, max_results=max_results))]
    emit(
        rows,
        as_json,
        lambda rs: table(
            [r | {"actor": actor_text(r), "review": review_text(r["review"])} for r in rs],
            ["run_id", "bank", "usecase", "run_name", "status", "actor", "review"],
        ),
    )


def _readable_banks(state: State) -> list[str]:
    actor = state.actor()
    require(
        actor,
        "runs.read",
        SOME_BANK,
        audit=state.store.platform_audit(),
        message=f"{actor.name} may not read any bank's runs",
        fix="sign in as a scientist or a reviewer",
    )
    return [b for b in sorted(state.store.banks()) if can(actor, "runs.read", b)]


@runs.command("show")
@click.argument("bank_id")
@click.argument("run_id")
@json_option
@pass_state
def runs_show(state: State, bank_id: str, run_id: str, as_json: bool) -> None:
    """One run: metrics, parameters, tags, review and the artifacts you may open."""
    ctx = state.ctx(bank_id)
    d = ctx.summary(ctx.get_run(run_id)) | {"artifacts": ctx.list_artifacts(run_id)}

    def human(d: dict) -> str:
        rv = d["review"]
        lines = [
            f"{d['run_id']}  {d['bank']}/{d['usecase']}  {d['run_name']}  {d['status']}  by {actor_text(d)}",
            f"review: {review_text(rv)}" + (f": {rv['comment']}" if rv["status"] and rv["comment"] else ""),
        ]
        if rv["mirror"] == "tampered":
            claim = rv["mirror_claims"]
            lines.append(
                f"  mirror tampered: the run's MLflow tags claim {claim['status'] or 'no decision'}"
                f"{' by ' + claim['by'] if claim['by'] else ''}; the sandbox's ledger does not"
            )
        lines += [f"warning: {f}" for f in d["flags"] if not f.startswith("review mirror")]
        lines += ["metrics:"] + [f"  {k} = {v:.6g}" for k, v in sorted(d["metrics"].items())]
        lines += ["params:"] + [f"  {k} = {v}" for k, v in sorted(d["params"].items())]
        lines += ["artifacts:"] + [f"  {a}" for a in d["artifacts"]]
        return "\n".join(lines)

    emit(d, as_json, human)


# -- review ---------------------------------------------------------------
@cli.command()
@click.argument("bank_id")
@click.argument("run_id")
@click.option("--decision", type=click.Choice(REVIEW_DECISIONS), required=True)
@click.option(
    "--comment", default="", help="Required for every decision: what you checked, or what the bank should change."
)
@json_option
@pass_state
def review(state: State, bank_id: str, run_id: str, decision: str, comment: str, as_json: bool) -> None:
    """Sign off a run as a reviewer: approve or request changes, with a comment either way."""
    out = state.ctx(bank_id).sign_off(run_id, decision, comment)
    emit(
        out,
        as_json,
        lambda d: (
            f"{d['status']} run {d['run_id']} of {bank_id}"
            + ("" if d["mirror"] == "written" else " (recorded; its MLflow tags could not be updated)")
        ),
    )


# -- store health: doctor, backup, restore (admin) -------------------------
@cli.command()
@click.option(
    "--fix",
    is_flag=True,
    help="Repair what is safe: file modes, a missing or behind tracking schema, "
    "an audit head left one entry behind. Never rewrites an audit log.",
)
@json_option
@pass_state
def doctor(state: State, fix: bool, as_json: bool) -> None:
    """Check the store: audit chains, tracking schema, index and model checksums, file modes; exit 1 if unhealthy."""
    from sandbox import doctor as doctor_mod

    actor = _require_platform(state, "store.doctor")
    report = doctor_mod.run(state.store, fix=fix)
    if fix:
        state.store.platform_audit().append(
            "store.doctor", actor.name, fix=True, ok=report.ok, fixed=sum(f.fixed for f in report.findings)
        )
    emit(report.to_dict(), as_json, lambda _d: report.summary())
    if not report.ok:
        raise SystemExit(1)


@cli.command("backup")
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@json_option
@pass_state
def backup_cmd(state: State, dest: Path, as_json: bool) -> None:
    """Write a consistent, checksummed copy of the whole store to DEST (a new or empty folder)."""
    from sandbox import backup as backup_mod

    actor = _require_platform(state, "store.backup")
    out = backup_mod.backup(state.store, dest, by=actor.name)
    emit(out, as_json, lambda d: f"backed up {d['files']} files ({d['bytes']} bytes) to {d['dir']}")


@cli.command("restore")
@click.argument("src", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace a store that already holds files (they are discarded).")
@json_option
@pass_state
def restore_cmd(state: State, src: Path, force: bool, as_json: bool) -> None:
    """Restore a backup into the store's home, after checking every file against its checksum."""
    from sandbox import backup as backup_mod
    from sandbox.errors import StoreError

    store = state.store
    by = "(restore)"
    if store.exists:  # replacing a readable store takes its admin; an unreadable one, its files' owner (--force)
        try:
            by = _require_platform(state, "store.restore").name
        except StoreError:
            if not force:
                raise
    out = backup_mod.restore(store.home, src, force=force, by=by)
    emit(
        out,
        as_json,
        lambda d: f"restored {d['files']} files from {d['from']} (backup of {d['backup_created']}) into {d['home']}",
    )


# Use-case and app command groups live in their own modules (imported at the top: a missing or broken one is
# an ImportError, not a command that silently disappears); each registers itself on the root group.
for _group in (
    cli_server,
    cli_fraud,
    cli_risk,
    cli_risk_import,
    cli_chat,
    cli_web,
    cli_models,
    cli_api,
    cli_evidence,
    cli_assure,
):
    _group.register(cli)


def main() -> None:
    import logging
    import os

    os.umask(0o077)  # store files 0600, folders 0700: local mode trusts only the store's owner
    # Library chatter (MLflow's schema migrations, alembic) is not the command's output.
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    cli(prog_name="sandbox")


if __name__ == "__main__":
    sys.exit(main())
