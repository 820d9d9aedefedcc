"""TFRecord files without TensorFlow: the framing, checked record by record.

A TFRecord file is a sequence of records, each framed as

* the payload length, a little-endian ``uint64``;
* the masked CRC-32C of those 8 bytes, a little-endian ``uint32``;
* the payload;
* the masked CRC-32C of the payload, a little-endian ``uint32``.

CRC-32C is the Castagnoli polynomial (iSCSI), computed by the ``google-crc32c`` package; the
mask is TensorFlow's ``((crc >> 15 | crc << 17) + 0xa282ead8) mod 2**32``. Every CRC is
verified: a record that is cut short or does not match its CRC is a :class:`TFRecordError`,
one line naming the file, the record's index and its byte offset.
"""
from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator

from nasearch.errors import UsageError

_MASK_DELTA = 0xA282EAD8
_HEADER = struct.Struct("<QI")
_FOOTER = struct.Struct("<I")
HEADER_BYTES = _HEADER.size  # 12
FOOTER_BYTES = _FOOTER.size  # 4


class TFRecordError(UsageError):
    """A TFRecord file that is truncated or corrupt (one line: file, record index, byte offset)."""


def _crc32c():
    try:
        import google_crc32c
    except ModuleNotFoundError:  # pragma: no cover - an install without the dependency
        raise UsageError(
            "reading NAS-Bench-101 .tfrecord files needs the 'google-crc32c' package: pip install google-crc32c"
        ) from None
    return google_crc32c.value


def masked_crc32c(data: bytes | memoryview) -> int:
    """TensorFlow's masked CRC-32C of ``data``."""
    if isinstance(data, bytes):
        return _mask(_crc32c()(data))
    import google_crc32c

    view, crc, step = memoryview(data).cast("B"), 0, 1 << 23  # the C extension takes bytes: copy 8 MiB at a time
    for start in range(0, len(view), step):
        crc = google_crc32c.extend(crc, bytes(view[start:start + step]))
    return _mask(crc)


def frame(payload: bytes) -> bytes:
    """One record: header, payload and footer, with correct masked CRCs."""
    length = struct.pack("<Q", len(payload))
    return length + struct.pack("<I", masked_crc32c(length)) + payload + _FOOTER.pack(masked_crc32c(payload))


def write_records(path: str | os.PathLike, payloads: Iterable[bytes]) -> int:
    """Write ``payloads`` as a TFRecord file; returns the number of records."""
    count = 0
    with open(path, "wb") as handle:
        for payload in payloads:
            handle.write(frame(payload))
            count += 1
    return count


def iter_records(path: str | os.PathLike, buffer_bytes: int = 1 << 20) -> Iterator[tuple[int, int, bytes]]:
    """``(index, byte offset, payload)`` of every record of ``path``, in file order, CRCs verified.

    Raises :class:`TFRecordError` at the first truncated or corrupt record, and a
    :class:`~nasearch.errors.UsageError` when the file cannot be opened.
    """
    crc = _crc32c()
    file = Path(path)
    try:
        size = file.stat().st_size
        handle: BinaryIO = open(file, "rb", buffering=buffer_bytes)
    except OSError as exc:
        raise UsageError(f"cannot read {file}: {exc.strerror or exc}") from None
    with handle:
        index, offset = 0, 0
        while True:
            header = handle.read(HEADER_BYTES)
            if not header:
                return
            where = f"{file}: record {index} (byte {offset})"
            if len(header) < HEADER_BYTES:
                raise TFRecordError(f"{where} is truncated: {len(header)} of the {HEADER_BYTES} header bytes")
            length, length_crc = _HEADER.unpack(header)
            if _mask(crc(header[:8])) != length_crc:
                raise TFRecordError(f"{where}: the length's CRC does not match (corrupt file, or not a TFRecord file)")
            end = offset + HEADER_BYTES + length + FOOTER_BYTES
            if end > size:
                raise TFRecordError(
                    f"{where} is truncated: it needs {length + FOOTER_BYTES} bytes after its header, the file has"
                    f" {size - offset - HEADER_BYTES}"
                )
            payload = handle.read(length)
            footer = handle.read(FOOTER_BYTES)
            if len(payload) < length or len(footer) < FOOTER_BYTES:  # the file shrank while being read
                raise TFRecordError(f"{where} is truncated")
            if _mask(crc(payload)) != _FOOTER.unpack(footer)[0]:
                raise TFRecordError(f"{where}: the payload's CRC does not match (corrupt record)")
            yield index, offset, payload
            index += 1
            offset = end


def _mask(crc: int) -> int:
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF
