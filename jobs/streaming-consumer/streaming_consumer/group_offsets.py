"""Commit the consumer's progress to a Kafka consumer group, for lag tools only.

Spark's Kafka source never commits offsets: it reads with generated group ids and keeps its position in the
checkpoint. So `kafka-consumer-groups`, MSK's consumer-lag metrics, Burrow or a Kafka UI see nothing. After each
committed batch this commits the batch's end offsets to a named group with the Kafka AdminClient
(alterConsumerGroupOffsets), using the query's own client settings (MSK IAM included), so lag tools work.

Informational only: the checkpoint stays the source of truth. On a restart Spark resumes from the checkpoint,
never from this group; a failed commit is logged and the next batch's commit catches up. A Kafka source's end
offset is exclusive, the same "next offset to read" a Kafka consumer commits, so the group's lag is exactly the
records the consumer has not durably written. The group has no members (Spark uses assign(), not subscribe()),
which is what alterConsumerGroupOffsets requires.
"""
from __future__ import annotations

import json
from typing import Any

from . import io


def offsets_from_progress(progress: dict) -> dict[str, dict[int, int]]:
    """{topic: {partition: next offset}} from every Kafka source's endOffset in a parsed progress."""
    out: dict[str, dict[int, int]] = {}
    for source in progress.get("sources", []):
        end: Any = source.get("endOffset")
        if isinstance(end, str):
            end = json.loads(end) if end.strip() else {}
        for topic, parts in (end or {}).items():
            # Spark writes -2/-1 for "earliest"/"latest" only in a starting position, never as a batch's end.
            out.setdefault(topic, {}).update({int(p): int(o) for p, o in parts.items() if int(o) >= 0})
    return out


class GroupOffsetCommitter:
    """One AdminClient for the life of the query; commit() never raises."""

    def __init__(self, spark, client_props: dict[str, str], group: str, timeout_s: int = 30):
        self.group = group
        self._jvm = spark._jvm
        self._timeout_s = timeout_s
        props = self._jvm.java.util.Properties()
        for k, v in client_props.items():
            props.setProperty(k, v)
        props.setProperty("client.id", f"{group}-offsets")
        props.setProperty("request.timeout.ms", str(timeout_s * 1000))
        props.setProperty("default.api.timeout.ms", str(timeout_s * 1000))
        self._admin = self._jvm.org.apache.kafka.clients.admin.AdminClient.create(props)

    def commit(self, batch_id: int, offsets: dict[str, dict[int, int]]) -> bool:
        if not offsets:
            return True
        jvm = self._jvm
        kafka = jvm.org.apache.kafka
        java_offsets = jvm.java.util.HashMap()
        for topic, parts in offsets.items():
            for partition, offset in parts.items():
                java_offsets.put(kafka.common.TopicPartition(topic, int(partition)), kafka.clients.consumer.OffsetAndMetadata(int(offset)))
        try:
            (
                self._admin.alterConsumerGroupOffsets(self.group, java_offsets)
                .all()
                .get(self._timeout_s, jvm.java.util.concurrent.TimeUnit.SECONDS)
            )
        except Exception as e:  # noqa: BLE001 - informational: the next batch's commit catches up
            io.emit("group_offsets_commit_failed", group=self.group, batch_id=batch_id, error=str(e)[:1000])
            return False
        io.emit("group_offsets_committed", group=self.group, batch_id=batch_id, offsets=offsets)
        return True

    def close(self) -> None:
        try:
            self._admin.close()
        except Exception:  # noqa: BLE001 - the JVM may already be going away
            pass
