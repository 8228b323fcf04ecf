// The kubernetes engine's variants the program-wide tests run: each shipped stack with engine kubernetes on an EKS
// cluster the stack creates (defaults only: `pulumi config set engine kubernetes`), and on an existing cluster given
// by a secret kubeconfig, with MSK and with external Kafka.

export const KUBECONFIG = `apiVersion: v1
kind: Config
clusters:
- name: platform
  cluster: {server: "https://platform.example.internal:6443", certificate-authority-data: TU9DSw==}
users:
- name: deployer
  user: {token: MOCKSECRET-kubeconfig-token}
contexts:
- name: platform
  context: {cluster: platform, user: deployer}
current-context: platform
`;

export const EXISTING_OIDC_PROVIDER = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXISTINGCLUSTER";
export const EXISTING_NODE_GROUP = "sg-0123456789abcdef0";

export interface KubernetesCase {
    readonly label: string;
    readonly stack: "dev" | "prod";
    readonly cluster: "eks" | "existing";
    readonly kafka: "msk" | "external";
    /** Project-qualified config overrides, as `pulumi config set` would leave them. */
    readonly overrides: Record<string, string>;
    /** Secret config (the kubeconfig), handed over the way the CLI hands secrets to the program. */
    readonly secrets: Record<string, string>;
}

const EXTERNAL_KAFKA = {
    mode: "external",
    bootstrapServers: "kafka-1.example.internal:9098,kafka-2.example.internal:9098",
    clusterArn: "arn:aws:kafka:eu-west-1:123456789012:cluster/shared/abcd-1234",
    topics: [{ name: "events", partitions: 6, replicationFactor: 3 }],
};

export function kubernetesCase(stack: "dev" | "prod", cluster: "eks" | "existing", kafka: "msk" | "external"): KubernetesCase {
    const overrides: Record<string, string> = { "spark-streaming:engine": "kubernetes" };
    const secrets: Record<string, string> = {};
    if (cluster === "existing") {
        overrides["spark-streaming:kubernetes"] = JSON.stringify({
            cluster: "existing",
            existing: { context: "platform", oidcProviderArn: EXISTING_OIDC_PROVIDER, ...(kafka === "msk" ? { nodeSecurityGroupId: EXISTING_NODE_GROUP } : {}) },
        });
        secrets["spark-streaming:kubeconfig"] = KUBECONFIG;
    }
    if (kafka === "external") {
        overrides["spark-streaming:kafka"] = JSON.stringify(EXTERNAL_KAFKA);
    }
    return { label: `${stack}, ${cluster} cluster, ${kafka} Kafka`, stack, cluster, kafka, overrides, secrets };
}

/** Every combination the program tests cover. */
export const KUBERNETES_CASES: KubernetesCase[] = [
    kubernetesCase("dev", "eks", "msk"),
    kubernetesCase("prod", "eks", "msk"),
    kubernetesCase("dev", "existing", "msk"),
    kubernetesCase("prod", "existing", "external"),
];
