import * as pulumi from "@pulumi/pulumi";
import { loadPlatformConfig, PlatformConfig } from "./components/config";
import { ConsumerImage } from "./components/consumerImage";
import { DataLake } from "./components/dataLake";
import { Ec2Engine } from "./components/ec2/engine";
import { EmrEngine } from "./components/emr/cluster";
import { Kafka } from "./components/kafka";
import { LocalPlatform } from "./components/local/platform";
import { KubernetesEngine } from "./components/kubernetes/engine";
import { checkpointPrefix, deadLetterPrefix, outputPrefix, s3Uri } from "./components/locations";
import { Network } from "./components/network";
import { componentProvider } from "./components/tags";
import { consumerTelemetry } from "./components/observability/telemetry";
import { metricsPolicyDocument } from "./components/observability/metricsPolicy";
import { hostsRef, mskRef, Observability } from "./components/observability/observability";

// Read config → build components → export outputs. Nothing else.

/** What every engine exports; an output that does not apply to an engine is undefined (absent from the stack). */
interface Platform {
    readonly bucketName: pulumi.Output<string>;
    /** How Spark addresses the bucket: `s3` on AWS, `s3a` on engine local. */
    readonly uriScheme: "s3" | "s3a";
    readonly kafkaBootstrapBrokers: pulumi.Input<string>;
    readonly uiUrls: pulumi.Input<Record<string, string>>;
    readonly vpcId?: pulumi.Output<string>;
    /** The separate bucket that receives the data lake's S3 server access logs (AWS engines). */
    readonly accessLogBucketName?: pulumi.Output<string>;
    /** The CA that signed the Spark UIs' HTTPS certificate, for browsers to trust (engine ec2). */
    readonly uiCaCertificate?: pulumi.Output<string>;
    readonly kafkaClusterArn?: pulumi.Output<string>;
    readonly imageUri?: pulumi.Input<string>;
    readonly uiTunnels?: pulumi.Output<Record<string, string>>;
    readonly produceCommand?: string;
    readonly objectStoreEndpoint?: string;
    readonly objectStoreAccessKeyId?: string;
    readonly objectStoreSecretAccessKey?: pulumi.Output<string>;
    /** Engine kubernetes: the cluster, a kubeconfig for it (secret), and the command that adds its context. */
    readonly clusterName?: pulumi.Output<string>;
    readonly kubeconfig?: pulumi.Output<string>;
    readonly kubeconfigCommand?: pulumi.Output<string>;
    /** The consumer's dashboard: CloudWatch on AWS, Grafana on engine local (when its monitoring is on). */
    readonly dashboardUrl?: pulumi.Input<string>;
    /** AWS engines: the SNS topic the alarms notify. */
    readonly alarmTopicArn?: pulumi.Output<string>;
    /** Engine local: Grafana (anonymous, read-only). */
    readonly grafanaUrl?: string;
}

/** Engines emr, ec2 and kubernetes: the platform in an AWS account. */
function awsPlatform(cfg: PlatformConfig): Platform {
    const region = new pulumi.Config("aws").require("region");
    const providerFor = (component: string) => ({ providers: { aws: componentProvider(cfg.project, cfg.stack, component, region) } });

    const network = new Network("network", { config: cfg.network, retainAuditLogs: cfg.dataLake.protect }, providerFor("network"));
    const dataLake = new DataLake("data-lake", { config: cfg.dataLake }, providerFor("dataLake"));
    const obs = cfg.observability;
    const kafka = new Kafka("kafka", { config: cfg.kafka, network, kmsKeyArn: dataLake.kmsKeyArn, consumerGroup: obs.consumerGroup }, providerFor("kafka"));

    const consumer = { ...cfg.consumer, telemetry: consumerTelemetry(cfg, region) };
    const metricsPolicyJson = metricsPolicyDocument(obs.namespace);
    const shared = { consumer, access: cfg.access, network, dataLake, kafka, kafkaTopicsJson: kafka.topicsJson, region, metricsPolicyJson };

    // The ec2 and kubernetes engines run the image; EMR 7 runs the same build of the job from S3 (see components/emr).
    const image =
        cfg.engine !== "emr"
            ? new ConsumerImage("consumer-image", { forceDelete: cfg.dataLake.forceDestroy, kmsKeyArn: dataLake.kmsKeyArn }, providerFor("consumerImage"))
            : undefined;
    const spark =
        cfg.engine === "kubernetes"
            ? new KubernetesEngine(
                  "kubernetes",
                  { ...shared, config: cfg.kubernetes, image: image!, kubeconfig: cfg.kubeconfig, security: cfg.security, protect: cfg.dataLake.protect },
                  providerFor("kubernetes"),
              )
            : cfg.engine === "ec2"
              ? new Ec2Engine("spark", { ...shared, config: cfg.ec2, image: image!, security: cfg.security }, providerFor("ec2"))
              : new EmrEngine("emr", { ...shared, config: cfg.emr, security: cfg.security }, providerFor("emr"));
    const kubernetes = spark instanceof KubernetesEngine ? spark : undefined;
    const observability = new Observability(
        "observability",
        { project: cfg.project, stack: cfg.stack, region, consumer: cfg.consumer, config: obs, msk: mskRef(cfg.kafka, kafka), hosts: hostsRef(spark) },
        providerFor("observability"),
    );
    return {
        bucketName: dataLake.bucketName,
        uriScheme: "s3",
        kafkaBootstrapBrokers: kafka.bootstrapBrokers,
        uiUrls: spark.uiUrls,
        vpcId: network.vpcId,
        accessLogBucketName: dataLake.accessLogBucketName,
        uiCaCertificate: spark.uiCaCertificate,
        kafkaClusterArn: kafka.clusterArn,
        imageUri: image?.imageUri,
        uiTunnels: spark.uiTunnels,
        clusterName: kubernetes?.clusterName,
        kubeconfig: kubernetes?.kubeconfig,
        kubeconfigCommand: kubernetes?.kubeconfigCommand,
        dashboardUrl: observability.dashboardUrl,
        alarmTopicArn: observability.alarmTopicArn,
    };
}

/** Engine local: the platform as containers on this machine's Docker engine; no AWS account, no AWS call. */
function localPlatform(cfg: PlatformConfig): Platform {
    const local = new LocalPlatform("local", {
        project: cfg.project,
        stack: cfg.stack,
        local: cfg.local,
        kafka: cfg.kafka,
        consumer: { ...cfg.consumer, telemetry: consumerTelemetry(cfg) },
        dataLake: cfg.dataLake,
        observability: cfg.observability,
    });
    return {
        bucketName: local.bucketName,
        uriScheme: local.uriScheme,
        kafkaBootstrapBrokers: local.kafkaBootstrapBrokers,
        uiUrls: local.uiUrls,
        imageUri: local.imageRef,
        produceCommand: local.produceCommand,
        objectStoreEndpoint: local.objectStore.endpoint,
        objectStoreAccessKeyId: local.objectStore.accessKeyId,
        objectStoreSecretAccessKey: local.objectStore.secretAccessKey,
        dashboardUrl: local.monitoring?.dashboardUrl,
        grafanaUrl: local.monitoring?.grafanaUrl,
    };
}

const cfg = loadPlatformConfig();
const platform = cfg.engine === "local" ? localPlatform(cfg) : awsPlatform(cfg);

export const engine = cfg.engine;
export const vpcId = platform.vpcId;
export const bucketName = platform.bucketName;
export const accessLogBucketName = platform.accessLogBucketName;
export const checkpointLocation = s3Uri(platform.bucketName, checkpointPrefix(cfg.consumer.name), platform.uriScheme);
export const outputLocation = s3Uri(platform.bucketName, outputPrefix(cfg.consumer.topic), platform.uriScheme);
export const deadLetterLocation = s3Uri(platform.bucketName, deadLetterPrefix(cfg.consumer.topic), platform.uriScheme);
export const kafkaBootstrapBrokers = platform.kafkaBootstrapBrokers;
export const kafkaClusterArn = platform.kafkaClusterArn;
export const imageUri = platform.imageUri;
export const uiUrls = platform.uiUrls;
export const uiTunnels = platform.uiTunnels;
export const uiCaCertificate = platform.uiCaCertificate;
export const produceCommand = platform.produceCommand;
export const objectStoreEndpoint = platform.objectStoreEndpoint;
export const objectStoreAccessKeyId = platform.objectStoreAccessKeyId;
export const objectStoreSecretAccessKey = platform.objectStoreSecretAccessKey;
export const clusterName = platform.clusterName;
export const kubeconfig = platform.kubeconfig;
export const kubeconfigCommand = platform.kubeconfigCommand;
export const dashboardUrl = platform.dashboardUrl;
export const alarmTopicArn = platform.alarmTopicArn;
export const grafanaUrl = platform.grafanaUrl;
export const consumerGroup = cfg.observability.consumerGroup;
