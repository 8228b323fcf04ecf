import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { deployDocumentContent, DEPLOY_PARAMETERS, fillDeployParameters, renderArgsFile, renderConsumerDeploy, renderConsumerStopDropIn } from "../components/ec2/deployCommand";
import {
    checkImagePinned,
    checkSingleLine,
    CONF_DIR,
    IMAGE_URI_PATTERN,
    renderEnvFile,
    renderMasterUserData,
    renderRunner,
    renderWorkerUserData,
    SYSTEMD_DIR,
} from "../components/ec2/userData";
import { RUN_DIR, sparkSecurityConf } from "../components/ec2/sparkSecurity";
import { shellcheckBinary, shellcheckFile } from "./support/shellcheck";

// The host scripts run for real here: shellcheck on every rendered script (as shipped, heredocs included), and
// the runner and the SSM deploy command executed by bash against stub docker/aws/systemctl commands.

const IMAGE = `123456789012.dkr.ecr.eu-west-1.amazonaws.com/spark-streaming-consumer@sha256:${"ab".repeat(32)}`;
const NEW_IMAGE = `123456789012.dkr.ecr.eu-west-1.amazonaws.com/spark-streaming-consumer@sha256:${"cd".repeat(32)}`;
const SECURITY = {
    authSecretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:spark-auth-AbCdEf",
    tlsSecretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ui-tls-AbCdEf",
};
const REVISION = "0123abcd.4567ef89";
const MASTER_OPTS = { region: "eu-west-1", masterDnsName: "spark-master.spark.internal", bucket: "lake-bucket", eventLogPrefix: "logs/spark-events/", security: SECURITY };
const WORKER_OPTS = { region: "eu-west-1", masterDnsName: "spark-master.spark.internal", imageUri: IMAGE, security: SECURITY, securityRevision: REVISION };
const SPARK_SECRET = "S3cretS3cretS3cretS3cretS3cretS3cretS3cretS3cretS3cretS3cret1234";

let tmp: string;
/** A real key and self-signed certificate, PEM, as the UI TLS secret holds them (key first, then the chain). */
let tlsPem: string;
beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ec2-userdata-"));
    const r = spawnSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path.join(tmp, "k.pem"), "-out", path.join(tmp, "c.pem"), "-subj", "/CN=localhost", "-days", "1"], { encoding: "utf8" });
    if (r.status !== 0) {
        throw new Error(`openssl could not make a test certificate: ${r.stderr}`);
    }
    tlsPem = fs.readFileSync(path.join(tmp, "k.pem"), "utf8") + fs.readFileSync(path.join(tmp, "c.pem"), "utf8");
    fs.writeFileSync(path.join(tmp, "tls.pem"), tlsPem);
});
afterAll(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
});

function shellcheck(name: string, script: string): { status: number | null; output: string } {
    const file = path.join(tmp, name);
    fs.writeFileSync(file, script);
    return shellcheckFile(file);
}

/** The files a user data script writes with `cat > PATH <<'MARKER'`, by path. */
function heredocs(script: string): Record<string, string> {
    const out: Record<string, string> = {};
    const re = /^cat > (\S+) <<'(\w+)'\n([\s\S]*?)^\2$/gm;
    for (const m of script.matchAll(re)) {
        out[m[1]] = m[3];
    }
    return out;
}

function shellScriptsIn(script: string): [string, string][] {
    return Object.entries(heredocs(script)).filter(([, body]) => body.startsWith("#!/bin/bash"));
}

describe("shellcheck", () => {
    test("shellcheck is installed where the tests look for it", () => {
        expect(() => shellcheckBinary()).not.toThrow();
    });

    test("shellcheck catches a broken script (the check can fail)", () => {
        const r = shellcheck("broken.sh", "#!/bin/bash\nrm -rf $dir/*\n");
        expect(r.status).not.toBe(0);
        expect(r.output).toMatch(/SC2086|SC2115/);
    });

    test.each([
        ["master user data", () => renderMasterUserData(MASTER_OPTS)],
        ["worker user data", () => renderWorkerUserData(WORKER_OPTS)],
    ])("%s passes shellcheck, and so does every script it installs", (what, render) => {
        const script = render();
        const scripts: [string, string][] = [[what, script], ...shellScriptsIn(script)];
        expect(scripts.length).toBe(2);
        for (const [name, body] of scripts) {
            const r = shellcheck(`${name.replace(/\W+/g, "_")}.sh`, body);
            expect({ name, ...r }).toEqual({ name, status: 0, output: "" });
        }
    });

    test("the SSM deploy command passes shellcheck with its parameters filled in", () => {
        const filled = fillDeployParameters(renderConsumerDeploy(), { imageUri: IMAGE, consumerEnv: "QT0xCg==", consumerArgs: "eAo=", securityRevision: REVISION, stopTimeoutSeconds: "180" });
        expect(shellcheck("deploy.sh", filled)).toEqual({ status: 0, output: "" });
    });
});

describe("master user data", () => {
    const script = renderMasterUserData(MASTER_OPTS);
    const files = heredocs(script);

    test("installs and enables Docker", () => {
        expect(script).toMatch(/^dnf install -y docker openssl$/m);
        expect(script).toMatch(/^systemctl enable --now docker.service$/m);
    });

    test.each(["master", "history", "consumer"])("runs the %s role as a unit that restarts on failure", (role) => {
        const unit = files[`/etc/systemd/system/spark-${role}.service`];
        expect(unit).toContain(`ExecStart=/usr/local/sbin/spark-role ${role}\n`);
        expect(unit).toContain("Restart=always\n");
        expect(unit).toMatch(/^RestartSec=\d+$/m);
        expect(unit).toContain("StartLimitIntervalSec=0\n");
        expect(unit).toContain(`ExecStop=/usr/bin/docker stop --time 60 spark-${role}\n`);
        expect(script).toMatch(new RegExp(`^systemctl enable .*spark-${role}\\.service`, "m"));
    });

    test("points the roles at the master's DNS name and the history server at the event logs", () => {
        const env = files[`${CONF_DIR}/host.env`];
        expect(env).toContain("SPARK_MASTER_URL=spark://spark-master.spark.internal:7077\n");
        expect(env).toContain("SPARK_HISTORY_LOG_DIR=s3a://lake-bucket/logs/spark-events/\n");
        expect(env).toContain("SPARK_MASTER_WEBUI_PORT=8080\n");
    });

    test("holds no image and no consumer setting, so neither replaces the master", () => {
        expect(script).not.toMatch(/@sha256:[0-9a-f]{64}/);
        expect(script).not.toContain(`${CONF_DIR}/image <<`);
        expect(script).not.toContain("--bootstrap-servers");
    });

    test("the consumer waits for the settings the deploy command delivers", () => {
        const unit = files["/etc/systemd/system/spark-consumer.service"];
        expect(unit).toContain(`ConditionPathExists=${CONF_DIR}/consumer.env\n`);
        expect(unit).toContain(`ConditionPathExists=${CONF_DIR}/consumer.args\n`);
    });
});

describe("worker user data", () => {
    const script = renderWorkerUserData(WORKER_OPTS);
    const files = heredocs(script);

    test("pins the image by digest", () => {
        expect(files[`${CONF_DIR}/image`]).toBe(`${IMAGE}\n`);
    });

    test("starts the worker unit at once, restarting on failure", () => {
        expect(script).toMatch(/^systemctl enable --now spark-worker.service$/m);
        const unit = files["/etc/systemd/system/spark-worker.service"];
        expect(unit).toContain("ExecStart=/usr/local/sbin/spark-role worker\n");
        expect(unit).toContain("Restart=always\n");
        expect(unit).not.toContain("ConditionPathExists");
    });

    test("finds the master by its stable DNS name", () => {
        expect(files[`${CONF_DIR}/host.env`]).toContain("SPARK_MASTER_URL=spark://spark-master.spark.internal:7077\n");
    });

    test("refuses an image referenced by tag", () => {
        expect(() => renderWorkerUserData({ ...WORKER_OPTS, imageUri: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/c:latest" })).toThrow(/by digest/);
    });
});

describe("IMDS hop limit 1 holds because no container is a network hop away", () => {
    /** Every `docker run` command in a script, continuation lines joined. */
    function dockerRuns(script: string): string[] {
        const joined = script.replace(/\s*\\\n\s*/g, " ");
        return joined.split("\n").filter((l) => /\bdocker run\b/.test(l) && !l.trimStart().startsWith("#"));
    }

    test.each([
        ["master user data", () => renderMasterUserData(MASTER_OPTS)],
        ["worker user data", () => renderWorkerUserData(WORKER_OPTS)],
        ["deploy command", () => fillDeployParameters(renderConsumerDeploy(), { imageUri: IMAGE, consumerEnv: "QT0xCg==", consumerArgs: "eAo=", securityRevision: REVISION, stopTimeoutSeconds: "180" })],
    ])("every docker run in the %s uses the host network", (_what, render) => {
        const runs = dockerRuns(render());
        for (const run of runs) {
            expect(run).toMatch(/ --network host /);
        }
        expect(dockerRuns("docker run --rm image\nexec docker run --network host \\\n  x")).toEqual(["docker run --rm image", "exec docker run --network host x"]);
    });

    test("the user data scripts do start containers (the check above is not vacuous)", () => {
        expect(dockerRuns(renderWorkerUserData(WORKER_OPTS)).length).toBe(1);
        expect(dockerRuns(renderMasterUserData(MASTER_OPTS)).length).toBe(1);
    });
});

describe("validation", () => {
    test("an image without a digest is refused", () => {
        expect(() => checkImagePinned("repo.example.com/consumer:1.0")).toThrow(/must be referenced by digest/);
        expect(checkImagePinned(IMAGE)).toBe(IMAGE);
    });

    test("a value with a line break is refused for line-based files", () => {
        expect(() => checkSingleLine("KAFKA_TOPICS", "[\n]")).toThrow(/single line/);
    });

    test("env names must be UPPER_SNAKE_CASE", () => {
        expect(() => renderEnvFile({ "bad-name": "x" })).toThrow(/UPPER_SNAKE_CASE/);
    });

    test("the deploy document's image pattern is the one the hosts accept", () => {
        const doc = JSON.parse(deployDocumentContent());
        expect(doc.parameters.imageUri.allowedPattern).toBe(IMAGE_URI_PATTERN);
        expect(new RegExp(IMAGE_URI_PATTERN).test(IMAGE)).toBe(true);
        expect(new RegExp(IMAGE_URI_PATTERN).test("repo/consumer:latest")).toBe(false);
        // Every placeholder in the command is a declared parameter.
        const used = [...doc.mainSteps[0].inputs.runCommand.join("\n").matchAll(/\{\{ (\w+) \}\}/g)].map((m) => m[1]).sort();
        expect([...new Set(used)]).toEqual(Object.keys(DEPLOY_PARAMETERS).sort());
        expect(Object.keys(doc.parameters).sort()).toEqual(Object.keys(DEPLOY_PARAMETERS).sort());
        expect(new RegExp(doc.parameters.stopTimeoutSeconds.allowedPattern).test("180")).toBe(true);
        expect(new RegExp(doc.parameters.stopTimeoutSeconds.allowedPattern).test("180; reboot")).toBe(false);
    });
});

// --- Executing the scripts against stubs. Each stub appends its name and argv (one arg per line, then a blank
// line) to calls.log; the scripts run with the conf dir moved into a temp folder.

interface Sandbox {
    readonly dir: string;
    readonly conf: string;
    /** Stands for the tmpfs under /run where the runner writes Spark's settings. */
    readonly run: string;
    readonly log: string;
}

function sandbox(name: string, stubs: Record<string, string>): Sandbox {
    const dir = fs.mkdtempSync(path.join(tmp, `${name}-`));
    const bin = path.join(dir, "bin");
    const conf = path.join(dir, "conf");
    const run = path.join(dir, "run");
    fs.mkdirSync(bin);
    fs.mkdirSync(conf);
    fs.mkdirSync(run);
    const log = path.join(dir, "calls.log");
    for (const [cmd, body] of Object.entries(stubs)) {
        fs.writeFileSync(
            path.join(bin, cmd),
            `#!/bin/bash\nrecord="$(printf '%s\\n' "${cmd}" "$@")"\nprintf '%s\\n\\n' "$record" >> '${log}'\n${body}\n`,
            { mode: 0o755 },
        );
    }
    return { dir, conf, run, log };
}

function run(sb: Sandbox, script: string, args: string[] = []): { status: number | null; stderr: string; calls: string[][] } {
    const file = path.join(sb.dir, "script.sh");
    fs.writeFileSync(file, script.split(CONF_DIR).join(sb.conf).split(RUN_DIR).join(sb.run), { mode: 0o755 });
    fs.rmSync(sb.log, { force: true });
    const r = spawnSync("bash", [file, ...args], {
        encoding: "utf8",
        env: { PATH: `${path.join(sb.dir, "bin")}:/usr/bin:/bin`, HOME: sb.dir, TLS_PEM: path.join(tmp, "tls.pem") },
    });
    const raw = fs.existsSync(sb.log) ? fs.readFileSync(sb.log, "utf8") : "";
    const calls = raw
        .split("\n\n")
        .filter((c) => c !== "")
        .map((c) => c.split("\n"));
    return { status: r.status, stderr: r.stderr, calls };
}

describe("the runner (spark-role)", () => {
    const stubs = {
        curl: `for a in "$@"; do [ "$a" = PUT ] && { echo token-1; exit 0; }; done; echo 10.0.1.23`,
        aws: `[ "$2" = get-login-password ] && echo ecr-password; [ "$2" = head-object ] && exit 254
if [ "$2" = get-secret-value ]; then
  case "$*" in
    *spark-auth*) echo '${SPARK_SECRET}' ;;
    *ui-tls*) cat "${"$"}TLS_PEM" ;;
  esac
fi
exit 0`,
        // Like the real one, `docker login --password-stdin` reads the password from the pipe.
        docker: `[ "$1" = login ] && cat > /dev/null; exit 0`,
    };

    test("logs in to ECR with the instance role and runs the role on the host network with its flags intact", () => {
        const sb = sandbox("runner", stubs);
        fs.writeFileSync(path.join(sb.conf, "image"), `${IMAGE}\n`);
        fs.writeFileSync(path.join(sb.conf, "host.env"), "AWS_REGION=eu-west-1\n");
        fs.writeFileSync(path.join(sb.conf, "consumer.env"), "KAFKA_TOPICS=[]\n");
        fs.writeFileSync(path.join(sb.conf, "consumer.args"), renderArgsFile(["--topic", "events", "--trigger-interval", "30 seconds"]));
        const r = run(sb, renderRunner({ region: "eu-west-1", eventLogBucket: "lake-bucket", eventLogPrefix: "logs/spark-events/", security: SECURITY }), ["consumer"]);
        expect(r.stderr).toBe("");
        expect(r.status).toBe(0);
        expect(r.calls).toContainEqual(["aws", "ecr", "get-login-password", "--region", "eu-west-1"]);
        expect(r.calls).toContainEqual(["docker", "login", "--username", "AWS", "--password-stdin", "123456789012.dkr.ecr.eu-west-1.amazonaws.com"]);
        // The event-log folder marker is created when missing.
        expect(r.calls).toContainEqual(["aws", "s3api", "put-object", "--region", "eu-west-1", "--bucket", "lake-bucket", "--key", "logs/spark-events/"]);
        const dockerRun = r.calls.find((c) => c[0] === "docker" && c[1] === "run");
        const settings = `${sb.run}/consumer`;
        expect(dockerRun).toEqual([
            "docker", "run", "--rm", "--name", "spark-consumer", "--network", "host",
            "--volume", `${settings}:${settings}:ro`, "--env", `SPARK_CONF_DIR=${settings}`,
            "--env-file", `${sb.conf}/host.env`, "--env-file", `${sb.conf}/consumer.env`,
            "--env", "SPARK_LOCAL_IP=10.0.1.23", "--env", "SPARK_MASTER_HOST=10.0.1.23",
            IMAGE, "consumer", "--topic", "events", "--trigger-interval", "30 seconds",
        ]);
        // IMDSv2: a token is fetched with PUT and sent with the metadata request.
        const curls = r.calls.filter((c) => c[0] === "curl");
        expect(curls[0]).toContain("PUT");
        expect(curls[1]).toContain("X-aws-ec2-metadata-token: token-1");
    });

    test("writes Spark's security settings from Secrets Manager to a private folder, and the secret into no command line", () => {
        const sb = sandbox("runner-security", stubs);
        fs.writeFileSync(path.join(sb.conf, "image"), `${IMAGE}\n`);
        fs.writeFileSync(path.join(sb.conf, "host.env"), "");
        const r = run(sb, renderRunner({ region: "eu-west-1", security: SECURITY }), ["worker"]);
        expect(r.stderr).toBe("");
        expect(r.status).toBe(0);
        expect(r.calls).toContainEqual(["aws", "secretsmanager", "get-secret-value", "--region", "eu-west-1", "--secret-id", SECURITY.authSecretArn, "--query", "SecretString", "--output", "text"]);
        const settings = path.join(sb.run, "worker");
        const defaults = fs.readFileSync(path.join(settings, "spark-defaults.conf"), "utf8").split("\n");
        for (const [k, v] of Object.entries(sparkSecurityConf())) {
            expect(defaults).toContain(`${k} ${v}`);
        }
        expect(defaults).toContain(`spark.authenticate.secret ${SPARK_SECRET}`);
        expect(defaults).toContain(`spark.ssl.keyStore ${settings}/keystore.p12`);
        const password = defaults.find((l) => l.startsWith("spark.ssl.keyStorePassword "))!.split(" ")[1];
        expect(password).toMatch(/^[0-9a-f]{48}$/);
        // The keystore opens with that password and holds the key and certificate; the PEM copy is gone.
        const check = spawnSync("openssl", ["pkcs12", "-in", path.join(settings, "keystore.p12"), "-passin", `pass:${password}`, "-nodes"], { encoding: "utf8" });
        expect(check.status).toBe(0);
        expect(check.stdout).toContain("BEGIN PRIVATE KEY");
        expect(fs.existsSync(path.join(settings, "tls.pem"))).toBe(false);
        expect(fs.statSync(settings).mode & 0o777).toBe(0o700);
        expect(fs.statSync(path.join(settings, "spark-defaults.conf")).mode & 0o777).toBe(0o600);
        expect(fs.statSync(settings).uid).toBe(185);
        // Neither the secret nor the keystore password is ever an argument of a command (what `ps` shows).
        expect(JSON.stringify(r.calls)).not.toContain(SPARK_SECRET);
        expect(JSON.stringify(r.calls)).not.toContain(password);
    });

    test("refuses to start when the Spark secret is not what the stack generates", () => {
        const sb = sandbox("runner-bad-secret", { ...stubs, aws: `[ "$2" = get-secret-value ] && echo 'short'; exit 0` });
        fs.writeFileSync(path.join(sb.conf, "image"), `${IMAGE}\n`);
        fs.writeFileSync(path.join(sb.conf, "host.env"), "");
        const r = run(sb, renderRunner({ region: "eu-west-1", security: SECURITY }), ["worker"]);
        expect(r.status).toBe(1);
        expect(r.stderr).toMatch(/is not 32 or more letters and digits/);
        expect(r.calls.some((c) => c[0] === "docker" && c[1] === "run")).toBe(false);
    });

    test("refuses to run an image that is not pinned by digest", () => {
        const sb = sandbox("runner-tag", stubs);
        fs.writeFileSync(path.join(sb.conf, "image"), "repo.example.com/consumer:latest\n");
        fs.writeFileSync(path.join(sb.conf, "host.env"), "");
        const r = run(sb, renderRunner({ region: "eu-west-1", security: SECURITY }), ["worker"]);
        expect(r.status).toBe(1);
        expect(r.stderr).toMatch(/must name the image by digest/);
        expect(r.calls.some((c) => c[0] === "docker")).toBe(false);
    });

    test("refuses an unknown role", () => {
        const sb = sandbox("runner-role", stubs);
        const r = run(sb, renderRunner({ region: "eu-west-1", security: SECURITY }), ["driver"]);
        expect(r.status).toBe(2);
        expect(r.stderr).toMatch(/usage: spark-role/);
    });
});

describe("the SSM deploy command", () => {
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    const env = renderEnvFile({ KAFKA_TOPICS: '[{"name":"events"}]', SPARK_EVENT_LOG_DIR: "s3a://lake-bucket/logs/spark-events/" });
    const argsFile = renderArgsFile(["--topic", "events", "--trigger-interval", "30 seconds"]);
    // The consumer's state lives in a file so `systemctl is-active` and `docker container inspect` agree with it.
    const stubs = {
        "cloud-init": "exit 0",
        systemctl: `state="${"$"}{STATE_DIR}/active"
case "$1" in
  cat) exit 0 ;;
  is-active) [ -f "$state" ] ;;
  stop) rm -f "$state" ;;
  start|restart) for u in "$@"; do [ "$u" = spark-consumer.service ] && touch "$state"; done; exit 0 ;;
  *) exit 0 ;;
esac`,
        docker: `[ "$1" = container ] && [ -f "${"$"}{STATE_DIR}/active" ]`,
    };

    function deploy(sb: Sandbox, image: string, envFile: string, args: string, securityRevision = REVISION, stopTimeoutSeconds = "180") {
        const script = fillDeployParameters(renderConsumerDeploy(), { imageUri: image, consumerEnv: b64(envFile), consumerArgs: b64(args), securityRevision, stopTimeoutSeconds });
        const file = path.join(sb.dir, "deploy.sh");
        fs.writeFileSync(file, script.split(CONF_DIR).join(sb.conf).split(SYSTEMD_DIR).join(path.join(sb.dir, "systemd")), { mode: 0o755 });
        fs.rmSync(sb.log, { force: true });
        const r = spawnSync("bash", [file], {
            encoding: "utf8",
            env: { PATH: `${path.join(sb.dir, "bin")}:/usr/bin:/bin`, HOME: sb.dir, STATE_DIR: sb.dir },
        });
        const calls = (fs.existsSync(sb.log) ? fs.readFileSync(sb.log, "utf8") : "").split("\n\n").filter((c) => c !== "").map((c) => c.split("\n"));
        return { status: r.status, stderr: r.stderr, stdout: r.stdout, calls };
    }

    const newSandbox = (name: string): Sandbox => sandbox(name, stubs);

    test("a first deploy writes the settings and starts master, history and consumer", () => {
        const sb = newSandbox("deploy-first");
        const r = deploy(sb, IMAGE, env, argsFile);
        expect(r.stderr).toBe("");
        expect(r.status).toBe(0);
        expect(fs.readFileSync(path.join(sb.conf, "image"), "utf8")).toBe(`${IMAGE}\n`);
        expect(fs.readFileSync(path.join(sb.conf, "consumer.env"), "utf8")).toBe(env);
        expect(fs.readFileSync(path.join(sb.conf, "consumer.args"), "utf8")).toBe(argsFile);
        expect(fs.statSync(path.join(sb.conf, "consumer.env")).mode & 0o777).toBe(0o600);
        expect(r.calls).toContainEqual(["systemctl", "start", "spark-consumer.service"]);
        expect(r.calls).toContainEqual(["systemctl", "restart", "spark-master.service", "spark-history.service"]);
    });

    test("a new image stops the old driver, waits for it, and only then starts the new one", () => {
        const sb = newSandbox("deploy-new-image");
        expect(deploy(sb, IMAGE, env, argsFile).status).toBe(0);
        const r = deploy(sb, NEW_IMAGE, env, argsFile);
        expect(r.status).toBe(0);
        const names = r.calls.map((c) => c.slice(0, 3).join(" "));
        const stop = names.indexOf("systemctl stop spark-consumer.service");
        const start = names.indexOf("systemctl start spark-consumer.service");
        expect(stop).toBeGreaterThanOrEqual(0);
        expect(start).toBeGreaterThan(stop);
        // Between them, the script checked that the old container is gone.
        expect(names.slice(stop, start)).toContain("docker container inspect");
        expect(fs.readFileSync(path.join(sb.conf, "image"), "utf8")).toBe(`${NEW_IMAGE}\n`);
    });

    test("unchanged settings with a running consumer leave the driver alone", () => {
        const sb = newSandbox("deploy-same");
        expect(deploy(sb, IMAGE, env, argsFile).status).toBe(0);
        const r = deploy(sb, IMAGE, env, argsFile);
        expect(r.status).toBe(0);
        expect(r.stdout).toMatch(/nothing to do/);
        expect(r.calls.some((c) => c[0] === "systemctl" && (c[1] === "stop" || c[1] === "start"))).toBe(false);
    });

    test("a changed consumer setting restarts only the consumer", () => {
        const sb = newSandbox("deploy-setting");
        expect(deploy(sb, IMAGE, env, argsFile).status).toBe(0);
        const r = deploy(sb, IMAGE, env, renderArgsFile(["--topic", "events", "--trigger-interval", "1 minute"]));
        expect(r.status).toBe(0);
        expect(r.calls).toContainEqual(["systemctl", "stop", "spark-consumer.service"]);
        expect(r.calls).not.toContainEqual(["systemctl", "restart", "spark-master.service", "spark-history.service"]);
        expect(r.calls).toContainEqual(["systemctl", "start", "spark-consumer.service"]);
    });

    test("a new security revision (a rotated secret) restarts master, history and consumer", () => {
        const sb = newSandbox("deploy-rotated");
        expect(deploy(sb, IMAGE, env, argsFile).status).toBe(0);
        const r = deploy(sb, IMAGE, env, argsFile, "fedcba98.76543210");
        expect(r.status).toBe(0);
        expect(r.calls).toContainEqual(["systemctl", "stop", "spark-consumer.service"]);
        expect(r.calls).toContainEqual(["systemctl", "restart", "spark-master.service", "spark-history.service"]);
        expect(r.calls).toContainEqual(["systemctl", "start", "spark-consumer.service"]);
        expect(fs.readFileSync(path.join(sb.conf, "security-revision"), "utf8")).toBe("fedcba98.76543210\n");
    });

    test("installs the consumer's stop timeout as a systemd drop-in and reloads systemd before starting it", () => {
        const sb = newSandbox("deploy-stop-timeout");
        const r = deploy(sb, IMAGE, env, argsFile, REVISION, "960");
        expect(r.stderr).toBe("");
        expect(fs.readFileSync(path.join(sb.dir, "systemd", "spark-consumer.service.d", "stop-timeout.conf"), "utf8")).toBe(renderConsumerStopDropIn(960));
        expect(renderConsumerStopDropIn(960)).toMatch(/^ExecStop=\/usr\/bin\/docker stop --time 960 spark-consumer$/m);
        expect(renderConsumerStopDropIn(960)).toMatch(/^TimeoutStopSec=990$/m);
        const names = r.calls.map((c) => c.slice(0, 3).join(" "));
        expect(names.indexOf("systemctl daemon-reload")).toBeGreaterThanOrEqual(0);
        expect(names.indexOf("systemctl daemon-reload")).toBeLessThan(names.indexOf("systemctl start spark-consumer.service"));
    });

    test("a changed stop timeout restarts the consumer; the old driver stops under the timeout it was started with", () => {
        const sb = newSandbox("deploy-old-timeout");
        expect(deploy(sb, IMAGE, env, argsFile, REVISION, "3").status).toBe(0);
        // The old driver never exits: the wait for it is bounded by its own (old) timeout, not the new one.
        fs.writeFileSync(path.join(sb.dir, "bin", "docker"), `#!/bin/bash\nprintf 'docker\\n%s\\n\\n' "$*" >> '${sb.log}'\nexit 0\n`, { mode: 0o755 });
        fs.writeFileSync(path.join(sb.dir, "bin", "sleep"), `#!/bin/bash\nexit 0\n`, { mode: 0o755 });
        const r = deploy(sb, IMAGE, env, argsFile, REVISION, "600");
        expect(r.status).toBe(1);
        expect(r.calls).toContainEqual(["systemctl", "stop", "spark-consumer.service"]);
        const inspections = r.calls.filter((c) => c[0] === "docker" && c[1].startsWith("container inspect")).length;
        expect(inspections).toBe(3 + 30 + 1);
        // Not started, so its settings, drop-in included, stay the old ones.
        expect(fs.readFileSync(path.join(sb.conf, "consumer.stop-timeout"), "utf8")).toBe("3\n");
    });

    test("a stop timeout that is not whole seconds is refused before anything is stopped", () => {
        const sb = newSandbox("deploy-bad-timeout");
        const r = deploy(sb, IMAGE, env, argsFile, REVISION, "60; reboot");
        expect(r.status).toBe(1);
        expect(r.stderr).toMatch(/stop timeout must be a whole number of seconds/);
        expect(r.calls.some((c) => c[0] === "systemctl" && c[1] === "stop")).toBe(false);
    });

    test("a driver that does not exit blocks the new one", () => {
        const sb = newSandbox("deploy-stuck");
        // docker always reports the container as present.
        fs.writeFileSync(path.join(sb.dir, "bin", "docker"), `#!/bin/bash\nexit 0\n`, { mode: 0o755 });
        fs.writeFileSync(path.join(sb.dir, "bin", "sleep"), `#!/bin/bash\nexit 0\n`, { mode: 0o755 });
        const r = deploy(sb, NEW_IMAGE, env, argsFile);
        expect(r.status).toBe(1);
        expect(r.stderr).toMatch(/did not exit/);
        expect(r.calls).not.toContainEqual(["systemctl", "start", "spark-consumer.service"]);
    });
});
