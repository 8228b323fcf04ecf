import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { fillDeployParameters, renderConsumerDeploy } from "../../components/ec2/deployCommand";
import { CONF_DIR, SYSTEMD_DIR } from "../../components/ec2/userData";

// What each engine does with the consumer's stop timeout, read back from what the program declared. Every engine
// must let a stopping consumer run at least its grace period (consumer.stopGracePeriodSeconds) before killing it.

/** The systemd drop-in the deploy command installs for a given stop timeout, by running the command against stubs. */
export function installedStopDropIn(stopTimeoutSeconds: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stop-dropin-"));
    try {
        const bin = path.join(dir, "bin");
        fs.mkdirSync(bin);
        fs.mkdirSync(path.join(dir, "conf"));
        for (const cmd of ["cloud-init", "systemctl", "docker"]) {
            // docker: no container left; systemctl: every call succeeds (the unit is "installed").
            fs.writeFileSync(path.join(bin, cmd), cmd === "docker" ? "#!/bin/bash\nexit 1\n" : "#!/bin/bash\nexit 0\n", { mode: 0o755 });
        }
        const script = fillDeployParameters(renderConsumerDeploy(), {
            imageUri: "r.example/x@sha256:" + "ab".repeat(32),
            consumerEnv: Buffer.from("A=1\n").toString("base64"),
            consumerArgs: Buffer.from("--topic\nevents\n").toString("base64"),
            securityRevision: "v1",
            stopTimeoutSeconds,
        })
            .split(CONF_DIR)
            .join(path.join(dir, "conf"))
            .split(SYSTEMD_DIR)
            .join(path.join(dir, "systemd"));
        const file = path.join(dir, "deploy.sh");
        fs.writeFileSync(file, script, { mode: 0o755 });
        const r = spawnSync("bash", [file], { encoding: "utf8", env: { PATH: `${bin}:/usr/bin:/bin`, HOME: dir } });
        if (r.status !== 0) {
            throw new Error(`deploy command failed (${r.status}): ${r.stderr}`);
        }
        return fs.readFileSync(path.join(dir, "systemd", "spark-consumer.service.d", "stop-timeout.conf"), "utf8");
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** ec2: `docker stop --time` and systemd's `TimeoutStopSec` on the consumer, and how long `up` and SSM wait. */
export function expectEc2StopTimeouts(grace: number, association: Record<string, any>, documentContent: string): void {
    const params = association.parameters;
    const flags = Buffer.from(params.consumerArgs, "base64").toString("utf8").split("\n");
    expect(flags[flags.indexOf("--stop-grace-period") + 1]).toBe(String(grace));
    const dropIn = installedStopDropIn(params.stopTimeoutSeconds);
    const dockerStop = Number(/^ExecStop=\/usr\/bin\/docker stop --time (\d+) spark-consumer$/m.exec(dropIn)![1]);
    const systemdStop = Number(/^TimeoutStopSec=(\d+)$/m.exec(dropIn)![1]);
    expect(dockerStop).toBeGreaterThanOrEqual(grace);
    expect(systemdStop).toBeGreaterThan(dockerStop);
    expect(association.waitForSuccessTimeoutSeconds).toBeGreaterThanOrEqual(2 * systemdStop);
    const ssmTimeout = Number(JSON.parse(documentContent).mainSteps[0].inputs.timeoutSeconds);
    expect(ssmTimeout).toBeGreaterThanOrEqual(2 * systemdStop);
}

/** emr: the launcher's wait for the YARN application after a cancel, and the step provider's wait for the step. */
export function expectEmrStopTimeouts(grace: number, step: Record<string, any>): void {
    const args: string[] = step.args;
    expect(args[args.indexOf("--stop-grace-period") + 1]).toBe(String(grace));
    const launcher = Number(/STOP_TIMEOUT_SECONDS=(\d+) exec bash/.exec(args[2])![1]);
    expect(launcher).toBeGreaterThanOrEqual(grace);
    expect(step.timeoutMs).toBeGreaterThan(launcher * 1000);
}
