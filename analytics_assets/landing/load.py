"""Load landing files into a feed's table exactly once (web metrics, product events).

The registry `<table>_files` (one row per file content, by sha256) makes a rerun, a retried
run or a second sensor tick a no-op for files already loaded. Every row carries its file's
`source_file_id`, in the feed's table and in the tables derived from it on insert, so a load
that was cut short (status `loading` left behind) is taken out exactly before the file is
loaded again.

Bad rows go to `<table>_quarantine` with file, line and reason; the file's good rows load. A
file with more than the feed's maximum percentage of bad rows (a wrong format, a broken
export) is rejected whole: nothing of it is published, its bad rows are quarantined and the
file stays in the folder, so a corrected file under a new name loads in full.

Only regular files inside the folder are read (landing/files.py): a symbolic link, a FIFO, a
device or a file with another hard link is refused unread, with a registry row and the
`landing_files_accepted` check naming it. The quarantine keeps at most the first
ANALYTICS_LANDING_QUARANTINE_MAX_ROWS_PER_FILE bad rows of a file (the rest are counted), each
line cut at ANALYTICS_LANDING_QUARANTINE_MAX_LINE_BYTES, and never a configured secret: a line or
reason holding one is stored masked, flagged, and the check says so.

A feed is its table plus three `.sql` files beside its module: `fields_ndjson.sql` and
`fields_csv.sql` split lines into text fields, `<table>_parsed.sql` validates them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from datetime import datetime, timedelta, timezone
from pathlib import Path
from string import Template

from analytics_assets import settings
from analytics_assets.landing.files import (
    LandingFile,
    LandingFileError,
    LandingFileRefused,
    csv_columns,
    line_chunks,
    list_landing_files,
    prefetched,
    sha256,
    source_file_id,
    uncompressed_size,
)
from analytics_assets.secrets import mask_secrets, secret_forms
from analytics_assets.identifiers import quote_identifier
from analytics_assets.warehouse.sql import load_sql, render_sql, run_script, sql_file
from analytics_assets.warehouse.tables import scratch_tables

# Scratch table of lines, in memory (batches bound it).
LINES_COLUMNS = "(source_file_id UInt64, line_no UInt64, line String) ENGINE = Memory"


@dataclass(frozen=True)
class LandingFeed:
    """One kind of landing file and the table it loads into; its settings (ANALYTICS_<prefix>_*)
    name its folder, retention, bad-file policy and first day."""

    settings: settings.FeedSettings
    table: str  # its DDL is `<table>.sql` in sql_dir, with `$table`
    sql_dir: Path
    columns: tuple[str, ...]  # the table's loaded columns (source_file_id aside), as the parsed SQL names them
    parsed_columns: str  # DDL of those columns in the parsed scratch table
    time_column: str  # the row's time: registry min/max, "which days did a load touch"
    ttl_column: str  # a Date/DateTime column the TTL counts from
    csv_required: tuple[str, ...]
    csv_optional: tuple[str, ...]
    ndjson_row_type: str  # what JSONExtract reads from each NDJSON line
    derived: tuple[str, ...] = ()  # tables fed from `table` on insert, with source_file_id

    @property
    def kind(self) -> str:
        """The folder: $ANALYTICS_DATA_DIR/landing/<kind>/."""
        return self.settings.kind

    @property
    def files_table(self) -> str:
        return f"{self.table}_files"

    @property
    def quarantine_table(self) -> str:
        return f"{self.table}_quarantine"

    @property
    def internal_tables(self) -> tuple[str, ...]:
        """The tables of the feed that are no asset: its registry, its quarantine, the derived tables."""
        return (self.files_table, self.quarantine_table, *self.derived)

    def sql(self, name: str) -> str:
        return load_sql(self.sql_dir / f"{name}.sql")


def ensure_tables(wh, feed: LandingFeed, ttl_days: int) -> None:
    """Create the feed's table, registry and quarantine if missing, and keep the table's TTL at
    `ttl_days` (0 = none)."""
    run_script(wh, feed.sql(feed.table), table=feed.table)
    run_script(wh, sql_file(__file__, "landing_files"), table=feed.files_table)
    run_script(wh, sql_file(__file__, "landing_quarantine"), table=feed.quarantine_table)
    _sync_ttl(wh, feed, ttl_days)


def _sync_ttl(wh, feed: LandingFeed, ttl_days: int) -> None:
    ddl = wh.scalar("SELECT create_table_query FROM system.tables WHERE database = {db:String} AND name = {t:String}",
                    {"db": wh.database, "t": feed.table})
    column = quote_identifier(feed.ttl_column)
    wanted = f"TTL {feed.ttl_column} + toIntervalDay({int(ttl_days)})" if ttl_days else None
    if wanted and wanted not in ddl:
        # Applied at merges (no rewrite of existing parts now); `int()` keeps this a number.
        wh.command(f"ALTER TABLE {quote_identifier(feed.table)} MODIFY TTL {column} + toIntervalDay({int(ttl_days)})"
                   " SETTINGS materialize_ttl_after_modify = 0")
    elif not wanted and " TTL " in ddl:
        wh.command(f"ALTER TABLE {quote_identifier(feed.table)} REMOVE TTL")


def files_loaded_once(wh, feed: LandingFeed) -> tuple[int, str]:
    """(problems, detail): no content loaded twice, no name loaded with two contents, no row of
    the feed's table from a file not registered as loaded."""
    return wh.rows(render_sql(sql_file(__file__, "landing_files_loaded_once"),
                              files=feed.files_table, table=feed.table))[0]


@dataclass(frozen=True)
class QuarantinePolicy:
    """What the quarantine keeps of a file's bad rows, and the secrets it never keeps."""

    max_line_bytes: int = 4096
    max_rows_per_file: int = 1000
    secrets: tuple[str, ...] = field(default=(), repr=False)

    @classmethod
    def from_settings(cls, *extra_secrets: str | None) -> QuarantinePolicy:
        """The ANALYTICS_LANDING_QUARANTINE_* caps and every configured secret (settings.py),
        plus `extra_secrets` (a resource's own password)."""
        return cls(settings.landing_quarantine_max_line_bytes(), settings.landing_quarantine_max_rows_per_file(),
                   settings.secret_values(*extra_secrets))

    @cached_property
    def forms(self) -> tuple[bytes, ...]:
        return secret_forms(self.secrets)

    def mask_text(self, text: str) -> str:
        """A message built from a file's content (a reason, a CSV header) with the secrets masked,
        the start of one cut off at the end of a quoted excerpt too."""
        masked, found = mask_secrets(text.encode(), self.forms, partial=6)
        return masked.decode(errors="replace") if found else text


# The refused entry's registry key: nothing was read, so there is no content hash.
def _refused_key(name: str) -> str:
    return f"refused:{name}"


@dataclass
class FileOutcome:
    name: str
    sha256: str
    status: str  # loaded | rejected | refused | skipped
    rows_loaded: int = 0
    rows_quarantined: int = 0
    detail: str = ""
    min_timestamp: datetime | None = None
    max_timestamp: datetime | None = None
    secrets_masked: int = 0  # quarantined lines or reasons that held a configured secret, stored masked


@dataclass
class LoadReport:
    files: list[FileOutcome] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)  # interrupted loads taken out

    def having(self, *statuses: str) -> list[FileOutcome]:
        return [f for f in self.files if f.status in statuses]

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)

    def touched_range(self) -> tuple[datetime, datetime] | None:
        loaded = [f for f in self.having("loaded") if f.min_timestamp is not None]
        if not loaded:
            return None
        return min(f.min_timestamp for f in loaded), max(f.max_timestamp for f in loaded)


def load_landing_files(wh, feed: LandingFeed, folder: Path, *, run_id: str, loaded_at: datetime,
                       max_bad_rows_pct: float, future_tolerance: timedelta,
                       quarantine: QuarantinePolicy | None = None) -> LoadReport:
    """Load every new file of `folder` into the feed's table (its tables must exist:
    `ensure_tables`); see the module docstring for the guarantees. `quarantine` defaults to the
    settings' (and the client's own password)."""
    policy = quarantine or QuarantinePolicy.from_settings(*wh.secrets)
    report = LoadReport()
    report.recovered = _take_out_interrupted_loads(wh, feed, run_id)
    registry = {sha: (status, name) for sha, status, name in wh.rows(
        f"SELECT sha256, status, file_name FROM {quote_identifier(feed.files_table)} FINAL")}
    loaded_names = {name: sha for sha, (status, name) in registry.items() if status == "loaded"}

    new: list[tuple[LandingFile, str]] = []
    refused: list[FileOutcome] = []
    for file in list_landing_files(folder):
        try:
            sha = sha256(file)  # raises LandingFileRefused for what the listing refused, unopened
        except LandingFileError as exc:
            refused.append(FileOutcome(file.name, _refused_key(file.name), "refused", detail=policy.mask_text(str(exc))))
            continue
        status, registered_name = registry.get(sha, (None, None))
        if status in ("loaded", "rejected"):
            same = "" if registered_name == file.name else f" (same content as {registered_name})"
            report.files.append(FileOutcome(file.name, sha, "skipped", detail=f"already {status}{same}"))
        elif file.name in loaded_names and loaded_names[file.name] != sha:
            report.files.append(FileOutcome(
                file.name, sha, "refused",
                detail=f"{file.name} changed after it was loaded (sha256 {loaded_names[file.name][:12]}... then, "
                       f"{sha[:12]}... now); landing files are immutable: put new data in a new file"))
        elif any(sha == queued for _, queued in new):
            twin = next(f.name for f, queued in new if queued == sha)
            report.files.append(FileOutcome(file.name, sha, "skipped", detail=f"same content as {twin}"))
        else:
            new.append((file, sha))
    if refused:
        _register(wh, feed, [(f.sha256, f.name, 0, 0, "refused", 0, 0, None, None, f.detail) for f in refused], run_id)
        report.files.extend(refused)
    for batch in _batches(new):
        report.files.extend(_load(wh, feed, batch, run_id=run_id, loaded_at=loaded_at, max_bad_rows_pct=max_bad_rows_pct,
                                  latest=loaded_at + future_tolerance, policy=policy))
    return report


# Lines are staged in memory: files load in batches of about this many uncompressed bytes.
BATCH_BYTES = 256 << 20


def _batches(files: list[tuple[LandingFile, str]]) -> Iterator[list[tuple[LandingFile, str]]]:
    batch: list[tuple[LandingFile, str]] = []
    size = 0
    for file, sha in files:
        estimate = uncompressed_size(file)
        if batch and size + estimate > BATCH_BYTES:
            yield batch
            batch, size = [], 0
        batch.append((file, sha))
        size += estimate
    if batch:
        yield batch


def _take_out_interrupted_loads(wh, feed: LandingFeed, run_id: str) -> list[str]:
    """Remove every trace of loads left in `loading` (a killed or failed run), so they load again."""
    stale = wh.rows(f"SELECT sha256, file_name, source_file_id FROM {quote_identifier(feed.files_table)} FINAL"
                    " WHERE status = 'loading'")
    if not stale:
        return []
    ids = [int(file_id) for _, _, file_id in stale]
    for table in (feed.table, *feed.derived, feed.quarantine_table):
        wh.command(f"DELETE FROM {quote_identifier(table)} WHERE source_file_id IN {{ids:Array(UInt64)}}",
                   {"ids": ids})
    _register(wh, feed, [(sha, name, 0, file_id, "interrupted", 0, 0, None, None,
                    "an earlier load stopped part-way; its rows were taken out") for sha, name, file_id in stale],
              run_id)
    return [name for _, name, _ in stale]


def _register(wh, feed: LandingFeed, rows: Sequence[tuple], run_id: str) -> None:
    columns = ["sha256", "file_name", "file_size", "source_file_id", "status", "rows_loaded", "rows_quarantined",
               "min_timestamp", "max_timestamp", "detail"]
    now = datetime.now(timezone.utc)
    wh.insert_rows(feed.files_table, [(*row, run_id, now) for row in rows], [*columns, "run_id", "updated_at"])


def _load(wh, feed: LandingFeed, files: list[tuple[LandingFile, str]], *, run_id: str, loaded_at: datetime,
          max_bad_rows_pct: float, latest: datetime, policy: QuarantinePolicy) -> list[FileOutcome]:
    ids = {sha: source_file_id(sha) for _, sha in files}
    _register(wh, feed, [(sha, f.name, f.size, ids[sha], "loading", 0, 0, None, None, "") for f, sha in files], run_id)
    outcomes: dict[str, FileOutcome] = {}
    with scratch_tables(wh, f"{feed.kind}_lines", f"{feed.kind}_parsed") as (lines, parsed):
        wh.command(f"CREATE TABLE {quote_identifier(lines)} {LINES_COLUMNS}")
        # The parsed rows keep a bad row's line, not a good one's.
        wh.command(f"CREATE TABLE {quote_identifier(parsed)} (source_file_id UInt64, line_no UInt64, "
                   f"{feed.parsed_columns}, error String, line String) ENGINE = Memory")
        readable: list[tuple[LandingFile, str]] = []
        for file, sha in files:
            try:
                csv_layout = csv_columns(file, feed.csv_required, feed.csv_optional) if file.fmt == "csv" else None
                for chunk in prefetched(line_chunks(file, ids[sha])):
                    wh.insert_arrow(lines, chunk)
            except LandingFileError as exc:  # refused: replaced since it was hashed, nothing more read
                status = "refused" if isinstance(exc, LandingFileRefused) else "rejected"
                outcomes[sha] = FileOutcome(file.name, sha, status, detail=policy.mask_text(str(exc)))
                continue
            readable.append((file, sha))
            if csv_layout is not None:
                _parse(wh, feed, "csv", lines, parsed, latest, file_id=ids[sha], **csv_layout)
        ndjson_ids = [ids[sha] for file, sha in readable if file.fmt == "ndjson"]
        if ndjson_ids:
            _parse(wh, feed, "ndjson", lines, parsed, latest, file_ids=ndjson_ids, row_type=feed.ndjson_row_type)

        time = quote_identifier(feed.time_column)
        stats = {int(file_id): row for file_id, *row in wh.rows(
            f"SELECT source_file_id, countIf(error = ''), countIf(error != ''), minIf({time}, error = ''),"
            f" maxIf({time}, error = ''), anyIf(concat('line ', toString(line_no), ': ', error), error != '')"
            f" FROM {quote_identifier(parsed)} GROUP BY source_file_id")}
        names = {ids[sha]: file.name for file, sha in readable}
        kept = _quarantine(wh, feed, parsed, names, loaded_at, policy)
        accepted = []
        for file, sha in readable:
            good, bad, first, last, example = stats.get(ids[sha], (0, 0, None, None, ""))
            example = policy.mask_text(example)
            stored, masked = kept.get(ids[sha], (0, 0))
            notes = "".join((
                f"; only the first {stored} bad rows kept in the quarantine (ANALYTICS_LANDING_QUARANTINE_MAX_ROWS_PER_FILE)"
                if stored < bad else "",
                f"; {masked} quarantined lines held a configured secret (password, DSN password, API token), "
                "stored masked" if masked else ""))
            total = good + bad
            if total and bad * 100 > max_bad_rows_pct * total:
                outcomes[sha] = FileOutcome(
                    file.name, sha, "rejected", 0, bad,
                    f"{bad} of {total} rows bad ({bad * 100 / total:.1f}% > {max_bad_rows_pct:g}%), e.g. {example}; "
                    f"nothing loaded, bad rows quarantined{notes}", secrets_masked=masked)
            else:
                accepted.append(ids[sha])
                outcomes[sha] = FileOutcome(
                    file.name, sha, "loaded", good, bad,
                    f"{bad} bad rows quarantined, e.g. {example}{notes}" if bad else "",
                    first if good else None, last if good else None, secrets_masked=masked)
        # Publish (materialized views feed the derived tables from this insert).
        if accepted:
            columns = ", ".join(quote_identifier(c) for c in (*feed.columns, "source_file_id"))
            wh.command(
                f"INSERT INTO {quote_identifier(feed.table)} ({columns}) SELECT {columns}"
                f" FROM {quote_identifier(parsed)} WHERE error = '' AND source_file_id IN {{ids:Array(UInt64)}}"
                # A backfill file spans many days: many partitions in one insert is expected here.
                " SETTINGS throw_on_max_partitions_per_insert_block = 0, max_insert_threads = 2",
                {"ids": accepted})
    _register(wh, feed, [(sha, f.name, f.size, ids[sha], outcomes[sha].status, outcomes[sha].rows_loaded,
                    outcomes[sha].rows_quarantined, outcomes[sha].min_timestamp, outcomes[sha].max_timestamp,
                    outcomes[sha].detail) for f, sha in files], run_id)
    return [outcomes[sha] for _, sha in files]


TRUNCATED = b" ... [cut at %d of %d bytes: ANALYTICS_LANDING_QUARANTINE_MAX_LINE_BYTES]"


def _quarantine(wh, feed: LandingFeed, parsed: str, names: dict[int, str], loaded_at: datetime,
                policy: QuarantinePolicy) -> dict[int, tuple[int, int]]:
    """Store the first bad rows of each file (line cut to the cap, secrets masked): per file id,
    (rows stored, rows whose line or reason held a secret). Masking happens here, in Python, so a
    secret is never sent to ClickHouse, not even as a query parameter."""
    import pyarrow as pa

    if not names or policy.max_rows_per_file == 0:
        return {}
    forms = policy.forms
    # A secret that starts before the cut is read whole, so that it is masked whole.
    keep = policy.max_line_bytes + max((len(f) for f in forms), default=0)
    data = wh.query_arrow(
        f"SELECT source_file_id, line_no, error, substring(line, 1, {{keep:UInt64}}) AS head, length(line) AS bytes"
        f" FROM {quote_identifier(parsed)} WHERE error != '' AND source_file_id IN {{ids:Array(UInt64)}}"
        " ORDER BY source_file_id, line_no LIMIT {rows:UInt64} BY source_file_id",
        {"keep": keep, "rows": policy.max_rows_per_file, "ids": list(names)})
    if not data.num_rows:
        return {}
    file_ids = data.column("source_file_id").to_pylist()
    sizes = data.column("bytes").to_pylist()
    lines, reasons, flags = [], [], []
    # Bytes, not text: a line is stored byte for byte, whatever its encoding.
    for head, error, size in zip(data.column("head").cast(pa.large_binary()).to_pylist(),
                                 data.column("error").cast(pa.large_binary()).to_pylist(), sizes):
        line, in_line = mask_secrets(head, forms)
        reason, in_reason = mask_secrets(error, forms, partial=6)
        if size > policy.max_line_bytes:
            line = line[:policy.max_line_bytes] + TRUNCATED % (policy.max_line_bytes, size)
        lines.append(line)
        reasons.append(reason)
        flags.append(int(in_line or in_reason))
    wh.insert_arrow(feed.quarantine_table, pa.table({
        "file_name": pa.array([names[i] for i in file_ids], pa.string()),
        "source_file_id": data.column("source_file_id"),
        "line_no": data.column("line_no"),
        "reason": pa.array(reasons, pa.large_binary()),
        "line": pa.array(lines, pa.large_binary()),
        "line_bytes": pa.array(sizes, pa.uint64()),
        "secret_masked": pa.array(flags, pa.uint8()),
        "quarantined_at": pa.array([loaded_at] * data.num_rows, pa.timestamp("us", tz="UTC")),
    }))
    kept: dict[int, tuple[int, int]] = {}
    for file_id, flag in zip(file_ids, flags):
        stored, masked = kept.get(file_id, (0, 0))
        kept[file_id] = (stored + 1, masked + flag)
    return kept


def _parse(wh, feed: LandingFeed, fmt: str, lines: str, parsed: str, latest: datetime, **parameters) -> None:
    """Split `fmt` lines into fields (the feed's `fields_<fmt>.sql`, CSV lines through
    `csv_split.sql`), validate (`<table>_parsed.sql`), write to `parsed`."""
    # One substitution pass each: the subqueries are our own SQL, not rescanned.
    split = render_sql(sql_file(__file__, "csv_split"), lines=lines)
    fields = Template(feed.sql(f"fields_{fmt}")).substitute(lines=quote_identifier(lines), csv_split=split)
    sql = Template(feed.sql(f"{feed.table}_parsed")).substitute(
        parsed=quote_identifier(parsed), fields=fields)
    wh.command(sql, {"latest": latest, **parameters})
