import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { consumerStopTimeoutSeconds } from "../components/consumerArgs";
import { S3BucketProvider } from "../components/local/bucketProvider";
import { KAFKA_IMAGE } from "../components/local/images";
import { consumerImageRunner, kafkaRunner, motoRunner } from "./support/localImages";
import { BucketSpec, bucketSpec, containerSpecs, EmulatedContainer, httpGet, kafkaLibs, LocalSiteRuntime, runCommand } from "./support/localRuntime";
import { ProgramRun, runVariant } from "./support/program";

// Engine local without Docker: the containers Pulumi.local.yaml declares (a small variant: one broker, one worker,
// free host ports) are taken from a run of the program under mocks and started as processes on loopback addresses,
// each image mapped to the same software outside Docker (see test/support/localRuntime.ts). Nothing in what the
// program declares is adjusted: a wrong alias does not resolve, a wrong port is refused, a misspelt variable is not
// read, a wrong S3A setting cannot reach the bucket, and the data never arrives. Services are started once and
// shared by the tests below, in the order the program's dependencies give.

// Waits below are hang guards sized for shared cores (npm test runs the Python lane beside this), not speed targets;
// the stop test may wait the consumer's whole stop timeout (180 s by default) and then for the history server.
jest.setTimeout(600_000);

const ROOT = path.resolve(__dirname, "..");
const VENV_PYTHON = path.join(ROOT, ".venv", "bin", "python");
const TOPIC = "events";

async function freePorts(n: number): Promise<number[]> {
    const servers = await Promise.all(
        Array.from({ length: n }, () => new Promise<net.Server>((resolve, reject) => {
            const s = net.createServer();
            s.once("error", reject);
            s.listen(0, "127.0.0.1", () => resolve(s));
        })),
    );
    const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    return ports;
}

/** Pulumi.local.yaml made small for 2 cores: 1 broker, 1 worker, small heaps, a short trigger; host ports free here. */
async function smallLocalStack(): Promise<Record<string, unknown>> {
    const [kafka, sparkMasterUi, sparkWorkerUi, consumerUi, historyUi, objectStore, objectStoreConsole] = await freePorts(7);
    return {
        kafka: { brokerCount: 1, topics: [{ name: TOPIC, partitions: 2 }] },
        consumer: { triggerInterval: "3 seconds", sparkConf: { "spark.sql.shuffle.partitions": "2", "spark.ui.showConsoleProgress": "false" } },
        local: {
            ports: { kafka, sparkMasterUi, sparkWorkerUi, consumerUi, historyUi, objectStore, objectStoreConsole },
            kafkaHeap: "384m",
            spark: { workers: 1, workerCores: 1, workerMemory: "768m", executorMemory: "512m", driverMemory: "768m", daemonMemory: "256m" },
            producer: { enabled: true, eventsPerSecond: 20, malformedPercent: 20 },
        },
        // Prometheus and Grafana have no process stand-in here (Go binaries, no image pulls): their files are checked
        // in observability.test.ts and the consumer's metrics endpoint in the job's test_observability.py.
        observability: { local: { enabled: false } },
    };
}

/** Starts every container (and creates the bucket) once what it depends on is healthy, as `pulumi up` orders them. */
async function startInOrder(site: LocalSiteRuntime, bucket: BucketSpec): Promise<void> {
    const pending = new Map<string, { deps: string[]; start: () => Promise<void> }>();
    const urns = new Set([bucket.urn, ...site.containers.map((c) => c.spec.urn)]);
    // Each dependency is one of these, or something Docker would have made before any container (image, network, volume).
    const known = new Set(run.registered.map((r) => r.urn));
    for (const dep of [...bucket.dependencies, ...site.containers.flatMap((c) => c.spec.dependencies)]) {
        if (!known.has(dep)) {
            throw new Error(`a dependency ${dep} is none of the program's resources`);
        }
    }
    for (const c of site.containers) {
        pending.set(c.spec.urn, { deps: c.spec.dependencies.filter((u) => urns.has(u)), start: () => site.start(c, 200_000) });
    }
    // The bucket through the program's own provider code, against the store's published port.
    pending.set(bucket.urn, { deps: bucket.dependencies.filter((u) => urns.has(u)), start: async () => void (await new S3BucketProvider().create(bucket.inputs as any)) });
    const consumerNode = pending.get(site.byAlias("spark-consumer").spec.urn)!;
    if (!consumerNode.deps.includes(bucket.urn)) {
        throw new Error("the consumer does not wait for the bucket: the order below would not be the program's");
    }
    const done = new Set<string>();
    while (pending.size > 0) {
        const ready = [...pending.entries()].filter(([, n]) => n.deps.every((d) => done.has(d)));
        if (ready.length === 0) {
            throw new Error(`dependency cycle among ${[...pending.keys()].join(", ")}`);
        }
        await Promise.all(ready.map(async ([urn, n]) => {
            pending.delete(urn);
            await n.start();
            done.add(urn);
        }));
    }
}

let run: ProgramRun;
let site: LocalSiteRuntime;
let s3: S3Client;
let dir: string;

beforeAll(async () => {
    run = await runVariant("local", await smallLocalStack());
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "local-engine-"));
    site = new LocalSiteRuntime(dir, containerSpecs(run.registered), [
        [/^apache\/kafka@/, kafkaRunner(kafkaLibs(KAFKA_IMAGE.tag))],
        [/^chrislusf\/seaweedfs@/, motoRunner()],
        [/^spark-streaming-consumer:/, consumerImageRunner()],
    ]);
    s3 = new S3Client({
        endpoint: run.outputs.objectStoreEndpoint,
        region: "us-east-1",
        forcePathStyle: true,
        credentials: { accessKeyId: run.outputs.objectStoreAccessKeyId, secretAccessKey: run.outputs.objectStoreSecretAccessKey },
    });
    try {
        await startInOrder(site, bucketSpec(run.registered));
    } catch (e) {
        await site.stop(5000);
        throw e;
    }
}, 300_000);

afterAll(async () => {
    s3?.destroy();
    await site?.stop();
    if (dir && process.env.KEEP_LOCAL_ENGINE_LOGS !== "1") {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

const bucketName = () => run.outputs.bucketName as string;
/** `s3a://bucket/prefix/` output -> the key prefix. */
const keyPrefix = (uri: string) => uri.replace(`s3a://${bucketName()}/`, "");

async function parquetKeys(uri: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: bucketName(), Prefix: keyPrefix(uri), ContinuationToken: token }));
        keys.push(...(page.Contents ?? []).map((o) => o.Key!).filter((k) => k.endsWith(".parquet")));
        token = page.NextContinuationToken;
    } while (token);
    return keys.sort();
}

/** The rows of Parquet objects, read with pyarrow (magic bytes, schema and all). */
async function readParquet(keys: string[]): Promise<Array<Record<string, any>>> {
    const local = fs.mkdtempSync(path.join(dir, "parquet-"));
    const files: string[] = [];
    for (const [i, key] of keys.entries()) {
        const body = await (await s3.send(new GetObjectCommand({ Bucket: bucketName(), Key: key }))).Body!.transformToByteArray();
        const file = path.join(local, `${i}.parquet`);
        fs.writeFileSync(file, body);
        files.push(file);
    }
    const script = "import json, sys, pyarrow.parquet as pq\nfor f in sys.argv[1:]:\n    for row in pq.read_table(f).to_pylist():\n        print(json.dumps(row, default=str))";
    try {
        const out = execFileSync(VENV_PYTHON, ["-c", script, ...files], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
        return out.split("\n").filter(Boolean).map((l) => JSON.parse(l));
    } finally {
        fs.rmSync(local, { recursive: true, force: true });
    }
}

/** Set when one wait ran out: the pipeline is broken, and later tests say so at once instead of waiting again. */
let broken: string | undefined;

async function eventually<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
    if (broken !== undefined) {
        throw new Error(`not waiting for ${what}: ${broken}`);
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const value = await probe().catch(() => undefined);
        if (value !== undefined) {
            return value;
        }
        if (Date.now() > deadline) {
            broken = `an earlier wait ran out (${what})`;
            throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}\n${site.logs()}`);
        }
        await new Promise((r) => setTimeout(r, 2000));
    }
}

async function validRows(): Promise<Array<Record<string, any>>> {
    return readParquet(await parquetKeys(run.outputs.outputLocation));
}

const consumer = (): EmulatedContainer => site.byAlias("spark-consumer");

test("a producer on this machine reaches the brokers through the kafkaBootstrapBrokers output (the host listener)", async () => {
    // The host's own view: localhost is this machine; container aliases do not resolve here, as on a laptop.
    const hosts = path.join(dir, "host-hosts");
    fs.writeFileSync(hosts, `127.0.0.1 localhost\n127.0.0.1 ${os.hostname()}\n`);
    // `docker logs` of the consumer: it creates the topic (no auto-creation) before its query starts.
    const log = consumer().procs[0].log;
    await eventually("the consumer to create its topic", 300_000, async () => (fs.readFileSync(log, "utf8").includes('"event":"topic_ensured"') ? true : undefined));
    const eventId = `host-${Date.now()}`;
    const event = JSON.stringify({ event_id: eventId, event_time: "2024-05-01T10:00:00Z", type: "click", amount: 2.5 });
    const res = await runCommand(
        "java",
        [`-Djdk.net.hosts.file=${hosts}`, "-Xmx256m", "-cp", `${kafkaLibs(KAFKA_IMAGE.tag)}/*`, "kafka.tools.ConsoleProducer",
            "--bootstrap-server", run.outputs.kafkaBootstrapBrokers, "--topic", TOPIC, "--producer-property", "acks=all", "--producer-property", "max.block.ms=30000"],
        { input: `${event}\n`, timeoutMs: 90_000 },
    );
    // ConsoleProducer exits 0 even when a send fails; the event arriving below is the proof.
    expect(res).toMatchObject({ status: 0 });
    await eventually(`event ${eventId} in the output`, 300_000, async () => ((await validRows()).some((r) => r.event_id === eventId) ? true : undefined));
});

test("the produceCommand output, pasted, delivers its event to the consumer", async () => {
    const m = /^echo '(.*)' \| docker exec -i (\S+) (.+)$/.exec(run.outputs.produceCommand);
    expect(m).not.toBeNull();
    const [, event, container, argv] = m!;
    const res = await site.exec(site.byName(container), argv.split(" "), `${event}\n`);
    expect(res).toMatchObject({ status: 0 });
    const eventId = JSON.parse(event).event_id;
    await eventually(`event ${eventId} in the output`, 240_000, async () => ((await validRows()).some((r) => r.event_id === eventId) ? true : undefined));
});

test("the demo producer's events come out as Parquet in the bucket, and its malformed records in the dead letter", async () => {
    // Waits for the demo producer's rows themselves: the two events the tests above sent may land first.
    const fromDemo = (r: Record<string, any>) => (r.attributes ?? []).some(([k, v]: [string, string]) => k === "source" && v === "demo-producer");
    const rows = await eventually("the demo producer's rows in the output and the dead letter", 240_000, async () => {
        const data = await parquetKeys(run.outputs.outputLocation);
        const dead = await parquetKeys(run.outputs.deadLetterLocation);
        if (data.length === 0 || dead.length === 0) {
            return undefined;
        }
        const found = { data: await readParquet(data), dead: await readParquet(dead) };
        return found.data.some(fromDemo) ? found : undefined;
    });
    for (const r of rows.data) {
        expect(r).toMatchObject({ event_id: expect.any(String), type: expect.any(String), kafka_topic: TOPIC });
    }
    // Beside the two events the tests above sent, the demo producer's own.
    const demo = rows.data.filter(fromDemo);
    expect(demo.length).toBeGreaterThan(0);
    expect(demo.every((r) => typeof r.amount === "number" && /^user-\d{3}$/.test(r.user_id))).toBe(true);
    expect(rows.dead.length).toBeGreaterThan(0);
    for (const r of rows.dead) {
        expect(r).toMatchObject({ raw_value: expect.any(String), error: expect.any(String), kafka_topic: TOPIC });
    }
    // year=/month=/day=/hour= folders from the events' own time, and the file sink's log beside them.
    const keys = await parquetKeys(run.outputs.outputLocation);
    expect(keys[0]).toMatch(new RegExp(`^${keyPrefix(run.outputs.outputLocation)}year=\\d{4}/month=\\d{2}/day=\\d{2}/hour=\\d{2}/part-`));
    const log = await s3.send(new ListObjectsV2Command({ Bucket: bucketName(), Prefix: `${keyPrefix(run.outputs.outputLocation)}_spark_metadata/` }));
    expect(log.KeyCount).toBeGreaterThan(0);
    const checkpoint = await s3.send(new ListObjectsV2Command({ Bucket: bucketName(), Prefix: `${keyPrefix(run.outputs.checkpointLocation)}offsets/` }));
    expect(checkpoint.KeyCount).toBeGreaterThan(0);
});

test("every UI URL in the outputs answers on this machine", async () => {
    const urls: Record<string, string> = run.outputs.uiUrls;
    expect(Object.keys(urls).sort()).toEqual(["consumerApp", "objectStoreConsole", "sparkHistory", "sparkMaster", "sparkWorker1"]);
    for (const [name, url] of Object.entries(urls)) {
        if (name === "objectStoreConsole") {
            // moto stands in for the S3 API only; the console URL must at least be the store's published console port.
            const store = site.byAlias("object-store");
            expect(store.spec.ports.map((p) => `http://localhost:${p.external}`)).toContain(url);
            continue;
        }
        // The driver's UI redirects / to /jobs/; anything below 400 is an answer.
        const res = await httpGet(url);
        expect({ name, answered: res.status >= 200 && res.status < 400 }).toEqual({ name, answered: true });
    }
    const master = JSON.parse((await httpGet(`${urls.sparkMaster}/json/`)).body);
    expect(master.aliveworkers).toBe(1);
    expect(master.activeapps.map((a: any) => a.name)).toContain(`streaming-consumer-${TOPIC}`);
});

test("stopping the consumer (Docker's SIGTERM) ends the query cleanly, and the history server shows the run from the bucket", async () => {
    const proc = consumer().procs[0];
    const command = consumer().spec.command!;
    // Docker waits the container's stop timeout: the job's grace period for its running batch plus its shutdown.
    const stopTimeout = consumerStopTimeoutSeconds({ stopGracePeriodSeconds: Number(command[command.indexOf("--stop-grace-period") + 1]) });
    proc.child.kill("SIGTERM");
    expect(await proc.wait(stopTimeout * 1000)).toBe(0);
    expect(fs.readFileSync(proc.log, "utf8")).toMatch(/"event":"stopped"/);
    const apps = await eventually("the consumer's completed run in the history server", 240_000, async () => {
        const list = JSON.parse((await httpGet(`${run.outputs.uiUrls.sparkHistory}/api/v1/applications`)).body);
        return list.some((a: any) => a.name === `streaming-consumer-${TOPIC}` && a.attempts.every((t: any) => t.completed)) ? list : undefined;
    });
    expect(apps.length).toBeGreaterThan(0);
});
