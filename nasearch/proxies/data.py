"""The mini-batch proxies are computed on.

Real users point nasearch at torchvision's CIFAR-10 (``download: true`` fetches it); offline
it reads an ``.npz`` of uint8 images and labels. Which images form the batch depends only on
``(batch_size, seed)``, so a score is reproducible from its cache key and data source.
"""
from __future__ import annotations

import contextlib
import os
import socket
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nasearch.errors import UsageError

NPZ_ENV = "NASEARCH_CIFAR10_NPZ"
#: seconds a download may wait for the server to answer (per connect or read, not in total);
#: torchvision's download sets no timeout, so a network that accepts and never answers hung forever
DOWNLOAD_TIMEOUT_ENV = "NASEARCH_DOWNLOAD_TIMEOUT"
DEFAULT_DOWNLOAD_TIMEOUT = 60.0
#: Standard CIFAR-10 normalisation (as NB201's training pipeline).
CIFAR10_MEAN = (125.3 / 255, 123.0 / 255, 113.9 / 255)
CIFAR10_STD = (63.0 / 255, 62.1 / 255, 66.7 / 255)


@dataclass(frozen=True)
class DataSource:
    """Where proxy images come from: an ``npz`` file or a torchvision CIFAR-10 root."""

    npz: str | None = None
    torchvision_root: str | None = None
    download: bool = False

    @classmethod
    def from_config(cls, data: dict | None) -> "DataSource":
        data = dict(data or {})  # a config's data section, its key types checked by nasearch.config
        npz = os.environ.get(NPZ_ENV) or data.get("npz")  # the environment overrides the config file
        root = data.get("torchvision_root")
        return cls(
            npz=os.path.expanduser(npz) if npz else None,
            torchvision_root=os.path.expanduser(root) if root else None,
            download=bool(data.get("download", False)),
        )

    @property
    def available(self) -> bool:
        return bool(self.npz or self.torchvision_root)

    def describe(self) -> str:
        if self.npz:
            return f"npz:{Path(self.npz).name}"
        if self.torchvision_root:
            return "torchvision:CIFAR10"
        return "none"


def _load_arrays(source: DataSource) -> tuple[np.ndarray, np.ndarray]:
    """Training images (N, 32, 32, 3) uint8 and labels (N,)."""
    if source.npz:
        path = Path(source.npz)
        if not path.is_file():
            what = "is a directory, not an npz file" if path.is_dir() else "is not a file" if path.exists() else "does not exist"
            raise UsageError(f"proxy data file {path} {what}; fix data.npz or ${NPZ_ENV}")
        return checked_arrays(*_read_npz(path), f"proxy data file {path}")
    if source.torchvision_root:
        from torchvision.datasets import CIFAR10

        timeout = download_timeout()
        try:
            with socket_timeout(timeout):
                dataset = CIFAR10(source.torchvision_root, train=True, download=source.download)
        except RuntimeError as exc:
            raise UsageError(
                f"CIFAR-10 not found under {source.torchvision_root}; set data.download: true or fix data.torchvision_root"
            ) from exc
        except OSError as exc:  # no network, DNS failure, refused connection, no answer, full disk
            if isinstance(exc, TimeoutError) or isinstance(getattr(exc, "reason", None), TimeoutError):
                raise UsageError(
                    f"CIFAR-10 download into {source.torchvision_root} got no answer within {timeout:g} s;"
                    f" check the network (or raise ${DOWNLOAD_TIMEOUT_ENV}), or point ${NPZ_ENV} / data.npz at an npz"
                ) from None
            raise UsageError(
                f"could not download CIFAR-10 into {source.torchvision_root} ({type(exc).__name__});"
                f" download it elsewhere into that folder, or point ${NPZ_ENV} / data.npz at an npz of images"
            ) from exc
        return checked_arrays(np.asarray(dataset.data), np.asarray(dataset.targets), f"CIFAR-10 under {source.torchvision_root}")
    raise UsageError(
        "this proxy needs images and no cached score exists: set data.npz (or $NASEARCH_CIFAR10_NPZ) "
        "or data.torchvision_root (+ download: true) in the config"
    )


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The two arrays of an npz; anything else (not an npz, object arrays) is a one-line error.

    ``allow_pickle`` stays off: an npz holding pickled objects could run code when loaded.
    """
    layout = "an npz (numpy.savez) of uint8 'train_images' (N, 32, 32, 3) and 'train_labels' (N,)"
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise UsageError(f"proxy data file {path} is not a readable npz ({type(exc).__name__}); give {layout}") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise UsageError(f"proxy data file {path} is a single .npy array, not an npz; give {layout}")
    with archive:
        if "train_images" not in archive or "train_labels" not in archive:
            raise UsageError(f"{path} lacks 'train_images'/'train_labels' arrays; give an npz in that layout")
        return tuple(_read_member(archive, name, path, layout) for name in ("train_images", "train_labels"))


def _read_member(archive: Any, name: str, path: Path, layout: str) -> np.ndarray:
    try:
        return archive[name]
    except ValueError as exc:
        if "pickle" in str(exc):
            raise UsageError(f"proxy data file {path}: its array {name!r} cannot be read without unpickling"
                             f" (an object array); give {layout}") from None
        damaged = exc
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        damaged = exc
    raise UsageError(f"proxy data file {path}: its array {name!r} is damaged ({type(damaged).__name__});"
                     " the file is corrupt, write it again") from None


#: CIFAR-10's image layout and classes (the only proxy dataset: nasearch.proxies.scorer.PROXY_DATASETS)
IMAGE_SHAPE = (32, 32, 3)
NUM_CLASSES = 10


def checked_arrays(images: Any, labels: Any, where: str) -> tuple[np.ndarray, np.ndarray]:
    """``(images, labels)`` if they are CIFAR-10's layout -- uint8 ``(N, 32, 32, 3)`` (channels last) and N
    integer labels in 0..9 -- else one line naming ``where``, what is wrong and the fix, when the data
    is opened and before a proxy sees a pixel."""
    images, labels = np.asarray(images), np.asarray(labels)
    layout = "(N, 32, 32, 3)"
    if images.dtype != np.uint8:
        raise UsageError(f"{where}: 'train_images' is {images.dtype}; give uint8 pixels 0..255 in {layout}")
    if images.shape[1:] != IMAGE_SHAPE or images.ndim != 4:
        first = ", channels first" if images.ndim == 4 and images.shape[1] == 3 and images.shape[2:] == (32, 32) else ""
        raise UsageError(f"{where}: 'train_images' has shape {images.shape}{first}; give {layout} (CIFAR-10, channels last)")
    if len(images) == 0:
        raise UsageError(f"{where}: 'train_images' holds no images; give {layout} with N >= 1")
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        what = f"has shape {labels.shape}" if labels.ndim != 1 else f"is {labels.dtype}"
        raise UsageError(f"{where}: 'train_labels' {what}; give integer class labels, one per image (N,)")
    if len(labels) != len(images):
        raise UsageError(f"{where}: {len(labels)} labels for {len(images)} images; give one label per image")
    outside = labels[(labels < 0) | (labels >= NUM_CLASSES)]
    if outside.size:
        raise UsageError(f"{where}: 'train_labels' holds {int(outside[0])}, outside CIFAR-10's classes 0..{NUM_CLASSES - 1};"
                         " give labels 0..9")
    return images, labels


def download_timeout() -> float:
    """``$NASEARCH_DOWNLOAD_TIMEOUT`` seconds (a positive finite number), else 60."""
    text = os.environ.get(DOWNLOAD_TIMEOUT_ENV)
    if not text:
        return DEFAULT_DOWNLOAD_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (value > 0 and value != float("inf")):
        raise UsageError(f"${DOWNLOAD_TIMEOUT_ENV} must be a positive number of seconds, got {text!r}")
    return value


@contextlib.contextmanager
def socket_timeout(seconds: float):
    """Give sockets opened inside (urllib's, which torchvision uses without a timeout) ``seconds``."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def load_batch(source: DataSource, batch_size: int, seed: int):
    """A normalised float batch ``(inputs, labels)`` as torch tensors, chosen by ``seed``."""
    import torch

    images, labels = _load_arrays(source)
    if batch_size > len(images):
        raise UsageError(f"batch_size {batch_size} exceeds the {len(images)} images in {source.describe()}")
    picked = np.random.default_rng(seed).choice(len(images), size=batch_size, replace=False)
    x = torch.from_numpy(images[picked]).permute(0, 3, 1, 2).float().div_(255.0)
    mean = torch.tensor(CIFAR10_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(CIFAR10_STD).view(1, 3, 1, 1)
    return (x - mean) / std, torch.from_numpy(labels[picked].astype(np.int64))


def batch_digest(inputs, labels) -> str:
    """The identity of a proxy batch: SHA-256 (first 16 hex digits) of its pixels and labels.

    Stored with every score (``ScoreRecord.data``) and in each packaged table's provenance
    (``data_digest``), so scores of different images are told apart whatever the files are called.
    """
    import hashlib

    digest = hashlib.sha256()
    digest.update(inputs.detach().cpu().contiguous().numpy().tobytes())
    digest.update(labels.detach().cpu().contiguous().numpy().tobytes())
    return "sha256:" + digest.hexdigest()[:16]
