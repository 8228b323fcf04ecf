import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

// The one Kubernetes provider everything in the cluster is declared with: built from the EKS cluster's outputs (a
// kubeconfig whose user runs `aws eks get-token`, so no long-lived credential is stored anywhere), or from the
// kubeconfig and context an existing cluster is given by.

/**
 * A kubeconfig for an EKS cluster, as `aws eks update-kubeconfig --alias <name>` writes it: the endpoint, its CA,
 * and a user that asks the AWS CLI for a short-lived token with whatever AWS identity runs kubectl or Pulumi.
 */
export function eksKubeconfig(clusterName: string, endpoint: string, certificateAuthority: string, region: string): string {
    return JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: clusterName, cluster: { server: endpoint, "certificate-authority-data": certificateAuthority } }],
        users: [
            {
                name: clusterName,
                user: {
                    exec: {
                        apiVersion: "client.authentication.k8s.io/v1beta1",
                        command: "aws",
                        args: ["eks", "get-token", "--cluster-name", clusterName, "--region", region, "--output", "json"],
                        interactiveMode: "Never",
                    },
                },
            },
        ],
        contexts: [{ name: clusterName, context: { cluster: clusterName, user: clusterName } }],
        "current-context": clusterName,
    });
}

export interface ClusterProviderArgs {
    readonly kubeconfig: pulumi.Input<string>;
    readonly context: pulumi.Input<string>;
}

export function clusterProvider(name: string, args: ClusterProviderArgs, opts: pulumi.CustomResourceOptions): k8s.Provider {
    return new k8s.Provider(
        `${name}-provider`,
        {
            kubeconfig: pulumi.secret(args.kubeconfig),
            context: args.context,
            // Server-side apply: no last-applied annotation, which the operator's CRDs (~800 KB) would overflow.
            enableServerSideApply: true,
        },
        opts,
    );
}
