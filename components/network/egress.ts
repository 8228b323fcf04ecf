import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

// Least egress, as reusable rules: no security group the platform declares sends every protocol to the whole
// internet. Hosts reach AWS APIs over HTTPS (through VPC endpoints, or the NAT gateway for services without one),
// Kafka on its client port, and their peers by security group. Traffic to the VPC's DNS resolver, the instance
// metadata service and the time service is never filtered by security groups, so it needs no rule.

/** HTTPS, the only port hosts use to reach AWS APIs (ECR, S3, STS, SSM, Secrets Manager, KMS, EMR, CloudWatch). */
export const HTTPS_PORT = 443;

/** Outbound HTTPS to anywhere: AWS API endpoints have public addresses (reached through NAT or a VPC endpoint). */
export function httpsEgress(name: string, securityGroupId: pulumi.Input<string>, opts: pulumi.CustomResourceOptions): aws.vpc.SecurityGroupEgressRule {
    return new aws.vpc.SecurityGroupEgressRule(
        name,
        {
            securityGroupId,
            ipProtocol: "tcp",
            fromPort: HTTPS_PORT,
            toPort: HTTPS_PORT,
            cidrIpv4: "0.0.0.0/0",
            description: "AWS APIs over HTTPS (VPC endpoints, or NAT)",
        },
        opts,
    );
}

export interface PeerEgress {
    /** The group the rule is on. */
    readonly from: pulumi.Input<string>;
    /** The group the traffic may go to. */
    readonly to: pulumi.Input<string>;
    /** `tcp` with a port range, or `-1` (every protocol: allowed between groups, never to a CIDR). */
    readonly protocol: "tcp" | "-1";
    readonly fromPort?: number;
    readonly toPort?: number;
    readonly description: string;
}

/** Outbound traffic from one security group to another (never to an address range). */
export function peerEgress(name: string, peer: PeerEgress, opts: pulumi.CustomResourceOptions): aws.vpc.SecurityGroupEgressRule {
    return new aws.vpc.SecurityGroupEgressRule(
        name,
        {
            securityGroupId: peer.from,
            referencedSecurityGroupId: peer.to,
            ipProtocol: peer.protocol,
            ...(peer.protocol === "tcp" ? { fromPort: peer.fromPort ?? 0, toPort: peer.toPort ?? 65535 } : {}),
            description: peer.description,
        },
        opts,
    );
}
