"""The GradSign tables shipped in nasearch/data/proxy_tables: whole-space, and enough on their own."""
from __future__ import annotations

from pathlib import Path


from nasearch.proxies.store import ScoreKey, read_table
from spaces.nb201.genotype import NUM_ARCHS, from_index, to_arch_str

ROOT = Path(__file__).resolve().parents[1]


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
