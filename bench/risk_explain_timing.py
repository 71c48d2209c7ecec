"""Per-call timing of `risk.explain` (issue 17): a 20,000-applicant simulator champion and the German credit data
imported and trained as a champion; wall and CPU (time.process_time) p50/p99 of single calls, simulator batch of 5,000.

    .venv/bin/python bench/risk_explain_timing.py [calls] [--profile]
"""

import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
import usecases.risk as risk
from bench import risk_public
from bench.risk import _make_champion, _pct, _world
from usecases.risk import importer, schema

n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
prof = "--profile" in sys.argv
tmp = tempfile.mkdtemp(prefix="w17-")
ctxs = _world(Path(tmp))
steady, pub, rev = ctxs["steady-bank"], ctxs["public-bank"], ctxs["steady-bank:reviewer"]
risk.simulate(steady, applicants=20000, vintages=12, seed=0)
r0 = risk.train(steady)
_make_champion(steady, rev, r0.model_version)
raw = risk_public.public_dataset()
importer.import_data(pub, raw, target=risk_public.TARGET)
r1 = risk.train(pub)
from sandbox import open_workspace

rev_pub = open_workspace("public-bank", ctxs["steady-bank:reviewer"].actor, ctxs["steady-bank:reviewer"].store)
_make_champion(pub, rev_pub, r1.model_version)
df, _ = risk.load_data(steady)
feats = list(schema.FEATURE_NAMES) + ["applicant_id"]
sim_rows = df[feats].sample(n + 30, random_state=1).to_dict(orient="records")
sim_rows = [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()} for r in sim_rows]
imp_rows = raw.drop(columns=[risk_public.TARGET]).sample(n + 30, random_state=3, replace=True).to_dict(orient="records")


def timeit(ctx, rows, **kw):
    for r in rows[:30]:
        risk.explain(ctx, r, **kw)
    w, c = [], []
    for r in rows[30:]:
        t, p = time.perf_counter(), time.process_time()
        risk.explain(ctx, r, **kw)
        w.append((time.perf_counter() - t) * 1e3)
        c.append((time.process_time() - p) * 1e3)
    return f"wall p50/p99 {statistics.median(w):.2f}/{_pct(w, 99):.2f} ms  cpu p50/p99 {statistics.median(c):.2f}/{_pct(c, 99):.2f} ms"


print("load", os.getloadavg())
print("simulator xgboost   ", timeit(steady, sim_rows))
print("imported  xgboost   ", timeit(pub, imp_rows, model="xgboost"))
print("imported  scorecard ", timeit(pub, imp_rows, model="scorecard"))
t = time.perf_counter()
risk.explain(steady, df[feats].sample(5000, random_state=2).reset_index(drop=True))
print("sim batch 5000/s", 5000 / (time.perf_counter() - t))
if prof:
    for name, ctx, rows, kw in (("sim", steady, sim_rows, {}), ("imp", pub, imp_rows, {"model": "scorecard"})):
        pr = cProfile.Profile()
        pr.enable()
        for r in rows[30:]:
            risk.explain(ctx, r, **kw)
        pr.disable()
        print("=====", name)
        pstats.Stats(pr).sort_stats("cumulative").print_stats(45)
