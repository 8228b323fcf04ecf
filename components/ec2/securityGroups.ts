import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AccessConfig } from "../config";
import { kafkaClientEgress, kafkaClientIngress } from "../kafka";
import { httpsEgress, peerEgress } from "../network";
import { KafkaRefs } from "../refs";
import { TLS_UI_PORTS } from "./sparkSecurity";

// The ec2 engine's two security groups. Spark peers reach each other on every TCP port (Spark picks driver, executor
// and block-manager ports at run time; every connection is authenticated and encrypted, see sparkSecurity.ts). The
// UIs' HTTPS ports admit only the CIDRs in access.allowedCidrs; their HTTP ports admit nobody (SSM tunnels reach
// them on the host itself). Egress: HTTPS for AWS APIs, Kafka's client port, and the peers; nothing else.

/** The CIDRs admitted to the UIs, refusing the whole internet even if config validation was bypassed. */
export function uiIngressCidrs(access: AccessConfig): string[] {
    for (const c of access.allowedCidrs) {
        if (c.endsWith("/0")) {
            throw new Error(`access.allowedCidrs must not open the Spark UIs to the whole internet; remove "${c}" and list your office or VPN ranges, or use the SSM tunnels`);
        }
    }
    return [...access.allowedCidrs].sort();
}

export interface HostSecurityGroupsArgs {
    readonly vpcId: pulumi.Input<string>;
    readonly access: AccessConfig;
    readonly kafka: KafkaRefs;
}

export interface HostSecurityGroups {
    readonly master: aws.ec2.SecurityGroup;
    readonly worker: aws.ec2.SecurityGroup;
}

/** Declares the master's and the workers' groups and every rule on them. */
export function hostSecurityGroups(name: string, args: HostSecurityGroupsArgs, opts: pulumi.CustomResourceOptions): HostSecurityGroups {
    const uiCidrs = uiIngressCidrs(args.access);
    const master = new aws.ec2.SecurityGroup(`${name}-master`, { vpcId: args.vpcId, description: "Spark master host: master, history server, consumer driver" }, opts);
    const worker = new aws.ec2.SecurityGroup(`${name}-worker`, { vpcId: args.vpcId, description: "Spark worker hosts" }, opts);

    // [ingress rule, the matching egress rule, to, from]
    const peers: [string, string, aws.ec2.SecurityGroup, aws.ec2.SecurityGroup][] = [
        ["master-from-workers", "workers-to-master", master, worker],
        ["worker-from-master", "master-to-workers", worker, master],
        ["worker-from-workers", "workers-to-workers", worker, worker],
    ];
    for (const [rule, egressRule, to, from] of peers) {
        new aws.vpc.SecurityGroupIngressRule(
            `${name}-${rule}`,
            { securityGroupId: to.id, referencedSecurityGroupId: from.id, ipProtocol: "tcp", fromPort: 0, toPort: 65535, description: "Spark standalone (authenticated, encrypted): master RPC, driver, executors, block managers" },
            opts,
        );
        // The same path seen from the sender: egress to the peer group on the same ports.
        peerEgress(`${name}-${egressRule}`, { from: from.id, to: to.id, protocol: "tcp", description: "Spark standalone peers (authenticated, encrypted)" }, opts);
    }

    const uiRules: [string, aws.ec2.SecurityGroup, number][] = [
        ["master-ui", master, TLS_UI_PORTS.masterUi],
        ["app-ui", master, TLS_UI_PORTS.appUi],
        ["history-ui", master, TLS_UI_PORTS.historyUi],
        ["worker-ui", worker, TLS_UI_PORTS.workerUi],
    ];
    for (const [ui, sg, port] of uiRules) {
        uiCidrs.forEach((cidr, i) => {
            new aws.vpc.SecurityGroupIngressRule(
                `${name}-${ui}-${i}`,
                { securityGroupId: sg.id, cidrIpv4: cidr, ipProtocol: "tcp", fromPort: port, toPort: port, description: `Spark UI over HTTPS from ${cidr} (access.allowedCidrs)` },
                opts,
            );
        });
    }

    for (const [role, sg] of [["master", master], ["worker", worker]] as const) {
        httpsEgress(`${name}-${role}-https`, sg.id, opts);
        kafkaClientEgress(`${name}-${role}-to-kafka`, args.kafka, sg.id, opts);
        kafkaClientIngress(`${name}-kafka-from-${role}`, args.kafka, sg.id, opts);
    }
    return { master, worker };
}
