"""The errors of a scan store (see :mod:`landscape.scan.store`): one-line messages that say what to do."""

from __future__ import annotations


class StoreError(ValueError):
    """A path that cannot be used as (or replaced by) a scan store; the message says why, in one line."""


class StoreLockedError(StoreError):
    """Another process is writing the store (it holds the store's lock)."""


class ScanMismatchError(StoreError):
    """An existing store does not match the scan that would resume it."""


class ChunkWriteError(OSError):
    """Writing a chunk failed (disk full, I/O error); the chunks committed before it are kept."""


def _reason(err: OSError) -> str:
    return err.strerror or type(err).__name__
