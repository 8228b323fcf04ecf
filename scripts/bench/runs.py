"""Running the measured child processes: the timed window of a Spark row, and Kafka's ConsumerPerformance."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .proc import cpu_seconds


class BenchError(RuntimeError):
    """A row could not be measured; the message names the row and quotes the end of its log."""


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as e:
        return f"(no log at {path}: {e.strerror})"


def json_event(line: str) -> dict | None:
    """The JSON object of a log line (the consumer's and bench_spark.py's event lines), else None."""
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    return obj if isinstance(obj, dict) and "event" in obj else None


@dataclass
class Window:
    """The timed window of one run: from the query's start line (or the end of its warm-up batches) to its end line
    (or its last batch_progress). `events`: every event line of the run; `warm_up`: the batch_progress lines before
    the window."""
    seconds: float
    cpu_seconds: float
    events: list[dict] = field(default_factory=list)
    ended_by: str = "query_terminated"
    warm_up: list[dict] = field(default_factory=list)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def run_timed(name: str, cmd: list[str], env: dict[str, str], log: Path, timeout: float,
              start_event: str = "query_started", end_event: str = "query_terminated", warm_up_batches: int = 0) -> Window:
    """Run cmd; time and CPU-sample its process tree between its `start_event` and `end_event` stdout lines.

    With `warm_up_batches` N > 0 the window opens at the N-th batch_progress line instead: the query's first
    batches (one-off costs: planning, code generation, a cold JIT) are left out, for a steady-state rate.

    The end line comes from a listener and can lose the race with the session's shutdown; then the window ends
    at the last `batch_progress` line instead (sampled as it came), which is within milliseconds of the query's
    end with availableNow (the last batch's progress is posted just before the query terminates). The process
    exit itself is no end: the session's shutdown, which no other row's window holds, comes before it, and the
    tree is gone by then.
    """
    err_log = log.with_suffix(".err.log")
    with open(log, "w") as out, open(err_log, "w") as err:
        # Own session: a timeout or a failure kills the whole tree (JVM, Python workers), not just the top.
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, env=env, text=True, start_new_session=True)
        timed_out = threading.Event()
        watchdog = threading.Timer(timeout, lambda: (timed_out.set(), _kill_group(proc)))
        watchdog.start()
        start: tuple[float, float] | None = None
        end: tuple[float, float] | None = None
        last_progress: tuple[float, float] | None = None
        events: list[dict] = []
        warm_up: list[dict] = []
        opens_at = "batch_progress" if warm_up_batches else start_event
        try:
            for line in proc.stdout:
                out.write(line)
                ev = json_event(line)
                if ev is None:
                    continue
                events.append(ev)
                if start is None:
                    if ev["event"] == "batch_progress":
                        warm_up.append(ev)
                    if ev["event"] == opens_at and (not warm_up_batches or len(warm_up) == warm_up_batches):
                        start = (time.monotonic(), cpu_seconds(proc.pid))
                elif end is None and ev["event"] == end_event:
                    end = (time.monotonic(), cpu_seconds(proc.pid))
                elif end is None and ev["event"] == "batch_progress":
                    last_progress = (time.monotonic(), cpu_seconds(proc.pid))
            rc = proc.wait()
        finally:
            watchdog.cancel()
            _kill_group(proc)  # leftovers (a JVM outliving its Python parent) must not load the next row
    if timed_out.is_set() and end is None:
        raise BenchError(f"{name}: killed after {timeout:.0f}s without finishing; log {log}:\n{tail(log)}\n{tail(err_log)}")
    if rc != 0:
        raise BenchError(f"{name} failed (exit {rc}); end of {log} and {err_log}:\n{tail(log)}\n--- stderr ---\n{tail(err_log)}")
    if start is None:
        what = f"{warm_up_batches} batch_progress line(s)" if warm_up_batches else f"its {start_event!r} line"
        raise BenchError(f"{name} never printed {what}; end of {log}:\n{tail(log)}\n{tail(err_log)}")
    ended_by = end_event
    if end is None:
        if last_progress is None:
            raise BenchError(f"{name} printed neither {end_event!r} nor a batch_progress line after {opens_at!r}")
        end, ended_by = last_progress, "batch_progress"
    return Window(end[0] - start[0], end[1] - start[1], events, ended_by, warm_up)


# --- Kafka's ConsumerPerformance --------------------------------------------------------------------------

def parse_consumer_perf(stdout: str) -> dict[str, str]:
    """The CSV result of ConsumerPerformance: its header line (with fetch.nMsg.sec) and the line after it."""
    lines = [l.strip() for l in stdout.splitlines() if l.strip()]
    for i, line in enumerate(lines):
        if "fetch.nMsg.sec" in line and i + 1 < len(lines):
            header = [h.strip() for h in line.split(",")]
            values = [v.strip() for v in lines[i + 1].split(",")]
            if len(values) != len(header):
                break
            return dict(zip(header, values))
    raise ValueError(f"no ConsumerPerformance result (a header with fetch.nMsg.sec and a value line) in:\n{stdout[-2000:]}")


@dataclass
class PerfResult:
    records: int
    fetch_rate: float
    cpu_seconds: float
    raw: dict[str, str]


def run_consumer_perf(kafka_libs: str, bootstrap: str, topic: str, records: int, log: Path) -> PerfResult:
    """Run ConsumerPerformance; CPU = the java process's own utime+stime from wait4 (it has no start line, so its
    CPU includes the JVM start; its rate, fetch.nMsg.sec, does not)."""
    cmd = ["java", "-Xmx1g", "-cp", f"{kafka_libs}/*", "org.apache.kafka.tools.ConsumerPerformance",
           "--bootstrap-server", bootstrap, "--topic", topic, "--messages", str(records),
           "--timeout", "60000", "--group", f"bench-{topic}-{time.time_ns()}"]
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=out, text=True)
        stdout = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.write(stdout)
    if proc.returncode != 0:
        raise BenchError(f"ConsumerPerformance on {topic} failed (exit {proc.returncode}); end of {log}:\n{tail(log)}")
    try:
        row = parse_consumer_perf(stdout)
    except ValueError as e:
        raise BenchError(f"ConsumerPerformance on {topic}: {e}") from None
    return PerfResult(int(row["data.consumed.in.nMsg"]), float(row["fetch.nMsg.sec"]),
                      usage.ru_utime + usage.ru_stime, row)
