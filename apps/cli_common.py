"""Shared plumbing for the `sandbox` command: the store, the acting user, output and errors.

Use-case command groups (cli_fraud.py, cli_risk.py, cli_chat.py ...) use these
so every command authenticates, checks and prints the same way.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from sandbox import Actor, Store, WorkspaceContext, open_workspace
from sandbox.errors import AuthenticationFailed, InvalidInput, SandboxError
from sandbox.userfile import printable


@dataclass
class State:
    home: Path | None = None
    user: str | None = None
    _actor: Actor | None = field(default=None, repr=False)

    @property
    def store(self) -> Store:
        return Store(self.home)

    def actor(self) -> Actor:
        """Authenticate the acting user once per command (SANDBOX_PASSWORD or a terminal prompt)."""
        if self._actor is None:
            name = self.user or os.environ.get("SANDBOX_USER")
            if not name:
                raise InvalidInput("user", "no user given", "pass --user NAME or set SANDBOX_USER")
            password = os.environ.get("SANDBOX_PASSWORD")
            if password is None:
                if not sys.stdin.isatty():
                    raise AuthenticationFailed(
                        f"no password for {name}", "set SANDBOX_PASSWORD (or run on a terminal to be prompted)"
                    )
                password = getpass.getpass(f"password for {name}: ")
            self._actor = self.store.authenticate(name, password)
        return self._actor

    def ctx(self, bank: str) -> WorkspaceContext:
        return open_workspace(bank, self.actor(), self.store)


pass_state = click.make_pass_decorator(State, ensure=True)


def read_password_stdin(field_name: str = "password") -> str:
    data = sys.stdin.readline()
    password = data.rstrip("\r\n")
    if not password:
        raise InvalidInput(
            field_name, "nothing on standard input", 'pipe the password in, e.g. `printf %s "$PW" | sandbox ...`'
        )
    return password


def emit(data: Any, as_json: bool, human: Callable[[Any], str] | None = None) -> None:
    """Print data as JSON (for machines) or as text (for people)."""
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))
    elif human is not None:
        click.echo(human(data))
    else:
        click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


def table(rows: list[dict], columns: list[str]) -> str:
    """Rows as aligned text; control characters in a cell print as escapes (a newline in a file name made fake rows)."""
    if not rows:
        return "(none)"
    cells = [{c: printable(r.get(c, "")) for c in columns} for r in rows]
    widths = {c: max(len(c), *(len(r[c]) for r in cells)) for c in columns}
    lines = ["  ".join(c.ljust(widths[c]) for c in columns)]
    lines += ["  ".join(r[c].ljust(widths[c]) for c in columns) for r in cells]
    return "\n".join(lines)


def user_path(path_type: type = str) -> click.Path:
    """A path the use case opens once and checks by descriptor. click's own checks (exists, is a directory,
    readable) would look at the name first and answer differently for another bank's files: an oracle."""
    return click.Path(readable=False, path_type=path_type)


json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")


def result_json_option(command: str) -> Callable:
    """--json for a use-case command whose result's shape docs/results.md documents: its help says where, so a
    script writer finds the field names (and their units) without reading the code."""
    return click.option(
        "--json",
        "as_json",
        is_flag=True,
        help=f"Print machine-readable JSON; its fields are documented in docs/results.md (`sandbox {command}`).",
    )


@contextlib.contextmanager
def progress_reporter(as_json: bool, label: str) -> Iterator[Callable[[float, str], None] | None]:
    """The CLI's one progress display for a use case's `progress` callback: a bar on a terminal (stderr);
    nothing for --json or pipes, so machine output stays clean."""
    if as_json or not sys.stderr.isatty():
        yield None
        return
    with click.progressbar(length=1000, label=label, file=sys.stderr, show_percent=True) as bar:
        done = 0

        def report(fraction: float, message: str) -> None:
            nonlocal done
            target = int(fraction * 1000)
            if target > done:
                bar.label = f"{label}: {message[:40]}"
                bar.update(target - done)
                done = target

        yield report


class SandboxGroup(click.Group):
    """Turns SandboxError into one line on stderr and its exit code: no traceback for user mistakes."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SandboxError as err:
            click.echo(f"error: {printable(err)}", err=True)  # one line, whatever a name in it holds
            ctx.exit(err.exit_code)
        except FileNotFoundError as err:
            click.echo(f"error: file not found: {err.filename}: check the path", err=True)
            ctx.exit(2)
        except PermissionError as err:
            click.echo(f"error: permission denied: {err.filename}: check the file's permissions", err=True)
            ctx.exit(2)
