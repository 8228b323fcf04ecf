"""The kubernetes engine's SparkApplication, run for real: what the program declares (under Pulumi mocks, the dev stack
with engine kubernetes: scripts/render-kubernetes-app.js) becomes the driver's properties file, arguments and
environment exactly as the Spark Operator and Spark on Kubernetes hand them to the image's `driver` role, and the job
runs once in local mode against the test Kafka broker and moto's S3.

Only what cannot be the same off the cluster is replaced, each replacement checked to hit a key the application
really sets: the master (local[2] instead of k8s://), the driver's address (loopback), S3A's endpoint, region and
static credentials for moto instead of the IRSA web identity token, the test broker (plaintext, one replica) instead of MSK,
the UI port (a free one), the auth secret (a value: Spark takes secret files only on Kubernetes) and the driver heap (this machine's size). Everything else (the s3a:// locations with the rename-free checkpoint manager, the
bucket and prefixes, the security settings, the metrics servlet and its path, the job flags, KAFKA_TOPICS) runs as declared,
so a wrong class, key or path fails here; keys Spark does not know are refused outright (Spark ignores them silently)."""
from __future__ import annotations

import functools
import json
import shutil
import signal
import socket
import subprocess
import urllib.request

from helpers import JOB_DIR, REPO_ROOT, produce, start_job, wait_until
from test_end_to_end import assert_exactly_once, mixed_values
from test_entrypoint import cluster_env

ENTRYPOINT = JOB_DIR / "entrypoint.sh"
IMAGE_JOB_HOME = "/opt/streaming-consumer"

# Keys Spark reads by prefix rather than as registered config entries.
PREFIX_KEYS = ("spark.hadoop.", "spark.metrics.conf.", "spark.executorEnv.", "spark.kubernetes.driver.label.", "spark.kubernetes.executor.label.")
# Keys Spark reads by name without a config entry: SparkContext reads the app name directly; SQLConf declares the
# checkpoint manager's key as a builder only, and CheckpointFileManager reads it by name.
NAMED_KEYS = {"spark.app.name", "spark.sql.streaming.checkpointFileManagerClass"}


def render() -> dict:
    """The program's declaration, rendered once per run (a whole program under mocks); a fresh copy for each caller."""
    return json.loads(_rendered())


@functools.cache
def _rendered() -> str:
    node = shutil.which("node")
    assert node, "node is needed to run the program under mocks (npm ci installs the project)"
    out = subprocess.run([node, str(REPO_ROOT / "scripts" / "render-kubernetes-app.js"), "dev"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-4000:]
    return out.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def operator_conf(app: dict) -> dict[str, str]:
    """The --conf the operator's spark-submit derives from the application (internal/controller/sparkapplication/
    submission.go in the operator 2.5.2: sparkConf, hadoopConf as spark.hadoop.*, the driver's and executors' fields),
    as Spark on Kubernetes hands them to the driver in its properties file."""
    spec = app["spec"]
    conf = dict(spec["sparkConf"])
    conf.update({f"spark.hadoop.{k}": v for k, v in spec.get("hadoopConf", {}).items()})
    d, e = spec["driver"], spec["executor"]
    conf.update({
        "spark.app.name": app["metadata"]["name"],
        "spark.submit.deployMode": spec["mode"],
        "spark.kubernetes.namespace": app["metadata"]["namespace"],
        "spark.kubernetes.container.image": spec["image"],
        "spark.kubernetes.driver.pod.name": d["podName"],
        "spark.driver.cores": str(d["cores"]),
        "spark.driver.memory": d["memory"],
        "spark.kubernetes.authenticate.driver.serviceAccountName": d["serviceAccount"],
        "spark.executor.instances": str(e["instances"]),
        "spark.executor.cores": str(e["cores"]),
        "spark.executor.memory": e["memory"],
        "spark.kubernetes.authenticate.executor.serviceAccountName": e["serviceAccount"],
        "spark.kubernetes.executor.deleteOnTermination": str(e["deleteOnTermination"]).lower(),
    })
    return conf


def replace_conf_flag(args: list[str], key: str, value: str) -> list[str]:
    """The job flags with `--conf key=...` given a new value; fails unless the application sets that key."""
    out, hit = list(args), False
    for i, a in enumerate(out):
        if a == "--conf" and out[i + 1].split("=", 1)[0] == key:
            out[i + 1], hit = f"{key}={value}", True
    assert hit, f"the application's arguments have no --conf {key}"
    return out


def replace_flag(args: list[str], flag: str, value: str) -> list[str]:
    assert flag in args, f"the application's arguments have no {flag}"
    out = list(args)
    out[out.index(flag) + 1] = value
    return out


def conf_flags(args: list[str]) -> dict[str, str]:
    return dict(args[i + 1].split("=", 1) for i, a in enumerate(args) if a == "--conf")


def spark_knows(jvm, key: str) -> bool:
    return key.startswith(PREFIX_KEYS) or key in NAMED_KEYS or jvm.org.apache.spark.internal.config.ConfigEntry.findEntry(key) is not None


def test_every_setting_the_application_declares_is_one_spark_knows(spark):
    app = render()["sparkApplication"]
    jvm = spark._jvm
    # Config entries register when their holder loads: core and SQL are loaded by the session; load Kubernetes' too.
    jvm.org.apache.spark.deploy.k8s.Config.KUBERNETES_NAMESPACE()
    keys = {**operator_conf(app), **conf_flags(app["spec"]["arguments"])}
    unknown = sorted(k for k in keys if not spark_knows(jvm, k))
    assert unknown == []
    # The check itself: a misspelt key is caught.
    assert not spark_knows(jvm, "spark.network.crypto.enable")
    assert not spark_knows(jvm, "spark.sql.streaming.metricEnabled")


def test_the_application_runs_the_job_against_kafka_and_s3_and_stops_cleanly_on_sigterm(spark, kafka, s3, tmp_path):
    rendered = render()
    app, service = rendered["sparkApplication"], rendered["uiService"]
    spec = app["spec"]
    [driver] = spec["driver"]["template"]["spec"]["containers"]
    ui_port = service["spec"]["ports"][0]["targetPort"]

    # The properties file, as the operator's submission produces it, then the off-cluster replacements.
    props = operator_conf(app)
    assert props["spark.ui.port"] == str(ui_port), "the driver UI Service must target the port the driver serves"
    # Spark accepts the secret from files only on Kubernetes ("Secret keys provided via files is only allowed in
    # Kubernetes mode"), so locally the same authentication runs with the secret given as a value.
    assert props["spark.authenticate"] == "true"
    for key in ("spark.authenticate.secret.driver.file", "spark.authenticate.secret.executor.file"):
        assert props.pop(key).startswith("/etc/spark-auth/"), f"{key} must point into the mounted secret"
    props["spark.authenticate.secret"] = "k8s-test-" + "s" * 48
    local_ui = free_port()
    props.update({"spark.master": "local[2]", "spark.ui.port": str(local_ui), "spark.driver.memory": "1g",
                  "spark.sql.shuffle.partitions": "2"})
    properties = tmp_path / "spark.properties"
    properties.write_text("".join(f"{k}={v}\n" for k, v in sorted(props.items())))

    # The job flags: S3A to moto with static credentials (instead of IRSA), Kafka to the test broker.
    args = spec["arguments"]
    bucket = args[args.index("--output") + 1].split("/")[2]
    s3.client.create_bucket(Bucket=bucket)
    args = replace_conf_flag(args, "spark.hadoop.fs.s3a.aws.credentials.provider",
                             "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider")
    args = replace_conf_flag(args, "spark.hadoop.fs.s3a.endpoint.region", "us-east-1")
    args = replace_flag(args, "--bootstrap-servers", kafka.bootstrap)
    args = replace_flag(args, "--kafka-auth", "none")
    moto_conf = {k: v for k, v in s3.hadoop_conf().items() if k not in ("fs.s3a.aws.credentials.provider", "fs.s3a.endpoint.region")}
    args += [x for k, v in moto_conf.items() for x in ("--conf", f"spark.hadoop.{k}={v}")]

    # The driver container's environment from its template; one replica on the single test broker.
    env_spec = {e["name"]: e["value"] for e in driver.get("env", [])}
    topics = json.loads(env_spec["KAFKA_TOPICS"])
    topic = args[args.index("--topic") + 1]
    assert [t["name"] for t in topics] == [topic]
    env_spec["KAFKA_TOPICS"] = json.dumps([{**t, "replicationFactor": 1} for t in topics])

    # The image's main file, found where the Dockerfile puts it.
    main = spec["mainApplicationFile"]
    assert main == f"local://{IMAGE_JOB_HOME}/main.py"
    assert f"COPY main.py entrypoint.sh {IMAGE_JOB_HOME}/" in (JOB_DIR / "Dockerfile").read_text()
    local_main = "local://" + str(JOB_DIR / main.removeprefix(f"local://{IMAGE_JOB_HOME}/"))

    env = cluster_env(**env_spec, SPARK_DRIVER_BIND_ADDRESS="127.0.0.1")
    work_dir = tmp_path / "work-dir"  # the template's emptyDir working directory
    work_dir.mkdir()
    # What Spark on Kubernetes runs in the driver pod: `<image> driver --properties-file ... --class ... <main> <args>`.
    cmd = ["bash", str(ENTRYPOINT), "driver", "--properties-file", str(properties),
           "--class", "org.apache.spark.deploy.PythonRunner", local_main]
    run = start_job(args, tmp_path / "driver.log", cmd=cmd, env=env, cwd=work_dir)
    try:
        wait_until(lambda: any(e["event"] == "query_started" for e in run.events()) or run.proc.poll() is not None,
                   240, "the query to start")
        assert run.proc.poll() is None, run.log_tail()
        assert any(e["event"] == "topic_ensured" and e["topic"] == topic for e in run.events()), run.log_tail()
        values, invalid = mixed_values(0, 40, "k8s")
        produce(spark, kafka.bootstrap, topic, values, partitions=topics[0]["partitions"])

        def consumed():
            assert run.proc.poll() is None, run.log_tail()
            return sum(e["rows_in"] for e in run.events() if e["event"] == "batch_progress") >= len(values)

        wait_until(consumed, 240, "the consumer to read every record")

        # The metrics the Service exposes: driver metrics with the streaming query's, and the executors'.
        def metrics(path: str) -> str:
            with urllib.request.urlopen(f"http://127.0.0.1:{local_ui}{path}", timeout=10) as r:
                return r.read().decode()

        driver_metrics = metrics(props["spark.metrics.conf.*.sink.prometheusServlet.path"])
        assert "_driver_BlockManager_memory" in driver_metrics
        assert "spark_streaming" in driver_metrics and "inputRate" in driver_metrics, driver_metrics[:2000]
        assert "metrics_executor_" in metrics("/metrics/executors/prometheus")
    finally:
        # What deleting the driver pod sends: SIGTERM, then the grace period. The query stops between batches.
        if run.proc.poll() is None:
            run.proc.send_signal(signal.SIGTERM)
    grace = spec["driver"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert run.wait(grace) == 0, run.log_tail()
    assert any(e["event"] == "stopped" for e in run.events()), run.log_tail()
    assert_exactly_once(spark, kafka, f"s3a://{bucket}", topic, invalid)
