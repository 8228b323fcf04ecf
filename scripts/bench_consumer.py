"""Driver of scripts/bench-consumer.sh (issue 15): the consumer against Kafka's and Spark's ceilings.

For the same topics, in the same run, with the same Spark settings and cores, as separate processes:
  (a) Kafka's ConsumerPerformance          (b) Spark: value as Parquet      (c) (b) + from_json into the schema
  (d) (c) + year/month/day/hour partitions (e) the streaming consumer       (f) the previous release of the job
on a clean topic and on a mix with 1% malformed records; records/s and CPU seconds per million records, median
and spread over --repeats; then the latency of the consumer on its default trigger at half its throughput.
See docs/benchmarks.md for the method.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # scripts/, for the `bench` package

from bench import records as R  # noqa: E402
from bench import rows as RW  # noqa: E402
from bench.latency import run_latency  # noqa: E402
from bench.proc import load_average, machine  # noqa: E402
from bench.runs import BenchError, run_consumer_perf, run_timed  # noqa: E402
from bench.sinklog import committed_rows  # noqa: E402
from bench.stats import ROWS, Measurement, summarize, table  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
JOB_DIR = REPO / "jobs" / "streaming-consumer"
PARTITIONS = 4
ROW_TIMEOUT_S = 1800


@dataclass(frozen=True)
class Topic:
    name: str
    mix: bool
    records: int

    @property
    def malformed(self) -> int:
        return R.malformed_count(self.records) if self.mix else 0


@dataclass
class Context:
    args: argparse.Namespace
    bootstrap: str
    kafka_libs: str
    conf: dict[str, str]
    max_offsets: int | None
    previous_job: Path | None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bootstrap", required=True, help="the broker (bench-consumer.sh starts one)")
    p.add_argument("--kafka-libs", required=True)
    p.add_argument("--work", type=Path, required=True)
    p.add_argument("--records", type=int, default=200_000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--variants", default="abcdef", help="rows to run, a subset of abcdef (default all)")
    p.add_argument("--mix", choices=["clean", "malformed", "both"], default="both")
    p.add_argument("--max-offsets-per-trigger", type=int,
                   help="for every Spark row (default: the consumer's own default, passed to it explicitly)")
    p.add_argument("--previous-ref", default="3c4c909", help="git ref of the release row (f) runs")
    p.add_argument("--warm-up-batches", type=int, default=0,
                   help="leave each Spark row's first N batches out of its window (steady state; needs "
                        "--max-offsets-per-trigger small enough for more than N batches)")
    p.add_argument("--latency-seconds", type=int, default=120, help="length of the latency run (0 skips it)")
    p.add_argument("--latency-rate", type=float, help="records/s of the latency run (default: half the median (e))")
    a = p.parse_args(argv)
    bad = set(a.variants) - set(ROWS)
    if bad or not a.variants:
        p.error(f"--variants: {a.variants!r} must be letters from {''.join(ROWS)}")
    if a.records < 1 or a.repeats < 1 or a.latency_seconds < 0 or a.warm_up_batches < 0:
        p.error("--records and --repeats must be positive, --latency-seconds and --warm-up-batches at least 0")
    if a.warm_up_batches and not (a.max_offsets_per_trigger and a.records > a.warm_up_batches * a.max_offsets_per_trigger):
        p.error("--warm-up-batches N needs --max-offsets-per-trigger M with --records above N x M (batches left to time)")
    return a


def jars() -> list[str]:
    d = Path(os.environ["STREAMING_JARS_DIR"])
    found = sorted(str(p) for p in d.glob("*.jar"))
    if not found:
        raise SystemExit(f"no jars in STREAMING_JARS_DIR={d} (scripts/setup-python.sh fetches them)")
    # The job's own JVM functions: without them the consumer rows would fail, not measure.
    if not (d / "streaming-consumer-udfs.jar").is_file():
        raise SystemExit(f"no streaming-consumer-udfs.jar in STREAMING_JARS_DIR={d} (scripts/setup-python.sh builds it)")
    return found


def child_env(pythonpath: Path) -> dict[str, str]:
    """The job folder on PYTHONPATH decides which consumer runs: today's or the previous release's copy."""
    return {**os.environ, "PYTHONPATH": str(pythonpath), "SPARK_LOCAL_IP": "127.0.0.1"}


def order(variants: str, repeat: int) -> list[str]:
    """The rows of one repeat, rotated by the repeat number: load drift and warm caches hit every row alike."""
    rows = [v for v in ROWS if v in variants]
    k = repeat % len(rows)
    return rows[k:] + rows[:k]


def check(cond: bool, message: str) -> None:
    if not cond:
        raise BenchError(message)


def measure(ctx: Context, row: str, topic: Topic, folder: Path) -> Measurement:
    """One run of one row on one topic, in a fresh folder; fails loudly if it did not read every record."""
    n, python = topic.records, sys.executable
    if row == "a":
        perf = run_consumer_perf(ctx.kafka_libs, ctx.bootstrap, topic.name, n, folder / "consumer-perf.log")
        check(perf.records >= n, f"(a) on {topic.name}: ConsumerPerformance read {perf.records} of {n} records")
        return Measurement(row, n, n / perf.fetch_rate, perf.cpu_seconds, ["CPU incl. JVM start"])
    where = RW.Locations.under(folder)
    warm = ctx.args.warm_up_batches
    if row in RW.SPARK_MODES:
        cmd = RW.spark_cmd(python, row, ctx.bootstrap, topic.name, where, ctx.conf, ctx.max_offsets)
        win = run_timed(f"({row}) on {topic.name}", cmd, child_env(JOB_DIR), folder / "run.log", ROW_TIMEOUT_S,
                        warm_up_batches=warm)
        got = committed_rows(where.output)  # outside the timed window
        check(got == n, f"({row}) on {topic.name}: {got} rows in the committed Parquet, expected {n}")
        return Measurement(row, _timed_rows(row, topic, win), win.seconds, win.cpu_seconds, _ended(win.ended_by))
    job = JOB_DIR if row == "e" else ctx.previous_job
    cmd = RW.consumer_cmd(python, ctx.bootstrap, topic.name, where, ctx.conf, ctx.max_offsets)
    win = run_timed(f"({row}) on {topic.name}", cmd, child_env(job), folder / "run.log", ROW_TIMEOUT_S, warm_up_batches=warm)
    c = RW.consumer_counts(win.events)
    check(c["rows"] == n, f"({row}) on {topic.name}: batch_progress lines sum to {c['rows']} rows in, expected {n}")
    notes = _ended(win.ended_by) + [f"{c['batches']} batch(es)"]
    if row == "e":
        want_dead = topic.malformed
        check(c["valid"] == n - want_dead and c["dead"] == want_dead,
              f"(e) on {topic.name}: {c['valid']} valid + {c['dead']} dead letter, expected {n - want_dead} + {want_dead}")
    else:
        notes.append(f"dead-lettered {c['dead']}")  # an older, laxer release: reported, not checked
    return Measurement(row, _timed_rows(row, topic, win), win.seconds, win.cpu_seconds, notes)


def _timed_rows(row: str, topic: Topic, win) -> int:
    """The records the window covers: all of them, less those of the warm-up batches (which must leave some)."""
    rows = topic.records - RW.consumer_counts(win.warm_up)["rows"]
    check(rows > 0, f"({row}) on {topic.name}: the warm-up batches read every record; lower --max-offsets-per-trigger")
    return rows


def _ended(how: str) -> list[str]:
    return [] if how == "query_terminated" else ["no query_terminated line: window closed at the last batch_progress"]


def run_rows(ctx: Context, topics: list[Topic]) -> dict[str, list[Measurement]]:
    results: dict[str, list[Measurement]] = {t.name: [] for t in topics}
    for repeat in range(ctx.args.repeats):
        for topic in topics:
            for row in order(ctx.args.variants, repeat):
                folder = ctx.args.work / "runs" / f"{topic.name}-{row}-{repeat}"
                folder.mkdir(parents=True)
                m = measure(ctx, row, topic, folder)
                results[topic.name].append(m)
                print(f"  repeat {repeat + 1}/{ctx.args.repeats} {topic.name} {ROWS[row]}: {m.rate:,.0f} records/s, "
                      f"{m.cpu_per_million:.2f} CPU s/M records ({m.seconds:.1f}s, {m.cpu_seconds:.1f} CPU s)", flush=True)
                if not os.environ.get("BENCH_KEEP"):
                    shutil.rmtree(folder / "output", ignore_errors=True)  # disk: ~records x 300 B per run
    return results


def produce(ctx: Context, topics: list[Topic], latency_topic: str | None) -> None:
    specs = [f"{t.name}:{t.records}:{'mix' if t.mix else 'clean'}" for t in topics]
    if latency_topic:
        specs.append(f"{latency_topic}:0:clean")  # created empty; the latency run's producer fills it
    cmd = [sys.executable, str(REPO / "scripts" / "bench" / "produce.py"), "--bootstrap", ctx.bootstrap,
           "--partitions", str(PARTITIONS), "--jars", ctx.conf["spark.jars"], *[x for s in specs for x in ("--topic", s)]]
    log = ctx.args.work / "produce.log"
    with open(log, "w") as f:
        rc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env=child_env(JOB_DIR)).returncode
    print("\n".join(l for l in log.read_text().splitlines() if l.startswith("produced")))
    if rc != 0:
        raise BenchError(f"producing the topics failed (exit {rc}); end of {log}:\n{log.read_text()[-4000:]}")


def latency(ctx: Context, results: dict[str, list[Measurement]], topic: str) -> list[str]:
    a = ctx.args
    rate = a.latency_rate
    if rate is None:
        e_rates = [m.rate for name in results for m in results[name] if m.row == "e" and not name.endswith("mix")]
        e_rates = e_rates or [m.rate for ms in results.values() for m in ms if m.row == "e"]
        if not e_rates:
            return ["latency: skipped (no (e) row ran and no --latency-rate given)"]
        rate = summarize(e_rates).median / 2
    where = RW.Locations.under(a.work / "latency")
    where.output.parent.mkdir(parents=True)
    cmd = RW.consumer_cmd(sys.executable, ctx.bootstrap, topic, where, ctx.conf, ctx.max_offsets, available_now=False)
    r = run_latency(cmd, child_env(JOB_DIR), where.output, ctx.kafka_libs, ctx.bootstrap, topic, rate,
                    a.latency_seconds, a.work / "latency")
    return [f"latency, produce -> committed file (default trigger, {r.rate:,.0f} records/s for {a.latency_seconds}s, "
            f"{r.count} records): p50 {r.p50:.1f}s, p99 {r.p99:.1f}s, max {r.max:.1f}s"]


def main(argv: list[str] | None = None) -> None:
    a = parse_args(argv)
    load_start = load_average()
    conf = RW.spark_conf(jars())
    max_offsets = a.max_offsets_per_trigger or RW.consumer_default_max_offsets()
    previous = RW.extract_release(REPO, a.previous_ref, a.work / "previous") if "f" in a.variants else None
    ctx = Context(a, a.bootstrap, a.kafka_libs, conf, max_offsets, previous)
    topics = [Topic(name, mix, a.records) for name, mix in (("bench-clean", False), ("bench-mix", True))
              if a.mix == "both" or (a.mix == "malformed") == mix]
    latency_topic = "bench-latency" if a.latency_seconds else None
    print(f"records: {a.records} x ~{len(R.valid_value(0))} B, {PARTITIONS} partitions; repeats: {a.repeats}; rows: "
          f"{a.variants}; maxOffsetsPerTrigger: {max_offsets or 'unset (the consumer default)'}; "
          f"previous release: {a.previous_ref if previous else '-'}"
          + (f"; windows leave out each Spark row's first {a.warm_up_batches} batch(es) (steady state)" if a.warm_up_batches else ""),
          flush=True)
    produce(ctx, topics, latency_topic)
    results = run_rows(ctx, topics)
    lines = []
    for t in topics:
        title = f"{t.name}: {t.records} records, {t.malformed} malformed; median [min–max] of {a.repeats} run(s)"
        lines += [""] + table(title, results[t.name])
    if latency_topic:
        lines += [""] + latency(ctx, results, latency_topic)
    m = machine()
    lines += ["", f"machine: {m['cores']} cores ({m['cpu']}), {m['memory']}, {m['kernel']}, {m['java']}, {m['python']}",
              f"load average (1/5/15 min): {load_start} at start, {load_average()} at end",
              f"Spark settings of every Spark row: {', '.join(f'{k}={v}' for k, v in conf.items() if k != 'spark.jars')}"]
    print("\n".join(lines))


if __name__ == "__main__":
    try:
        main()
    except BenchError as e:
        sys.exit(f"benchmark failed: {e}")
