"""The ec2 engine's Spark security, for real: the host runner exactly as the stack renders it (scripts/render-ec2-host.js,
from components/ec2/userData.ts) starts a standalone master, a worker and the consumer on 127.0.0.1, each reading
Spark's secret and the UI certificate "from Secrets Manager" (a stand-in `aws`), its address and its credentials from
a stand-in instance metadata service (IMDSv2 only) on 127.0.0.1, and running the image's entrypoint the way
`docker run --network host` would (a stand-in `docker`). With authentication, AES RPC encryption, local I/O
encryption and HTTPS UIs on, the job reads Kafka and writes to moto's S3 with the credentials the metadata service
hands out; workers without the secret, with a wrong one, or without encryption are refused.

What cannot run here: Docker itself, and the metadata service's hop counting (a real VPC). The stand-in `docker`
refuses any container that is not on the host network, which is what keeps hop limit 1 sufficient."""
from __future__ import annotations

import datetime
import http.server
import ipaddress
import json
import os
import re
import secrets
import shutil
import signal
import ssl
import stat
import subprocess
import sys
import threading
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pyspark
import pytest

from helpers import JOB_DIR, REPO_ROOT, JobRun, jars_dir, produce, stop_process_groups, wait_until
from test_end_to_end import assert_exactly_once, mixed_values

ENTRYPOINT = JOB_DIR / "entrypoint.sh"
PYSPARK_HOME = Path(pyspark.__file__).parent
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/spark-streaming-consumer@sha256:" + "ab" * 32
AUTH_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:spark-spark-auth-AbCdEf"
TLS_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:spark-ui-tls-AbCdEf"
ROLE_NAME = "spark-streaming-host"


# --- the stack's rendering ------------------------------------------------------------------------

def render_host() -> dict:
    security = {"authSecretArn": AUTH_ARN, "tlsSecretArn": TLS_ARN}
    options = {
        "master": {"region": "eu-west-1", "masterDnsName": "spark-master.spark.internal", "bucket": "lake",
                   "eventLogPrefix": "logs/spark-events/", "security": security},
        "worker": {"region": "eu-west-1", "masterDnsName": "spark-master.spark.internal", "imageUri": IMAGE,
                   "security": security, "securityRevision": "r1"},
    }
    node = shutil.which("node")
    assert node, "node is needed to render the host scripts (npm ci installs the project)"
    out = subprocess.run([node, str(REPO_ROOT / "scripts" / "render-ec2-host.js"), json.dumps(options)],
                         capture_output=True, text=True, check=True, timeout=120)
    return json.loads(out.stdout)


def heredocs(script: str) -> dict[str, str]:
    return {m.group(1): m.group(3) for m in re.finditer(r"^cat > (\S+) <<'(\w+)'\n(.*?)^\2$", script, re.M | re.S)}


# --- stand-ins for what the hosts talk to -----------------------------------------------------------

class Imds(http.server.ThreadingHTTPServer):
    """IMDSv2 only: a token from PUT /latest/api/token, required on every GET, as with httpTokens=required."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), ImdsHandler)
        self.token = secrets.token_hex(16)
        self.credential_reads = 0
        self.refused = 0

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class ImdsHandler(http.server.BaseHTTPRequestHandler):
    server: Imds

    def log_message(self, *args):  # quiet
        pass

    def _send(self, code: int, body: str) -> None:
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_PUT(self):
        if self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            self._send(200, self.server.token)
        else:
            self._send(400, "")

    def do_GET(self):
        if self.headers.get("X-aws-ec2-metadata-token") != self.server.token:
            self.server.refused += 1
            self._send(401, "")
            return
        path = self.path.rstrip("/")
        now = datetime.datetime.now(datetime.timezone.utc)
        if path == "/latest/meta-data/local-ipv4":
            self._send(200, "127.0.0.1")
        elif path == "/latest/meta-data/iam/security-credentials":
            self._send(200, ROLE_NAME)
        elif path == f"/latest/meta-data/iam/security-credentials/{ROLE_NAME}":
            self.server.credential_reads += 1
            self._send(200, json.dumps({
                "Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": "ASIAIMDSSTANDIN", "SecretAccessKey": "imds-secret",
                "Token": "imds-session-token", "LastUpdated": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "Expiration": (now + datetime.timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }))
        elif path == "/latest/dynamic/instance-identity/document":
            self._send(200, json.dumps({"region": "us-east-1", "instanceId": "i-0standin"}))
        else:
            self._send(404, "")


def make_tls(tmp: Path) -> tuple[str, Path]:
    """A CA and a server certificate for localhost/127.0.0.1, PEM key + chain as the UI TLS secret holds them."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
          .not_valid_after(now + datetime.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(ca_key, hashes.SHA256()))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = lambda c: c.public_bytes(serialization.Encoding.PEM).decode()  # noqa: E731
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()).decode()
    ca_file = tmp / "ca.pem"
    ca_file.write_text(pem(ca))
    return key_pem + pem(cert) + pem(ca), ca_file


AWS_STUB = """#!/usr/bin/env bash
# Stand-in for the AWS CLI on a host: Secrets Manager from files, ECR login, S3 marker objects.
case "$1 $2" in
  "secretsmanager get-secret-value")
    for a in "$@"; do case "$a" in *spark-auth*) cat "$FAKE_SECRETS/auth" ;; *ui-tls*) cat "$FAKE_SECRETS/tls" ;; esac; done ;;
  "ecr get-login-password") echo ecr-password ;;
  *) exit 0 ;;
esac
"""

DOCKER_STUB = r'''#!PYTHON
"""Stand-in for `docker` on a host: `run` becomes the image's entrypoint as a process with the container's env.
Only host networking is supported, as on the hosts (the IMDS hop limit is 1); volumes must be mounted at the same path."""
import os, sys

args = sys.argv[1:]
if not args or args[0] in ("login", "pull", "rm", "stop"):
    if args and args[0] == "login":
        sys.stdin.read()
    sys.exit(0)
assert args[0] == "run", args
env = {k: v for k, v in os.environ.items() if k.startswith("IMAGE_ENV_")}
env = {k[len("IMAGE_ENV_"):]: v for k, v in env.items()}
files, flags, i, network = [], {}, 1, None
while args[i].startswith("--"):
    opt = args[i]
    if opt == "--rm":
        i += 1
        continue
    value = args[i + 1]
    i += 2
    if opt == "--network":
        network = value
    elif opt == "--env-file":
        files.append(value)
    elif opt == "--env":
        k, _, v = value.partition("=")
        flags[k] = v
    elif opt == "--volume":
        src, dst, *_ = value.split(":")
        if src != dst or not os.path.isdir(src):
            sys.exit(f"docker stand-in: volume {value} must be an existing folder mounted at the same path")
if network != "host":
    sys.exit(f"docker stand-in: container without --network host (got {network}): it would be a hop further from IMDS")
for f in files:
    for line in open(f):
        line = line.rstrip("\n")
        if line:
            k, _, v = line.partition("=")
            env[k] = v
env.update(flags)
image, role, *rest = args[i:]
os.execvpe("bash", ["bash", os.environ["ENTRYPOINT"], role, *rest], env)
'''


# --- the cluster ------------------------------------------------------------------------------------

def free_port(avoid_tls_clash: bool = False) -> int:
    import socket

    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if not avoid_tls_clash or port + 400 < 65536:
            if not avoid_tls_clash:
                return port
            with socket.socket() as s2:
                try:
                    s2.bind(("127.0.0.1", port + 400))
                    return port
                except OSError:
                    continue


class Hosts:
    """The sandboxed host layout: conf dir, tmpfs stand-in, stubs, and the rendered runners."""

    def __init__(self, tmp: Path, imds: Imds, spark_secret: str, tls_pem: str, rendered: dict | None = None):
        """`rendered`: the host scripts as a render script prints them (default: render_host())."""
        self.tmp = tmp
        self.imds = imds
        rendered = rendered or render_host()
        self.conf = tmp / "etc"
        self.run_dir = tmp / "run"
        bin_dir = tmp / "bin"
        secrets_dir = tmp / "secrets"
        for d in (self.conf, self.run_dir, bin_dir, secrets_dir):
            d.mkdir()
        (secrets_dir / "auth").write_text(spark_secret + "\n")
        (secrets_dir / "tls").write_text(tls_pem)
        (bin_dir / "aws").write_text(AWS_STUB)
        (bin_dir / "docker").write_text(DOCKER_STUB.replace("#!PYTHON", f"#!{sys.executable}"))
        for f in bin_dir.iterdir():
            f.chmod(0o755)

        def localize(script: str) -> str:
            return script.replace(rendered["confDir"], str(self.conf)).replace(rendered["runDir"], str(self.run_dir))

        self.runners = {}
        for kind in ("master", "worker"):
            files = heredocs(rendered[f"{kind}UserData"])
            runner = tmp / f"spark-role-{kind}"
            runner.write_text(localize(files[rendered["runner"]]))
            runner.chmod(0o755)
            self.runners[kind] = runner
            if kind == "master":
                (self.conf / "host.env").write_text(files[f"{rendered['confDir']}/host.env"])
        (self.conf / "image").write_text(IMAGE + "\n")
        self.tls_ui_ports = rendered["tlsUiPorts"]
        self.env = {
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "HOME": str(tmp),
            "FAKE_SECRETS": str(secrets_dir),
            "ENTRYPOINT": str(ENTRYPOINT),
            # The endpoint the AWS SDKs and the runner honour; on a host it is the real one.
            "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.endpoint,
        }
        # The image's own environment (its ENV lines), which every container starts from.
        image_env = {
            "SPARK_HOME": str(PYSPARK_HOME), "STREAMING_CONSUMER_JARS_DIR": str(jars_dir()), "PYSPARK_PYTHON": sys.executable,
            "PYSPARK_DRIVER_PYTHON": sys.executable, "PYTHONUNBUFFERED": "1", "PATH": os.environ["PATH"],
            "SPARK_DAEMON_MEMORY": "256m", "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.endpoint,
            **({"JAVA_HOME": os.environ["JAVA_HOME"]} if "JAVA_HOME" in os.environ else {}),
        }
        self.env.update({f"IMAGE_ENV_{k}": v for k, v in image_env.items()})

    def start(self, kind: str, role: str, log: Path, role_env: dict[str, str] | None = None, args: list[str] | None = None) -> subprocess.Popen:
        if role_env is not None:
            (self.conf / f"{role}.env").write_text("".join(f"{k}={v}\n" for k, v in role_env.items()))
        if args is not None:
            (self.conf / f"{role}.args").write_text("".join(f"{a}\n" for a in args))
        return subprocess.Popen(["bash", str(self.runners[kind]), role], env=self.env, stdout=open(log, "wb"),
                                stderr=subprocess.STDOUT, start_new_session=True)


def https_json(url: str, ca: Path) -> dict:
    context = ssl.create_default_context(cafile=str(ca))
    with urllib.request.urlopen(url, timeout=5, context=context) as r:
        return json.load(r)


def _try(fn):
    try:
        return fn()
    except (OSError, ssl.SSLError, urllib.error.URLError):
        return None


def rogue_worker(tmp: Path, name: str, master_url: str, defaults: dict[str, str], log: Path, imds: Imds) -> subprocess.Popen:
    """A worker started by hand, not by the runner, with its own spark-defaults.conf."""
    conf = tmp / f"rogue-{name}"
    conf.mkdir()
    (conf / "spark-defaults.conf").write_text("".join(f"{k} {v}\n" for k, v in defaults.items()))
    env = dict(os.environ, SPARK_HOME=str(PYSPARK_HOME), STREAMING_CONSUMER_JARS_DIR=str(jars_dir()), SPARK_CONF_DIR=str(conf),
               SPARK_LOCAL_IP="127.0.0.1", SPARK_DAEMON_MEMORY="256m", SPARK_MASTER_URL=master_url,
               SPARK_WORKER_CORES="1", SPARK_WORKER_MEMORY="512m", SPARK_WORKER_WEBUI_PORT=str(free_port()),
               AWS_EC2_METADATA_SERVICE_ENDPOINT=imds.endpoint)
    return subprocess.Popen(["bash", str(ENTRYPOINT), "worker"], env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def s3a_flags_without_credentials(s3) -> list[str]:
    """S3A against moto, with no keys and no credentials provider: the default chain ends at the instance profile."""
    flags = []
    for k, v in s3.hadoop_conf().items():
        if k in ("fs.s3a.aws.credentials.provider", "fs.s3a.access.key", "fs.s3a.secret.key"):
            continue
        flags += ["--conf", f"spark.hadoop.{k}={v}"]
    return flags


@pytest.fixture
def imds():
    server = Imds()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def test_authenticated_encrypted_standalone_cluster_runs_the_consumer_and_refuses_outsiders(spark, kafka, s3, prefix, tmp_path, imds):
    spark_secret = secrets.token_hex(32)
    tls_pem, ca = make_tls(tmp_path)
    hosts = Hosts(tmp_path, imds, spark_secret, tls_pem)
    master_port, master_ui = free_port(), free_port(avoid_tls_clash=True)
    master_url = f"spark://127.0.0.1:{master_port}"
    master_https = f"https://127.0.0.1:{master_ui + 400}"
    assert hosts.tls_ui_ports["masterUi"] - 8080 == 400, "HTTPS ports are the HTTP ports + 400"
    procs: list[subprocess.Popen] = []
    # Ports are the test's (free ones); every security setting is the rendered runner's.
    try:
        procs.append(hosts.start("master", "master", tmp_path / "master.log",
                                 {"SPARK_MASTER_PORT": str(master_port), "SPARK_MASTER_WEBUI_PORT": str(master_ui)}))
        wait_until(lambda: _try(lambda: https_json(f"{master_https}/json/", ca)), 120, "the master's HTTPS UI")
        procs.append(hosts.start("worker", "worker", tmp_path / "worker.log",
                                 {"SPARK_MASTER_URL": master_url, "SPARK_WORKER_CORES": "2", "SPARK_WORKER_MEMORY": "1g",
                                  "SPARK_WORKER_WEBUI_PORT": str(free_port(avoid_tls_clash=True))}))
        alive = lambda: [w for w in https_json(f"{master_https}/json/", ca)["workers"] if w["state"] == "ALIVE"]  # noqa: E731
        wait_until(lambda: len(alive()) == 1, 120, "the worker to register")

        # What the runner wrote: the settings file is private, holds the secret, and the secret is on no command line.
        defaults = (hosts.run_dir / "master" / "spark-defaults.conf")
        assert stat.S_IMODE(defaults.stat().st_mode) == 0o600 and stat.S_IMODE(defaults.parent.stat().st_mode) == 0o700
        assert f"spark.authenticate.secret {spark_secret}" in defaults.read_text().splitlines()
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                assert spark_secret.encode() not in cmdline.read_bytes(), f"the Spark secret is on the command line of {cmdline.parent.name}"
            except (FileNotFoundError, ProcessLookupError, PermissionError):
                pass
        # The UI's HTTP port only redirects to HTTPS.
        try:
            urllib.request.build_opener(NoRedirect).open(f"http://127.0.0.1:{master_ui}/json/", timeout=5)
            raise AssertionError("the master UI answered over plain HTTP")
        except urllib.error.HTTPError as e:
            assert e.code in (301, 302, 307, 308) and e.headers["Location"].startswith("https://")

        # Outsiders: no secret, a wrong secret, the right secret without encryption. The master refuses each.
        rogue = {
            "no-secret": {},
            "wrong-secret": {"spark.authenticate": "true", "spark.authenticate.secret": secrets.token_hex(32),
                             "spark.network.crypto.enabled": "true"},
            "no-encryption": {"spark.authenticate": "true", "spark.authenticate.secret": spark_secret,
                              "spark.network.crypto.enabled": "false"},
        }
        rogue_logs = {name: tmp_path / f"rogue-{name}.log" for name in rogue}
        for name, conf in rogue.items():
            procs.append(rogue_worker(tmp_path, name, master_url, conf, rogue_logs[name], imds))

        # The consumer, as the deploy command delivers it: env and flags in the conf dir, the runner starts it.
        topic = f"secure-{uuid.uuid4().hex[:6]}"
        events = tmp_path / "events"
        events.mkdir()
        consumer_args = [
            "--bootstrap-servers", kafka.bootstrap, "--topic", topic,
            "--output", f"{prefix}/data/{topic}", "--dead-letter", f"{prefix}/dead-letter/{topic}",
            "--checkpoint", f"{prefix}/checkpoints/{topic}", "--trigger-interval", "2 seconds", "--kafka-auth", "none",
            *s3a_flags_without_credentials(s3),
            "--conf", "spark.sql.shuffle.partitions=2", "--conf", "spark.ui.enabled=false",
            "--conf", "spark.executor.memory=512m", "--conf", "spark.executor.cores=1", "--conf", "spark.cores.max=2",
        ]
        consumer_env = {"KAFKA_TOPICS": json.dumps([{"name": topic, "partitions": 2, "replicationFactor": 1}]),
                        "SPARK_EVENT_LOG_DIR": f"file://{events}", "SPARK_MASTER_URL": master_url}
        log = tmp_path / "consumer.log"
        consumer = hosts.start("master", "consumer", log, consumer_env, consumer_args)
        procs.append(consumer)
        run = JobRun(consumer, log)
        wait_until(lambda: any(e["event"] == "query_started" for e in run.events()) or consumer.poll() is not None, 240, "the query to start")
        assert consumer.poll() is None, run.log_tail()
        values, invalid = mixed_values(0, 30, "s")
        produce(spark, kafka.bootstrap, topic, values, partitions=2)

        def consumed():
            assert consumer.poll() is None, run.log_tail()
            return sum(e["rows_in"] for e in run.events() if e["event"] == "batch_progress") >= len(values)

        wait_until(consumed, 240, "the consumer to read every record")

        # Every outsider was refused, and only the runner's worker ever joined.
        for name, path in rogue_logs.items():
            wait_until(lambda: "Failed to connect to master" in path.read_text(errors="replace"), 120, f"the {name} worker to be refused")
        workers = https_json(f"{master_https}/json/", ca)["workers"]
        assert len(workers) == 1, workers

        consumer.send_signal(signal.SIGTERM)
        assert run.wait(120) == 0, run.log_tail()
    finally:
        stop_process_groups(procs)
        for p in procs:
            if p.returncode not in (0, None, -signal.SIGTERM, 143):
                print(f"process {p.args} exited {p.returncode}")

    assert_exactly_once(spark, kafka, prefix, topic, invalid)
    # The job's S3 writes used the credentials the metadata service handed out (IMDSv2, token-checked).
    assert imds.credential_reads > 0, "nothing read instance credentials from the metadata service"
    # Both executors ran on the authenticated worker, and the secret is redacted in the event log.
    [event_log] = list(events.iterdir())
    text = event_log.read_text()
    assert '"SparkListenerExecutorAdded"' in text
    assert spark_secret not in text


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None
