"""The writer's lock of a scan store: an exclusive ``flock`` on the sibling file ``.NAME.lock``.

A writer holds it for its whole run, so a second writer (``overwrite`` or
``resume``) on the same path is refused with
:class:`~landscape.scan.errors.StoreLockedError` instead of mixing its chunks
into the first one's.  The lock file is removed when the writer finishes; one
left by a killed process holds no lock.
"""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path

from landscape.scan.errors import StoreError, StoreLockedError, _reason


class StoreLock:
    """An exclusive lock on the store at ``path``: ``flock`` on the sibling file ``.NAME.lock``.

    Taken without waiting: if another process holds it, :class:`StoreLockedError`
    says so (with that process's id).  :meth:`release` (or leaving the ``with``
    block) removes the lock file and releases the lock; the lock of a killed
    process is released by the kernel.

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "s.zarr"
    >>> with StoreLock(path):
    ...     try:
    ...         StoreLock(path)
    ...     except StoreLockedError as err:
    ...         print(str(err).split(" is being")[0] == str(path))
    True
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        absolute = Path(os.path.abspath(self.path))  # "s.zarr", "./s.zarr" and "/abs/s.zarr" share one lock
        if not absolute.name:
            raise StoreError(f"{path} is the root folder; a store needs a folder of its own")
        self.file = Path(os.path.realpath(absolute.parent)) / f".{absolute.name}.lock"
        self._fd = None
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(f"cannot create the folder {self.file.parent} ({_reason(e)})") from None
        for _ in range(10):
            try:
                fd = os.open(self.file, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as e:
                raise StoreError(f"cannot write in {self.file.parent} ({_reason(e)})") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as e:
                holder = _lock_holder(fd)
                os.close(fd)
                if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise StoreLockedError(
                        f"{self.path} is being written by another process{holder}; wait until "
                        "it has finished, or choose another path"
                    ) from None
                raise StoreError(f"cannot lock {self.file} ({_reason(e)})") from None
            try:
                here, there = os.fstat(fd), os.stat(self.file)
                same = (here.st_ino, here.st_dev) == (there.st_ino, there.st_dev)
            except FileNotFoundError:
                same = False
            if same:
                self._fd = fd
                try:
                    os.ftruncate(fd, 0)
                    os.write(fd, f"{os.getpid()}\n".encode())
                except OSError:  # the id is only for the message; a full disk must not stop the lock
                    pass
                return
            os.close(fd)  # its last holder removed the file between our open and lock: try again
        raise StoreLockedError(f"{self.path}: its lock file {self.file} keeps being replaced by other processes")

    def release(self) -> None:
        """Remove the lock file and release the lock (idempotent)."""
        if self._fd is None:
            return
        try:
            os.unlink(self.file)
        except OSError:
            pass
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> StoreLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _lock_holder(fd: int) -> str:
    try:
        text = os.pread(fd, 32, 0).decode("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return f" (process id {text})" if text.isdigit() else ""
