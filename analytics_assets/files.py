"""Files we hand to people and tools are never seen half-written."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: Path, *, replace: bool = True) -> Iterator[Path]:
    """A hidden temp path beside `path` (same extension) to write; renamed onto `path` when the
    block succeeds, removed when it fails, so `path` is the old file or the whole new one.
    With `replace=False` an existing `path` is kept and FileExistsError raised (a hard link
    cannot overwrite: two writers of the same new file cannot both win)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    try:
        yield tmp
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
