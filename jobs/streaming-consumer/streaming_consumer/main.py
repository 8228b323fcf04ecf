"""Command line: parse flags, build the session, wire source -> transforms -> sinks, run until stopped."""
from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import threading
import time
from typing import Sequence
from urllib.parse import urlparse

from . import io, metrics
from .schemas import EVENT_SCHEMA, PARTITION_COLUMNS, SchemaError, load_schema

_INTERVAL_RE = re.compile(r"^\s*\d+\s*(milliseconds?|ms|seconds?|s|minutes?|min|hours?|h)\s*$", re.IGNORECASE)

EXIT_CONFIG_ERROR = 3
# The grace period ran out, or a second signal came, before the running batch committed: the query was
# stopped mid-batch. Safe: the checkpoint re-runs that batch at the next start, and the stray files it may
# have left are removed then.
EXIT_STOP_ABORTED = 4
DEFAULT_STOP_GRACE_SECONDS = 120
DEFAULT_MAX_OFFSETS_PER_TRIGGER = 500_000
# How long an abort waits for Spark to stop the query before the process exits regardless.
_ABORT_WAIT_SECONDS = 30

# Settings the job pins, because its output depends on them (a --conf that sets one otherwise is refused):
# timestamps as TIMESTAMP_MICROS (INT96 cannot hold years 0001-1677 or 2262-9999 for readers such as pyarrow)
# in the proleptic Gregorian calendar with no legacy rebase (the default, EXCEPTION, fails the whole batch on
# a date before 1582 or 1900; LEGACY would store other instants than the ones received, which non-Spark readers
# then show), and non-ANSI SQL, under which a value the transforms cannot convert is null, never a failed batch.
PINNED_CONF = {
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.parquet.datetimeRebaseModeInWrite": "CORRECTED",
    "spark.sql.parquet.int96RebaseModeInWrite": "CORRECTED",
    "spark.sql.ansi.enabled": "false",
}


def _positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return n


def _grace(text: str) -> int:
    n = _positive_int(text)
    if n > 86400:
        raise argparse.ArgumentTypeError(f"must be at most 86400 seconds, got {text!r}")
    return n


def _interval(text: str) -> str:
    if not _INTERVAL_RE.match(text):
        raise argparse.ArgumentTypeError(f"must look like '30 seconds', '500 milliseconds' or '5 minutes', got {text!r}")
    return text.strip()


def _conf(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"must be key=value, got {text!r}")
    return key.strip(), value


def _host_ports(text: str) -> str:
    for part in text.split(","):
        host, sep, port = part.strip().rpartition(":")
        if not sep or not host or not port.isdigit():
            raise argparse.ArgumentTypeError(f"must be host:port[,host:port...], got {text!r}")
    return text


def _uri(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text.rstrip("/")


def _topics(text: str) -> list[io.TopicSpec]:
    try:
        return io.TopicSpec.parse_list(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="streaming_consumer",
        description="Kafka topic -> Parquet (year/month/day/hour of event_time, UTC) + dead letter, exactly once.",
    )
    p.add_argument("--bootstrap-servers", required=True, type=_host_ports, metavar="H:P[,H:P]")
    p.add_argument("--topic", required=True)
    p.add_argument("--output", required=True, type=_uri, metavar="URI", help="valid rows (Parquet)")
    p.add_argument("--dead-letter", required=True, type=_uri, metavar="URI", help="invalid records (Parquet)")
    p.add_argument("--checkpoint", required=True, type=_uri, metavar="URI", help="one per consumer, never shared")
    trig = p.add_mutually_exclusive_group()
    trig.add_argument("--trigger-interval", type=_interval, default="30 seconds", metavar="INTERVAL")
    trig.add_argument("--available-now", action="store_true", help="process what is there, then stop")
    p.add_argument("--max-offsets-per-trigger", type=_positive_int, default=DEFAULT_MAX_OFFSETS_PER_TRIGGER, metavar="N",
                   help="records per batch at most (default %(default)s, as the stack's consumer.maxOffsetsPerTrigger): "
                        "bounds a batch's memory after a backlog, and is large enough that a batch's fixed cost "
                        "(about a second) is small against its records")
    p.add_argument("--starting-offsets", choices=["earliest", "latest"], default="earliest",
                   help="only for a new checkpoint (default: earliest)")
    p.add_argument("--kafka-auth", choices=["none", "iam"], default="none")
    p.add_argument("--schema", metavar="FILE", help="Spark JSON schema replacing the default event schema")
    p.add_argument("--conf", type=_conf, action="append", default=[], metavar="KEY=VALUE", help="Spark setting")
    p.add_argument("--ensure-topics", type=_topics, metavar="JSON",
                   help='create missing topics first: [{"name":..,"partitions":..,"replicationFactor":..,"retentionMs":..}]')
    p.add_argument("--sink-log-retention", metavar="DURATION",
                   help="drop file-sink log entries older than this (e.g. 30d); readers through Spark then no longer see those files")
    p.add_argument("--stop-grace-period", type=_grace, default=DEFAULT_STOP_GRACE_SECONDS, metavar="SECONDS",
                   help="on SIGTERM/SIGINT, how long the running batch may take to commit before the stop aborts it "
                        f"(default {DEFAULT_STOP_GRACE_SECONDS})")
    metrics.add_arguments(p)  # observability flags (issue 14): streaming_consumer/metrics.py
    return p


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    locations = {"--output": args.output, "--dead-letter": args.dead_letter, "--checkpoint": args.checkpoint}
    names = list(locations)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            la, lb = locations[a] + "/", locations[b] + "/"
            if la.startswith(lb) or lb.startswith(la):
                parser.error(f"argument {a}: must not be, contain or lie inside {b} ({locations[a]} vs {locations[b]})")
    for key, value in args.conf:
        if key in PINNED_CONF and value.strip().upper() != PINNED_CONF[key].upper():
            parser.error(
                f"argument --conf: {key}={value} is not allowed; the job pins it to {PINNED_CONF[key]} so that every "
                "record, whatever its date, is written and read back as the same instant and never fails a batch"
            )
    if args.schema:
        try:
            args.record_schema = load_schema(args.schema)
        except SchemaError as e:
            parser.error(f"argument --schema: {e}")
    else:
        args.record_schema = EVENT_SCHEMA
    return args


def sink_locations(output: str, dead_letter: str, schema) -> dict[str, io.SinkLocation]:
    """Both sinks' locations with the data columns of their files, which the stray-file cleaning checks."""
    from . import transforms

    data_columns = tuple(c for c in transforms.output_columns(schema) if c not in PARTITION_COLUMNS)
    return {
        "output": io.SinkLocation(output, data_columns),
        "dead-letter": io.SinkLocation(dead_letter, tuple(transforms.dead_letter_columns())),
    }


def uses_s3a(uri: str, confs: dict) -> bool:
    """True when `uri` is served by S3A: an s3a:// URI, or s3:// mapped to S3A (as the ec2 engine does)."""
    scheme = urlparse(uri).scheme
    return scheme == "s3a" or (scheme == "s3" and confs.get("spark.hadoop.fs.s3.impl") == "org.apache.hadoop.fs.s3a.S3AFileSystem")


def build_session(args: argparse.Namespace):
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(f"streaming-consumer-{args.topic}")
    # Progress bars interleave with the JSON progress lines that operators parse.
    confs = {"spark.ui.showConsoleProgress": "false", **dict(args.conf), **PINNED_CONF}
    # Rename-free checkpoints on S3A: a rename there is copy + delete, and a killed copy leaves junk. Only S3A has
    # the abortable streams that manager needs; EMR's s3:// (EMRFS) keeps Spark's default manager.
    if uses_s3a(args.checkpoint, confs) and "spark.sql.streaming.checkpointFileManagerClass" not in confs:
        confs["spark.sql.streaming.checkpointFileManagerClass"] = io.ABORTABLE_CHECKPOINT_MANAGER
    for k, v in confs.items():
        builder = builder.config(k, v)
    return builder.getOrCreate()


def report_pinned_settings(spark) -> None:
    """Logs the settings the job pins as the session has them, and the cluster defaults they replaced (spark-defaults
    or spark-submit --conf, which reach the JVM as system properties): a reviewer sees both, a test checks both."""
    props = spark._jvm.java.lang.System
    overridden = {}
    for key, value in PINNED_CONF.items():
        default = props.getProperty(key)
        if default is not None and default.strip().upper() != value.upper():
            overridden[key] = default
    io.emit("session_settings", settings={k: spark.conf.get(k) for k in PINNED_CONF}, overridden=overridden)


class _Stopper:
    """SIGTERM/SIGINT: the first asks for a stop (the running batch commits), a second one, or the grace period
    running out, aborts. Handlers only record; the main loop acts."""

    def __init__(self, grace_seconds: int, control: io.StopControl):
        self.grace_seconds = grace_seconds
        self.control = control
        self.first_at: float | None = None
        self.count = 0

    def __call__(self, signum, _frame) -> None:
        self.count += 1
        name = signal.Signals(signum).name
        if self.count == 1:
            self.first_at = time.monotonic()
            self.control.request()
            io.emit("stop_requested", signal=name, grace_period_seconds=self.grace_seconds)
        else:
            io.emit("stop_escalated", signal=name, note="second signal: aborting the running batch")

    @property
    def requested(self) -> bool:
        return self.count > 0

    def abort_reason(self) -> str | None:
        if self.count > 1:
            return "second signal"
        if self.first_at is not None and time.monotonic() - self.first_at > self.grace_seconds:
            return f"grace period of {self.grace_seconds}s expired"
        return None


def _abort(query, reason: str) -> int:
    """Stop the query mid-batch, bounded: if Spark does not let go in time, leave anyway (the JVM follows)."""
    io.emit("stop_aborted", reason=reason)
    done = threading.Event()

    def stop():
        try:
            query.stop()
        finally:
            done.set()

    threading.Thread(target=stop, daemon=True).start()
    if not done.wait(_ABORT_WAIT_SECONDS):
        io.emit("stop_abandoned", note=f"the query did not stop within {_ABORT_WAIT_SECONDS}s; exiting")
        sys.stdout.flush()
        os._exit(EXIT_STOP_ABORTED)
    return EXIT_STOP_ABORTED


def run(args: argparse.Namespace) -> int:
    from pyspark.errors import StreamingQueryException

    control = io.StopControl()
    stopper = _Stopper(args.stop_grace_period, control)
    signal.signal(signal.SIGTERM, stopper)
    signal.signal(signal.SIGINT, stopper)
    spark = build_session(args)
    try:
        report_pinned_settings(spark)
        client_props = io.kafka_client_properties(args.bootstrap_servers, args.kafka_auth)
        if args.ensure_topics:
            io.ensure_topics(spark, client_props, args.ensure_topics)
        try:
            io.check_checkpoint_pairing(
                spark, args.checkpoint, {"output": args.output, "dead-letter": args.dead_letter}
            )
        except io.CheckpointMismatchError as e:
            io.emit("refused_to_start", reason=str(e))
            print(f"error: {e}", file=sys.stderr)
            return EXIT_CONFIG_ERROR
        if stopper.requested:
            io.emit("stopped", reason="signal before the query started")
            return 0

        schema = args.record_schema
        source = io.read_kafka(
            spark,
            io.kafka_source_options(
                args.bootstrap_servers, args.topic, args.kafka_auth, args.starting_offsets, args.max_offsets_per_trigger
            ),
        )
        locations = sink_locations(args.output, args.dead_letter, schema)
        writer = io.BatchWriter(
            io.FileSink(spark, args.output, PARTITION_COLUMNS, args.sink_log_retention),
            io.FileSink(spark, args.dead_letter, (), args.sink_log_retention),
            schema,
            stop=control,
            cleaner=lambda: io.remove_stray_files(spark, locations, args.checkpoint, args.sink_log_retention),
        )
        # Observability (issue 14): the JSON progress line, consumer-group offsets and metrics, from one listener
        # (it alone pops the writer's batch counts). See streaming_consumer/metrics.py.
        spark.streams.addListener(metrics.build_listener(spark, args, writer, client_props))
        trigger = {"availableNow": True} if args.available_now else {"processingTime": args.trigger_interval}
        query = io.start_query(source, writer, args.checkpoint, trigger, f"consumer-{args.topic}")
        # Polling, not a blocking awaitTermination: the signal handler runs on this thread between calls.
        while query.isActive:
            if stopper.requested:
                reason = stopper.abort_reason()
                if reason is not None:
                    return _abort(query, reason)
                # Between batches (no trigger active) the query can stop without losing work; a batch that
                # starts meanwhile refuses to run (io.StopBeforeBatch), so no new write begins either way.
                if not query.status["isTriggerActive"]:
                    query.stop()
                    break
            try:
                query.awaitTermination(0.2)
            except StreamingQueryException:
                break  # reported below through query.exception()
        exc = query.exception()
        if stopper.requested and (exc is None or io.StopBeforeBatch.MARKER in str(exc)):
            io.emit("stopped", reason="signal", note="the last batch that started was committed")
            return 0
        if exc is not None:
            io.emit("query_failed", error=str(exc)[:2000])
            return 1
        return 0
    finally:
        spark.stop()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
