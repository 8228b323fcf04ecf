"""Strict JSON (RFC 8259) validation of one Kafka value against the record schema, in plain Python.

This is the slow path of the validation (see transforms.py): the fast path in the JVM (Spark's typed parse and
StrictScan, jvm/src) decides which values are certainly valid; every other value comes here, and this module
decides, exactly, whether it is one valid JSON object that matches the schema, and if not, says why in lines a
person can act on.

It imports nothing but the standard library and is shipped to executors by value with the UDF (see
transforms.py), so executors need no copy of the job's package.

The rules, in the order they are checked (the first failing whole-value rule is the only line reported):
  1. a null value is a tombstone; an empty value is empty;
  2. the bytes must be valid UTF-8 (no byte order mark);
  3. the text must be exactly one JSON value with only JSON whitespace (space, tab, CR, LF) around it:
     no single quotes, unquoted names, comments, NaN/Infinity, leading zeros, raw control characters,
     trailing data or second values; at most MAX_DEPTH levels of nesting, numbers of at most
     MAX_NUMBER_CHARS characters (limits of Spark's JSON reader, kept below them);
  4. that value must be an object;
  5. no object anywhere in it may repeat a key: JSON readers disagree on which value wins;
  6. no string may hold an unpaired UTF-16 surrogate escape (like "\\ud800"): it has no UTF-8 form;
  7. then each schema field, one line per field that is wrong.
Timestamps are a JSON-type check here; their text is parsed (and range-checked) by Spark SQL, once,
for both paths.
"""
from __future__ import annotations

import json
import re
import struct
from decimal import Decimal
from typing import Any, NamedTuple

MAX_DEPTH = 512
MAX_NUMBER_CHARS = 1000
_SHOW_LIMIT = 120
_SHOW_HEAD = 70
_SHOW_TAIL = 40
_CONTEXT = 32
_JSON_WS = " \t\r\n"

# Field kinds (from the Spark type, see transforms.field_specs).
STRING, TIMESTAMP, DATE, DOUBLE, FLOAT, INTEGER, BOOLEAN, DECIMAL, MAP, ARRAY, OTHER = (
    "string", "timestamp", "date", "double", "float", "integer", "boolean", "decimal", "map", "array", "other",
)
_EXPECTED = {
    STRING: "a string",
    TIMESTAMP: "a string (an ISO-8601 timestamp)",
    DATE: "a string (a date)",
    DOUBLE: "a number",
    FLOAT: "a number",
    INTEGER: "an integer",
    BOOLEAN: "true or false",
    DECIMAL: "a number",
    MAP: "an object",
    ARRAY: "an array",
}
_INTEGER_RANGES = {"byte": (-(2**7), 2**7 - 1), "short": (-(2**15), 2**15 - 1),
                   "integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}


class Element(NamedTuple):
    """What the elements of a map or array must be."""
    kind: str
    nullable: bool
    int_range: tuple[int, int] | None = None


class FieldSpec(NamedTuple):
    """One schema field as this module sees it (built from the Spark schema by transforms.field_specs)."""
    name: str
    kind: str
    required: bool
    type_name: str
    int_range: tuple[int, int] | None = None
    element: Element | None = None


class Result(NamedTuple):
    """`parsed`: the value is one strict JSON object (field lines may still follow).
    `lines`: every reason, one per line; empty when valid. `bad_fields`: fields with a line here.
    `utf8`: the bytes are valid UTF-8 (else the dead letter keeps them in raw_bytes)."""
    parsed: bool
    lines: list[str]
    bad_fields: list[str]
    utf8: bool


class _Fault(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class _Dup(NamedTuple):
    key: str
    obj: dict


# --- showing values on one line -----------------------------------------------------------------------

_UNPRINTABLE = re.compile("[\x00-\x1f\x7f\u2028\u2029\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}


def escape(text: str) -> str:
    """Control characters (and lone surrogates) as JSON escapes, so any text shows on one line."""
    return _UNPRINTABLE.sub(lambda m: _NAMED.get(m.group(), f"\\u{ord(m.group()):04x}"), text)


def show(text: str) -> str:
    """The text on one line; a long one as its start and its end, so a fault near the end stays visible."""
    if len(text) <= _SHOW_LIMIT:
        return escape(text)
    return f"{escape(text[:_SHOW_HEAD])} … {escape(text[-_SHOW_TAIL:])} ({len(text)} characters)"


def around(text: str, pos: int) -> str:
    """The text around position `pos`, with ▶ at the fault."""
    start, end = max(0, pos - _CONTEXT), min(len(text), pos + _CONTEXT)
    return (
        ("…" if start > 0 else "") + escape(text[start:pos]) + "▶" + escape(text[pos:end]) + ("…" if end < len(text) else "")
    )


def _plain(value: Any) -> Any:
    """Numbers read as Decimal (exact, see _parse_float) back to JSON numbers for display."""
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() and abs(value) < Decimal("1e308") else str(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _json_text(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)  # as exact as it came
    return json.dumps(_plain(value), ensure_ascii=False, separators=(",", ":"))


def _json_kind(value: Any) -> str:
    """What a whole value is: "a JSON array", "JSON null", ..."""
    return "JSON null" if value is None else "a JSON " + _kind(value).split(" ", 1)[1]


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float, Decimal)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _got(value: Any) -> str:
    return "null" if value is None else f"{_kind(value)} {show(_json_text(value))}"


# --- parsing --------------------------------------------------------------------------------------------

class _ConstantFault(Exception):
    pass


class _LengthFault(Exception):
    pass


def _reject_constant(name: str) -> Any:
    raise _ConstantFault(name)


def _number_literal(text: str) -> None:
    if len(text) > MAX_NUMBER_CHARS:
        raise _LengthFault(text)


def _parse_int(text: str) -> int:
    _number_literal(text)
    return int(text)


def _parse_float(text: str) -> Decimal:
    _number_literal(text)
    # Exact, so a range check sees the number as written (float("1e400") would silently be inf).
    return Decimal(text)


_LEADING_ZERO = re.compile(r"(?:^|[^0-9.eE+-])-?0$")


def _syntax_message(text: str, err: json.JSONDecodeError) -> str:
    pos = err.pos
    at = text[pos:pos + 1]
    before = text[:pos].rstrip(" \t\r\n")
    msg = err.msg
    if at.isdigit() and _LEADING_ZERO.search(text[:pos]):
        what = "a number with a leading zero"
    elif msg == "Extra data":
        try:
            json.JSONDecoder(parse_constant=lambda c: None).raw_decode(text, pos)
            what = "a second JSON value after the first; a record must hold exactly one"
        except (json.JSONDecodeError, RecursionError, ValueError):
            what = "data after the JSON value"
    elif at == "'":
        what = "single quotes; JSON strings and names need double quotes"
    elif text.startswith(("//", "/*"), pos):
        what = "a comment; JSON has no comments"
    elif msg.startswith("Invalid control character"):
        what = f"a raw control character U+{ord(at):04X} inside a string; it must be escaped (e.g. \\n, \\t, \\u0000)"
    elif msg.startswith("Expecting property name") and at == "}":
        what = "a comma before }; JSON has no trailing commas"
    elif msg == "Expecting value" and at == "]" and before.endswith(","):
        what = "a comma before ]; JSON has no trailing commas"
    elif msg.startswith("Expecting property name") and (at.isalpha() or (at != "" and at in "_$")):
        what = "an unquoted name; JSON names need double quotes"
    elif msg == "Expecting value" and pos >= len(text):
        what = "the text ends where a value was expected"
    elif msg == "Expecting value" and (at.isalpha() or (at != "" and at in "_$")):
        word = re.match(r"[^ \t\r\n,:{}\[\]\"']+", text[pos:]).group()
        what = f"an unquoted word {show(word)}; strings need double quotes and the only literals are true, false and null"
    elif msg.startswith("Unterminated string"):
        what = "a string that is never closed"
    else:
        what = msg[0].lower() + msg[1:]
    return f"value is not valid JSON at character {pos + 1} ({what}): {around(text, pos)}"


def _parse(text: str) -> tuple[Any, _Dup | None]:
    first_dup: list[_Dup] = []

    def pairs_hook(pairs: list) -> dict:
        obj = dict(pairs)
        if not first_dup and len(obj) < len(pairs):
            seen = set()
            for k, _ in pairs:
                if k in seen:
                    first_dup.append(_Dup(k, obj))
                    break
                seen.add(k)
        return obj

    try:
        value = json.loads(
            text, parse_constant=_reject_constant, object_pairs_hook=pairs_hook,
            parse_int=_parse_int, parse_float=_parse_float,
        )
    except json.JSONDecodeError as e:
        raise _Fault(_syntax_message(text, e)) from None
    except _ConstantFault as e:
        raise _Fault(f"value is not valid JSON ({e.args[0]} is not a JSON number; JSON has no NaN or Infinity): {show(text)}") from None
    except _LengthFault as e:
        n = len(e.args[0])
        raise _Fault(f"value has a number of {n} characters; at most {MAX_NUMBER_CHARS} are accepted: {show(text)}") from None
    except RecursionError:
        raise _Fault(f"value nests objects and arrays more than {MAX_DEPTH} levels deep") from None
    return value, (first_dup[0] if first_dup else None)


def _walk(value: Any):
    """(depth, path, node) for every node, iteratively (the value may be deep)."""
    stack = [(1, "", value)]
    while stack:
        depth, path, node = stack.pop()
        yield depth, path, node
        if isinstance(node, dict):
            for k, v in node.items():
                stack.append((depth + 1, f"{path}.{k}" if path else k, v))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                stack.append((depth + 1, f"{path}[{i}]", v))


_SURROGATE = re.compile("[\ud800-\udfff]")


def _structure_fault(value: Any) -> str | None:
    for depth, path, node in _walk(value):
        if depth > MAX_DEPTH:
            return f"value nests objects and arrays more than {MAX_DEPTH} levels deep"
        texts = [node] if isinstance(node, str) else (list(node) if isinstance(node, dict) else [])
        for t in texts:
            m = _SURROGATE.search(t)
            if m:
                where = path or "value"
                kind = "a name" if isinstance(node, dict) else "a string"
                return (
                    f"{where}: {kind} holds an unpaired UTF-16 surrogate \\u{ord(m.group()):04x}, which has no "
                    f"UTF-8 form: {show(t)}"
                )
    return None


def _where_dup(value: Any, dup: _Dup) -> str:
    for _, path, node in _walk(value):
        if node is dup.obj:
            return path
    return ""


# --- schema ----------------------------------------------------------------------------------------------

def _number_problem(value: Any, kind: str, type_name: str, int_range) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        return "type"
    if kind == INTEGER:
        if not isinstance(value, int):
            return "type"
        lo, hi = int_range
        if not lo <= value <= hi:
            return f"{value} is out of range for {type_name} ({lo} to {hi})"
        return None
    if kind in (DOUBLE, FLOAT):
        try:
            f = float(value)
        except OverflowError:
            f = float("inf")
        if kind == FLOAT and f == f and abs(f) != float("inf"):
            try:
                struct.pack(">f", f)  # rounds to the nearest float; raises when that is beyond float's range
            except OverflowError:
                f = float("inf")
        if abs(f) == float("inf"):
            return f"{show(str(value))} is out of range for a {type_name}"
    return None


def _element_problem(value: Any, element: Element) -> str | None:
    """None when fine; "type" for a wrong JSON type; else a sentence."""
    if value is None:
        return None if element.nullable else "null"
    if element.kind == STRING:
        return None  # documented: values inside maps/arrays of strings are taken as text whatever their JSON type
    if element.kind in (DOUBLE, FLOAT, INTEGER, DECIMAL):
        return _number_problem(value, element.kind, element.kind, element.int_range)
    if element.kind == BOOLEAN:
        return None if isinstance(value, bool) else "type"
    return None  # other element types: Spark's reader decides (transforms.py reports what it cannot read)


def _field_line(field: FieldSpec, value: Any) -> str | None:
    name, kind = field.name, field.kind
    expected = _EXPECTED.get(kind)
    if kind in (STRING, TIMESTAMP, DATE):
        ok = isinstance(value, str)
    elif kind == BOOLEAN:
        ok = isinstance(value, bool)
    elif kind in (DOUBLE, FLOAT, INTEGER, DECIMAL):
        problem = _number_problem(value, kind, field.type_name, field.int_range)
        if problem is None:
            return None
        if problem != "type":
            return f"{name}: {problem}"
        ok = False
    elif kind in (MAP, ARRAY):
        items = value.items() if isinstance(value, dict) and kind == MAP else (
            enumerate(value) if isinstance(value, list) and kind == ARRAY else None)
        if items is None:
            ok = False
        else:
            for k, v in items:
                problem = _element_problem(v, field.element)
                if problem is None:
                    continue
                where = f'{name}["{k}"]' if kind == MAP else f"{name}[{k}]"
                if problem == "null":
                    return f"{where}: expected {_EXPECTED.get(field.element.kind, 'a value')}, got null"
                if problem == "type":
                    return f"{where}: expected {_EXPECTED.get(field.element.kind, 'a value')}, got {_got(v)}"
                return f"{where}: {problem}"
            return None
    else:
        return None  # other types: Spark's reader decides
    if ok:
        return None
    return f"{name}: expected {expected}, got {_got(value)}"


def check(raw: bytes | bytearray | None, fields: tuple[FieldSpec, ...]) -> Result:
    """Decide whether one Kafka value is one strict JSON object matching `fields`; say why not."""
    if raw is None:
        return Result(False, ["null value (tombstone)"], [], True)
    if len(raw) == 0:
        return Result(False, ["empty value"], [], True)
    raw = bytes(raw)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        shown = around(raw.decode("utf-8", errors="replace"), len(raw[:e.start].decode("utf-8", errors="replace")))
        return Result(
            False,
            [f"value is not valid UTF-8: byte 0x{raw[e.start]:02x} at byte {e.start + 1} ({e.reason}): {shown}"],
            [], False,
        )
    if not text.strip(_JSON_WS):
        return Result(False, [f"value holds only whitespace, no JSON value: {show(text)}"], [], True)
    if text.startswith("\ufeff"):
        return Result(False, ["value is not valid JSON: it starts with a byte order mark (U+FEFF): " + show(text[1:])], [], True)
    try:
        value, dup = _parse(text)
    except _Fault as f:
        return Result(False, [f.message], [], True)
    fault = _structure_fault(value) if isinstance(value, (dict, list)) else None
    if fault and "levels deep" in fault:
        return Result(False, [fault], [], True)
    if not isinstance(value, dict):
        return Result(False, [f"value is {_json_kind(value)}, not a JSON object: {show(text.strip(_JSON_WS))}"], [], True)
    if dup is not None:
        where = _where_dup(value, dup)
        return Result(
            False,
            [f"{where or 'value'}: key {show(_json_text(dup.key))} appears more than once in one object; "
             f"JSON readers disagree on which value wins, so the record is ambiguous"],
            [], True,
        )
    if fault:
        return Result(False, [fault], [], True)
    lines, bad = [], []
    for field in fields:
        v = value.get(field.name, _MISSING)
        if v is _MISSING or v is None:
            if field.required:
                lines.append(f"{field.name}: required field is {'missing' if v is _MISSING else 'null'}")
                bad.append(field.name)
            continue
        line = _field_line(field, v)
        if line:
            lines.append(line)
            bad.append(field.name)
    return Result(True, lines, bad, True)


_MISSING = object()


class Checker:
    """The UDF body: a callable that pickles by value with its field specs."""

    def __init__(self, fields: tuple[FieldSpec, ...]):
        self.fields = fields

    def __call__(self, raw):
        try:
            r = check(raw, self.fields)
        except Exception as e:  # noqa: BLE001 - a record must never fail the batch; it goes to the dead letter
            r = Result(False, [f"value could not be checked ({type(e).__name__}: {show(str(e))})"], [], True)
        return (r.parsed, r.lines, r.bad_fields, r.utf8)
