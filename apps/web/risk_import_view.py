"""Risk lab views for a bank's own data (issue 17): the upload + column mapping form, the recommendation, and the
plain notes when a run has no protected attribute or no time column. Views only: the work is `usecases.risk.importer`."""

from __future__ import annotations

import json
import re
from typing import Any

import pandas as pd
import streamlit as st

from apps.web import auth, data

STAGED = "risk_import_file"  # (name, bytes) of the uploaded file, kept across reruns of the mapping form
INFER, NONE = "(inferred)", "(none)"


def _guess_target(df: pd.DataFrame) -> int:
    words = ("bad", "default", "target", "outcome", "label", "risk", "performance", "flag", "creditability")
    for i, c in enumerate(df.columns):
        if any(w in str(c).lower() for w in words) and df[c].nunique(dropna=True) == 2:
            return i
    return next((i for i, c in enumerate(df.columns) if df[c].nunique(dropna=True) == 2), 0)


def _read(ctx, name: str, raw: bytes) -> pd.DataFrame:
    """The upload, written into the bank's workspace (atomically) and read back under the import's bounds."""
    from sandbox import atomic
    from usecases.risk import importer

    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name).lstrip(".") or "upload.csv"
    target = ctx.path("risk", "uploads", safe, create=True)
    atomic.write_bytes(target, raw)
    return importer.read_table(target)


def import_form(ctx) -> None:
    """Upload a CSV/Parquet file, map its columns (target, time, id, protected, ignored), import, show the schema."""
    from usecases.risk import dataset_schema as ds

    st.markdown("**Or import your own applicants** (CSV or Parquet, your own column names)")
    up = st.file_uploader("Applicant file", type=["csv", "parquet"], key="risk_upload")
    if up is not None:
        st.session_state[STAGED] = (up.name, up.getvalue())
    staged = st.session_state.get(STAGED)
    if not staged:
        return
    name, raw = staged
    try:
        df = _read(ctx, name, raw)
    except auth.SandboxError as err:
        auth.show_error(err)
        return
    cols = [str(c) for c in df.columns]
    st.caption(
        f"{name}: {len(df):,} rows, {len(cols)} columns. Map the columns; the rest is inferred and shown for "
        "you to confirm."
    )
    with st.form("risk_import"):
        target = st.selectbox("Target (the outcome; two classes)", cols, index=_guess_target(df), key="imp_target")
        positive = st.text_input(
            "Value meaning default/bad (blank: inferred from 1/bad/default/yes)", key="imp_positive"
        )
        time_col = st.selectbox("Time column (out-of-time split, PSI by period)", [INFER, NONE, *cols], key="imp_time")
        id_col = st.selectbox("Applicant id column", [INFER, NONE, *cols], key="imp_id")
        protected = st.multiselect(
            "Protected attributes (fairness only, never model inputs)",
            cols,
            default=[c for c in cols if ds._looks(c, ds.PROTECTED_WORDS)],
            key="imp_protected",
        )
        ignore = st.multiselect("Columns to leave out", cols, key="imp_ignore")
        schema_text = st.text_area(
            "Schema JSON (optional: special values, types, directions per feature)",
            "",
            key="imp_schema",
            help='e.g. {"features": {"Score": {"special": {"-9": "no record"}}}}',
        )
        go = st.form_submit_button("Import", type="primary")
    if go:
        _submit(ctx, df, name, target, positive, time_col, id_col, protected, ignore, schema_text)
    done = st.session_state.get("risk_import_done")
    if done:
        st.success(
            f"Imported {done['rows']:,} applicants (default rate {done['default_rate']:.2%}): train the "
            "models on them next."
        )
        for w in done["warnings"]:
            st.warning(w)
        st.dataframe(pd.DataFrame(ds.describe(ds.from_json(done["schema"]))), hide_index=True, width="stretch")


def _submit(ctx, df, name, target, positive, time_col, id_col, protected, ignore, schema_text) -> None:
    from usecases.risk import importer

    try:
        declared: dict[str, Any] = json.loads(schema_text) if schema_text.strip() else {}
    except (ValueError, RecursionError):
        st.error("schema: not valid JSON (or nested too deeply)")
        return
    if not isinstance(declared, dict):
        st.error("schema: give a JSON object")
        return
    for key, choice in (("time", time_col), ("id", id_col)):
        if choice == NONE:
            declared[key] = None
    if ignore:
        declared["ignore"] = sorted(set(declared.get("ignore") or []) | set(ignore))
    try:
        res = importer.import_data(
            ctx,
            df,
            target=target,
            schema=declared or None,
            positive=positive.strip() or None,
            time_column=None if time_col in (INFER, NONE) else time_col,
            id_column=None if id_col in (INFER, NONE) else id_col,
            protected=list(protected),
            file_name=name,
        )
    except auth.SandboxError as err:
        auth.show_error(err)
        return
    st.session_state["risk_import_done"] = res.to_dict()
    data.refresh_runs()


def recommendation(metrics_report: dict | None) -> None:
    """A run on imported data says which model to use, and why (the scorecard unless the GBM clearly beats it)."""
    rec = (metrics_report or {}).get("recommendation")
    if not isinstance(rec, dict):
        return
    text = f"Recommended model: **{rec.get('model')}**. {str(rec.get('why', '')).capitalize()}."
    (st.success if rec.get("model") == "xgboost" else st.info)(text)


def notes(fairness_report: dict | None, psi_report: dict | None) -> None:
    """Say plainly when a run could not assess fairness (no protected attribute) or stability (no time column)."""
    models = fairness_report.values() if isinstance(fairness_report, dict) else ()  # a simulator run's is a list
    first = next((v for v in models if isinstance(v, dict) and "attributes" in v), None)
    if first is not None and not first["attributes"] and first.get("note"):
        st.info("Fairness: " + first["note"] + ".")
    if isinstance(psi_report, dict) and psi_report.get("note") and not psi_report.get("time_column"):
        st.info("Stability: " + psi_report["note"] + ".")


def imported_schema(ctx):
    """The schema of the bank's live risk model when it was trained on imported data (else None: the simulator's form)."""
    from usecases.risk import dataset_schema as ds
    from usecases.risk import importer

    try:
        models = importer.imported_models(ctx)
    except auth.SandboxError:
        return None
    return None if models is None else ds.from_json(models.sidecar["dataset"]["schema"])


def applicant_form(schema) -> dict:
    """An applicant in the imported data's own fields: numbers (special values listed in the help), categories."""
    st.caption("An applicant in your data's own fields; a special value (e.g. -9) may be typed as a number.")
    cols = st.columns(3)
    applicant: dict[str, Any] = {}
    for i, f in enumerate(schema.features):
        col = cols[i % 3]
        if f.type == "categorical" and f.categories:
            applicant[f.name] = col.selectbox(f.name, f.categories, key=f"imp_app_{f.name}")
        else:
            special = ", ".join(f"{k} = {v}" for k, v in f.special.items())
            applicant[f.name] = col.number_input(
                f.name, value=0.0, key=f"imp_app_{f.name}", help=f"special values: {special}" if special else None
            )
    return applicant
