import { NAMESPACE_TYPE, SERVICE_TYPE, SPARK_APPLICATION_TYPE } from "./kubernetes";
import { packPolicies } from "./pack";
import { UNKNOWN_STRING, violations } from "./testing";

const pack = packPolicies();
const of = (policy: string) => async (type: string, props: Record<string, any>) => (await violations(pack, type, props, { name: "subject" })).filter((v) => v.policy === policy);

const restrictedPod = (name: string) => ({
    securityContext: { runAsNonRoot: true, runAsUser: 185, seccompProfile: { type: "RuntimeDefault" } },
    containers: [{ name, securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } } }],
    volumes: [{ name: "tmp", emptyDir: {} }],
});
const app = () => ({
    apiVersion: "sparkoperator.k8s.io/v1beta2",
    kind: "SparkApplication",
    metadata: { name: "events-consumer" },
    spec: { driver: { template: { spec: restrictedPod("spark-kubernetes-driver") } }, executor: { template: { spec: restrictedPod("spark-kubernetes-executor") } } },
});

describe("kubernetes-pods-restricted", () => {
    const check = of("kubernetes-pods-restricted");
    test("restricted driver and executor templates pass, and so does a restricted Deployment", async () => {
        expect(await check(SPARK_APPLICATION_TYPE, app())).toEqual([]);
        expect(await check("kubernetes:apps/v1:Deployment", { spec: { template: { spec: restrictedPod("c") } } })).toEqual([]);
    });
    test.each([
        ["privilege escalation", (p: any) => delete p.containers[0].securityContext.allowPrivilegeEscalation, "allowPrivilegeEscalation"],
        ["kept capabilities", (p: any) => (p.containers[0].securityContext.capabilities = { add: ["NET_ADMIN"] }), "drop ALL"],
        ["root", (p: any) => delete p.securityContext.runAsNonRoot, "may run as root"],
        ["no seccomp", (p: any) => delete p.securityContext.seccompProfile, "seccomp"],
        ["a privileged container", (p: any) => (p.containers[0].securityContext.privileged = true), "privileged"],
        ["the host network", (p: any) => (p.hostNetwork = true), "hostNetwork"],
        ["a host path", (p: any) => p.volumes.push({ name: "docker", hostPath: { path: "/var/run/docker.sock" } }), "host path"],
    ])("an executor template with %s is a mandatory violation", async (_what, mutate, expected) => {
        const bad = app();
        mutate(bad.spec.executor.template.spec);
        expect(await check(SPARK_APPLICATION_TYPE, bad)).toEqual([expect.objectContaining({ enforcementLevel: "mandatory", message: expect.stringMatching(new RegExp(`spec\\.executor\\.template\\.spec: .*${expected}`)) })]);
    });
    test("an application without pod templates is reported (nothing constrains its pods); unknown parts are not", async () => {
        const bare: any = app();
        delete bare.spec.driver.template;
        expect(await check(SPARK_APPLICATION_TYPE, bare)).toEqual([expect.objectContaining({ message: expect.stringContaining("spec.driver.template.spec: no pod spec") })]);
        const unknown: any = app();
        unknown.spec.driver.template.spec.securityContext.runAsNonRoot = UNKNOWN_STRING;
        expect(await check(SPARK_APPLICATION_TYPE, unknown)).toEqual([]);
    });
});

describe("kubernetes-namespace-pod-security", () => {
    const check = of("kubernetes-namespace-pod-security");
    test("a namespace enforcing restricted passes; baseline or no label is reported", async () => {
        expect(await check(NAMESPACE_TYPE, { metadata: { name: "n", labels: { "pod-security.kubernetes.io/enforce": "restricted" } } })).toEqual([]);
        expect(await check(NAMESPACE_TYPE, { metadata: { name: "n", labels: { "pod-security.kubernetes.io/enforce": "baseline" } } })).toHaveLength(1);
        expect(await check(NAMESPACE_TYPE, { metadata: { name: "n" } })).toEqual([expect.objectContaining({ message: expect.stringContaining("unset") })]);
    });
});

describe("kubernetes-services-internal", () => {
    const check = of("kubernetes-services-internal");
    test("ClusterIP passes; LoadBalancer and NodePort are reported", async () => {
        expect(await check(SERVICE_TYPE, { spec: { type: "ClusterIP", ports: [{ port: 4040 }] } })).toEqual([]);
        expect(await check(SERVICE_TYPE, { spec: { ports: [{ port: 4040 }] } })).toEqual([]);
        for (const type of ["LoadBalancer", "NodePort"]) {
            expect(await check(SERVICE_TYPE, { spec: { type, ports: [{ port: 4040 }] } })).toEqual([expect.objectContaining({ enforcementLevel: "mandatory", message: expect.stringContaining(type) })]);
        }
    });
});

describe("instance-types-allowed", () => {
    test("covers EKS node groups", async () => {
        const found = (await violations(pack, "aws:eks/nodeGroup:NodeGroup", { instanceTypes: ["x1e.32xlarge"] })).filter((v) => v.policy === "instance-types-allowed");
        expect(found).toEqual([expect.objectContaining({ message: expect.stringContaining("instanceTypes[0] x1e.32xlarge") })]);
    });
});
