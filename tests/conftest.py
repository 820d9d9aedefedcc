import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
#: the CIFAR-10 sample beside the checkout (../shared), or beside its parent (a worktree under /work/wt)
SHARED_NPZ = next((p for p in (ROOT.parent / "shared" / "data" / "cifar10_sample.npz",
                               ROOT.parent.parent / "shared" / "data" / "cifar10_sample.npz") if p.is_file()),
                  ROOT.parent / "shared" / "data" / "cifar10_sample.npz")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """Every test gets its own score cache, so no test reads another's scores."""
    monkeypatch.setenv("NASEARCH_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def cifar_npz() -> Path:
    path = Path(os.environ.get("NASEARCH_CIFAR10_NPZ", SHARED_NPZ))
    if not path.is_file():
        pytest.skip("CIFAR-10 sample npz not available (../shared/data/cifar10_sample.npz)")
    return path


@pytest.fixture
def tiny_npz(tmp_path) -> Path:
    """A small random uint8 image set in the npz layout, for tests that only need shapes."""
    import numpy as np

    rng = np.random.default_rng(0)
    path = tmp_path / "tiny.npz"
    np.savez(path, train_images=rng.integers(0, 256, (64, 32, 32, 3), dtype=np.uint8),
             train_labels=rng.integers(0, 10, 64, dtype=np.uint8))
    return path
