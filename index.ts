import * as pulumi from "@pulumi/pulumi";
import { loadPlatformConfig } from "./components/config";
import { DataLake } from "./components/dataLake";
import { Kafka } from "./components/kafka";
import { checkpointPrefix, deadLetterPrefix, outputPrefix, s3Uri } from "./components/locations";
import { Network } from "./components/network";
import { componentProvider } from "./components/tags";

// Read config → build components → export outputs. Nothing else.

const cfg = loadPlatformConfig();
const region = new pulumi.Config("aws").require("region");
const providerFor = (component: string) => ({ providers: { aws: componentProvider(cfg.project, cfg.stack, component, region) } });

const network = new Network("network", { config: cfg.network }, providerFor("network"));
const dataLake = new DataLake("data-lake", { config: cfg.dataLake }, providerFor("dataLake"));
const kafka = new Kafka("kafka", { config: cfg.kafka, network, kmsKeyArn: dataLake.kmsKeyArn }, providerFor("kafka"));

export const engine = cfg.engine;
export const vpcId = network.vpcId;
export const bucketName = dataLake.bucketName;
export const checkpointLocation = s3Uri(dataLake.bucketName, checkpointPrefix(cfg.consumer.name));
export const outputLocation = s3Uri(dataLake.bucketName, outputPrefix(cfg.consumer.topic));
export const deadLetterLocation = s3Uri(dataLake.bucketName, deadLetterPrefix(cfg.consumer.topic));
export const kafkaBootstrapBrokers = kafka.bootstrapBrokers;
export const kafkaClusterArn = kafka.clusterArn;
