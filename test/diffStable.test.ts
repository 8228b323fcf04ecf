import { isDeepStrictEqual } from "util";
import type { ProgramResource } from "./support/policyRun";

// A preview is diff-stable: the same program and config yield the same resource inputs on every run, so a
// second `pulumi preview` of an unchanged program shows no change. The second run happens with the clock moved
// on by 400 days, so a timestamp or date in any input shows up as a difference, as does a random value.

const DAY_MS = 24 * 60 * 60 * 1000;

interface Snapshot {
    readonly inputs: Record<string, unknown>;
    readonly options: Record<string, unknown>;
}

async function snapshot(stack: string, engine: string): Promise<Map<string, Snapshot>> {
    let resources: ProgramResource[] = [];
    await jest.isolateModulesAsync(async () => {
        const { registerProgram } = await import("./support/policyRun");
        resources = await registerProgram(stack, undefined, { "spark-streaming:engine": engine });
    });
    return new Map(
        await Promise.all(resources.map(async (r): Promise<[string, Snapshot]> => [
            r.realUrn,
            {
                inputs: await resolveDeep(r.inputs),
                options: { parent: r.parent, provider: r.provider, protect: r.protect, retainOnDelete: r.retainOnDelete, ignoreChanges: r.ignoreChanges, replaceOnChanges: r.replaceOnChanges, deleteBeforeReplace: r.deleteBeforeReplace },
            },
        ])),
    );
}

/** Inputs with their promises awaited (an asset's path arrives as a Promise; two Promises never compare equal). */
async function resolveDeep(value: unknown): Promise<any> {
    const resolved = await value;
    if (Array.isArray(resolved)) {
        return Promise.all(resolved.map(resolveDeep));
    }
    if (resolved !== null && typeof resolved === "object") {
        const entries = await Promise.all(Object.entries(resolved).map(async ([k, v]) => [k, await resolveDeep(v)] as const));
        return Object.fromEntries(entries);
    }
    return resolved;
}

/** Fakes only Date (timers stay real so the Pulumi runtime keeps running), set `offsetMs` from now. */
function shiftClock(offsetMs: number): void {
    jest.useFakeTimers({
        now: Date.now() + offsetMs,
        doNotFake: ["nextTick", "setImmediate", "clearImmediate", "setInterval", "clearInterval", "setTimeout", "clearTimeout", "queueMicrotask", "hrtime", "performance"],
    });
}

// Each AWS stack with every AWS engine (generated certificates, secrets and the TLS bundle must not change either; the
// kubernetes engine generates Spark's secret instead of TLS material, the API server's TLS is EKS's),
// and the local stack (its generated object-store key must not either).
describe.each([
    ["dev", "ec2", "aws", /\$tls:index\/(privateKey|locallySignedCert):/, 2],
    ["prod", "emr", "aws", /\$tls:index\/(privateKey|locallySignedCert):/, 2],
    ["dev", "emr", "aws", /\$tls:index\/(privateKey|locallySignedCert):/, 2],
    ["prod", "ec2", "aws", /\$tls:index\/(privateKey|locallySignedCert):/, 2],
    ["dev", "kubernetes", "aws", /\$random:index\/randomPassword:/, 1],
    ["prod", "kubernetes", "aws", /\$random:index\/randomPassword:/, 1],
    ["local", "local", "docker", /\$random:index\/randomPassword:/, 1],
])("the %s program with engine %s", (stack, engine, provider, generated, generatedCount) => {
    let first: Map<string, Snapshot>;
    let second: Map<string, Snapshot>;

    beforeAll(async () => {
        first = await snapshot(stack, engine);
        shiftClock(400 * DAY_MS);
        try {
            second = await snapshot(stack, engine);
        } finally {
            jest.useRealTimers();
        }
        // Two whole-program runs; on a loaded 2-core machine that can take more than jest's default minute.
    }, 600_000);

    test("registers resources (the comparison is not between two empty runs), generated keys and certificates included", () => {
        // A URN's type segment is the parent type chain joined by "$", ending with the resource's own type.
        expect([...first.keys()].filter((urn) => new RegExp(`(::|\\$)${provider}:`).test(urn)).length).toBeGreaterThan(0);
        expect([...first.keys()].filter((urn) => generated.test(urn)).length).toBeGreaterThanOrEqual(generatedCount);
    });

    test("registers the same resources, by URN, on a second run", () => {
        expect([...second.keys()].sort()).toEqual([...first.keys()].sort());
    });

    test("gives every resource identical inputs and options on a second run, a later day", () => {
        const differing = [...first.keys()].filter((urn) => !isDeepStrictEqual(first.get(urn), second.get(urn)));
        // Show the first differing resource in full so the cause (a timestamp, a random suffix, reordered JSON) is visible.
        if (differing.length > 0) {
            expect({ urn: differing[0], second: second.get(differing[0]) }).toEqual({ urn: differing[0], second: first.get(differing[0]) });
        }
        expect(differing).toEqual([]);
    });
});
