"""entrypoint.sh: the role contract (with stub Spark binaries), and a real standalone cluster
(one master, two workers on loopback) that runs the consumer end to end."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pyspark
import pytest

from helpers import JOB_DIR, jars_dir, job_args, produce, start_job, stop_process_groups, wait_until
from test_end_to_end import assert_exactly_once, mixed_values

ENTRYPOINT = JOB_DIR / "entrypoint.sh"
PYSPARK_HOME = Path(pyspark.__file__).parent


@pytest.fixture
def stub_spark(tmp_path):
    """A SPARK_HOME whose spark-class/spark-submit print their arguments and env as JSON."""
    home = tmp_path / "spark"
    (home / "bin").mkdir(parents=True)
    (home / "jars").mkdir()
    for tool in ("spark-class", "spark-submit"):
        stub = home / "bin" / tool
        stub.write_text(
            "#!/usr/bin/env bash\n"
            f"exec {sys.executable} -c 'import json,os,sys; print(json.dumps({{\"tool\": \"{tool}\", \"argv\": sys.argv[1:], "
            "\"dist_cp\": os.environ.get(\"SPARK_DIST_CLASSPATH\"), \"history_opts\": os.environ.get(\"SPARK_HISTORY_OPTS\")}))' \"$@\"\n"
        )
        stub.chmod(0o755)
    return home


def entry(home, *args, **env):
    full = {"PATH": os.environ["PATH"], "SPARK_HOME": str(home), **env}
    proc = subprocess.run(["bash", str(ENTRYPOINT), *args], capture_output=True, text=True, env=full, timeout=60)
    return proc.returncode, (json.loads(proc.stdout.strip().splitlines()[-1]) if proc.returncode == 0 else proc.stderr)


def test_master_role_runs_the_master_in_the_foreground_with_host_and_ports_from_env(stub_spark):
    rc, out = entry(stub_spark, "master", SPARK_MASTER_HOST="10.0.0.5", SPARK_MASTER_PORT="7177")
    assert rc == 0
    assert out["argv"] == ["org.apache.spark.deploy.master.Master", "--host", "10.0.0.5", "--port", "7177", "--webui-port", "8080"]


def test_worker_role_needs_the_master_url_and_passes_cores_and_memory(stub_spark):
    rc, err = entry(stub_spark, "worker")
    assert rc == 64 and "SPARK_MASTER_URL" in err
    rc, out = entry(stub_spark, "worker", SPARK_MASTER_URL="spark://m:7077", SPARK_WORKER_CORES="2", SPARK_WORKER_MEMORY="3g")
    assert rc == 0
    assert out["argv"] == ["org.apache.spark.deploy.worker.Worker", "--webui-port", "8081", "--cores", "2", "--memory", "3g", "spark://m:7077"]


def test_history_role_reads_event_logs_from_the_given_folder(stub_spark):
    rc, err = entry(stub_spark, "history")
    assert rc == 64 and "SPARK_HISTORY_LOG_DIR" in err
    rc, out = entry(stub_spark, "history", SPARK_HISTORY_LOG_DIR="s3a://b/logs/spark-events/")
    assert rc == 0 and out["argv"] == ["org.apache.spark.deploy.history.HistoryServer"]
    assert "-Dspark.history.fs.logDirectory=s3a://b/logs/spark-events/" in out["history_opts"]
    assert "-Dspark.history.ui.port=18080" in out["history_opts"]


def test_consumer_role_submits_main_py_in_client_mode_with_flags_unchanged(stub_spark, tmp_path):
    jars = tmp_path / "jars"
    jars.mkdir()
    topics = '[{"name": "events", "partitions": 3}]'
    rc, out = entry(
        stub_spark, "consumer", "--topic", "a b", "--available-now",
        SPARK_MASTER_URL="spark://m:7077", SPARK_EVENT_LOG_DIR="s3a://b/logs/", KAFKA_TOPICS=topics,
        STREAMING_CONSUMER_JARS_DIR=str(jars),
    )
    assert rc == 0
    argv = out["argv"]
    assert argv[:6] == ["--master", "spark://m:7077", "--deploy-mode", "client", "--name", "streaming-consumer"]
    assert "spark.eventLog.enabled=true" in argv and "spark.eventLog.dir=s3a://b/logs/" in argv
    main = argv.index(str(JOB_DIR / "main.py"))
    assert argv[main + 1:] == ["--topic", "a b", "--available-now", "--ensure-topics", topics]
    assert out["dist_cp"] == f"{jars}/*"


def test_consumer_role_defaults_to_local_mode_without_event_logs(stub_spark):
    rc, out = entry(stub_spark, "consumer", "--help")
    assert rc == 0 and out["argv"][:2] == ["--master", "local[*]"]
    assert not any("eventLog" in a for a in out["argv"]) and out["dist_cp"] is None


def test_driver_role_submits_what_spark_on_kubernetes_passes_in_client_mode_bound_to_the_pod_address(stub_spark):
    topics = '[{"name": "events", "partitions": 3}]'
    k8s_args = ["--properties-file", "/opt/spark/conf/spark.properties", "--class", "org.apache.spark.deploy.PythonRunner",
                "local:///opt/streaming-consumer/main.py", "--topic", "a b"]
    rc, err = entry(stub_spark, "driver", *k8s_args)
    assert rc == 64 and "SPARK_DRIVER_BIND_ADDRESS" in err
    rc, out = entry(stub_spark, "driver", *k8s_args, SPARK_DRIVER_BIND_ADDRESS="10.1.2.3", KAFKA_TOPICS=topics)
    assert rc == 0
    assert out["tool"] == "spark-submit"
    assert out["argv"] == [
        "--conf", "spark.driver.bindAddress=10.1.2.3", "--conf", "spark.executorEnv.SPARK_DRIVER_POD_IP=10.1.2.3",
        "--deploy-mode", "client", *k8s_args, "--ensure-topics", topics,
    ]


def test_executor_role_hands_over_to_the_spark_images_entrypoint(stub_spark, tmp_path):
    image_entrypoint = tmp_path / "entrypoint.sh"
    image_entrypoint.write_text(f"#!/usr/bin/env bash\nexec {sys.executable} -c 'import json,sys; print(json.dumps({{\"argv\": sys.argv[1:]}}))' \"$@\"\n")
    image_entrypoint.chmod(0o755)
    rc, out = entry(stub_spark, "executor", SPARK_IMAGE_ENTRYPOINT=str(image_entrypoint))
    assert rc == 0 and out["argv"] == ["executor"]


def test_unknown_role_is_refused(stub_spark):
    rc, err = entry(stub_spark, "scheduler")
    assert rc == 64 and "unknown role 'scheduler'" in err and "driver, executor" in err


# --- a real cluster -------------------------------------------------------------------------------

def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cluster_env(**extra) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        SPARK_HOME=str(PYSPARK_HOME),
        STREAMING_CONSUMER_JARS_DIR=str(jars_dir()),
        SPARK_LOCAL_IP="127.0.0.1",
        SPARK_DAEMON_MEMORY="256m",
        PYSPARK_PYTHON=sys.executable,
        PYSPARK_DRIVER_PYTHON=sys.executable,
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def daemon(role: str, log: Path, **env) -> subprocess.Popen:
    return subprocess.Popen(
        ["bash", str(ENTRYPOINT), role], env=cluster_env(**env), stdout=open(log, "wb"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def master_state(ui_port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{ui_port}/json/", timeout=5) as r:
        return json.load(r)


@pytest.fixture
def standalone_cluster(tmp_path):
    port, ui = free_port(), free_port()
    procs = [daemon("master", tmp_path / "master.log", SPARK_MASTER_HOST="127.0.0.1", SPARK_MASTER_PORT=str(port),
                    SPARK_MASTER_WEBUI_PORT=str(ui))]
    try:
        wait_until(lambda: _try(lambda: master_state(ui)), 90, "the master's web UI")
        for i in range(2):
            procs.append(daemon("worker", tmp_path / f"worker{i}.log", SPARK_MASTER_URL=f"spark://127.0.0.1:{port}",
                                SPARK_WORKER_CORES="1", SPARK_WORKER_MEMORY="1g", SPARK_WORKER_WEBUI_PORT=str(free_port())))
        wait_until(lambda: len([w for w in master_state(ui)["workers"] if w["state"] == "ALIVE"]) == 2, 90, "two live workers")
        yield f"spark://127.0.0.1:{port}", ui
    finally:
        stop_process_groups(procs)


def _try(fn):
    try:
        return fn()
    except OSError:
        return None


def test_master_and_two_workers_from_the_entrypoint_run_the_consumer_end_to_end(
    spark, kafka, s3, prefix, tmp_path, standalone_cluster
):
    master_url, ui = standalone_cluster
    topic = f"cluster-{uuid.uuid4().hex[:6]}"
    events = tmp_path / "events"
    events.mkdir()
    env = cluster_env(
        SPARK_MASTER_URL=master_url,
        KAFKA_TOPICS=json.dumps([{"name": topic, "partitions": 2, "replicationFactor": 1}]),
        SPARK_EVENT_LOG_DIR=f"file://{events}",
    )
    # The job flags as the EC2 engine passes them; no master or jars here, the entrypoint owns those.
    args = job_args(kafka.bootstrap, topic, prefix, s3, "--trigger-interval", "2 seconds", local=False) + [
        "--conf", "spark.executor.memory=512m", "--conf", "spark.executor.cores=1", "--conf", "spark.cores.max=2",
    ]
    run = start_job(args, tmp_path / "consumer.log", cmd=["bash", str(ENTRYPOINT), "consumer"], env=env)
    # KAFKA_TOPICS created the topic before the query started; produce once the query runs.
    wait_until(lambda: any(e["event"] == "query_started" for e in run.events()) or run.proc.poll() is not None,
               240, "the query to start")
    assert run.proc.poll() is None, run.log_tail()
    assert any(e == {"event": "topic_ensured", "topic": topic, "outcome": "created"} | {"ts": e.get("ts")}
               for e in run.events()), run.log_tail()
    values, invalid = mixed_values(0, 30, "c")
    produce(spark, kafka.bootstrap, topic, values, partitions=2)

    def consumed():
        assert run.proc.poll() is None, run.log_tail()
        return sum(e["rows_in"] for e in run.events() if e["event"] == "batch_progress") >= len(values)

    wait_until(consumed, 240, "the consumer to read every record")
    # SIGTERM to the entrypoint (what docker stop / systemd send) stops the query cleanly.
    run.proc.send_signal(signal.SIGTERM)
    assert run.wait(120) == 0, run.log_tail()
    assert any(e["event"] == "stopped" for e in run.events()), run.log_tail()

    assert_exactly_once(spark, kafka, prefix, topic, invalid)
    apps = master_state(ui)
    [app] = [a for a in apps["completedapps"] + apps["activeapps"] if a["name"].startswith("streaming-consumer")]
    assert app["cores"] == 2 or app.get("coresgranted", 2) == 2
    [log] = list(events.iterdir())
    executors = {json.loads(l)["Executor ID"] for l in log.read_text().splitlines() if '"SparkListenerExecutorAdded"' in l}
    assert len(executors) == 2, "both workers must have run an executor"
