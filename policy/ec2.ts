import { ResourceValidationPolicy } from "@pulumi/policy";
import { asList, UNKNOWN, validateTypes } from "./support";

export const SECURITY_GROUP_TYPE = "aws:ec2/securityGroup:SecurityGroup";
export const SECURITY_GROUP_RULE_TYPE = "aws:ec2/securityGroupRule:SecurityGroupRule";
export const VPC_INGRESS_RULE_TYPE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
export const INSTANCE_TYPE = "aws:ec2/instance:Instance";
export const LAUNCH_TEMPLATE_TYPE = "aws:ec2/launchTemplate:LaunchTemplate";

const EVERYWHERE = new Set(["0.0.0.0/0", "::/0"]);

/** The CIDRs in `values` that admit the whole internet (unknown entries are skipped, not assumed open). */
export function openCidrs(...values: unknown[]): string[] {
    return values.flatMap((v) => asList(v)).filter((c): c is string => typeof c === "string" && EVERYWHERE.has(c.trim()));
}

function ports(rule: Record<string, any>): string {
    const from = rule.fromPort;
    const to = rule.toPort;
    const protocol = rule.protocol ?? rule.ipProtocol;
    if (protocol === "-1" || protocol === "all") {
        return "all ports";
    }
    if (typeof from === "number" && typeof to === "number") {
        return from === to ? `port ${from}` : `ports ${from}-${to}`;
    }
    return "a port range";
}

/** No security group, inline or as a separate rule, admits 0.0.0.0/0 or ::/0. */
export function noPublicIngress(): ResourceValidationPolicy {
    return {
        name: "security-group-no-public-ingress",
        description: "No security group ingress admits 0.0.0.0/0 or ::/0; UI and service ingress comes only from the CIDRs listed in access.allowedCidrs or from other security groups.",
        enforcementLevel: "mandatory",
        validateResource: validateTypes([SECURITY_GROUP_TYPE, SECURITY_GROUP_RULE_TYPE, VPC_INGRESS_RULE_TYPE], (props, ctx, report) => {
            const fix = "admit only the CIDRs in access.allowedCidrs, or reference a security group instead.";
            switch (ctx.type) {
                case SECURITY_GROUP_TYPE:
                    for (const rule of asList(props.ingress)) {
                        if (rule === UNKNOWN || rule === null || typeof rule !== "object") {
                            continue;
                        }
                        const r = rule as Record<string, any>;
                        const open = openCidrs(r.cidrBlocks, r.ipv6CidrBlocks);
                        if (open.length > 0) {
                            report(`Security group "${ctx.name}" has an inline ingress rule on ${ports(r)} open to ${open.join(" and ")}; ${fix}`);
                        }
                    }
                    break;
                case SECURITY_GROUP_RULE_TYPE: {
                    const open = props.type === "ingress" ? openCidrs(props.cidrBlocks, props.ipv6CidrBlocks) : [];
                    if (open.length > 0) {
                        report(`Security group rule "${ctx.name}" admits ${open.join(" and ")} on ${ports(props)}; ${fix}`);
                    }
                    break;
                }
                case VPC_INGRESS_RULE_TYPE: {
                    const open = openCidrs(props.cidrIpv4, props.cidrIpv6);
                    if (open.length > 0) {
                        report(`Security group ingress rule "${ctx.name}" admits ${open.join(" and ")} on ${ports(props)}; ${fix}`);
                    }
                    break;
                }
            }
        }),
    };
}

/** Instances and launch templates require IMDSv2 (session tokens) for the instance metadata service. */
export function requireImdsV2(): ResourceValidationPolicy {
    return {
        name: "ec2-imdsv2-required",
        description: "EC2 instances and launch templates require IMDSv2: metadataOptions.httpTokens is \"required\" (or the metadata endpoint is disabled).",
        enforcementLevel: "mandatory",
        validateResource: validateTypes([INSTANCE_TYPE, LAUNCH_TEMPLATE_TYPE], (props, ctx, report) => {
            const options = props.metadataOptions;
            if (options === UNKNOWN || options?.httpTokens === UNKNOWN || options?.httpEndpoint === UNKNOWN) {
                return;
            }
            if (options?.httpTokens === "required" || options?.httpEndpoint === "disabled") {
                return;
            }
            const what = ctx.type === INSTANCE_TYPE ? "Instance" : "Launch template";
            report(`${what} "${ctx.name}" allows IMDSv1 (metadataOptions.httpTokens is ${JSON.stringify(options?.httpTokens ?? "unset")}); set metadataOptions: { httpTokens: "required", httpEndpoint: "enabled" } so credentials cannot be read without a session token.`);
        }),
    };
}

export const VPC_EGRESS_RULE_TYPE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule";

function allProtocols(protocol: unknown): boolean {
    return protocol === "-1" || protocol === -1 || protocol === "all";
}

/** No security group sends every protocol to the whole internet: egress is per port, or to other groups. */
export function noWorldEgressAllProtocols(): ResourceValidationPolicy {
    return {
        name: "security-group-no-all-protocol-world-egress",
        description: "No security group egress allows every protocol to 0.0.0.0/0 or ::/0; hosts reach AWS APIs on 443, Kafka on its port, and peers by security group.",
        enforcementLevel: "mandatory",
        validateResource: validateTypes([SECURITY_GROUP_TYPE, SECURITY_GROUP_RULE_TYPE, VPC_EGRESS_RULE_TYPE], (props, ctx, report) => {
            const fix = "allow only the ports the hosts use (443 for AWS APIs, the Kafka client port) or reference a security group.";
            switch (ctx.type) {
                case SECURITY_GROUP_TYPE:
                    for (const rule of asList(props.egress)) {
                        if (rule === UNKNOWN || rule === null || typeof rule !== "object") {
                            continue;
                        }
                        const r = rule as Record<string, any>;
                        const open = openCidrs(r.cidrBlocks, r.ipv6CidrBlocks);
                        if (allProtocols(r.protocol) && open.length > 0) {
                            report(`Security group "${ctx.name}" has an inline egress rule for every protocol to ${open.join(" and ")}; ${fix}`);
                        }
                    }
                    break;
                case SECURITY_GROUP_RULE_TYPE: {
                    const open = props.type === "egress" ? openCidrs(props.cidrBlocks, props.ipv6CidrBlocks) : [];
                    if (allProtocols(props.protocol) && open.length > 0) {
                        report(`Security group rule "${ctx.name}" allows every protocol out to ${open.join(" and ")}; ${fix}`);
                    }
                    break;
                }
                case VPC_EGRESS_RULE_TYPE: {
                    const open = openCidrs(props.cidrIpv4, props.cidrIpv6);
                    if (allProtocols(props.ipProtocol) && open.length > 0) {
                        report(`Security group egress rule "${ctx.name}" allows every protocol out to ${open.join(" and ")}; ${fix}`);
                    }
                    break;
                }
            }
        }),
    };
}

/** Instances and launch templates set the metadata hop limit explicitly, no higher than the configured maximum. */
export function imdsHopLimit(): ResourceValidationPolicy {
    return {
        name: "ec2-imds-hop-limit",
        description: "EC2 instances and launch templates set metadataOptions.httpPutResponseHopLimit explicitly, at most maxHopLimit (default 1: containers on the host network still get credentials, bridged ones do not).",
        enforcementLevel: "mandatory",
        configSchema: { properties: { maxHopLimit: { type: "integer", minimum: 1, maximum: 64, default: 1 } } },
        validateResource: validateTypes([INSTANCE_TYPE, LAUNCH_TEMPLATE_TYPE], (props, ctx, report) => {
            const { maxHopLimit } = ctx.getConfig<{ maxHopLimit: number }>();
            const options = props.metadataOptions;
            const limit = options === UNKNOWN ? UNKNOWN : options?.httpPutResponseHopLimit;
            if (limit === UNKNOWN || options?.httpEndpoint === "disabled") {
                return;
            }
            const what = ctx.type === INSTANCE_TYPE ? "Instance" : "Launch template";
            if (typeof limit !== "number") {
                report(`${what} "${ctx.name}" leaves the metadata hop limit to the AMI (Amazon Linux 2023 AMIs default to 2, which lets bridged containers read the instance's credentials); set metadataOptions.httpPutResponseHopLimit to ${maxHopLimit} and run containers on the host network.`);
            } else if (limit > maxHopLimit) {
                report(`${what} "${ctx.name}" has metadata hop limit ${limit}, above ${maxHopLimit}: containers one network hop away can read the instance's credentials; set metadataOptions.httpPutResponseHopLimit to ${maxHopLimit} and run containers on the host network.`);
            }
        }),
    };
}
