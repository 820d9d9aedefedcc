"""The official NAS-Bench-101 files: TFRecord framing, JSON rows, ModelMetrics, the cached index and the backend.

Every file here is written by tests/nb101_fixtures.py in the official format, independently
of the reader (its own framing, its own protobuf wire encoding).
"""
from __future__ import annotations

import base64
import json
import os
import pickle
import struct

import numpy as np
import pytest

import nb101_fixtures as fx
from nasearch.errors import UsageError
from nasearch.spaces.nb101.metrics import message_classes
from nasearch.spaces.nb101.official import NB101FileError, OfficialNB101Backend, UnknownCell
from nasearch.spaces.nb101.tfrecord import TFRecordError, frame, iter_records, masked_crc32c


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NASEARCH_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("nb101")
    only108, full = root / "nasbench_only108.tfrecord", root / "nasbench_full.tfrecord"
    return {"only108": (only108, fx.write_fixture(only108, "only108", cells=100, seed=0)),
            "full": (full, fx.write_fixture(full, "full", cells=60, seed=5))}


def one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text and "Traceback" not in text
    return text


# -- framing and protobuf ------------------------------------------------------------------------
def test_masked_crc32c_is_tensorflows():
    # CRC-32C's standard check value, then TensorFlow's mask ((crc >> 15 | crc << 17) + 0xa282ead8)
    crc = 0xE3069283
    assert masked_crc32c(b"123456789") == (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF
    assert frame(b"payload") == fx.framed(b"payload")


def test_records_round_trip(tmp_path):
    payloads = [b"", b"x", os.urandom(5000), b"last"]
    fx.write_payloads(tmp_path / "r.tfrecord", payloads)
    read = list(iter_records(tmp_path / "r.tfrecord", buffer_bytes=64))
    assert [p for _, _, p in read] == payloads
    assert [o for _, o, _ in read] == [o for o, _ in fx.record_offsets(tmp_path / "r.tfrecord")]


def test_model_metrics_matches_the_wire_format():
    """Our descriptor decodes the hand-written wire bytes, and serializes them back byte for byte."""
    model_metrics, evaluation = message_classes()
    blob = fx.model_metrics([fx.evaluation_data(0.0, 0.0, 0.1, 0.2, 0.3),
                             fx.evaluation_data(54.0, 577.25, 0.81, 0.8, 0.79),
                             fx.evaluation_data(108.0, 1155.85, 1.0, 0.9376, 0.9312, "/x/model.ckpt-42")],
                            2694282, 1300.5)
    message = model_metrics.FromString(blob)
    assert message.trainable_parameters == 2694282 and message.total_time == 1300.5
    final = message.evaluation_data[2]
    assert (final.current_epoch, final.training_time, final.train_accuracy, final.validation_accuracy,
            final.test_accuracy, final.checkpoint_path) == (108.0, 1155.85, 1.0, 0.9376, 0.9312, "/x/model.ckpt-42")
    assert message.evaluation_data[1].training_time == 577.25
    assert message.SerializeToString() == blob
    assert evaluation.DESCRIPTOR.full_name == "nasbench.EvaluationData"


# -- the backend on official-format files --------------------------------------------------------
@pytest.mark.parametrize("variant", ["only108", "full"])
def test_every_number_read_equals_what_was_written(files, variant):
    path, expected = files[variant]
    backend = OfficialNB101Backend(path)
    assert backend.built_index and backend.meta["records"] == expected["_records"]
    assert backend.epochs == fx.VARIANTS[variant] and backend.max_epochs == 108
    cells = {h: v for h, v in expected.items() if h != "_records"}
    assert set(backend.hashes()) == set(cells) and len(backend) == len(cells)
    for digest, want in cells.items():
        assert backend.cell(digest) == (want["matrix"], want["ops"])
        assert backend.trainable_parameters(digest) == want["params"]
        for (epochs, repeat), run in want["runs"].items():
            assert backend.record(digest, epochs, repeat) == run
        for epochs in backend.epochs:
            assert backend.repeats(digest, epochs) == fx.REPEATS
        runs = [want["runs"][(108, r)] for r in range(fx.REPEATS)]
        assert backend.final_metrics(digest) == {
            "cifar10_valid": 100.0 * float(np.mean([r["final_validation_accuracy"] for r in runs])),
            "cifar10_test": 100.0 * float(np.mean([r["final_test_accuracy"] for r in runs])),
        }


def test_query_draws_one_repeat_with_the_generator(files):
    path, expected = files["full"]
    backend = OfficialNB101Backend(path)
    digest = sorted(backend.hashes())[3]
    drawn = set()
    for seed in range(30):
        for epochs in (4, 12, 36, 108):
            evaluation = backend.query(digest, epochs, np.random.default_rng(seed))
            repeat = int(np.random.default_rng(seed).integers(fx.REPEATS))
            run = expected[digest]["runs"][(epochs, repeat)]
            assert evaluation.fitness == 100.0 * run["final_validation_accuracy"]
            assert evaluation.cost_seconds == run["final_training_time"]
            assert evaluation.extras == {"epochs": float(epochs), "repeat": float(repeat)}
            drawn.add(repeat)
    assert drawn == {0, 1, 2}
    # the default budget is the top one; one draw per query
    rng_a, rng_b = np.random.default_rng(7), np.random.default_rng(7)
    assert backend.query(digest, None, rng_a) == backend.query(digest, 108, rng_b)
    assert rng_a.random() == rng_b.random()


def test_unknown_hash_and_budget_are_one_line(files):
    backend = OfficialNB101Backend(files["only108"][0])
    for bad in ("0" * 32, "not-a-hash", 42):
        with pytest.raises(ValueError, match="no results for module hash") as caught:
            backend.query(bad, 108, np.random.default_rng(0))
        assert isinstance(caught.value, UnknownCell) and isinstance(caught.value, UsageError)
        assert str(bad) in one_line(caught.value)
    digest = sorted(backend.hashes())[0]
    with pytest.raises(UsageError, match="results at 108 epochs, not 36"):
        backend.query(digest, 36, np.random.default_rng(0))
    with pytest.raises(UsageError, match="min_budget: 4"):
        OfficialNB101Backend(files["full"][0]).query(digest_of(files["full"]), 1, np.random.default_rng(0))


def digest_of(entry) -> str:
    return next(h for h in entry[1] if h != "_records")


def test_no_file_is_one_line(tmp_path):
    with pytest.raises(UsageError, match="set space.args.path") as caught:
        OfficialNB101Backend(None)
    one_line(caught.value)
    with pytest.raises(UsageError, match="not found") as caught:
        OfficialNB101Backend(tmp_path / "missing.tfrecord")
    one_line(caught.value)
    with pytest.raises(UsageError, match="not found"):
        OfficialNB101Backend(tmp_path)  # a directory


def test_backend_pickles(files):
    backend = OfficialNB101Backend(files["full"][0])
    clone = pickle.loads(pickle.dumps(backend))
    digest = sorted(backend.hashes())[0]
    assert clone.final_metrics(digest) == backend.final_metrics(digest) and clone.epochs == backend.epochs


# -- the index: reused, rebuilt when stale or corrupt --------------------------------------------
def test_index_is_reused_and_rebuilt(files, tmp_path):
    source = tmp_path / "copy.tfrecord"
    source.write_bytes(files["only108"][0].read_bytes())
    index = tmp_path / "idx" / "copy.nb101index"
    first = OfficialNB101Backend(source, index=index)
    assert first.built_index and index.is_file()
    again = OfficialNB101Backend(source, index=index)
    assert not again.built_index and again.hashes() == first.hashes()
    # default place: under $NASEARCH_CACHE_DIR/nb101
    assert OfficialNB101Backend(source).index_path.parent == tmp_path / "cache" / "nb101"

    def rebuilt() -> bool:
        return OfficialNB101Backend(source, index=index).built_index

    # a corrupt array (CRC mismatch), a truncated index, a foreign header, a non-index file
    data = bytearray(index.read_bytes())
    (length,) = struct.unpack_from("<Q", data, 21)
    header = json.loads(data[29:29 + length])
    start = -(-(29 + length) // 64) * 64
    data[start + header["arrays"]["final_test_accuracy"]["offset"] + 3] ^= 0xFF  # one accuracy's bits
    index.write_bytes(bytes(data))
    assert rebuilt() and not rebuilt()
    index.write_bytes(index.read_bytes()[:-100])
    assert rebuilt() and not rebuilt()
    index.write_bytes(b"NASEARCH-NB101-INDEX\n" + struct.pack("<Q", 5) + b"{bad}")
    assert rebuilt()
    index.write_bytes(b"garbage")
    assert rebuilt()
    # the source changed: new contents under the same name (size/mtime/fingerprint differ)
    expected = fx.write_fixture(source, "only108", cells=20, seed=9)
    fresh = OfficialNB101Backend(source, index=index)
    assert fresh.built_index and set(fresh.hashes()) == set(expected) - {"_records"}
    # same size, restored mtime, different bytes: the fingerprint catches it
    stat = source.stat()
    data = bytearray(source.read_bytes())
    position = data.index(b"final") if b"final" in data else len(data) // 2
    data[position] ^= 0x01
    source.write_bytes(bytes(data))
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    with pytest.raises(TFRecordError):  # rebuilt (not trusted), and the flipped byte fails its CRC
        OfficialNB101Backend(source, index=index)


def test_unwritable_index_is_one_line(files, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(UsageError, match="cannot write the NB101 index") as caught:
        OfficialNB101Backend(files["only108"][0], index=blocker / "sub" / "i.nb101index")
    one_line(caught.value)


# -- bad files: one line naming the file and the record ------------------------------------------
def test_crc_failures_and_truncation(files, tmp_path):
    data = files["only108"][0].read_bytes()
    offsets = fx.record_offsets(files["only108"][0])
    bad = tmp_path / "bad.tfrecord"

    offset, length = offsets[7]
    corrupt = bytearray(data)
    corrupt[offset + 12 + length // 2] ^= 0x20
    bad.write_bytes(bytes(corrupt))
    with pytest.raises(TFRecordError, match=rf"record 7 \(byte {offset}\): the payload's CRC") as caught:
        OfficialNB101Backend(bad)
    assert str(bad) in one_line(caught.value)

    corrupt = bytearray(data)
    corrupt[offsets[3][0] + 2] ^= 0x01
    bad.write_bytes(bytes(corrupt))
    with pytest.raises(TFRecordError, match="record 3 .*the length's CRC"):
        OfficialNB101Backend(bad)

    offset, length = offsets[-1]
    for cut in (offset + 5, offset + 12 + length - 3, offset + 12 + length + 2):
        bad.write_bytes(data[:cut])
        with pytest.raises(TFRecordError, match=rf"record {len(offsets) - 1} \(byte {offset}\) is truncated") as caught:
            OfficialNB101Backend(bad)
        one_line(caught.value)

    bad.write_bytes(b"")
    with pytest.raises(NB101FileError, match="holds no records"):
        OfficialNB101Backend(bad)
    bad.write_bytes(b"this is a text file, not a tfrecord file at all\n")
    with pytest.raises(TFRecordError, match="record 0 .*length's CRC"):
        OfficialNB101Backend(bad)


def _row(metrics: bytes | str | None = None, **changes) -> bytes:
    blob = metrics if metrics is not None else fx.model_metrics(
        [fx.evaluation_data(0, 0, 0.1, 0.1, 0.1), fx.evaluation_data(2, 5, 0.5, 0.5, 0.5),
         fx.evaluation_data(4, 10, 0.6, 0.6, 0.6)], 1000, 11.0)
    row = {"hash": "a" * 32, "epochs": 4, "adjacency": "0100", "ops": "input,output",
           "metrics": blob if isinstance(blob, str) else base64.b64encode(blob).decode()}
    row.update(changes)
    return json.dumps([row["hash"], row["epochs"], row["adjacency"], row["ops"], row["metrics"]]).encode()


@pytest.mark.parametrize("payload, message", [
    (b"\xff\xfe not utf-8", "is not a JSON row"),
    (b"[1, 2", "is not a JSON row"),
    (b'{"a": 1}', "is not a JSON row"),
    (b'["a", 1, "0", "input"]', "is not a JSON row"),
    (_row(hash="xyz"), "module_hash xyz is not 32 hex digits"),
    (_row(epochs="108"), "epochs 108 is not a positive integer"),
    (_row(epochs=0), "epochs 0 is not a positive integer"),
    (_row(adjacency="01001"), "raw_adjacency 01001 is not a square"),
    (_row(adjacency="0200"), "raw_adjacency 0200 is not a square"),
    (_row(ops="input,conv5x5,output", adjacency="011001000"), "raw_operations input,conv5x5,output are not 3 labels"),
    (_row(ops="output,input"), "are not 2 labels"),
    (_row(metrics="***not base64***"), "raw_metrics is not base64"),
    (_row(metrics=b"\xff\xff\xff\xff"), "raw_metrics is not a serialized ModelMetrics protobuf"),
    # a valid protobuf that is not a ModelMetrics: one EvaluationData message
    (_row(metrics=fx.evaluation_data(108, 1.0, 0.5, 0.5, 0.5)), "raw_metrics is not a"),
    (_row(metrics=fx.model_metrics([fx.evaluation_data(4, 1, 1, 1, 1)], 1000, 1.0)),
     "1 evaluations .need start, halfway, end"),
])
def test_bad_rows_are_one_line(tmp_path, payload, message):
    path = tmp_path / "rows.tfrecord"
    good = _row()
    fx.write_payloads(path, [good, payload])
    with pytest.raises(NB101FileError, match=message) as caught:
        OfficialNB101Backend(path)
    assert one_line(caught.value).startswith(f"{path}: record 1 (byte ")


def test_inconsistent_and_incomplete_metrics(tmp_path):
    path = tmp_path / "rows.tfrecord"
    three = [fx.evaluation_data(0, 0, 0.1, 0.1, 0.1), fx.evaluation_data(2, 5, 0.5, 0.5, 0.5),
             fx.evaluation_data(4, 10, 0.6, 0.6, 0.6)]
    no_params = b"".join(fx.bytes_field(1, e) for e in three)
    no_valid = three[:1] + [fx.double_field(1, 2) + fx.double_field(2, 5) + fx.double_field(5, 0.5)] + three[2:]
    cases = [
        ([_row(), _row(metrics=no_params)], "no trainable_parameters"),
        ([_row(), _row(metrics=fx.model_metrics(no_valid, 1000, 1.0))], "halfway evaluation has no validation_accuracy"),
        ([_row(), _row(adjacency="0110" [:0] + "0100", ops="input,output", epochs=12,
                       metrics=fx.model_metrics(three, 999, 1.0))], "another cell or parameter count"),
        ([_row(), _row(adjacency="011001000", ops="input,maxpool3x3,output")], "another cell or parameter count"),
    ]
    for payloads, message in cases:
        fx.write_payloads(path, payloads)
        with pytest.raises(NB101FileError, match=message) as caught:
            OfficialNB101Backend(path)
        assert one_line(caught.value).startswith(f"{path}: record 1 (byte ")


# -- the space over the official files, end to end ------------------------------------------------
CONFIGS = __import__("pathlib").Path(__file__).resolve().parents[1] / "configs"


def _space(path):
    from nasearch.loading import load_space

    return load_space({"name": "nb101", "args": {"path": str(path)}})


def test_space_over_the_files(files):
    from nasearch.spaces.protocol import capabilities

    full, only108 = _space(files["full"][0]), _space(files["only108"][0])
    assert "fidelity" in capabilities(full) and full.max_epochs == 108
    assert "fidelity" not in capabilities(only108) and only108.max_epochs is None  # single fidelity, as NB201 embedded
    expected = files["full"][1]
    rng = np.random.default_rng(0)
    for _ in range(20):
        arch = full.sample(rng)
        digest = full.arch_id(arch)
        assert digest in expected and (arch.matrix, arch.ops) == (expected[digest]["matrix"], expected[digest]["ops"])
        assert full.from_id(digest) == arch
        for epochs in (4, 12, 36):
            seed = int(rng.integers(1000))
            evaluation = full.query_at(arch, epochs, np.random.default_rng(seed))
            run = expected[digest]["runs"][(epochs, int(np.random.default_rng(seed).integers(3)))]
            assert (evaluation.fitness, evaluation.cost_seconds) == (100 * run["final_validation_accuracy"],
                                                                     run["final_training_time"])
        assert full.final_metrics(arch) == full.backend.final_metrics(digest)
    with pytest.raises(UsageError, match="not 5"):
        full.query_at(arch, 5, rng)


def _run_config(tmp_path, name, raw, runs=2):
    import yaml

    from nasearch.cli import main

    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw))
    out = tmp_path / name
    assert main(["run", str(path), "--out", str(out), "--runs", str(runs)]) == 0
    return [json.loads(line) for line in (out / "runs.jsonl").read_text().splitlines()]


def _shipped(name: str, path, **changes) -> dict:
    import yaml

    raw = yaml.safe_load((CONFIGS / name).read_text())
    raw["space"]["args"]["path"] = str(path)
    raw.update(changes)
    return raw


@pytest.mark.parametrize("searcher, args, hook", [
    ("rea", {"population_size": 5, "tournament_size": 3}, None),
    ("rea", {"population_size": 5, "tournament_size": 3}, {"proxy": "params", "k": 3, "cost": "lookup"}),
    ("rs", {}, None),
    ("rs", {}, {"proxy": "params", "k": 3, "cost": "lookup"}),
    ("reinforce", {}, None),
    ("hb", {"eta": 3, "min_budget": 4}, None),
    ("bohb", {"eta": 3, "min_budget": 4}, None),
    ("npenas", {"num_init": 5, "num_candidates": 20, "k": 5}, None),
    pytest.param("bananas", {"num_init": 5, "num_candidates": 10, "k": 3, "ensemble": 2}, None,
                 marks=pytest.mark.slow),  # ~20 s: an MLP ensemble trained per step
])
def test_searches_run_on_the_fixture(files, tmp_path, searcher, args, hook):
    """Every searcher (and G-twins by the params proxy, which needs no images) over the full-file fixture:
    each trajectory value is one of the file's repeats, the final metrics are the file's means."""
    path, expected = files["full"]
    predictor_guided = searcher in ("npenas", "bananas")  # a model fit per step: keep them short
    raw = _shipped("nb101_rea.yaml", path, label=searcher, budget_seconds=15000 if hook or predictor_guided else 40000)
    raw["searcher"] = {"name": searcher, "args": args}
    if searcher in ("reinforce", "bohb"):  # they decode choice vectors: keep them to the fixture's cells
        raw["space"] = {"class": "nb101_fixtures:FixtureNB101Space", "args": raw["space"]["args"]}
    if hook:
        raw["hook"] = {**hook, "batch_size": 8}
    records = _run_config(tmp_path, searcher, raw, runs=1 if predictor_guided else 2)
    space = _space(path)
    for record in records:
        trajectory = record["trajectory"]
        assert record["evaluations"] == len(trajectory["fitness"]) >= 8
        for arch_id, fitness, epochs in zip(trajectory["arch"], trajectory["fitness"], trajectory["epochs"]):
            runs = expected[space.from_id(arch_id).hash]["runs"]
            level = 108 if epochs is None else epochs
            assert any(fitness == 100 * runs[(level, r)]["final_validation_accuracy"] for r in range(3))
        if searcher in ("hb", "bohb"):  # real fidelities: the file's 4/12/36/108-epoch trainings
            assert set(trajectory["epochs"]) == {4, 12, 36, 108}
        best = space.from_id(record["best_arch"])
        assert record["final"] == space.backend.final_metrics(best.hash)


def test_bohb_on_only108_runs_single_fidelity(files, tmp_path, caplog):
    raw = _shipped("nb101_rea.yaml", files["only108"][0], label="bohb1", budget_seconds=20000)
    raw["searcher"] = {"name": "bohb", "args": {"eta": 3, "min_budget": 4}}
    raw["space"] = {"class": "nb101_fixtures:FixtureNB101Space", "args": raw["space"]["args"]}
    records = _run_config(tmp_path, "bohb1", raw, runs=1)
    assert set(records[0]["trajectory"]["epochs"]) == {None}


def test_default_min_budget_on_the_full_file_is_one_line(files, tmp_path, capsys):
    import yaml

    from nasearch.cli import main

    raw = _shipped("nb101_rea.yaml", files["full"][0], label="hb_default", budget_seconds=20000)
    raw["searcher"] = {"name": "hb"}
    path = tmp_path / "hb.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert main(["run", str(path), "--out", str(tmp_path / "o"), "--runs", "1"]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("nasearch: error: ") and "not 1" in last and "min_budget: 4" in last


@pytest.mark.parametrize("damage, message", [
    ("truncate", "is truncated"),
    ("protobuf", "raw_metrics is not a serialized ModelMetrics protobuf"),
    ("json", "is not a JSON row"),
    ("crc", "the payload's CRC does not match"),
])
def test_bad_file_stops_a_run_in_one_line(files, tmp_path, capsys, damage, message):
    import yaml

    from nasearch.cli import main

    data = files["only108"][0].read_bytes()
    bad = tmp_path / "bad.tfrecord"
    if damage == "truncate":
        bad.write_bytes(data[:-7])
    elif damage == "crc":
        offset, length = fx.record_offsets(files["only108"][0])[5]
        corrupt = bytearray(data)
        corrupt[offset + 12 + length - 1] ^= 0x04
        bad.write_bytes(bytes(corrupt))
    else:
        payload = _row(metrics=b"\x0a\xff\x01") if damage == "protobuf" else b"[not json"
        bad.write_bytes(data + fx.framed(payload))
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(_shipped("nb101_rea.yaml", bad)))
    assert main(["run", str(path), "--out", str(tmp_path / "o"), "--runs", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"nasearch: error: {bad}: record ") and message in err[0]


def test_shipped_experiment_and_report_on_the_fixture(files, tmp_path):
    """configs/experiments/nb101.yaml (its space pointed at the fixture, the hooks on params) runs and reports."""
    import yaml

    from nasearch.cli import main

    raw = yaml.safe_load((CONFIGS / "experiments" / "nb101.yaml").read_text())
    for entry in raw["searchers"]:
        entry["config"] = str(CONFIGS / entry["config"].split("configs/", 1)[1])
        entry["space"] = {"class": "nb101_fixtures:FixtureNB101Space", "args": {"path": str(files["full"][0])}}
        if "g_" in entry["label"]:
            entry["hook"] = {"proxy": "params", "k": 3, "batch_size": 8, "cost": "lookup"}
    raw.update(runs=2, budget_seconds=30000, out=str(tmp_path / "exp"), workers=1)
    path = tmp_path / "nb101.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert main(["experiment", str(path)]) == 0
    labels = {"rea", "g_rea", "rs", "g_rs", "bohb", "hb", "g_hb"}
    assert {p.name for p in (tmp_path / "exp").iterdir() if p.is_dir()} >= labels
    assert main(["report", str(tmp_path / "exp")]) == 0
    report = (tmp_path / "exp" / "report.md").read_text()
    assert all(label in report.lower() for label in ("rea", "bohb", "cifar10_test"))


@pytest.mark.slow  # ~25 s: two worker processes start (torch imports)
def test_runs_are_byte_identical_whatever_the_worker_count(files, tmp_path):
    import yaml

    from nasearch.cli import main

    raw = _shipped("nb101_rea.yaml", files["full"][0], label="w", budget_seconds=30000)
    raw["searcher"] = {"name": "hb", "args": {"eta": 3, "min_budget": 4}}
    path = tmp_path / "w.yaml"
    path.write_text(yaml.safe_dump(raw))
    for out, workers in (("one", "1"), ("two", "2")):
        assert main(["run", str(path), "--out", str(tmp_path / out), "--runs", "3", "--workers", workers]) == 0
    assert (tmp_path / "one" / "runs.jsonl").read_bytes() == (tmp_path / "two" / "runs.jsonl").read_bytes()


def test_predictor_study_runs_on_the_fixture(files, tmp_path, capsys):
    from nasearch.cli import main

    out = tmp_path / "study"
    assert main(["predictors", "--space", "nb101", "--path", str(files["only108"][0]), "--predictors", "xgb,params",
                 "--train-sizes", "5,10", "--trials", "2", "--test-size", "20", "--out", str(out), "--no-progress"]) == 0
    rows = (out / "results.csv").read_text().splitlines()
    assert len(rows) == 1 + 2 * 2 + 2  # header, xgb x 2 sizes x 2 trials, params x 2 trials
