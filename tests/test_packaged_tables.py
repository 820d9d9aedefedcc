"""The GradSign tables shipped in nasearch/data/proxy_tables: whole-space, and enough on their own."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from nasearch.config import load_search_config
from nasearch.proxies import scorer as scorer_module
from nasearch.proxies.store import ScoreKey, read_table
from nasearch.runner import SearchContext, run_one
from spaces.nb201.genotype import NUM_ARCHS, from_index, to_arch_str

ROOT = Path(__file__).resolve().parents[1]


def test_gradsign_batch_128_table_covers_the_whole_space():
    """What every G-searcher config reads by default (batch 128, seed 0, CIFAR-10)."""
    found = read_table(ScoreKey("nb201@1", "gradsign", "cifar10", 128, 0))
    assert found is not None, "the packaged GradSign b128 table is missing"
    records, metadata = found
    assert metadata["complete"] is True and metadata["count"] == NUM_ARCHS == len(records)
    assert set(records) == {to_arch_str(from_index(i)) for i in range(NUM_ARCHS)}
    assert metadata["key"] == {"space": "nb201@1", "proxy": "gradsign", "dataset": "cifar10", "batch_size": 128, "seed": 0}
    assert all(record.seconds > 0 for record in records.values())
    assert {"data", "torch", "mode", "hardware", "seed", "batch_size"} <= set(metadata)


def test_default_g_rea_needs_no_images(tmp_path, monkeypatch):
    """The README's first command: every score comes from the packaged table, nothing is computed."""
    def no_images(*args, **kwargs):
        raise AssertionError("G-REA on the embedded default loaded images")

    monkeypatch.setattr(scorer_module, "load_batch", no_images)
    scorer_module._cached_batch.cache_clear()
    config = load_search_config(ROOT / "configs" / "g_rea.yaml")
    config = dataclasses.replace(config, cache_dir=str(tmp_path / "cache"), data={"torchvision_root": str(tmp_path / "none"), "download": False})
    context = SearchContext.build(config)
    record = run_one(context, 7)  # not one of the runs whose live scores seeded the table
    assert context.scorer.live_computations == 0
    assert record["evaluations"] > 20 and record["proxy_seconds"] > 0  # measured seconds from the table are charged


def test_params_table_is_whole_and_counts_the_built_networks():
    """The model-size control of every experiment reads this table instead of building 15,625 nets."""
    import numpy as np

    from spaces.nb201.network import NB201Network

    found = read_table(ScoreKey("nb201@1", "params", "cifar10", 128, 0))
    assert found is not None
    records, metadata = found
    assert metadata["complete"] is True and len(records) == NUM_ARCHS
    for index in np.random.default_rng(0).choice(NUM_ARCHS, size=20, replace=False):
        arch = from_index(int(index))
        expected = sum(p.numel() for p in NB201Network(arch, 10).parameters())
        assert records[to_arch_str(arch)].score == expected
