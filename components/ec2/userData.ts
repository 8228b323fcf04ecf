import { renderSecurityStep, SecurityStepOptions } from "./sparkSecurity";

// What runs on the Spark hosts, rendered as plain bash so tests can run every script through shellcheck.
//
// Layout on a host (all of it static for the life of the host, except the files the deploy command writes):
//   /etc/spark-streaming/host.env        env for every role on the host (region, master URL, history log dir)
//   /etc/spark-streaming/image           the consumer image, `repo@sha256:...` (worker: user data; master: SSM)
//   /etc/spark-streaming/consumer.env    the consumer's env (written by the SSM deploy command, deployCommand.ts)
//   /etc/spark-streaming/consumer.args   the consumer's job flags, one per line (written by the SSM deploy command)
//   /usr/local/sbin/spark-role <role>    logs in to ECR, pulls the image, writes Spark's security settings from
//                                        Secrets Manager to /run/spark-streaming/<role>/ (tmpfs, see sparkSecurity.ts)
//                                        and execs `docker run --network host ... <image> <role>`
//   spark-<role>.service                 one systemd unit per role, Restart=always
//
// The master's user data holds nothing that changes with a new image or a consumer setting: those arrive through
// the SSM deploy command, so a new image restarts the consumer in place instead of replacing the master.

/** Ports of the Spark standalone cluster, as the image's entrypoint roles bind them. */
export const SPARK_PORTS = {
    master: 7077,
    masterUi: 8080,
    workerUi: 8081,
    appUi: 4040,
    historyUi: 18080,
} as const;

/** The roles of the consumer image each host runs, one systemd unit each. */
export const MASTER_ROLES = ["master", "history", "consumer"] as const;
export const WORKER_ROLES = ["worker"] as const;
export type SparkRole = (typeof MASTER_ROLES)[number] | (typeof WORKER_ROLES)[number];

export const CONF_DIR = "/etc/spark-streaming";
export const RUNNER = "/usr/local/sbin/spark-role";
export const SYSTEMD_DIR = "/etc/systemd/system";
/**
 * `docker stop` grace of the master, worker and history roles. The consumer's comes from its config
 * (`consumerStopTimeoutSeconds`), through a systemd drop-in the deploy command writes (deployCommand.ts).
 */
export const STOP_GRACE_SECONDS = 60;
/** What systemd allows on top of `docker stop --time` before it gives up on the unit's stop. */
export const DOCKER_STOP_MARGIN_SECONDS = 30;

const DIGEST_PINNED = /^[a-z0-9][a-z0-9.-]*(:[0-9]+)?\/[a-z0-9._/-]+@sha256:[a-f0-9]{64}$/;

/** The pattern the deploy command accepts for the image (SSM checks it before the command runs). */
export const IMAGE_URI_PATTERN = DIGEST_PINNED.source;
/** The security revision (secret version ids): letters, digits, '.', '_' and '-' only. */
export const REVISION_PATTERN = "^[A-Za-z0-9._-]{1,256}$";

/** Throws unless the image is named by digest: hosts must run exactly the build that was reviewed, never a moving tag. */
export function checkImagePinned(imageUri: string): string {
    if (!DIGEST_PINNED.test(imageUri)) {
        throw new Error(
            `ec2 engine: the consumer image must be referenced by digest (registry/repository@sha256:<64 hex>) so hosts run exactly the pushed build; got "${imageUri}"`,
        );
    }
    return imageUri;
}

/** Throws unless the security revision matches REVISION_PATTERN (it lands in a script and an SSM parameter). */
export function checkRevision(revision: string): string {
    if (!new RegExp(REVISION_PATTERN).test(revision)) {
        throw new Error(`ec2 engine: the security revision must match ${REVISION_PATTERN}; got ${JSON.stringify(revision)}`);
    }
    return revision;
}

/** Throws if a value would not survive a line-based file (env file, user data heredoc) unchanged. */
export function checkSingleLine(what: string, value: string): string {
    if (/[\n\r\0]/.test(value)) {
        throw new Error(`ec2 engine: ${what} must be a single line without NUL, CR or LF characters; got ${JSON.stringify(value)}`);
    }
    return value;
}

/** `KEY=value` lines for `docker run --env-file` (values are taken literally: no quotes, no expansion). */
export function renderEnvFile(env: Record<string, string>): string {
    return Object.keys(env)
        .sort()
        .map((k) => {
            if (!/^[A-Z_][A-Z0-9_]*$/.test(k)) {
                throw new Error(`ec2 engine: environment variable names must be UPPER_SNAKE_CASE; got "${k}"`);
            }
            return `${k}=${checkSingleLine(`the value of ${k}`, env[k])}\n`;
        })
        .join("");
}

export interface RunnerOptions {
    readonly region: string;
    /** Where the runner reads Spark's secret and the UI TLS material (Secrets Manager ARNs). */
    readonly security: SecurityStepOptions;
    /** Bucket that holds the Spark event logs, when a role on this host reads or writes them (master host). */
    readonly eventLogBucket?: string;
    /** Key of the event-log "directory" marker, e.g. `logs/spark-events/`. */
    readonly eventLogPrefix?: string;
}

/** The script every unit runs: ECR login with the instance role, pull, then exec `docker run` in the foreground. */
export function renderRunner(opts: RunnerOptions): string {
    const region = checkSingleLine("region", opts.region);
    const eventLogs =
        opts.eventLogBucket !== undefined && opts.eventLogPrefix !== undefined
            ? `
# Spark refuses to start the history server, or a driver that logs events, when the log directory does not exist;
# on S3 a directory is a zero-byte marker object, and a lifecycle rule may have expired it.
case "$role" in
  history|consumer)
    if ! aws s3api head-object --region "$region" --bucket '${checkSingleLine("bucket", opts.eventLogBucket)}' --key '${checkSingleLine("prefix", opts.eventLogPrefix)}' >/dev/null 2>&1; then
      aws s3api put-object --region "$region" --bucket '${opts.eventLogBucket}' --key '${opts.eventLogPrefix}' >/dev/null
    fi
    ;;
  *) ;;
esac
`
            : "";
    return `#!/bin/bash
# Runs one role of the consumer image as the foreground process of its systemd unit (spark-<role>.service).
set -euo pipefail

role="\${1:-}"
case "$role" in
  ${[...MASTER_ROLES, ...WORKER_ROLES].join("|")}) ;;
  *)
    echo "usage: spark-role ${[...MASTER_ROLES, ...WORKER_ROLES].join("|")}; got '$role'" >&2
    exit 2
    ;;
esac
conf=${CONF_DIR}
region='${region}'

image="$(cat "$conf/image")"
case "$image" in
  *@sha256:*) ;;
  *)
    echo "spark-role: $conf/image must name the image by digest (repository@sha256:...); got '$image'" >&2
    exit 1
    ;;
esac
registry="\${image%%/*}"

# IMDSv2 only (tokens required): the address Spark advertises must be this host's private address. The endpoint
# is the one the AWS SDKs and CLI honour (AWS_EC2_METADATA_SERVICE_ENDPOINT), unset on the hosts.
imds="\${AWS_EC2_METADATA_SERVICE_ENDPOINT:-http://169.254.169.254}"
imds="\${imds%/}"
token="$(curl -sS --fail -X PUT "$imds/latest/api/token" -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')"
local_ip="$(curl -sS --fail -H "X-aws-ec2-metadata-token: $token" "$imds/latest/meta-data/local-ipv4")"

# ECR tokens last 12 hours, so log in on every start rather than once at boot.
aws ecr get-login-password --region "$region" | docker login --username AWS --password-stdin "$registry"
docker pull --quiet "$image"
${eventLogs}${renderSecurityStep(opts.security)}
env_files=(--env-file "$conf/host.env")
if [ -f "$conf/$role.env" ]; then
  env_files+=(--env-file "$conf/$role.env")
fi
args=()
if [ -f "$conf/$role.args" ]; then
  mapfile -t args < "$conf/$role.args"
fi

# Host network: Spark's driver, executors and block managers listen on ports they pick at run time, and the
# container is no extra hop from the instance metadata service (the hosts' IMDS hop limit is 1: a container on a
# bridge network gets no credentials). The settings are mounted at the same path inside.
exec docker run --rm --name "spark-$role" --network host \\
  --volume "$run:$run:ro" --env "SPARK_CONF_DIR=$run" \\
  "\${env_files[@]}" \\
  --env "SPARK_LOCAL_IP=$local_ip" \\
  --env "SPARK_MASTER_HOST=$local_ip" \\
  "$image" "$role" "\${args[@]}"
`;
}

/** What a unit needs before it may start (files the deploy command delivers on the master). */
function unitConditions(role: SparkRole, delivered: boolean): string[] {
    if (!delivered) {
        return [];
    }
    const files = [`${CONF_DIR}/image`, ...(role === "consumer" ? [`${CONF_DIR}/consumer.env`, `${CONF_DIR}/consumer.args`] : [])];
    return files.map((f) => `ConditionPathExists=${f}`);
}

const ROLE_DESCRIPTIONS: Record<SparkRole, string> = {
    master: `Spark standalone master (port ${SPARK_PORTS.master}, UI ${SPARK_PORTS.masterUi})`,
    history: `Spark history server (UI ${SPARK_PORTS.historyUi})`,
    consumer: `Spark Structured Streaming consumer, driver in client mode (UI ${SPARK_PORTS.appUi})`,
    worker: `Spark standalone worker (UI ${SPARK_PORTS.workerUi})`,
};

/**
 * The systemd unit of one role. Restart=always with no start limit: a crashed driver or a worker that gave up on
 * an unreachable master comes back by itself. Stopping waits for the container to exit, so a redeploy never
 * runs two drivers on one checkpoint.
 */
export function renderUnit(role: SparkRole, delivered: boolean): string {
    return [
        "[Unit]",
        `Description=${ROLE_DESCRIPTIONS[role]}`,
        "Requires=docker.service",
        "After=docker.service network-online.target",
        "Wants=network-online.target",
        "StartLimitIntervalSec=0",
        ...unitConditions(role, delivered),
        "",
        "[Service]",
        "Type=simple",
        "Environment=HOME=/root",
        "Restart=always",
        "RestartSec=10",
        `TimeoutStopSec=${STOP_GRACE_SECONDS + DOCKER_STOP_MARGIN_SECONDS}`,
        `ExecStartPre=-/usr/bin/docker rm --force spark-${role}`,
        `ExecStart=${RUNNER} ${role}`,
        `ExecStop=/usr/bin/docker stop --time ${STOP_GRACE_SECONDS} spark-${role}`,
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ].join("\n");
}

function heredoc(path: string, content: string, mode: string, marker: string): string {
    if (content.split("\n").includes(marker)) {
        throw new Error(`ec2 engine: heredoc marker ${marker} occurs in the content of ${path}`);
    }
    const body = content.endsWith("\n") ? content : `${content}\n`;
    return `cat > ${path} <<'${marker}'\n${body}${marker}\nchmod ${mode} ${path}\n`;
}

function installDocker(): string {
    return `# Docker from the Amazon Linux repositories; the AWS CLI (ECR login, Secrets Manager) ships with Amazon Linux 2023,
# openssl builds the UI keystore.
dnf install -y docker openssl
systemctl enable --now docker.service
install -d -m 0755 ${CONF_DIR}
`;
}

function units(roles: readonly SparkRole[], delivered: boolean): string {
    return roles.map((r) => heredoc(`/etc/systemd/system/spark-${r}.service`, renderUnit(r, delivered), "0644", "UNIT")).join("");
}

export interface MasterUserDataOptions {
    readonly region: string;
    /** The master's stable name in the private hosted zone, e.g. `spark-master.spark.internal`. */
    readonly masterDnsName: string;
    /** The data lake bucket, for the history server's event logs. */
    readonly bucket: string;
    /** Event log prefix in the bucket, e.g. `logs/spark-events/`. */
    readonly eventLogPrefix: string;
    /** Where the roles read Spark's secret and the UI TLS material. */
    readonly security: SecurityStepOptions;
}

/** The master's host env: no image, no consumer setting (those would replace the host when they change). */
export function masterHostEnv(opts: MasterUserDataOptions): Record<string, string> {
    return {
        AWS_REGION: opts.region,
        SPARK_HISTORY_LOG_DIR: `s3a://${opts.bucket}/${opts.eventLogPrefix}`,
        SPARK_MASTER_PORT: String(SPARK_PORTS.master),
        SPARK_MASTER_URL: masterUrl(opts.masterDnsName),
        SPARK_MASTER_WEBUI_PORT: String(SPARK_PORTS.masterUi),
    };
}

/** `spark://<name>:7077`: workers and the driver find the master by its DNS name, which survives a replaced master. */
export function masterUrl(masterDnsName: string): string {
    return `spark://${masterDnsName}:${SPARK_PORTS.master}`;
}

/**
 * Cloud-init user data of the master: Docker, the runner, and the master, history and consumer units. The units
 * start once the SSM deploy command has delivered the image (and the consumer's settings); it enables them.
 */
export function renderMasterUserData(opts: MasterUserDataOptions): string {
    return `#!/bin/bash
# Spark master host: master, history server and the consumer driver, each a systemd unit running the consumer image.
set -euo pipefail

${installDocker()}
${heredoc(`${CONF_DIR}/host.env`, renderEnvFile(masterHostEnv(opts)), "0644", "ENV")}
${heredoc(RUNNER, renderRunner({ region: opts.region, eventLogBucket: opts.bucket, eventLogPrefix: opts.eventLogPrefix, security: opts.security }), "0755", "RUNNER")}
${units(MASTER_ROLES, true)}
# The image and the consumer's settings arrive through the SSM deploy command, which waits for this script,
# writes them and starts the units; enabling them here brings them back after a reboot.
systemctl daemon-reload
systemctl enable ${MASTER_ROLES.map((r) => `spark-${r}.service`).join(" ")}
`;
}

export interface WorkerUserDataOptions {
    readonly region: string;
    readonly masterDnsName: string;
    /** The consumer image by digest: a new image is a new launch template version, which rolls the workers. */
    readonly imageUri: string;
    /** Where the worker reads Spark's secret and the UI TLS material. */
    readonly security: SecurityStepOptions;
    /** The secrets' versions: a rotated secret is a new launch template version, which rolls the workers onto it. */
    readonly securityRevision: string;
}

/** Cloud-init user data of a worker: Docker, the runner and the worker unit, started at once. */
export function renderWorkerUserData(opts: WorkerUserDataOptions): string {
    const env = { AWS_REGION: opts.region, SPARK_MASTER_URL: masterUrl(opts.masterDnsName) };
    return `#!/bin/bash
# Spark worker host: one worker joining the master by its DNS name; a replaced worker rejoins the same way.
# Security revision ${checkRevision(opts.securityRevision)} (the Spark secret and UI certificate it reads at start).
set -euo pipefail

${installDocker()}
${heredoc(`${CONF_DIR}/host.env`, renderEnvFile(env), "0644", "ENV")}
${heredoc(`${CONF_DIR}/image`, `${checkImagePinned(opts.imageUri)}\n`, "0644", "IMAGE")}
${heredoc(RUNNER, renderRunner({ region: opts.region, security: opts.security }), "0755", "RUNNER")}
${units(WORKER_ROLES, false)}
systemctl daemon-reload
systemctl enable --now spark-worker.service
`;
}
