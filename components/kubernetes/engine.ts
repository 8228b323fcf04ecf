import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { KubernetesConfig, SecurityConfig } from "../config";
import { checkSecuritySettingsKept, consumerJobArgs } from "../consumerArgs";
import { checkImagePinned } from "../ec2/userData";
import { kafkaClientIngress } from "../kafka";
import { checkpointPrefix, deadLetterPrefix, outputPrefix } from "../locations";
import { EngineBaseArgs, ImageRefs } from "../refs";
import { clusterName, eksAddon, eksControlPlane } from "./eks";
import { consumerRole } from "./iam";
import { DRIVER_UI_PORT, METRICS_PATHS, OPERATOR_METRICS_PORT } from "./metrics";
import { nodeGroup } from "./nodeGroup";
import { OPERATOR_RELEASE, sparkOperator } from "./operator";
import { clusterProvider, eksKubeconfig } from "./provider";
import { clusterSecurityGroups } from "./securityGroups";
import { imageSparkVersion, kubernetesJobSparkConf, kubernetesLocation, SPARK_APPLICATION_API_VERSION, sparkApplicationManifest } from "./sparkApplication";
import { authSecretName, consumerWorkload, platformNamespace } from "./workload";

// Engine `kubernetes`: the consumer as a Spark Operator application, on an EKS cluster the stack creates (eks.ts,
// nodeGroup.ts, securityGroups.ts) or on an existing cluster given by a secret kubeconfig. The steps: the cluster
// and its provider, the consumer's IAM role for its service account (iam.ts), its namespace objects (workload.ts),
// the operator (operator.ts), and the SparkApplication (sparkApplication.ts).

export interface KubernetesEngineArgs extends EngineBaseArgs {
    readonly config: KubernetesConfig;
    /** The consumer image, pinned by digest. */
    readonly image: ImageRefs;
    /** cluster existing: the kubeconfig (a secret). */
    readonly kubeconfig?: pulumi.Output<string>;
    /** The rotation counter of the spark.authenticate secret. */
    readonly security: SecurityConfig;
    /** Keep the cluster's audit trail and refuse to delete the cluster (the data lake's protect). */
    readonly protect: boolean;
}

/** Throws unless the arguments describe a cluster the engine can reach; says what to set. */
export function checkKubernetesArgs(config: KubernetesConfig, kubeconfig: pulumi.Output<string> | undefined): void {
    if (config.cluster === "existing" && (config.existing === undefined || kubeconfig === undefined)) {
        throw new Error("kubernetes.cluster existing needs kubernetes.existing (context, oidcProviderArn) and the secret kubeconfig: pulumi config set --secret kubeconfig \"$(cat path/to/kubeconfig)\"");
    }
}

/** `kubectl port-forward` that serves a service's or deployment's port on localhost. */
export function portForwardCommand(context: string, namespace: string, target: string, port: number): string {
    return `kubectl --context ${context} --namespace ${namespace} port-forward ${target} ${port}:${port}`;
}

export class KubernetesEngine extends pulumi.ComponentResource {
    /** The local URL each tunnel opens (after running the matching uiTunnels command). */
    public readonly uiUrls: pulumi.Output<Record<string, string>>;
    /** For each UI, the `kubectl port-forward` command that serves it on localhost. */
    public readonly uiTunnels: pulumi.Output<Record<string, string>>;
    /** No stack-issued UI certificate on Kubernetes: port-forward runs through the API server's TLS. */
    public readonly uiCaCertificate: undefined = undefined;
    public readonly clusterName: pulumi.Output<string>;
    /** A kubeconfig for the cluster (secret). */
    public readonly kubeconfig: pulumi.Output<string>;
    /** eks: the command that adds the cluster to ~/.kube/config under the context the tunnels use. */
    public readonly kubeconfigCommand: pulumi.Output<string> | undefined;
    public readonly consumerRoleArn: pulumi.Output<string>;
    /** The job's flags, as the SparkApplication passes them. */
    public readonly consumerArgs: pulumi.Output<string[]>;

    constructor(name: string, args: KubernetesEngineArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("spark-streaming:kubernetes:KubernetesEngine", name, {}, opts);
        const { config, consumer, network, dataLake, kafka, image, region } = args;
        checkKubernetesArgs(config, args.kubeconfig);
        checkSecuritySettingsKept(consumer);
        const parent = { parent: this };

        // 1. The cluster, and the one provider everything inside it is declared with.
        let oidcProviderArn: pulumi.Input<string>;
        let provider: k8s.Provider;
        let context: string;
        if (config.cluster === "eks") {
            const groups = clusterSecurityGroups(name, { vpcId: network.vpcId, kafka }, parent);
            const controlPlane = eksControlPlane(name, { config, access: args.access, privateSubnetIds: network.privateSubnetIds, controlPlaneSecurityGroupId: groups.controlPlane.id, protect: args.protect }, parent);
            const { cluster } = controlPlane;
            const networking = [eksAddon(name, "vpc-cni", cluster, config.version, parent), eksAddon(name, "kube-proxy", cluster, config.version, parent)];
            const nodes = nodeGroup(name, { config, cluster, privateSubnetIds: network.privateSubnetIds, securityGroupId: groups.nodes.id, dependsOn: networking }, parent);
            // CoreDNS is a Deployment: it becomes healthy only once there are nodes to run it.
            const coredns = eksAddon(name, "coredns", cluster, config.version, { ...parent, dependsOn: [nodes] });
            context = clusterName(pulumi.getProject(), pulumi.getStack());
            this.clusterName = cluster.name;
            this.kubeconfig = pulumi.secret(
                pulumi.all([cluster.name, cluster.endpoint, cluster.certificateAuthority]).apply(([n, endpoint, ca]) => eksKubeconfig(n, endpoint, ca.data!, region)),
            );
            this.kubeconfigCommand = pulumi.interpolate`aws eks update-kubeconfig --region ${region} --name ${cluster.name} --alias ${cluster.name}`;
            oidcProviderArn = controlPlane.oidcProvider.arn;
            // Declared after the nodes and add-ons, so in-cluster objects wait for a cluster that can run them.
            provider = clusterProvider(name, { kubeconfig: this.kubeconfig, context: cluster.name }, { ...parent, dependsOn: [...controlPlane.access, nodes, coredns] });
        } else {
            const existing = config.existing!;
            context = existing.context;
            this.clusterName = pulumi.output(existing.clusterName ?? existing.context);
            this.kubeconfig = pulumi.secret(args.kubeconfig!);
            this.kubeconfigCommand = undefined;
            oidcProviderArn = existing.oidcProviderArn;
            provider = clusterProvider(name, { kubeconfig: this.kubeconfig, context: existing.context }, parent);
            // MSK admits the existing cluster's nodes (their egress is the cluster owner's to allow).
            if (existing.nodeSecurityGroupId !== undefined) {
                kafkaClientIngress(`${name}-kafka-from-nodes`, kafka, existing.nodeSecurityGroupId, parent);
            }
        }
        const inCluster = { parent: this, provider };

        // 2. The consumer's AWS identity: exactly the other engines' consumer permissions, for its service account only.
        const { role, policies } = consumerRole(name, {
            oidcProviderArn,
            namespace: config.namespace,
            serviceAccount: config.serviceAccount,
            bucketArn: dataLake.bucketArn,
            kmsKeyArn: dataLake.kmsKeyArn,
            prefixes: [outputPrefix(consumer.topic), deadLetterPrefix(consumer.topic), checkpointPrefix(consumer.name)],
            kafkaPolicyJson: kafka.consumerPolicyJson,
        }, parent);
        this.consumerRoleArn = role.arn;

        // 3. Its namespace, service account, driver rights, auth secret and UI service.
        const workload = consumerWorkload(name, {
            namespace: config.namespace,
            serviceAccount: config.serviceAccount,
            appName: consumer.name,
            roleArn: role.arn,
            secretRotation: args.security.sparkSecretRotation,
        }, inCluster);

        // 4. The operator, watching only that namespace (unless the cluster brings its own).
        const operator = config.installOperator
            ? sparkOperator(name, {
                  namespace: config.operatorNamespace,
                  jobNamespace: config.namespace,
                  serviceAccount: config.serviceAccount,
                  dependsOn: [platformNamespace(`${name}-operator-namespace`, config.operatorNamespace, inCluster), workload.namespace],
              }, inCluster)
            : undefined;

        // 5. The consumer. The image is the only input of the SparkApplication that a new build changes.
        this.consumerArgs = consumerJobArgs(consumer, {
            bootstrapServers: kafka.bootstrapBrokers,
            kafkaAuth: kafka.authMode,
            output: dataLake.bucketName.apply((b) => kubernetesLocation(b, outputPrefix(consumer.topic))),
            deadLetter: dataLake.bucketName.apply((b) => kubernetesLocation(b, deadLetterPrefix(consumer.topic))),
            checkpoint: dataLake.bucketName.apply((b) => kubernetesLocation(b, checkpointPrefix(consumer.name))),
            engineSparkConf: kubernetesJobSparkConf(region),
        });
        const sparkVersion = imageSparkVersion();
        const manifest = pulumi
            .all([image.imageUri, this.consumerArgs, pulumi.output(args.kafkaTopicsJson)])
            .apply(([imageUri, jobArgs, topics]) =>
                sparkApplicationManifest({
                    name: consumer.name,
                    namespace: config.namespace,
                    serviceAccount: config.serviceAccount,
                    image: checkImagePinned(imageUri),
                    args: jobArgs,
                    consumer,
                    config,
                    authSecretName: authSecretName(consumer.name, args.security.sparkSecretRotation),
                    driverEnv: { KAFKA_TOPICS: topics },
                    sparkVersion,
                }),
            );
        new k8s.apiextensions.CustomResource(
            `${name}-consumer`,
            { apiVersion: SPARK_APPLICATION_API_VERSION, kind: "SparkApplication", metadata: manifest.metadata, spec: manifest.spec },
            {
                ...inCluster,
                // The name is fixed (one application per checkpoint): a replacement deletes the old one first.
                deleteBeforeReplace: true,
                dependsOn: [...workload.ready, ...policies, ...(operator ? [operator.release, ...operator.crds] : [])],
            },
        );

        // 6. Outputs: the same names as the other engines.
        const tunnels: Record<string, string> = { consumerApp: portForwardCommand(context, config.namespace, `service/${consumer.name}-ui`, DRIVER_UI_PORT) };
        const urls: Record<string, string> = {
            consumerApp: `http://localhost:${DRIVER_UI_PORT}`,
            consumerMetrics: `http://localhost:${DRIVER_UI_PORT}${METRICS_PATHS.driver}`,
        };
        if (operator !== undefined) {
            tunnels.operatorMetrics = portForwardCommand(context, config.operatorNamespace, `deployment/${OPERATOR_RELEASE}-controller`, OPERATOR_METRICS_PORT);
            urls.operatorMetrics = `http://localhost:${OPERATOR_METRICS_PORT}${METRICS_PATHS.operator}`;
        }
        this.uiTunnels = pulumi.output(tunnels);
        this.uiUrls = pulumi.output(urls);
        this.registerOutputs({
            uiUrls: this.uiUrls,
            uiTunnels: this.uiTunnels,
            clusterName: this.clusterName,
            kubeconfig: this.kubeconfig,
            kubeconfigCommand: this.kubeconfigCommand,
            consumerRoleArn: this.consumerRoleArn,
            consumerArgs: this.consumerArgs,
        });
    }
}
