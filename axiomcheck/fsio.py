"""Writing files safely: atomically, into a folder checked before anything runs.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> atomic_write(d / "a" / "x.txt", b"hi"); (d / "a" / "x.txt").read_text()
'hi'
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file in the same folder and `os.replace`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise



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
