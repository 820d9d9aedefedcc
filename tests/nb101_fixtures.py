"""Official-format NAS-Bench-101 files for the tests: real framing, real JSON rows, real protobufs.

Written independently of the reader under test: the TFRecord framing with ``struct`` and
``google_crc32c``, the ``ModelMetrics`` protobuf by hand in the protobuf wire format (tags,
varints, little-endian doubles, as ``model_metrics.proto`` numbers the fields), each JSON row as
``json.dumps([module_hash, epochs, raw_adjacency, raw_operations, base64(metrics)])``.

Cells are drawn as the benchmark's generator does (a random 7x7 upper-triangular matrix and
random interior ops, kept when valid), written *pruned* in ModelSpec's vertex order (not the
space's canonical order) and keyed by the official module hash, one cell per hash. Every number
written is returned, so a test can compare each value read with what was written.

Variants: ``only108`` (one 108-epoch budget) and ``full`` (4, 12, 36, 108), 3 repeats each, the
records shuffled (seeded) so the reader cannot rely on their order; a repeat's index is its
order of appearance in the file, as the benchmark's API numbers repeats.
"""
from __future__ import annotations

import base64
import hashlib
import json
import struct
from pathlib import Path

import google_crc32c
import numpy as np

from nasearch.spaces.nb101 import cell as nb101_cell
from nasearch.spaces.nb101.space import NB101Space, _flip_repair

VARIANTS: dict[str, tuple[int, ...]] = {"only108": (108,), "full": (4, 12, 36, 108)}
REPEATS = 3
#: seconds per epoch of the fixture's fake trainings (the real ones are ~10 s/epoch on a TPU)
SECONDS_PER_EPOCH = (6.0, 14.0)


# -- the wire formats, by hand -------------------------------------------------------------------
def masked_crc(data: bytes) -> int:
    crc = google_crc32c.value(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def framed(payload: bytes) -> bytes:
    length = struct.pack("<Q", len(payload))
    return length + struct.pack("<I", masked_crc(length)) + payload + struct.pack("<I", masked_crc(payload))


def varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int32 values are written as 10-byte varints
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def double_field(number: int, value: float) -> bytes:
    return varint(number << 3 | 1) + struct.pack("<d", value)


def bytes_field(number: int, data: bytes) -> bytes:
    return varint(number << 3 | 2) + varint(len(data)) + data


def evaluation_data(epoch: float, training_time: float, train: float, valid: float, test: float, checkpoint: str = "") -> bytes:
    out = (double_field(1, epoch) + double_field(2, training_time) + double_field(3, train)
           + double_field(4, valid) + double_field(5, test))
    return out + (bytes_field(6, checkpoint.encode()) if checkpoint else b"")


def model_metrics(evaluations: list[bytes], trainable_parameters: int, total_time: float) -> bytes:
    out = b"".join(bytes_field(1, e) for e in evaluations)
    return out + varint(2 << 3 | 0) + varint(trainable_parameters) + double_field(3, total_time)


def json_row(module_hash: str, epochs: int, matrix, ops, metrics: bytes) -> bytes:
    raw_adjacency = "".join(str(int(v)) for row in matrix for v in row)
    row = [module_hash, int(epochs), raw_adjacency, ",".join(ops), base64.b64encode(metrics).decode("ascii")]
    return json.dumps(row).encode("utf-8")


# -- cells and their results ---------------------------------------------------------------------
def random_cells(count: int, seed: int = 0) -> list[tuple[str, tuple, tuple]]:
    """``count`` distinct valid cells as ``(module hash, pruned matrix, pruned ops)``."""
    return nb101_cell.distinct_random_cells(count, np.random.default_rng(seed))


def write_fixture(path: str | Path, variant: str = "only108", cells: int = 100, seed: int = 0,
                  cell_list: list[tuple[str, tuple, tuple]] | None = None) -> dict:
    """Write an official-format file; return what it holds.

    The result maps ``module_hash -> {"matrix", "ops", "params", "runs": {(epochs, repeat): {...}}}``
    where each run has ``final_validation_accuracy``, ``final_test_accuracy``, ``final_training_time``,
    ``halfway_*`` (the fractions and seconds written) and ``start_training_time``; plus ``"_records"``,
    the number of records.
    """
    levels = VARIANTS[variant]
    rng = np.random.default_rng(seed + 1)
    chosen = cell_list if cell_list is not None else random_cells(cells, seed)
    expected: dict = {}
    records: list[tuple[str, int, bytes]] = []
    for digest, matrix, ops in chosen:
        params = int(rng.integers(200_000, 40_000_000))
        quality = float(rng.uniform(0.80, 0.94))
        expected[digest] = {"matrix": matrix, "ops": ops, "params": params, "runs": {}}
        for epochs in levels:
            for generated in range(REPEATS):
                seconds = float(rng.uniform(*SECONDS_PER_EPOCH)) * epochs
                reach = quality * (1 - 0.35 * np.exp(-epochs / 20))
                valid = float(np.clip(reach + rng.normal(0, 0.004), 0.1, 0.99))
                test = float(np.clip(valid + rng.normal(0, 0.004), 0.1, 0.99))
                half_valid, half_test = valid * float(rng.uniform(0.8, 0.95)), test * float(rng.uniform(0.8, 0.95))
                run = {"final_validation_accuracy": valid, "final_test_accuracy": test, "final_training_time": seconds,
                       "halfway_validation_accuracy": half_valid, "halfway_test_accuracy": half_test,
                       "halfway_training_time": seconds / 2 + float(rng.uniform(-1, 1))}
                blob = model_metrics(
                    [evaluation_data(0.0, 0.0, 0.1, 0.1, 0.1),
                     evaluation_data(epochs / 2, run["halfway_training_time"], half_valid + 0.02, half_valid, half_test),
                     evaluation_data(float(epochs), seconds, min(1.0, valid + 0.05), valid, test,
                                     f"/tmp/model_dir/model.ckpt-{epochs * 390}")],
                    params, seconds * 1.1)
                records.append((digest, epochs, generated, json_row(digest, epochs, matrix, ops, blob)))
                expected[digest]["runs"].setdefault(epochs, []).append(run)
    order = np.random.default_rng(seed + 2).permutation(len(records))
    # the repeat index is the order of appearance in the file: renumber the runs in that order
    seen: dict[tuple[str, int], int] = {}
    runs_in_file_order: dict = {d: {} for d in expected}
    written = {d: {e: list(r) for e, r in v["runs"].items()} for d, v in expected.items()}
    with open(path, "wb") as handle:
        for position in order:
            digest, epochs, generated, payload = records[position]
            handle.write(framed(payload))
            k = seen.get((digest, epochs), 0)
            seen[(digest, epochs)] = k + 1
            runs_in_file_order[digest][(epochs, k)] = written[digest][epochs][generated]
    for digest in expected:
        expected[digest]["runs"] = runs_in_file_order[digest]
    expected["_records"] = len(records)
    return expected


def record_offsets(path: str | Path) -> list[tuple[int, int]]:
    """``(byte offset, payload length)`` of each record, read with ``struct`` only."""
    data = Path(path).read_bytes()
    out, offset = [], 0
    while offset < len(data):
        (length,) = struct.unpack_from("<Q", data, offset)
        out.append((offset, length))
        offset += 12 + length + 4
    return out


def write_payloads(path: str | Path, payloads: list[bytes]) -> None:
    """A file of correctly framed arbitrary payloads (for bad-row tests)."""
    with open(path, "wb") as handle:
        for payload in payloads:
            handle.write(framed(payload))


class FixtureNB101Space(NB101Space):
    """NB101 over a fixture file, with ``decode`` kept to the cells the file holds.

    On the official files every valid cell has results, so ``decode`` (REINFORCE, BOHB) always
    lands in the file; a fixture holds a few dozen cells, so a decoded cell that is not in it is
    replaced by the fixture cell at ``md5(hash) mod n`` (deterministic). Everything else
    (sampling, mutation, queries, ids) is :class:`NB101Space` over the real reader.
    """

    def decode(self, indices):
        values = [int(i) for i in indices]
        edges = len(nb101_cell.EDGE_POSITIONS)
        matrix = [[0] * nb101_cell.NUM_VERTICES for _ in range(nb101_cell.NUM_VERTICES)]
        for (src, dst), bit in zip(nb101_cell.EDGE_POSITIONS, values[:edges]):
            matrix[src][dst] = 1 if bit else 0
        cell = _flip_repair(matrix, ["input", *(nb101_cell.OPS[i] for i in values[edges:]), "output"])
        found = self._in_space(cell)
        if found is None:
            stored = sorted(self._hashes)
            found = self._stored(stored[int(hashlib.md5(cell.hash.encode()).hexdigest(), 16) % len(stored)])
        return found
