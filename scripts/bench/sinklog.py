"""Reading what a Spark file sink committed: its `_spark_metadata` log, the files listed, their rows (pyarrow).

The log has one file per batch (`<batch>`, or `<batch>.compact` every compactInterval batches, which repeats
every earlier entry): a "v1" line, then one JSON object per data file ({"path": "file:///...", "action": "add",
...}). A file is committed when the first log file that lists it is written, so its commit time is that log
file's mtime.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import unquote, urlparse

_LOG_NAME = re.compile(r"^(\d+)(\.compact)?$")


def local_path(uri_or_path: str) -> Path:
    """A file:// URI (as the sink log holds them, percent-encoded) or a plain path, as a local Path."""
    parsed = urlparse(uri_or_path)
    if parsed.scheme not in ("", "file"):
        raise ValueError(f"{uri_or_path}: only local (file://) outputs can be read back here")
    return Path(unquote(parsed.path))


def committed_files(output: Path) -> dict[Path, float]:
    """Every data file the sink committed, with the time it was committed (mtime of the first listing log file)."""
    log_dir = output / "_spark_metadata"
    if not log_dir.is_dir():
        raise FileNotFoundError(f"{log_dir}: no sink log (the query committed nothing, or this is not a file-sink output)")
    logs = sorted(((int(m.group(1)), f) for f in log_dir.iterdir() if (m := _LOG_NAME.match(f.name))), key=lambda t: t[0])
    first_seen: dict[Path, float] = {}
    for _batch, f in logs:
        mtime = f.stat().st_mtime
        lines = f.read_text().splitlines()
        if not lines or not lines[0].startswith("v"):
            raise ValueError(f"{f}: not a sink log file (first line {lines[:1]!r}, expected a version like 'v1')")
        for line in lines[1:]:
            if not line.strip():
                continue
            entry = json.loads(line)
            if entry.get("action", "add") != "add":
                continue
            first_seen.setdefault(local_path(entry["path"]), mtime)
    return first_seen


def committed_rows(output: Path) -> int:
    """Rows in the committed files (Parquet footers only; stray files of failed attempts do not count)."""
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(p).metadata.num_rows for p in committed_files(output))


def latencies(output: Path, column: str = "kafka_timestamp", since: float | None = None) -> list[float]:
    """Seconds from each record's Kafka timestamp to the commit of the file that holds it; with `since` (seconds
    since the epoch) only for records stamped from then on."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out: list[float] = []
    for path, commit in committed_files(output).items():
        ts = pq.read_table(path, columns=[column]).column(column)
        if not pa.types.is_timestamp(ts.type):
            raise ValueError(f"{path}: column {column} is {ts.type}, expected a timestamp")
        micros = ts.cast(pa.timestamp("us", tz=ts.type.tz)).cast(pa.int64()).to_pylist()
        floor = None if since is None else since * 1e6
        out.extend(commit - us / 1e6 for us in micros if us is not None and (floor is None or us >= floor))
    return out
