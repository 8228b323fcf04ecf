import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { CLOUDWATCH_RETENTION_DAYS, KafkaConfig, TopicConfig } from "./config";
import { KafkaRefs, NetworkRefs } from "./refs";

// Kafka for the platform, in one of three modes: an MSK provisioned cluster, an MSK Serverless cluster, or
// brokers somebody else runs (nothing created). Whatever the mode, the engines get the same KafkaRefs.
//
// Topics are not created here: the brokers are private, so the consumer image's entrypoint creates the
// configured topics from inside the VPC, idempotently, before the query starts (the `topicsJson` below is its
// KAFKA_TOPICS). The client-port ingress is added by the engines, which own the hosts' security groups
// (`kafkaClientIngress`), so this security group admits nothing but the brokers themselves.

/** MSK's SASL/IAM listener (TLS). */
export const MSK_IAM_PORT = 9098;
/** An external cluster's plaintext listener. */
export const PLAINTEXT_PORT = 9092;
/** MSK's broker listener ports (9092 plaintext .. 9098 SASL/IAM); the brokers may talk to each other on these. */
const BROKER_PORTS = { from: 9092, to: 9098 };
/** Spark's Kafka source names its consumer groups `spark-kafka-source-<uuid>-...` (unless groupIdPrefix is set). */
export const SPARK_GROUP_PREFIX = "spark-kafka-source-";
/** Storage autoscaling grows a broker's volume when its disk is this full, percent. */
const STORAGE_TARGET_PERCENT = 60;
/** The retention periods CloudWatch Logs accepts, days. */
export const LOG_RETENTION_DAYS: readonly number[] = CLOUDWATCH_RETENTION_DAYS;
/** MSK Serverless replicates every partition three ways; topics cannot ask for anything else. */
const SERVERLESS_REPLICATION_FACTOR = 3;

export interface KafkaArgs {
    /** Validated kafka config (mode, brokers, topics); decides which resources exist. */
    readonly config: KafkaConfig;
    /** Where the brokers live: the private subnets (their count is checked against the broker count). */
    readonly network: NetworkRefs;
    /** The platform's KMS key; MSK provisioned encrypts broker storage with it (Serverless always uses an AWS-owned key). */
    readonly kmsKeyArn: pulumi.Input<string>;
    /** The consumer group the consumer commits its progress to (observability.consumerGroup); its role may alter that group. */
    readonly consumerGroup?: string;
}

/** One topic as the consumer image's entrypoint creates it (KAFKA_TOPICS). Keys in sorted order. */
export interface TopicSpec {
    readonly name: string;
    readonly partitions: number;
    readonly replicationFactor: number;
    readonly retentionMs: number;
}

/** Throws if the config cannot give a working cluster over `privateSubnetCount` subnets; says what to change. */
export function validateKafka(config: KafkaConfig, privateSubnetCount: number): void {
    if (config.mode === "container") {
        throw new Error("kafka.mode container runs the brokers on the local Docker engine (engine local, components/local/kafka.ts); this AWS component serves msk, msk-serverless and external");
    }
    if (config.mode === "msk") {
        if (privateSubnetCount < 2 || privateSubnetCount > 3) {
            throw new Error(
                `kafka.mode msk spreads brokers over 2 or 3 availability zones, but the network has ${privateSubnetCount} private subnets; set network.azCount (or network.privateSubnetIds) to 2 or 3`,
            );
        }
        if (config.brokerCount % privateSubnetCount !== 0) {
            throw new Error(`kafka.brokerCount must be a multiple of the ${privateSubnetCount} private subnets; got ${config.brokerCount}`);
        }
        if (!LOG_RETENTION_DAYS.includes(config.brokerLogRetentionDays)) {
            throw new Error(`kafka.brokerLogRetentionDays must be one of CloudWatch's retention periods (${LOG_RETENTION_DAYS.join(", ")}); got ${config.brokerLogRetentionDays}`);
        }
        for (const t of config.topics) {
            const rf = t.replicationFactor ?? config.defaultReplicationFactor;
            if (rf > config.brokerCount) {
                throw new Error(`kafka.topics["${t.name}"] needs ${rf} replicas but the cluster has ${config.brokerCount} brokers; lower its replicationFactor or add brokers`);
            }
        }
    }
    if (config.mode === "msk-serverless") {
        if (privateSubnetCount < 2 || privateSubnetCount > 5) {
            throw new Error(`kafka.mode msk-serverless needs 2 to 5 private subnets; got ${privateSubnetCount}; set network.azCount between 2 and 5`);
        }
        for (const t of config.topics) {
            if (t.replicationFactor !== undefined && t.replicationFactor !== SERVERLESS_REPLICATION_FACTOR) {
                throw new Error(`kafka.topics["${t.name}"].replicationFactor must be left unset (or 3) with kafka.mode msk-serverless, which always keeps 3 replicas; got ${t.replicationFactor}`);
            }
        }
    }
    if (config.mode === "external") {
        if (config.bootstrapServers === undefined) {
            throw new Error("kafka.bootstrapServers is required when kafka.mode is external: give the brokers as host:port[,host:port...]");
        }
        if (config.auth === "iam" && config.clusterArn === undefined) {
            throw new Error("kafka.clusterArn is required when kafka.mode is external with auth iam, so the consumer's IAM policy names that cluster only; set it, or set kafka.auth to none for a plaintext cluster");
        }
    } else if (config.auth !== "iam") {
        throw new Error(`kafka.auth must be iam for kafka.mode ${config.mode}: unauthenticated access stays off`);
    }
}

/** The brokers' server.properties: one `key=value` per line, sorted, so an unchanged config never shows a diff. */
export function serverProperties(config: KafkaConfig): string {
    const props: Record<string, string> = {
        // Topics exist because config declares them, never because a client misspelt a name.
        "auto.create.topics.enable": "false",
        "default.replication.factor": String(config.defaultReplicationFactor),
        "log.retention.hours": String(config.retentionHours),
        "min.insync.replicas": String(config.minInsyncReplicas),
        // An out-of-sync replica never becomes leader: no acknowledged write is silently lost.
        "unclean.leader.election.enable": "false",
    };
    return (
        Object.keys(props)
            .sort()
            .map((k) => `${k}=${props[k]}`)
            .join("\n") + "\n"
    );
}

/** The configured topics with every default resolved, as the entrypoint creates them. */
export function topicSpecs(config: KafkaConfig): TopicSpec[] {
    return config.topics.map((t: TopicConfig) => ({
        name: t.name,
        partitions: t.partitions,
        replicationFactor: config.mode === "msk-serverless" ? SERVERLESS_REPLICATION_FACTOR : (t.replicationFactor ?? config.defaultReplicationFactor),
        retentionMs: (t.retentionHours ?? config.retentionHours) * 3_600_000,
    }));
}

/** KAFKA_TOPICS for the consumer image: a JSON list of TopicSpec, keys in a fixed order. */
export function topicsJson(config: KafkaConfig): string {
    return JSON.stringify(topicSpecs(config).map((t) => ({ name: t.name, partitions: t.partitions, replicationFactor: t.replicationFactor, retentionMs: t.retentionMs })));
}

const clusterArnPattern = /^(arn:[a-z-]+:kafka:[a-z0-9-]+:\d{12}):cluster\/([^/]+)\/([^/]+)$/;

/**
 * The ARN of a topic or group of an MSK cluster: cluster ARN `arn:...:cluster/NAME/UUID` gives
 * `arn:...:topic/NAME/UUID/<name>` (MSK IAM's resource format).
 */
export function clusterResourceArn(clusterArn: string, kind: "topic" | "group", name: string): string {
    const m = clusterArnPattern.exec(clusterArn);
    if (!m) {
        throw new Error(`"${clusterArn}" is not an MSK cluster ARN (arn:aws:kafka:REGION:ACCOUNT:cluster/NAME/UUID)`);
    }
    return `${m[1]}:${kind}/${m[2]}/${m[3]}/${name}`;
}

/**
 * The consumer's IAM policy: connect to this cluster, read (and create, for the entrypoint) the configured topics,
 * and use Spark's own consumer groups. Every statement names its ARNs; nothing else is allowed.
 */
export function consumerPolicyDocument(clusterArn: string, topics: readonly string[], consumerGroup?: string): string {
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [
            {
                // Open an IAM-authenticated connection to this one cluster and read its metadata.
                Sid: "ConnectToCluster",
                Effect: "Allow",
                Action: ["kafka-cluster:Connect", "kafka-cluster:DescribeCluster"],
                Resource: [clusterArn],
            },
            {
                // Read the configured topics, and create them if missing (the entrypoint's --ensure-topics).
                Sid: "ReadAndCreateConfiguredTopics",
                Effect: "Allow",
                Action: ["kafka-cluster:CreateTopic", "kafka-cluster:DescribeTopic", "kafka-cluster:ReadData"],
                Resource: [...topics].sort().map((t) => clusterResourceArn(clusterArn, "topic", t)),
            },
            {
                // Spark's Kafka source uses consumer groups it names itself (spark-kafka-source-*), and no others.
                Sid: "UseSparkConsumerGroups",
                Effect: "Allow",
                Action: ["kafka-cluster:AlterGroup", "kafka-cluster:DescribeGroup"],
                Resource: [clusterResourceArn(clusterArn, "group", `${SPARK_GROUP_PREFIX}*`)],
            },
            ...(consumerGroup === undefined
                ? []
                : [
                      {
                          // Commit each batch's end offsets to the monitoring group (observability), that one group only.
                          Sid: "CommitProgressToMonitoringGroup",
                          Effect: "Allow",
                          Action: ["kafka-cluster:AlterGroup", "kafka-cluster:DescribeGroup"],
                          Resource: [clusterResourceArn(clusterArn, "group", consumerGroup)],
                      },
                  ]),
        ],
    });
}

/** A name unique per project and stack that MSK accepts for a configuration (letters, digits, '-'). */
function stackScopedName(name: string): string {
    return `${pulumi.getProject()}-${pulumi.getStack()}-${name}`.replace(/[^0-9A-Za-z-]/g, "-");
}

/**
 * The rule that lets a Spark host's security group reach the brokers' client port. Engines call it with their
 * hosts' group (they own it); undefined for external Kafka, whose security groups are not ours.
 */
export function kafkaClientIngress(
    name: string,
    kafka: KafkaRefs,
    clientSecurityGroupId: pulumi.Input<string>,
    opts: pulumi.CustomResourceOptions = {},
): aws.vpc.SecurityGroupIngressRule | undefined {
    if (kafka.securityGroupId === undefined) {
        return undefined;
    }
    return new aws.vpc.SecurityGroupIngressRule(
        name,
        {
            securityGroupId: kafka.securityGroupId,
            referencedSecurityGroupId: clientSecurityGroupId,
            ipProtocol: "tcp",
            fromPort: kafka.clientPort,
            toPort: kafka.clientPort,
            description: `Kafka clients (${kafka.authMode === "iam" ? "SASL/IAM over TLS" : "plaintext"}) from the Spark hosts`,
        },
        opts,
    );
}

export class Kafka extends pulumi.ComponentResource implements KafkaRefs {
    public readonly bootstrapBrokers: pulumi.Output<string>;
    public readonly authMode: "iam" | "none";
    public readonly clientPort: number;
    public readonly securityGroupId: pulumi.Output<string> | undefined;
    public readonly consumerPolicyJson: pulumi.Output<string> | undefined;
    /** The cluster's ARN: the one created, or for external Kafka the configured `kafka.clusterArn` (if any). */
    public readonly clusterArn: pulumi.Output<string> | undefined;
    /** The configured topics; the consumer reads one of them. */
    public readonly topics: TopicConfig[];
    /** KAFKA_TOPICS for the consumer image: the topics it creates (if missing) before the query starts. */
    public readonly topicsJson: string;

    constructor(name: string, args: KafkaArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("spark-streaming:kafka:Kafka", name, {}, opts);
        const { config, network } = args;
        validateKafka(config, network.privateSubnetCount);

        this.authMode = config.auth;
        this.clientPort = config.auth === "iam" ? MSK_IAM_PORT : PLAINTEXT_PORT;
        this.topics = config.topics;
        this.topicsJson = topicsJson(config);
        const topicNames = config.topics.map((t) => t.name);

        if (config.mode === "external") {
            this.bootstrapBrokers = pulumi.output(config.bootstrapServers!);
            this.securityGroupId = undefined;
            this.clusterArn = config.clusterArn === undefined ? undefined : pulumi.output(config.clusterArn);
            this.consumerPolicyJson =
                config.auth === "iam" && config.clusterArn !== undefined ? pulumi.output(consumerPolicyDocument(config.clusterArn, topicNames, args.consumerGroup)) : undefined;
        } else {
            const sg = new aws.ec2.SecurityGroup(
                `${name}-brokers`,
                {
                    vpcId: network.vpcId,
                    description: "Kafka brokers: clients only from the Spark hosts' groups, brokers from each other",
                },
                { parent: this },
            );
            // Broker-to-broker traffic: only this group, only the Kafka listener ports. No CIDR rule at all.
            new aws.vpc.SecurityGroupIngressRule(
                `${name}-brokers-from-brokers`,
                {
                    securityGroupId: sg.id,
                    referencedSecurityGroupId: sg.id,
                    ipProtocol: "tcp",
                    fromPort: BROKER_PORTS.from,
                    toPort: BROKER_PORTS.to,
                    description: "Kafka brokers from each other",
                },
                { parent: this },
            );
            new aws.vpc.SecurityGroupEgressRule(
                `${name}-brokers-to-brokers`,
                {
                    securityGroupId: sg.id,
                    referencedSecurityGroupId: sg.id,
                    ipProtocol: "tcp",
                    fromPort: BROKER_PORTS.from,
                    toPort: BROKER_PORTS.to,
                    description: "Kafka brokers to each other",
                },
                { parent: this },
            );
            this.securityGroupId = sg.id;

            let clusterArn: pulumi.Output<string>;
            if (config.mode === "msk") {
                const cluster = this.provisioned(name, config, network, args.kmsKeyArn, sg.id);
                clusterArn = cluster.arn;
                this.bootstrapBrokers = cluster.bootstrapBrokersSaslIam;
            } else {
                const cluster = new aws.msk.ServerlessCluster(
                    `${name}-serverless`,
                    {
                        clientAuthentication: { sasl: { iam: { enabled: true } } },
                        vpcConfigs: [{ subnetIds: network.privateSubnetIds, securityGroupIds: [sg.id] }],
                    },
                    { parent: this },
                );
                clusterArn = cluster.arn;
                this.bootstrapBrokers = cluster.bootstrapBrokersSaslIam;
            }
            this.clusterArn = clusterArn;
            this.consumerPolicyJson = clusterArn.apply((arn) => consumerPolicyDocument(arn, topicNames, args.consumerGroup));
        }

        this.registerOutputs({
            bootstrapBrokers: this.bootstrapBrokers,
            clusterArn: this.clusterArn,
            securityGroupId: this.securityGroupId,
            consumerPolicyJson: this.consumerPolicyJson,
        });
    }

    private provisioned(
        name: string,
        config: KafkaConfig,
        network: NetworkRefs,
        kmsKeyArn: pulumi.Input<string>,
        securityGroupId: pulumi.Output<string>,
    ): aws.msk.Cluster {
        // A fixed name and no kafkaVersions: the only inputs that replace a configuration. A changed
        // serverProperties is an in-place update that adds a revision, and the cluster moves to it in place.
        const brokerConfig = new aws.msk.Configuration(
            `${name}-config`,
            {
                name: stackScopedName(name),
                description: "Safe broker defaults for the streaming platform: no topic auto-creation, no unclean leader election",
                serverProperties: serverProperties(config),
            },
            { parent: this },
        );
        const logGroup = new aws.cloudwatch.LogGroup(
            `${name}-broker-logs`,
            { name: `/aws/msk/${stackScopedName(name)}`, retentionInDays: config.brokerLogRetentionDays },
            { parent: this },
        );
        const cluster = new aws.msk.Cluster(
            `${name}-cluster`,
            {
                kafkaVersion: config.kafkaVersion,
                numberOfBrokerNodes: config.brokerCount,
                brokerNodeGroupInfo: {
                    instanceType: config.instanceType,
                    clientSubnets: network.privateSubnetIds,
                    securityGroups: [securityGroupId],
                    storageInfo: { ebsStorageInfo: { volumeSize: config.ebsVolumeGb } },
                    connectivityInfo: { publicAccess: { type: "DISABLED" } },
                },
                configurationInfo: { arn: brokerConfig.arn, revision: brokerConfig.latestRevision },
                encryptionInfo: {
                    encryptionAtRestKmsKeyArn: kmsKeyArn,
                    encryptionInTransit: { clientBroker: "TLS", inCluster: true },
                },
                clientAuthentication: { sasl: { iam: true, scram: false }, unauthenticated: false },
                loggingInfo: { brokerLogs: { cloudwatchLogs: { enabled: true, logGroup: logGroup.name } } },
                openMonitoring: {
                    prometheus: { jmxExporter: { enabledInBroker: true }, nodeExporter: { enabledInBroker: true } },
                },
            },
            {
                parent: this,
                // Storage autoscaling grows the volumes; the program must not shrink them back to the configured size.
                ignoreChanges: ["brokerNodeGroupInfo.storageInfo.ebsStorageInfo.volumeSize"],
            },
        );
        const scaling = new aws.appautoscaling.Target(
            `${name}-storage-scaling`,
            {
                serviceNamespace: "kafka",
                scalableDimension: "kafka:broker-storage:VolumeSize",
                resourceId: cluster.arn,
                minCapacity: 1,
                maxCapacity: config.maxEbsVolumeGb,
            },
            { parent: this },
        );
        new aws.appautoscaling.Policy(
            `${name}-storage-target-tracking`,
            {
                policyType: "TargetTrackingScaling",
                serviceNamespace: scaling.serviceNamespace,
                scalableDimension: scaling.scalableDimension,
                resourceId: scaling.resourceId,
                targetTrackingScalingPolicyConfiguration: {
                    predefinedMetricSpecification: { predefinedMetricType: "KafkaBrokerStorageUtilization" },
                    targetValue: STORAGE_TARGET_PERCENT,
                    // MSK cannot shrink a volume.
                    disableScaleIn: true,
                },
            },
            { parent: this },
        );
        return cluster;
    }
}

/**
 * The host side of the same path: a Spark host's group may send to the brokers' client port only. MSK: to the
 * brokers' security group. External Kafka: its brokers can be anywhere, so to any address, but on that one TCP port.
 */
export function kafkaClientEgress(
    name: string,
    kafka: KafkaRefs,
    clientSecurityGroupId: pulumi.Input<string>,
    opts: pulumi.CustomResourceOptions = {},
): aws.vpc.SecurityGroupEgressRule {
    const destination = kafka.securityGroupId !== undefined ? { referencedSecurityGroupId: kafka.securityGroupId } : { cidrIpv4: "0.0.0.0/0" };
    return new aws.vpc.SecurityGroupEgressRule(
        name,
        {
            securityGroupId: clientSecurityGroupId,
            ...destination,
            ipProtocol: "tcp",
            fromPort: kafka.clientPort,
            toPort: kafka.clientPort,
            description: `Kafka brokers' client port (${kafka.authMode === "iam" ? "SASL/IAM over TLS" : "plaintext"})`,
        },
        opts,
    );
}
