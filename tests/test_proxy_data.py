"""Proxy data: the npz layout, torchvision's CIFAR-10 folder, and clear errors."""
import pickle

import numpy as np
import pytest

from nasearch.errors import UsageError
from nasearch.proxies.data import CIFAR10_MEAN, DataSource, load_batch


def test_npz_batch_is_normalised_and_chosen_by_seed(tiny_npz):
    source = DataSource(npz=str(tiny_npz))
    x1, y1 = load_batch(source, 8, seed=0)
    x2, y2 = load_batch(source, 8, seed=0)
    x3, _ = load_batch(source, 8, seed=1)
    assert x1.shape == (8, 3, 32, 32) and y1.dtype.is_floating_point is False
    assert (x1 == x2).all() and (y1 == y2).all() and not (x1 == x3).all()
    with np.load(tiny_npz) as archive:
        images, labels = archive["train_images"], archive["train_labels"]
    picked = np.random.default_rng(0).choice(len(images), 8, replace=False)
    expected = (images[picked[0], 0, 0, 0] / 255 - CIFAR10_MEAN[0])
    assert float(x1[0, 0, 0, 0]) * (63.0 / 255) == pytest.approx(expected, abs=1e-6)
    assert y1.tolist() == labels[picked].tolist()


def test_environment_overrides_config_and_tilde_expands(monkeypatch, tiny_npz):
    monkeypatch.setenv("NASEARCH_CIFAR10_NPZ", str(tiny_npz))
    assert DataSource.from_config({"npz": "/elsewhere.npz"}).npz == str(tiny_npz)
    monkeypatch.delenv("NASEARCH_CIFAR10_NPZ")
    assert not DataSource.from_config({"torchvision_root": "~/data"}).torchvision_root.startswith("~")


def test_errors_name_the_fix(tmp_path, monkeypatch):
    monkeypatch.delenv("NASEARCH_CIFAR10_NPZ", raising=False)
    with pytest.raises(UsageError, match="data.npz"):
        load_batch(DataSource.from_config({}), 4, 0)
    with pytest.raises(UsageError, match="does not exist"):
        load_batch(DataSource(npz=str(tmp_path / "missing.npz")), 4, 0)
    with pytest.raises(UsageError, match="data.download: true"):
        load_batch(DataSource(torchvision_root=str(tmp_path)), 4, 0)


def test_failed_download_is_one_clear_error(tmp_path, monkeypatch):
    import torchvision.datasets

    def offline(*args, **kwargs):
        raise OSError("Temporary failure in name resolution")

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", offline)
    with pytest.raises(UsageError, match="could not download CIFAR-10"):
        load_batch(DataSource(torchvision_root=str(tmp_path), download=True), 4, 0)


def test_torchvision_cifar10_folder_in_the_official_format(tmp_path, monkeypatch):
    """A tiny cifar-10-batches-py written as the official pickles, read by torchvision's own code."""
    from torchvision.datasets import CIFAR10

    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    rows = []
    for name, _ in CIFAR10.train_list + CIFAR10.test_list:
        data = rng.integers(0, 256, (6, 3072), dtype=np.uint8)  # rows of R, G, B planes
        labels = rng.integers(0, 10, 6).tolist()
        with open(folder / name, "wb") as handle:
            pickle.dump({"data": data, "labels": labels}, handle)  # as the py2 pickles load
        if name.startswith("data_batch"):
            rows.append((data, labels))
    with open(folder / CIFAR10.meta["filename"], "wb") as handle:
        pickle.dump({"label_names": [f"c{i}" for i in range(10)]}, handle)
    import torchvision.datasets.cifar

    # the fixture's md5 sums differ from the official archive's; everything else is torchvision's
    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", lambda path, md5=None: True)
    x, y = load_batch(DataSource(torchvision_root=str(tmp_path)), 30, seed=0)
    all_data = np.concatenate([d for d, _ in rows]).reshape(-1, 3, 32, 32)
    all_labels = np.concatenate([l for _, l in rows])
    picked = np.random.default_rng(0).choice(30, 30, replace=False)
    assert y.tolist() == all_labels[picked].tolist()
    first = all_data[picked[0], 0, 0, 0] / 255
    assert float(x[0, 0, 0, 0]) * (63.0 / 255) + CIFAR10_MEAN[0] == pytest.approx(first, abs=1e-6)
