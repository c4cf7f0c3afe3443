"""Which files are metric files, and their lines, numbered, as Arrow; what is not a regular file
inside the folder is refused unread."""

from __future__ import annotations

import dataclasses
import gzip
import os
import re

import pytest

from analytics_assets.landing.files import (
    LandingFileError,
    LandingFileRefused,
    csv_columns,
    line_chunks,
    list_landing_files,
    sha256,
)

WEB_CSV = (("timestamp", "metric_name", "metric_value"), ("dimensions", "tags"))


def test_lists_metric_files_and_skips_partial_hidden_and_other(tmp_path):
    for name in ("b.ndjson", "a.csv.gz", "c.jsonl", "d.NDJSON.GZ", ".hidden.ndjson", "e.ndjson.tmp", "f.csv.part",
                 "_g.csv", "notes.txt", "h.json"):
        (tmp_path / name).write_text("x\n")
    (tmp_path / "sub.ndjson").mkdir()
    files = list_landing_files(tmp_path)
    assert [(f.name, f.fmt, f.gzipped) for f in files] == [
        ("a.csv.gz", "csv", True), ("b.ndjson", "ndjson", False), ("c.jsonl", "ndjson", False),
        ("d.NDJSON.GZ", "ndjson", True)]
    assert list_landing_files(tmp_path / "missing") == []


@pytest.mark.parametrize("chunk_bytes", [7, 64, 1 << 20])
def test_lines_are_numbered_across_chunks(tmp_path, chunk_bytes):
    lines = ["first", "", "third line", "x" * 50, "fifth\r", "last without newline"]
    (tmp_path / "f.ndjson").write_bytes("\n".join(lines).encode())
    file = list_landing_files(tmp_path)[0]
    tables = list(line_chunks(file, 42, chunk_bytes=chunk_bytes))
    got = [(r["source_file_id"], r["line_no"], r["line"].rstrip(b"\n").decode())
           for t in tables for r in t.to_pylist()]
    assert got == [(42, i + 1, line) for i, line in enumerate(lines)]


def test_gzip_lines_and_a_broken_gzip_names_the_file(tmp_path):
    (tmp_path / "ok.ndjson.gz").write_bytes(gzip.compress(b"a\nb\n"))
    (tmp_path / "bad.ndjson.gz").write_bytes(gzip.compress(b"a\nb\n" * 1000)[:-30])
    bad, ok = list_landing_files(tmp_path)
    assert [r["line"] for t in line_chunks(ok, 1) for r in t.to_pylist()] == [b"a\n", b"b\n"]
    with pytest.raises(LandingFileError, match="bad.ndjson.gz: cannot be read as gzip"):
        list(line_chunks(bad, 1))


def test_csv_header_positions_and_missing_columns(tmp_path):
    (tmp_path / "a.csv").write_text("\ufeffMetric_Name, timestamp,extra,metric_value,tags\nx\n")
    (tmp_path / "b.csv").write_text("timestamp,metric,value\n")
    a, b = list_landing_files(tmp_path)
    assert csv_columns(a, *WEB_CSV) == {"timestamp_col": 2, "metric_name_col": 1, "metric_value_col": 4, "dimensions_col": 6,
                              "tags_col": 5, "columns": 5}
    with pytest.raises(LandingFileError, match=r"b.csv: the CSV header \(line 1\) lacks metric_name, metric_value"):
        csv_columns(b, *WEB_CSV)


# --- only regular files inside the folder are read (issue 20) -----------------------------------

OUTSIDE = b'{"timestamp": "2026-03-02 10:00:00", "metric_name": "outside-only-7c1e", "metric_value": 1}\n'


@pytest.fixture
def outside(tmp_path):
    """A folder beside the landing folder, holding a file the run must never read."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.ndjson").write_bytes(OUTSIDE)
    return folder


@pytest.fixture
def folder(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "ok.ndjson").write_bytes(b'{"a": 1}\n')
    return landing


def _read(file) -> bytes:
    return b"".join(r["line"] for t in line_chunks(file, 1) for r in t.to_pylist())


def test_symlinks_fifos_and_hard_links_are_listed_refused_and_never_opened(folder, outside):
    (folder / "link-file.ndjson").symlink_to(outside / "secret.ndjson")
    (folder / "link-dir.ndjson").symlink_to(outside)
    (folder / "passwd.csv").symlink_to("/etc/passwd")
    os.mkfifo(folder / "fifo.ndjson")
    os.link(outside / "secret.ndjson", folder / "hard.ndjson")
    (folder / "plain-dir.ndjson").mkdir()  # a directory is not a file: skipped, as before
    files = {f.name: f for f in list_landing_files(folder)}
    assert sorted(files) == ["fifo.ndjson", "hard.ndjson", "link-dir.ndjson", "link-file.ndjson", "ok.ndjson",
                             "passwd.csv"]
    assert files["ok.ndjson"].refused == ""
    expected = {
        "link-file.ndjson": f"a symbolic link (to {outside / 'secret.ndjson'}), not a regular file",
        "link-dir.ndjson": f"a symbolic link (to {outside}), not a regular file",
        "passwd.csv": "a symbolic link (to /etc/passwd), not a regular file",
        "fifo.ndjson": "a FIFO (named pipe), not a regular file",
        "hard.ndjson": "a regular file with 2 hard links: it may be a file outside the folder",
    }
    for name, why in expected.items():
        assert files[name].refused.startswith(f"{name}: refused: {why}"), files[name].refused
        assert "nothing of this one was" in files[name].refused
        for read in (sha256, _read, lambda f: csv_columns(f, *WEB_CSV)):  # every way in is refused, unread
            with pytest.raises(LandingFileRefused, match=f"^{re.escape(name)}: refused: "):
                read(files[name])
    assert _read(files["ok.ndjson"]) == b'{"a": 1}\n'


def test_a_file_replaced_after_the_listing_is_refused_when_opened(folder, outside, tmp_path):
    """Deterministic swaps between listing and open: each time the listed entry is opened after
    the name was made to point elsewhere."""
    (folder / "b.ndjson").write_bytes(b'{"b": 1}\n')
    (folder / "c.ndjson").write_bytes(b'{"c": 1}\n')
    (folder / "d.ndjson").write_bytes(b'{"d": 1}\n')
    (folder / "e.ndjson").write_bytes(b'{"e": 1}\n')
    listed = {f.name: f for f in list_landing_files(folder)}
    assert all(not f.refused for f in listed.values())

    (folder / "ok.ndjson").unlink()  # a symbolic link out, under the listed name
    (folder / "ok.ndjson").symlink_to(outside / "secret.ndjson")
    (folder / "b.ndjson").unlink()  # a FIFO: opened without blocking, refused
    os.mkfifo(folder / "b.ndjson")
    other = tmp_path / "other.ndjson"  # another regular file renamed over it
    other.write_bytes(b'{"other": 1}\n')
    other.rename(folder / "c.ndjson")
    os.link(folder / "d.ndjson", outside / "d-copy.ndjson")  # a second hard link, made after the listing
    expected = {"ok.ndjson": "replaced by a symbolic link after the folder was listed",
                "b.ndjson": "a FIFO (named pipe), not a regular file",
                "c.ndjson": "replaced by another file after the folder was listed",
                "d.ndjson": "a regular file with 2 hard links"}
    for name, why in expected.items():
        with pytest.raises(LandingFileRefused, match=f"^{re.escape(name)}: refused: {re.escape(why)}"):
            sha256(listed[name])
        with pytest.raises(LandingFileRefused, match=f"^{re.escape(name)}: refused: {re.escape(why)}"):
            _read(listed[name])
    assert _read(listed["e.ndjson"]) == b'{"e": 1}\n'


def test_a_name_with_dotdot_or_a_folder_swapped_for_a_symlink_is_refused(folder, outside, tmp_path):
    # The listing never yields `..` (nor `.`), and a name starting with a dot is hidden: skipped.
    (folder / "..sneaky.ndjson").write_bytes(b"x\n")
    assert [f.name for f in list_landing_files(folder)] == ["ok.ndjson"]
    # A listing entry with a traversing name, as no listing makes one: refused before any open.
    (ok,) = list_landing_files(folder)
    escaping = dataclasses.replace(ok, path=folder / ".." / "outside" / "secret.ndjson", name="../outside/secret.ndjson")
    with pytest.raises(LandingFileRefused, match=r"^\.\./outside/secret\.ndjson: refused: not a plain name"):
        sha256(escaping)
    # The folder itself replaced by a symbolic link to another folder holding the same name.
    (outside / "ok.ndjson").write_bytes(OUTSIDE)
    folder.rename(tmp_path / "landing-moved")
    folder.symlink_to(outside)
    with pytest.raises(LandingFileRefused, match=r"^ok\.ndjson: refused: its folder .* is not where the listing found it"):
        _read(ok)
