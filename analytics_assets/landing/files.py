"""Files in a landing folder: which ones are there, what they hold, and their lines.

A file is `*.ndjson`, `*.jsonl` or `*.csv`, optionally gzipped (`.gz`), one record per line.
Producers write a file elsewhere (or under a hidden/`.tmp`/`.part` name) and rename it into the
folder when complete: files are immutable once they land. Lines travel to ClickHouse as Arrow
(line number, raw bytes) without a per-line Python step; ClickHouse parses and validates them.

Whoever can write into a landing folder must not make the run read anything else: only regular
files directly inside the folder are read, each through a descriptor opened without following a
symbolic link and checked to be the very file the listing saw, with no other hard link. Anything
else with a landing file's name (a symbolic link, a FIFO, a device, a socket) is refused, unread.
"""

from __future__ import annotations

import csv
import errno
import gzip
import hashlib
import os
import queue
import stat
import threading
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:  # numpy and pyarrow: imported by the steps that read files, not the code location
    import pyarrow as pa

try:  # ISA-L's gzip decompresses about twice as fast as zlib's, with the same API
    from isal.igzip import open as _gzip_open
except ImportError:  # pragma: no cover - isal is a dependency; zlib is the fallback
    _gzip_open = gzip.open

FORMATS = {".ndjson": "ndjson", ".jsonl": "ndjson", ".csv": "csv"}
IN_PROGRESS_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload")
CHUNK_BYTES = 64 << 20


class LandingFileError(ValueError):
    """A file cannot be read at all (bad gzip, unusable CSV header); the message names it."""


class LandingFileRefused(LandingFileError):
    """An entry that is not a regular file inside the landing folder: nothing of it is read."""


@dataclass(frozen=True)
class LandingFile:
    path: Path  # the folder's real path / name
    name: str  # relative to the landing folder
    size: int
    mtime_ns: int
    fmt: str  # "ndjson" | "csv"
    gzipped: bool
    device: int = 0  # st_dev, st_ino as listed: what opening it must find again
    inode: int = 0
    refused: str = ""  # why it is not read at all (not a regular file); empty for a landing file


def file_format(name: str) -> tuple[str, bool] | None:
    """(format, gzipped) from the file name, or None when the file is not a landing file."""
    lower = name.lower()
    gzipped = lower.endswith(".gz")
    stem = lower[:-3] if gzipped else lower
    for suffix, fmt in FORMATS.items():
        if stem.endswith(suffix):
            return fmt, gzipped
    return None


def list_landing_files(folder: Path) -> list[LandingFile]:
    """Entries directly in `folder` named like landing files, by name; hidden and in-progress
    files and directories are skipped. Nothing is opened (sensors call this): an entry that is
    not a regular file (a symbolic link, a FIFO, a device) comes back with `refused` set."""
    if not folder.is_dir():
        return []
    folder = folder.resolve()
    found = []
    with os.scandir(folder) as entries:
        listed = sorted(entries, key=lambda entry: entry.name)
    for entry in listed:
        name = entry.name
        if name.startswith((".", "_")) or name.lower().endswith(IN_PROGRESS_SUFFIXES):
            continue
        kind = file_format(name)
        if kind is None:
            continue
        try:
            status = entry.stat(follow_symlinks=False)  # lstat: the entry itself, never a link's target
        except FileNotFoundError:  # gone since the listing
            continue
        if stat.S_ISDIR(status.st_mode):
            continue
        refused = _refusal(status)
        if stat.S_ISLNK(status.st_mode):
            refused = f"a symbolic link (to {_link_target(entry.path)}), not a regular file"
        found.append(LandingFile(folder / name, name, status.st_size, status.st_mtime_ns, *kind,
                                 status.st_dev, status.st_ino, _refused(name, refused) if refused else ""))
    return found


_KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISDIR, "a directory"), (stat.S_ISLNK, "a symbolic link"))


def _refusal(status: os.stat_result) -> str | None:
    """Why an entry with this status is not read, or None for a regular file with one link."""
    if not stat.S_ISREG(status.st_mode):
        kind = next((what for test, what in _KINDS if test(status.st_mode)), "not a file")
        return f"{kind}, not a regular file"
    if status.st_nlink != 1:
        return (f"a regular file with {status.st_nlink} hard links: it may be a file outside the folder "
                "(copy or move files in, do not link them)")
    return None


def _refused(name: str, why: str) -> str:
    return (f"{name}: refused: {why}; only regular files inside the landing folder are read, nothing of this "
            "one was (remove it, or put the file itself there)")


def _link_target(path: str) -> str:
    try:
        target = os.readlink(path)
    except OSError:
        return "?"
    return target if len(target) <= 200 else target[:200] + "..."


def open_landing_file(file: LandingFile) -> BinaryIO:
    """`file` opened for reading, through one descriptor, only if it is still the regular file the
    listing saw inside the landing folder: opened without following a symbolic link (O_NOFOLLOW)
    and without blocking on a FIFO (O_NONBLOCK), then checked on the descriptor itself (a regular
    file, one hard link, the listed device and inode). Raises LandingFileRefused naming it
    otherwise, before reading a byte."""
    if file.refused:
        raise LandingFileRefused(file.refused)
    name = file.name
    if name in ("", ".", "..") or "/" in name or "\x00" in name or (os.altsep and os.altsep in name) \
            or file.path.name != name:
        raise LandingFileRefused(_refused(name, "not a plain name inside the landing folder"))
    if os.path.realpath(file.path.parent) != str(file.path.parent):
        raise LandingFileRefused(_refused(name, f"its folder {file.path.parent} is not where the listing found it"))
    try:
        fd = os.open(file.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise LandingFileRefused(_refused(name, "replaced by a symbolic link after the folder was listed")) from None
        raise LandingFileError(f"{name}: cannot be opened: {exc.strerror}") from None
    try:
        status = os.fstat(fd)
        why = _refusal(status)
        if why is None and (status.st_dev, status.st_ino) != (file.device, file.inode):
            why = "replaced by another file after the folder was listed"
        if why is not None:
            raise LandingFileRefused(_refused(name, why))
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def sha256(file: LandingFile) -> str:
    digest = hashlib.sha256()
    with open_landing_file(file) as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def source_file_id(sha: str) -> int:
    """The UInt64 that tags a file's rows in ClickHouse: the first 8 bytes of its sha256."""
    return int(sha[:16], 16)


def uncompressed_size(file: LandingFile) -> int:
    """Bytes of text the file holds: a gzip member records it (mod 2**32) in its last 4 bytes."""
    if not file.gzipped or file.size < 18:
        return file.size
    try:
        with open_landing_file(file) as f:
            f.seek(-4, 2)
            recorded = int.from_bytes(f.read(4), "little")
    except (LandingFileError, OSError):  # an estimate only: reading it names the problem
        return file.size
    return max(recorded, file.size)  # a file over 4 GiB wraps around: at least its own size


def _read_blocks(file: LandingFile, chunk_bytes: int) -> Iterator[bytes]:
    try:
        # A gzip reader over a file object leaves it open: the outer `with` closes the descriptor.
        with open_landing_file(file) as raw, (_gzip_open(raw, "rb") if file.gzipped else nullcontext(raw)) as f:
            while block := f.read(chunk_bytes):
                yield block
    except (OSError, EOFError, zlib.error) as exc:  # gzip raises BadGzipFile (an OSError) or EOFError
        raise LandingFileError(f"{file.name}: cannot be read as {'gzip' if file.gzipped else 'a file'}: {exc}") from None


def line_chunks(file: LandingFile, file_id: int, chunk_bytes: int = CHUNK_BYTES) -> Iterator[pa.Table]:
    """Arrow tables (source_file_id, line_no, line) of about `chunk_bytes`, lines numbered from 1.
    Each line keeps its line break (ClickHouse trims it); nothing is copied line by line."""
    rest = b""
    next_line = 1
    for block in _read_blocks(file, chunk_bytes):
        data = rest + block
        cut = data.rfind(b"\n") + 1
        data, rest = data[:cut], data[cut:]
        if data:
            table, next_line = _lines_table(data, file_id, next_line)
            yield table
    if rest:
        table, next_line = _lines_table(rest, file_id, next_line)
        yield table


def _lines_table(data: bytes, file_id: int, first_line: int) -> tuple[pa.Table, int]:
    import numpy as np
    import pyarrow as pa

    breaks = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
    starts = np.concatenate(([0], breaks + 1)).astype(np.int64)
    if starts[-1] != len(data):  # the last line has no line break
        starts = np.append(starts, len(data))
    count = len(starts) - 1
    lines = pa.LargeBinaryArray.from_buffers(pa.large_binary(), count, [None, pa.py_buffer(starts), pa.py_buffer(data)])
    table = pa.table({
        "source_file_id": pa.array(np.full(count, file_id, dtype=np.uint64)),
        "line_no": pa.array(np.arange(first_line, first_line + count, dtype=np.uint64)),
        "line": lines,
    })
    return table, first_line + count


def csv_columns(file: LandingFile, required: Sequence[str], optional: Sequence[str] = ()) -> dict[str, int]:
    """1-based positions of the known columns from the header (`<name>_col`) and `columns`, the
    header's width. An absent optional column gets the position past the last one, which
    ClickHouse reads as an empty field (index 0 would be an error). A header without the
    required columns makes the whole file unusable."""
    header = b""
    for block in _read_blocks(file, 1 << 16):
        header += block
        if b"\n" in header:
            break
    first = header.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace").strip("\r")
    names = [name.strip().lower() for name in next(csv.reader([first]), [])]
    missing = [name for name in required if name not in names]
    if missing:
        raise LandingFileError(
            f"{file.name}: the CSV header (line 1) lacks {', '.join(missing)}; found {', '.join(names) or 'nothing'}"
        )
    absent = len(names) + 1
    positions = {f"{name}_col": (names.index(name) + 1 if name in names else absent) for name in (*required, *optional)}
    return {**positions, "columns": len(names)}


def prefetched(items: Iterable, depth: int = 2) -> Iterator:
    """`items`, produced by a background thread up to `depth` ahead: decompressing and splitting
    the next chunk (zlib and numpy release the GIL) overlaps ClickHouse taking the current one.
    An exception in the producer is raised here, where the item would have been."""
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        buffer.put((item, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            buffer.put((done, None))
        except BaseException as exc:  # handed to the consumer
            buffer.put((done, exc))

    thread = threading.Thread(target=produce, name="landing-reader", daemon=True)
    thread.start()
    try:
        while True:
            item, error = buffer.get()
            if item is done:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()
        thread.join()
