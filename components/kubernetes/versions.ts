// The Kubernetes versions the kubernetes engine supports, each with the EKS add-on versions pinned for it. A cluster
// and its add-ons move together: bumping `kubernetes.version` picks the add-ons of that row, so a preview shows the
// cluster upgrade and the matching add-on updates in one diff, and nothing moves on its own between two previews.
//
// Source: the Amazon EKS user guide's tables of the latest EKS add-on type per Kubernetes version (vpc-cni,
// CoreDNS, kube-proxy). Before adding a row, check the versions exist in the region:
//   aws eks describe-addon-versions --kubernetes-version 1.33 --addon-name coredns \
//     --query 'addons[].addonVersions[].addonVersion'
// Versions outside this table are refused by config validation, so nobody gets a cluster whose add-ons were never
// matched to it.

/** The EKS add-ons every cluster runs (the node group needs all three before it is healthy). */
export interface AddonVersions {
    readonly "vpc-cni": string;
    readonly coredns: string;
    readonly "kube-proxy": string;
}

export const KUBERNETES_VERSIONS: Readonly<Record<string, AddonVersions>> = {
    "1.31": { "vpc-cni": "v1.20.1-eksbuild.3", coredns: "v1.11.4-eksbuild.22", "kube-proxy": "v1.31.13-eksbuild.2" },
    "1.32": { "vpc-cni": "v1.20.1-eksbuild.3", coredns: "v1.11.4-eksbuild.22", "kube-proxy": "v1.32.9-eksbuild.2" },
    "1.33": { "vpc-cni": "v1.20.1-eksbuild.3", coredns: "v1.12.3-eksbuild.1", "kube-proxy": "v1.33.5-eksbuild.2" },
};

/** The version a new stack gets: the newest row of the table. */
export const DEFAULT_KUBERNETES_VERSION = "1.33";

/** The add-on versions pinned for `version`; throws, naming the key and the supported versions, for any other. */
export function addonVersions(version: string): AddonVersions {
    const row = KUBERNETES_VERSIONS[version];
    if (row === undefined) {
        throw new Error(
            `kubernetes.version must be one of ${Object.keys(KUBERNETES_VERSIONS).join(", ")} (the versions whose EKS add-ons are pinned in components/kubernetes/versions.ts); got "${version}"`,
        );
    }
    return row;
}
