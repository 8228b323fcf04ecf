"""Fixtures: one SparkSession for the run; a real Kafka broker and moto's S3 server on free loopback ports.

Services are started by the same scripts/ a person uses by hand. If one cannot start, the fixture
raises: these tests never skip.
"""
from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest

os.environ.setdefault("PYARROW_IGNORE_TIMEZONE", "1")
# Everything on loopback: the driver must not pick the host's external address.
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")

from helpers import REPO_ROOT, S3Env, jar_paths

SCRIPTS = REPO_ROOT / "scripts"


def _run_script(name: str, *args: str) -> str:
    proc = subprocess.run(["bash", str(SCRIPTS / name), *args], capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"scripts/{name} {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return proc.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def spark():
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("streaming-consumer-tests")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.jars", ",".join(jar_paths()))
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("WARN")
    yield session
    session.stop()


class Kafka:
    def __init__(self, state: Path):
        self.state = state
        self.bootstrap = _run_script("kafka-start.sh", str(state))

    def stop(self, kill: bool = False) -> None:
        subprocess.run(["bash", str(SCRIPTS / "kafka-stop.sh"), str(self.state), *(["--kill"] if kill else [])], check=True)

    def start(self) -> None:
        again = _run_script("kafka-start.sh", str(self.state))
        assert again == self.bootstrap, "a restarted broker must keep its address"


@pytest.fixture(scope="session")
def kafka(tmp_path_factory):
    broker = Kafka(tmp_path_factory.mktemp("kafka"))
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def moto(tmp_path_factory):
    state = tmp_path_factory.mktemp("moto")
    endpoint = _run_script("moto-start.sh", str(state))
    yield endpoint
    subprocess.run(["bash", str(SCRIPTS / "moto-stop.sh"), str(state)], check=True)


@pytest.fixture(scope="session")
def s3(moto, spark) -> S3Env:
    import boto3

    env = S3Env(endpoint=moto, bucket="lake")
    client = boto3.client(
        "s3", endpoint_url=moto, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )
    client.create_bucket(Bucket=env.bucket)
    env.client = client
    # The test session reads the job's output back through S3A, as a Spark reader would.
    hconf = spark.sparkContext._jsc.hadoopConfiguration()
    for key, value in env.hadoop_conf().items():
        hconf.set(key, value)
    return env


@pytest.fixture
def prefix(s3) -> str:
    """A fresh s3a:// folder per test."""
    return f"s3a://{s3.bucket}/t-{uuid.uuid4().hex[:10]}"
