"""Pure DataFrame -> DataFrame functions. They work on streaming and batch frames alike: no actions.

A record is valid only when its value is exactly one strict JSON (RFC 8259) object that matches the schema.
Spark's own JSON reader is lenient (single quotes, trailing data, a second value, invalid UTF-8, lone
surrogates, repeated keys: it accepts them all), so it cannot decide that alone. Two paths:

- fast path, in the JVM, every record: Spark's typed parse (strict inside the first JSON value), then one pass over
  the bytes (StrictScan, jvm/src) for what that parse does not see: valid UTF-8, exactly one object with only JSON
  whitespace around it, the JSON grammar everywhere, no name twice in any object, no unpaired surrogate escape,
  numbers and nesting within strict_json.py's limits, string and map fields of the right JSON type; then the schema
  rules on the parse. A record that passes all of it is valid, and never leaves the JVM. The scan is linear in the
  value's length and its recursion is bounded by the depth limit (tested on 1 MB values).
- slow path, Python (strict_json.py), only for the records the fast path did not accept (invalid records
  and unusual valid ones): decides exactly, and writes the reasons. Its verdict is final, except that a
  record it accepts must also read cleanly with Spark's typed parse, or it goes to the dead letter too.

Timestamps are parsed in the JVM (IsoMicros, jvm/src) for both paths, zone-independently; strict_json.py only
checks that they are JSON strings, and the SQL parse here (_timestamp_parts, the same rules) says for the dead
letter which rule a text breaks.
"""
from __future__ import annotations

import functools
import json
import re
from typing import Callable, Iterable

from pyspark import StorageLevel, cloudpickle
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    ByteType,
    DataType,
    DateType,
    DecimalType,
    DoubleType,
    FloatType,
    IntegerType,
    LongType,
    MapType,
    ShortType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from . import strict_json
from .schemas import DEAD_LETTER_SCHEMA, KAFKA_COLUMNS, PARTITION_COLUMNS
from .strict_json import Element, FieldSpec

# The slow path's UDF is shipped to executors by value, so executors need no copy of this package
# (standalone workers and YARN containers only have Spark's own Python).
cloudpickle.register_pickle_by_value(strict_json)

CORRUPT = "_corrupt_record"
_TYPED, _TS, _FAST, _PY = "_typed", "_ts", "_fast", "_py"
_PARSE_OPTIONS = {
    "mode": "PERMISSIVE",
    "columnNameOfCorruptRecord": CORRUPT,
    "allowNonNumericNumbers": "false",
    "allowSingleQuotes": "false",
}
_PY_TYPE = StructType([
    StructField("parsed", BooleanType()),
    StructField("lines", ArrayType(StringType())),
    StructField("bad_fields", ArrayType(StringType())),
    StructField("utf8", BooleanType()),
])

# --- the fast path ----------------------------------------------------------------------------------
# Spark's JSON reader (Jackson, with single quotes, comments, leading zeros, NaN and unquoted names or control
# characters all off) is strict *inside* the first JSON value, skipped fields included. What it does not check,
# StrictScan (jvm/src) does in one pass over the bytes: nothing but whitespace after that value, valid UTF-8, no
# unpaired surrogate escapes, no repeated names, the depth and number-length limits of strict_json.py, and which JSON
# type a string or map field had.
_SAFE_FIELD_NAME = re.compile(r"^[A-Za-z0-9_$@. -]+$")

# --- timestamps -----------------------------------------------------------------------------------------
_ISO = (
    r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,9})?)?"
    r"(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)?\z"
)
# What Parquet's timestamp and Spark can hold, and Python's datetime too: 0001-01-01 to 9999-12-31, UTC.
MIN_MICROS = -62_135_596_800_000_000
MAX_MICROS = 253_402_300_799_999_999
_MICROS_PER_DAY = 86_400_000_000
_MICROS_PER_HOUR = 3_600_000_000
TIMESTAMP_EXAMPLE = "2024-05-01T12:00:00Z"


# A DataFrame method and its arguments. The Column expressions of a schema's steps are built once per process and
# reused for every batch (unresolved expressions, bound to each batch's frame when applied): building them costs a
# few hundred calls into the JVM, most of a batch's planning time otherwise.
Step = tuple[str, tuple]


def build(schema: StructType) -> None:
    """Build the schema's steps now (at start-up) rather than in the first batch."""
    _prepare_steps(schema), _watched_fast_steps(), _no_error(), _valid_steps(schema), _finish_steps(schema)


def _run(df: DataFrame, steps: Iterable[Step]) -> DataFrame:
    for method, args in steps:
        df = getattr(df, method)(*args)
    return df


# --- schema -> what the checks need ---------------------------------------------------------------------

def _integer_range(dt: DataType) -> tuple[int, int] | None:
    bits = {ByteType: 8, ShortType: 16, IntegerType: 32, LongType: 64}.get(type(dt))
    return None if bits is None else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)


def _kind(dt: DataType) -> str:
    if isinstance(dt, StringType):
        return strict_json.STRING
    if isinstance(dt, TimestampType):
        return strict_json.TIMESTAMP
    if isinstance(dt, DateType):
        return strict_json.DATE
    if isinstance(dt, DoubleType):
        return strict_json.DOUBLE
    if isinstance(dt, FloatType):
        return strict_json.FLOAT
    if _integer_range(dt) is not None:
        return strict_json.INTEGER
    if isinstance(dt, BooleanType):
        return strict_json.BOOLEAN
    if isinstance(dt, DecimalType):
        return strict_json.DECIMAL
    if isinstance(dt, MapType) and isinstance(dt.keyType, StringType):
        return strict_json.MAP
    if isinstance(dt, ArrayType):
        return strict_json.ARRAY
    return strict_json.OTHER


def field_specs(schema: StructType) -> tuple[FieldSpec, ...]:
    """The schema as strict_json.py sees it."""
    specs = []
    for f in schema.fields:
        kind = _kind(f.dataType)
        element = None
        if kind == strict_json.MAP:
            element = Element(_kind(f.dataType.valueType), f.dataType.valueContainsNull, _integer_range(f.dataType.valueType))
        elif kind == strict_json.ARRAY:
            element = Element(_kind(f.dataType.elementType), f.dataType.containsNull, _integer_range(f.dataType.elementType))
        specs.append(FieldSpec(f.name, kind, not f.nullable, f.dataType.typeName(), _integer_range(f.dataType), element))
    return tuple(specs)


# Kinds whose JSON type Spark's reader enforces exactly as strict_json.py does (byte: Jackson takes 0-255;
# decimal: Spark takes strings; date and other types: Spark's own leniency), so the fast path may trust it.
_FAST_SCALARS = {strict_json.STRING, strict_json.TIMESTAMP, strict_json.DOUBLE, strict_json.FLOAT, strict_json.INTEGER,
                 strict_json.BOOLEAN}


def _fast_eligible(spec: FieldSpec) -> bool:
    if spec.kind == strict_json.INTEGER and spec.type_name == "byte":
        return False
    if spec.kind in (strict_json.MAP, strict_json.ARRAY):
        e = spec.element
        return e.kind in _FAST_SCALARS - {strict_json.TIMESTAMP} and not (e.kind == strict_json.INTEGER and e.int_range[1] == 127)
    return spec.kind in _FAST_SCALARS


def _read_schema(schema: StructType) -> StructType:
    """The schema Spark's JSON reader gets: timestamps as text (parsed here, zone-independently)."""
    fields = [
        StructField(f.name, StringType() if isinstance(f.dataType, TimestampType) else f.dataType, True)
        for f in schema.fields
    ]
    return StructType(fields + [StructField(CORRUPT, StringType(), True)])


# --- timestamps -----------------------------------------------------------------------------------------

def _timestamp_parts(text: Column) -> dict[str, Column]:
    """ISO-8601 text -> {"micros": epoch microseconds (UTC) or null, "format_ok", "real", "offset_ok"}.

    Accepts `YYYY-MM-DD[T ]hh:mm[:ss[.fraction]]` with `Z`, `±hh`, `±hhmm` or `±hh:mm` (hh 00-23, mm 00-59);
    without an offset, UTC. Fractions beyond microseconds are truncated. Impossible dates and times (Feb 30,
    24:00, 23:59:60) are not real.

    One regular expression (a precompiled literal) for the format, then the whole seconds of the local date and time
    through a cast to TIMESTAMP_NTZ read back by unix_timestamp (an NTZ value is its wall clock's microseconds since
    1970-01-01 00:00: no time zone is looked up, and the cast refuses dates and times that do not exist), and the
    fraction and the offset as integers. Neither the session time zone nor Java's ±18:00 offset limit plays a part.

    The job's rows get their timestamps from IsoMicros (jvm/src), which follows the same rules in one pass; this is
    what says, for the dead letter, which rule a text breaks (tests/test_transforms.py checks the two agree).
    """
    format_ok = F.coalesce(text.rlike(_ISO), F.lit(False))
    # After "YYYY-MM-DDThh:mm" only the zone can hold Z, + or -.
    zone_at = F.greatest(F.locate("Z", text, 17), F.locate("+", text, 17), F.locate("-", text, 17))
    zone = F.when(zone_at > 0, text.substr(zone_at, F.lit(6)))
    with_seconds = F.substring(text, 17, 1) == ":"
    whole = F.when(with_seconds, F.substring(text, 1, 19)).otherwise(F.concat(F.substring(text, 1, 16), F.lit(":00")))
    local = F.when(format_ok, whole.cast("timestamp_ntz"))  # null for a date or time that does not exist
    local_seconds = F.unix_timestamp(local)  # exact: whole seconds
    local_end = F.when(zone_at > 0, zone_at).otherwise(F.length(text) + 1)
    # A shorter fraction is padded and a longer one truncated to six digits (microseconds).
    fraction = F.when(with_seconds & (F.substring(text, 20, 1) == "."),
                      F.rpad(text.substr(F.lit(21), local_end - 21), 6, "0").cast("long")).otherwise(F.lit(0))
    zoned = F.coalesce(zone != "Z", F.lit(False))
    zone_len = F.length(zone)
    offset_h = F.when(zoned, zone.substr(2, 2).cast("int")).otherwise(F.lit(0))
    offset_m = F.when(zoned & (zone_len == 5), zone.substr(4, 2)).when(zoned & (zone_len == 6), zone.substr(5, 2)).otherwise("0").cast("int")
    offset_ok = (offset_h <= 23) & (offset_m <= 59)
    sign = F.when(zone.startswith("-"), F.lit(-1)).otherwise(F.lit(1))
    offset_seconds = F.when(zoned, sign * (offset_h * 3600 + offset_m * 60)).otherwise(F.lit(0))
    micros = F.when(offset_ok, (local_seconds - offset_seconds) * F.lit(1_000_000) + fraction)
    return {"micros": micros, "format_ok": format_ok, "real": local.isNotNull(), "offset_ok": offset_ok}


def _in_range(micros: Column) -> Column:
    return micros.between(MIN_MICROS, MAX_MICROS)


def parse_iso_timestamp(text: Column) -> Column:
    """ISO-8601 text -> timestamp, or null when it is not one or is outside the years 0001-9999 (UTC).
    The rules are those of _timestamp_parts."""
    micros = _timestamp_parts(text)["micros"]
    return F.when(_in_range(micros), F.timestamp_micros(micros))


def _show(text: Column) -> Column:
    """A string as a JSON string literal on one line; a long one as its start and its end."""
    shortened = F.when(
        F.length(text) > 120,
        F.concat(F.substring(text, 1, 70), F.lit(" … "), F.substring(text, -40, 40)),
    ).otherwise(text)
    quoted = F.regexp_replace(F.to_json(F.array(shortened)), r"^\[|\]$", "")
    return F.when(F.length(text) > 120, F.concat(quoted, F.lit(" ("), F.length(text), F.lit(" characters)"))).otherwise(quoted)


def _timestamp_line(name: str, text: Column, parts: dict[str, Column]) -> Column:
    shown = _show(text)
    return (
        F.when(~parts["format_ok"], F.concat(F.lit(f"{name}: expected an ISO-8601 timestamp like {TIMESTAMP_EXAMPLE}, got a string "), shown))
        .when(~parts["real"], F.concat(F.lit(f"{name}: "), shown, F.lit(" is not a real date and time")))
        .when(~parts["offset_ok"], F.concat(F.lit(f"{name}: "), shown, F.lit(" has an offset beyond ±23:59")))
        .when(~_in_range(parts["micros"]), F.concat(F.lit(f"{name}: "), shown, F.lit(" is outside the years 0001-9999 (UTC) that Spark and Parquet timestamps hold")))
    )


def add_partition_columns(df: DataFrame, ts_column: str = "event_time") -> DataFrame:
    """year/month/day/hour of `ts_column` in UTC, as zero-padded strings (year=2024/month=05/...).

    Integer arithmetic on epoch microseconds, so the session time zone cannot shift a row into another
    folder, and a re-run batch writes every row to the same partition as the first attempt.
    """
    return df.withColumns(_partition_columns(ts_column))


@functools.lru_cache(maxsize=16)
def _partition_columns(ts_column: str) -> dict[str, Column]:
    micros = F.unix_micros(F.col(ts_column))
    rem = F.pmod(micros, F.lit(_MICROS_PER_DAY))
    day = F.date_from_unix_date(((micros - rem) / F.lit(_MICROS_PER_DAY)).cast("int"))
    hour = (rem / F.lit(_MICROS_PER_HOUR)).cast("int")
    return {
        "year": F.lpad(F.year(day).cast("string"), 4, "0"),
        "month": F.lpad(F.month(day).cast("string"), 2, "0"),
        "day": F.lpad(F.dayofmonth(day).cast("string"), 2, "0"),
        "hour": F.lpad(hour.cast("string"), 2, "0"),
    }


# --- classification -------------------------------------------------------------------------------------

def _finite(c: Column) -> Column:
    # Spark orders NaN above +Infinity, so this is false for NaN and both infinities.
    return F.abs(c) < F.lit(float("inf"))


def _fast_path_steps(specs: tuple[FieldSpec, ...]) -> list[Step]:
    """The steps that add `_fast`: true for values that are certainly one strict JSON object that matches the schema.

    The structure Spark's typed parse does not check (UTF-8, one object and nothing after it, the grammar everywhere,
    repeated names, surrogate escapes, the limits, the JSON type of string and map fields) is one pass over the bytes
    in the JVM (StrictScan, jvm/src); the rest are conditions on Spark's parse.
    """
    if not all(_SAFE_FIELD_NAME.match(s.name) for s in specs):
        # Names that need escaping or could be mistaken for JSON structure: Python decides every record.
        return [("withColumn", (_FAST, F.lit(False)))]
    t, ts = F.col(_TYPED), F.col(_TS)
    conditions = [
        _jvm_function("StrictScan").column(_scan_spec(specs), F.col("value")),
        t[CORRUPT].isNull(),  # strict inside the first value, as Spark's reader reads it
    ]
    for spec in specs:
        present = t[spec.name].isNotNull()
        if spec.required:
            conditions.append(present)
        if not _fast_eligible(spec):
            conditions.append(~present)
        elif spec.kind == strict_json.TIMESTAMP:
            conditions.append(~present | ts[spec.name].isNotNull())
        elif spec.kind in (strict_json.DOUBLE, strict_json.FLOAT):
            conditions.append(~present | _finite(t[spec.name]))
        elif spec.kind in (strict_json.MAP, strict_json.ARRAY) and spec.element.kind in (strict_json.DOUBLE, strict_json.FLOAT):
            values = F.map_values(t[spec.name]) if spec.kind == strict_json.MAP else t[spec.name]
            conditions.append(~present | _all_finite(values))
    fast = F.lit(True)
    for c in conditions:
        fast = fast & F.coalesce(c, F.lit(False))
    return [("withColumn", (_FAST, fast))]  # prepare's last step keeps only what the sinks need


def _scan_spec(specs: tuple[FieldSpec, ...]) -> str:
    """StrictScan's spec: the limits, then which top-level fields must be a JSON string (strings and timestamps: Spark's
    reader turns any JSON value into text for them) or an object (maps), null allowed."""
    # StrictScan counts containers (the record is level 1); strict_json.py counts every node, scalars included.
    lines = [f"{strict_json.MAX_NUMBER_CHARS}\t{strict_json.MAX_DEPTH - 1}"]
    for s in specs:
        if s.kind in (strict_json.STRING, strict_json.TIMESTAMP):
            lines.append(f"s\t{s.name}")
        elif s.kind == strict_json.MAP:
            lines.append(f"m\t{s.name}")
    return "\n".join(lines)


class _JvmFunctions:
    """The job's JVM functions (jvm/src, built into UDF_JAR), as Column factories."""

    def __init__(self, cls):
        self._cls = cls

    def column(self, *args) -> Column:
        return Column(self._cls.column(*[a._jc if isinstance(a, Column) else a for a in args]))


UDF_JAR = "streaming-consumer-udfs.jar"


def _jvm_function(name: str) -> _JvmFunctions:
    """Class `name` of the job's JVM functions; a clear error when their jar is not on Spark's classpath."""
    from py4j.java_gateway import JavaClass
    from pyspark import SparkContext

    sc = SparkContext._active_spark_context
    if sc is None:
        raise RuntimeError("the fast path's JVM functions need an active Spark session")
    cls = getattr(sc._jvm.streamingconsumer, name)
    if not isinstance(cls, JavaClass):
        raise RuntimeError(
            f"streamingconsumer.{name} is not on Spark's classpath: the job needs {UDF_JAR} (built from "
            f"jobs/streaming-consumer/jvm by build-udfs.sh; the image has it in /opt/spark/jars, the tests in .cache/jars)")
    return _JvmFunctions(cls)


def _all_finite(values: Column) -> Column:
    return ~(F.array_contains(values, F.lit(float("inf"))) | F.array_contains(values, F.lit(float("-inf")))
             | F.array_contains(values, F.lit(float("nan"))))


def prepare(df: DataFrame, schema: StructType) -> DataFrame:
    """Kafka source rows -> the four Kafka columns, `_fast` (certainly valid), `record` (the typed fields) and, for
    the rows that are not `_fast`, `value`, `_typed` (Spark's parse) and `_ts` (parsed timestamps)."""
    return _run(df, _prepare_steps(schema))


@functools.lru_cache(maxsize=16)
def _prepare_steps(schema: StructType) -> tuple[Step, ...]:
    specs = field_specs(schema)
    steps: list[Step] = [
        ("withColumn", ("_raw", F.col("value").cast("string"))),
        ("withColumn", (_TYPED, F.from_json(F.col("_raw"), _read_schema(schema), _PARSE_OPTIONS))),
    ]
    t = F.col(_TYPED)
    ts_fields = [f.name for f in schema.fields if isinstance(f.dataType, TimestampType)]
    if ts_fields:
        # One pass per text in the JVM (IsoMicros: the rules of _timestamp_parts, no zone lookup, the range included).
        iso = _jvm_function("IsoMicros")
        steps.append(("withColumn", (_TS, F.struct(*[F.timestamp_micros(iso.column(t[n])).alias(n) for n in ts_fields]))))
    else:
        steps.append(("withColumn", (_TS, F.lit(None))))
    steps += _fast_path_steps(specs)
    # Only what the sinks need, so a cache of this holds little more than the output: for a row the fast path
    # accepted, the typed record and the Kafka columns; the raw value and the parse only for the other rows.
    fast = F.col(_FAST)
    record = F.struct(*[
        (F.col(_TS)[f.name] if isinstance(f.dataType, TimestampType) else t[f.name]).alias(f.name) for f in schema.fields
    ])
    steps.append(("select", (
        "topic", "partition", "offset", "timestamp", _FAST, record.alias("record"),
        F.when(~fast, F.col("value")).alias("value"), F.when(~fast, t).alias(_TYPED), F.when(~fast, F.col(_TS)).alias(_TS),
    )))
    return tuple(steps)


def _slow_check(schema: StructType) -> Callable[[Column], Column]:
    return F.udf(strict_json.Checker(field_specs(schema)), _PY_TYPE)


def finish(fast: DataFrame, slow: DataFrame, schema: StructType) -> DataFrame:
    """Both paths' rows (slow ones with `_py` from strict_json.py) -> `error` (null when valid).

    The error is worked out on the slow path's rows alone, before the union: a fast row's error is a null literal,
    so a filter on `error` drops or keeps the whole fast branch at planning time (the dead letter's write does not
    even read the fast rows) and never evaluates the error expression for them. Steps are columns of their own,
    so that no expression is copied into every place that mentions it.
    """
    return _fast_rows(fast).unionByName(_run(slow, _finish_steps(schema)))


@functools.lru_cache(maxsize=16)
def _finish_steps(schema: StructType) -> tuple[Step, ...]:
    specs = field_specs(schema)
    t, py = F.col(_TYPED), F.col(_PY)
    extra = []
    for spec in specs:
        if spec.kind == strict_json.TIMESTAMP:
            text = t[spec.name]
            # The row's timestamp is IsoMicros's; should the SQL parse find no fault where it found none, the row still
            # cannot pass with a null timestamp (the two are tested to agree; this keeps a disagreement from losing data).
            line = F.coalesce(_timestamp_line(spec.name, text, _timestamp_parts(text)), F.when(
                F.col(_TS)[spec.name].isNull(),
                F.concat(F.lit(f"{spec.name}: "), _show(text), F.lit(" could not be read as a timestamp"))))
            extra.append(F.when(py["parsed"] & text.isNotNull() & ~F.array_contains(py["bad_fields"], spec.name), line))
    readable = t.isNotNull() & t[CORRUPT].isNull()
    for spec in specs:
        if spec.required:
            readable = readable & t[spec.name].isNotNull()
        if spec.kind in (strict_json.DOUBLE, strict_json.FLOAT):
            readable = readable & (t[spec.name].isNull() | _finite(t[spec.name]))
    lines = F.col("_lines")
    unreadable = F.array(F.lit(
        "value: valid JSON, but Spark's JSON reader cannot read it with the schema (e.g. a date, decimal or "
        "nested value it cannot convert)"
    ))
    return (
        ("withColumn", ("_lines", F.concat(py["lines"], F.array_compact(F.array(*extra)) if extra else F.array().cast("array<string>")))),
        ("withColumn", ("_lines", F.when((F.size(lines) == 0) & ~F.coalesce(readable, F.lit(False)), unreadable).otherwise(lines))),
        ("withColumn", ("error", F.when(F.size(lines) > 0, F.array_join(lines, "\n")))),
        ("drop", ("_lines",)),
    )


def classify(
    df: DataFrame, schema: StructType, cache: Callable[[DataFrame], DataFrame] | None = None, count_first: bool = True
) -> DataFrame:
    """Kafka source rows -> the Kafka columns, `record` (the typed fields) and `error` (null when valid).

    `cache` (default: persist in memory and on disk; the caller unpersists) is applied to the prepared rows and
    to the slow path's rows, so that the sinks' several actions on one batch parse each value once and call
    Python once per slow record. It is also what keeps the plan small: without it Spark's optimizer pushes the
    `_fast` filters below the projections that define them, copying the whole check into each filter (tens of
    times over), which costs seconds of planning per batch and evaluates the checks again per row.

    For a batch (not streaming) frame, a first Spark job fills the cache and counts the rows the fast path did not
    accept; when there are none (the usual batch) the plan has no slow branch: no union, and no Python worker starts.
    `count_first=False` skips that job, for rows the caller knows the fast path left out (see `fast_rows`).
    """
    keep = cache or (lambda d: d if d.isStreaming else d.persist(StorageLevel.MEMORY_AND_DISK))
    prepared = keep(prepare(df, schema))
    fast = prepared.where(F.col(_FAST))
    if count_first and not prepared.isStreaming and prepared.agg(F.count(F.when(~F.col(_FAST), F.lit(1)))).first()[0] == 0:
        return _fast_rows(fast)
    slow = keep(prepared.where(~F.col(_FAST)).withColumn(_PY, _slow_check(schema)(F.col("value"))))
    return finish(fast, slow, schema)


def _fast_rows(fast: DataFrame) -> DataFrame:
    return fast.withColumns(_no_error())


@functools.lru_cache(maxsize=1)
def _no_error() -> dict[str, Column]:
    return {_PY: F.lit(None).cast(_PY_TYPE), "error": F.lit(None).cast(StringType())}


SLOW = "slow_rows"
_KEY = ("topic", "partition", "offset")


def fast_rows(df: DataFrame, schema: StructType) -> DataFrame:
    """Kafka source rows -> the rows the fast path accepted, as `classify` gives them, in one pass: no cache, no Python.

    The other rows are not in it. Whatever action reads the result counts both kinds and names the rows left out, as
    a side effect (Dataset.observe, named SLOW: `fast_rows`, `slow_rows`, `slow_keys`, their Kafka keys as a JSON list
    for `rows_at`, and `slow_carried`, the rows themselves for `carried_rows`, up to CARRY_CHARS of text per task), so
    the caller can classify those few with `classify`. The observation sits between the check
    and the filter on it: Spark pushes no filter through an observation, so it sees every row.
    """
    return _fast_rows(_run(prepare(df, schema), _watched_fast_steps()))


@functools.lru_cache(maxsize=1)
def _watched_fast_steps() -> tuple[Step, ...]:
    fast = F.col(_FAST)
    watch = (
        SLOW,
        F.count(F.when(fast, F.lit(1))).alias("fast_rows"),
        F.count(F.when(~fast, F.lit(1))).alias("slow_rows"),
        F.to_json(F.collect_list(F.when(~fast, F.struct(*_KEY)))).alias("slow_keys"),
        F.to_json(F.collect_list(_jvm_function("CarryGate").column(CARRY_CHARS, F.when(~fast, F.to_json(F.struct(
            *_KEY, F.unix_micros("timestamp").alias("timestamp"), F.base64("value").alias("value")))))))
        .alias("slow_carried"),
    )
    return ("observe", watch), ("where", (fast,))


# The most text (characters of JSON, values in base64) one task carries of its left-out rows to the driver: about
# 5,000 malformed records of 300 bytes. Rows beyond it are read again from the source instead (`rows_at`).
CARRY_CHARS = 2 * 1024 * 1024


def carried_rows(spark, carried: str, keys: list[dict]) -> DataFrame | None:
    """The rows `fast_rows` carried (SLOW's `slow_carried`) -> Kafka source rows, for `classify`: the same value, topic,
    partition, offset and timestamp as the source gave (a tombstone's null value stays null). None unless exactly the
    rows at `keys` (SLOW's `slow_keys`) were carried."""
    rows = [json.loads(text) for text in json.loads(carried)]

    def at(r):
        return r["topic"], int(r["partition"]), int(r["offset"])

    if sorted(map(at, rows)) != sorted(map(at, keys)):
        return None
    # Built in the JVM from the text itself, one row holding it, exploded: a frame from Python rows would need Python
    # workers to read them (dearer than the rows' own check), and the text as a literal would be in every plan's
    # description (event logs, the UI).
    jvm = spark._jvm
    held = DataFrame(spark._jsparkSession.createDataset(
        jvm.java.util.Collections.singletonList(carried), jvm.org.apache.spark.sql.Encoders.STRING()).toDF(), spark)
    texts = F.explode(F.from_json(F.col("value"), "array<string>"))
    row = F.from_json(F.col("r"), "topic string, partition int, offset long, timestamp long, value string")
    return held.select(texts.alias("r")).select(row.alias("r")).select(
        F.unbase64("r.value").alias("value"), "r.topic", "r.partition", "r.offset",
        F.timestamp_micros("r.timestamp").alias("timestamp"))


def rows_at(df: DataFrame, keys: list[dict]) -> DataFrame:
    """Kafka source rows -> those at `keys` ({"topic", "partition", "offset"}, as `fast_rows` names them)."""
    offsets: dict[tuple[str, int], list[int]] = {}
    for k in keys:
        offsets.setdefault((k["topic"], int(k["partition"])), []).append(int(k["offset"]))
    chosen = F.lit(False)
    for (topic, partition), at in sorted(offsets.items()):
        # The offsets as SQL text, parsed once: Column.isin would make one call into the JVM per offset.
        listed = F.expr(f"offset IN ({','.join(str(o) for o in sorted(set(at)))})")
        chosen = chosen | ((F.col("topic") == topic) & (F.col("partition") == partition) & listed)
    return df.where(chosen)


COUNTS = "batch_counts"


def with_counts(classified: DataFrame) -> DataFrame:
    """`classified`, counting its valid and invalid rows as a side effect of whatever action reads it
    (Dataset.observe, named COUNTS): the counts cost no Spark job of their own."""
    ok = F.col("error").isNull()
    return classified.observe(
        COUNTS,
        F.count(F.when(ok, F.lit(1))).alias("valid_rows"),
        F.count(F.when(~ok, F.lit(1))).alias("dead_letter_rows"),
    )


def kafka_columns(df: DataFrame) -> list[Column]:
    """The Kafka source's metadata columns, renamed to what the sinks carry."""
    return [
        F.col("topic").alias("kafka_topic"),
        F.col("partition").alias("kafka_partition"),
        F.col("offset").alias("kafka_offset"),
        F.col("timestamp").alias("kafka_timestamp"),
    ]


def valid_rows(classified: DataFrame, schema: StructType) -> DataFrame:
    """Valid records: the schema's fields, the four kafka columns, then year/month/day/hour."""
    return _run(classified, _valid_steps(schema))


@functools.lru_cache(maxsize=16)
def _valid_steps(schema: StructType) -> tuple[Step, ...]:
    ts_field = next((f.name for f in schema.fields if f.name == "event_time"), None)
    if ts_field is None:
        raise ValueError("schema has no 'event_time' field; the output is partitioned by it")
    fields = [F.col("record")[f.name].alias(f.name) for f in schema.fields]
    return (
        ("where", (F.col("error").isNull(),)),
        ("select", (*fields, *kafka_columns(None))),
        ("withColumns", (_partition_columns(ts_field),)),
    )


def dead_letter_rows(classified: DataFrame) -> DataFrame:
    """Invalid records in DEAD_LETTER_SCHEMA order: raw_value (the value as UTF-8 text, invalid bytes shown
    as U+FFFD), error (one line per reason), the four kafka columns, raw_bytes (the exact bytes, only when
    they are not valid UTF-8)."""
    return classified.where(F.col("error").isNotNull()).select(
        F.decode(F.col("value"), "UTF-8").alias("raw_value"),
        "error",
        *kafka_columns(classified),
        F.when(~F.col(_PY)["utf8"], F.col("value")).alias("raw_bytes"),
    )


def output_columns(schema: StructType) -> list[str]:
    return [f.name for f in schema.fields] + [f.name for f in KAFKA_COLUMNS.fields] + list(PARTITION_COLUMNS)


def dead_letter_columns() -> list[str]:
    return [f.name for f in DEAD_LETTER_SCHEMA.fields]
