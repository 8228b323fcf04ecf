import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { AUTH_SECRET_KEY, APP_LABEL, COMPONENT_LABEL } from "./sparkApplication";
import { DRIVER_UI_PORT } from "./metrics";

// The consumer's objects in its namespace, apart from the SparkApplication: the namespace itself (Pod Security
// "restricted" enforced, so the API server refuses any pod that is not non-root, unprivileged, seccomp-confined and
// without privilege escalation), the service account bound to the IRSA role, what the driver may do in the namespace
// (create and delete its executors), the spark.authenticate secret, and a stable Service for the driver UI.

/** Pod Security Admission: enforce, audit and warn at "restricted" on every namespace the platform creates. */
export function podSecurityLabels(): Record<string, string> {
    return Object.fromEntries(["enforce", "audit", "warn"].map((mode) => [`pod-security.kubernetes.io/${mode}`, "restricted"]));
}

/** A namespace of the platform. */
export function platformNamespace(name: string, namespace: string, opts: pulumi.CustomResourceOptions): k8s.core.v1.Namespace {
    return new k8s.core.v1.Namespace(name, { metadata: { name: namespace, labels: { ...podSecurityLabels(), "app.kubernetes.io/part-of": "spark-streaming" } } }, opts);
}

/** The spark.authenticate secret's name: a new one per rotation. */
export function authSecretName(appName: string, rotation: number): string {
    return `${appName}-spark-auth-${rotation}`;
}

/** The Spark driver's rights in its namespace: the executors' pods, their config maps and the driver's own service. */
export const DRIVER_RULES = [
    { apiGroups: [""], resources: ["configmaps", "pods", "services"], verbs: ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"] },
];

export interface ConsumerWorkloadArgs {
    readonly namespace: string;
    readonly serviceAccount: string;
    readonly appName: string;
    /** The IRSA role the service account is bound to. */
    readonly roleArn: pulumi.Input<string>;
    /** Bump to generate a new spark.authenticate secret (security.sparkSecretRotation); the application restarts with it. */
    readonly secretRotation: number;
}

export interface ConsumerWorkload {
    readonly namespace: k8s.core.v1.Namespace;
    readonly serviceAccount: k8s.core.v1.ServiceAccount;
    readonly authSecret: k8s.core.v1.Secret;
    readonly uiService: k8s.core.v1.Service;
    /** Everything the SparkApplication needs before its driver starts. */
    readonly ready: pulumi.Resource[];
}

export function consumerWorkload(name: string, args: ConsumerWorkloadArgs, opts: pulumi.CustomResourceOptions): ConsumerWorkload {
    const namespace = platformNamespace(`${name}-namespace`, args.namespace, opts);
    const inNamespace = { ...opts, dependsOn: [namespace] };
    const metadata = (objectName: string) => ({ name: objectName, namespace: args.namespace, labels: { [APP_LABEL]: args.appName, "app.kubernetes.io/part-of": "spark-streaming" } });

    const serviceAccount = new k8s.core.v1.ServiceAccount(
        `${name}-service-account`,
        {
            metadata: {
                ...metadata(args.serviceAccount),
                // IRSA: EKS's pod identity webhook projects a token for this role into every pod of the account.
                annotations: { "eks.amazonaws.com/role-arn": args.roleArn, "eks.amazonaws.com/sts-regional-endpoints": "true" },
            },
        },
        inNamespace,
    );
    const role = new k8s.rbac.v1.Role(`${name}-driver-role`, { metadata: metadata(`${args.serviceAccount}-driver`), rules: DRIVER_RULES }, inNamespace);
    const binding = new k8s.rbac.v1.RoleBinding(
        `${name}-driver-binding`,
        {
            metadata: metadata(`${args.serviceAccount}-driver`),
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
            subjects: [{ kind: "ServiceAccount", name: serviceAccount.metadata.name, namespace: args.namespace }],
        },
        inNamespace,
    );

    // A new rotation is a new secret under a new name: the running application keeps the secret it started with
    // until the SparkApplication (which names the new one) is resubmitted, so driver and executors never disagree.
    const secretValue = new random.RandomPassword(`${name}-spark-auth`, { length: 64, special: false, keepers: { rotation: String(args.secretRotation) } }, opts);
    const authSecret = new k8s.core.v1.Secret(
        `${name}-spark-auth`,
        {
            metadata: metadata(authSecretName(args.appName, args.secretRotation)),
            type: "Opaque",
            immutable: true,
            stringData: { [AUTH_SECRET_KEY]: secretValue.result },
        },
        inNamespace,
    );

    // Stable name and port for `kubectl port-forward` whichever driver pod is running (Spark's own driver service is
    // named after the pod and headless).
    const uiService = new k8s.core.v1.Service(
        `${name}-driver-ui`,
        {
            metadata: metadata(`${args.appName}-ui`),
            spec: {
                type: "ClusterIP",
                selector: { [APP_LABEL]: args.appName, [COMPONENT_LABEL]: "driver" },
                ports: [{ name: "spark-ui", port: DRIVER_UI_PORT, targetPort: DRIVER_UI_PORT, protocol: "TCP" }],
            },
        },
        inNamespace,
    );
    return { namespace, serviceAccount, authSecret, uiService, ready: [serviceAccount, binding, authSecret] };
}
