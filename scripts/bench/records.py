"""The benchmark's records: valid events of ~300 bytes, and a mix with 1% malformed ones at planned positions.

Pure functions of the record number, so the producer (a Spark job) and the tests build the very same bytes.
The event shape is the one the benchmark always used: event_id, event_time (ISO-8601 UTC, spread over one day,
so 24 hour partitions), type, user_id, amount, attributes (padding brings a record to ~300 bytes).
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Callable

BASE_EPOCH = 1714521600  # 2024-05-01T00:00:00Z
PADDING = "x" * 134
# One record in MALFORMED_EVERY is malformed: 1%.
MALFORMED_EVERY = 100
# Where in each block of MALFORMED_EVERY records the malformed one sits (not 0: the first record of a topic
# and of each partition's range stays valid, so nothing depends on the very first record being good).
MALFORMED_OFFSET = 37


def event(i: int) -> dict:
    instant = dt.datetime.fromtimestamp(BASE_EPOCH + i % 86400, dt.timezone.utc)
    return {
        "event_id": f"evt-{i:012d}",
        "event_time": instant.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "type": "purchase" if i % 3 == 0 else "view",
        "user_id": f"user-{i % 10007}",
        "amount": (i % 1000) / 10,
        "attributes": {"campaign": "spring-sale", "pad": PADDING},
    }


def valid_value(i: int) -> bytes:
    return json.dumps(event(i), separators=(",", ":")).encode()


def _with(i: int, **fields) -> bytes:
    return json.dumps({**event(i), **fields}, separators=(",", ":")).encode()


# Each kind is one way a producer gets it wrong; tests/oracle.py (the tests' independent judge) rejects each.
MALFORMED_KINDS: dict[str, Callable[[int], bytes]] = {
    "not_json": lambda i: f"not json: record {i}".encode(),
    "data_after_object": lambda i: valid_value(i) + b' {"more":1}',
    "wrong_type": lambda i: _with(i, type=42),
    "impossible_timestamp": lambda i: _with(i, event_time="2024-02-30T25:61:00Z"),
    "invalid_utf8": lambda i: valid_value(i).replace(b'"user-', b'"user-\xff\xfe', 1),
    "not_an_object": lambda i: json.dumps([event(i)], separators=(",", ":")).encode(),
    "missing_required": lambda i: json.dumps({k: v for k, v in event(i).items() if k != "event_id"},
                                             separators=(",", ":")).encode(),
}
_KIND_NAMES = list(MALFORMED_KINDS)


def malformed_kind(i: int) -> str | None:
    """The kind of malformed record planned at position i of the mix, or None for a valid one."""
    if i % MALFORMED_EVERY != MALFORMED_OFFSET:
        return None
    return _KIND_NAMES[(i // MALFORMED_EVERY) % len(_KIND_NAMES)]


def malformed_count(records: int) -> int:
    """How many of the first `records` positions are malformed in the mix."""
    full, rest = divmod(records, MALFORMED_EVERY)
    return full + (1 if rest > MALFORMED_OFFSET else 0)


def value(i: int, mix: bool) -> bytes:
    kind = malformed_kind(i) if mix else None
    return valid_value(i) if kind is None else MALFORMED_KINDS[kind](i)


def partition_of(i: int, records: int, partitions: int) -> int:
    """Record i goes to a contiguous range per partition: one producer task per partition, offsets in order."""
    return i * partitions // records
