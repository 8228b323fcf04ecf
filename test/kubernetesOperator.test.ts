import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse as parseYaml, parseAllDocuments } from "yaml";
import { OPERATOR_CHART_DIR, OPERATOR_CHART_VERSION, OPERATOR_RELEASE, operatorCrds } from "../components/kubernetes/operator";
import { DEFAULT_KUBERNETES_VERSION } from "../components/kubernetes/versions";
import { validateCore } from "./support/kubernetesSchemas";
import { KUBERNETES_CASES } from "./support/kubernetesStacks";
import type { ProgramResource } from "./support/policyRun";

// The Spark Operator as the program installs it: the vendored chart is the unmodified 2.5.2, the program declares its
// CRDs (so a first preview knows the SparkApplication kind) and orders the application after them and the release,
// and the chart rendered offline by `helm template` with exactly the values the program passes gives an operator that
// watches only the consumer's namespace, with its rights there and no admission webhook.

const ROOT = path.resolve(__dirname, "..");
const CONSUMER_NAMESPACE = "spark-streaming";
const OPERATOR_NAMESPACE = "spark-operator";

let resources: ProgramResource[];
beforeAll(async () => {
    await jest.isolateModulesAsync(async () => {
        const { registerProgram } = await import("./support/policyRun");
        resources = await registerProgram("dev", undefined, KUBERNETES_CASES[0].overrides, KUBERNETES_CASES[0].secrets);
    });
});
const ofType = (type: string) => resources.filter((r) => r.type === type);

describe("the vendored chart", () => {
    test("is the unmodified 2.5.2 chart with its license: every file matches the recorded checksum, and none is added", () => {
        const sums = fs.readFileSync(path.join(OPERATOR_CHART_DIR, "SHA256SUMS"), "utf8").trim().split("\n").map((l) => l.split(/\s+/));
        const listed = new Set(sums.map(([, file]) => file.replace(/^\.\//, "")));
        for (const [sum, file] of sums) {
            const actual = crypto.createHash("sha256").update(fs.readFileSync(path.join(OPERATOR_CHART_DIR, file))).digest("hex");
            expect({ file, sum: actual }).toEqual({ file, sum });
        }
        const walk = (dir: string): string[] => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.relative(OPERATOR_CHART_DIR, path.join(dir, e.name))]));
        expect(walk(OPERATOR_CHART_DIR).filter((f) => !listed.has(f)).sort()).toEqual(["SHA256SUMS", "VENDORED.md"]);
        expect(listed).toContain("LICENSE");
        expect(fs.readFileSync(path.join(OPERATOR_CHART_DIR, "LICENSE"), "utf8")).toContain("Apache License");
        expect(parseYaml(fs.readFileSync(path.join(OPERATOR_CHART_DIR, "Chart.yaml"), "utf8"))).toMatchObject({ name: "spark-operator", version: OPERATOR_CHART_VERSION });
    });
});

describe("CRDs and ordering (the first-preview problem)", () => {
    test("the program declares every CRD of the chart, exactly as the chart ships it", () => {
        const declared = ofType("kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition").map((r) => ({ metadata: r.inputs.metadata, spec: r.inputs.spec }));
        const shipped = operatorCrds().map((crd) => ({ metadata: crd.metadata, spec: crd.spec }));
        expect(declared.map((d) => d.metadata.name).sort()).toEqual(shipped.map((s) => s.metadata.name).sort());
        for (const s of shipped) {
            expect(declared.find((d) => d.metadata.name === s.metadata.name)).toEqual(s);
        }
        expect(shipped.map((s) => s.metadata.name)).toContain("sparkapplications.sparkoperator.k8s.io");
    });

    test("the release skips the chart's CRDs and waits for them; the SparkApplication waits for the CRDs and the release", () => {
        const [release] = ofType("kubernetes:helm.sh/v3:Release");
        const crdUrns = ofType("kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition").map((r) => r.realUrn);
        expect(release.inputs.skipCrds).toBe(true);
        expect(release.dependencies).toEqual(expect.arrayContaining(crdUrns));
        const [app] = ofType("kubernetes:sparkoperator.k8s.io/v1beta2:SparkApplication");
        expect(app.dependencies).toEqual(expect.arrayContaining([...crdUrns, release.realUrn]));
        // Its kind and version are those the declared CRD serves, so the provider's CRD cache knows it at preview.
        const crd = operatorCrds().find((c) => c.metadata.name === "sparkapplications.sparkoperator.k8s.io")!;
        expect(`${crd.spec.group}/${crd.spec.versions.find((v: any) => v.served && v.storage).name}`).toBe(app.inputs.apiVersion);
        expect(crd.spec.names.kind).toBe(app.inputs.kind);
    });

    test("everything in the cluster goes through the one cluster provider", () => {
        const providers = ofType("pulumi:providers:kubernetes");
        expect(providers).toHaveLength(1);
        const inCluster = resources.filter((r) => r.custom && r.type.startsWith("kubernetes:"));
        expect(inCluster.length).toBeGreaterThan(10);
        for (const r of inCluster) {
            expect({ name: r.name, provider: r.provider.split("::").slice(0, -1).join("::") }).toEqual({ name: r.name, provider: providers[0].realUrn });
        }
    });

    test("the release installs the vendored chart by a path relative to the project, into the operator's namespace", () => {
        const [release] = ofType("kubernetes:helm.sh/v3:Release");
        expect(release.inputs).toMatchObject({ name: OPERATOR_RELEASE, chart: "components/kubernetes/spark-operator-chart", namespace: OPERATOR_NAMESPACE, atomic: true });
        expect(fs.existsSync(path.join(ROOT, release.inputs.chart, "Chart.yaml"))).toBe(true);
    });
});

describe("helm template of the chart with the program's values", () => {
    let rendered: any[];
    beforeAll(() => {
        const [release] = ofType("kubernetes:helm.sh/v3:Release");
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "operator-values-"));
        const values = path.join(dir, "values.json");
        fs.writeFileSync(values, JSON.stringify(release.inputs.values));
        const helm = spawnSync(
            "bash",
            [path.join(ROOT, "scripts", "helm.sh"), "template", release.inputs.name, path.join(ROOT, release.inputs.chart), "--namespace", release.inputs.namespace, "--skip-crds", "--values", values],
            { encoding: "utf8", timeout: 1_800_000 },
        );
        fs.rmSync(dir, { recursive: true, force: true });
        if (helm.status !== 0) {
            throw new Error(`helm template failed (${helm.status}): ${helm.stderr}`);
        }
        rendered = parseAllDocuments(helm.stdout).map((d) => d.toJS()).filter((d) => d !== null);
    }, 1_900_000);
    const objects = (kind: string, namespace?: string) => rendered.filter((o) => o.kind === kind && (namespace === undefined || o.metadata.namespace === namespace));

    test("renders the controller and nothing of the webhook: no admission configuration can block pods or applications", () => {
        expect(objects("Deployment").map((d) => d.metadata.name)).toEqual([`${OPERATOR_RELEASE}-controller`]);
        expect(objects("MutatingWebhookConfiguration")).toEqual([]);
        expect(objects("ValidatingWebhookConfiguration")).toEqual([]);
    });

    test("the controller watches only the consumer's namespace and serves its metrics on the port the tunnel forwards", () => {
        const [deployment] = objects("Deployment");
        const [container] = deployment.spec.template.spec.containers;
        expect(container.args).toContain(`--namespaces=${CONSUMER_NAMESPACE}`);
        expect(container.args.filter((a: string) => a.startsWith("--namespaces"))).toHaveLength(1);
        expect(container.args).toContain("--enable-ui-service=false");
        expect(container.args).toContain("--metrics-bind-address=:8080");
        expect(container.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } });
    });

    test("the controller's rights over applications and pods are a Role bound in the consumer's namespace, not cluster-wide", () => {
        const [role] = objects("Role", CONSUMER_NAMESPACE);
        const [binding] = objects("RoleBinding", CONSUMER_NAMESPACE);
        expect(role.metadata.name).toBe(`${OPERATOR_RELEASE}-controller`);
        const grants = (group: string, resource: string, verb: string) => role.rules.some((r: any) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb));
        // Submit drivers, delete them on a redeploy, watch applications and record their state.
        for (const [group, resource, verb] of [["", "pods", "create"], ["", "pods", "delete"], ["sparkoperator.k8s.io", "sparkapplications", "watch"], ["sparkoperator.k8s.io", "sparkapplications/status", "update"]]) {
            expect({ group, resource, verb, granted: grants(group, resource, verb) }).toEqual({ group, resource, verb, granted: true });
        }
        expect(binding.roleRef).toMatchObject({ kind: "Role", name: role.metadata.name });
        expect(binding.subjects).toEqual([{ kind: "ServiceAccount", name: `${OPERATOR_RELEASE}-controller`, namespace: OPERATOR_NAMESPACE }]);
        // Cluster-wide, the controller may only read CRDs.
        const [clusterRole] = objects("ClusterRole");
        expect(clusterRole.rules.flatMap((r: any) => r.resources)).toEqual(["customresourcedefinitions"]);
        // The consumer's service account and the driver's Role are the program's own (with the IRSA role); the chart adds none.
        expect(objects("ServiceAccount", CONSUMER_NAMESPACE)).toEqual([]);
        expect(rendered.filter((o) => o.metadata.namespace === CONSUMER_NAMESPACE).map((o) => o.kind).sort()).toEqual(["Role", "RoleBinding"]);
    });

    test("every rendered object is valid against Kubernetes' OpenAPI schema, strictly", () => {
        expect(rendered.length).toBeGreaterThan(5);
        expect(validateCore(rendered, DEFAULT_KUBERNETES_VERSION).filter((r) => r.errors.length > 0)).toEqual([]);
    });
});
