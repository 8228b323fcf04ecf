"""The pure logic of the consumer benchmark (scripts/bench_consumer.py and scripts/bench/): no services, no timing.

The benchmark itself (npm run bench:consumer) needs a broker and minutes of CPU; what it computes from what it
measures is checked here: statistics, parsing, the process-tree CPU sum, the malformed mix, latency from a sink
log, the table, and the previous release's extraction.
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from oracle import expect

REPO = Path(__file__).resolve().parents[3]
SCRIPTS = REPO / "scripts"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# The driver puts scripts/ on sys.path itself, which makes its `bench` package importable here too.
driver = _load("bench_consumer", SCRIPTS / "bench_consumer.py")
from bench import latency as L  # noqa: E402
from bench import proc as P  # noqa: E402
from bench import records as R  # noqa: E402
from bench import rows as RW  # noqa: E402
from bench import runs as RUNS  # noqa: E402
from bench import sinklog as S  # noqa: E402
from bench import stats as ST  # noqa: E402


# --- statistics --------------------------------------------------------------------------------------------

def test_median_and_spread():
    s = ST.summarize([30.0, 10.0, 20.0, 50.0])
    assert (s.median, s.low, s.high, s.n) == (25.0, 10.0, 50.0, 4)
    assert ST.summarize([7.0]).median == 7.0
    with pytest.raises(ValueError):
        ST.summarize([])


def test_percentiles_interpolate_between_ranks():
    values = list(range(1, 101))  # 1..100
    assert ST.percentile(values, 50) == pytest.approx(50.5)
    assert ST.percentile(values, 99) == pytest.approx(99.01)
    assert ST.percentile(values, 0) == 1 and ST.percentile(values, 100) == 100
    assert ST.percentile([3.0], 99) == 3.0
    assert ST.percentile([5.0, 1.0], 50) == 3.0  # sorts first
    with pytest.raises(ValueError):
        ST.percentile([1.0], 101)


def test_table_prints_median_spread_and_the_two_ratios():
    runs = [ST.Measurement("d", 1_000_000, s, c) for s, c in ((10.0, 18.0), (8.0, 16.0), (12.5, 20.0))]
    runs += [ST.Measurement("e", 1_000_000, s, c, ["1 batch(es)"]) for s, c in ((20.0, 30.0), (25.0, 32.0), (16.0, 28.0))]
    runs += [ST.Measurement("f", 1_000_000, 40.0, 60.0)]
    lines = ST.table("clean", runs)
    text = "\n".join(lines)
    d_line = next(l for l in lines if l.lstrip().startswith("(d)"))
    assert "100,000 [80,000–125,000]" in d_line and "18.0 [16.0–20.0]" in d_line
    e_line = next(l for l in lines if l.lstrip().startswith("(e)"))
    assert "50,000 [40,000–62,500]" in e_line and e_line.endswith("1 batch(es)")
    assert "(e)/(d) records/s: 0.500" in text
    assert "(e)/(f) CPU s per M records: 0.500" in text  # 30 / 60
    assert not any(l.lstrip().startswith(("(a)", "(b)", "(c)")) for l in lines)
    assert "(e)/(d) records/s: n/a" in "\n".join(ST.table("t", runs[3:]))


def test_row_order_rotates_between_repeats():
    assert driver.order("abcdef", 0) == list("abcdef")
    assert driver.order("abcdef", 1) == list("bcdefa")
    assert driver.order("fd", 1) == ["f", "d"] and driver.order("fd", 0) == ["d", "f"]


def test_flags():
    a = driver.parse_args(["--bootstrap", "h:1", "--kafka-libs", "x", "--work", "/tmp/w"])
    assert (a.records, a.repeats, a.variants, a.mix, a.latency_seconds, a.previous_ref) == (200_000, 3, "abcdef", "both", 120, "3c4c909")
    with pytest.raises(SystemExit):
        driver.parse_args(["--bootstrap", "h:1", "--kafka-libs", "x", "--work", "/w", "--variants", "abz"])


# --- ConsumerPerformance -------------------------------------------------------------------------------------

PERF_OUTPUT = """\
[2026-12-02 10:00:00,000] WARN something the tool logs (org.apache.kafka.clients.NetworkClient)
start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
2026-12-02 10:00:01:000, 2026-12-02 10:00:03:000, 57.2205, 28.6102, 200000, 100000.0000, 500, 1500, 38.1470, 133333.3333
"""


def test_consumer_performance_output_is_parsed():
    row = RUNS.parse_consumer_perf(PERF_OUTPUT)
    assert row["data.consumed.in.nMsg"] == "200000"
    assert float(row["fetch.nMsg.sec"]) == pytest.approx(133333.3333)
    with pytest.raises(ValueError, match="fetch.nMsg.sec"):
        RUNS.parse_consumer_perf("start.time, end.time\n1, 2\n")


def test_producer_performance_summary_is_parsed():
    out = ("4999 records sent, 999.6 records/sec (0.29 MB/sec), 3.1 ms avg latency, 120.0 ms max latency.\n"
           "5000 records sent, 999.8 records/sec (0.29 MB/sec), 2.4 ms avg latency, 120.0 ms max latency, "
           "2 ms 50th, 5 ms 95th, 9 ms 99th, 120 ms 99.9th.\n")
    assert L.parse_sent(out) == 5000
    with pytest.raises(ValueError):
        L.parse_sent("nothing")


def test_json_event_lines():
    assert RUNS.json_event('{"ts":"x","event":"query_started"}\n') == {"ts": "x", "event": "query_started"}
    assert RUNS.json_event("24/12/02 WARN NativeCodeLoader") is None
    assert RUNS.json_event('{"no_event": 1}') is None and RUNS.json_event("{broken") is None


def test_consumer_counts_sum_the_batches():
    events = [{"event": "query_started"},
              {"event": "batch_progress", "rows_in": 150, "valid_rows": 148, "dead_letter_rows": 2},
              {"event": "batch_progress", "rows_in": 0},
              {"event": "batch_progress", "rows_in": 50, "valid_rows": 50, "dead_letter_rows": 0}]
    assert RW.consumer_counts(events) == {"batches": 2, "rows": 200, "valid": 198, "dead": 2}


# --- CPU of a process tree --------------------------------------------------------------------------------

# The parent starts a child that burns 0.2 s of its own CPU time, says so, then both sleep: the burnt time is
# in the tree's sum (the child is alive) but not in the parent's own.
_TREE = r"""
import subprocess, sys
child = subprocess.Popen([sys.executable, "-c", '''
import sys, time
while time.process_time() < 0.2:
    pass
print("burnt", flush=True)
time.sleep(60)
'''], stdout=subprocess.PIPE, text=True)
print(child.pid, child.stdout.readline().strip(), flush=True)
__import__("time").sleep(60)
"""


def _own_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_cpu_of_a_process_tree_includes_its_descendants():
    parent = subprocess.Popen([sys.executable, "-c", _TREE], stdout=subprocess.PIPE, text=True)
    try:
        child_pid, word = parent.stdout.readline().split()
        assert word == "burnt"
        assert int(child_pid) in P.tree_pids(parent.pid)
        tree = P.cpu_seconds(parent.pid)
        # The child's burnt CPU is in the tree's sum, on top of the parent's own (/proc counts in clock ticks).
        assert tree - _own_cpu(parent.pid) >= 0.2 - 0.02
        assert P.cpu_seconds(parent.pid) >= tree  # never goes down while the tree lives
    finally:
        for pid in P.tree_pids(parent.pid)[::-1]:
            os.kill(pid, 9)
        parent.wait()


def test_cpu_of_a_child_that_exited_and_was_reaped_stays_in_the_tree():
    burn = "import time\nwhile time.process_time() < 0.2: pass"
    parent = subprocess.Popen([sys.executable, "-c", f"import subprocess, sys, time\n"
                               f"subprocess.run([sys.executable, '-c', {burn!r}])\nprint('reaped', flush=True)\ntime.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout.readline().strip() == "reaped"
        assert P.tree_pids(parent.pid) == [parent.pid]
        assert P.cpu_seconds(parent.pid) - _own_cpu(parent.pid) >= 0.2 - 0.02  # through the parent's cutime
    finally:
        parent.kill()
        parent.wait()


# A stand-in for a Spark row: start line, CPU burnt, progress line, and (when told to) the end line.
_ROW = """
import json, sys, time
def say(event, **f): print(json.dumps({"event": event, **f}), flush=True)
print("log noise before the query")
time.sleep(0.2)
say("query_started")
time.sleep(0.5)  # lets the driver take its start sample before the burn
t0 = time.process_time()
while time.process_time() - t0 < 0.2:
    pass
say("batch_progress", rows_in=10)
if "end" in sys.argv: say("query_terminated")
sys.exit(int(sys.argv[1]))
"""


@pytest.mark.parametrize("end", [True, False])
def test_the_timed_window_runs_from_the_start_line_to_the_end_line(tmp_path, end):
    cmd = [sys.executable, "-c", _ROW, "0", *(["end"] if end else [])]
    win = RUNS.run_timed("row", cmd, dict(os.environ), tmp_path / "run.log", timeout=120)
    assert win.ended_by == ("query_terminated" if end else "batch_progress")
    assert win.cpu_seconds >= 0.1  # the burn is inside the window
    assert RW.consumer_counts(win.events)["rows"] == 10
    assert "log noise" in (tmp_path / "run.log").read_text()


# Two batches, each burning CPU, then the end line.
_TWO_BATCHES = """
import json, time
def say(event, **f): print(json.dumps({"event": event, **f}), flush=True)
def burn(s):
    t0 = time.process_time()
    while time.process_time() - t0 < s:
        pass
say("query_started")
burn(0.6)
say("batch_progress", rows_in=10)
time.sleep(0.3)  # lets the driver take its sample at the first batch's line
burn(0.2)
say("batch_progress", rows_in=20)
say("query_terminated")
"""


def test_a_warm_up_batch_is_left_out_of_the_window(tmp_path):
    cmd = [sys.executable, "-c", _TWO_BATCHES]
    whole = RUNS.run_timed("row", cmd, dict(os.environ), tmp_path / "a.log", timeout=120)
    warm = RUNS.run_timed("row", cmd, dict(os.environ), tmp_path / "b.log", timeout=120, warm_up_batches=1)
    assert whole.cpu_seconds >= 0.75 and whole.warm_up == []
    assert 0.15 <= warm.cpu_seconds < 0.6  # only the second batch's burn
    assert RW.consumer_counts(warm.warm_up)["rows"] == 10 and RW.consumer_counts(warm.events)["rows"] == 30
    with pytest.raises(RUNS.BenchError, match="never printed 3 batch_progress"):
        RUNS.run_timed("row", cmd, dict(os.environ), tmp_path / "c.log", timeout=120, warm_up_batches=3)


def test_warm_up_batches_need_batches_left_to_time():
    base = ["--bootstrap", "x", "--kafka-libs", "x", "--work", "/tmp/x", "--records", "300"]
    with pytest.raises(SystemExit):
        driver.parse_args(base + ["--warm-up-batches", "1"])  # one batch in all: nothing left after the warm-up
    with pytest.raises(SystemExit):
        driver.parse_args(base + ["--warm-up-batches", "3", "--max-offsets-per-trigger", "100"])
    assert driver.parse_args(base + ["--warm-up-batches", "2", "--max-offsets-per-trigger", "100"]).warm_up_batches == 2


def test_a_failing_row_fails_loudly_with_its_log(tmp_path):
    with pytest.raises(RUNS.BenchError, match=r"(?s)exit 3.*query_started"):
        RUNS.run_timed("row (x)", [sys.executable, "-c", _ROW, "3"], dict(os.environ), tmp_path / "run.log", timeout=120)
    with pytest.raises(RUNS.BenchError, match="never printed"):
        RUNS.run_timed("row (y)", [sys.executable, "-c", "print('hi')"], dict(os.environ), tmp_path / "r2.log", timeout=120)


def test_cpu_of_a_gone_process_is_zero():
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    assert P.cpu_seconds(p.pid) == 0.0


# --- the malformed mix -------------------------------------------------------------------------------------

def test_the_mix_is_exactly_one_percent_malformed_at_the_planned_positions():
    n = 20_000
    kinds = {i: R.malformed_kind(i) for i in range(n)}
    bad = [i for i, k in kinds.items() if k]
    assert len(bad) == R.malformed_count(n) == n // 100
    assert all(i % 100 == R.MALFORMED_OFFSET for i in bad)
    assert {kinds[i] for i in bad} == set(R.MALFORMED_KINDS)  # every kind is represented
    assert [R.malformed_count(k) for k in (0, 37, 38, 137, 138)] == [0, 0, 1, 1, 2]
    assert all(R.value(i, mix=False) == R.valid_value(i) for i in bad[:50])  # the clean topic has none


@pytest.mark.parametrize("kind", list(R.MALFORMED_KINDS))
def test_each_malformed_kind_is_rejected_by_the_oracle(kind):
    i = next(i for i in range(10_000) if R.malformed_kind(i) == kind)
    raw = R.value(i, mix=True)
    assert raw == R.MALFORMED_KINDS[kind](i)
    assert not expect(raw).valid, f"{kind}: {raw[:120]!r}"


def test_valid_records_are_accepted_and_about_300_bytes():
    for i in (0, 1, 2, 36, 38, 99, 86_399, 86_400, 199_999):
        raw = R.value(i, mix=True)
        assert expect(raw).valid, raw
        assert 280 <= len(raw) <= 320


def test_records_fill_one_contiguous_range_per_partition():
    parts = [R.partition_of(i, 10, 4) for i in range(10)]
    assert parts == sorted(parts) and set(parts) == {0, 1, 2, 3}


# --- latency from a sink log --------------------------------------------------------------------------------

def _write_batch(out: Path, name: str, files: dict[str, list[int]], mtime: float, extra: list[str] = ()) -> list[str]:
    """Parquet files with kafka_timestamp (ms since the epoch) and the sink-log file `name` listing them."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    entries = list(extra)
    for rel, stamps in files.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table({"kafka_timestamp": pa.array([s * 1000 for s in stamps], pa.timestamp("us", tz="UTC"))}), path)
        entries.append(json.dumps({"path": path.as_uri(), "size": 1, "isDir": False, "action": "add"}))
    log = out / "_spark_metadata" / name
    log.parent.mkdir(exist_ok=True)
    log.write_text("v1\n" + "\n".join(entries))
    os.utime(log, (mtime, mtime))
    return entries


def test_latency_is_commit_time_of_the_first_listing_minus_the_kafka_timestamp(tmp_path):
    t0 = 1_700_000_000.0
    first = _write_batch(tmp_path, "0", {"year=2024/hour=00/part-0.parquet": [int(t0 * 1000), int(t0 * 1000) + 500]}, t0 + 10)
    _write_batch(tmp_path, "1", {"year=2024/hour=01/part 1.parquet": [int(t0 * 1000) + 2000]}, t0 + 32)
    # A compaction repeats batch 0's entry later: its commit time stays batch 0's.
    _write_batch(tmp_path, "2.compact", {"year=2024/hour=01/part-2.parquet": [int(t0 * 1000) + 4000]}, t0 + 60, extra=first)
    (tmp_path / "_spark_metadata" / ".2.compact.crc").write_text("x")
    (tmp_path / "year=2024/hour=00/part-stray.parquet").write_bytes(b"not listed: never counted")
    values = sorted(S.latencies(tmp_path))
    assert values == pytest.approx([9.5, 10.0, 30.0, 56.0])
    assert S.committed_rows(tmp_path) == 4
    # The warm-up's records (stamped before the steady run began) are left out.
    assert sorted(S.latencies(tmp_path, since=t0 + 1)) == pytest.approx([30.0, 56.0])
    assert ST.percentile(values, 50) == pytest.approx(20.0)


def test_a_missing_sink_log_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="_spark_metadata"):
        S.committed_files(tmp_path)
    assert S.local_path("file:///tmp/a%20b/x=1/f.parquet") == Path("/tmp/a b/x=1/f.parquet")
    with pytest.raises(ValueError, match="only local"):
        S.local_path("s3a://bucket/x")


# --- the commands and the previous release --------------------------------------------------------------------

def test_every_spark_row_gets_the_same_settings(tmp_path):
    conf = RW.spark_conf(["/j/a.jar", "/j/b.jar"])
    where = RW.Locations.under(tmp_path)
    consumer = RW.consumer_cmd("py", "h:1", "t", where, conf, 5000)
    spark = RW.spark_cmd("py", "d", "h:1", "t", where, conf, 5000)
    flags = RW.conf_flags(conf)
    for cmd in (consumer, spark):
        assert " ".join(flags) in " ".join(cmd) and cmd[-2:] == ["--max-offsets-per-trigger", "5000"]
    assert "spark.master=local[2]" in flags and "spark.jars=/j/a.jar,/j/b.jar" in flags
    assert "--available-now" in consumer
    assert "--available-now" not in RW.consumer_cmd("py", "h:1", "t", where, conf, None, available_now=False)


def test_the_rows_jars_are_the_folders_and_must_include_the_jobs_udf_jar(tmp_path, monkeypatch):
    monkeypatch.setenv("STREAMING_JARS_DIR", str(tmp_path))
    (tmp_path / "kafka-clients-3.4.1.jar").write_bytes(b"")
    with pytest.raises(SystemExit, match="no streaming-consumer-udfs.jar in STREAMING_JARS_DIR=.*setup-python.sh builds it"):
        driver.jars()
    (tmp_path / "streaming-consumer-udfs.jar").write_bytes(b"")
    assert driver.jars() == [str(tmp_path / "kafka-clients-3.4.1.jar"), str(tmp_path / "streaming-consumer-udfs.jar")]


def test_previous_ref_extraction_gives_a_runnable_package(tmp_path):
    job = RW.extract_release(REPO, "HEAD", tmp_path / "previous")
    env = {**os.environ, "PYTHONPATH": str(job)}
    probe = subprocess.run([sys.executable, "-c", "import streaming_consumer.main as m; print(m.__file__)"],
                           capture_output=True, text=True, env=env, cwd=tmp_path)
    assert probe.returncode == 0, probe.stderr
    assert Path(probe.stdout.strip()).is_relative_to(job)
    help_ = subprocess.run([sys.executable, "-m", "streaming_consumer", "--help"], capture_output=True, text=True,
                           env=env, cwd=tmp_path)
    assert help_.returncode == 0 and "--available-now" in help_.stdout
    with pytest.raises(RuntimeError, match="no-such-ref"):
        RW.extract_release(REPO, "no-such-ref", tmp_path / "x")


# --- bench:warm-batches ------------------------------------------------------------------------------------

def test_warm_batches_cuts_the_topic_into_equal_batches_or_refuses():
    warm = _load("warm_batches", SCRIPTS / "bench" / "warm_batches.py")
    base = ["--bootstrap", "127.0.0.1:9092", "--topic", "t", "--records", "500000"]
    a = warm.parse_args(base)
    assert (a.batch, a.rounds, a.partitions) == (100_000, 11, 4)
    for bad in (["--batch", "100001"], ["--batch", "600000"], ["--rounds", "1"]):
        with pytest.raises(SystemExit):
            warm.parse_args(base + bad)
