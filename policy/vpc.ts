import { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { describe, plain, UNKNOWN } from "./support";

// Every VPC the program creates has flow logs of all its traffic. A stack policy: the flow log is a resource of its
// own that points at the VPC (by property dependency, or by id once the id is known).

export const VPC_TYPE = "aws:ec2/vpc:Vpc";
export const FLOW_LOG_TYPE = "aws:ec2/flowLog:FlowLog";

interface Node {
    readonly resource: PolicyResource;
    readonly props: Record<string, any>;
}

/** "same", "other" or "unknown": whether `node`'s `prop` refers to `target`. */
export function refersTo(node: Node, prop: string, target: Node): "same" | "other" | "unknown" {
    const deps = node.resource.propertyDependencies?.[prop] ?? [];
    if (deps.some((d) => d.urn === target.resource.urn)) {
        return "same";
    }
    const value = node.props[prop];
    if (value === UNKNOWN || value === undefined) {
        return deps.length > 0 ? "other" : "unknown";
    }
    const identities = [target.props.id, target.props.arn, target.props.bucket].filter((v) => typeof v === "string");
    return identities.includes(value) ? "same" : "other";
}

/** Reports every VPC without a flow log that records ALL traffic. */
export function checkFlowLogs(resources: PolicyResource[], report: (message: string, urn?: string) => void): void {
    const nodes: Node[] = resources.map((resource) => ({ resource, props: plain(resource.props) }));
    const flowLogs = nodes.filter((n) => n.resource.type === FLOW_LOG_TYPE);
    for (const vpc of nodes.filter((n) => n.resource.type === VPC_TYPE)) {
        const related = flowLogs.map((f) => ({ f, rel: refersTo(f, "vpcId", vpc) }));
        if (related.some((r) => r.rel === "unknown")) {
            continue;
        }
        const mine = related.filter((r) => r.rel === "same").map((r) => r.f);
        if (mine.some((f) => f.props.trafficType === "ALL" || f.props.trafficType === UNKNOWN)) {
            continue;
        }
        const label = describe(vpc.resource.type, vpc.resource.name);
        report(
            mine.length > 0
                ? `${label} has flow logs that do not record ALL traffic (${mine.map((f) => f.props.trafficType).join(", ")}); set trafficType "ALL" so rejected and accepted connections are both in the audit trail.`
                : `${label} has no flow log; add an aws.ec2.FlowLog with trafficType "ALL" to an encrypted, retained destination (components/network/flowLogs.ts).`,
            vpc.resource.urn,
        );
    }
}

export function vpcFlowLogsEnabled(): StackValidationPolicy {
    return {
        name: "vpc-flow-logs-enabled",
        description: "Every VPC the program creates records ALL its traffic in flow logs.",
        enforcementLevel: "mandatory",
        validateStack: (args, reportViolation) => checkFlowLogs(args.resources, reportViolation),
    };
}
