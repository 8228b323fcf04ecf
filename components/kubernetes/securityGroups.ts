import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { kafkaClientEgress, kafkaClientIngress } from "../kafka";
import { httpsEgress, HTTPS_PORT, peerEgress } from "../network";
import { KafkaRefs } from "../refs";

// The EKS cluster's two security groups, so that nothing in the cluster carries the all-traffic-to-anywhere group
// EKS would create and attach to nodes itself: the control plane's (added to the API server's network interfaces)
// and the nodes' (set in the node group's launch template, which keeps EKS from attaching its own). Nothing is
// admitted from outside the VPC: the API server's public endpoint, when on at all, is limited by
// access.allowedCidrs on the cluster, and the UIs are reached with `kubectl port-forward` through the API server.

/** The kubelet's port: the API server reaches it for logs, exec and port-forward. */
export const KUBELET_PORT = 10250;
/** Ports the API server may open to pods on the nodes (webhooks, aggregated APIs, metrics), as EKS recommends. */
export const CONTROL_PLANE_TO_NODE_PORTS = { from: 1025, to: 65535 } as const;

export interface ClusterSecurityGroupsArgs {
    readonly vpcId: pulumi.Input<string>;
    readonly kafka: KafkaRefs;
}

export interface ClusterSecurityGroups {
    readonly controlPlane: aws.ec2.SecurityGroup;
    readonly nodes: aws.ec2.SecurityGroup;
}

/** Declares both groups and every rule on them. */
export function clusterSecurityGroups(name: string, args: ClusterSecurityGroupsArgs, opts: pulumi.CustomResourceOptions): ClusterSecurityGroups {
    const controlPlane = new aws.ec2.SecurityGroup(`${name}-control-plane`, { vpcId: args.vpcId, description: "EKS control plane: the API server's interfaces in the private subnets" }, opts);
    const nodes = new aws.ec2.SecurityGroup(`${name}-nodes`, { vpcId: args.vpcId, description: "EKS nodes: Spark driver and executor pods, the operator, CoreDNS" }, opts);

    // Nodes (kubelets, pods with a service account token) to the API server.
    new aws.vpc.SecurityGroupIngressRule(
        `${name}-control-plane-from-nodes`,
        { securityGroupId: controlPlane.id, referencedSecurityGroupId: nodes.id, ipProtocol: "tcp", fromPort: HTTPS_PORT, toPort: HTTPS_PORT, description: "Kubernetes API from the nodes" },
        opts,
    );
    // The API server to kubelets and pods: HTTPS and every unprivileged port (kubelet 10250, webhooks, metrics).
    for (const [rule, from, to] of [["https", HTTPS_PORT, HTTPS_PORT], ["unprivileged", CONTROL_PLANE_TO_NODE_PORTS.from, CONTROL_PLANE_TO_NODE_PORTS.to]] as const) {
        new aws.vpc.SecurityGroupIngressRule(
            `${name}-nodes-from-control-plane-${rule}`,
            { securityGroupId: nodes.id, referencedSecurityGroupId: controlPlane.id, ipProtocol: "tcp", fromPort: from, toPort: to, description: "The API server to kubelets (10250) and pods (webhooks, port-forward)" },
            opts,
        );
        peerEgress(`${name}-control-plane-to-nodes-${rule}`, { from: controlPlane.id, to: nodes.id, protocol: "tcp", fromPort: from, toPort: to, description: "The API server to kubelets and pods" }, opts);
    }
    // Pod to pod across nodes: the driver and its executors (RPC, block transfers; authenticated and encrypted by
    // Spark), DNS to CoreDNS (UDP and TCP). Every protocol, but only between the nodes themselves.
    new aws.vpc.SecurityGroupIngressRule(
        `${name}-nodes-from-nodes`,
        { securityGroupId: nodes.id, referencedSecurityGroupId: nodes.id, ipProtocol: "-1", description: "Pods on other nodes: Spark driver and executors, CoreDNS" },
        opts,
    );
    peerEgress(`${name}-nodes-to-nodes`, { from: nodes.id, to: nodes.id, protocol: "-1", description: "Pods on other nodes: Spark driver and executors, CoreDNS" }, opts);

    // Out of the cluster: AWS APIs and ECR over HTTPS (the API server's private endpoint included), and Kafka's
    // client port; MSK's group admits the nodes.
    httpsEgress(`${name}-nodes-https`, nodes.id, opts);
    kafkaClientEgress(`${name}-nodes-to-kafka`, args.kafka, nodes.id, opts);
    kafkaClientIngress(`${name}-kafka-from-nodes`, args.kafka, nodes.id, opts);
    return { controlPlane, nodes };
}
