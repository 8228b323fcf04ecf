"""The commands of the Spark rows (b)-(f), with the settings they all share, and the previous release's copy."""
from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[1]
SPARK_MODES = {"b": "raw", "c": "parse", "d": "partition"}
# The settings the job pins for its output's sake (streaming_consumer/main.py PINNED_CONF): given to every row,
# so the Parquet that (b)-(d) write is encoded as the consumer's is (the consumer accepts them, being equal).
PINNED = {
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.parquet.datetimeRebaseModeInWrite": "CORRECTED",
    "spark.sql.parquet.int96RebaseModeInWrite": "CORRECTED",
    "spark.sql.ansi.enabled": "false",
}


def spark_conf(jars: list[str]) -> dict[str, str]:
    """Identical for every Spark row: cores, shuffle partitions, memory, no UI, the same jars."""
    return {
        "spark.master": "local[2]",
        "spark.sql.shuffle.partitions": "2",
        "spark.driver.memory": "4g",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.jars": ",".join(jars),
        **PINNED,
    }


def conf_flags(conf: dict[str, str]) -> list[str]:
    return [x for k, v in conf.items() for x in ("--conf", f"{k}={v}")]


@dataclass(frozen=True)
class Locations:
    output: Path
    dead_letter: Path
    checkpoint: Path

    @classmethod
    def under(cls, folder: Path) -> "Locations":
        return cls(folder / "output", folder / "dead-letter", folder / "checkpoint")


def consumer_cmd(python: str, bootstrap: str, topic: str, where: Locations, conf: dict[str, str],
                 max_offsets: int | None, available_now: bool = True) -> list[str]:
    """The consumer (today's or the previous release, chosen by PYTHONPATH) on local disk. Without
    available_now it runs with its default trigger (the latency run)."""
    cmd = [python, "-m", "streaming_consumer", "--bootstrap-servers", bootstrap, "--topic", topic,
           "--output", f"file://{where.output}", "--dead-letter", f"file://{where.dead_letter}",
           "--checkpoint", f"file://{where.checkpoint}", *conf_flags(conf)]
    if available_now:
        cmd.append("--available-now")
    if max_offsets is not None:
        cmd += ["--max-offsets-per-trigger", str(max_offsets)]
    return cmd


def spark_cmd(python: str, row: str, bootstrap: str, topic: str, where: Locations, conf: dict[str, str],
              max_offsets: int | None) -> list[str]:
    cmd = [python, str(SCRIPTS / "bench_spark.py"), "--mode", SPARK_MODES[row], "--bootstrap", bootstrap,
           "--topic", topic, "--output", str(where.output), "--checkpoint", str(where.checkpoint), *conf_flags(conf)]
    if max_offsets is not None:
        cmd += ["--max-offsets-per-trigger", str(max_offsets)]
    return cmd


def extract_release(repo: Path, ref: str, dest: Path) -> Path:
    """`git archive <ref> jobs/streaming-consumer | tar -x` into dest; returns the job folder (for PYTHONPATH)."""
    dest.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(repo), "archive", "--format=tar", ref, "jobs/streaming-consumer"],
                             capture_output=True)
    if archive.returncode != 0:
        raise RuntimeError(f"--previous-ref {ref}: git archive failed: {archive.stderr.decode(errors='replace').strip()}")
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    job = dest / "jobs" / "streaming-consumer"
    if not (job / "streaming_consumer" / "__main__.py").is_file():
        raise RuntimeError(f"--previous-ref {ref}: {job} has no streaming_consumer package")
    return job


def consumer_default_max_offsets() -> int | None:
    """The consumer's own default for --max-offsets-per-trigger (today's job, read from its parser)."""
    from streaming_consumer.main import build_parser

    return build_parser().get_default("max_offsets_per_trigger")


def consumer_counts(events: list[dict]) -> dict[str, int]:
    """Rows read, valid and dead-lettered, summed over the consumer's batch_progress lines."""
    progress = [e for e in events if e.get("event") == "batch_progress"]
    return {
        "batches": sum(1 for e in progress if e.get("rows_in")),
        "rows": sum(int(e.get("rows_in") or 0) for e in progress),
        "valid": sum(int(e.get("valid_rows") or 0) for e in progress),
        "dead": sum(int(e.get("dead_letter_rows") or 0) for e in progress),
    }
