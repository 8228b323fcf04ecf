"""The tests' oracle: what the consumer must do with one Kafka value, decided independently of the job.

It shares no code with streaming_consumer: Python's json module in strict mode decides what is one JSON value
(NaN/Infinity refused through parse_constant, repeated keys seen through object_pairs_hook), and the rules
the README documents decide the rest:
  - the bytes are UTF-8; the text is one JSON object with only space, tab, CR and LF around it;
  - no object repeats a key; no string holds an unpaired surrogate; nesting up to 512 levels; numbers of at
    most 1000 characters;
  - the default event schema: event_id, type (strings, required), event_time (an ISO-8601 string, required,
    an instant in the years 0001-9999 UTC), user_id (string), amount (a number that is finite as a double),
    attributes (an object; values of any JSON type, taken as text); other keys ignored.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

MAX_DEPTH = 512
MAX_NUMBER_CHARS = 1000
UTC = dt.timezone.utc
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
_ISO = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,9}))?)?"
    r"(Z|([+-])([0-9]{2})(?::?([0-9]{2}))?)?"
)
REQUIRED_STRINGS = ("event_id", "type")


@dataclass
class Expected:
    valid: bool
    # For an invalid value: a phrase the error's first line must contain, or field names that must each have
    # a line of their own ("amount: ...").
    phrase: str | None = None
    bad_fields: set[str] = field(default_factory=set)
    # For a valid value: what the output row must hold.
    fields: dict[str, Any] = field(default_factory=dict)


class _NotJson(Exception):
    pass


def _no_constants(name: str):
    raise _NotJson(name)


def _number(parse):
    def check(text: str):
        if len(text) > MAX_NUMBER_CHARS:
            raise _NotJson("number too long")
        return parse(text)
    return check


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, d = stack.pop()
        deepest = max(deepest, d)
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        stack.extend((c, d + 1) for c in children)
    return deepest


def _strings(value: Any):
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            yield node
        elif isinstance(node, dict):
            yield from node.keys()
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def parse_event_time(text: str) -> dt.datetime | None:
    """The instant, or None when the text is not an accepted ISO-8601 timestamp in the years 0001-9999 UTC."""
    m = _ISO.fullmatch(text)
    if not m:
        return None
    y, mo, d, h, mi, s, frac, zone, sign, oh, om = m.groups()
    try:
        local = dt.datetime(int(y), int(mo), int(d), int(h), int(mi), int(s or 0), int((frac or "")[:6].ljust(6, "0")), tzinfo=UTC)
    except ValueError:
        return None
    offset = dt.timedelta(0)
    if zone and zone != "Z":
        if int(oh) > 23 or int(om or 0) > 59:
            return None
        offset = dt.timedelta(hours=int(oh), minutes=int(om or 0)) * (1 if sign == "+" else -1)
    try:
        return local - offset
    except OverflowError:
        return None


def micros(instant: dt.datetime) -> int:
    return (instant - EPOCH) // dt.timedelta(microseconds=1)


def expect(raw: bytes | None) -> Expected:
    if raw is None:
        return Expected(False, "null value (tombstone)")
    if raw == b"":
        return Expected(False, "empty value")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return Expected(False, "not valid UTF-8")
    duplicates = []

    def pairs(items):
        keys = [k for k, _ in items]
        if len(set(keys)) != len(keys):
            duplicates.append(keys)
        return dict(items)

    try:
        value = json.loads(text, parse_constant=_no_constants, object_pairs_hook=pairs,
                           parse_int=_number(int), parse_float=_number(float))
    except (json.JSONDecodeError, _NotJson, RecursionError):
        return Expected(False, "value ")
    if _depth(value) > MAX_DEPTH:
        return Expected(False, "value ")
    if not isinstance(value, dict):
        return Expected(False, "not a JSON object")
    if duplicates:
        return Expected(False, "appears more than once")
    for s in _strings(value):
        try:
            s.encode("utf-8")
        except UnicodeEncodeError:
            return Expected(False, "surrogate")
    bad = set()
    for name in REQUIRED_STRINGS:
        if not isinstance(value.get(name), str):
            bad.add(name)
    if value.get("user_id") is not None and not isinstance(value["user_id"], str):
        bad.add("user_id")
    amount = value.get("amount")
    if amount is not None:
        if isinstance(amount, bool) or not isinstance(amount, (int, float)):
            bad.add("amount")
        else:
            try:
                if not math.isfinite(float(amount)):
                    bad.add("amount")
            except OverflowError:
                bad.add("amount")
    attributes = value.get("attributes")
    if attributes is not None and not isinstance(attributes, dict):
        bad.add("attributes")
    event_time = value.get("event_time")
    instant = parse_event_time(event_time) if isinstance(event_time, str) else None
    if instant is None:
        bad.add("event_time")
    if bad:
        return Expected(False, bad_fields=bad)
    return Expected(True, fields={
        "event_id": value["event_id"],
        "type": value["type"],
        "user_id": value.get("user_id"),
        "amount": None if amount is None else float(amount),
        "attributes": attributes,
        "micros": micros(instant),
        "partition": (f"{instant.year:04d}", f"{instant.month:02d}", f"{instant.day:02d}", f"{instant.hour:02d}"),
    })


def same_attributes(actual: dict | None, expected: dict | None) -> bool:
    """Map values are text: a JSON string as itself, anything else as JSON text (compared by meaning)."""
    if expected is None or actual is None:
        return actual == expected
    if set(actual) != set(expected):
        return False
    for k, v in expected.items():
        got = actual[k]
        if v is None or isinstance(v, str):
            if got != v:
                return False
        elif json.loads(got) != v:  # Spark writes numbers, booleans, objects and arrays as JSON text
            return False
    return True


def check_rows(values: list[bytes | None], out_rows: dict[int, Any], dead_rows: dict[int, Any]) -> list[str]:
    """Compare what the job wrote (rows by offset) with the oracle; returns one message per disagreement."""
    problems = []
    for offset, raw in enumerate(values):
        exp = expect(raw)
        where = f"offset {offset}, value {raw!r:.300}"
        in_out, in_dead = offset in out_rows, offset in dead_rows
        if in_out == in_dead:
            problems.append(f"{where}: in output {in_out}, in dead letter {in_dead}; exactly one expected")
            continue
        if exp.valid != in_out:
            row = dead_rows.get(offset)
            problems.append(f"{where}: oracle says valid={exp.valid}, job wrote it to the "
                            f"{'output' if in_out else 'dead letter: ' + repr(row['error'])}")
            continue
        if exp.valid:
            row, f = out_rows[offset], exp.fields
            got = (row["event_id"], row["type"], row["user_id"], row["amount"], row["micros"], row["partition"])
            want = (f["event_id"], f["type"], f["user_id"], f["amount"], f["micros"], f["partition"])
            if got != want or not same_attributes(row["attributes"], f["attributes"]):
                problems.append(f"{where}: output row {got} {row['attributes']!r}, expected {want} {f['attributes']!r}")
        else:
            error = dead_rows[offset]["error"]
            lines = error.split("\n") if error else []
            if not lines or any(not line.strip() for line in lines):
                problems.append(f"{where}: error {error!r} must be one non-empty line per reason")
            elif exp.phrase is not None and exp.phrase not in lines[0]:
                problems.append(f"{where}: error {error!r} should say {exp.phrase!r}")
            elif exp.bad_fields and not all(any(line.startswith(f"{name}:") for line in lines) for name in exp.bad_fields):
                problems.append(f"{where}: error {error!r} should have a line for each of {sorted(exp.bad_fields)}")
    return problems
