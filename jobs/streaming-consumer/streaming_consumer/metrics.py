"""The consumer's metrics: one definition, two destinations, fed by one query listener.

After each committed micro-batch Spark posts a `QueryProgressEvent` (MicroBatchExecution writes the commit log
inside the trigger, then reports progress; the listener bus delivers it asynchronously on the driver). From it
`ObservabilityListener`:
  * writes the batch's JSON log line (io.ProgressLogger, unchanged),
  * commits the batch's end offsets to a Kafka consumer group (group_offsets.py; informational only),
  * turns the progress into the samples below and hands them to CloudWatch (PutMetricData with the host's or
    pod's own role, through the AWS SDK on Spark's classpath) and/or a Prometheus endpoint on the driver.

Why PutMetricData and not the embedded metric format: EMF needs the driver's stdout shipped to CloudWatch Logs
by an agent, which no engine runs (EMR step logs go to S3, the ec2 engine logs to journald, EKS pods to the
node), while the consumer role can call PutMetricData on every engine with no new credential. The IAM grant is
limited to this namespace (cloudwatch:namespace condition).

Names are a contract: the dashboards, alarms and the Grafana dashboard reference them, and
tests/test_metrics.py checks every reference against `METRICS`.
"""
from __future__ import annotations

import argparse
import json
import queue
import re
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from pyspark.sql.streaming import StreamingQueryListener

from . import io
from .group_offsets import GroupOffsetCommitter, offsets_from_progress

DEFAULT_NAMESPACE = "SparkStreaming/Consumer"
# ConsumerUp is sent this often while the driver process lives, independent of batches.
ALIVE_INTERVAL_S = 60.0


@dataclass(frozen=True)
class Metric:
    """One signal: its CloudWatch name and unit, its Prometheus name and type."""

    name: str
    unit: str
    prometheus: str
    kind: str  # "gauge" | "counter"
    help: str
    per_topic: bool = False


METRICS: tuple[Metric, ...] = (
    Metric("InputRowsPerSecond", "Count/Second", "streaming_consumer_input_rows_per_second", "gauge",
           "Rows per second arriving from Kafka during the last batch."),
    Metric("ProcessedRowsPerSecond", "Count/Second", "streaming_consumer_processed_rows_per_second", "gauge",
           "Rows per second the last batch processed."),
    Metric("InputRows", "Count", "streaming_consumer_input_rows_total", "counter",
           "Rows read from Kafka."),
    Metric("BatchDurationMs", "Milliseconds", "streaming_consumer_batch_duration_ms", "gauge",
           "Wall time of the last batch (trigger execution)."),
    Metric("TriggerOverrunMs", "Milliseconds", "streaming_consumer_trigger_overrun_ms", "gauge",
           "How far the last batch ran past the trigger interval (0 when it fit)."),
    Metric("RecordsBehindLatest", "Count", "streaming_consumer_records_behind_latest", "gauge",
           "Records in the topic after the last batch's end offsets (sum over partitions).", per_topic=True),
    Metric("ValidRows", "Count", "streaming_consumer_valid_rows_total", "counter",
           "Rows written to the output."),
    Metric("DeadLetterRows", "Count", "streaming_consumer_dead_letter_rows_total", "counter",
           "Rows written to the dead-letter output."),
    Metric("Heartbeat", "Count", "streaming_consumer_last_progress_timestamp_seconds", "gauge",
           "A trigger completed (a batch or an idle trigger); in Prometheus the time of the last one."),
    Metric("ConsumerUp", "Count", "streaming_consumer_up", "gauge",
           "The driver process is alive (sent every minute, batches or not)."),
)
BY_NAME = {m.name: m for m in METRICS}
# The dimensions the platform sets on every metric (--metrics-dimension; components/observability reads them).
BASE_DIMENSIONS = ("Stack", "Consumer")


def catalog() -> dict:
    """metrics-catalog.json: what the dashboards, alarms and Grafana may reference (tests keep the two equal)."""
    return {
        "comment": "Generated from streaming_consumer/metrics.py (python -m streaming_consumer.metrics); do not edit.",
        "cloudwatch": {
            "namespace": DEFAULT_NAMESPACE,
            "metrics": [
                {"name": m.name, "unit": m.unit, "dimensions": [*BASE_DIMENSIONS, *(["Topic"] if m.per_topic else [])]}
                for m in METRICS
            ],
        },
        "prometheus": {
            "labels": [d.lower() for d in BASE_DIMENSIONS],
            "metrics": [m.prometheus for m in METRICS],
        },
    }


@dataclass(frozen=True)
class Sample:
    name: str
    value: float
    topic: str | None = None


_INTERVAL = re.compile(r"^\s*(\d+)\s*(milliseconds?|ms|seconds?|s|minutes?|min|hours?|h)\s*$", re.IGNORECASE)
_UNIT_MS = {"m": 1, "s": 1000, "mi": 60_000, "h": 3_600_000}


def interval_ms(text: str | None) -> int | None:
    """'30 seconds' -> 30000 (the CLI's trigger syntax); None for no interval (available-now)."""
    if not text:
        return None
    m = _INTERVAL.match(text)
    if not m:
        raise ValueError(f"not a trigger interval: {text!r}")
    unit = m.group(2).lower()
    key = "m" if unit.startswith("ms") or unit.startswith("milli") else "mi" if unit.startswith("min") else unit[0]
    return int(m.group(1)) * _UNIT_MS[key]


def _offsets(value: Any) -> dict:
    if isinstance(value, str):
        value = json.loads(value) if value.strip() else {}
    return value or {}


def records_behind(progress: dict) -> dict[str, int]:
    """Per topic: sum over partitions of (latest offset - the batch's end offset), from each Kafka source."""
    behind: dict[str, int] = {}
    for source in progress.get("sources", []):
        end, latest = _offsets(source.get("endOffset")), _offsets(source.get("latestOffset"))
        for topic, parts in latest.items():
            done = end.get(topic, {})
            total = sum(max(0, int(off) - int(done.get(p, off))) for p, off in parts.items())
            behind[topic] = behind.get(topic, 0) + total
    return behind


def batch_samples(progress: dict, counts: dict[str, int], trigger_ms: int | None) -> list[Sample]:
    """The samples of one completed batch. `progress` is StreamingQueryProgress.json parsed; `counts` is
    BatchWriter.pop_counts(batch_id) ({} when the batch wrote nothing)."""
    duration = int((progress.get("durationMs") or {}).get("triggerExecution") or 0)
    rows, scale = io.input_rows(int(progress.get("numInputRows") or 0), counts)
    samples = [
        Sample("InputRowsPerSecond", float(progress.get("inputRowsPerSecond") or 0.0) * scale),
        Sample("ProcessedRowsPerSecond", float(progress.get("processedRowsPerSecond") or 0.0) * scale),
        Sample("InputRows", float(rows)),
        Sample("BatchDurationMs", float(duration)),
        Sample("TriggerOverrunMs", float(max(0, duration - trigger_ms)) if trigger_ms else 0.0),
        Sample("ValidRows", float(counts.get("valid_rows", 0))),
        Sample("DeadLetterRows", float(counts.get("dead_letter_rows", 0))),
        Sample("Heartbeat", 1.0),
    ]
    samples += [Sample("RecordsBehindLatest", float(n), topic) for topic, n in sorted(records_behind(progress).items())]
    return samples


# --- destinations ------------------------------------------------------------------------------------

class CloudWatchPublisher:
    """PutMetricData through the AWS SDK v2 CloudWatch client on Spark's classpath (jvm-dependencies.txt).

    Credentials come from the SDK's default chain: the instance profile on EC2 and EMR, IRSA's web identity on
    EKS. Calls run on a worker thread so a slow API never holds up the listener bus; a full queue drops samples
    (metrics are best effort, the data path never waits for them).
    """

    def __init__(self, spark, namespace: str, dimensions: dict[str, str], region: str | None = None, endpoint: str | None = None):
        self._jvm = spark._jvm
        cw = self._jvm.software.amazon.awssdk.services.cloudwatch
        builder = cw.CloudWatchClient.builder()
        if region:
            builder = builder.region(self._jvm.software.amazon.awssdk.regions.Region.of(region))
        if endpoint:
            builder = builder.endpointOverride(self._jvm.java.net.URI.create(endpoint))
        self._client = builder.build()
        self._cw = cw.model
        self.namespace = namespace
        self.dimensions = dict(sorted(dimensions.items()))
        self._queue: queue.Queue = queue.Queue(maxsize=100)
        self._failures = 0
        threading.Thread(target=self._run, name="cloudwatch-metrics", daemon=True).start()

    def publish(self, samples: Iterable[Sample], timestamp_ms: int | None = None) -> None:
        try:
            self._queue.put_nowait((list(samples), timestamp_ms or int(time.time() * 1000)))
        except queue.Full:
            io.emit("metrics_dropped", destination="cloudwatch")

    def flush(self, timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.05)

    def _run(self) -> None:
        while True:
            samples, ts = self._queue.get()
            try:
                self._put(samples, ts)
                self._failures = 0
            except Exception as e:  # noqa: BLE001 - reported, never raised into the query
                self._failures += 1
                if self._failures in (1, 10) or self._failures % 100 == 0:
                    io.emit("metrics_publish_failed", destination="cloudwatch", failures=self._failures, error=str(e)[:500])
            finally:
                self._queue.task_done()

    def _put(self, samples: list[Sample], ts: int) -> None:
        jvm, m = self._jvm, self._cw
        datums = jvm.java.util.ArrayList()
        when = jvm.java.time.Instant.ofEpochMilli(ts)
        for s in samples:
            dims = jvm.java.util.ArrayList()
            for k, v in {**self.dimensions, **({"Topic": s.topic} if s.topic else {})}.items():
                dims.add(m.Dimension.builder().name(k).value(v).build())
            datum = (
                m.MetricDatum.builder().metricName(s.name).value(float(s.value))
                .unit(m.StandardUnit.fromValue(BY_NAME[s.name].unit)).timestamp(when).dimensions(dims).build()
            )
            datums.add(datum)
        # 1000 datums per call is CloudWatch's limit; a batch has about ten.
        self._client.putMetricData(m.PutMetricDataRequest.builder().namespace(self.namespace).metricData(datums).build())


class PrometheusExporter:
    """The same samples as Prometheus metrics on the driver (`/metrics`), beside Spark's own PrometheusServlet."""

    def __init__(self, port: int, labels: dict[str, str], address: str = "0.0.0.0"):
        from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

        self.registry = CollectorRegistry()
        self.labels = dict(sorted(labels.items()))
        names = list(self.labels)
        self._metrics: dict[str, Any] = {}
        for m in METRICS:
            label_names = names + (["topic"] if m.per_topic else [])
            if m.kind == "counter":
                # prometheus_client adds the _total suffix itself.
                self._metrics[m.name] = Counter(m.prometheus.removesuffix("_total"), m.help, label_names, registry=self.registry)
            else:
                self._metrics[m.name] = Gauge(m.prometheus, m.help, label_names, registry=self.registry)
        self.server, self.thread = start_http_server(port, addr=address, registry=self.registry)

    def publish(self, samples: Iterable[Sample], timestamp_ms: int | None = None) -> None:
        for s in samples:
            metric = BY_NAME[s.name]
            labelled = self._metrics[s.name].labels(**self.labels, **({"topic": s.topic} if metric.per_topic else {}))
            if metric.kind == "counter":
                labelled.inc(s.value)
            elif s.name == "Heartbeat":
                labelled.set((timestamp_ms or time.time() * 1000) / 1000.0)
            else:
                labelled.set(s.value)

    def flush(self, timeout_s: float = 0) -> None:
        pass


# --- the listener -------------------------------------------------------------------------------------

class _Counts:
    """Hands io.ProgressLogger the counts this listener already popped (pop_counts is destructive)."""

    def __init__(self) -> None:
        self._counts: dict[int, dict[str, int]] = {}

    def put(self, batch_id: int, counts: dict[str, int]) -> None:
        self._counts[batch_id] = counts

    def pop_counts(self, batch_id: int) -> dict[str, int]:
        return self._counts.pop(batch_id, {})


class ObservabilityListener(StreamingQueryListener):
    """The one listener that reads the batch counts: JSON log line, group offsets, metrics."""

    def __init__(self, writer, destinations: list, committer: GroupOffsetCommitter | None, trigger_ms: int | None,
                 alive_interval_s: float = ALIVE_INTERVAL_S):
        self.writer = writer
        self.destinations = destinations
        self.committer = committer
        self.trigger_ms = trigger_ms
        self._counts = _Counts()
        self._logger = io.ProgressLogger(self._counts)
        self._stop = threading.Event()
        if destinations:
            threading.Thread(target=self._alive, args=(alive_interval_s,), name="consumer-up", daemon=True).start()

    def _publish(self, samples: list[Sample]) -> None:
        for d in self.destinations:
            try:
                d.publish(samples)
            except Exception as e:  # noqa: BLE001 - metrics never stop the query
                io.emit("metrics_publish_failed", destination=type(d).__name__, error=str(e)[:500])

    def _alive(self, interval_s: float) -> None:
        while not self._stop.is_set():
            self._publish([Sample("ConsumerUp", 1.0)])
            self._stop.wait(interval_s)

    def onQueryStarted(self, event) -> None:
        self._logger.onQueryStarted(event)

    def onQueryProgress(self, event) -> None:
        progress = json.loads(event.progress.json)
        batch_id = progress["batchId"]
        counts = self.writer.pop_counts(batch_id)
        self._counts.put(batch_id, counts)
        self._logger.onQueryProgress(event)
        if self.committer is not None:
            self.committer.commit(batch_id, offsets_from_progress(progress))
        self._publish(batch_samples(progress, counts, self.trigger_ms))

    def onQueryIdle(self, event) -> None:
        # An idle trigger (no new data) is still proof the query is alive and triggering.
        self._publish([Sample("Heartbeat", 1.0)])

    def onQueryTerminated(self, event) -> None:
        self._logger.onQueryTerminated(event)
        self.close()

    def close(self) -> None:
        self._stop.set()
        for d in self.destinations:
            d.flush()
        if self.committer is not None:
            self.committer.close()


# --- command line ---------------------------------------------------------------------------------------

def _dimension(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip() or not value.strip():
        raise argparse.ArgumentTypeError(f"must be Name=Value, got {text!r}")
    return key.strip(), value.strip()


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number 1-65535, got {text!r}")
    return int(text)


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("observability")
    g.add_argument("--consumer-group", metavar="GROUP",
                   help="commit each batch's end offsets to this Kafka consumer group (monitoring only; the checkpoint stays the truth)")
    g.add_argument("--cloudwatch-namespace", metavar="NS", help="publish metrics to CloudWatch under this namespace")
    g.add_argument("--cloudwatch-region", metavar="REGION")
    g.add_argument("--cloudwatch-endpoint", metavar="URL", help="another CloudWatch endpoint (tests)")
    g.add_argument("--metrics-dimension", type=_dimension, action="append", default=[], metavar="NAME=VALUE",
                   help="a dimension (CloudWatch) / label (Prometheus) on every metric, e.g. Consumer=events-consumer")
    g.add_argument("--prometheus-port", type=_port, metavar="PORT", help="serve the metrics for Prometheus on this port")


def build_listener(spark, args: argparse.Namespace, writer, client_props: dict[str, str],
                   committer_factory: Callable[..., GroupOffsetCommitter] = GroupOffsetCommitter) -> ObservabilityListener:
    dims = dict(args.metrics_dimension)

    def attempt(what: str, make: Callable[[], Any]) -> Any:
        # Observability never keeps the consumer from running: a destination that cannot start is reported (and its
        # silence trips the consumer-down and no-progress alarms), the data path goes on.
        try:
            return make()
        except Exception as e:  # noqa: BLE001
            io.emit("observability_unavailable", part=what, error=str(e)[:1000])
            return None

    destinations: list = []
    if args.cloudwatch_namespace:
        destinations.append(attempt("cloudwatch", lambda: CloudWatchPublisher(spark, args.cloudwatch_namespace, dims, args.cloudwatch_region, args.cloudwatch_endpoint)))
    if args.prometheus_port:
        destinations.append(attempt("prometheus", lambda: PrometheusExporter(args.prometheus_port, {k.lower(): v for k, v in dims.items()})))
    destinations = [d for d in destinations if d is not None]
    committer = attempt("consumer-group", lambda: committer_factory(spark, client_props, args.consumer_group)) if args.consumer_group else None
    trigger = None if args.available_now else interval_ms(args.trigger_interval)
    return ObservabilityListener(writer, destinations, committer, trigger)


if __name__ == "__main__":
    print(json.dumps(catalog(), indent=2))
