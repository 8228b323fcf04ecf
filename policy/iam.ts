import { ResourceValidationPolicy } from "@pulumi/policy";
import { asList, parseJsonDocument, UNKNOWN, validateTypes } from "./support";

export const IAM_POLICY_TYPE = "aws:iam/policy:Policy";
export const ROLE_POLICY_TYPE = "aws:iam/rolePolicy:RolePolicy";
export const USER_POLICY_TYPE = "aws:iam/userPolicy:UserPolicy";
export const GROUP_POLICY_TYPE = "aws:iam/groupPolicy:GroupPolicy";
export const ROLE_TYPE = "aws:iam/role:Role";
export const ROLE_POLICY_ATTACHMENT_TYPE = "aws:iam/rolePolicyAttachment:RolePolicyAttachment";
export const ATTACHMENT_TYPES = [
    ROLE_POLICY_ATTACHMENT_TYPE,
    "aws:iam/policyAttachment:PolicyAttachment",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
];
export const EXCLUSIVE_ATTACHMENT_TYPES = [
    "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive",
    "aws:iam/userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive",
    "aws:iam/groupPolicyAttachmentsExclusive:GroupPolicyAttachmentsExclusive",
];

const ANY = new Set(["*", "*:*"]);

/**
 * The problems in an identity policy document: Allow statements whose actions and resources are both
 * unrestricted (`*`, or NotAction/NotResource, which allow everything but a list). Unknown parts are skipped;
 * a document that is not JSON is a problem of its own.
 */
export function wildcardProblems(document: unknown): string[] {
    const parsed = parseJsonDocument(document);
    if (parsed === UNKNOWN || parsed === undefined) {
        return [];
    }
    if (!parsed.ok) {
        return [`the policy document is not valid JSON (${parsed.error})`];
    }
    const problems: string[] = [];
    asList(parsed.value?.Statement).forEach((s, i) => {
        if (s === UNKNOWN || s === null || typeof s !== "object") {
            return;
        }
        const st = s as Record<string, any>;
        const id = typeof st.Sid === "string" ? `statement "${st.Sid}"` : `statement ${i + 1}`;
        if (st.Effect !== "Allow" || [st.Action, st.NotAction, st.Resource, st.NotResource].includes(UNKNOWN)) {
            return;
        }
        const broadAction = st.NotAction !== undefined || asList(st.Action).some((a) => typeof a === "string" && ANY.has(a));
        const broadResource = st.NotResource !== undefined || asList(st.Resource).some((r) => r === "*");
        if (broadAction && broadResource) {
            const action = st.NotAction !== undefined ? "NotAction" : 'Action "*"';
            const resource = st.NotResource !== undefined ? "NotResource" : 'Resource "*"';
            problems.push(`${id} allows ${action} on ${resource}`);
        }
    });
    return problems;
}

/** The identity policy documents of a resource: a policy's one document, or each of a role's inline policies. */
function identityDocuments(props: Record<string, any>, type: string, name: string): { label: string; document: unknown }[] {
    return type === ROLE_TYPE
        ? asList(props.inlinePolicies)
              .filter((p): p is Record<string, any> => p !== UNKNOWN && p !== null && typeof p === "object")
              .map((p) => ({ label: `role "${name}" inline policy ${JSON.stringify(p.name ?? "")}`, document: p.policy }))
        : [{ label: `${type.split(":").pop()} "${name}"`, document: props.policy }];
}

/** Whether a managed policy ARN grants full access: an AWS `*FullAccess` policy, or AdministratorAccess (`*` on `*`). */
export function isFullAccessArn(arn: unknown): arn is string {
    if (typeof arn !== "string") {
        return false;
    }
    const policyName = arn.split("/").pop() ?? "";
    return policyName.endsWith("FullAccess") || policyName === "AdministratorAccess";
}

/** IAM policies never allow every action on every resource. */
export function iamNoWildcardAdmin(): ResourceValidationPolicy {
    return {
        name: "iam-no-wildcard-action-on-wildcard-resource",
        description: "IAM identity policies never allow \"*\" actions (or NotAction) on \"*\" resources (or NotResource); grant the actions the role needs on the resources it uses.",
        enforcementLevel: "mandatory",
        validateResource: validateTypes([IAM_POLICY_TYPE, ROLE_POLICY_TYPE, USER_POLICY_TYPE, GROUP_POLICY_TYPE, ROLE_TYPE], (props, ctx, report) => {
            const documents = identityDocuments(props, ctx.type, ctx.name);
            for (const { label, document } of documents) {
                const problems = wildcardProblems(document);
                if (problems.length > 0) {
                    report(`IAM ${label} is too broad: ${problems.join("; ")}; list the actions it needs and the ARNs it needs them on.`);
                }
            }
        }),
    };
}

/** Roles, users and groups never get `*FullAccess` (or AdministratorAccess) managed policies. */
export function iamNoFullAccessPolicies(): ResourceValidationPolicy {
    return {
        name: "iam-no-full-access-managed-policies",
        description: "No role, user or group is attached an AWS managed *FullAccess policy (or AdministratorAccess); write a least-privilege policy instead.",
        enforcementLevel: "mandatory",
        validateResource: validateTypes([ROLE_TYPE, ...ATTACHMENT_TYPES, ...EXCLUSIVE_ATTACHMENT_TYPES], (props, ctx, report) => {
            const arns = ctx.type === ROLE_TYPE ? asList(props.managedPolicyArns) : ATTACHMENT_TYPES.includes(ctx.type) ? [props.policyArn] : asList(props.policyArns);
            for (const arn of arns.filter(isFullAccessArn)) {
                report(`"${ctx.name}" attaches the managed policy ${arn}, which grants full access; attach a policy that lists only the actions and resources needed.`);
            }
        }),
    };
}

/**
 * Actions AWS authorizes only on `*` (no resource-level permissions), which a policy may grant on `*`. Anything else
 * names its resources. Extend with the policy's `unscopableActions` config when a new one is needed.
 */
export const UNSCOPABLE_ACTIONS = [
    "ecr:GetAuthorizationToken",
    "sts:GetCallerIdentity",
    "ec2:DescribeInstances",
    "ec2:DescribeTags",
    "logs:DescribeLogGroups",
    "ssm:DescribeInstanceInformation",
    "kms:ListAliases",
    "kms:ListKeys",
    // No resource types; the consumer's grant is scoped with the cloudwatch:namespace condition instead.
    "cloudwatch:PutMetricData",
];

/** The actions of Allow statements on `*` (or NotResource) that could have named their resources. */
export function scopableWildcardActions(document: unknown, unscopable: readonly string[]): string[] {
    const parsed = parseJsonDocument(document);
    if (parsed === UNKNOWN || parsed === undefined || !parsed.ok) {
        return [];
    }
    const allowed = new Set(unscopable);
    const found: string[] = [];
    for (const s of asList(parsed.value?.Statement)) {
        if (s === UNKNOWN || s === null || typeof s !== "object") {
            continue;
        }
        const st = s as Record<string, any>;
        if (st.Effect !== "Allow" || [st.Action, st.NotAction, st.Resource, st.NotResource].includes(UNKNOWN)) {
            continue;
        }
        const everyResource = st.NotResource !== undefined || asList(st.Resource).some((r) => r === "*");
        if (!everyResource) {
            continue;
        }
        if (st.NotAction !== undefined) {
            found.push("NotAction");
            continue;
        }
        found.push(...asList(st.Action).filter((a): a is string => typeof a === "string" && !allowed.has(a)));
    }
    return found;
}

/** Identity policies never grant an action on `*` when the action can name its resources. */
export function iamNoWildcardResourceForScopableActions(): ResourceValidationPolicy {
    return {
        name: "iam-no-wildcard-resource-for-scopable-actions",
        description: "IAM identity policies grant actions on \"*\" only when AWS offers no resource-level permissions for them (e.g. ecr:GetAuthorizationToken); every other action names its ARNs.",
        enforcementLevel: "mandatory",
        configSchema: { properties: { unscopableActions: { type: "array", items: { type: "string" }, default: UNSCOPABLE_ACTIONS } } },
        validateResource: validateTypes([IAM_POLICY_TYPE, ROLE_POLICY_TYPE, USER_POLICY_TYPE, GROUP_POLICY_TYPE, ROLE_TYPE], (props, ctx, report) => {
            const { unscopableActions } = ctx.getConfig<{ unscopableActions: string[] }>();
            const documents = identityDocuments(props, ctx.type, ctx.name);
            for (const { label, document } of documents) {
                const actions = scopableWildcardActions(document, unscopableActions);
                if (actions.length > 0) {
                    report(`IAM ${label} grants ${[...new Set(actions)].join(", ")} on every resource ("*"); name the ARNs these actions need (only actions without resource-level permissions may use "*").`);
                }
            }
        }),
    };
}
