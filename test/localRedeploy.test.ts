import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { isDeepStrictEqual } from "util";
import { CONSUMER_CONTEXT } from "../components/buildContext";
import type { Registered } from "./support/mocks";

// A redeploy of engine local after a change to the job: the image is rebuilt under a new tag, and exactly the
// containers that run it (the Spark daemons, the consumer, the producer) get a new image id, which replaces them;
// Kafka, the object store, their volumes, the network and the bucket keep identical inputs, so they stay.

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** A copy of the job to edit. */
function jobCopy(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "job-copy-"));
    dirs.push(dir);
    fs.cpSync(CONSUMER_CONTEXT, dir, { recursive: true, filter: (src) => !src.includes("__pycache__") && !src.includes(".pytest_cache") });
    return dir;
}

/** The local platform's resources (by name) built from the job in `context`, under mocks. */
async function platformFrom(context: string): Promise<Map<string, Registered>> {
    let out = new Map<string, Registered>();
    await jest.isolateModulesAsync(async () => {
        const mocks = await import("./support/mocks");
        const { parsePlatformConfig } = await import("../components/config");
        const { LocalPlatform } = await import("../components/local/platform");
        await mocks.setupMocks({ stack: "local" });
        const cfg = parsePlatformConfig({ engine: "local" }, "spark-streaming", "local");
        new LocalPlatform("local", { project: cfg.project, stack: cfg.stack, local: cfg.local, kafka: cfg.kafka, consumer: cfg.consumer, dataLake: cfg.dataLake, consumerContext: context });
        await mocks.settleRegistrations();
        out = new Map(mocks.registered.map((r) => [r.name, r]));
    });
    return out;
}

let before: Map<string, Registered>;
let same: Map<string, Registered>;
let changed: Map<string, Registered>;

beforeAll(async () => {
    // One checkout, run twice unchanged, then once after an edit (as a developer's next `npm run local:up`).
    const job = jobCopy();
    before = await platformFrom(job);
    same = await platformFrom(job);
    fs.appendFileSync(path.join(job, "streaming_consumer", "transforms.py"), "\n# a change to the job\n");
    changed = await platformFrom(job);
}, 600_000);

const differing = (a: Map<string, Registered>, b: Map<string, Registered>) =>
    [...a.keys()].filter((name) => !isDeepStrictEqual(a.get(name)!.inputs, b.get(name)?.inputs)).sort();

test("an unchanged job gives identical inputs everywhere (no change in a preview)", () => {
    expect([...same.keys()].sort()).toEqual([...before.keys()].sort());
    expect(differing(before, same)).toEqual([]);
});

test("a change to the job rebuilds the image and replaces only the containers that run it", () => {
    expect([...changed.keys()].sort()).toEqual([...before.keys()].sort());
    expect(differing(before, changed)).toEqual([
        "local-consumer-image-build",
        "local-consumer-image-local",
        "local-consumer-spark-consumer",
        "local-producer-demo-producer",
        "local-spark-spark-history",
        "local-spark-spark-master",
        "local-spark-spark-worker-1",
        "local-spark-spark-worker-2",
        "local-spark-spark-worker-3",
    ]);
    // Only the image differs in those containers: the rest of what they run is the same.
    for (const name of ["local-consumer-spark-consumer", "local-spark-spark-master"]) {
        const { image: a, ...restBefore } = before.get(name)!.inputs;
        const { image: b, ...restAfter } = changed.get(name)!.inputs;
        expect(a).not.toBe(b);
        expect(restAfter).toEqual(restBefore);
    }
    // Replacing them removes the old one first: the old consumer stops before the new one starts on the checkpoint.
    expect(changed.get("local-consumer-spark-consumer")!.deleteBeforeReplace).toBe(true);
});
