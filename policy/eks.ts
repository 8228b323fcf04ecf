import { ResourceValidationPolicy } from "@pulumi/policy";
import { openCidrs } from "./ec2";
import { asList, hasUnknown, parseJsonDocument, UNKNOWN, validateTypes } from "./support";

// EKS as the kubernetes engine builds it: a private API endpoint (public only for listed ranges), Kubernetes secrets
// envelope-encrypted with KMS, the audit trail of the control plane kept, access through access entries only; managed
// node groups launched from a template (where IMDSv2 and its hop limit are enforced by the ec2 policies) and without
// SSH; IAM roles for service accounts trusted by exactly one service account.

export const EKS_CLUSTER_TYPE = "aws:eks/cluster:Cluster";
export const EKS_NODE_GROUP_TYPE = "aws:eks/nodeGroup:NodeGroup";
export const IAM_ROLE_TYPE = "aws:iam/role:Role";

/** The control-plane logs an audit needs: requests, who made them, and how they were authenticated. */
export const REQUIRED_CONTROL_PLANE_LOGS = ["api", "audit", "authenticator"] as const;

export function eksPrivateEndpoint(): ResourceValidationPolicy {
    return {
        name: "eks-private-endpoint",
        description: "EKS API endpoints are private; a public endpoint is allowed only for listed CIDRs, never the whole internet.",
        enforcementLevel: "mandatory",
        validateResource: validateTypes([EKS_CLUSTER_TYPE], (props, ctx, report) => {
            const vpc = props.vpcConfig;
            if (vpc === UNKNOWN || vpc?.endpointPublicAccess === UNKNOWN || vpc?.publicAccessCidrs === UNKNOWN) {
                return;
            }
            const fix = "set vpcConfig.endpointPublicAccess to false (reach the API from inside the VPC), or list your ranges in publicAccessCidrs (access.allowedCidrs).";
            // EKS's own default for a cluster that does not say: a public endpoint open to 0.0.0.0/0.
            if (vpc?.endpointPublicAccess !== false) {
                const cidrs = asList(vpc?.publicAccessCidrs);
                const open = openCidrs(cidrs);
                if (cidrs.length === 0 || open.length > 0) {
                    report(`EKS cluster "${ctx.name}" has a public API endpoint open to ${open.length > 0 ? open.join(" and ") : "the whole internet (no publicAccessCidrs)"}; ${fix}`);
                }
            }
            if (vpc?.endpointPrivateAccess !== true) {
                report(`EKS cluster "${ctx.name}" has no private API endpoint (vpcConfig.endpointPrivateAccess is ${JSON.stringify(vpc?.endpointPrivateAccess ?? "unset")}); nodes would reach the API over the internet; set it to true.`);
            }
        }),
    };
}

export function eksSecretsEncrypted(): ResourceValidationPolicy {
    return {
        name: "eks-secrets-encryption",
        description: "EKS clusters envelope-encrypt Kubernetes secrets with a KMS key (encryptionConfig with resources [\"secrets\"]).",
        enforcementLevel: "mandatory",
        validateResource: validateTypes([EKS_CLUSTER_TYPE], (props, ctx, report) => {
            const config = props.encryptionConfig;
            if (hasUnknown(config)) {
                return;
            }
            if (!asList(config?.resources).includes("secrets") || config?.provider?.keyArn === undefined) {
                report(`EKS cluster "${ctx.name}" does not envelope-encrypt its secrets; set encryptionConfig: { provider: { keyArn: <a KMS key> }, resources: ["secrets"] }.`);
            }
        }),
    };
}

export function eksControlPlaneLogs(): ResourceValidationPolicy {
    return {
        name: "eks-control-plane-logs",
        description: `EKS clusters send the ${REQUIRED_CONTROL_PLANE_LOGS.join(", ")} control-plane logs to CloudWatch.`,
        enforcementLevel: "mandatory",
        validateResource: validateTypes([EKS_CLUSTER_TYPE], (props, ctx, report) => {
            if (hasUnknown(props.enabledClusterLogTypes)) {
                return;
            }
            const enabled = asList(props.enabledClusterLogTypes);
            const missing = REQUIRED_CONTROL_PLANE_LOGS.filter((t) => !enabled.includes(t));
            if (missing.length > 0) {
                report(`EKS cluster "${ctx.name}" does not log ${missing.join(", ")}; add them to enabledClusterLogTypes (and create the /aws/eks/<name>/cluster log group with a retention first).`);
            }
        }),
    };
}

export function eksAccessEntries(): ResourceValidationPolicy {
    return {
        name: "eks-access-entries",
        description: "EKS clusters authenticate through access entries only (accessConfig.authenticationMode \"API\"), not the aws-auth ConfigMap.",
        enforcementLevel: "mandatory",
        validateResource: validateTypes([EKS_CLUSTER_TYPE], (props, ctx, report) => {
            const mode = props.accessConfig === UNKNOWN ? UNKNOWN : props.accessConfig?.authenticationMode;
            if (mode !== UNKNOWN && mode !== "API") {
                report(`EKS cluster "${ctx.name}" uses authentication mode ${JSON.stringify(mode ?? "unset (CONFIG_MAP)")}; set accessConfig.authenticationMode to "API" so who may do what is in access entries, reviewed with the rest of the stack.`);
            }
        }),
    };
}

export function eksNodeGroupHardened(): ResourceValidationPolicy {
    return {
        name: "eks-node-group-hardened",
        description: "EKS managed node groups launch from a launch template (where IMDSv2 and the hop limit are set) and allow no SSH.",
        enforcementLevel: "mandatory",
        validateResource: validateTypes([EKS_NODE_GROUP_TYPE], (props, ctx, report) => {
            if (props.launchTemplate === undefined || props.launchTemplate === null) {
                report(`EKS node group "${ctx.name}" has no launch template, so its nodes get EKS's defaults (IMDS hop limit 2: pods can read the node role's credentials); launch it from a template with metadataOptions { httpTokens: "required", httpPutResponseHopLimit: 1 }.`);
            }
            if (props.remoteAccess !== undefined && props.remoteAccess !== null) {
                report(`EKS node group "${ctx.name}" allows SSH (remoteAccess); remove it and use kubectl, or SSM, to reach nodes.`);
            }
        }),
    };
}

/** The statements of a trust policy that let web identities (OIDC tokens) assume the role. */
function webIdentityStatements(doc: any): any[] {
    return asList(doc?.Statement).filter((s: any) => s?.Effect === "Allow" && asList(s?.Action).some((a) => a === "sts:AssumeRoleWithWebIdentity" || a === "sts:*" || a === "*"));
}

export function irsaTrustScoped(): ResourceValidationPolicy {
    return {
        name: "iam-web-identity-trust-scoped",
        description: "A role that trusts OIDC tokens (IRSA) names exactly one subject and the STS audience with StringEquals, so no other service account or namespace can assume it.",
        enforcementLevel: "mandatory",
        validateResource: validateTypes([IAM_ROLE_TYPE], (props, ctx, report) => {
            const parsed = parseJsonDocument(props.assumeRolePolicy);
            if (parsed === UNKNOWN || parsed === undefined || !parsed.ok) {
                return;
            }
            for (const s of webIdentityStatements(parsed.value)) {
                const equals = s?.Condition?.StringEquals ?? {};
                const key = (suffix: string) => Object.keys(equals).find((k) => k.endsWith(suffix));
                const sub = key(":sub");
                const aud = key(":aud");
                const subject = sub === undefined ? undefined : equals[sub];
                if (typeof subject !== "string" || subject.includes("*") || aud === undefined) {
                    report(`Role "${ctx.name}" lets web identities assume it without a StringEquals condition on one exact subject (":sub", e.g. system:serviceaccount:<namespace>:<name>) and the audience (":aud"); any service account of the cluster could take it.`);
                }
            }
        }),
    };
}
