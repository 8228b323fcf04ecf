"""The ec2 engine's consumer, run as the master runs it: what the program declares (the dev stack under Pulumi mocks:
scripts/render-ec2-consumer.js) is the master's user data (host env, the `spark-role` runner) and the SSM deploy
command's parameters (the consumer's env file and job flags). The rendered runner starts the consumer role with them,
through a stand-in `docker` that runs the image's entrypoint as a process (test_secure_cluster.py), against the test
Kafka broker and moto's S3, with S3A's credentials from a stand-in instance metadata service, as on a host.

Only what cannot be the same off AWS is replaced, each replacement checked to hit a key the program really sets: the
master (local[2]; test_secure_cluster.py runs the standalone cluster), the broker (the test one: plaintext, one replica)
and the topic (one of this test's own), S3A's endpoint (moto), the trigger interval (shorter) and the UI port (a free one).
Everything else runs as declared: the s3a:// locations with the rename-free checkpoint manager, the bucket and its
prefixes, the event log folder, the security settings the runner writes, the consumer's name and the flags' order."""
from __future__ import annotations

import json
import secrets
import shutil
import signal
import subprocess
import threading
import uuid
from pathlib import Path

import pytest

import test_secure_cluster as secure
from helpers import REPO_ROOT, JobRun, produce, stop_process_groups, wait_until
from test_end_to_end import assert_exactly_once, mixed_values


def render(stack: str = "dev") -> dict:
    node = shutil.which("node")
    assert node, "node is needed to run the program under mocks (npm ci installs the project)"
    out = subprocess.run([node, str(REPO_ROOT / "scripts" / "render-ec2-consumer.js"), stack],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-4000:]
    return json.loads(out.stdout)


def replace_flag(args: list[str], flag: str, value: str) -> list[str]:
    assert flag in args, f"the consumer's flags have no {flag}"
    out = list(args)
    out[out.index(flag) + 1] = value
    return out


def flag(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def env_lines(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line)


def s3_objects(s3, bucket: str, prefix: str) -> list[str]:
    pages = s3.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


@pytest.fixture
def imds():
    server = secure.Imds()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


def test_the_consumer_as_the_master_runs_it_writes_data_and_checkpoints_through_s3a(spark, kafka, s3, tmp_path, imds):
    rendered = render()
    deploy = rendered["deployParameters"]
    args = deploy["consumerArgs"].splitlines()
    env = env_lines(deploy["consumerEnv"])

    # Where the declared job reads and writes: the same bucket in moto, by the scheme the program chose.
    bucket = flag(args, "--checkpoint").split("/")[2]
    locations = {f: flag(args, f) for f in ("--output", "--dead-letter", "--checkpoint")}
    assert bucket == rendered["outputs"]["bucketName"]
    if bucket not in [b["Name"] for b in s3.client.list_buckets()["Buckets"]]:
        s3.client.create_bucket(Bucket=bucket)
    # The runner creates the event log folder's marker with the AWS CLI (a stand-in here); moto gets it directly.
    event_log_dir = env["SPARK_EVENT_LOG_DIR"]
    assert event_log_dir.startswith(f"s3a://{bucket}/")
    event_log_prefix = event_log_dir.split("/", 3)[3]
    s3.client.put_object(Bucket=bucket, Key=event_log_prefix, Body=b"")

    # The replacements. The topic is this test's own, so the declared prefixes (data/<topic>/, dead-letter/<topic>/) are too.
    declared_topic = flag(args, "--topic")
    topic = f"ec2-{uuid.uuid4().hex[:8]}"
    args = replace_flag(args, "--topic", topic)
    for f in ("--output", "--dead-letter"):
        assert locations[f].endswith(f"/{declared_topic}/"), locations[f]
        args = replace_flag(args, f, locations[f].removesuffix(f"{declared_topic}/") + f"{topic}/")
    checkpoint = f"{locations['--checkpoint'].rstrip('/')}-{topic}/"
    args = replace_flag(args, "--checkpoint", checkpoint)
    args = replace_flag(args, "--bootstrap-servers", kafka.bootstrap)
    args = replace_flag(args, "--kafka-auth", "none")
    args = replace_flag(args, "--trigger-interval", "2 seconds")
    moto = {k: v for k, v in s3.hadoop_conf().items()
            if k not in ("fs.s3a.aws.credentials.provider", "fs.s3a.access.key", "fs.s3a.secret.key", "fs.s3a.endpoint.region")}
    args += [x for k, v in moto.items() for x in ("--conf", f"spark.hadoop.{k}={v}")]
    ui_port = secure.free_port(avoid_tls_clash=True)
    args += ["--conf", f"spark.ui.port={ui_port}", "--conf", "spark.driver.memory=1g", "--conf", "spark.sql.shuffle.partitions=2"]
    topics = json.loads(env["KAFKA_TOPICS"])
    assert [t["name"] for t in topics] == [declared_topic]
    env["KAFKA_TOPICS"] = json.dumps([{**t, "name": topic, "replicationFactor": 1} for t in topics])

    hosts = secure.Hosts(tmp_path, imds, secrets.token_hex(32), secure.make_tls(tmp_path)[0], rendered=rendered)
    host_env = env_lines((hosts.conf / "host.env").read_text())
    assert host_env["SPARK_MASTER_URL"].startswith("spark://"), host_env
    host_env["SPARK_MASTER_URL"] = "local[2]"
    (hosts.conf / "host.env").write_text("".join(f"{k}={v}\n" for k, v in host_env.items()))
    (hosts.conf / "image").write_text(deploy["imageUri"] + "\n")

    log = tmp_path / "consumer.log"
    consumer = hosts.start("master", "consumer", log, env, args)
    run = JobRun(consumer, log)
    try:
        wait_until(lambda: any(e["event"] == "query_started" for e in run.events()) or consumer.poll() is not None,
                   240, "the query to start")
        assert consumer.poll() is None, run.log_tail()
        values, invalid = mixed_values(0, 30, "ec2")
        produce(spark, kafka.bootstrap, topic, values, partitions=topics[0]["partitions"])

        def consumed():
            assert consumer.poll() is None, run.log_tail()
            return sum(e["rows_in"] for e in run.events() if e["event"] == "batch_progress") >= len(values)

        wait_until(consumed, 240, "the consumer to read every record")
        consumer.send_signal(signal.SIGTERM)
        assert run.wait(120) == 0, run.log_tail()
    finally:
        stop_process_groups([consumer])

    assert_exactly_once(spark, kafka, f"s3a://{bucket}", topic, invalid)
    # The checkpoint is where the program put it, with committed batches, written without a rename's leftovers.
    keys = s3_objects(s3, bucket, checkpoint.split("/", 3)[3])
    assert any("/offsets/" in k for k in keys) and any("/commits/" in k for k in keys), keys
    assert any(k.endswith("/metadata") for k in keys), keys
    assert not [k for k in keys if ".tmp" in k], keys
    # The driver's event log landed in the declared folder, for the history server; S3A signed with the instance's credentials.
    assert [k for k in s3_objects(s3, bucket, event_log_prefix) if k != event_log_prefix], "no event log was written"
    assert imds.credential_reads > 0, "S3A did not take the instance profile's credentials from the metadata service"
