import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AccessConfig } from "../config";
import { kafkaClientEgress, kafkaClientIngress } from "../kafka";
import { httpsEgress, peerEgress } from "../network";
import { KafkaRefs } from "../refs";

// The EMR engine's managed security groups. EMR itself writes the *inbound* rules between them (every protocol
// between master and core/task, 8443 from the service access group) and keeps them up to date: we declare none of
// those, and `revokeRulesOnDelete` lets destroy remove them. We declare the egress: HTTPS for AWS APIs, Kafka's
// client port, the cluster's own groups, and the service access port. EMR's default groups carry an outbound rule
// to 0.0.0.0/0 for every protocol; ours do not, and EMR documents that it adds only missing inbound rules to groups
// you bring (README, "What EMR controls").

/** EMR's v2 managed service policy acts only on resources carrying this tag (EMR docs, "Tagging resources to use managed policies"). */
export const EMR_MANAGED_POLICY_TAG = { "for-use-with-amazon-emr-managed-policies": "true" } as const;

/** UIs on the master. The history server serves HTTPS on 18480 with EMR's in-transit encryption (its HTTP port redirects). */
export const UI_PORTS = { yarn: 8088, sparkHistory: 18480 } as const;
/** The UIs served over TLS: the only ones access.allowedCidrs may open (YARN's stays behind the SSM tunnel). */
export const TLS_UIS: readonly (keyof typeof UI_PORTS)[] = ["sparkHistory"];

/** The service access group's port on the master (EMR in private subnets). */
const SERVICE_ACCESS_PORT = 9443;
/** The port EMR's control plane reaches the instances on, from the service access group. */
const INSTANCE_MANAGEMENT_PORT = 8443;

export interface EmrSecurityGroupsArgs {
    readonly vpcId: pulumi.Input<string>;
    readonly access: AccessConfig;
    readonly kafka: KafkaRefs;
}

export interface EmrSecurityGroups {
    readonly master: aws.ec2.SecurityGroup;
    readonly core: aws.ec2.SecurityGroup;
    readonly serviceAccess: aws.ec2.SecurityGroup;
    /** The rules the cluster must not start before. */
    readonly rules: pulumi.Resource[];
}

export function emrSecurityGroups(name: string, args: EmrSecurityGroupsArgs, opts: pulumi.CustomResourceOptions): EmrSecurityGroups {
    const sg = (role: string, description: string) =>
        new aws.ec2.SecurityGroup(`${name}-${role}-sg`, { vpcId: args.vpcId, description, revokeRulesOnDelete: true, tags: { ...EMR_MANAGED_POLICY_TAG } }, opts);
    const master = sg("master", "EMR-managed: master");
    const core = sg("core", "EMR-managed: core and task");
    const serviceAccess = sg("service-access", "EMR-managed: service access (private subnets)");
    const rules: pulumi.Resource[] = [];

    const cluster = [["master", master], ["core", core]] as const;
    for (const [role, group] of cluster) {
        rules.push(httpsEgress(`${name}-${role}-https`, group.id, opts));
        rules.push(kafkaClientEgress(`${name}-${role}-to-kafka`, args.kafka, group.id, opts));
        kafkaClientIngress(`${name}-kafka-from-${role}`, args.kafka, group.id, opts);
        // YARN, HDFS and Spark between the cluster's instances (EMR opens the inbound side of the same paths).
        for (const [peerRole, peer] of cluster) {
            rules.push(peerEgress(`${name}-${role}-to-${peerRole}`, { from: group.id, to: peer.id, protocol: "-1", description: `EMR cluster traffic to the ${peerRole} group` }, opts));
        }
    }
    rules.push(
        new aws.vpc.SecurityGroupIngressRule(
            `${name}-service-from-master`,
            { securityGroupId: serviceAccess.id, referencedSecurityGroupId: master.id, ipProtocol: "tcp", fromPort: SERVICE_ACCESS_PORT, toPort: SERVICE_ACCESS_PORT, description: "EMR service access from the master" },
            opts,
        ),
        peerEgress(`${name}-master-to-service`, { from: master.id, to: serviceAccess.id, protocol: "tcp", fromPort: SERVICE_ACCESS_PORT, toPort: SERVICE_ACCESS_PORT, description: "EMR service access" }, opts),
    );
    for (const [role, group] of cluster) {
        rules.push(
            peerEgress(`${name}-service-to-${role}`, { from: serviceAccess.id, to: group.id, protocol: "tcp", fromPort: INSTANCE_MANAGEMENT_PORT, toPort: INSTANCE_MANAGEMENT_PORT, description: `EMR service access to the ${role} group` }, opts),
        );
    }
    // Only TLS UIs, and only from the CIDRs the stack names (config refuses /0 blocks).
    args.access.allowedCidrs.forEach((cidr, i) => {
        for (const ui of TLS_UIS) {
            const port = UI_PORTS[ui];
            new aws.vpc.SecurityGroupIngressRule(
                `${name}-ui-${ui}-${i}`,
                { securityGroupId: master.id, cidrIpv4: cidr, ipProtocol: "tcp", fromPort: port, toPort: port, description: `${ui} UI over HTTPS from ${cidr}` },
                opts,
            );
        }
    });
    return { master, core, serviceAccess, rules };
}
