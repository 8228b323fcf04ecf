import { packPolicies } from "../policy/pack";
import { mandatory, stackViolations, Violation, violations } from "../policy/testing";
import * as fs from "fs";
import * as path from "path";
import type { ProgramResource } from "./support/policyRun";

// The whole policy pack over every resource the program registers under mocks, once per shipped stack, with
// that stack's policy config as the workflows pass it: no mandatory violation may remain.

const pack = packPolicies();

async function programResources(stack: string, engine: string): Promise<ProgramResource[]> {
    let resources: ProgramResource[] = [];
    await jest.isolateModulesAsync(async () => {
        const { registerProgram } = await import("./support/policyRun");
        resources = await registerProgram(stack, undefined, { "spark-streaming:engine": engine });
    });
    return resources;
}

async function runPack(stack: string, engine: string): Promise<{ resources: ProgramResource[]; found: Violation[] }> {
    const config = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "policy", `policy-config.${stack}.json`), "utf8"));
    const resources = (await programResources(stack, engine)).filter((r) => r.custom);
    const found: Violation[] = [];
    for (const r of resources) {
        found.push(...(await violations(pack, r.type, r.inputs, { name: r.name, urn: r.realUrn, provider: r.providerResource, config })));
    }
    found.push(
        ...(await stackViolations(
            pack,
            resources.map((r) => ({ type: r.type, name: r.name, urn: r.realUrn, props: r.inputs, propertyDependencies: r.propertyDependencies, provider: r.providerResource })),
            { config },
        )),
    );
    return { resources, found };
}

// Each shipped stack with its own engine, and with the other one (a stack may switch engines).
describe.each([
    ["dev", "ec2", true],
    ["prod", "emr", true],
    ["dev", "emr", false],
    ["prod", "ec2", false],
    ["dev", "kubernetes", false],
    ["prod", "kubernetes", false],
])("policy pack over the %s program with engine %s", (stack, engine, shipped) => {
    let result: { resources: ProgramResource[]; found: Violation[] };

    beforeAll(async () => {
        result = await runPack(stack, engine);
    });

    test("the program registers the guarded resource kinds (so the pack has something to check)", () => {
        const types = new Set(result.resources.map((r) => r.type));
        expect(types).toContain("aws:s3/bucket:Bucket");
        expect([...types].some((t) => t.startsWith("aws:ec2/securityGroup") || t.startsWith("aws:vpc/securityGroup"))).toBe(true);
    });

    if (engine === "kubernetes") {
        test("the program registers what the EKS and Kubernetes policies guard", () => {
            const types = new Set(result.resources.map((r) => r.type));
            for (const t of ["aws:eks/cluster:Cluster", "aws:eks/nodeGroup:NodeGroup", "kubernetes:sparkoperator.k8s.io/v1beta2:SparkApplication", "kubernetes:core/v1:Namespace", "kubernetes:core/v1:Service"]) {
                expect(types).toContain(t);
            }
        });
    }

    test("no mandatory violations", () => {
        expect(mandatory(result.found)).toEqual([]);
    });

    test("instance types are within the stack's allow-list (as shipped; the other engine's defaults are the stack owner's call)", () => {
        if (shipped) {
            expect(result.found.filter((v) => v.policy === "instance-types-allowed")).toEqual([]);
        }
    });

    test("every taggable resource gets the project and stack tags (from its component provider's default tags)", () => {
        // Advisory in the pack, but every component is built with componentProvider(), so none should be reported.
        expect(result.found.filter((v) => v.policy === "aws-required-tags")).toEqual([]);
    });
});
