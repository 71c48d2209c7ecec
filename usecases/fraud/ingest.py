"""Getting transactions into a bank's workspace: simulate them, or import the bank's own file."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from sandbox.compute import metered
from sandbox.errors import InvalidInput

from . import checks, data, schema
from .features import sort_frame
from .simulator import PRESETS, SimulationResult, frame_hash, simulate_handbook, simulate_hk, summarise

MAX_CUSTOMERS = 200_000
MAX_DAYS = 730
MAX_LABEL_DELAY_DAYS = 90.0


@metered("fraud", "simulate")
def simulate(
    ctx,
    preset: str = "hk",
    customers: int | None = None,
    days: int | None = None,
    seed: int = 0,
    hardness: float = 0.5,
    label_delay_days: float = 7.0,
    label_noise: float = 0.02,
    drift: float = 0.5,
    progress: Callable[[float, str], None] | None = None,
) -> SimulationResult:
    ctx.require("fraud.simulate")
    checks.choice("preset", preset, tuple(PRESETS))
    customers = checks.number("customers", customers, 10, MAX_CUSTOMERS) or PRESETS[preset]["customers"]
    days = checks.number("days", days, 2, MAX_DAYS) or PRESETS[preset]["days"]
    seed = checks.number("seed", seed, 0, checks.MAX_SEED)
    hardness = checks.number("hardness", hardness, 0.0, 1.0, float)
    label_delay_days = checks.number("label_delay_days", label_delay_days, 0.0, MAX_LABEL_DELAY_DAYS, float)
    label_noise = checks.number("label_noise", label_noise, 0.0, 0.5, float)
    drift = checks.number("drift", drift, 0.0, 1.0, float)
    t0 = time.perf_counter()
    df, knobs = _generate(preset, customers, days, seed, hardness, label_delay_days, label_noise, drift, progress)
    sim_s = time.perf_counter() - t0
    if progress:
        progress(0.9, "writing Parquet")
    summary = summarise(df, preset)
    h = frame_hash(df)
    meta = {
        "source": "simulate",
        "preset": preset,
        "seed": seed,
        "customers": customers,
        "days": days,
        "label_delay_days": label_delay_days,
        "knobs": knobs,
        "data_hash": h,
        **summary,
    }
    data.save(ctx, df, meta)
    ctx.audit(
        "fraud.simulate",
        preset=preset,
        seed=seed,
        customers=customers,
        days=days,
        rows=summary["rows"],
        fraud_rows=summary["fraud_rows"],
        data_hash=h,
    )
    if progress:
        progress(1.0, "done")
    return SimulationResult(
        rows=summary["rows"],
        fraud_rows=summary["fraud_rows"],
        fraud_rate=summary["fraud_rate"],
        scenario_counts=summary["scenario_counts"],
        days=summary["days"],
        data_hash=h,
        preset=preset,
        seed=seed,
        customers=customers,
        start=summary["start"],
        end=summary["end"],
        wall_s=round(sim_s, 3),
        knobs=knobs,
    )


@metered("fraud", "import")
def import_transactions(ctx, file: str | Path, label_delay_days: float = 7.0) -> schema.ImportReport:
    """Validate a CSV/Parquet file; keep the valid rows as the bank's data set, report every rejected row.

    The valid rows replace the bank's current data set (simulated or imported), even when some rows are
    rejected; the report says how many rows were replaced (`replaced_rows`). A file-level problem, or no valid
    row, raises InvalidInput and leaves the existing data set untouched.
    """
    ctx.require("fraud.import")
    label_delay_days = checks.number("label_delay_days", label_delay_days, 0.0, MAX_LABEL_DELAY_DAYS, float)
    with ctx.user_file(file, "file") as src:  # opened once, checked by descriptor, read from that descriptor
        raw, _kind = schema.read_table(src)
        name = src.name
    accepted, rejections, n_rejected, layout = schema.validate(raw, label_delay_days)
    if len(accepted) == 0:
        first = rejections[0] if rejections else None
        where = f" (first: row {first.row}, column {first.column}: {first.reason})" if first else ""
        raise InvalidInput(
            "file",
            f"no valid transaction in {name}: {n_rejected} rows rejected{where}",
            "fix the rows and import again; see `sandbox fraud import --help` for the schema",
        )
    accepted = sort_frame(accepted)
    summary = summarise(accepted, "imported")
    h = frame_hash(accepted)
    meta = {
        "source": "import",
        "preset": "imported",
        "file": name,
        "layout": layout,
        "seed": None,
        "label_delay_days": label_delay_days,
        "data_hash": h,
        "rejected": n_rejected,
        **summary,
    }
    replaced = data.current_rows(ctx)
    data.save(ctx, accepted, meta)
    ctx.audit(
        "fraud.import",
        file=name,
        layout=layout,
        accepted=len(accepted),
        rejected=n_rejected,
        data_hash=h,
        replaced_rows=replaced,
    )
    return schema.ImportReport(
        file=name,
        layout=layout,
        accepted=len(accepted),
        rejected=n_rejected,
        rejections=rejections,
        fraud_rows=summary["fraud_rows"],
        data_hash=h,
        days=summary["days"],
        replaced_rows=replaced,
    )


def _generate(preset, customers, days, seed, hardness, label_delay_days, label_noise, drift, progress):
    """Run the preset's simulator; return the transactions and the knobs that shaped them (recorded in the meta)."""
    if preset == "handbook":
        terminals = max(2, int(round(customers * PRESETS["handbook"]["terminals"] / PRESETS["handbook"]["customers"])))
        df = simulate_handbook(customers, terminals, days, seed, label_delay_days=label_delay_days, progress=progress)
        return df, {"terminals": terminals, "label_delay_days": label_delay_days}
    df = simulate_hk(
        customers,
        days,
        seed,
        hardness=hardness,
        label_delay_days=label_delay_days,
        label_noise=label_noise,
        drift=drift,
        progress=progress,
    )
    return df, {"hardness": hardness, "label_delay_days": label_delay_days, "label_noise": label_noise, "drift": drift}
