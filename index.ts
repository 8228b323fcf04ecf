import * as pulumi from "@pulumi/pulumi";
import { loadPlatformConfig } from "./components/config";
import { ConsumerImage } from "./components/consumerImage";
import { DataLake } from "./components/dataLake";
import { Ec2Engine } from "./components/ec2/engine";
import { EmrEngine } from "./components/emr/cluster";
import { Kafka } from "./components/kafka";
import { KubernetesEngine } from "./components/kubernetes/engine";
import { checkpointPrefix, deadLetterPrefix, outputPrefix, s3Uri } from "./components/locations";
import { Network } from "./components/network";
import { componentProvider } from "./components/tags";

// Read config → build components → export outputs. Nothing else.

const cfg = loadPlatformConfig();
const region = new pulumi.Config("aws").require("region");
const providerFor = (component: string) => ({ providers: { aws: componentProvider(cfg.project, cfg.stack, component, region) } });

const network = new Network("network", { config: cfg.network, retainAuditLogs: cfg.dataLake.protect }, providerFor("network"));
const dataLake = new DataLake("data-lake", { config: cfg.dataLake }, providerFor("dataLake"));
const kafka = new Kafka("kafka", { config: cfg.kafka, network, kmsKeyArn: dataLake.kmsKeyArn }, providerFor("kafka"));

const shared = { consumer: cfg.consumer, access: cfg.access, network, dataLake, kafka, kafkaTopicsJson: kafka.topicsJson, region };

// The ec2 and kubernetes engines run the image; EMR 7 runs the same build of the job from S3 (see components/emr).
const image =
    cfg.engine !== "emr"
        ? new ConsumerImage("consumer-image", { forceDelete: cfg.dataLake.forceDestroy, kmsKeyArn: dataLake.kmsKeyArn }, providerFor("consumerImage"))
        : undefined;
const spark =
    cfg.engine === "kubernetes"
        ? new KubernetesEngine("kubernetes", { ...shared, config: cfg.kubernetes, image: image!, kubeconfig: cfg.kubeconfig, security: cfg.security, protect: cfg.dataLake.protect }, providerFor("kubernetes"))
        : cfg.engine === "ec2"
          ? new Ec2Engine("spark", { ...shared, config: cfg.ec2, image: image!, security: cfg.security }, providerFor("ec2"))
          : new EmrEngine("emr", { ...shared, config: cfg.emr, security: cfg.security }, providerFor("emr"));
const kubernetes = spark instanceof KubernetesEngine ? spark : undefined;

export const engine = cfg.engine;
export const vpcId = network.vpcId;
export const bucketName = dataLake.bucketName;
export const accessLogBucketName = dataLake.accessLogBucketName;
export const checkpointLocation = s3Uri(dataLake.bucketName, checkpointPrefix(cfg.consumer.name));
export const outputLocation = s3Uri(dataLake.bucketName, outputPrefix(cfg.consumer.topic));
export const deadLetterLocation = s3Uri(dataLake.bucketName, deadLetterPrefix(cfg.consumer.topic));
export const kafkaBootstrapBrokers = kafka.bootstrapBrokers;
export const kafkaClusterArn = kafka.clusterArn;
export const imageUri = image?.imageUri;
export const uiUrls = spark.uiUrls;
export const uiTunnels = spark.uiTunnels;
export const uiCaCertificate = spark.uiCaCertificate;
export const clusterName = kubernetes?.clusterName;
export const kubeconfig = kubernetes?.kubeconfig;
export const kubeconfigCommand = kubernetes?.kubeconfigCommand;
