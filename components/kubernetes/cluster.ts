import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { AccessConfig, KubernetesConfig } from "../config";
import { kafkaClientIngress } from "../kafka";
import { KafkaRefs, NetworkRefs } from "../refs";
import { clusterName, eksAddon, eksControlPlane } from "./eks";
import { nodeGroup } from "./nodeGroup";
import { clusterProvider, eksKubeconfig } from "./provider";
import { clusterSecurityGroups } from "./securityGroups";

// The cluster the consumer runs on, whichever way it comes: an EKS cluster built here (security groups, control
// plane, add-ons, node group) or an existing one given by its kubeconfig. Either way the engine gets the same thing:
// one Kubernetes provider, the context the tunnels name, and the OIDC provider IRSA trusts.

export interface ClusterArgs {
    readonly config: KubernetesConfig;
    readonly access: AccessConfig;
    readonly network: NetworkRefs;
    readonly kafka: KafkaRefs;
    readonly region: string;
    /** cluster existing: the kubeconfig (a secret). */
    readonly kubeconfig?: pulumi.Output<string>;
    readonly protect: boolean;
}

export interface ClusterAccess {
    /** Everything in the cluster is declared with this provider. */
    readonly provider: k8s.Provider;
    /** The kubeconfig context `kubectl` commands name. */
    readonly context: string;
    readonly clusterName: pulumi.Output<string>;
    readonly kubeconfig: pulumi.Output<string>;
    /** eks: the command that adds the cluster to ~/.kube/config under `context`. */
    readonly kubeconfigCommand: pulumi.Output<string> | undefined;
    readonly oidcProviderArn: pulumi.Input<string>;
}

export function clusterAccess(name: string, args: ClusterArgs, opts: pulumi.CustomResourceOptions): ClusterAccess {
    const { config, network, kafka } = args;
    if (config.cluster === "existing") {
        const existing = config.existing!;
        const kubeconfig = pulumi.secret(args.kubeconfig!);
        // MSK admits the existing cluster's nodes (their egress is the cluster owner's to allow).
        if (existing.nodeSecurityGroupId !== undefined) {
            kafkaClientIngress(`${name}-kafka-from-nodes`, kafka, existing.nodeSecurityGroupId, opts);
        }
        return {
            provider: clusterProvider(name, { kubeconfig, context: existing.context }, opts),
            context: existing.context,
            clusterName: pulumi.output(existing.clusterName ?? existing.context),
            kubeconfig,
            kubeconfigCommand: undefined,
            oidcProviderArn: existing.oidcProviderArn,
        };
    }

    const groups = clusterSecurityGroups(name, { vpcId: network.vpcId, kafka }, opts);
    const controlPlane = eksControlPlane(name, { config, access: args.access, privateSubnetIds: network.privateSubnetIds, controlPlaneSecurityGroupId: groups.controlPlane.id, protect: args.protect }, opts);
    const { cluster } = controlPlane;
    const networking = [eksAddon(name, "vpc-cni", cluster, config.version, opts), eksAddon(name, "kube-proxy", cluster, config.version, opts)];
    const nodes = nodeGroup(name, { config, cluster, privateSubnetIds: network.privateSubnetIds, securityGroupId: groups.nodes.id, dependsOn: networking }, opts);
    // CoreDNS is a Deployment: it becomes healthy only once there are nodes to run it.
    const coredns = eksAddon(name, "coredns", cluster, config.version, { ...opts, dependsOn: [nodes] });
    const kubeconfig = pulumi.secret(
        pulumi.all([cluster.name, cluster.endpoint, cluster.certificateAuthority]).apply(([n, endpoint, ca]) => eksKubeconfig(n, endpoint, ca.data!, args.region)),
    );
    // The context `aws eks update-kubeconfig --alias <name>` creates: the cluster's (fixed) name.
    const context = clusterName(pulumi.getProject(), pulumi.getStack());
    return {
        // Declared after the nodes and add-ons, so in-cluster objects wait for a cluster that can run them.
        provider: clusterProvider(name, { kubeconfig, context: cluster.name }, { ...opts, dependsOn: [...controlPlane.access, nodes, coredns] }),
        context,
        clusterName: cluster.name,
        kubeconfig,
        kubeconfigCommand: pulumi.interpolate`aws eks update-kubeconfig --region ${args.region} --name ${cluster.name} --alias ${cluster.name}`,
        oidcProviderArn: controlPlane.oidcProvider.arn,
    };
}
