"""Command line: parse flags, build the session, wire source -> transforms -> sinks, run until stopped."""
from __future__ import annotations

import argparse
import re
import signal
import sys
import threading
from typing import Sequence
from urllib.parse import urlparse

from . import io, metrics, transforms
from .schemas import EVENT_SCHEMA, PARTITION_COLUMNS, SchemaError, load_schema

_INTERVAL_RE = re.compile(r"^\s*\d+\s*(milliseconds?|ms|seconds?|s|minutes?|min|hours?|h)\s*$", re.IGNORECASE)

EXIT_CONFIG_ERROR = 3


def _positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
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
    p.add_argument("--max-offsets-per-trigger", type=_positive_int, metavar="N")
    p.add_argument("--starting-offsets", choices=["earliest", "latest"], default="earliest",
                   help="only for a new checkpoint (default: earliest)")
    p.add_argument("--kafka-auth", choices=["none", "iam"], default="none")
    p.add_argument("--schema", metavar="FILE", help="Spark JSON schema replacing the default event schema")
    p.add_argument("--conf", type=_conf, action="append", default=[], metavar="KEY=VALUE", help="Spark setting")
    p.add_argument("--ensure-topics", type=_topics, metavar="JSON",
                   help='create missing topics first: [{"name":..,"partitions":..,"replicationFactor":..,"retentionMs":..}]')
    p.add_argument("--sink-log-retention", metavar="DURATION",
                   help="drop file-sink log entries older than this (e.g. 30d); readers through Spark then no longer see those files")
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
    if args.schema:
        try:
            args.record_schema = load_schema(args.schema)
        except SchemaError as e:
            parser.error(f"argument --schema: {e}")
    else:
        args.record_schema = EVENT_SCHEMA
    return args


def uses_s3a(uri: str, confs: dict) -> bool:
    """True when `uri` is served by S3A: an s3a:// URI, or s3:// mapped to S3A (as the ec2 engine does)."""
    scheme = urlparse(uri).scheme
    return scheme == "s3a" or (scheme == "s3" and confs.get("spark.hadoop.fs.s3.impl") == "org.apache.hadoop.fs.s3a.S3AFileSystem")


def build_session(args: argparse.Namespace):
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(f"streaming-consumer-{args.topic}")
    # Progress bars interleave with the JSON progress lines that operators parse.
    confs = {"spark.ui.showConsoleProgress": "false", **dict(args.conf)}
    # Rename-free checkpoints on S3A: a rename there is copy + delete, and a killed copy leaves junk. Only S3A has
    # the abortable streams that manager needs; EMR's s3:// (EMRFS) keeps Spark's default manager.
    if uses_s3a(args.checkpoint, confs) and "spark.sql.streaming.checkpointFileManagerClass" not in confs:
        confs["spark.sql.streaming.checkpointFileManagerClass"] = io.ABORTABLE_CHECKPOINT_MANAGER
    for k, v in confs.items():
        builder = builder.config(k, v)
    return builder.getOrCreate()


def run(args: argparse.Namespace) -> int:
    from pyspark.errors import StreamingQueryException

    spark = build_session(args)
    stop = threading.Event()

    def on_term(signum, _frame):
        io.emit("stop_requested", signal=signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    try:
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

        schema = args.record_schema
        source = io.read_kafka(
            spark,
            io.kafka_source_options(
                args.bootstrap_servers, args.topic, args.kafka_auth, args.starting_offsets, args.max_offsets_per_trigger
            ),
        )
        classified = transforms.classify(source, schema)

        def split(batch):
            return transforms.valid_rows(batch, schema), transforms.dead_letter_rows(batch)

        writer = io.BatchWriter(
            io.FileSink(spark, args.output, PARTITION_COLUMNS, args.sink_log_retention),
            io.FileSink(spark, args.dead_letter, (), args.sink_log_retention),
            split,
        )
        # Observability (issue 14): the JSON progress line, consumer-group offsets and metrics, from one listener
        # (it alone pops the writer's batch counts). See streaming_consumer/metrics.py.
        spark.streams.addListener(metrics.build_listener(spark, args, writer, client_props))
        trigger = {"availableNow": True} if args.available_now else {"processingTime": args.trigger_interval}
        query = io.start_query(classified, writer, args.checkpoint, trigger, f"consumer-{args.topic}")
        # Polling, not a blocking awaitTermination: the SIGTERM handler runs on this thread between calls.
        while query.isActive and not stop.is_set():
            try:
                query.awaitTermination(1)
            except StreamingQueryException:
                break  # reported below through query.exception()
        if stop.is_set() and query.isActive:
            query.stop()
            io.emit("stopped", reason="signal")
        exc = query.exception()
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
