"""The space protocol is declared once (spaces/protocol.py); checks, messages and docs follow it."""
from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from nasearch.config import parse_search_config
from nasearch.errors import UsageError
from nasearch.runner import SearchContext, run_one
from nasearch.searchers.bohb import has_fidelity
from nasearch.spaces.protocol import CAPABILITY_DECLARATIONS, capabilities, capability_tables, protocol_problems

ROOT = Path(__file__).resolve().parents[1]

#: a space written as docs/custom_space.md says: query_at + max_epochs, nothing undeclared
TUTORIAL_FIDELITY_SPACE = '''
from nasearch.spaces.protocol import Evaluation

class EpochSpace:
    name = "epoch_toy"
    version = "1"
    max_epochs = 12

    def sample(self, rng):
        return tuple(int(i) for i in rng.integers(3, size=3))

    def mutate(self, arch, rng):
        return self.sample(rng)

    def query(self, arch, rng):
        return self.query_at(arch, self.max_epochs, rng)

    def query_at(self, arch, epochs, rng):
        return Evaluation(50.0 + sum(arch) * epochs / self.max_epochs, 10.0 * epochs)

    def final_metrics(self, arch):
        return {"toy": 50.0 + sum(arch)}

    def arch_id(self, arch):
        return "-".join(map(str, arch))

    def from_id(self, arch_id):
        return tuple(int(i) for i in arch_id.split("-"))

    def build_network(self, arch, num_classes):
        raise NotImplementedError

    def choices(self):
        return [("a", "b", "c")] * 3

    def encode(self, arch):
        return tuple(arch)

    def decode(self, indices):
        return tuple(int(i) for i in indices)
'''


def test_doc_tables_equal_the_declaration():
    text = (ROOT / "docs" / "custom_space.md").read_text()
    found = re.search(r"<!-- protocol-tables[^>]*-->\n(.*?)<!-- /protocol-tables -->", text, re.S)
    assert found, "docs/custom_space.md lost its protocol-tables markers"
    assert found.group(1) == capability_tables()


def test_every_capability_member_is_in_the_doc_table():
    table = capability_tables()
    for capability in CAPABILITY_DECLARATIONS:
        for method in capability.methods:
            assert f"{method.call}" in table
        for attribute in capability.attributes:
            assert attribute.name in table


@pytest.mark.parametrize("searcher", ["hb", "bohb"])
def test_a_tutorial_space_gets_real_epochs_in_hb_and_bohb(tmp_path, monkeypatch, searcher):
    (tmp_path / "epoch_space.py").write_text(TUTORIAL_FIDELITY_SPACE)
    monkeypatch.chdir(tmp_path)
    config = parse_search_config({"space": {"class": "epoch_space.py:EpochSpace"},
                                  "searcher": {"name": searcher, "args": {"min_budget": 1}},
                                  "budget_seconds": 3000, "runs": 1})
    context = SearchContext.build(config)
    assert "fidelity" in capabilities(context.space) and has_fidelity(context.space)
    epochs = run_one(context, 0).trajectory.epochs
    assert None not in epochs and min(epochs) < 12 and max(epochs) == 12, epochs


def test_query_at_without_max_epochs_is_not_fidelity(tmp_path, monkeypatch):
    (tmp_path / "epoch_space.py").write_text(TUTORIAL_FIDELITY_SPACE.replace("    max_epochs = 12\n", "    max_epochs = None\n")
                                             .replace("self.max_epochs", "12"))
    monkeypatch.chdir(tmp_path)
    context = SearchContext.build(parse_search_config({"space": {"class": "epoch_space.py:EpochSpace"},
                                                       "searcher": {"name": "hb"}, "runs": 1}))
    assert "fidelity" not in capabilities(context.space) and not has_fidelity(context.space)


def test_a_mistyped_optional_attribute_is_one_problem():
    namespace: dict = {}
    exec(textwrap.dedent(TUTORIAL_FIDELITY_SPACE).replace("max_epochs = 12", 'max_epochs = "12"'), namespace)
    problems = protocol_problems(namespace["EpochSpace"]())
    assert problems == ["max_epochs = '12' must be an integer"]
    with pytest.raises(UsageError, match="max_epochs = '12' must be an integer"):
        from nasearch.loading import check_space

        check_space(namespace["EpochSpace"](), "EpochSpace")


def test_embedded_nb201_does_not_claim_fidelity():
    from nasearch.spaces.nb201.space import NB201Space

    space = NB201Space()  # embedded: final results only
    assert "fidelity" not in capabilities(space) and not has_fidelity(space) and space.max_epochs is None
    assert capabilities(space) == ["encoding", "neighbours", "vector_encodings"]
