"""Writing files safely: atomically, as one set, into a folder checked before anything runs.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> atomic_write(d / "a" / "x.txt", b"hi"); (d / "a" / "x.txt").read_text()
'hi'
>>> sorted(p.name for p in publish(d / "b", {"x.txt": b"1", "sub/y.txt": b"2"}).values())
['x.txt', 'y.txt']
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file in the same folder and `os.replace`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        _fill(fd, tmp, data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _fill(fd: int, path: str, data: bytes) -> None:
    """Write `data` through the open `fd` to disk, with the permissions a new file gets (mkstemp's are 0600)."""
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def publish(folder: str | Path, files: Mapping[str, bytes], owned: Iterable[str] = ()) -> dict[str, Path]:
    """Write `files` (a path relative to `folder` -> its bytes) into `folder` as one set; returns the paths.

    Every file is first written in full into a staging folder inside `folder`,
    then each is renamed into place, one rename after the other, while this
    process holds an exclusive lock on `folder` (POSIX `flock`), so two
    writers never interleave: whoever publishes last leaves its complete set.
    `owned` names the other paths the set is made of (a file, or a folder of
    files such as `counterexamples`): what of them this set does not write is
    removed, so nothing in `folder` is left from an earlier set.  Files not
    named are left alone.  An interrupted publish leaves every file whole
    (each is either the old one or the new one) and no staging folder behind.
    """
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    with _locked(root):
        staging = Path(tempfile.mkdtemp(prefix=".axiomcheck-publish-", dir=root))
        try:
            for rel, data in files.items():
                tmp = staging / rel
                tmp.parent.mkdir(parents=True, exist_ok=True)
                _fill(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), str(tmp), data)
            for rel in files:
                dest = root / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staging / rel, dest)
                out[rel] = dest
            keep = {(root / rel).resolve() for rel in files}
            for rel in owned:
                _remove_stale(root / rel, keep)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return out


def _remove_stale(path: Path, keep: set[Path]) -> None:
    """Remove `path` (a file, or the files of a folder) unless it is in `keep`; an emptied folder goes too."""
    if path.is_dir() and not path.is_symlink():
        for child in path.iterdir():
            if child.is_file() and child.resolve() not in keep:
                child.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            path.rmdir()  # only when nothing is left in it
    elif path.is_file() and path.resolve() not in keep:
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """An exclusive advisory lock on `folder` for the duration (POSIX `flock` on the folder itself, so no
    lock file is left behind); where there is no `fcntl` (Windows), no lock is taken."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock



def usable_dir(folder: str | Path) -> Path:
    """`folder` as an absolute path, after checking that it is (or can be made) a writable folder.

    Nothing is created.  Raises `NotADirectoryError` when it, or the folder it
    would be created in, is a file, and `PermissionError` when it cannot be
    written; both name the path.
    """
    path = Path(folder).expanduser().absolute()
    probe = path
    while not probe.exists():
        if probe.is_symlink():
            raise NotADirectoryError(f"{str(folder)!r}: {str(probe)!r} is a broken link")
        probe = probe.parent
    if not probe.is_dir():
        raise NotADirectoryError(f"{str(folder)!r}: {str(probe)!r} is a file, not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise PermissionError(f"{str(folder)!r}: {str(probe)!r} is not writable")
    return path


def usable_file(file: str | Path) -> Path:
    """`file` as an absolute path, after checking that its folder can be written and it is not a folder."""
    path = Path(file).expanduser().absolute()
    if path.is_dir():
        raise IsADirectoryError(f"{str(file)!r} is a folder, not a file")
    usable_dir(path.parent)
    return path
