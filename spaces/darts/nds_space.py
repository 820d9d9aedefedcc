"""NDS's five cell design spaces (GradSign Table 4) as tabular spaces over NDS's published sweep files.

    space: {name: nds, args: {design: darts, path: ~/data/nds/DARTS.json}}

``design`` is one of ``darts``, ``amoeba``, ``enas``, ``nasnet``, ``pnas`` (default: what the
file name says, ``DARTS_fix-w-d.json`` -> ``darts``); ``path`` is a CIFAR-10 sweep of
facebookresearch/nds's ``data.zip`` (the plain sweeps, ``*_fix-w-d.json`` or
``DARTS_lr-wd.json``; the ImageNet ``*_in.json`` sweeps are refused: their networks are the
ImageNet variant). Every record is checked against the design (op set, node count, input
ranges) when the file is read.

The space is the file's trained records, one architecture per record (an architecture is its
position in the file; a genotype trained twice is two records):

* ``sample``: a uniform record.
* ``mutate``: the genotype mutation of the DARTS family (one op changed to another op of the
  design, or one input changed to another state the node may read, at equal probability;
  NASNet/Amoeba/ENAS cells then concatenate their new loose ends), then the record *nearest*
  to that child: fewest differing positions among the 4 x nodes (op, input) entries of both
  cells plus width and depth, the parent excluded, ties broken uniformly by the run's
  generator. With a few thousand records in a space of ~10^20 cells a one-edit child is
  essentially never itself in the file, so "restricted to records" has to mean nearest.
* ``neighbours``: every record at the smallest non-zero distance from ``arch`` (same metric),
  for local search.
* ``query``: fitness = the record's final test top-1 accuracy as NDS reports it, ``100 -
  test_ep_top1[-1]`` (the last epoch of the schedule; NDS has no validation split, and this is
  the accuracy GradSign's Table 4 and NASWOT rank against). Cost = the record's training time,
  ``iter_time x epochs x ceil(50000 / batch_size)`` seconds: ``iter_time`` is pycls's measured
  seconds per training iteration, ``epochs`` is ``optim.max_ep`` (100 in the NDS sweeps) and
  ``batch_size`` pycls's CIFAR batch, 128 (space arg). A record without ``iter_time`` is charged
  ``cost_seconds`` (space arg; the file is refused if it has such records and no charge is
  given).
* ``final_metrics``: ``{"cifar10_test": 100 - test_ep_top1[-1]}``.
* ``arch_id``: ``"<record>:<genotype>@w<width>d<depth>"``; ``from_id`` reads it back (and a bare
  record number) and refuses an id whose genotype is not that record's (an id from another file).
* ``build_network``: the DARTS/NDS CIFAR network at the record's own width and depth, without the
  auxiliary head (proxies); :meth:`record_network` builds it as trained (with the head when the
  record has ``aux``), whose parameter count is the record's ``params``.
* ``vector_encodings``: ``adjacency``, per cell and pair a one-hot op and a one-hot input, the
  concat as a bitmask, width and depth one-hot over the values the file holds.
* ``learning_curves`` (when every record has per-epoch test errors and training losses):
  ``learning_curve(arch, epochs, rng)`` is the record's first ``epochs`` epochs of the schedule,
  ``valid_acc`` = ``100 - test_ep_top1[e]`` (NDS evaluated the test set after every epoch and has no
  validation split, so the curve is the test curve), ``train_loss`` = ``train_ep_loss[e]``,
  ``seconds`` = those epochs' share of the training time. Note the schedule is the full run's
  cosine: epoch 10 of a 100-epoch run is not a 10-epoch training. ``max_epochs`` is the shortest
  curve in the file.

There is no categorical ``encoding``: an index vector would name a genotype the file does not
hold, so REINFORCE, BOHB and HB refuse this space in one line.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from nasearch.errors import UsageError
from nasearch.spaces.darts.genotype import CELLS, Design, Genotype, InvalidGenotype, check, default_concat, design as design_spec
from nasearch.spaces.darts.nds import NDS_TRAIN_BATCH, Record, design_of, read_sweep, variant_of
from nasearch.spaces.protocol import Evaluation

NDS_DESIGNS = ("darts", "amoeba", "enas", "nasnet", "pnas")


def genotype_of(record: Record) -> Genotype:
    return Genotype(record.normal, record.normal_concat, record.reduce, record.reduce_concat)


def genotype_text(genotype: Genotype) -> str:
    """A compact one-line genotype: ``op~input`` pairs per cell, then the concat."""
    parts = []
    for cell in CELLS:
        pairs = ",".join(f"{op}~{source}" for op, source in genotype.cell(cell))
        parts.append(f"{cell}={pairs};{cell}_concat={','.join(map(str, genotype.concat(cell)))}")
    return ";".join(parts)


def mutate_genotype(genotype: Genotype, spec: Design, rng: np.random.Generator) -> Genotype:
    """One op or one input of one pair changed (at equal odds), to a different value the design allows;
    loose-end designs then concatenate the child's loose ends."""
    cells = {c: list(genotype.cell(c)) for c in CELLS}
    cell = CELLS[int(rng.integers(2))]
    pair = int(rng.integers(spec.pairs))
    op, source = cells[cell][pair]
    if rng.random() < 0.5:
        others = [o for o in spec.ops if o != op]
        cells[cell][pair] = (others[int(rng.integers(len(others)))], source)
    else:
        partner = cells[cell][pair ^ 1][1]
        allowed = [s for s in range(spec.inputs_of(pair)) if s != source and not (spec.distinct_inputs and s == partner)]
        if allowed:
            cells[cell][pair] = (op, allowed[int(rng.integers(len(allowed)))])
        else:  # no other input is allowed (the first node of a distinct-input design): change the op
            others = [o for o in spec.ops if o != op]
            cells[cell][pair] = (others[int(rng.integers(len(others)))], source)
    concat = {c: (default_concat(tuple(cells[c]), spec) if spec.concat == "loose" else genotype.concat(c)) for c in CELLS}
    return Genotype(tuple(cells["normal"]), concat["normal"], tuple(cells["reduce"]), concat["reduce"])


class NDSSpace:
    """The trained records of one NDS sweep file; see the module docstring."""

    def __init__(self, path: str, design: str | None = None, batch_size: int = NDS_TRAIN_BATCH,
                 cost_seconds: float | None = None) -> None:
        inferred = design_of(path)
        design = design or inferred
        if design not in NDS_DESIGNS:
            raise UsageError(f"space.args.design: {design!r} is not an NDS cell design; use one of {list(NDS_DESIGNS)}"
                             + ("" if inferred else f" (the file name {path!r} does not say which)"))
        if variant_of(path) == "in":
            raise UsageError(f"space.args.path: {path} is an ImageNet sweep; the nds space reads the CIFAR-10 sweeps"
                             " (DARTS.json, DARTS_fix-w-d.json, ...), whose networks it builds")
        if batch_size < 1:
            raise UsageError(f"space.args.batch_size must be >= 1, got {batch_size}")
        if cost_seconds is not None and cost_seconds < 0:
            raise UsageError(f"space.args.cost_seconds must be >= 0, got {cost_seconds}")
        self.design = design
        self.spec = design_spec(design)
        self.path = path
        self.batch_size = int(batch_size)
        self.cost_seconds = cost_seconds
        digest, self.records = read_sweep(path)
        self.genotypes: list[Genotype] = []
        for position, record in enumerate(self.records):
            try:
                self.genotypes.append(check(genotype_of(record), self.spec))
            except InvalidGenotype as exc:
                raise UsageError(f"{self.path} record {record.index} is not an NDS {design} genotype: {exc}"
                                 " (is space.args.design right for this file?)") from None
        untimed = sum(r.iter_time is None for r in self.records)
        if untimed and cost_seconds is None:
            raise UsageError(f"{path}: {untimed} record(s) have no iter_time to charge a training by;"
                             " set space.args.cost_seconds (seconds charged per query)")
        variant = variant_of(path)
        self.name = f"nds-{design}" + ("" if variant == "random" else f"-{variant}")
        extra = f"b{self.batch_size}" + ("" if cost_seconds is None else f"c{cost_seconds}")
        self.version = f"{digest[:12]}-{extra}"
        self._matrix = self._position_matrix()
        self._widths = sorted({r.width for r in self.records})
        self._depths = sorted({r.depth for r in self.records})
        curves = all(len(r.train_loss) == len(r.test_top1_error) for r in self.records)
        #: the learning_curves capability's top fidelity (None: the file lacks per-epoch training losses)
        self.max_epochs = min(len(r.test_top1_error) for r in self.records) if curves else None

    # -- helpers ------------------------------------------------------------------------
    def _vector(self, genotype: Genotype, width: int, depth: int) -> np.ndarray:
        ops = {op: i for i, op in enumerate(self.spec.ops)}
        values = [v for c in CELLS for op, source in genotype.cell(c) for v in (ops[op], source)]
        return np.array(values + [width, depth], dtype=np.int64)

    def _position_matrix(self) -> np.ndarray:
        return np.stack([self._vector(g, r.width, r.depth) for g, r in zip(self.genotypes, self.records)])

    def _record(self, arch: Any) -> int:
        if isinstance(arch, (bool, np.bool_)) or not isinstance(arch, (int, np.integer)) or not 0 <= arch < len(self.records):
            raise ValueError(f"{arch!r} is not a record of {self.path} (records 0..{len(self.records) - 1})")
        return int(arch)

    def _distances(self, vector: np.ndarray) -> np.ndarray:
        return (self._matrix != vector).sum(axis=1)

    # -- protocol -----------------------------------------------------------------------
    def sample(self, rng: np.random.Generator) -> int:
        return int(rng.integers(len(self.records)))

    def mutate(self, arch: int, rng: np.random.Generator) -> int:
        """The record nearest to a one-edit mutation of ``arch``'s genotype (never ``arch`` itself)."""
        parent = self._record(arch)
        if len(self.records) == 1:
            return parent
        record = self.records[parent]
        child = mutate_genotype(self.genotypes[parent], self.spec, rng)
        distance = self._distances(self._vector(child, record.width, record.depth))
        distance[parent] = np.iinfo(np.int64).max
        nearest = np.flatnonzero(distance == distance.min())
        return int(nearest[int(rng.integers(len(nearest)))])

    def query(self, arch: int, rng: np.random.Generator) -> Evaluation:
        record = self.records[self._record(arch)]
        seconds = record.training_seconds(self.batch_size)
        return Evaluation(record.test_accuracy, float(self.cost_seconds if seconds is None else seconds))

    def final_metrics(self, arch: int) -> dict[str, float]:
        return {"cifar10_test": self.records[self._record(arch)].test_accuracy}

    def arch_id(self, arch: int) -> str:
        position = self._record(arch)
        record = self.records[position]
        return f"{position}:{genotype_text(self.genotypes[position])}@w{record.width}d{record.depth}"

    def from_id(self, arch_id: str) -> int:
        text = str(arch_id).strip()
        head, sep, _ = text.partition(":")
        try:
            position = self._record(int(head))
        except ValueError:
            raise ValueError(f"{text[:80]!r} is not an id of {self.name}: it reads '<record>:<genotype>@w<width>d<depth>'"
                             f" with a record number 0..{len(self.records) - 1}") from None
        if sep and self.arch_id(position) != text:
            raise ValueError(f"id {text[:60]!r}... names record {position} of {self.path}, whose genotype or size differs;"
                             " the id comes from another sweep file")
        return position

    def build_network(self, arch: int, num_classes: int = 10):
        """The record's network at its own width and depth, as proxies see it (no auxiliary head)."""
        return self.record_network(arch, num_classes, auxiliary=False)

    def record_network(self, arch: int, num_classes: int = 10, auxiliary: bool | None = None):
        """The network as the record trained it (``auxiliary=None``: with the head if the record had one)."""
        from nasearch.spaces.darts.network import DartsNetwork

        position = self._record(arch)
        record = self.records[position]
        return DartsNetwork(self.genotypes[position], record.width, record.depth, num_classes,
                            auxiliary=record.aux if auxiliary is None else auxiliary)

    # -- optional capabilities ----------------------------------------------------------
    def all_archs(self) -> list[int]:
        return list(range(len(self.records)))

    def neighbours(self, arch: int) -> list[int]:
        """Every record at the smallest non-zero distance from ``arch`` (see the module docstring)."""
        position = self._record(arch)
        distance = self._distances(self._matrix[position])
        distance[position] = np.iinfo(np.int64).max
        others = distance[distance > 0]
        if others.size == 0:
            return []
        return [int(i) for i in np.flatnonzero(distance == others.min())]

    vector_encodings = ("adjacency",)

    def vector_encoding(self, arch: int, kind: str) -> np.ndarray:
        """``adjacency``: per cell and pair a one-hot op and a one-hot input state, the concat as a bitmask
        over the nodes, width and depth one-hot over the file's values."""
        if kind not in self.vector_encodings:
            raise ValueError(f"{self.name} offers the encodings {list(self.vector_encodings)}, not {kind!r}")
        position = self._record(arch)
        genotype, record = self.genotypes[position], self.records[position]
        spec, parts = self.spec, []
        states = spec.nodes + 1
        for cell in CELLS:
            for op, source in genotype.cell(cell):
                one = np.zeros(len(spec.ops) + states, dtype=np.float32)
                one[spec.ops.index(op)] = 1.0
                one[len(spec.ops) + source] = 1.0
                parts.append(one)
            mask = np.zeros(spec.nodes, dtype=np.float32)
            mask[[s - 2 for s in genotype.concat(cell)]] = 1.0
            parts.append(mask)
        size = np.zeros(len(self._widths) + len(self._depths), dtype=np.float32)
        size[self._widths.index(record.width)] = 1.0
        size[len(self._widths) + self._depths.index(record.depth)] = 1.0
        parts.append(size)
        return np.concatenate(parts)

    def learning_curve(self, arch: int, epochs: int, rng: np.random.Generator) -> dict:
        """The record's first ``epochs`` epochs: test accuracy and training loss per epoch, and their cost."""
        if not self.max_epochs:
            raise NotImplementedError(f"{self.path} has no per-epoch training losses (train_ep_loss): no learning curves")
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or not 1 <= epochs <= self.max_epochs:
            raise ValueError(f"epochs must be an integer in 1..{self.max_epochs}, got {epochs!r}")
        record = self.records[self._record(arch)]
        seconds = record.training_seconds(self.batch_size, int(epochs))
        if seconds is None:
            seconds = float(self.cost_seconds) * int(epochs) / record.epochs
        return {"valid_acc": [100.0 - e for e in record.test_top1_error[:epochs]],
                "train_loss": list(record.train_loss[:epochs]), "seconds": float(seconds)}

    # -- extras -------------------------------------------------------------------------
    def genotype(self, arch: int) -> Genotype:
        return self.genotypes[self._record(arch)]

    def record(self, arch: int) -> Record:
        return self.records[self._record(arch)]
