# %% [markdown]
# # nasearch quickstart
#
# A percent-format notebook: open it in Jupyter (jupytext) or VS Code and run it cell by cell, or run it
# as a script (`python examples/quickstart.py`). On the embedded NAS-Bench-201 data it needs no download
# and runs in well under a minute: a search, a vanilla-vs-assisted comparison, and their anytime curves.

# %%
import json
import os
from pathlib import Path

import numpy as np

import nasearch as ns

RUNS = int(os.environ.get("QUICKSTART_RUNS", "20"))
OUT = Path("quickstart")

# %% [markdown]
# ## One search: REA, and its G-twin (pool selection by GradSign, packaged scores)

# %%
rea = ns.search("rea", runs=RUNS, out=OUT / "rea")
g_rea = ns.search("g_rea", runs=RUNS, out=OUT / "g_rea")
frame = rea.to_pandas()
print(frame[["run", "final.cifar10_valid", "evaluations", "distinct"]].head())

# %% [markdown]
# ## The comparison: run i of both starts from the same seed stream, so the runs pair up

# %%
from nasearch.analysis.stats import compare  # noqa: E402  (the report's own statistics)

metric = "cifar10_valid"
values = {label: {r.run: r.final[metric] for r in runs} for label, runs in (("rea", rea), ("g_rea", g_rea))}
comparison = compare(values["rea"], values["g_rea"], resamples=1000, labels=("rea", "g_rea"), metric=metric)
print(f"G-REA - REA: {comparison.difference:+.2f} pt (95% CI {comparison.ci_low:+.2f} to {comparison.ci_high:+.2f}), "
      f"Wilcoxon p = {comparison.p_wilcoxon:.3g} over {comparison.n_pairs} pairs")

# %% [markdown]
# ## Anytime curves: the incumbent's validation accuracy against simulated time

# %%
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

grid = np.linspace(0, 12000, 121)
figure, axis = plt.subplots(figsize=(6, 4))
for label, runs in (("REA", rea), ("G-REA", g_rea)):
    curve = runs.anytime(metric, grid=grid)
    axis.plot(curve["seconds"], curve["mean"], label=f"{label} (n={len(runs)})")
    axis.fill_between(curve["seconds"], curve["mean"] - curve["half_width"], curve["mean"] + curve["half_width"],
                      alpha=0.2)
axis.set_xlabel("simulated seconds")
axis.set_ylabel(f"{metric} (%)")
axis.legend()
figure.tight_layout()
figure.savefig(OUT / "anytime.png", dpi=100)
(OUT / "summary.json").write_text(json.dumps({label: [r.final[metric] for r in runs]
                                              for label, runs in (("rea", rea), ("g_rea", g_rea))}))
print(f"figure: {OUT / 'anytime.png'}")
