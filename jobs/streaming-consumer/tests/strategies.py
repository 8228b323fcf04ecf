"""Hypothesis strategies for Kafka values: valid events, near-valid ones (one realistic fault each), and noise.

`collect(strategy, n, seed)` draws n values with Hypothesis and returns them, so that one Spark job can check
thousands of examples at once (one Spark job per example would take hours). The seed is printed by the tests
and can be set with HYPOTHESIS_SEED to reproduce a run.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import random

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

UTC = dt.timezone.utc
JSON_WS = " \t\r\n"

# Any JSON value Python's json can write (floats finite), for unknown fields and attribute values.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=8,
)


@st.composite
def event_times(draw) -> str:
    """ISO-8601 text in every accepted form, anywhere in the years 0001-9999 (and a little beyond, via offsets)."""
    instant = draw(st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31, 23, 59, 59, 999999)))
    sep = draw(st.sampled_from(["T", " "]))
    seconds = draw(st.sampled_from(["", ":ss", ":ss.f"]))
    text = f"{instant.year:04d}-{instant.month:02d}-{instant.day:02d}{sep}{instant.hour:02d}:{instant.minute:02d}"
    if seconds:
        text += f":{instant.second:02d}"
    if seconds == ":ss.f":
        text += "." + f"{instant.microsecond:06d}{draw(st.integers(0, 999)):03d}"[: draw(st.integers(1, 9))]
    zone = draw(st.sampled_from(["", "Z", "hh", "hhmm", "hh:mm"]))
    if zone == "Z":
        text += "Z"
    elif zone:
        sign = draw(st.sampled_from("+-"))
        hours, minutes = draw(st.integers(0, 23)), draw(st.integers(0, 59))
        text += f"{sign}{hours:02d}" + {"hh": "", "hhmm": f"{minutes:02d}", "hh:mm": f":{minutes:02d}"}[zone]
    return text


@st.composite
def events(draw) -> dict:
    event = {
        "event_id": draw(st.text(max_size=30)),
        "event_time": draw(event_times()),
        "type": draw(st.text(max_size=12)),
    }
    if draw(st.booleans()):
        event["user_id"] = draw(st.none() | st.text(max_size=20))
    if draw(st.booleans()):
        event["amount"] = draw(st.none() | st.integers(-(10**20), 10**20) | st.floats(allow_nan=False, allow_infinity=False))
    if draw(st.booleans()):
        event["attributes"] = draw(st.none() | st.dictionaries(st.text(max_size=10), json_values, max_size=4))
    for _ in range(draw(st.integers(0, 2))):
        event[draw(st.text(min_size=1, max_size=10))] = draw(json_values)
    keys = list(event)
    draw(st.randoms(use_true_random=False)).shuffle(keys)
    return {k: event[k] for k in keys}


@st.composite
def serialized(draw, value) -> bytes:
    """JSON text as producers write it: compact or spaced or indented, ASCII-escaped or not, JSON whitespace around."""
    style = draw(st.sampled_from(["compact", "default", "indent"]))
    kwargs = {"compact": {"separators": (",", ":")}, "default": {}, "indent": {"indent": 2}}[style]
    text = json.dumps(value, ensure_ascii=draw(st.booleans()), **kwargs)
    before = draw(st.text(alphabet=JSON_WS, max_size=3))
    after = draw(st.text(alphabet=JSON_WS, max_size=3))
    return (before + text + after).encode("utf-8")


valid_values = events().flatmap(serialized)


def _insert(data: bytes, at: int, piece: bytes) -> bytes:
    return data[:at] + piece + data[at:]


@st.composite
def near_valid_values(draw) -> bytes:
    """A valid event with one realistic fault: each class of bad input the consumer must send to the dead letter."""
    event = draw(events())
    data = draw(serialized(event))
    text = data.decode("utf-8")
    kind = draw(st.sampled_from([
        "single-quotes", "comment", "nan", "leading-zero", "control-char", "trailing-data", "second-value",
        "repeated-key", "truncated", "invalid-utf8", "lone-surrogate", "wrong-type", "missing-field",
        "bad-time", "odd-whitespace", "bom", "unquoted-name", "trailing-comma", "deep", "long-number",
    ]))
    pos = draw(st.integers(0, max(0, len(data) - 1)))
    if kind == "single-quotes":
        return text.replace('"', "'", draw(st.integers(1, 4))).encode()
    if kind == "comment":
        brace = text.index("{") + 1
        return (text[:brace] + draw(st.sampled_from(["/* c */", "// c\n"])) + text[brace:]).encode()
    if kind == "nan":
        event["amount"] = draw(st.sampled_from([float("nan"), float("inf"), float("-inf")]))
        return json.dumps(event).encode()  # Python writes NaN / Infinity, which is not JSON
    if kind == "leading-zero":
        event["amount"] = 7
        return json.dumps(event).replace('"amount": 7', '"amount": 0' + draw(st.sampled_from(["7", "07", "0.5"]))).encode()
    if kind == "control-char":
        event["type"] = "a-CTRL-b"
        return json.dumps(event).replace("-CTRL-", chr(draw(st.integers(0, 0x1F)))).encode()
    if kind == "trailing-data":
        return data + draw(st.sampled_from([b"x", b" 1", b",", b"]", b"}", b" null", b"\x00"]))
    if kind == "second-value":
        return data + draw(st.sampled_from([b"", b" ", b"\n"])) + draw(serialized(draw(events())))
    if kind == "repeated-key":
        if draw(st.booleans()):  # at the top
            key = draw(st.sampled_from(list(event) + ["type"]))
            close = text.rindex("}")
            return (text[:close] + f', {json.dumps(key)}: {json.dumps(draw(json_values))}' + text[close:]).encode()
        # inside the attributes map, or in an object nested in it
        attrs = json.dumps(draw(st.dictionaries(st.text(max_size=5), json_values, min_size=1, max_size=3)))
        key = json.dumps(draw(st.sampled_from(list(json.loads(attrs)))))
        inner = attrs[:-1] + f", {key}: {json.dumps(draw(json_values))}}}"
        nested = draw(st.booleans())
        event["attributes"] = "ATTRS"
        return json.dumps(event).replace('"ATTRS"', '{"n": ' + inner + "}" if nested else inner).encode()
    if kind == "truncated":
        return data[:pos]
    if kind == "invalid-utf8":
        return _insert(data, pos, draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xc0\x80", b"\xf4\x90\x80\x80", b"\xe2\x82"])))
    if kind == "lone-surrogate":
        event["type"] = "x"
        return json.dumps(event).replace('"type": "x"', '"type": "x' + draw(st.sampled_from(["\\ud800", "\\udfff", "\\udc00\\ud800"])) + '"').encode()
    if kind == "wrong-type":
        name = draw(st.sampled_from(["event_id", "type", "user_id", "amount", "attributes", "event_time"]))
        event[name] = draw(st.sampled_from([42, 1.5, True, [1], {"a": 1}, "12.5"]))
        return json.dumps(event).encode()
    if kind == "missing-field":
        name = draw(st.sampled_from(["event_id", "type", "event_time"]))
        if draw(st.booleans()):
            event.pop(name, None)
        else:
            event[name] = None
        return json.dumps(event).encode()
    if kind == "bad-time":
        event["event_time"] = draw(st.sampled_from([
            "0000-12-31T23:59:59Z", "0001-01-01T00:30:00+01:00", "9999-12-31T23:30:00-01:00", "2024-02-30T00:00:00Z",
            "2023-02-29T00:00:00Z", "1900-02-29T12:00:00Z", "2024-05-01T24:00:00Z", "2024-05-01T23:59:60Z",
            "2024-05-01T10:00:00+24:00", "2024-05-01T10:00:00+05:60", "2024-05-01", "yesterday", "2024-05-01T10:00:00Z\n",
            "2024-5-1T10:00:00Z", "10000-01-01T00:00:00Z", "2024-05-01T10:00:00.Z", "2024-05-01T10:00:00.1234567890Z",
        ]))
        return json.dumps(event).encode()
    if kind == "odd-whitespace":
        piece = draw(st.sampled_from(["\u00a0", "\f", "\v", "\u2028", "\u3000"])).encode()
        return piece + data if draw(st.booleans()) else data + piece
    if kind == "bom":
        return b"\xef\xbb\xbf" + data
    if kind == "unquoted-name":
        return text.replace('"event_id"', "event_id").encode()
    if kind == "trailing-comma":
        close = text.rindex("}")
        return (text[:close].rstrip() + ",}").encode()
    if kind == "deep":
        n = draw(st.sampled_from([4, 40, 600]))
        event["extra"] = "PLACEHOLDER"
        return json.dumps(event).replace('"PLACEHOLDER"', "[" * n + "]" * n).encode()
    # long-number: just around the 1000-character limit
    n = draw(st.sampled_from([998, 1000, 1001, 1500]))
    event["extra"] = 0
    return json.dumps(event).replace('"extra": 0', '"extra": ' + "1" * n).encode()


noise = (
    st.binary(max_size=64)
    | st.text(max_size=40).map(lambda s: s.encode("utf-8"))
    | json_values.map(lambda v: json.dumps(v).encode())
    | st.sampled_from([b"", b" ", b"{}", b"null", b"[]", b'""'])
    | st.none()
)

all_values = st.one_of(valid_values, valid_values, near_valid_values(), near_valid_values(), noise)


def collect(strategy, n: int, rnd_seed: int) -> list:
    """n values drawn by Hypothesis (deterministic for a given seed)."""
    out: list = []

    @seed(rnd_seed)
    @settings(max_examples=n, database=None, deadline=None, derandomize=False,
              suppress_health_check=list(HealthCheck), phases=[Phase.generate])
    @given(strategy)
    def draw(value):
        if len(out) < n:
            out.append(value)

    draw()
    return out


def run_seed() -> int:
    return int(os.environ.get("HYPOTHESIS_SEED", random.randrange(2**32)))
