"""A search space that really trains its networks: small CNNs on scikit-learn's ``digits``.

Why it exists: NAS-Bench-201 answers ``query`` from a table, so nothing in nasearch would
notice if a space's ``query`` had to *train*. Here it does. Each architecture is a product
of five categorical choices (depth, width, kernel size, activation, normalisation); ``query``
trains it for a few epochs on 1,000 of the 1,797 bundled 8x8 digit images (one torch thread,
a training seed fixed per architecture) and returns its validation accuracy, charging the
CPU seconds the training took (``time.process_time``, which other processes on a shared
machine do not inflate the way wall time is inflated).

Reproducibility: accuracies are deterministic (fixed data split, fixed seed per arch, one
thread). Measured seconds are not bit-reproducible, so each arch's (accuracy, seconds) is
written once to a disk cache (first write wins) and every later query, in this run or any
other, reads it back. A rerun therefore charges the same seconds and makes the same
decisions; delete the cache directory to re-measure.

Needs ``pip install scikit-learn`` (the ``examples`` extra). Use it in a config as::

    space: {class: "examples/digits_space.py:DigitsSpace", args: {epochs: 4}}
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from functools import cached_property
from pathlib import Path
from typing import Sequence

import numpy as np

from nasearch.spaces.protocol import Evaluation

#: (position name, allowed values); an architecture is one value per position, in order.
CHOICES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("depth", ("d1", "d2", "d3")),
    ("width", ("w8", "w16", "w32")),
    ("kernel", ("k1", "k3", "k5")),
    ("activation", ("relu", "tanh", "sigmoid")),
    ("norm", ("plain", "bn")),
)
SPLIT_SEED = 0
TRAIN_SIZE, VALID_SIZE = 1000, 400  # the remaining 397 images are the test set

Arch = tuple[str, ...]


def check_ops(ops: Sequence[str]) -> Arch:
    """Validate an op list against :data:`CHOICES` (used by ``from_id`` and builders)."""
    ops = tuple(str(op) for op in ops)
    if len(ops) != len(CHOICES):
        raise ValueError(f"a digits arch has {len(CHOICES)} ops ({'-'.join(n for n, _ in CHOICES)}), got {ops}")
    for op, (position, values) in zip(ops, CHOICES):
        if op not in values:
            raise ValueError(f"{position} must be one of {values}, got {op!r}")
    return ops


def build_from_ops(ops: Sequence[str], num_classes: int = 10):
    """The torch network of an op list: ``depth`` conv layers, pooled to 2x2, then a linear head.

    Module-level (not a method) so a table of these archs can name it as its builder.
    """
    from torch import nn

    depth, width, kernel, activation, norm = check_ops(ops)
    channels, size = int(width[1:]), int(kernel[1:])
    act = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}[activation]
    layers: list[nn.Module] = []
    in_channels = 1
    for _ in range(int(depth[1:])):
        layers.append(nn.Conv2d(in_channels, channels, size, padding=size // 2, bias=norm == "plain"))
        if norm == "bn":
            layers.append(nn.BatchNorm2d(channels))
        layers.append(act())
        in_channels = channels
    layers += [nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(channels * 4, num_classes)]
    return nn.Sequential(*layers)


def default_cache_dir() -> Path:
    """Beside nasearch's score cache (``$NASEARCH_CACHE_DIR``, else ``~/.cache/nasearch``)."""
    return Path(os.environ.get("NASEARCH_CACHE_DIR") or Path.home() / ".cache" / "nasearch") / "digits_training"


class DigitsSpace:
    """162 small CNNs on ``sklearn.datasets.load_digits``; fitness = validation accuracy (%)."""

    name = "digits"
    version = "1"  # bump when the networks or the proxy data change: it keys proxy caches
    num_classes = 10

    def __init__(
        self,
        epochs: int = 4,
        batch_size: int = 32,
        learning_rate: float = 0.01,
        seed: int = 0,
        cache: bool = True,
        cache_dir: str | None = None,
    ) -> None:
        if epochs < 1 or batch_size < 1 or learning_rate <= 0:
            raise ValueError(f"need epochs >= 1, batch_size >= 1, learning_rate > 0; got {epochs}, {batch_size}, {learning_rate}")
        self.epochs, self.batch_size, self.learning_rate, self.seed = int(epochs), int(batch_size), float(learning_rate), int(seed)
        self._cache_root = Path(cache_dir or default_cache_dir()) / f"{self.name}-v{self.version}" if cache else None
        self.cache_dir = self._cache_dir(self.epochs)
        self._results: dict[tuple[str, int], dict] = {}
        self.trainings = 0  # trainings this process actually ran (not read from the cache)

    def _cache_dir(self, epochs: int) -> Path | None:
        """One directory per training setting: results of other settings are never mixed in."""
        if self._cache_root is None:
            return None
        return self._cache_root / f"e{epochs}-b{self.batch_size}-lr{self.learning_rate:g}-s{self.seed}"

    # -- data ---------------------------------------------------------------------------
    @cached_property
    def _splits(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Fixed train/valid/test split, standardised by the training pixels' mean and std."""
        try:
            from sklearn.datasets import load_digits
        except ImportError as exc:
            raise RuntimeError("the digits example needs scikit-learn: pip install -e '.[examples]'") from exc
        digits = load_digits()
        images = digits.images.astype(np.float32)[:, None]  # (1797, 1, 8, 8), values 0..16
        labels = digits.target.astype(np.int64)
        order = np.random.default_rng(SPLIT_SEED).permutation(len(labels))
        parts = {"train": order[:TRAIN_SIZE], "valid": order[TRAIN_SIZE : TRAIN_SIZE + VALID_SIZE],
                 "test": order[TRAIN_SIZE + VALID_SIZE :]}
        mean, std = images[parts["train"]].mean(), images[parts["train"]].std()
        return {k: ((images[v] - mean) / std, labels[v]) for k, v in parts.items()}

    def proxy_batch(self, batch_size: int, seed: int):
        """Capability ``proxy_batch``: training images for proxies (CIFAR-10 would not fit these nets)."""
        import torch

        images, labels = self._splits["train"]
        if batch_size > len(images):
            raise ValueError(f"proxy batch_size {batch_size} exceeds the {len(images)} digits training images")
        picked = np.random.default_rng(seed).choice(len(images), size=batch_size, replace=False)
        return torch.from_numpy(images[picked]), torch.from_numpy(labels[picked])

    # -- protocol -----------------------------------------------------------------------
    def sample(self, rng: np.random.Generator) -> Arch:
        return tuple(values[int(rng.integers(len(values)))] for _, values in CHOICES)

    def mutate(self, arch: Arch, rng: np.random.Generator) -> Arch:
        """One random position changed to a different value (as NB201's REA mutation)."""
        position = int(rng.integers(len(CHOICES)))
        others = [v for v in CHOICES[position][1] if v != arch[position]]
        ops = list(arch)
        ops[position] = others[int(rng.integers(len(others)))]
        return tuple(ops)

    def query(self, arch: Arch, rng: np.random.Generator) -> Evaluation:
        """Train (or read the cached training of) ``arch``; ``rng`` is unused: one seed per arch."""
        result = self._result(arch)
        return Evaluation(result["valid_accuracy"], result["train_cpu_seconds"])

    def final_metrics(self, arch: Arch) -> dict[str, float]:
        result = self._result(arch)
        return {"digits_test": result["test_accuracy"], "digits_valid": result["valid_accuracy"]}

    def arch_id(self, arch: Arch) -> str:
        return "-".join(arch)

    def from_id(self, arch_id: str) -> Arch:
        return check_ops(arch_id.split("-"))

    def build_network(self, arch: Arch, num_classes: int = 10):
        return build_from_ops(arch, num_classes)

    # -- optional capabilities ----------------------------------------------------------
    def choices(self) -> Sequence[Sequence[str]]:
        return [values for _, values in CHOICES]

    def encode(self, arch: Arch) -> tuple[int, ...]:
        return tuple(values.index(op) for op, (_, values) in zip(arch, CHOICES))

    def decode(self, indices: Sequence[int]) -> Arch:
        return tuple(values[int(i)] for i, (_, values) in zip(indices, CHOICES))

    def neighbours(self, arch: Arch) -> list[Arch]:
        return [arch[:p] + (v,) + arch[p + 1 :] for p, (_, values) in enumerate(CHOICES) for v in values if v != arch[p]]

    @property
    def max_epochs(self) -> int:
        """Capability ``fidelity``: ``query`` trains for ``epochs``; ``query_at`` for fewer."""
        return self.epochs

    def query_at(self, arch: Arch, epochs: int, rng: np.random.Generator) -> Evaluation:
        """Train ``arch`` for ``epochs`` epochs (1..max_epochs) from the same seed; cached like ``query``."""
        if not 1 <= int(epochs) <= self.epochs:
            raise ValueError(f"epochs must be in 1..{self.epochs} (the space's max_epochs), got {epochs}")
        result = self._result(arch, int(epochs))
        return Evaluation(result["valid_accuracy"], result["train_cpu_seconds"])

    def all_archs(self) -> list[Arch]:
        """Every architecture, in a fixed order (for sweeps and the tabular demo)."""
        return [self.decode(np.unravel_index(i, [len(v) for _, v in CHOICES])) for i in range(self.size)]

    @property
    def size(self) -> int:
        return int(np.prod([len(v) for _, v in CHOICES]))

    # -- training -----------------------------------------------------------------------
    def _result(self, arch: Arch, epochs: int | None = None) -> dict:
        arch_id, epochs = self.arch_id(check_ops(arch)), epochs or self.epochs
        if (arch_id, epochs) in self._results:
            return self._results[arch_id, epochs]
        directory = self._cache_dir(epochs)
        path = directory / f"{arch_id}.json" if directory else None
        if path is not None and path.is_file():
            result = json.loads(path.read_text())
        else:
            result = self.train(arch, epochs)
            if path is not None:
                result = _write_once(path, result)
        self._results[arch_id, epochs] = result
        return result

    def arch_seed(self, arch: Arch) -> int:
        """The training seed of ``arch``: fixed by its id and the space's seed, not by the run."""
        digest = hashlib.sha256(f"{self.arch_id(arch)}|{self.seed}".encode()).digest()
        return int.from_bytes(digest[:4], "little")

    def train(self, arch: Arch, epochs: int | None = None) -> dict:
        """Really train ``arch`` (no cache): accuracies in percent and CPU seconds of training."""
        epochs = epochs or self.epochs
        import torch
        from torch import nn

        x_train, y_train = (torch.from_numpy(a) for a in self._splits["train"])
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # deterministic, and CPU seconds mean one core's work
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(self.arch_seed(arch))
                network = build_from_ops(arch, self.num_classes)
                optimiser = torch.optim.Adam(network.parameters(), lr=self.learning_rate)
                order = torch.Generator().manual_seed(self.arch_seed(arch))
                loss_fn = nn.CrossEntropyLoss()
                started = time.process_time()
                network.train()
                for _ in range(epochs):
                    for batch in torch.randperm(len(y_train), generator=order).split(self.batch_size):
                        optimiser.zero_grad()
                        loss_fn(network(x_train[batch]), y_train[batch]).backward()
                        optimiser.step()
                seconds = time.process_time() - started
                network.eval()
                with torch.no_grad():
                    accuracy = {
                        part: float((network(torch.from_numpy(x)).argmax(1).numpy() == y).mean() * 100)
                        for part, (x, y) in self._splits.items() if part != "train"
                    }
        finally:
            torch.set_num_threads(threads)
        self.trainings += 1
        return {"arch": self.arch_id(arch), "valid_accuracy": accuracy["valid"], "test_accuracy": accuracy["test"],
                "train_cpu_seconds": seconds, "epochs": epochs}


def _write_once(path: Path, result: dict) -> dict:
    """Store ``result`` unless another process stored this arch first; return what is stored."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(json.dumps(result, sort_keys=True) + "\n")
    try:
        os.link(temporary, path)  # atomic and fails if the file exists: first write wins
    except FileExistsError:
        result = json.loads(path.read_text())
    finally:
        temporary.unlink()
    return result
