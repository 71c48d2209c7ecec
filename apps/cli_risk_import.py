"""`sandbox risk import BANK FILE --target COLUMN [--schema schema.json]`: a bank's own applicants, its own schema."""

from __future__ import annotations

import click

from .cli_common import State, emit, pass_state, result_json_option, table, user_path

HELP = """Import BANK's own applicants from FILE (CSV or Parquet), with its own column names; `risk train` then
trains on them.

\b
The schema is inferred and printed for you to confirm or edit (save `--json`'s "schema" to a file, edit it, import
again with --schema FILE). Per column it says: a feature (numeric or categorical; special values such as -9 "no
record", binned apart from the numbers; monotone direction: ascending, descending or none), a protected attribute
(fairness only, never a model input), the time column (out-of-time split, PSI by period), the id column, or ignored.
The target has two classes; its positive class means default/bad.

A bad file (target without two classes, mixed numbers and text in a column, an unknown special code, too few rows
of a class ...) imports nothing and keeps the current data set; constant, empty or target-like columns are left
out with a named warning."""


@click.command("import", help=HELP, short_help="Import BANK's own applicants (CSV/Parquet) with their own schema.")
@click.argument("bank_id")
@click.argument("file", type=user_path(str))
@click.option("--target", required=False, help="The outcome column (two classes; default/bad is the positive one).")
@click.option("--schema", "schema_path", type=user_path(str), help="A schema JSON (as printed by --json) to apply.")
@click.option("--positive", help="The target value meaning default/bad, when it is not 1/bad/default/yes.")
@click.option("--time", "time_column", help="The time column (dates or periods such as 202401).")
@click.option("--id", "id_column", help="The applicant id column.")
@click.option(
    "--protected", multiple=True, help="A protected attribute column (repeatable); default: recognised by name."
)
@result_json_option("risk import")
@pass_state
def import_cmd(
    state: State,
    bank_id: str,
    file: str,
    target: str | None,
    schema_path: str | None,
    positive: str | None,
    time_column: str | None,
    id_column: str | None,
    protected: tuple[str, ...],
    as_json: bool,
) -> None:
    from usecases.risk import dataset_schema, importer

    res = importer.import_data(
        state.ctx(bank_id),
        file,
        target=target,
        schema=schema_path,
        positive=positive,
        time_column=time_column,
        id_column=id_column,
        protected=list(protected) if protected else None,
    )
    if not as_json:
        for w in res.warnings:
            click.echo(f"warning {w}", err=True)

    def human(d: dict) -> str:
        rows = dataset_schema.describe(dataset_schema.from_json(d["schema"]))
        return "\n".join(
            [
                f"imported {d['rows']:,} applicants from {d['file']} (default rate {d['default_rate']:.2%}) "
                f"in {d['wall_s']:.2f} s; data hash {d['data_hash'][:12]}",
                "schema (confirm, or edit it and import again with --schema):",
                table(rows, ["column", "role", "type", "special", "direction"]),
                f"next: `sandbox risk train {bank_id}`",
            ]
        )

    emit(res.to_dict(), as_json, human)


def register(cli: click.Group) -> None:
    risk = cli.commands.get("risk")
    if risk is not None:
        risk.add_command(import_cmd)
