"""Small sweep files in NDS's published format, written by the tests.

NDS's ``data.zip`` cannot be fetched here, so these builders write a few dozen job records per
design in the layout of the real files (a JSON list of jobs; ``net`` with the genotype as
``[op, input]`` lists, ``width``, ``depth``, ``aux``, ``drop_prob``; ``optim``; ``params``;
``flops``; ``iter_time``; ``prec_time``; per-epoch ``test_ep_top1`` / ``train_ep_top1`` /
``train_ep_loss`` errors in %; ``min_test_top1``; ``rng_seed``; ``job_id``). Each genotype is
drawn uniformly from its design (op set, node count, input ranges, loose-end concat where the
design has one); ``params`` is the parameter count of the network the builder makes for that
genotype at that width and depth, so these files test the plumbing, not the builder (the
builder is pinned against real NDS counts in tests/test_nds_space.py). Accuracies are a seeded
function of the size with noise: the files are synthetic and say so in ``job_id``.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from nasearch.spaces.darts.genotype import CELLS, Genotype, default_concat, design, to_nds
from nasearch.spaces.darts.network import DartsNetwork, count_parameters

FILE_NAMES = {"darts": "DARTS.json", "amoeba": "Amoeba.json", "enas": "ENAS.json", "nasnet": "NASNet.json", "pnas": "PNAS.json"}


def random_genotype(name: str, rng: np.random.Generator) -> Genotype:
    spec = design(name)
    cells = {}
    for cell in CELLS:
        pairs = []
        for pair in range(spec.pairs):
            op = spec.ops[int(rng.integers(len(spec.ops)))]
            pairs.append((op, int(rng.integers(spec.inputs_of(pair)))))
        cells[cell] = tuple(pairs)
    return Genotype(cells["normal"], default_concat(cells["normal"], spec), cells["reduce"], default_concat(cells["reduce"], spec))


def job(genotype: Genotype, width: int, depth: int, index: int, rng: np.random.Generator, epochs: int = 10,
        aux: bool = False, params: int | None = None) -> dict:
    """One job record; ``params`` is counted from the built network unless given."""
    if params is None:
        params = count_parameters(DartsNetwork(genotype, width, depth, 10, auxiliary=aux))
    final_error = float(np.clip(40.0 - 5.0 * math.log10(params) + rng.normal(0, 1.0), 3.0, 90.0))
    test = [round(final_error + (70.0 - final_error) * math.exp(-3.0 * e / epochs), 2) for e in range(1, epochs + 1)]
    train = [round(max(0.0, t - 2.0), 2) for t in test]
    return {
        "job_id": f"synthetic-{index}", "rng_seed": 1,
        "net": {"genotype": to_nds(genotype), "width": width, "depth": depth, "aux": aux, "drop_prob": 0.0},
        "optim": {"base_lr": 0.1, "wd": 0.0005, "max_ep": epochs, "lr_policy": "cos", "momentum": 0.9, "nesterov": True},
        "params": int(params), "flops": float(40 * params), "exp_mem": 1.0, "act_mem": 1.0,
        "iter_time": round(0.01 + params * 2e-8, 4), "prec_time": {"train_fw_bw": 0.02, "test_fw": 0.01},
        "min_test_top1": min(test), "test_ep_top1": test, "train_ep_top1": train,
        "train_ep_loss": [round(t / 40.0, 3) for t in train], "train_it_loss": [], "train_it_top1": [],
    }


def sweep_jobs(name: str, n: int = 30, seed: int = 0, widths=(4, 8), depths=(3, 5), epochs: int = 10) -> list[dict]:
    rng = np.random.default_rng([seed, sorted(FILE_NAMES).index(name)])
    jobs = []
    for index in range(n):
        genotype = random_genotype(name, rng)
        width = int(widths[int(rng.integers(len(widths)))])
        depth = int(depths[int(rng.integers(len(depths)))])
        jobs.append(job(genotype, width, depth, index, rng, epochs=epochs))
    return jobs


def write_sweep(directory: Path, name: str, n: int = 30, seed: int = 0, file_name: str | None = None, **kwargs) -> Path:
    """``directory/<DARTS|Amoeba|...>.json`` with ``n`` records of design ``name``."""
    path = Path(directory) / (file_name or FILE_NAMES[name])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(sweep_jobs(name, n, seed, **kwargs)))
    return path
