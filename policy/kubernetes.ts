import { ResourceValidationPolicy } from "@pulumi/policy";
import { asList, UNKNOWN, validateTypes } from "./support";

// Objects the program declares in Kubernetes: every pod it describes (the SparkApplication's driver and executor
// templates, and any workload or pod template) runs restricted, every namespace it creates enforces the "restricted"
// Pod Security Standard, and no Service is exposed outside the cluster.

export const SPARK_APPLICATION_TYPE = "kubernetes:sparkoperator.k8s.io/v1beta2:SparkApplication";
export const NAMESPACE_TYPE = "kubernetes:core/v1:Namespace";
export const SERVICE_TYPE = "kubernetes:core/v1:Service";
const WORKLOAD_TYPES = ["kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", "kubernetes:apps/v1:DaemonSet", "kubernetes:batch/v1:Job", "kubernetes:core/v1:PodTemplate"];
const POD_TYPE = "kubernetes:core/v1:Pod";

/** The pod specs a resource describes, with where they are. */
export function podSpecs(type: string, props: Record<string, any>): { where: string; spec: any }[] {
    if (type === SPARK_APPLICATION_TYPE) {
        return ["driver", "executor"].map((role) => ({ where: `spec.${role}.template.spec`, spec: props.spec?.[role]?.template?.spec }));
    }
    if (type === POD_TYPE) {
        return [{ where: "spec", spec: props.spec }];
    }
    if (type === "kubernetes:core/v1:PodTemplate") {
        return [{ where: "template.spec", spec: props.template?.spec }];
    }
    return [{ where: "spec.template.spec", spec: props.spec?.template?.spec }];
}

/** What makes a pod spec less than restricted, in words (nothing for unknown parts). */
export function podSpecProblems(spec: any): string[] {
    if (spec === UNKNOWN) {
        return [];
    }
    if (spec === undefined || spec === null) {
        return ["no pod spec (nothing constrains the pods Spark or the controller creates)"];
    }
    const problems: string[] = [];
    const pod = spec.securityContext ?? {};
    for (const hostField of ["hostNetwork", "hostPID", "hostIPC"]) {
        if (spec[hostField] === true) {
            problems.push(`${hostField} is true`);
        }
    }
    for (const v of asList(spec.volumes)) {
        if ((v as any)?.hostPath !== undefined) {
            problems.push(`volume "${(v as any).name}" mounts a host path`);
        }
    }
    for (const c of [...asList(spec.initContainers), ...asList(spec.containers)] as any[]) {
        if (c === UNKNOWN) {
            continue;
        }
        const sc = c?.securityContext ?? {};
        const name = `container "${c?.name}"`;
        if (sc.privileged === true) {
            problems.push(`${name} is privileged`);
        }
        if (sc.allowPrivilegeEscalation !== false && sc.allowPrivilegeEscalation !== UNKNOWN) {
            problems.push(`${name} does not set allowPrivilegeEscalation: false`);
        }
        const drop = sc.capabilities === UNKNOWN ? UNKNOWN : asList(sc.capabilities?.drop);
        if (drop !== UNKNOWN && !drop.includes("ALL")) {
            problems.push(`${name} does not drop ALL capabilities`);
        }
        if (sc.runAsNonRoot !== true && pod.runAsNonRoot !== true && sc.runAsNonRoot !== UNKNOWN && pod.runAsNonRoot !== UNKNOWN) {
            problems.push(`${name} may run as root (runAsNonRoot is not true on it or its pod)`);
        }
        const seccomp = sc.seccompProfile?.type ?? pod.seccompProfile?.type;
        if (seccomp !== "RuntimeDefault" && seccomp !== "Localhost" && seccomp !== UNKNOWN) {
            problems.push(`${name} has no seccomp profile (RuntimeDefault)`);
        }
    }
    return problems;
}

export function kubernetesPodsRestricted(): ResourceValidationPolicy {
    return {
        name: "kubernetes-pods-restricted",
        description: "Every pod the program describes (SparkApplication driver and executor templates, workloads) meets the restricted Pod Security Standard: non-root, no privilege escalation, no capabilities, seccomp, nothing from the host.",
        enforcementLevel: "mandatory",
        validateResource: validateTypes([SPARK_APPLICATION_TYPE, POD_TYPE, ...WORKLOAD_TYPES], (props, ctx, report) => {
            for (const { where, spec } of podSpecs(ctx.type, props)) {
                const problems = podSpecProblems(spec);
                if (problems.length > 0) {
                    report(`${ctx.type.split(":").pop()} "${ctx.name}": ${where}: ${problems.join("; ")}. Set runAsNonRoot, allowPrivilegeEscalation: false, capabilities.drop ["ALL"] and seccompProfile RuntimeDefault (components/kubernetes/sparkApplication.ts).`);
                }
            }
        }),
    };
}

export function kubernetesNamespacesRestricted(): ResourceValidationPolicy {
    return {
        name: "kubernetes-namespace-pod-security",
        description: "Every namespace the program creates enforces the restricted Pod Security Standard (pod-security.kubernetes.io/enforce: restricted), so the API server refuses any other pod.",
        enforcementLevel: "mandatory",
        validateResource: validateTypes([NAMESPACE_TYPE], (props, ctx, report) => {
            const labels = props.metadata === UNKNOWN ? UNKNOWN : props.metadata?.labels;
            const enforce = labels === UNKNOWN ? UNKNOWN : labels?.["pod-security.kubernetes.io/enforce"];
            if (enforce !== UNKNOWN && enforce !== "restricted") {
                report(`Namespace "${ctx.name}" does not enforce the restricted Pod Security Standard (pod-security.kubernetes.io/enforce is ${JSON.stringify(enforce ?? "unset")}); label it "restricted".`);
            }
        }),
    };
}

export function kubernetesServicesInternal(): ResourceValidationPolicy {
    return {
        name: "kubernetes-services-internal",
        description: "Services stay inside the cluster (ClusterIP): a LoadBalancer or NodePort would expose the Spark UI or metrics; use kubectl port-forward.",
        enforcementLevel: "mandatory",
        validateResource: validateTypes([SERVICE_TYPE], (props, ctx, report) => {
            const type = props.spec === UNKNOWN ? UNKNOWN : props.spec?.type;
            if (type === "LoadBalancer" || type === "NodePort") {
                report(`Service "${ctx.name}" is of type ${type}, reachable from outside the cluster; make it ClusterIP and reach it with kubectl port-forward (the stack's uiTunnels).`);
            }
        }),
    };
}
