import { ResourceValidationPolicy } from "@pulumi/policy";
import { asList, validateTypes } from "./support";

export const INSTANCE_TYPES_POLICY = "instance-types-allowed";

/**
 * Used when the pack runs without a config file. The workflows pass policy/policy-config.<stack>.json, which
 * narrows it per stack (dev small, prod the sizes prod is sized for).
 */
export const DEFAULT_ALLOWED_INSTANCE_TYPES = ["t3.*", "t3a.*", "m6i.*", "m7i.*", "m7g.*", "r7g.*", "kafka.t3.small", "kafka.m7g.*"];

export interface InstanceTypesConfig {
    /** Instance types allowed, exact ("m6i.large") or a family wildcard ending in "*" ("m7g.*"). */
    readonly allowedInstanceTypes?: string[];
}

/** Whether `type` is in the allow-list (entries are exact, or a prefix ending in "*"). */
export function isAllowedType(type: string, allowed: readonly string[]): boolean {
    return allowed.some((a) => (a.endsWith("*") ? type.startsWith(a.slice(0, -1)) : type === a));
}

const GROUP_KEYS = ["masterInstanceGroup", "coreInstanceGroup"];
const FLEET_KEYS = ["masterInstanceFleet", "coreInstanceFleet"];

/** Every instance type a resource asks for, with where it is set; unknown values are skipped. */
export function requestedInstanceTypes(type: string, props: Record<string, any>): { where: string; instanceType: string }[] {
    const found: { where: string; instanceType: unknown }[] = [];
    const fleet = (prefix: string, value: any) =>
        asList(value?.instanceTypeConfigs).forEach((c: any, i) => found.push({ where: `${prefix}instanceTypeConfigs[${i}].instanceType`, instanceType: c?.instanceType }));
    switch (type) {
        case "aws:ec2/instance:Instance":
        case "aws:ec2/launchTemplate:LaunchTemplate":
        case "aws:emr/instanceGroup:InstanceGroup":
            found.push({ where: "instanceType", instanceType: props.instanceType });
            break;
        case "aws:emr/instanceFleet:InstanceFleet":
            fleet("", props);
            break;
        case "aws:emr/cluster:Cluster":
            GROUP_KEYS.forEach((k) => found.push({ where: `${k}.instanceType`, instanceType: props[k]?.instanceType }));
            FLEET_KEYS.forEach((k) => fleet(`${k}.`, props[k]));
            break;
        case "aws:msk/cluster:Cluster":
            found.push({ where: "brokerNodeGroupInfo.instanceType", instanceType: props.brokerNodeGroupInfo?.instanceType });
            break;
        case "aws:eks/nodeGroup:NodeGroup":
            asList(props.instanceTypes).forEach((t, i) => found.push({ where: `instanceTypes[${i}]`, instanceType: t }));
            break;
        case "aws:autoscaling/group:Group":
            asList(props.mixedInstancesPolicy?.launchTemplate?.overrides).forEach((o: any, i) =>
                found.push({ where: `mixedInstancesPolicy.launchTemplate.overrides[${i}].instanceType`, instanceType: o?.instanceType }),
            );
            break;
    }
    return found.filter((f): f is { where: string; instanceType: string } => typeof f.instanceType === "string");
}

/** Instance types stay within the stack's allow-list (advisory: a reviewer may accept a deliberate upsizing). */
export function instanceTypesAllowed(): ResourceValidationPolicy {
    return {
        name: INSTANCE_TYPES_POLICY,
        description: "EC2, EMR, EKS node group and MSK instance types are within the stack's allow-list (policy/policy-config.<stack>.json).",
        enforcementLevel: "advisory",
        configSchema: {
            properties: {
                allowedInstanceTypes: {
                    type: "array",
                    items: { type: "string" },
                    default: DEFAULT_ALLOWED_INSTANCE_TYPES,
                },
            },
        },
        validateResource: validateTypes(
            ["aws:ec2/instance:Instance", "aws:ec2/launchTemplate:LaunchTemplate", "aws:emr/instanceGroup:InstanceGroup", "aws:emr/instanceFleet:InstanceFleet", "aws:emr/cluster:Cluster", "aws:msk/cluster:Cluster", "aws:autoscaling/group:Group", "aws:eks/nodeGroup:NodeGroup"],
            (props, ctx, report) => {
                const allowed = ctx.getConfig<InstanceTypesConfig>().allowedInstanceTypes ?? DEFAULT_ALLOWED_INSTANCE_TYPES;
                for (const { where, instanceType } of requestedInstanceTypes(ctx.type, props)) {
                    if (!isAllowedType(instanceType, allowed)) {
                        report(`${ctx.type.split(":").pop()} "${ctx.name}" uses ${where} ${instanceType}, which is not in this stack's allow-list (${allowed.join(", ")}); pick an allowed type or extend policy/policy-config.<stack>.json in the same pull request.`);
                    }
                }
            },
        ),
    };
}
