import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { KubernetesConfig, SecurityConfig } from "../config";
import { checkSecuritySettingsKept, consumerJobArgs } from "../consumerArgs";
import { checkpointPrefix, deadLetterPrefix, outputPrefix } from "../locations";
import { EngineBaseArgs, ImageRefs } from "../refs";
import { clusterAccess } from "./cluster";
import { consumerRole } from "./iam";
import { DRIVER_UI_PORT, METRICS_PATHS, OPERATOR_METRICS_PORT, podMonitorManifest } from "./metrics";
import { OPERATOR_RELEASE, sparkOperator } from "./operator";
import { APP_LABEL, COMPONENT_LABEL, consumerApplication, kubernetesJobSparkConf, kubernetesLocation } from "./sparkApplication";
import { authSecretName, consumerWorkload, platformNamespace } from "./workload";

// Engine `kubernetes`: the consumer as a Spark Operator application, on an EKS cluster the stack creates (cluster.ts:
// eks.ts, nodeGroup.ts, securityGroups.ts) or on an existing cluster given by a secret kubeconfig. The steps: the cluster
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

/** The UIs as local URLs and the `kubectl port-forward` commands that open them: the driver's, and the operator's metrics. */
export function uiEndpoints(context: string, config: KubernetesConfig, appName: string, operatorInstalled: boolean): { urls: Record<string, string>; tunnels: Record<string, string> } {
    const tunnels: Record<string, string> = { consumerApp: portForwardCommand(context, config.namespace, `service/${appName}-ui`, DRIVER_UI_PORT) };
    const urls: Record<string, string> = {
        consumerApp: `http://localhost:${DRIVER_UI_PORT}`,
        consumerMetrics: `http://localhost:${DRIVER_UI_PORT}${METRICS_PATHS.driver}`,
    };
    if (operatorInstalled) {
        tunnels.operatorMetrics = portForwardCommand(context, config.operatorNamespace, `deployment/${OPERATOR_RELEASE}-controller`, OPERATOR_METRICS_PORT);
        urls.operatorMetrics = `http://localhost:${OPERATOR_METRICS_PORT}${METRICS_PATHS.operator}`;
    }
    return { urls, tunnels };
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
        const cluster = clusterAccess(name, { config, access: args.access, network, kafka, region, kubeconfig: args.kubeconfig, protect: args.protect }, parent);
        this.clusterName = cluster.clusterName;
        this.kubeconfig = cluster.kubeconfig;
        this.kubeconfigCommand = cluster.kubeconfigCommand;
        const context = cluster.context;
        const provider = cluster.provider;
        const oidcProviderArn = cluster.oidcProviderArn;
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
            metricsPolicyJson: args.metricsPolicyJson,
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
        consumerApplication(`${name}-consumer`, {
            consumer,
            config,
            imageUri: image.imageUri,
            args: this.consumerArgs,
            kafkaTopicsJson: args.kafkaTopicsJson,
            authSecretName: authSecretName(consumer.name, args.security.sparkSecretRotation),
        }, { ...inCluster, dependsOn: [...workload.ready, ...policies, ...(operator ? [operator.release, ...operator.crds] : [])] });

        // 5b. Observability (issue 14): a PodMonitor for the Prometheus Operator, when the cluster has its CRDs.
        if (consumer.telemetry?.scrape === "podMonitor") {
            const pm = podMonitorManifest(config.namespace, consumer.name, { [APP_LABEL]: consumer.name, [COMPONENT_LABEL]: "driver" });
            new k8s.apiextensions.CustomResource(`${name}-pod-monitor`, { apiVersion: pm.apiVersion, kind: pm.kind, metadata: pm.metadata, spec: pm.spec }, { ...inCluster, dependsOn: workload.ready });
        }

        // 6. Outputs: the same names as the other engines.
        const ui = uiEndpoints(context, config, consumer.name, operator !== undefined);
        this.uiTunnels = pulumi.output(ui.tunnels);
        this.uiUrls = pulumi.output(ui.urls);
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
