"""What the demo producer sends: events valid against the consumer's default schema (schemas.EVENT_SCHEMA), and
malformed records of each kind the consumer sends to its dead letter. Pure functions of a random generator and a
clock, so tests can check them against the job's own transforms."""
from __future__ import annotations

import json
import random
import uuid
from datetime import datetime, timezone

EVENT_TYPES = ("view", "click", "add_to_cart", "purchase")


def valid_event(rng: random.Random, now: datetime) -> dict:
    """One event with every required field (event_id, event_time, type) and the optional ones."""
    return {
        "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "event_time": now.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "type": rng.choice(EVENT_TYPES),
        "user_id": f"user-{rng.randrange(1000):03d}",
        "amount": round(rng.uniform(0.5, 250.0), 2),
        "attributes": {"source": "demo-producer", "session": f"s-{rng.randrange(100)}"},
    }


def _missing_time(rng: random.Random, now: datetime) -> str:
    event = valid_event(rng, now)
    del event["event_time"]
    return json.dumps(event)


def _amount_as_text(rng: random.Random, now: datetime) -> str:
    event = valid_event(rng, now)
    event["amount"] = str(event["amount"])
    return json.dumps(event)


def _bad_time(rng: random.Random, now: datetime) -> str:
    event = valid_event(rng, now)
    event["event_time"] = "yesterday"
    return json.dumps(event)


def _truncated(rng: random.Random, now: datetime) -> str:
    text = json.dumps(valid_event(rng, now))
    return text[: len(text) // 2]


def _not_an_object(rng: random.Random, now: datetime) -> str:
    return json.dumps([valid_event(rng, now)["event_id"], "not", "an", "object"])


# Each kind violates the schema differently; the consumer's dead letter says which way.
MALFORMED_KINDS = {
    "missing_event_time": _missing_time,
    "amount_as_text": _amount_as_text,
    "unparseable_event_time": _bad_time,
    "truncated_json": _truncated,
    "not_an_object": _not_an_object,
}


def malformed_value(rng: random.Random, now: datetime) -> str:
    """One malformed record of a randomly chosen kind."""
    kind = rng.choice(sorted(MALFORMED_KINDS))
    return MALFORMED_KINDS[kind](rng, now)


def next_value(rng: random.Random, malformed_percent: float, now: datetime) -> tuple[str, bool]:
    """The next record to send and whether it is malformed (with probability malformed_percent / 100)."""
    if rng.random() * 100 < malformed_percent:
        return malformed_value(rng, now), True
    return json.dumps(valid_event(rng, now), separators=(",", ":")), False
