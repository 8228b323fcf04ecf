"""Medians, spreads, percentiles and the printed table: pure functions, tested in test_bench_consumer.py."""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

ROWS = {
    "a": "(a) Kafka ConsumerPerformance",
    "b": "(b) Spark: value as Parquet",
    "c": "(c) Spark: + from_json",
    "d": "(d) Spark: + hour partitions",
    "e": "(e) streaming consumer",
    "f": "(f) previous release",
}


@dataclass
class Summary:
    median: float
    low: float
    high: float
    n: int


def summarize(values: list[float]) -> Summary:
    if not values:
        raise ValueError("no values to summarize")
    return Summary(statistics.median(values), min(values), max(values), len(values))


def percentile(values: list[float], q: float) -> float:
    """q-th percentile (0-100), linear between the two nearest ranks (numpy's default)."""
    if not values:
        raise ValueError("no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0-100, got {q}")
    s = sorted(values)
    pos = (len(s) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


@dataclass
class Measurement:
    """One run of one row: what the table needs and what the checks saw."""
    row: str
    records: int
    seconds: float
    cpu_seconds: float
    notes: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else math.inf

    @property
    def cpu_per_million(self) -> float:
        return self.cpu_seconds / self.records * 1e6


def _num(x: float) -> str:
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def cell(s: Summary) -> str:
    """`median [min–max]`, or just the value for one run."""
    return _num(s.median) if s.n == 1 else f"{_num(s.median)} [{_num(s.low)}–{_num(s.high)}]"


def ratio(num: Summary | None, den: Summary | None) -> str:
    if num is None or den is None or den.median == 0:
        return "n/a (a row is missing)"
    return f"{num.median / den.median:.3f}"


def table(title: str, runs: list[Measurement]) -> list[str]:
    """The rows in a-f order: records/s and CPU s per million records, median [min–max] over the repeats."""
    by_row: dict[str, list[Measurement]] = {}
    for m in runs:
        by_row.setdefault(m.row, []).append(m)
    width = max(len(v) for v in ROWS.values())
    lines = [title, f"  {'row':<{width}}  {'records/s':>28}  {'CPU s per M records':>26}  notes"]
    rates: dict[str, Summary] = {}
    cpus: dict[str, Summary] = {}
    for key in ROWS:
        ms = by_row.get(key)
        if not ms:
            continue
        rates[key] = summarize([m.rate for m in ms])
        cpus[key] = summarize([m.cpu_per_million for m in ms])
        notes = "; ".join(dict.fromkeys(n for m in ms for n in m.notes))
        lines.append(f"  {ROWS[key]:<{width}}  {cell(rates[key]):>28}  {cell(cpus[key]):>26}  {notes}".rstrip())
    lines.append(f"  (e)/(d) records/s: {ratio(rates.get('e'), rates.get('d'))} (target >= 0.8)")
    lines.append(f"  (e)/(f) CPU s per M records: {ratio(cpus.get('e'), cpus.get('f'))} (target < 1)")
    return lines
