import { ChildProcess, execFileSync, spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { mockImageId, Registered } from "./mocks";

// Runs the containers engine local declares as processes on this machine, without Docker. What a container gets
// from Docker is given to its process here:
//   - its own network namespace: a loopback address of its own (127.A.B.n, one /24 per run), so every container
//     listens on the ports the program declares without clashing; binding "all interfaces" means that address
//     (SPARK_LOCAL_IP for Spark; the bind addresses in Kafka's generated `listeners` line, nothing else);
//   - Docker's embedded DNS: a hosts table built ONLY from the aliases (and hostnames) the program declared on its
//     network, given to JVMs as -Djdk.net.hosts.file and to Python through container-dns/sitecustomize.py. A name
//     the program did not declare does not resolve; a wrong port is refused; nothing is rewritten by name;
//   - published ports: a TCP forwarder from 127.0.0.1:<external> to <container address>:<internal>;
//   - named volumes and its private /tmp: folders of this run, mapped by container path;
//   - its image: the same software outside Docker (localImages.ts): Kafka from the image's version's jars,
//     configured by the image's own env -> server.properties rule (kafka.docker.KafkaDockerWrapper); moto's server for
//     the object store's S3 API; the consumer image's entrypoint.sh with the pip pyspark and the fetched jars.

const ROOT = path.resolve(__dirname, "..", "..");
export const JOB_DIR = path.join(ROOT, "jobs", "streaming-consumer");
export const VENV_PYTHON = path.join(ROOT, ".venv", "bin", "python");
export const JARS_DIR = path.join(ROOT, ".cache", "jars");
const DNS_SHIM_DIR = path.join(__dirname, "container-dns");

/** The jars of a Kafka version, fetched by scripts/fetch-kafka.sh (npm run test:setup). */
export function kafkaLibs(version: string): string {
    const libs = path.join(ROOT, ".cache", `kafka-${version}`, "libs");
    if (!fs.existsSync(path.join(libs, `kafka_2.13-${version}.jar`))) {
        throw new Error(`Kafka ${version} jars are not in ${libs}: run \`npm run test:setup\` (KAFKA_BROKER_VERSION=${version} bash scripts/fetch-kafka.sh)`);
    }
    return libs;
}

export function requireFile(file: string, hint: string): string {
    if (!fs.existsSync(file)) {
        throw new Error(`${file} is missing: ${hint}`);
    }
    return file;
}

/** The pip pyspark of the project's venv (SPARK_HOME for the Spark roles). */
export function pysparkHome(): string {
    requireFile(VENV_PYTHON, "run `npm run test:setup` (bash scripts/setup-python.sh) to create the virtual environment");
    return execFileSync(VENV_PYTHON, ["-c", "import os, pyspark; print(os.path.dirname(pyspark.__file__))"], { encoding: "utf8" }).trim();
}

// --- what the program declared ------------------------------------------------------------------------------------

/** One container as the program declared it (docker.Container inputs under mocks). */
export interface ContainerSpec {
    readonly resourceName: string;
    readonly urn: string;
    readonly name: string;
    readonly hostname: string;
    /** The name of the docker.RemoteImage whose id the container runs. */
    readonly image: string;
    readonly command: string[] | undefined;
    readonly env: Record<string, string>;
    readonly networks: Array<{ name: string; aliases: string[] }>;
    readonly ports: Array<{ internal: number; external: number; ip: string }>;
    readonly volumes: Array<{ volumeName: string; containerPath: string }>;
    readonly healthcheck: { tests: string[]; startInterval?: string } | undefined;
    /** URNs this container is created after. */
    readonly dependencies: string[];
}

/** The stack's bucket as the program declared it (the dynamic resource's inputs). */
export interface BucketSpec {
    readonly urn: string;
    readonly inputs: Record<string, any>;
    readonly dependencies: string[];
}

/** Secret inputs arrive wrapped; the processes get the plain value. */
export function unwrap<T>(value: any): T {
    if (value !== null && typeof value === "object" && "4dabf18193072939515e22adb298388d" in value) {
        return unwrap(value.value);
    }
    if (Array.isArray(value)) {
        return value.map(unwrap) as T;
    }
    if (value !== null && typeof value === "object") {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrap(v)])) as T;
    }
    return value;
}

export function containerSpecs(registered: Registered[]): ContainerSpec[] {
    const images = new Map(registered.filter((r) => r.type === "docker:index/remoteImage:RemoteImage").map((r) => [mockImageId(r.inputs.name), r.inputs.name as string]));
    return registered
        .filter((r) => r.type === "docker:index/container:Container")
        .map((r) => {
            const inputs = unwrap<Record<string, any>>(r.inputs);
            const image = images.get(inputs.image);
            if (image === undefined) {
                throw new Error(`container ${inputs.name} runs image ${inputs.image}, which no docker.RemoteImage of the program provides`);
            }
            const env: Record<string, string> = {};
            for (const line of (inputs.envs ?? []) as string[]) {
                const eq = line.indexOf("=");
                if (eq < 1) {
                    throw new Error(`container ${inputs.name}: environment entry "${line}" is not KEY=VALUE`);
                }
                env[line.slice(0, eq)] = line.slice(eq + 1);
            }
            return {
                resourceName: r.name,
                urn: r.urn,
                name: inputs.name,
                hostname: inputs.hostname ?? inputs.name,
                image,
                command: inputs.command,
                env,
                networks: (inputs.networksAdvanced ?? []).map((n: any) => ({ name: n.name, aliases: n.aliases ?? [] })),
                ports: (inputs.ports ?? []).map((p: any) => ({ internal: p.internal, external: p.external, ip: p.ip })),
                volumes: (inputs.volumes ?? []).map((v: any) => ({ volumeName: v.volumeName, containerPath: v.containerPath })),
                healthcheck: inputs.healthcheck ? { tests: inputs.healthcheck.tests, startInterval: inputs.healthcheck.startInterval } : undefined,
                dependencies: r.dependencies,
            };
        });
}

export function bucketSpec(registered: Registered[]): BucketSpec {
    const [bucket, ...more] = registered.filter((r) => r.type === "pulumi-nodejs:dynamic/local:S3Bucket");
    if (bucket === undefined || more.length > 0) {
        throw new Error(`expected one local:S3Bucket, found ${more.length + (bucket ? 1 : 0)}`);
    }
    return { urn: bucket.urn, inputs: unwrap(bucket.inputs), dependencies: bucket.dependencies };
}

// --- processes ----------------------------------------------------------------------------------------------------

/** A process standing in for (part of) a container; its output goes to a log file of the run. */
export class Proc {
    public exitCode: number | null = null;
    private readonly exited: Promise<number | null>;

    constructor(public readonly label: string, public readonly child: ChildProcess, public readonly log: string) {
        this.exited = new Promise((resolve) => child.on("exit", (code, signal) => {
            this.exitCode = code ?? (signal ? 128 : null);
            resolve(this.exitCode);
        }));
    }

    get running(): boolean {
        return this.exitCode === null;
    }

    async wait(ms: number): Promise<number | null | "timeout"> {
        let timer: NodeJS.Timeout | undefined;
        try {
            return await Promise.race([this.exited, new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), ms)))]);
        } finally {
            clearTimeout(timer);
        }
    }

    /** Sends `signal` to the process group (the process and what it started), as Docker's stop does to a container. */
    signal(signal: NodeJS.Signals): void {
        if (this.running && this.child.pid !== undefined) {
            try {
                process.kill(-this.child.pid, signal);
            } catch {
                // already gone
            }
        }
    }

    tail(lines = 40): string {
        return fs.existsSync(this.log) ? fs.readFileSync(this.log, "utf8").split("\n").slice(-lines).join("\n") : "(no log)";
    }
}

function spawnLogged(label: string, file: string, args: string[], env: Record<string, string>, log: string, cwd: string): Proc {
    const out = fs.openSync(log, "a");
    const child = spawn(file, args, { env, cwd, stdio: ["ignore", out, out], detached: true });
    fs.closeSync(out);
    return new Proc(label, child, log);
}

/**
 * Runs a command to completion without blocking the event loop (the published-port forwarders live in this process:
 * a synchronous child would stall every connection through them).
 */
export function runCommand(
    file: string,
    args: string[],
    opts: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string; timeoutMs?: number } = {},
): Promise<{ status: number | null; output: string }> {
    return new Promise((resolve) => {
        const child = spawn(file, args, { env: opts.env, cwd: opts.cwd, stdio: ["pipe", "pipe", "pipe"] });
        let output = "";
        child.stdout.on("data", (d) => (output += d));
        child.stderr.on("data", (d) => (output += d));
        const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
        child.on("error", (e) => {
            clearTimeout(timer);
            resolve({ status: null, output: `${output}${e.message}` });
        });
        child.on("close", (status) => {
            clearTimeout(timer);
            resolve({ status, output });
        });
        child.stdin.end(opts.input ?? "");
    });
}

function sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
}

function durationMs(text: string | undefined, fallback: number): number {
    const m = /^(\d+)(ms|s|m)$/.exec(text ?? "");
    if (!m) {
        return fallback;
    }
    return Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[m[2] as "ms" | "s" | "m"];
}

export function httpGet(url: string, timeoutMs = 5000): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
        // No keep-alive agent: a pooled socket would outlive the test and hold its worker open.
        const req = http.get(url, { agent: false }, (res) => {
            let body = "";
            res.on("data", (d) => (body += d));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on("error", reject);
        req.setTimeout(timeoutMs, () => req.destroy(new Error(`GET ${url} timed out`)));
    });
}

// --- the emulated site ---------------------------------------------------------------------------------------------

/** One container as a process: its address, hosts file, folders, and its settings with Docker's mappings applied. */
export interface EmulatedContainer {
    readonly spec: ContainerSpec;
    readonly ip: string;
    readonly hostsFile: string;
    /** Its private /tmp. */
    readonly tmp: string;
    /** Named volumes by container path. */
    readonly mounts: Map<string, string>;
    readonly env: Record<string, string>;
    readonly command: string[] | undefined;
    readonly procs: Proc[];
}

/** How one image's software runs outside Docker. */
export interface ImageRunner {
    /** Starts the container's main process(es). */
    start(site: LocalSiteRuntime, c: EmulatedContainer): Promise<void>;
    /** An executable of the image (health checks, `docker exec`) as a command on this machine. */
    tool(site: LocalSiteRuntime, c: EmulatedContainer, argv: string[], env: Record<string, string>): { file: string; args: string[]; env: Record<string, string> };
    /** When the declared health check cannot run against the stand-in (moto is not SeaweedFS): its own readiness. */
    ready?(site: LocalSiteRuntime, c: EmulatedContainer): Promise<boolean>;
}

export class LocalSiteRuntime {
    public readonly containers: EmulatedContainer[] = [];
    private readonly servers: net.Server[] = [];
    private readonly sockets = new Set<net.Socket>();
    private readonly hostTable: Array<[string, string]> = [];

    constructor(public readonly dir: string, specs: ContainerSpec[], private readonly runners: Array<[RegExp, ImageRunner]>) {
        // One /24 of the loopback range per run, so two runs on one machine never share an address.
        const base = `127.${20 + crypto.randomInt(200)}.${20 + crypto.randomInt(200)}`;
        const networks = new Set(specs.flatMap((s) => s.networks.map((n) => n.name)));
        if (networks.size !== 1) {
            throw new Error(`the containers must share one user-defined network; they are on ${[...networks].join(", ") || "none"}`);
        }
        const owner = new Map<string, string>();
        specs.forEach((spec, i) => {
            const ip = `${base}.${10 + i}`;
            for (const name of [...spec.networks[0].aliases]) {
                if (owner.has(name)) {
                    throw new Error(`alias "${name}" is declared by both ${owner.get(name)} and ${spec.name}`);
                }
                owner.set(name, spec.name);
                this.hostTable.push([ip, name]);
            }
        });
        specs.forEach((spec, i) => {
            const ip = `${base}.${10 + i}`;
            const home = path.join(dir, spec.name);
            const tmp = path.join(home, "tmp");
            fs.mkdirSync(tmp, { recursive: true });
            // Docker's /etc/hosts of the container (itself, by hostname and as localhost) plus its DNS (the aliases).
            const own: Array<[string, string]> = [[ip, "localhost"], [ip, spec.hostname], [ip, os.hostname()]];
            const hostsFile = path.join(home, "hosts");
            fs.writeFileSync(hostsFile, [...own, ...this.hostTable].map(([a, n]) => `${a} ${n}`).join("\n") + "\n");
            const mounts = new Map(spec.volumes.map((v) => [v.containerPath, path.join(dir, "volumes", v.volumeName)]));
            for (const m of mounts.values()) {
                fs.mkdirSync(m, { recursive: true });
            }
            const partial = { spec, ip, hostsFile, tmp, mounts } as EmulatedContainer;
            const rewrite = (v: string) => this.rewrite(partial, v);
            this.containers.push({
                ...partial,
                env: Object.fromEntries(Object.entries(spec.env).map(([k, v]) => [k, rewrite(v)])),
                command: spec.command?.map(rewrite),
                procs: [],
            });
        });
    }

    /** Docker's view of a path inside the container: volume and /tmp paths are folders of this run. */
    rewrite(c: Pick<EmulatedContainer, "ip" | "tmp" | "mounts">, value: string): string {
        const roots = new Map<string, string>([...c.mounts.entries(), ["/tmp", c.tmp]]);
        const alternatives = [...roots.keys()].sort((a, b) => b.length - a.length).map((r) => r.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
        // One pass, so a replaced path is never replaced again.
        const paths = new RegExp(`(^|[=,:\\s])(${alternatives.join("|")})(?=/|$|[,\\s])`, "g");
        return value.replace(paths, (_m, lead: string, root: string) => `${lead}${roots.get(root)}`);
    }

    byAlias(alias: string): EmulatedContainer {
        const c = this.containers.find((x) => x.spec.networks[0].aliases.includes(alias));
        if (c === undefined) {
            throw new Error(`no container has alias ${alias}`);
        }
        return c;
    }

    byName(name: string): EmulatedContainer {
        const c = this.containers.find((x) => x.spec.name === name);
        if (c === undefined) {
            throw new Error(`no container is named ${name}`);
        }
        return c;
    }

    runnerFor(c: EmulatedContainer): ImageRunner {
        const found = this.runners.find(([pattern]) => pattern.test(c.spec.image));
        if (found === undefined) {
            throw new Error(`no process stands in for image ${c.spec.image} (container ${c.spec.name})`);
        }
        return found[1];
    }

    /** Environment every stand-in gets from "the container runtime": DNS, a home, the tools on PATH. */
    baseEnv(c: EmulatedContainer): Record<string, string> {
        return {
            PATH: process.env.PATH ?? "/usr/bin:/bin",
            ...(process.env.JAVA_HOME ? { JAVA_HOME: process.env.JAVA_HOME } : {}),
            HOME: c.tmp,
            TMPDIR: c.tmp,
            JAVA_TOOL_OPTIONS: `-Djdk.net.hosts.file=${c.hostsFile} -Djava.io.tmpdir=${c.tmp}`,
            EMULATED_HOSTS_FILE: c.hostsFile,
            PYTHONPATH: DNS_SHIM_DIR,
        };
    }

    spawn(c: EmulatedContainer, label: string, file: string, args: string[], env: Record<string, string>): Proc {
        const proc = spawnLogged(`${c.spec.name}:${label}`, file, args, env, path.join(this.dir, `${c.spec.name}.${label}.log`), c.tmp);
        c.procs.push(proc);
        return proc;
    }

    /** Publishes the container's declared ports: 127.0.0.1:<external> -> <container address>:<internal>. */
    async publish(c: EmulatedContainer): Promise<void> {
        for (const p of c.spec.ports) {
            const server = net.createServer((inbound) => {
                const outbound = net.connect(p.internal, c.ip);
                for (const s of [inbound, outbound]) {
                    this.sockets.add(s);
                    s.on("close", () => this.sockets.delete(s));
                    s.on("error", () => {
                        inbound.destroy();
                        outbound.destroy();
                    });
                }
                inbound.pipe(outbound).pipe(inbound);
            });
            await new Promise<void>((resolve, reject) => {
                server.once("error", reject);
                server.listen(p.external, p.ip, () => resolve());
            });
            this.servers.push(server);
        }
    }

    /** Runs the declared health check once (as Docker would, inside the container); true when it exits 0. */
    async checkHealth(c: EmulatedContainer): Promise<boolean> {
        const runner = this.runnerFor(c);
        const tests = c.spec.healthcheck?.tests;
        if (runner.ready) {
            return runner.ready(this, c);
        }
        if (tests === undefined) {
            return c.procs.every((p) => p.running);
        }
        if (tests[0] !== "CMD") {
            throw new Error(`${c.spec.name}: only exec-form (CMD) health checks can run here; got ${tests[0]}`);
        }
        let argv = tests.slice(1).map((a) => this.rewrite(c, a));
        const extra: Record<string, string> = {};
        if (argv[0] === "env") {
            argv = argv.slice(1);
            while (argv.length > 0 && /^[A-Za-z_][A-Za-z0-9_]*=/.test(argv[0])) {
                const [k, ...v] = argv.shift()!.split("=");
                extra[k] = v.join("=");
            }
        }
        const tool = runner.tool(this, c, argv, { ...this.baseEnv(c), ...c.env, ...extra });
        return (await runCommand(tool.file, tool.args, { env: tool.env, cwd: c.tmp, timeoutMs: 60_000 })).status === 0;
    }

    /** Waits until the container is healthy; fails at once if its process exits. */
    async waitHealthy(c: EmulatedContainer, timeoutMs: number): Promise<void> {
        const interval = Math.max(1000, durationMs(c.spec.healthcheck?.startInterval, 2000));
        const deadline = Date.now() + timeoutMs;
        for (;;) {
            const dead = c.procs.find((p) => !p.running);
            if (dead) {
                throw new Error(`${dead.label} exited with ${dead.exitCode} before it was healthy:\n${dead.tail()}`);
            }
            if (await this.checkHealth(c)) {
                return;
            }
            if (Date.now() > deadline) {
                throw new Error(`${c.spec.name} was not healthy within ${timeoutMs / 1000}s:\n${c.procs.map((p) => `--- ${p.label}\n${p.tail()}`).join("\n")}`);
            }
            await sleep(interval);
        }
    }

    /** Starts the container's process(es), publishes its ports and waits for it to be healthy. */
    async start(c: EmulatedContainer, healthyWithinMs: number): Promise<void> {
        await this.runnerFor(c).start(this, c);
        await this.publish(c);
        if (c.spec.healthcheck !== undefined || this.runnerFor(c).ready) {
            await this.waitHealthy(c, healthyWithinMs);
        }
    }

    /**
     * `docker exec -i <container> <argv>` with `input` on stdin: the image's tool as a process in the container's
     * emulated namespace.
     */
    exec(c: EmulatedContainer, argv: string[], input: string): Promise<{ status: number | null; output: string }> {
        const tool = this.runnerFor(c).tool(this, c, argv.map((a) => this.rewrite(c, a)), { ...this.baseEnv(c), ...c.env });
        return runCommand(tool.file, tool.args, { env: tool.env, cwd: c.tmp, input, timeoutMs: 120_000 });
    }

    /** Stops everything this run started: SIGTERM, then SIGKILL after `graceMs`. */
    async stop(graceMs = 15_000): Promise<void> {
        const procs = this.containers.flatMap((c) => c.procs).filter((p) => p.running);
        for (const p of procs) {
            p.signal("SIGTERM");
        }
        await Promise.all(procs.map(async (p) => {
            if ((await p.wait(graceMs)) === "timeout") {
                p.signal("SIGKILL");
                await p.wait(5000);
            }
        }));
        for (const s of this.sockets) {
            s.destroy();
        }
        await Promise.all(this.servers.map((s) => new Promise((r) => s.close(() => r(undefined)))));
    }

    /** The tail of every log of this run, for a failure message. */
    logs(lines = 25): string {
        return this.containers.flatMap((c) => c.procs).map((p) => `--- ${p.label} (exit ${p.exitCode ?? "running"})\n${p.tail(lines)}`).join("\n");
    }
}
