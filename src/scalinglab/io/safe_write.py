"""Writing output files without ever destroying data: the one place scalinglab writes a file.

- `check_output(path, inputs=..., force=...)` refuses, before any work is done, an output that
  is also an input (same file under any spelling, hard links included), an existing file
  without `force`, a symbolic link, a folder, or a path whose folder is missing.
- `atomic_write(path)` opens a uniquely named temporary file in the target's folder
  (`tempfile.mkstemp`: O_CREAT|O_EXCL, mode 0600, so nothing planted there is followed), and
  on success fsyncs it, gives it the mode the file would have had, renames it over the target
  (`os.replace`, atomic on one file system) and fsyncs the folder. A crash, a kill or a full
  disk leaves the old file whole and no temporary file behind (on an exception the temporary
  file is removed; after a kill -9 a `.NAME.*.partial` file may remain, never the target
  half-written).

OS failures (missing or read-only folder, permission, full disk) become `OutputPathError`, a
named error that says which file and why.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from ..errors import OutputPathError

__all__ = ["atomic_write", "check_output", "write_bytes", "write_text"]


def _same_file(a: Path, b: Path) -> bool:
    """The same file under any spelling (relative, '..', links, hard links)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def _refuse_special(p: Path, what: str) -> None:
    """A device, pipe or socket is never replaced: `fit --out /dev/full --force` once turned
    the device node into a regular file (the rename replaces any directory entry)."""
    try:
        mode = p.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        return
    if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        kind = (
            "a device"
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "a named pipe"
            if stat.S_ISFIFO(mode)
            else "a socket"
            if stat.S_ISSOCK(mode)
            else "not a regular file"
        )
        raise OutputPathError(
            f"the {what} is {kind}, not a file; scalinglab writes files only (choose a file path)",
            file=str(p),
        )


def check_output(
    path: str | Path,
    *,
    inputs: Iterable[str | Path | None] = (),
    force: bool = False,
    what: str = "output",
) -> Path:
    """Refuse an output path that would destroy data (see module docstring); the path.

    Called before any work, so a long fit never ends in a refused write.

    Parameters
    ----------
    path : str or path
        The output file.
    inputs : iterable of str, path or None, default ()
        The command's input files (None entries are ignored); the output may be none of them.
    force : bool, default False
        Allow replacing an existing file.
    what : str, default 'output'
        What the path is, as error messages name it.

    Returns
    -------
    Path
        `path` as a Path, once it is safe to write.
    """
    p = Path(path)
    if p.is_symlink():
        raise OutputPathError(
            f"the {what} is a symbolic link (to {os.readlink(p)}); scalinglab does not write "
            "through links: remove the link or choose another path",
            file=str(p),
        )
    for src in inputs:
        if src is None:
            continue
        s = Path(src)
        if p.exists() and s.exists() and _same_file(p, s):
            raise OutputPathError(
                f"the {what} is also an input ({s}); writing it would replace that input: "
                "choose another path",
                file=str(p),
            )
    if p.is_dir():
        raise OutputPathError(f"the {what} is a folder; give a file name", file=str(p))
    _refuse_special(p, what)
    if p.exists() and not force:
        raise OutputPathError(
            f"the {what} already exists; pass --force to replace it (or choose another path)",
            file=str(p),
        )
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise OutputPathError(
            f"folder '{parent}' does not exist (create it first, or choose another path)",
            file=str(p),
        )
    return p


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse to fsync a folder; the rename is still atomic
    finally:
        os.close(fd)


def _os_error(p: Path, exc: OSError) -> OutputPathError:
    why = {
        errno.ENOSPC: "the disk is full",
        errno.EDQUOT: "the disk quota is exceeded",
        errno.EACCES: "permission denied (the folder is not writable)",
        errno.EPERM: "operation not permitted",
        errno.EROFS: "the file system is read-only",
        errno.ENOENT: "its folder does not exist",
        errno.ENOTDIR: "a part of the path is not a folder",
        errno.EISDIR: "it is a folder",
    }.get(exc.errno or -1, exc.strerror or str(exc))
    return OutputPathError(f"cannot write: {why}; nothing was changed", file=str(p))


@contextlib.contextmanager
def atomic_write(
    path: str | Path,
    mode: str = "w",
    *,
    encoding: str | None = "utf-8",
    newline: str | None = None,
) -> Iterator[IO[Any]]:
    """Open a temporary file beside `path` for writing; it replaces `path` only if the block
    completes (see module docstring). A symbolic link at `path` is refused.

    Parameters
    ----------
    path : str or path
        The file to write.
    mode : str, default 'w'
        The open mode: "w" for text, "wb" for bytes.
    encoding : str or None, default 'utf-8'
        Text encoding (ignored in binary mode).
    newline : str or None, optional
        As for `open`.

    Returns
    -------
    context manager
        Yields the temporary file object to write to.
    """
    p = Path(path)
    if p.is_symlink():
        check_output(p, force=True)  # raises, naming the link
    _refuse_special(p, "output")
    folder = p.parent if str(p.parent) else Path(".")
    binary = "b" in mode
    try:
        fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{p.name}.", suffix=".partial")
    except OSError as exc:
        raise _os_error(p, exc) from None
    tmp = Path(tmp_name)
    try:
        try:
            fh: IO[Any] = (
                os.fdopen(fd, mode)
                if binary
                else os.fdopen(fd, mode, encoding=encoding, newline=newline)
            )
        except BaseException:
            os.close(fd)
            raise
        with fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        try:
            old = p.stat()
            os.chmod(tmp, stat.S_IMODE(old.st_mode))
        except FileNotFoundError:
            os.chmod(tmp, 0o666 & ~_umask())
        if p.is_symlink():  # planted while we wrote: never replace a link's target
            check_output(p, force=True)
        os.replace(tmp, p)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OutputPathError):
            raise
        raise _os_error(p, exc) from None
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(folder)


def write_bytes(path: str | Path, data: bytes) -> None:
    """Write `data` to `path` atomically (`atomic_write`): the old file stays whole on failure.

    Parameters
    ----------
    path : str or path
        The file to write.
    data : bytes
        Its new content.
    """
    with atomic_write(path, "wb") as fh:
        fh.write(data)


def write_text(path: str | Path, text: str, *, encoding: str = "utf-8") -> None:
    """Write `text` to `path` atomically (`atomic_write`): the old file stays whole on failure.

    Parameters
    ----------
    path : str or path
        The file to write.
    text : str
        Its new content.
    encoding : str, default 'utf-8'
        The text encoding.
    """
    with atomic_write(path, "w", encoding=encoding) as fh:
        fh.write(text)
