import { DEFAULT_KUBERNETES_VERSION } from "../components/kubernetes/versions";
import { ajvErrors, asPodTemplate, crdValidator, structuralSchema, unwrapSecrets, validateCore } from "./support/kubernetesSchemas";
import { KUBERNETES_CASES } from "./support/kubernetesStacks";
import type { ProgramResource } from "./support/policyRun";

// Every Kubernetes object the program declares, in every engine variant, against its real schema with unknown fields
// as errors: SparkApplications against the operator's CRD (2.5.2, vendored), everything else, the pod templates
// included (the CRD leaves them unchecked), against Kubernetes' OpenAPI schemas. And the proof that these checks bite:
// a misspelt or misplaced field fails each of them.

const SPARK_APPLICATION = "kubernetes:sparkoperator.k8s.io/v1beta2:SparkApplication";

const runs = new Map<string, Promise<ProgramResource[]>>();

/** The program's Kubernetes objects for one variant; each variant runs once per file. */
function kubernetesObjects(c: (typeof KUBERNETES_CASES)[number]): Promise<ProgramResource[]> {
    if (!runs.has(c.label)) {
        runs.set(
            c.label,
            (async () => {
                let resources: ProgramResource[] = [];
                await jest.isolateModulesAsync(async () => {
                    const { registerProgram } = await import("./support/policyRun");
                    resources = await registerProgram(c.stack, undefined, c.overrides, c.secrets);
                });
                return resources.filter((r) => r.custom && r.type.startsWith("kubernetes:"));
            })(),
        );
    }
    return runs.get(c.label)!;
}

const validateApp = crdValidator("sparkapplications", "v1beta2");
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v));

/** The objects of one program run as the core validator takes them (pod templates wrapped, the app's metadata alone). */
function coreObjects(resources: ProgramResource[]): object[] {
    const objects: object[] = [];
    for (const r of resources) {
        const obj = unwrapSecrets(r.inputs);
        if (r.type === SPARK_APPLICATION) {
            // The CRD leaves metadata and the pod templates to Kubernetes' own types.
            objects.push({ apiVersion: "v1", kind: "ConfigMap", metadata: obj.metadata });
            objects.push(asPodTemplate(`${obj.metadata.name}-driver`, obj.spec.driver.template));
            objects.push(asPodTemplate(`${obj.metadata.name}-executor`, obj.spec.executor.template));
        } else if (!["kubernetes:helm.sh/v3:Release", "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"].includes(r.type)) {
            objects.push(obj);
        }
    }
    return objects;
}

describe.each(KUBERNETES_CASES)("$label", (c) => {
    let resources: ProgramResource[];
    beforeAll(async () => {
        resources = await kubernetesObjects(c);
    });

    test("declares one SparkApplication, valid against the operator's CRD", () => {
        const apps = resources.filter((r) => r.type === SPARK_APPLICATION);
        expect(apps).toHaveLength(1);
        const app = unwrapSecrets(apps[0].inputs);
        expect({ valid: validateApp(app), errors: ajvErrors(validateApp) }).toEqual({ valid: true, errors: [] });
    });

    test("every core object and pod template is valid against Kubernetes' OpenAPI schema, strictly", () => {
        const objects = coreObjects(resources);
        const kinds = new Set(objects.map((o: any) => o.kind));
        for (const kind of ["Namespace", "ServiceAccount", "Role", "RoleBinding", "Secret", "Service", "PodTemplate"]) {
            expect(kinds).toContain(kind);
        }
        expect(validateCore(objects, DEFAULT_KUBERNETES_VERSION).filter((r) => r.errors.length > 0)).toEqual([]);
    });
});

describe("the checks refuse what Kubernetes would silently drop", () => {
    let app: any;
    let resources: ProgramResource[];
    beforeAll(async () => {
        resources = await kubernetesObjects(KUBERNETES_CASES[0]);
        app = unwrapSecrets(resources.find((r) => r.type === SPARK_APPLICATION)!.inputs);
    });

    test.each([
        ["a misspelt field", (a: any) => (a.spec.restartPolicy.onFailureRetryIntervall = 30), "onFailureRetryIntervall"],
        ["a misplaced field (a pod field on the application)", (a: any) => (a.spec.terminationGracePeriodSeconds = 150), "terminationGracePeriodSeconds"],
        ["a misplaced field (a driver field on the executor)", (a: any) => (a.spec.executor.podName = "x"), "podName"],
        ["a wrong type", (a: any) => (a.spec.executor.instances = "2"), "must be integer"],
        ["an unknown enum value", (a: any) => (a.spec.restartPolicy.type = "Forever"), "allowed values"],
    ])("the CRD check fails on %s", (_what, mutate, expected) => {
        const bad = clone(app);
        mutate(bad);
        expect(validateApp(bad)).toBe(false);
        expect(ajvErrors(validateApp).join("\n")).toContain(expected);
    });

    test("the CRD leaves pod templates open (x-kubernetes-preserve-unknown-fields), so they are checked as Kubernetes pod templates", () => {
        const bad = clone(app);
        bad.spec.driver.template.spec.containers[0].securityContxt = { runAsNonRoot: true };
        bad.spec.driver.template.spec.terminationGracePeriod = 150;
        expect(validateApp(bad)).toBe(true);
        const [result] = validateCore([asPodTemplate("driver", bad.spec.driver.template)], DEFAULT_KUBERNETES_VERSION);
        expect(result.errors.join("\n")).toMatch(/securityContxt|terminationGracePeriod/);
    });

    test.each([
        ["a misspelt Service field", "Service", (o: any) => (o.spec.ports[0].targetPrt = 4040), "targetPrt"],
        ["a misplaced ServiceAccount field", "ServiceAccount", (o: any) => (o.metadata.automountServiceAccountToken = false), "automountServiceAccountToken"],
        ["a Role rule with a misspelt key", "Role", (o: any) => (o.rules[0].verb = ["get"]), "verb"],
    ])("the core check fails on %s", (_what, kind, mutate, expected) => {
        const obj = clone(unwrapSecrets(resources.find((r) => r.inputs.kind === kind)!.inputs));
        mutate(obj);
        const [result] = validateCore([obj], DEFAULT_KUBERNETES_VERSION);
        expect(result.errors.join("\n")).toContain(expected);
    });

    test("structural semantics: declared objects are closed, maps and preserved fields stay open", () => {
        const schema = structuralSchema({
            type: "object",
            properties: {
                metadata: { type: "object" },
                spec: {
                    type: "object",
                    properties: {
                        labels: { type: "object", additionalProperties: { type: "string" } },
                        free: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
                        port: { "x-kubernetes-int-or-string": true },
                    },
                },
            },
        });
        expect(schema.additionalProperties).toBe(false);
        expect(schema.properties.metadata).toEqual({ type: "object" });
        expect(schema.properties.spec.additionalProperties).toBe(false);
        expect(schema.properties.spec.properties.labels.additionalProperties).toEqual({ type: "string" });
        expect(schema.properties.spec.properties.free.additionalProperties).toBeUndefined();
        expect(schema.properties.spec.properties.port.anyOf).toEqual([{ type: "integer" }, { type: "string" }]);
    });
});
