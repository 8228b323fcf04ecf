"""python -m demo_producer --bootstrap-servers H:P[,H:P] --topic T [--events-per-second N] [--malformed-percent P]

Sends events to the topic at a steady rate until SIGTERM (then flushes and exits 0). Waits for the brokers and the
topic (the consumer creates it); exits 1 when Kafka fails a send, so the container's restart policy brings it back. One JSON
line on stdout every --report-seconds with what was sent."""
from __future__ import annotations

import argparse
import json
import random
import signal
import sys
import threading
import time
from datetime import datetime, timezone
from typing import Sequence

from .events import next_value


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {text!r}")
    return value


def _percent(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"must be between 0 and 100, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="demo_producer", description="Demo events (and a share of malformed ones) to a Kafka topic.")
    p.add_argument("--bootstrap-servers", required=True, metavar="H:P[,H:P]")
    p.add_argument("--topic", required=True)
    p.add_argument("--events-per-second", type=_positive, default=5.0)
    p.add_argument("--malformed-percent", type=_percent, default=5.0)
    p.add_argument("--max-events", type=int, default=0, help="stop after this many (0: until stopped)")
    p.add_argument("--report-seconds", type=_positive, default=10.0)
    p.add_argument("--topic-wait-seconds", type=_positive, default=600.0, help="how long to wait for the topic to exist")
    p.add_argument("--seed", type=int, help="random seed (default: from the clock)")
    return p


def emit(event: str, **fields) -> None:
    record = {"ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "event": event, **fields}
    sys.stdout.write(json.dumps(record, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def connect(args: argparse.Namespace, stop: threading.Event):
    """A producer once the brokers answer and the topic exists (the consumer creates it before its query starts);
    None when stopped or when --topic-wait-seconds ran out."""
    from kafka import KafkaProducer
    from kafka.errors import KafkaError

    deadline = time.monotonic() + args.topic_wait_seconds
    producer = None
    while not stop.is_set():
        try:
            if producer is None:
                producer = KafkaProducer(
                    bootstrap_servers=args.bootstrap_servers.split(","),
                    client_id="demo-producer",
                    acks="all",
                    linger_ms=20,
                    max_block_ms=10_000,
                )
            partitions = producer.partitions_for(args.topic)
            if partitions:
                emit("topic_ready", topic=args.topic, partitions=len(partitions))
                return producer
        except KafkaError as e:
            if time.monotonic() > deadline:
                emit("topic_missing", topic=args.topic, error=str(e))
                break
            emit("waiting_for_topic", topic=args.topic, reason=type(e).__name__)
        stop.wait(2)
    if producer is not None:
        producer.close(timeout=5)
    return None


def run(args: argparse.Namespace) -> int:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    rng = random.Random(args.seed)
    producer = connect(args, stop)
    if producer is None:
        return 0 if stop.is_set() else 1
    failures: list[BaseException] = []
    try:
        interval = 1.0 / args.events_per_second
        next_at = time.monotonic()
        report_at = next_at + args.report_seconds
        sent = malformed = 0
        while not stop.is_set() and not failures and (args.max_events == 0 or sent < args.max_events):
            value, bad = next_value(rng, args.malformed_percent, datetime.now(timezone.utc))
            producer.send(args.topic, value=value.encode("utf-8")).add_errback(failures.append)
            sent += 1
            malformed += bad
            next_at += interval
            now = time.monotonic()
            if now >= report_at:
                emit("progress", sent=sent, malformed=malformed)
                report_at = now + args.report_seconds
            stop.wait(max(0.0, next_at - now))
        producer.flush(timeout=30)
        if failures:
            emit("send_failed", error=str(failures[0]))
            return 1
        emit("stopped", sent=sent, malformed=malformed)
        return 0
    finally:
        producer.close(timeout=10)


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser().parse_args(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
