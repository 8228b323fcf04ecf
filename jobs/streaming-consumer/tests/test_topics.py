"""Topic creation (--ensure-topics / KAFKA_TOPICS) against the real broker, and the MSK IAM client setup."""
from __future__ import annotations

import uuid

import pytest

from streaming_consumer import io as job_io


def describe(spark, bootstrap, name):
    jvm = spark._jvm
    props = jvm.java.util.Properties()
    props.setProperty("bootstrap.servers", bootstrap)
    admin = jvm.org.apache.kafka.clients.admin.AdminClient.create(props)
    try:
        names = jvm.java.util.ArrayList()
        names.add(name)
        desc = admin.describeTopics(names).allTopicNames().get().get(name)
        resource = jvm.org.apache.kafka.common.config.ConfigResource(
            jvm.org.apache.kafka.common.config.ConfigResource.Type.TOPIC, name
        )
        res = jvm.java.util.ArrayList()
        res.add(resource)
        config = admin.describeConfigs(res).all().get().get(resource)
        return desc.partitions().size(), desc.partitions().get(0).replicas().size(), config.get("retention.ms").value()
    finally:
        admin.close()


def test_missing_topics_are_created_and_existing_ones_left_untouched(spark, kafka):
    props = job_io.kafka_client_properties(kafka.bootstrap, "none")
    a, b = f"a-{uuid.uuid4().hex[:6]}", f"b-{uuid.uuid4().hex[:6]}"
    specs = job_io.TopicSpec.parse_list(
        f'[{{"name": "{a}", "partitions": 3, "replicationFactor": 1, "retentionMs": 3600000}}, {{"name": "{b}"}}]'
    )
    assert job_io.ensure_topics(spark, props, specs) == {a: "created", b: "created"}
    assert describe(spark, kafka.bootstrap, a) == (3, 1, "3600000")
    assert describe(spark, kafka.bootstrap, b)[0] == 1  # broker default num.partitions

    # Second run, and a spec that differs from what exists: nothing fails, nothing changes.
    changed = [job_io.TopicSpec(a, 6, 1, 60000), job_io.TopicSpec(b)]
    assert job_io.ensure_topics(spark, props, changed) == {a: "exists", b: "exists"}
    assert describe(spark, kafka.bootstrap, a) == (3, 1, "3600000")


def test_iam_auth_client_loads_the_msk_login_module_and_callback_handler(spark):
    """AdminClient.create instantiates the SASL login module and callback handler: a missing or
    wrongly loaded aws-msk-iam-auth fails here, before any network traffic."""
    props = job_io.kafka_client_properties("127.0.0.1:9", "iam")
    jvm = spark._jvm
    jprops = jvm.java.util.Properties()
    for k, v in props.items():
        jprops.setProperty(k, v)
    admin = jvm.org.apache.kafka.clients.admin.AdminClient.create(jprops)
    admin.close(jvm.java.time.Duration.ofSeconds(1))
    handler = jvm.java.lang.Class.forName(
        "software.amazon.msk.auth.iam.IAMClientCallbackHandler", True, jvm.java.lang.Thread.currentThread().getContextClassLoader()
    )
    assert handler.getName().endswith("IAMClientCallbackHandler")


def test_unknown_keys_in_the_topic_list_are_refused():
    with pytest.raises(ValueError, match="unknown keys"):
        job_io.TopicSpec.parse_list('[{"name": "t", "partitons": 3}]')
