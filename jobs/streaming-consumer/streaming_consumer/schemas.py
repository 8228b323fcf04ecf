"""Record schemas: the default event schema and loading a replacement from a Spark JSON schema file.

A field with ``nullable: false`` is *required*: a record without it (or with JSON null) goes to the
dead letter. Timestamp fields are read from ISO-8601 strings by the transforms, not by Spark's JSON
reader, so that their parsing does not depend on the session time zone.
"""
from __future__ import annotations

import json
from pathlib import Path

from pyspark.sql.types import (
    BinaryType,
    DoubleType,
    IntegerType,
    LongType,
    MapType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

EVENT_SCHEMA = StructType(
    [
        StructField("event_id", StringType(), nullable=False),
        StructField("event_time", TimestampType(), nullable=False),
        StructField("type", StringType(), nullable=False),
        StructField("user_id", StringType(), nullable=True),
        StructField("amount", DoubleType(), nullable=True),
        StructField("attributes", MapType(StringType(), StringType()), nullable=True),
    ]
)

# Columns every output row carries, so any row can be traced back to its Kafka record.
KAFKA_COLUMNS = StructType(
    [
        StructField("kafka_topic", StringType(), nullable=False),
        StructField("kafka_partition", IntegerType(), nullable=False),
        StructField("kafka_offset", LongType(), nullable=False),
        StructField("kafka_timestamp", TimestampType(), nullable=False),
    ]
)

# Partition columns of the valid output, derived from the record's event_time in UTC.
PARTITION_COLUMNS = ("year", "month", "day", "hour")

# raw_value: the value as UTF-8 text (bytes that are not UTF-8 shown as U+FFFD); error: one line per reason;
# raw_bytes: the exact bytes, only when they are not valid UTF-8 (so nothing of a record is lost).
DEAD_LETTER_SCHEMA = StructType(
    [
        StructField("raw_value", StringType(), nullable=True),
        StructField("error", StringType(), nullable=False),
        *KAFKA_COLUMNS.fields,
        StructField("raw_bytes", BinaryType(), nullable=True),
    ]
)

# The record schema must be a flat struct of these top-level types: each has a validation rule in
# transforms.py. Nested structs would need per-level rules; refuse them rather than half-check them.
SUPPORTED_FIELD_TYPES = (
    "string", "timestamp", "double", "float", "long", "integer", "short", "byte", "boolean",
    "decimal", "date", "map", "array",
)

RESERVED_NAMES = {f.name for f in KAFKA_COLUMNS.fields} | set(PARTITION_COLUMNS) | {"raw_value", "error"}


class SchemaError(ValueError):
    """The --schema file is not usable; the message says why."""


def validate_schema(schema: StructType, source: str = "schema") -> StructType:
    if not isinstance(schema, StructType) or not schema.fields:
        raise SchemaError(f"{source}: must be a Spark struct schema with at least one field")
    names = [f.name for f in schema.fields]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise SchemaError(f"{source}: duplicate field names {dupes}")
    clash = sorted(RESERVED_NAMES & set(names))
    if clash:
        raise SchemaError(f"{source}: field names {clash} are reserved for columns the job adds")
    for f in schema.fields:
        kind = f.dataType.typeName()
        if kind not in SUPPORTED_FIELD_TYPES:
            raise SchemaError(
                f"{source}: field '{f.name}' has type {f.dataType.simpleString()}; supported top-level types are "
                f"{', '.join(SUPPORTED_FIELD_TYPES)}"
            )
    ts = next((f for f in schema.fields if f.name == "event_time"), None)
    if ts is None or not isinstance(ts.dataType, TimestampType):
        raise SchemaError(f"{source}: needs a field 'event_time' of type timestamp; the output is partitioned by it")
    return schema


def load_schema(path: str | Path) -> StructType:
    """Read a Spark JSON schema (the output of ``StructType.json()``) from a file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise SchemaError(f"--schema {path}: cannot read file: {e.strerror}") from e
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as e:
        raise SchemaError(f"--schema {path}: not valid JSON: {e}") from e
    try:
        schema = StructType.fromJson(parsed)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise SchemaError(
            f"--schema {path}: not a Spark JSON schema (expected {{\"type\": \"struct\", \"fields\": [...]}}): {e!r}"
        ) from e
    return validate_schema(schema, f"--schema {path}")
