"""Which files are metric files, and their lines, numbered, as Arrow."""

from __future__ import annotations

import gzip

import pytest

from analytics_assets.landing.files import LandingFileError, csv_columns, line_chunks, list_landing_files

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
