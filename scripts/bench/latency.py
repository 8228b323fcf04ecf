"""Latency run: the consumer on its default trigger, fed at a steady rate by Kafka's ProducerPerformance.

ProducerPerformance (Kafka's own tool, already in the broker's libs) throttles to --throughput records/s with
little CPU of its own, so the consumer keeps the cores; each record's Kafka timestamp is its send time.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from . import records as R
from .runs import BenchError, json_event, tail
from .sinklog import latencies
from .stats import percentile

_SENT = re.compile(r"^(\d+) records sent")


@dataclass
class LatencyResult:
    rate: float
    sent: int
    p50: float
    p99: float
    max: float
    count: int


def payload_file(path: Path, n: int = 1000) -> Path:
    """Valid events, one a line, for ProducerPerformance --payload-file (it sends them in random order)."""
    path.write_bytes(b"\n".join(R.valid_value(i) for i in range(n)) + b"\n")
    return path


def parse_sent(stdout: str) -> int:
    """Records ProducerPerformance sent, from its summary line ("N records sent, ... records/sec ...")."""
    counts = [int(m.group(1)) for line in stdout.splitlines() if (m := _SENT.match(line.strip()))]
    if not counts:
        raise ValueError(f"no 'N records sent' summary in ProducerPerformance output:\n{stdout[-2000:]}")
    return counts[-1]


class _Consumer:
    """The consumer as a background process whose stdout events are collected as they come."""

    def __init__(self, cmd: list[str], env: dict[str, str], log: Path):
        self.log = log
        self._out = open(log, "w")
        self._err = open(log.with_suffix(".err.log"), "w")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._err, env=env, text=True,
                                     start_new_session=True)
        self.events: list[dict] = []
        self.started = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self._out.write(line)
            self._out.flush()
            ev = json_event(line)
            if ev is not None:
                self.events.append(ev)
                if ev["event"] == "query_started":
                    self.started.set()

    def rows_in(self) -> int:
        return sum(int(e.get("rows_in") or 0) for e in list(self.events) if e.get("event") == "batch_progress")

    def failure(self, what: str) -> BenchError:
        return BenchError(f"latency run: {what}; end of {self.log}:\n{tail(self.log)}\n--- stderr ---\n"
                          f"{tail(self.log.with_suffix('.err.log'))}")

    def wait_for(self, condition, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self.proc.poll() is not None:
                raise self.failure(f"the consumer exited (code {self.proc.returncode}) while waiting for {what}")
            if time.monotonic() > deadline:
                raise self.failure(f"no {what} within {timeout:.0f}s")
            time.sleep(0.5)

    def stop(self, timeout: float = 180) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # the consumer's graceful stop: the running batch commits
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._reader.join(10)
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # a JVM left behind must not load what follows
        except ProcessLookupError:
            pass
        self._out.close()
        self._err.close()
        return self.proc.returncode


WARM_UP_RECORDS = 1000


def _producer_perf(kafka_libs: str, bootstrap: str, topic: str, records: int, throughput: int, payloads: Path,
                   log: Path, timeout: float) -> int:
    """Run ProducerPerformance (throughput -1: unthrottled); returns the records it sent."""
    proc = subprocess.run(
        ["java", "-Xmx256m", "-cp", f"{kafka_libs}/*", "org.apache.kafka.tools.ProducerPerformance",
         "--topic", topic, "--num-records", str(records), "--throughput", str(throughput),
         "--payload-file", str(payloads), "--producer-props", f"bootstrap.servers={bootstrap}", "linger.ms=5", "acks=all"],
        capture_output=True, text=True, timeout=timeout)
    log.write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise BenchError(f"latency run: ProducerPerformance failed (exit {proc.returncode}); end of {log}:\n{tail(log)}")
    return parse_sent(proc.stdout)


def run_latency(consumer_cmd: list[str], env: dict[str, str], output: Path, kafka_libs: str, bootstrap: str,
                topic: str, rate: float, seconds: int, work: Path) -> LatencyResult:
    """Warm up, then measure: the consumer's first batch carries its one-off costs (planning, code generation,
    cold JIT, the first stray-file check), which is start-up, not the steady state the latency is about. So a
    warm-up set is sent and committed first, and only the records sent after it count."""
    payloads = payload_file(work / "latency-payloads.txt")
    consumer = _Consumer(consumer_cmd, env, work / "latency-consumer.log")
    try:
        consumer.wait_for(consumer.started.is_set, 600, "query_started line")
        warm = _producer_perf(kafka_libs, bootstrap, topic, WARM_UP_RECORDS, -1, payloads,
                              work / "latency-warm-up.log", 300)
        consumer.wait_for(lambda: consumer.rows_in() >= warm, 900, f"the batches of the {warm} warm-up records")
        steady_from = time.time()  # every record sent from here on is measured; the warm-up ones were sent before
        throughput = max(1, round(rate))
        sent = _producer_perf(kafka_libs, bootstrap, topic, throughput * seconds, throughput, payloads,
                              work / "latency-producer.log", seconds * 3 + 300)
        # Two default triggers (30 s) plus a batch: generous on a loaded machine.
        consumer.wait_for(lambda: consumer.rows_in() >= warm + sent, 600, f"batches covering all {sent} records")
    finally:
        rc = consumer.stop()
    if rc not in (0, None):
        raise consumer.failure(f"the consumer's stop ended with exit {rc}")
    values = latencies(output, since=steady_from)
    if len(values) != sent:
        raise BenchError(f"latency run: {sent} records sent at the steady rate but {len(values)} of them in the "
                         f"committed output {output}")
    return LatencyResult(rate=throughput, sent=sent, p50=percentile(values, 50), p99=percentile(values, 99),
                         max=max(values), count=len(values))
