import { z } from "zod";
import { Engine, topicName } from "./common";

export const topicSchema = z.strictObject({
    name: topicName,
    /** Partitions: the ceiling of the consumer's read parallelism. */
    partitions: z.number().int().min(1).max(1000).default(6),
    /** Retention in hours; unset uses the cluster's `kafka.retentionHours`. */
    retentionHours: z.number().int().min(1).optional(),
    /** Replication factor; unset uses the cluster's `kafka.defaultReplicationFactor`. */
    replicationFactor: z.number().int().min(1).max(3).optional(),
});

/** Where Kafka comes from: MSK provisioned or serverless (AWS engines), containers on the local Docker engine (engine local), or brokers somebody else runs. */
export const KAFKA_MODES = ["msk", "msk-serverless", "container", "external"] as const;
export type KafkaMode = (typeof KAFKA_MODES)[number];
/** Broker counts the container mode supports: one (lightest) or three (replication factor 3, min ISR 2). */
export const CONTAINER_BROKER_COUNTS = [1, 3] as const;

/**
 * The kafka key. Its defaults follow the engine: engine local gets brokers in containers (plaintext on the stack's
 * private Docker network), the AWS engines get MSK with IAM auth. Replication defaults follow the broker count in
 * container mode (1 broker: 1/1; 3 brokers: 3/2).
 */
export function kafkaSchema(engine: Engine) {
    const local = engine === "local";
    return z
        .strictObject({
            /** `msk` (provisioned), `msk-serverless`, `container` (engine local: brokers in Docker), or `external` (bootstrap servers given here; nothing created). */
            mode: z.enum(KAFKA_MODES).default(local ? "container" : "msk"),
            /** MSK Kafka version. */
            kafkaVersion: z.string().regex(/^\d+\.\d+\.(\d+|x)(\.tiered)?$/, { message: 'must be an MSK Kafka version such as "3.8.x"' }).default("3.8.x"),
            /** Broker count. MSK: a multiple of the private subnets (default one per subnet). Container: 1 or 3 (default 3). */
            brokerCount: z.number().int().min(1).max(30).optional(),
            /** Broker instance type. */
            instanceType: z.string().regex(/^kafka\.[a-z0-9]+\.[a-z0-9]+$/, { message: 'must be an MSK broker type such as "kafka.m7g.large"' }).default("kafka.m7g.large"),
            /** EBS volume per broker, GiB. */
            ebsVolumeGb: z.number().int().min(1).max(16384).default(100),
            /** Ceiling for storage autoscaling, GiB. */
            maxEbsVolumeGb: z.number().int().min(1).max(16384).default(1000),
            /** `default.replication.factor` of the cluster. Default 3 (container mode: the broker count). */
            defaultReplicationFactor: z.number().int().min(1).max(3).optional(),
            /** `min.insync.replicas`: acks=all writes survive the loss of (replication factor - this) brokers. Default 2 (container mode: 1 per broker count 1, 2 per 3). */
            minInsyncReplicas: z.number().int().min(1).max(3).optional(),
            /** Default topic retention, hours. */
            retentionHours: z.number().int().min(1).default(168),
            /** Days broker logs are kept in CloudWatch. */
            brokerLogRetentionDays: z.number().int().min(1).default(14),
            /** external mode: the bootstrap servers, `host:port[,host:port...]` (engine local: as the containers reach them). */
            bootstrapServers: z
                .string()
                .regex(/^[A-Za-z0-9.-]+:\d{1,5}(,[A-Za-z0-9.-]+:\d{1,5})*$/, { message: "must be host:port[,host:port...]" })
                .optional(),
            /** How clients authenticate: `iam` (MSK IAM over TLS) or `none` (plaintext). Default iam; container mode and engine local: none. */
            auth: z.enum(["iam", "none"]).optional(),
            /** external mode with iam auth: the external MSK cluster's ARN, so the consumer's IAM policy names that cluster and its topics only. */
            clusterArn: z
                .string()
                .regex(/^arn:aws[a-z-]*:kafka:[a-z0-9-]+:\d{12}:cluster\/[A-Za-z0-9-]+\/[A-Za-z0-9-]+$/, {
                    message: "must be an MSK cluster ARN such as arn:aws:kafka:eu-west-1:123456789012:cluster/name/uuid",
                })
                .optional(),
            /** Topics the platform creates before the consumer starts. */
            topics: z.array(topicSchema).min(1).default([{ name: "events", partitions: 6 }]),
        })
        .transform((k) => {
            const container = k.mode === "container";
            const brokers = container ? (k.brokerCount ?? 3) : k.brokerCount;
            const rf = k.defaultReplicationFactor ?? (container ? Math.min(3, brokers!) : 3);
            return {
                ...k,
                brokerCount: brokers,
                auth: k.auth ?? (container || local ? ("none" as const) : ("iam" as const)),
                defaultReplicationFactor: rf,
                minInsyncReplicas: k.minInsyncReplicas ?? (container ? Math.max(1, rf - 1) : 2),
            };
        })
        .superRefine((k, ctx) => {
            const issue = (path: string, message: string) => ctx.addIssue({ code: "custom", path: [path], message });
            if (local && (k.mode === "msk" || k.mode === "msk-serverless")) {
                issue(
                    "mode",
                    `cannot be ${k.mode} with engine local: MSK lives in an AWS account, and the local engine runs without one (no AWS resource, no AWS call); use container (brokers on your Docker engine) or external`,
                );
            }
            if (!local && k.mode === "container") {
                issue("mode", `container runs the brokers on the local Docker engine and is only for engine local; with engine ${engine} use msk, msk-serverless or external`);
            }
            if (k.mode === "container" && !(CONTAINER_BROKER_COUNTS as readonly number[]).includes(k.brokerCount!)) {
                issue("brokerCount", `must be 1 or 3 with kafka.mode container (3 gives replication factor 3 and min ISR 2); got ${k.brokerCount}`);
            }
            if ((k.mode === "msk" || k.mode === "msk-serverless") && k.brokerCount !== undefined && k.brokerCount < 2) {
                issue("brokerCount", `must be at least 2 for MSK; got ${k.brokerCount}`);
            }
            if (k.mode === "external" && k.bootstrapServers === undefined) {
                issue("bootstrapServers", "is required when kafka.mode is external");
            }
            if (k.mode !== "external" && k.bootstrapServers !== undefined) {
                issue("bootstrapServers", `is only for kafka.mode external; mode ${k.mode} creates its own brokers`);
            }
            if (local && k.auth === "iam") {
                issue("auth", "must be none with engine local: MSK IAM auth signs with AWS credentials, and the local engine makes no AWS call");
            }
            if (!local && k.mode === "external" && k.auth === "iam" && k.clusterArn === undefined) {
                issue("clusterArn", "is required when kafka.mode is external with auth iam: the consumer's IAM policy is scoped to that cluster");
            }
            if (k.mode !== "external" && k.clusterArn !== undefined) {
                issue("clusterArn", `is only for kafka.mode external; mode ${k.mode} creates its own cluster`);
            }
            if ((k.mode === "msk" || k.mode === "msk-serverless") && k.auth !== "iam") {
                issue("auth", "must be iam for MSK: unauthenticated access stays off");
            }
            if (k.mode === "container" && k.auth !== "none") {
                issue("auth", "must be none with kafka.mode container: the brokers speak plaintext on the stack's private Docker network and the host ports bind to local.bindAddress");
            }
            if (k.minInsyncReplicas > k.defaultReplicationFactor) {
                issue("minInsyncReplicas", `must not exceed kafka.defaultReplicationFactor (${k.defaultReplicationFactor}), or no write could ever be acknowledged`);
            }
            if (k.mode === "container") {
                if (k.defaultReplicationFactor > k.brokerCount!) {
                    issue("defaultReplicationFactor", `must not exceed the ${k.brokerCount} container brokers; got ${k.defaultReplicationFactor}`);
                }
                for (const t of k.topics) {
                    if ((t.replicationFactor ?? k.defaultReplicationFactor) > k.brokerCount!) {
                        issue("topics", `topic "${t.name}" needs ${t.replicationFactor ?? k.defaultReplicationFactor} replicas but there are ${k.brokerCount} container brokers`);
                    }
                }
            }
            if (k.maxEbsVolumeGb < k.ebsVolumeGb) {
                issue("maxEbsVolumeGb", `must be at least kafka.ebsVolumeGb (${k.ebsVolumeGb})`);
            }
            const names = k.topics.map((t) => t.name);
            const dup = names.find((n, i) => names.indexOf(n) !== i);
            if (dup !== undefined) {
                issue("topics", `names topic "${dup}" twice`);
            }
        });
}

export type KafkaConfig = Omit<z.output<ReturnType<typeof kafkaSchema>>, "brokerCount"> & { brokerCount: number };
export type TopicConfig = z.infer<typeof topicSchema>;
