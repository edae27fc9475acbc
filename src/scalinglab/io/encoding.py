"""What a table file really is: compression, text encoding, or not text at all.

Tables arrive from spreadsheets, other people's scripts and other operating systems: UTF-8
with or without a byte-order mark, UTF-16 (Excel's "Unicode text"), Windows-1252/latin-1,
gzip-compressed, or a binary file with the wrong name. `detect` looks at the first bytes:

- compression by magic number: gzip, bz2, xz (read transparently); a zip archive (an Excel
  workbook?), PNG, PDF, SQLite or Parquet bytes under a text name are a named FileFormatError;
- a byte-order mark: UTF-8-sig, UTF-16 (LE/BE), UTF-32;
- NUL bytes without a mark: UTF-16 if they fall on every other byte, else a binary file;
- otherwise UTF-8 if the sample decodes, else Windows-1252 (latin-1 where 1252 has holes),
  with a `ReadNote` warning saying so, since a legacy encoding cannot be told apart for sure
  (pass `encoding=` / `scalinglab --encoding` to choose).

An explicit encoding skips the guess (compression is still detected).
"""

from __future__ import annotations

import bz2
import codecs
import contextlib
import gzip
import io
import lzma
import zlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import IO, cast

from ..errors import FileFormatError

__all__ = ["Detected", "ReadNote", "default_encoding", "detect", "open_binary", "open_text"]

SAMPLE = 1 << 16

_default: ContextVar[str | None] = ContextVar("scalinglab_default_encoding", default=None)


class ReadNote(UserWarning):
    """Something a reader guessed that the user should know (e.g. a legacy encoding)."""


@contextlib.contextmanager
def default_encoding(encoding: str | None) -> Iterator[None]:
    """Within the block, readers use `encoding` when none is given (the CLI's --encoding).

    Parameters
    ----------
    encoding : str or None
        A codec name (checked on entry); None keeps detection.

    Returns
    -------
    context manager
        Yields nothing; the previous default is restored on exit.
    """
    if encoding:
        check_encoding(encoding)
    token = _default.set(encoding)
    try:
        yield
    finally:
        _default.reset(token)


def check_encoding(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise FileFormatError(
            f"unknown text encoding '{encoding}' (e.g. utf-8, utf-16, latin-1, cp1252)"
        ) from None


@dataclass(frozen=True)
class Detected:
    """How a table file is stored, found once so every reader opens it the same way.

    Attributes
    ----------
    compression : str or None
        "gzip", "bz2", "xz" or None.
    encoding : str
        The text codec to decode with.
    note : str or None
        What to tell the user (a guessed encoding), if anything.
    guessed : bool
        The encoding is a fallback guess (retry on a decode error).
    """

    compression: str | None  # "gzip", "bz2", "xz" or None
    encoding: str
    note: str | None = None
    guessed: bool = False  # the encoding is a fallback guess (retry on a decode error)


_COMPRESSED = {b"\x1f\x8b": "gzip", b"BZh": "bz2", b"\xfd7zXZ\x00": "xz"}
_NOT_TEXT = {
    b"PK\x03\x04": "a zip archive (an Excel workbook? export the sheet as CSV)",
    b"\x89PNG": "a PNG image",
    b"%PDF": "a PDF document",
    b"SQLite format 3\x00": "an SQLite database",
    b"PAR1": "a Parquet file (name it .parquet)",
    b"\x28\xb5\x2f\xfd": "a zstd-compressed file (decompress it first)",
}
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _compression(head: bytes, path: Path) -> str | None:
    for magic, kind in _COMPRESSED.items():
        if head.startswith(magic):
            return kind
    for magic, what in _NOT_TEXT.items():
        if head.startswith(magic):
            raise FileFormatError(f"this is {what}, not a text table", file=str(path))
    return None


def open_binary(path: Path, compression: str | None) -> IO[bytes]:
    """The file's bytes, decompressed as named; the caller closes it.

    Parameters
    ----------
    path : Path
        The file.
    compression : str or None
        "gzip", "bz2", "xz", or None for a plain file.

    Returns
    -------
    binary file object
        Open for reading.
    """
    if compression == "gzip":
        # a binary file object; typeshed's GzipFile, unlike BZ2File and LZMAFile, does not
        # subclass IO[bytes]
        return cast(IO[bytes], gzip.open(path, "rb"))
    if compression == "bz2":
        return bz2.open(path, "rb")
    if compression == "xz":
        return lzma.open(path, "rb")
    return open(path, "rb")  # noqa: SIM115  (the caller closes it)


def _read_sample(path: Path, compression: str | None) -> bytes:
    try:
        with open_binary(path, compression) as fh:
            return fh.read(SAMPLE)
    except (EOFError, OSError, zlib.error, lzma.LZMAError, ValueError) as exc:
        if compression is None:
            raise FileFormatError(f"cannot read ({exc})", file=str(path)) from None
        raise FileFormatError(
            f"a damaged {compression} file ({exc}): it cannot be decompressed", file=str(path)
        ) from None


def _binary(path: Path, why: str) -> FileFormatError:
    return FileFormatError(
        f"a binary file, not a text table ({why}); scalinglab reads CSV, TSV, JSONL, JSON "
        "and Parquet",
        file=str(path),
    )


def _utf16_without_bom(sample: bytes) -> str | None:
    even = sample[0::2]
    odd = sample[1::2]
    if not even or not odd:
        return None
    z_even = even.count(0) / len(even)
    z_odd = odd.count(0) / len(odd)
    if z_odd > 0.3 and z_even < 0.05:
        return "utf-16-le"
    if z_even > 0.3 and z_odd < 0.05:
        return "utf-16-be"
    return None


def _control_fraction(sample: bytes) -> float:
    ctrl = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13) or b == 127)
    return ctrl / max(len(sample), 1)


def detect(path: str | Path, encoding: str | None = None) -> Detected:
    """Compression and text encoding of a table file (see module docstring).

    Parameters
    ----------
    path : str or path
        The file.
    encoding : str, optional
        The user's encoding, which wins over detection (else the `default_encoding` in
        force, else a BOM, UTF-16, UTF-8, then Windows-1252 / latin-1).

    Returns
    -------
    Detected
        The compression and the encoding, with a note when the encoding is a guess.
    """
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        raise FileFormatError(f"cannot read ({exc.strerror or exc})", file=str(p)) from None
    compression = _compression(head, p)
    sample = _read_sample(p, compression)
    if compression:  # the decompressed bytes may themselves be anything
        inner = _compression(sample[:16], p)
        if inner:
            raise FileFormatError(f"{compression} inside {compression}: decompress it", file=str(p))
    encoding = encoding or _default.get()
    if encoding:
        return Detected(compression, check_encoding(encoding))
    for bom, enc in _BOMS:
        if sample.startswith(bom):
            return Detected(compression, enc)
    if b"\x00" in sample:
        utf16 = _utf16_without_bom(sample)
        if utf16 is None:
            raise _binary(p, "it contains NUL bytes")
        return Detected(compression, utf16)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=len(sample) < SAMPLE)
        return Detected(compression, "utf-8")
    except UnicodeDecodeError:
        pass
    if _control_fraction(sample) > 0.01:
        raise _binary(p, "not UTF-8 and full of control characters")
    return legacy(p, compression, sample)


def legacy(p: Path, compression: str | None, sample: bytes | None = None) -> Detected:
    """The fallback for text that is not UTF-8: Windows-1252 if it decodes, else latin-1."""
    enc = "cp1252"
    if sample is not None:
        try:
            sample.decode("cp1252")
        except UnicodeDecodeError:
            enc = "latin-1"
    name = "Windows-1252" if enc == "cp1252" else "latin-1"
    note = (
        f"{p}: not UTF-8; read as {name} (latin-1 family). If names or labels look wrong, "
        "give the encoding: scalinglab --encoding ENCODING ..."
    )
    return Detected(compression, enc, note, guessed=True)


def open_text(path: str | Path, det: Detected) -> IO[str]:
    """The file as text, decompressed and decoded as detected.

    Parameters
    ----------
    path : str or path
        The file.
    det : Detected
        Its storage, from `detect`.

    Returns
    -------
    text file object
        Open for reading; the caller closes it.
    """
    return io.TextIOWrapper(open_binary(Path(path), det.compression), encoding=det.encoding)
