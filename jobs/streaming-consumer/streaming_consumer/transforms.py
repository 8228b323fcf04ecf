"""Pure DataFrame -> DataFrame functions. They work on streaming and batch frames alike: no actions.

A record is valid only when its value is exactly one strict JSON (RFC 8259) object that matches the schema.
Spark's own JSON reader is lenient (single quotes, trailing data, a second value, invalid UTF-8, lone
surrogates, repeated keys: it accepts them all), so it cannot decide that alone. Two paths:

- fast path, Spark SQL, every record: a regular expression that only matches strict JSON objects of a common
  shape (valid UTF-8, nesting up to 3 levels, no escapes in names, numbers of up to ~100 digits), a check
  that no name occurs twice anywhere in the value, Spark's typed parse, and the schema rules. A record that
  passes all of it is valid, and never leaves the JVM. The expressions use possessive quantifiers only, so
  Java's regex engine neither backtracks nor recurses: linear time, no stack overflow (tested on 1 MB values).
- slow path, Python (strict_json.py), only for the records the fast path did not accept (invalid records
  and unusual valid ones): decides exactly, and writes the reasons. Its verdict is final, except that a
  record it accepts must also read cleanly with Spark's typed parse, or it goes to the dead letter too.

Timestamps are parsed here in SQL, for both paths, zone-independently; strict_json.py only checks that
they are JSON strings.
"""
from __future__ import annotations

import re
from typing import Callable

from pyspark import cloudpickle
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
# the expressions below do: nothing but whitespace after that value, valid UTF-8, no lone surrogate escapes,
# no repeated names, the depth and number-length limits of strict_json.py, and which JSON type a field had.
_JSON_WS = " \t\n\r"
_WS = r"[ \t\n\r]*+"
# Every valid escape (a surrogate *pair* as one) becomes U+E000; what is left of a backslash is a lone
# surrogate (or an invalid escape, which Jackson refuses anyway).
_ESCAPE = (
    r'\\(?:u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|u(?![dD][89a-fA-F])[0-9a-fA-F]{4}|["\\/bfnrt])'
)
_PLACEHOLDER = "\ue000"
# The value's skeleton: everything but brackets, quotes and U+FFFD dropped in one pass, e.g.
# `{""""{""""}}` for an object that holds two string members and a map of one. Escapes are gone, so a
# string is a quote pair (with whatever brackets it held in between). U+FFFD is kept, so the check below
# also fails for invalid UTF-8: Java decodes invalid bytes to U+FFFD before a regex sees them (a real
# U+FFFD goes to Python too, which tells the two apart).
_SKELETON_DROP = r'[^{}\[\]"\uFFFD]++'
_QUOTED = r'"[^"\uFFFD]*+"'
# One object, nesting at most FAST_DEPTH levels. A second value or data after the first would add a group.
FAST_DEPTH = 6


def _group(depth: int) -> str:
    inner = _QUOTED if depth == 1 else f"{_QUOTED}|{_group(depth - 1)}"
    return rf"(?:\{{(?:{inner})*+\}}|\[(?:{inner})*+\])"


_ONE_OBJECT = rf"\A\{{(?:{_QUOTED}|{_group(FAST_DEPTH - 1)})*+\}}\z"
_LONG_NUMBER = "[-+.0-9eE]{%d}" % (strict_json.MAX_NUMBER_CHARS + 1)
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
    """ISO-8601 text -> {"ts": the instant or null, "format_ok", "real", "offset_ok", "in_range"}.

    Accepts `YYYY-MM-DD[T ]hh:mm[:ss[.fraction]]` with `Z`, `±hh`, `±hhmm` or `±hh:mm` (hh 00-23, mm 00-59);
    without an offset, UTC. The local part is read as UTC and the offset applied in integer microseconds, so
    neither the session time zone nor Java's ±18:00 offset limit plays a part. Fractions beyond microseconds
    are truncated. Impossible dates and times (Feb 30, 24:00, 23:59:60) are not real. One regular expression;
    the rest is fixed-position string work, because this runs for every record.
    """
    format_ok = F.coalesce(text.rlike(_ISO), F.lit(False))
    # After "YYYY-MM-DDThh:mm" only the zone can hold Z, + or -.
    zone_at = F.greatest(F.locate("Z", text, 17), F.locate("+", text, 17), F.locate("-", text, 17))
    zone = F.when(zone_at > 0, text.substr(zone_at, F.lit(6))).otherwise(F.lit(""))
    local = F.when(zone_at > 0, text.substr(F.lit(1), zone_at - 1)).otherwise(text)
    local = F.when(F.length(local) == 16, F.concat(local, F.lit(":00"))).otherwise(local)
    local_ts = F.when(format_ok, F.concat(local, F.lit("Z")).cast(TimestampType()))
    zone_len = F.length(zone)
    offset_h = F.when(zone_len >= 3, zone.substr(2, 2).cast("int")).otherwise(F.lit(0))
    offset_m = F.when(zone_len == 5, zone.substr(4, 2)).when(zone_len == 6, zone.substr(5, 2)).otherwise("0").cast("int")
    offset_ok = (offset_h <= 23) & (offset_m <= 59)
    sign = F.when(zone.startswith("-"), F.lit(-1)).otherwise(F.lit(1))
    offset_micros = (sign * (offset_h * 3600 + offset_m * 60)).cast("long") * F.lit(1_000_000)
    micros = F.unix_micros(local_ts) - offset_micros
    in_range = micros.between(MIN_MICROS, MAX_MICROS)
    ts = F.when(format_ok & local_ts.isNotNull() & offset_ok & in_range, F.timestamp_micros(micros))
    return {"ts": ts, "format_ok": format_ok, "real": local_ts.isNotNull(), "offset_ok": offset_ok, "in_range": in_range}


def parse_iso_timestamp(text: Column) -> Column:
    """ISO-8601 text -> timestamp, or null when it is not one or is outside the years 0001-9999 (UTC).

    The rules are those of _timestamp_parts; this is the same result, cheaper for the common form (seconds and
    an offset), which Spark's own cast reads. prepare() uses the two halves below so each runs once a record.
    """
    return _timestamp_in_range(_timestamp_candidate(text))


def _timestamp_candidate(text: Column) -> Column:
    format_ok = F.coalesce(text.rlike(_ISO), F.lit(False))
    zoned = (F.locate("Z", text, 17) > 0) | (F.locate("+", text, 17) > 0) | (F.locate("-", text, 17) > 0)
    with_seconds = F.substring(text, 17, 1) == ":"
    # Spark's cast reads the common form exactly (its own offset limit is ±18:00, which the fallback covers);
    # without an offset it would use the session time zone, so those take the fallback too.
    direct = F.when(format_ok & zoned & with_seconds, text.cast(TimestampType()))
    return F.coalesce(direct, F.when(format_ok, _timestamp_parts(text)["ts"]))


def _timestamp_in_range(candidate: Column) -> Column:
    return F.when(F.unix_micros(candidate).between(MIN_MICROS, MAX_MICROS), candidate)


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
        .when(~parts["in_range"], F.concat(F.lit(f"{name}: "), shown, F.lit(" is outside the years 0001-9999 (UTC) that Spark and Parquet timestamps hold")))
    )


def add_partition_columns(df: DataFrame, ts_column: str = "event_time") -> DataFrame:
    """year/month/day/hour of `ts_column` in UTC, as zero-padded strings (year=2024/month=05/...).

    Integer arithmetic on epoch microseconds, so the session time zone cannot shift a row into another
    folder, and a re-run batch writes every row to the same partition as the first attempt.
    """
    micros = F.unix_micros(F.col(ts_column))
    rem = F.pmod(micros, F.lit(_MICROS_PER_DAY))
    day = F.date_from_unix_date(((micros - rem) / F.lit(_MICROS_PER_DAY)).cast("int"))
    hour = (rem / F.lit(_MICROS_PER_HOUR)).cast("int")
    return (
        df.withColumn("year", F.lpad(F.year(day).cast("string"), 4, "0"))
        .withColumn("month", F.lpad(F.month(day).cast("string"), 2, "0"))
        .withColumn("day", F.lpad(F.dayofmonth(day).cast("string"), 2, "0"))
        .withColumn("hour", F.lpad(hour.cast("string"), 2, "0"))
    )


# --- classification -------------------------------------------------------------------------------------

def _finite(c: Column) -> Column:
    # Spark orders NaN above +Infinity, so this is false for NaN and both infinities.
    return F.abs(c) < F.lit(float("inf"))


def _with_fast_path(df: DataFrame, specs: tuple[FieldSpec, ...]) -> DataFrame:
    """Adds `_fast`: true for values that are certainly one strict JSON object that matches the schema.

    Intermediate values are columns of their own: inside the conditions below Spark would otherwise evaluate
    an expression once per mention (common subexpressions in conditional branches are not shared). Every
    check is cheap for a plain record; the dearer ones only run when a cheap one cannot decide.
    """
    if not all(_SAFE_FIELD_NAME.match(s.name) for s in specs):
        # Names that need escaping or could be mistaken for JSON structure: Python decides every record.
        return df.withColumn(_FAST, F.lit(False))
    raw, value = F.col("_raw"), F.col("value")
    t, ts = F.col(_TYPED), F.col(_TS)
    maps = [s for s in specs if s.kind == strict_json.MAP and _fast_eligible(s)]
    df = df.withColumn("_bs", F.instr(raw, "\\") > 0)
    df = df.withColumn("_esc", F.when(F.col("_bs"), F.regexp_replace(raw, _ESCAPE, _PLACEHOLDER)).otherwise(raw))
    escaped = F.col("_esc")
    plain_ends = raw.startswith("{") & raw.endswith("}")
    scratch = {
        "_trim": F.when(~plain_ends, F.btrim(escaped, F.lit(_JSON_WS))),
        "_skel": F.regexp_replace(escaped, _SKELETON_DROP, ""),
        "_names": F.json_object_keys(raw),
    }
    string_fields = [s for s in specs if s.kind == strict_json.STRING and _fast_eligible(s)]
    for i, spec in enumerate(string_fields):
        # Spark's reader turns any JSON value into text for a string field. Text that cannot be how Spark
        # renders a number, true, false, an object or an array came from a JSON string; otherwise the name
        # must occur once in the value (so it is the top-level one) and be followed by a quote.
        text = t[spec.name]
        ambiguous = F.substring(text, 1, 1).isin("-", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "t", "f", "{", "[")
        scratch[f"_first{i}"] = F.when(ambiguous, F.regexp_extract_all(raw, F.lit(f'"{spec.name}"{_WS}:{_WS}(.)'), 1))
    df = df.select("*", *[c.alias(n) for n, c in scratch.items()])
    skeleton, names = F.col("_skel"), F.col("_names")
    maps_present = sum((t[m.name].isNotNull().cast("int") for m in maps), F.lit(0))
    conditions = [
        t[CORRUPT].isNull(),  # strict inside the first value
        # that value is all there is (nothing but JSON whitespace around it), and it is valid UTF-8
        plain_ends | (F.col("_trim").startswith("{") & F.col("_trim").endswith("}")),
        skeleton.rlike(_ONE_OBJECT),
        ~F.col("_bs") | (F.instr(escaped, "\\") == 0),  # no lone surrogate escape
        F.size(F.array_distinct(names)) == F.size(names),  # no repeated name at the top
        # The only nested objects are the map fields' own; any other object, whose names nobody has compared,
        # goes to Python. (A "{" inside a string counts too: that record goes to Python, which is only slower.)
        F.length(skeleton) - F.length(F.replace(skeleton, F.lit("{"), F.lit(""))) == maps_present + 1,
        (F.octet_length(value) <= strict_json.MAX_NUMBER_CHARS)
        | ~F.regexp_replace(escaped, '"[^"]*+"', '""').rlike(_LONG_NUMBER),
    ]
    for spec in maps:
        # No repeated name inside a map: Spark's reader keeps every entry, repeated names included.
        m = t[spec.name]
        conditions.append(m.isNull() | (F.size(F.array_distinct(F.map_keys(m))) == F.size(m)))
    for spec in specs:
        present = t[spec.name].isNotNull()
        if spec.required:
            conditions.append(present)
        if not _fast_eligible(spec):
            conditions.append(~present)
        elif spec.kind == strict_json.STRING:
            first = F.col(f"_first{string_fields.index(spec)}")
            conditions.append(~present | first.isNull() | ((F.size(first) == 1) & (first[0] == '"')))
        elif spec.kind == strict_json.TIMESTAMP:
            # A parsed timestamp came from a JSON string: Spark renders no other JSON value with a colon.
            conditions.append(~present | ts[spec.name].isNotNull())
        elif spec.kind in (strict_json.DOUBLE, strict_json.FLOAT):
            conditions.append(~present | _finite(t[spec.name]))
        elif spec.kind in (strict_json.MAP, strict_json.ARRAY) and spec.element.kind in (strict_json.DOUBLE, strict_json.FLOAT):
            values = F.map_values(t[spec.name]) if spec.kind == strict_json.MAP else t[spec.name]
            conditions.append(~present | _all_finite(values))
    fast = F.lit(True)
    for c in conditions:
        fast = fast & F.coalesce(c, F.lit(False))
    return df.withColumn(_FAST, fast).drop("_bs", "_esc", *scratch)


def _all_finite(values: Column) -> Column:
    return ~(F.array_contains(values, F.lit(float("inf"))) | F.array_contains(values, F.lit(float("-inf")))
             | F.array_contains(values, F.lit(float("nan"))))


def prepare(df: DataFrame, schema: StructType) -> DataFrame:
    """Kafka source rows + `_typed` (Spark's parse), `_ts` (parsed timestamps) and `_fast` (certainly valid)."""
    specs = field_specs(schema)
    df = df.withColumn("_raw", F.col("value").cast("string"))
    df = df.withColumn(_TYPED, F.from_json(F.col("_raw"), _read_schema(schema), _PARSE_OPTIONS))
    t = F.col(_TYPED)
    ts_fields = [f.name for f in schema.fields if isinstance(f.dataType, TimestampType)]
    if ts_fields:
        df = df.withColumn("_ts0", F.struct(*[_timestamp_candidate(t[n]).alias(n) for n in ts_fields]))
        df = df.withColumn(_TS, F.struct(*[_timestamp_in_range(F.col("_ts0")[n]).alias(n) for n in ts_fields])).drop("_ts0")
    else:
        df = df.withColumn(_TS, F.lit(None))
    return _with_fast_path(df, specs).drop("_raw")


def _slow_check(schema: StructType) -> Callable[[Column], Column]:
    return F.udf(strict_json.Checker(field_specs(schema)), _PY_TYPE)


def finish(fast: DataFrame, slow: DataFrame, schema: StructType) -> DataFrame:
    """Both paths' rows (slow ones with `_py` from strict_json.py) -> `error` (null when valid) and `record`."""
    specs = field_specs(schema)
    classified = fast.withColumn(_PY, F.lit(None).cast(_PY_TYPE)).unionByName(slow)
    t, ts, py = F.col(_TYPED), F.col(_TS), F.col(_PY)
    extra = []
    for spec in specs:
        if spec.kind == strict_json.TIMESTAMP:
            text = t[spec.name]
            line = _timestamp_line(spec.name, text, _timestamp_parts(text))
            extra.append(F.when(py["parsed"] & text.isNotNull() & ~F.array_contains(py["bad_fields"], spec.name), line))
    readable = t.isNotNull() & t[CORRUPT].isNull()
    for spec in specs:
        if spec.required:
            readable = readable & t[spec.name].isNotNull()
        if spec.kind in (strict_json.DOUBLE, strict_json.FLOAT):
            readable = readable & (t[spec.name].isNull() | _finite(t[spec.name]))
    lines = F.concat(py["lines"], F.array_compact(F.array(*extra)) if extra else F.array().cast("array<string>"))
    lines = F.when(
        (F.size(lines) == 0) & ~F.coalesce(readable, F.lit(False)),
        F.array(F.lit(
            "value: valid JSON, but Spark's JSON reader cannot read it with the schema (e.g. a date, decimal or "
            "nested value it cannot convert)"
        )),
    ).otherwise(lines)
    error = F.when(~F.col(_FAST), F.when(F.size(lines) > 0, F.array_join(lines, "\n")))
    record = F.struct(
        *[
            (ts[f.name] if isinstance(f.dataType, TimestampType) else t[f.name]).alias(f.name)
            for f in schema.fields
        ]
    )
    return classified.withColumn("error", error).withColumn("record", record)


def classify(
    df: DataFrame, schema: StructType, cache: Callable[[DataFrame], DataFrame] | None = None
) -> DataFrame:
    """Kafka source rows -> the same rows with `error` (null when valid) and `record` (the typed fields).

    `cache` (e.g. persist) is applied to the prepared rows and to the slow path's rows, so that the sinks'
    several actions on one batch parse each value once and call Python once per slow record.
    """
    keep = cache or (lambda d: d)
    prepared = keep(prepare(df, schema))
    fast = prepared.where(F.col(_FAST))
    slow = keep(prepared.where(~F.col(_FAST)).withColumn(_PY, _slow_check(schema)(F.col("value"))))
    return finish(fast, slow, schema)


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
    valid = classified.where(F.col("error").isNull()).select(
        *[F.col("record")[f.name].alias(f.name) for f in schema.fields], *kafka_columns(classified)
    )
    ts_field = next((f.name for f in schema.fields if f.name == "event_time"), None)
    if ts_field is None:
        raise ValueError("schema has no 'event_time' field; the output is partitioned by it")
    return add_partition_columns(valid, ts_field)


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
