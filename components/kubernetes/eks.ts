import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AccessConfig, KubernetesConfig } from "../config";
import { uiIngressCidrs } from "../ec2/securityGroups";
import { assumeRolePolicy } from "../hostAccess";
import { addonVersions } from "./versions";

// The EKS control plane from plain aws resources (so every part is visible to previews, reviews and tests): a
// private API endpoint (public only for access.allowedCidrs), secrets envelope-encrypted with a key of the
// cluster's own, every control-plane log type kept for the configured days, authentication through access entries
// only, and the IAM OIDC provider that IRSA roles trust.

/** Every control-plane log type EKS offers: the audit log is who did what; the others explain failures. */
export const CONTROL_PLANE_LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"] as const;
/** The AWS managed policy for the cluster role. */
export const CLUSTER_POLICY = "AmazonEKSClusterPolicy";
/** The access policy an admin principal gets on the whole cluster. */
export const CLUSTER_ADMIN_ACCESS_POLICY = "AmazonEKSClusterAdminPolicy";
/** The audience IRSA tokens carry (the only client id the OIDC provider accepts). */
export const IRSA_AUDIENCE = "sts.amazonaws.com";

/** The cluster's name: fixed per project and stack (the log group is named after it before the cluster exists). */
export function clusterName(project: string, stack: string): string {
    return `${project}-${stack}`.replace(/[^0-9A-Za-z-]/g, "-").slice(0, 100);
}

/** The API endpoint's exposure: private always; public only for the listed CIDRs (never the whole internet). */
export function endpointAccess(access: AccessConfig): { endpointPrivateAccess: true; endpointPublicAccess: boolean; publicAccessCidrs?: string[] } {
    const cidrs = uiIngressCidrs(access);
    return cidrs.length > 0 ? { endpointPrivateAccess: true, endpointPublicAccess: true, publicAccessCidrs: cidrs } : { endpointPrivateAccess: true, endpointPublicAccess: false };
}

export interface EksControlPlaneArgs {
    readonly config: KubernetesConfig;
    readonly access: AccessConfig;
    readonly privateSubnetIds: pulumi.Input<string[]>;
    readonly controlPlaneSecurityGroupId: pulumi.Input<string>;
    /** Keep the secrets key and the control-plane logs when the stack is destroyed, and refuse to delete the cluster. */
    readonly protect: boolean;
}

export interface EksControlPlane {
    readonly cluster: aws.eks.Cluster;
    readonly oidcProvider: aws.iam.OpenIdConnectProvider;
    /** The access entries and their policy associations: the program's own provider works once they exist. */
    readonly access: pulumi.Resource[];
}

export function eksControlPlane(name: string, args: EksControlPlaneArgs, opts: pulumi.CustomResourceOptions): EksControlPlane {
    const { config } = args;
    addonVersions(config.version);
    const partition = aws.getPartitionOutput({}, opts).partition;
    const kept = args.protect ? { ...opts, retainOnDelete: true } : opts;
    const eksName = clusterName(pulumi.getProject(), pulumi.getStack());

    const role = new aws.iam.Role(`${name}-cluster-role`, { assumeRolePolicy: assumeRolePolicy("eks.amazonaws.com"), description: "The EKS control plane of the kubernetes engine" }, opts);
    const rolePolicy = new aws.iam.RolePolicyAttachment(`${name}-cluster-policy`, { role: role.name, policyArn: pulumi.interpolate`arn:${partition}:iam::aws:policy/${CLUSTER_POLICY}` }, opts);
    const secretsKey = new aws.kms.Key(
        `${name}-secrets-key`,
        { description: `Envelope-encrypts the Kubernetes secrets of ${eksName}`, enableKeyRotation: true, deletionWindowInDays: args.protect ? 30 : 7 },
        kept,
    );
    // Named as EKS names it, and created first, so the retention applies from the first log line.
    const logGroup = new aws.cloudwatch.LogGroup(`${name}-control-plane-logs`, { name: `/aws/eks/${eksName}/cluster`, retentionInDays: config.logRetentionDays }, kept);

    const cluster = new aws.eks.Cluster(
        `${name}-cluster`,
        {
            name: eksName,
            version: config.version,
            roleArn: role.arn,
            vpcConfig: { subnetIds: args.privateSubnetIds, securityGroupIds: [args.controlPlaneSecurityGroupId], ...endpointAccess(args.access) },
            encryptionConfig: { provider: { keyArn: secretsKey.arn }, resources: ["secrets"] },
            enabledClusterLogTypes: [...CONTROL_PLANE_LOG_TYPES],
            // Access entries only (no aws-auth ConfigMap); whoever creates the cluster is its first admin, so the
            // program's own provider can deploy into it.
            accessConfig: { authenticationMode: "API", bootstrapClusterCreatorAdminPermissions: true },
            // The add-ons below are EKS add-ons pinned to this version, not the unmanaged copies EKS would install.
            bootstrapSelfManagedAddons: false,
            deletionProtection: args.protect,
        },
        { ...opts, dependsOn: [rolePolicy, logGroup] },
    );

    const issuer = cluster.identities.apply((ids) => ids[0].oidcs![0].issuer!);
    // IAM trusts EKS's issuers through its own certificate store; the thumbprint is not needed.
    const oidcProvider = new aws.iam.OpenIdConnectProvider(`${name}-oidc`, { url: issuer, clientIdLists: [IRSA_AUDIENCE] }, opts);

    const access: pulumi.Resource[] = [];
    [...config.adminPrincipalArns].sort().forEach((principalArn, i) => {
        const entry = new aws.eks.AccessEntry(`${name}-admin-${i}`, { clusterName: cluster.name, principalArn, type: "STANDARD" }, opts);
        access.push(
            entry,
            new aws.eks.AccessPolicyAssociation(
                `${name}-admin-${i}-policy`,
                { clusterName: cluster.name, principalArn: entry.principalArn, policyArn: pulumi.interpolate`arn:${partition}:eks::aws:cluster-access-policy/${CLUSTER_ADMIN_ACCESS_POLICY}`, accessScope: { type: "cluster" } },
                opts,
            ),
        );
    });
    return { cluster, oidcProvider, access };
}

/**
 * One EKS add-on at the version pinned for the cluster's Kubernetes version. EKS owns their configuration: on create
 * and update the add-on's own settings win over whatever is on the cluster.
 */
export function eksAddon(name: string, addon: "vpc-cni" | "kube-proxy" | "coredns", cluster: aws.eks.Cluster, version: string, opts: pulumi.CustomResourceOptions): aws.eks.Addon {
    return new aws.eks.Addon(
        `${name}-${addon}`,
        { clusterName: cluster.name, addonName: addon, addonVersion: addonVersions(version)[addon], resolveConflictsOnCreate: "OVERWRITE", resolveConflictsOnUpdate: "OVERWRITE" },
        opts,
    );
}
