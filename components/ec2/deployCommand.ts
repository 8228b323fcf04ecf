import { MAX_CONSUMER_STOP_TIMEOUT_SECONDS } from "../consumerArgs";
import {
    CONF_DIR,
    checkSingleLine,
    DOCKER_STOP_MARGIN_SECONDS,
    IMAGE_URI_PATTERN,
    MASTER_ROLES,
    REVISION_PATTERN,
    STOP_GRACE_SECONDS,
    SYSTEMD_DIR,
} from "./userData";

// The consumer's deployment on the master: the SSM Command document whose script writes the consumer's image, env
// and flags (userData.ts lays out the host and its units) and restarts the driver, and the files it writes. Rendered
// as plain bash so the tests run it through shellcheck and against stub systemctl/docker.

/** Placeholders of the SSM deploy command, filled by the association's parameters. */
export const DEPLOY_PARAMETERS = {
    imageUri: "imageUri",
    consumerEnv: "consumerEnv",
    consumerArgs: "consumerArgs",
    securityRevision: "securityRevision",
    stopTimeoutSeconds: "stopTimeoutSeconds",
} as const;

/** Base64, the only alphabet the deploy command's env and args parameters accept: nothing to quote or inject. */
export const BASE64_PATTERN = "^[A-Za-z0-9+/=]+$";
/** Whole seconds, the only form the deploy command's stop timeout accepts. */
export const SECONDS_PATTERN = "^[0-9]{1,5}$";

/** The job flags as the runner reads them back (`mapfile -t`): one per line, so "30 seconds" stays one argument. */
export function renderArgsFile(args: string[]): string {
    return args.map((a) => `${checkSingleLine("a consumer flag", a)}\n`).join("");
}

/**
 * The consumer unit's stop settings, as a systemd drop-in the deploy command installs: `docker stop` waits the
 * consumer's stop timeout (its grace period plus the JVM's shutdown) and systemd waits a little longer. A drop-in,
 * not the unit in the user data: a new grace period must not replace the master.
 */
export function renderConsumerStopDropIn(stopTimeoutSeconds: number): string {
    return [
        "# Written by the SSM deploy command: consumer.stopGracePeriodSeconds plus the JVM's shutdown.",
        "[Service]",
        `TimeoutStopSec=${stopTimeoutSeconds + DOCKER_STOP_MARGIN_SECONDS}`,
        "ExecStop=",
        `ExecStop=/usr/bin/docker stop --time ${stopTimeoutSeconds} spark-consumer`,
        "",
    ].join("\n");
}

/**
 * The SSM deploy command run on the master by the association whenever the image or a consumer setting changes.
 * `{{ name }}` placeholders are filled by SSM from the association's parameters (their patterns are checked first,
 * so nothing in them can break out of the quotes). Stops the old driver and waits for it to exit before the
 * new one starts: exactly one consumer per checkpoint.
 */
export function renderConsumerDeploy(): string {
    const p = (name: string) => `{{ ${name} }}`;
    return `#!/bin/bash
set -euo pipefail
conf=${CONF_DIR}

# On a fresh master this command can arrive while cloud-init is still installing Docker and the units.
cloud-init status --wait >/dev/null || true
if ! systemctl cat spark-consumer.service >/dev/null 2>&1; then
  echo "spark-consumer.service is not installed: the master's user data failed; see /var/log/cloud-init-output.log" >&2
  exit 1
fi

dropin_dir=${SYSTEMD_DIR}/spark-consumer.service.d
stop_timeout='${p(DEPLOY_PARAMETERS.stopTimeoutSeconds)}'
case "$stop_timeout" in
  ''|*[!0-9]*)
    echo "the consumer's stop timeout must be a whole number of seconds; got '$stop_timeout'" >&2
    exit 1
    ;;
  *) ;;
esac

staging="$(mktemp -d)"
trap 'rm -rf "$staging"' EXIT
echo '${p(DEPLOY_PARAMETERS.imageUri)}' > "$staging/image"
echo '${p(DEPLOY_PARAMETERS.consumerEnv)}' | base64 --decode > "$staging/consumer.env"
echo '${p(DEPLOY_PARAMETERS.consumerArgs)}' | base64 --decode > "$staging/consumer.args"
echo '${p(DEPLOY_PARAMETERS.securityRevision)}' > "$staging/security-revision"
echo "$stop_timeout" > "$staging/consumer.stop-timeout"
cat > "$staging/stop-timeout.conf" <<DROPIN
# Written by the SSM deploy command: consumer.stopGracePeriodSeconds plus the JVM's shutdown.
[Service]
TimeoutStopSec=$((stop_timeout + ${DOCKER_STOP_MARGIN_SECONDS}))
ExecStop=
ExecStop=/usr/bin/docker stop --time $stop_timeout spark-consumer
DROPIN

changed=false
for f in image consumer.env consumer.args security-revision consumer.stop-timeout; do
  if ! cmp --silent "$staging/$f" "$conf/$f"; then
    changed=true
  fi
done
if [ "$changed" = false ] && systemctl is-active --quiet spark-consumer.service; then
  echo "consumer image and settings unchanged and the consumer is running: nothing to do"
  exit 0
fi

# One driver per checkpoint: the old driver is gone before the new one starts. It stops under the stop timeout it
# was started with (the drop-in installed then), so a shorter new grace period never cuts a running batch short.
old_timeout="$(cat "$conf/consumer.stop-timeout" 2>/dev/null || echo ${STOP_GRACE_SECONDS})"
systemctl stop spark-consumer.service
for _ in $(seq 1 $((old_timeout + ${DOCKER_STOP_MARGIN_SECONDS}))); do
  if ! docker container inspect spark-consumer >/dev/null 2>&1; then
    break
  fi
  sleep 1
done
if docker container inspect spark-consumer >/dev/null 2>&1; then
  echo "the old driver (container spark-consumer) did not exit; not starting a second one on the same checkpoint" >&2
  exit 1
fi

image_changed=false
if ! cmp --silent "$staging/image" "$conf/image" || ! cmp --silent "$staging/security-revision" "$conf/security-revision"; then
  image_changed=true
fi
image="$(cat "$staging/image")"
install -m 0644 "$staging/image" "$conf/image"
install -m 0600 "$staging/consumer.env" "$conf/consumer.env"
install -m 0600 "$staging/consumer.args" "$conf/consumer.args"
install -m 0644 "$staging/security-revision" "$conf/security-revision"
install -d -m 0755 "$dropin_dir"
install -m 0644 "$staging/stop-timeout.conf" "$dropin_dir/stop-timeout.conf"
install -m 0644 "$staging/consumer.stop-timeout" "$conf/consumer.stop-timeout"
systemctl daemon-reload

systemctl enable ${MASTER_ROLES.map((r) => `spark-${r}.service`).join(" ")}
if [ "$image_changed" = true ]; then
  # Master and history run the same build (and the same Spark secret) as the driver; the workers reconnect to
  # the restarted master.
  systemctl restart spark-master.service spark-history.service
else
  systemctl start spark-master.service spark-history.service
fi
systemctl start spark-consumer.service
echo "consumer started with $image"
`;
}

/** The deploy command's bound: two of the longest stops any config allows (see deployDocumentContent), and the start. */
export const DEPLOY_TIMEOUT_SECONDS = 2 * (MAX_CONSUMER_STOP_TIMEOUT_SECONDS + DOCKER_STOP_MARGIN_SECONDS) + 900;

/** Fills the deploy command's placeholders the way SSM would (for tests and for reading the script as it runs). */
export function fillDeployParameters(script: string, values: Record<keyof typeof DEPLOY_PARAMETERS, string>): string {
    return script.replace(/\{\{ (\w+) \}\}/g, (whole, name: string) => {
        if (!(name in values)) {
            throw new Error(`the deploy command uses an unknown parameter ${whole}`);
        }
        return values[name as keyof typeof DEPLOY_PARAMETERS];
    });
}

/**
 * The SSM Command document (schema 2.2) that runs the deploy command with its parameters' patterns. Its timeout
 * covers the slowest stop any config allows (an old consumer stopping under the longest stop timeout, twice: systemd,
 * then the wait for the container), so it does not change with config.
 */
export function deployDocumentContent(): string {
    return JSON.stringify({
        schemaVersion: "2.2",
        description: "Deploys the Spark consumer on the master: writes its image and settings, stops the old driver, starts the new one.",
        parameters: {
            [DEPLOY_PARAMETERS.imageUri]: {
                type: "String",
                description: "The consumer image, by digest.",
                allowedPattern: IMAGE_URI_PATTERN,
            },
            [DEPLOY_PARAMETERS.consumerEnv]: {
                type: "String",
                description: "The consumer's env file (docker --env-file), base64.",
                allowedPattern: BASE64_PATTERN,
            },
            [DEPLOY_PARAMETERS.consumerArgs]: {
                type: "String",
                description: "The consumer's job flags, one per line, base64.",
                allowedPattern: BASE64_PATTERN,
            },
            [DEPLOY_PARAMETERS.securityRevision]: {
                type: "String",
                description: "The versions of the Spark secret and UI certificate; a new one restarts every role on the master.",
                allowedPattern: REVISION_PATTERN,
            },
            [DEPLOY_PARAMETERS.stopTimeoutSeconds]: {
                type: "String",
                description: "How long docker stop lets the consumer finish its batch and shut down, seconds.",
                allowedPattern: SECONDS_PATTERN,
            },
        },
        mainSteps: [
            {
                action: "aws:runShellScript",
                name: "deployConsumer",
                inputs: {
                    timeoutSeconds: String(DEPLOY_TIMEOUT_SECONDS),
                    runCommand: renderConsumerDeploy().replace(/\n$/, "").split("\n"),
                },
            },
        ],
    });
}
