import { z } from "zod";
import { DEFAULT_KUBERNETES_VERSION, KUBERNETES_VERSIONS } from "../kubernetes/versions";
import { amd64InstanceType, cloudwatchRetention } from "./common";

/** A Kubernetes object name (RFC 1123 label): namespaces and service accounts. */
const kubernetesName = z
    .string()
    .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, { message: "must be a Kubernetes name: 1-63 lowercase letters, digits or '-', starting and ending with a letter or digit" });

/** Spark's memory syntax for driver and executor heaps, e.g. "2g", "512m". */
const sparkMemory = z.string().regex(/^[1-9]\d*[mg]$/, { message: 'must be a Spark memory size such as "512m" or "4g"' });

const iamPrincipalArn = z
    .string()
    .regex(/^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/[\w+=,.@/-]+$/, { message: "must be an IAM role or user ARN (arn:aws:iam::ACCOUNT:role/NAME)" });

/** An existing cluster: how to reach it (the kubeconfig itself is the secret top-level key `kubeconfig`) and its identity. */
const existingClusterSchema = z.strictObject({
    /** The kubeconfig context to use (the kubeconfig may hold several). */
    context: z.string().min(1, { message: "must name a context of the kubeconfig" }),
    /** The cluster's IAM OIDC provider: the consumer's IAM role trusts tokens from this issuer only (IRSA). */
    oidcProviderArn: z
        .string()
        .regex(/^arn:aws[a-z-]*:iam::\d{12}:oidc-provider\/[^\s]+$/, { message: "must be an IAM OIDC provider ARN (arn:aws:iam::ACCOUNT:oidc-provider/ISSUER)" }),
    /** The nodes' security group; MSK admits the consumer's pods through it. Required with MSK. */
    nodeSecurityGroupId: z.string().regex(/^sg-[0-9a-f]+$/, { message: "must be a security group id such as sg-0abc123" }).optional(),
    /** The cluster's name in outputs and tunnel commands. Default: the context. */
    clusterName: z.string().min(1).optional(),
});

/** Engine `kubernetes`: EKS created by the stack, or an existing cluster; the operator; the consumer's resources. */
export const kubernetesSchema = z
    .strictObject({
        /** `eks`: the stack creates an EKS cluster; `existing`: a cluster given by the secret `kubeconfig` and `kubernetes.existing`. */
        cluster: z.enum(["eks", "existing"]).default("eks"),
        /** Kubernetes version of the EKS cluster; one of the versions whose add-ons are pinned (components/kubernetes/versions.ts). */
        version: z
            .string()
            .refine((v) => Object.keys(KUBERNETES_VERSIONS).includes(v), {
                message: `must be one of ${Object.keys(KUBERNETES_VERSIONS).join(", ")} (the versions whose EKS add-ons are pinned in components/kubernetes/versions.ts)`,
            })
            .default(DEFAULT_KUBERNETES_VERSION),
        /** Namespace of the consumer (the operator watches only this one). */
        namespace: kubernetesName.default("spark-streaming"),
        /** The consumer's service account (driver and executors), bound to its IAM role (IRSA). */
        serviceAccount: kubernetesName.default("streaming-consumer"),
        /** Install the Spark Operator (Helm chart 2.5.2). Default: on with `eks`, off with `existing` (the cluster's own operator must watch the namespace). */
        installOperator: z.boolean().optional(),
        /** Namespace of the operator. */
        operatorNamespace: kubernetesName.default("spark-operator"),
        /** EKS node group instance type; x86_64 (the image is linux/amd64). */
        nodeInstanceType: amd64InstanceType.default("m6i.xlarge"),
        nodeMin: z.number().int().min(1).max(100).default(2),
        nodeDesired: z.number().int().min(1).max(100).default(2),
        nodeMax: z.number().int().min(1).max(100).default(4),
        /** Root volume of each node (images, emptyDir scratch space), GiB. */
        nodeVolumeGb: z.number().int().min(20).max(1024).default(50),
        /** IAM principals that get cluster admin through EKS access entries, besides whoever creates the cluster. */
        adminPrincipalArns: z.array(iamPrincipalArn).default([]),
        /** Days the EKS control-plane logs are kept. Default: network.flowLogRetentionDays (both are audit trails). */
        logRetentionDays: cloudwatchRetention.optional(),
        /** The driver pod: Spark cores and heap. */
        driver: z.strictObject({ cores: z.number().int().min(1).max(16).default(1), memory: sparkMemory.default("2g") }).default({ cores: 1, memory: "2g" }),
        /** The executor pods: how many, and each one's Spark cores and heap. */
        executor: z
            .strictObject({
                instances: z.number().int().min(1).max(100).default(2),
                cores: z.number().int().min(1).max(16).default(2),
                memory: sparkMemory.default("4g"),
            })
            .default({ instances: 2, cores: 2, memory: "4g" }),
        /** cluster `existing`: its context, OIDC provider and node security group. */
        existing: existingClusterSchema.optional(),
    })
    .superRefine((k, ctx) => {
        if (k.cluster === "existing" && k.existing === undefined) {
            ctx.addIssue({ code: "custom", path: ["existing"], message: "is required when kubernetes.cluster is existing: give its context and oidcProviderArn" });
        }
        if (k.cluster === "eks" && k.existing !== undefined) {
            ctx.addIssue({ code: "custom", path: ["existing"], message: "is only for kubernetes.cluster existing; cluster eks creates its own" });
        }
        if (!(k.nodeMin <= k.nodeDesired && k.nodeDesired <= k.nodeMax)) {
            ctx.addIssue({ code: "custom", path: ["nodeDesired"], message: `must satisfy nodeMin <= nodeDesired <= nodeMax; got ${k.nodeMin} <= ${k.nodeDesired} <= ${k.nodeMax}` });
        }
    });

export type KubernetesConfig = Omit<z.infer<typeof kubernetesSchema>, "installOperator" | "logRetentionDays"> & {
    installOperator: boolean;
    logRetentionDays: number;
};
