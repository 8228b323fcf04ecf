import * as pulumi from "@pulumi/pulumi";
import { AccessConfig } from "./config";
import type { ConsumerSpec } from "./consumerArgs";

// What one component hands the next. Plain values decide the shape of the graph (known at preview);
// Outputs only flow into resource inputs.

/** The VPC and subnets the platform runs in. */
export interface NetworkRefs {
    readonly vpcId: pulumi.Output<string>;
    readonly vpcCidr: pulumi.Output<string>;
    readonly privateSubnetIds: pulumi.Output<string[]>;
    /** How many private subnets there are; plain so counts (brokers, AZs) are checked at preview. */
    readonly privateSubnetCount: number;
}

/** The data lake bucket and the key that encrypts it. */
export interface DataLakeRefs {
    readonly bucketName: pulumi.Output<string>;
    readonly bucketArn: pulumi.Output<string>;
    readonly kmsKeyArn: pulumi.Output<string>;
}

/** How clients reach Kafka, whichever mode created (or did not create) it. */
export interface KafkaRefs {
    /** `host:port,...` of the brokers' client listener. */
    readonly bootstrapBrokers: pulumi.Output<string>;
    /** How clients authenticate: `iam` (SASL_SSL + AWS_MSK_IAM, port 9098) or `none` (external plaintext). */
    readonly authMode: "iam" | "none";
    /** The client port, for the security group rule the engine adds from its hosts. */
    readonly clientPort: number;
    /** The brokers' security group; engines add an ingress rule from their hosts' group. Undefined for external Kafka. */
    readonly securityGroupId: pulumi.Output<string> | undefined;
    /** Least-privilege IAM policy JSON for the consumer (connect, describe, read its topics, its groups). Undefined when auth is none. */
    readonly consumerPolicyJson: pulumi.Output<string> | undefined;
}

/** The consumer image, pinned by digest. */
export interface ImageRefs {
    readonly imageUri: pulumi.Output<string>;
    readonly repositoryArn: pulumi.Output<string>;
    readonly repositoryUrl: pulumi.Output<string>;
}

/** What every engine gets from the rest of the platform, so all engines run the same consumer the same way. */
export interface EngineBaseArgs {
    /** The consumer: its name (checkpoint), topic, trigger and Spark settings, and how it reports (telemetry). */
    readonly consumer: ConsumerSpec;
    /** CIDRs admitted to the UI ports; empty (the default) leaves the UIs to SSM port forwarding. */
    readonly access: AccessConfig;
    /** The VPC and private subnets the hosts run in. */
    readonly network: NetworkRefs;
    /** The bucket (data, dead letters, checkpoints, logs, artifacts) and its KMS key. */
    readonly dataLake: DataLakeRefs;
    /** Bootstrap brokers, auth mode, client port, the brokers' security group and the consumer's Kafka policy. */
    readonly kafka: KafkaRefs;
    /** The topics the consumer creates idempotently before its query starts (JSON list, KAFKA_TOPICS). */
    readonly kafkaTopicsJson: pulumi.Input<string>;
    /** The AWS region (SDK clients, ECR logins, S3A, console URLs, SSM commands). */
    readonly region: string;
    /** The consumer role's right to publish its metrics (components/observability/metricsPolicy.ts); absent on engine local. */
    readonly metricsPolicyJson?: pulumi.Input<string>;
}
