"""Results tables for `nasearch correlate --accuracies` (NASLib zero-cost JSON, CSV), on NB101 cells."""
from __future__ import annotations

import csv
import json

import pytest

from nasearch.accuracy_table import read_table
from nasearch.cli import main
from nasearch.errors import UsageError
from nasearch.spaces.nb101.space import NB101Space

OPS_INDEX = {"input": 0, "output": 1, "maxpool3x3": 2, "conv1x1-bn-relu": 3, "conv3x3-bn-relu": 4}


def naslib_key(matrix, ops):
    """NASLib's zc key: the 7x7 matrix row-major, then the op indices (input, output, maxpool, conv1x1, conv3x3)."""
    n = len(ops)
    full = [[0] * 7 for _ in range(7)]
    for i in range(n):
        for j in range(n):
            full[i if i < n - 1 else 6][j if j < n - 1 else 6] = matrix[i][j]
    names = list(ops[:-1]) + ["conv3x3-bn-relu"] * (7 - n) + ["output"]
    return str(tuple(sum(full, [])) + tuple(OPS_INDEX[o] for o in names))


CELLS = [  # (matrix, ops): small cells, cheap networks
    ([[0, 1], [0, 0]], ["input", "output"]),
    ([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", "conv1x1-bn-relu", "output"]),
    ([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", "maxpool3x3", "output"]),
    ([[0, 1, 1], [0, 0, 1], [0, 0, 0]], ["input", "maxpool3x3", "output"]),
    ([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]], ["input", "conv1x1-bn-relu", "maxpool3x3", "output"]),
]
ACCURACY = [80.0, 85.5, 83.0, 84.0, 88.0]


def write_json(path, nested: bool, scores: bool = True):
    records = {}
    for (matrix, ops), acc in zip(CELLS, ACCURACY):
        record = {"val_accuracy": acc}
        if scores:
            record["params"] = {"score": 0.1 + acc / 1000, "time": 0.01} if not nested else 0.1 + acc / 1000
            record["jacov"] = {"score": -acc, "time": 0.1} if not nested else -acc
        records[naslib_key(matrix, ops)] = record
    data = {"nasbench101": {"cifar10": records}} if nested else {"cifar10": records}
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize("nested", [False, True])
def test_naslib_json_layouts(tmp_path, nested):
    table = read_table(write_json(tmp_path / "zc.json", nested), NB101Space())
    assert [r.accuracies["val_accuracy"] for r in table.rows] == ACCURACY and table.metrics == ["val_accuracy"]
    assert table.rows[1].arch.ops == ("input", "conv1x1-bn-relu", "output")
    assert table.rows[0].key == naslib_key(*CELLS[0])
    assert table.reference_proxies() == ["params", "jacob_cov"]  # NASLib's jacov is our jacob_cov
    assert table.rows[4].reference["params"] == pytest.approx(0.188)


def test_csv_with_matrix_and_ops_columns(tmp_path):
    path = tmp_path / "t.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["matrix", "ops", "accuracy", "params"])
        for (matrix, ops), acc in zip(CELLS, ACCURACY):
            writer.writerow([str(matrix), ",".join(ops), acc, acc * 2])
    table = read_table(path, NB101Space())
    assert len(table.rows) == 5 and table.metrics == ["accuracy"]
    assert table.rows[2].arch.ops == ("input", "maxpool3x3", "output")
    assert table.rows[2].key == f"{CELLS[2][0]};{','.join(CELLS[2][1])}"
    assert table.rows[3].reference == {"params": 168.0}


def test_csv_with_an_arch_column(tmp_path):
    space = NB101Space()
    path = tmp_path / "a.csv"
    ids = [space.arch_id(space.arch_from_key({"matrix": str(m), "ops": str(o)})) for m, o in CELLS]
    path.write_text("arch,val_accuracy\n" + "".join(f"{a},{acc}\n" for a, acc in zip(ids, ACCURACY)))
    table = read_table(path, space)
    assert [space.arch_id(r.arch) for r in table.rows] == ids


def test_correlate_scores_the_files_cells_keyed_as_the_file(tmp_path):
    path = write_json(tmp_path / "zc.json", nested=False)
    out = tmp_path / "out"
    code = main(["correlate", "--space", "nb101", "--accuracies", str(path), "--proxies", "params", "--n", "4",
                 "--pool", "3", "--repeats", "5", "--bootstrap", "0", "--out", str(out), "--no-progress",
                 "--cache-dir", str(tmp_path / "cache")])
    assert code == 0
    with (out / "scores.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["key"] for r in rows] == [naslib_key(*c) for c in CELLS[:4]]  # the first --n, in file order
    assert [float(r["val_accuracy"]) for r in rows] == ACCURACY[:4]
    space = NB101Space()
    from nasearch.spaces.nb101.network import NB101Network, trainable_parameters

    for r, (matrix, ops) in zip(rows, CELLS):
        assert float(r["params"]) == trainable_parameters(NB101Network(space.arch_from_key(r["key"])))
        assert float(r["file_params"]) == pytest.approx(0.1 + float(r["val_accuracy"]) / 1000)
    agreement = list(csv.DictReader((out / "agreement.csv").open()))
    assert [a["proxy"] for a in agreement] == ["params"] and int(agreement[0]["n"]) == 4
    assert "cells of zc.json" in (out / "correlation.md").read_text()
    # a seeded subsample of the file, kept in file order
    code = main(["correlate", "--space", "nb101", "--accuracies", str(path), "--proxies", "params", "--n", "3",
                 "--table-sample", "random", "--seed", "1", "--pool", "3", "--repeats", "5", "--bootstrap", "0",
                 "--out", str(tmp_path / "o2"), "--no-progress", "--cache-dir", str(tmp_path / "cache")])
    assert code == 0
    keys = [r["key"] for r in csv.DictReader((tmp_path / "o2" / "scores.csv").open())]
    order = [naslib_key(*c) for c in CELLS]
    assert len(keys) == 3 and keys == sorted(keys, key=order.index)


def test_bad_tables_fail_in_one_line(tmp_path, capsys):
    good = naslib_key(*CELLS[1])
    cases = {
        "missing.json": None,
        "notjson.json": "{not json",
        "nocells.json": json.dumps({"cifar10": {"x": {"acc": 1}}}),
        "badkey.json": json.dumps({"cifar10": {"(0, 1, 2)": {"val_accuracy": 1.0}}}),
        "disconnected.json": json.dumps({"cifar10": {str(tuple([0] * 49) + (0, 4, 4, 4, 4, 4, 1)): {"val_accuracy": 1.0}}}),
        "badacc.json": json.dumps({"cifar10": {good: {"val_accuracy": "high"}}}),
        "twodata.json": json.dumps({"nb": {"cifar10x": {good: {"val_accuracy": 1.0}}, "c100": {good: {"val_accuracy": 1.0}}}}),
        "nokey.csv": "name,accuracy\nx,1\n",
        "noacc.csv": "arch,score\nx,1\n",
        "badop.csv": "matrix,ops,accuracy\n\"[[0,1],[0,0]]\",\"input,conv5x5\",1\n",
    }
    for name, text in cases.items():
        path = tmp_path / name
        if text is not None:
            path.write_text(text)
        code = main(["correlate", "--space", "nb101", "--accuracies", str(path), "--proxies", "params", "--n", "2",
                     "--out", str(tmp_path / "o"), "--no-progress"])
        err = capsys.readouterr().err.strip()
        assert code == 2 and len(err.splitlines()) == 1 and err.startswith("nasearch: error:"), (name, err)
    with pytest.raises(UsageError, match="result_keys"):
        from nasearch.loading import load_space

        read_table(write_json(tmp_path / "zc.json", nested=False), load_space({"name": "nb201"}))


def test_space_args(tmp_path, capsys):
    path = write_json(tmp_path / "zc.json", nested=False, scores=False)
    base = ["correlate", "--space", "nb101", "--accuracies", str(path), "--proxies", "params", "--n", "3", "--pool", "3",
            "--repeats", "3", "--bootstrap", "0", "--no-progress", "--cache-dir", str(tmp_path / "c")]
    assert main([*base, "--out", str(tmp_path / "o"), "--space-args", "[1, 2]"]) == 2
    assert "YAML mapping" in capsys.readouterr().err
    assert main([*base, "--out", str(tmp_path / "o"), "--space-args", "{identity: hash}"]) == 0
    ids = [r["arch_id"] for r in csv.DictReader((tmp_path / "o" / "scores.csv").open())]
    assert all(len(i) == 32 for i in ids)
    assert not (tmp_path / "o" / "agreement.csv").exists()  # the file has no scores of its own
