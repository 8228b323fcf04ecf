import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { LocalConfig, localHostPorts, localPortClashes, localSchema } from "./localConfig";
import { monitoringPortClashes, ObservabilityConfig, observabilitySchema, resolveObservability } from "./observabilityConfig";

export type { LocalConfig } from "./localConfig";
export type { ObservabilityConfig } from "./observabilityConfig";
export { localHostPorts } from "./localConfig";
import { DEFAULT_KUBERNETES_VERSION, KUBERNETES_VERSIONS } from "./kubernetes/versions";

// The one place that reads and validates stack config. Components receive the plain, typed, defaulted objects
// returned by `loadPlatformConfig` and never read `pulumi.Config` themselves, so a bad value fails here, before
// any resource is declared, with a message that names the key, the value given and what is allowed.

/** Where Spark runs. */
export const ENGINES = ["emr", "ec2", "kubernetes", "local"] as const;
export type Engine = (typeof ENGINES)[number];

const cidrPattern = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

/** True for an IPv4 CIDR block such as `10.0.0.0/16` (each octet 0-255, prefix 0-32). */
export function isIpv4Cidr(value: string): boolean {
    const m = cidrPattern.exec(value);
    if (!m) {
        return false;
    }
    const octets = m.slice(1, 5).map(Number);
    return octets.every((o) => o >= 0 && o <= 255) && Number(m[5]) <= 32;
}

const cidr = z.string().refine(isIpv4Cidr, { message: "must be an IPv4 CIDR block such as 10.0.0.0/16" });

/** A CIDR that admits a UI port. The whole internet is refused: UIs are private unless someone names who may reach them. */
const allowedCidr = cidr.refine((c) => !c.endsWith("/0"), {
    message: "must not open the UIs to the whole internet (a /0 block); list your office or VPN ranges, or leave the list empty and use the SSM tunnels",
});

/** Kafka topic names as Kafka itself allows them. */
const topicName = z
    .string()
    .regex(/^[a-zA-Z0-9._-]{1,249}$/, { message: "must be 1-249 characters of letters, digits, '.', '_' or '-'" });

/** Spark's own interval syntax for processing-time triggers, e.g. "30 seconds", "1 minute". */
const triggerInterval = z
    .string()
    .regex(/^\d+ (second|seconds|minute|minutes|hour|hours)$/, {
        message: 'must be "<number> seconds|minutes|hours", e.g. "30 seconds"',
    });

/** Names that end up in S3 prefixes, DNS labels and resource names. */
const dnsLabel = z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,30}[a-z0-9]$/, { message: "must be 2-32 lowercase letters, digits or '-', starting with a letter" });

/** The retention periods CloudWatch Logs accepts, days. */
export const CLOUDWATCH_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;

const cloudwatchRetention = z
    .number()
    .int()
    .refine((d) => (CLOUDWATCH_RETENTION_DAYS as readonly number[]).includes(d), {
        message: `must be one of CloudWatch Logs' retention periods (${CLOUDWATCH_RETENTION_DAYS.join(", ")})`,
    });

const instanceType = z.string().regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, { message: "must be an EC2 instance type such as m6i.large" });

const networkSchema = z
    .strictObject({
        /** CIDR of the VPC the program creates. */
        cidr: cidr.default("10.0.0.0/16"),
        /** How many availability zones the created VPC spans (one public and one private subnet each). */
        azCount: z.number().int().min(2).max(6).default(3),
        /** NAT for the private subnets: one shared gateway (cheap), one per AZ (survives an AZ outage), or none. */
        natGateways: z.enum(["single", "perAz", "none"]).default("single"),
        /** Interface endpoints for SSM (ssm, ssmmessages, ec2messages) so private hosts are reachable without SSH or a bastion. */
        ssmEndpoints: z.boolean().default(true),
        /** Use an existing VPC instead of creating one: its id ... */
        vpcId: z.string().regex(/^vpc-[0-9a-f]+$/, { message: "must be a VPC id such as vpc-0abc123" }).optional(),
        /** ... its private subnets (hosts, brokers) ... */
        privateSubnetIds: z.array(z.string().regex(/^subnet-[0-9a-f]+$/, { message: "must be a subnet id such as subnet-0abc123" })).optional(),
        /** ... and the CIDR of the existing VPC, for the security group rules between the parts. */
        vpcCidr: cidr.optional(),
        /** Days the created VPC's flow logs are kept in CloudWatch Logs (encrypted with their own KMS key). */
        flowLogRetentionDays: cloudwatchRetention.default(90),
    })
    .superRefine((n, ctx) => {
        const existing = [n.vpcId, n.privateSubnetIds, n.vpcCidr].filter((v) => v !== undefined).length;
        if (existing > 0 && existing < 3) {
            ctx.addIssue({
                code: "custom",
                path: ["vpcId"],
                message: "an existing VPC needs all of vpcId, privateSubnetIds and vpcCidr",
            });
        }
        if (n.privateSubnetIds !== undefined && n.privateSubnetIds.length < 2) {
            ctx.addIssue({
                code: "custom",
                path: ["privateSubnetIds"],
                message: "must list at least 2 private subnets in different AZs",
            });
        }
    });

const accessSchema = z.strictObject({
    /** CIDRs allowed to reach the Spark/YARN/history UIs directly. Empty: UIs only through SSM port forwarding. */
    allowedCidrs: z.array(allowedCidr).default([]),
});

const dataLakeSchema = z
    .strictObject({
        /** Let `pulumi destroy` delete a non-empty bucket. Only for disposable (dev) stacks. */
        forceDestroy: z.boolean().default(false),
        /** Protect the bucket and its key from deletion and retain them on destroy. On unless the stack is disposable. */
        protect: z.boolean().optional(),
        /** Days after which overwritten or deleted object versions expire. */
        noncurrentVersionExpirationDays: z.number().int().min(1).default(30),
        /** Days after which incomplete multipart uploads are aborted. */
        abortIncompleteMultipartUploadDays: z.number().int().min(1).default(7),
        /** Move `data/` to a colder storage class after this many days; unset keeps it in STANDARD. */
        dataTransitionDays: z.number().int().min(30).optional(),
        /** The colder storage class for `data/`. */
        dataTransitionStorageClass: z.enum(["STANDARD_IA", "INTELLIGENT_TIERING", "GLACIER_IR"]).default("INTELLIGENT_TIERING"),
        /** Days the dead letters are kept. Unset: kept until someone deals with them. */
        deadLetterExpirationDays: z.number().int().min(1).optional(),
        /** Days the EMR and Spark logs under `logs/` are kept. */
        logExpirationDays: z.number().int().min(1).default(90),
        /** Days the S3 server access logs of the bucket are kept in the separate access-log bucket. */
        accessLogExpirationDays: z.number().int().min(1).default(365),
    })
    .transform((d) => ({ ...d, protect: d.protect ?? !d.forceDestroy }))
    .superRefine((d, ctx) => {
        if (d.forceDestroy && d.protect) {
            ctx.addIssue({
                code: "custom",
                path: ["protect"],
                message: "cannot be true together with dataLake.forceDestroy: a protected bucket is never deleted; pick one",
            });
        }
    });

const topicSchema = z.strictObject({
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
function kafkaSchema(engine: Engine) {
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

const consumerSchema = z.strictObject({
    /** The consumer's name: its checkpoint is `checkpoints/<name>/`. Never change it on a running stack: a new checkpoint re-reads the topic. */
    name: dnsLabel.default("events-consumer"),
    /** Topic the consumer reads; must be one of `kafka.topics`. Default: the first of them. */
    topic: topicName.optional(),
    /** Processing-time trigger. */
    triggerInterval: triggerInterval.default("30 seconds"),
    /** Upper bound of records per micro-batch, so a backlog is worked off in bounded batches. */
    maxOffsetsPerTrigger: z.number().int().min(1).default(500000),
    /** Where a brand-new checkpoint starts reading. */
    startingOffsets: z.enum(["earliest", "latest"]).default("earliest"),
    /**
     * Seconds a stopping consumer may take to let its running micro-batch commit (SIGTERM); after that it aborts,
     * which the checkpoint makes safe. Every engine's stop timeout is at least this (consumerStopTimeoutSeconds).
     */
    stopGracePeriodSeconds: z.number().int().min(10).max(3600).default(120),
    /** Extra Spark settings for the consumer (`--conf key=value`). */
    sparkConf: z.record(z.string().regex(/^spark\.[A-Za-z0-9._-]+$/, { message: "must be a Spark setting starting with spark." }), z.string()).default({}),
});

/** Spark 3.5 ships with EMR 7.x; the job is pinned to that line. */
const emrSchema = z.strictObject({
    /** EMR release; a 7.x release (Spark 3.5). */
    releaseLabel: z.string().regex(/^emr-7\.\d+\.\d+$/, { message: 'must be an EMR 7.x release such as "emr-7.12.0" (Spark 3.5)' }).default("emr-7.12.0"),
    masterInstanceType: instanceType.default("m7g.xlarge"),
    coreInstanceType: instanceType.default("m7g.xlarge"),
    coreInstanceCount: z.number().int().min(1).max(50).default(2),
    /** Task group on spot; 0 = no task group. */
    taskInstanceCount: z.number().int().min(0).max(100).default(0),
    taskInstanceType: instanceType.default("m7g.xlarge"),
    /** Spot bid for each task instance, USD per hour (e.g. "0.20"); required when taskInstanceCount > 0 (EMR instance groups go on spot only with a bid). */
    taskBidPrice: z.string().regex(/^\d+(\.\d{1,4})?$/, { message: 'must be a price in USD per hour such as "0.20"' }).optional(),
    /** EBS gp3 volume per instance, GiB. */
    ebsVolumeGb: z.number().int().min(32).max(2048).default(64),
    /** Managed scaling bounds, in instances. */
    minCapacity: z.number().int().min(1).default(2),
    maxCapacity: z.number().int().min(1).default(6),
    /** Steps that may run at once; above 1 so the never-ending consumer step does not block others. */
    stepConcurrency: z.number().int().min(2).max(256).default(5),
    /** Termination protection; default on where the data lake is protected. */
    terminationProtection: z.boolean().optional(),
    /** YARN attempts for the consumer driver before the step fails, within `driverAttemptsValidity`. */
    driverMaxAttempts: z.number().int().min(1).max(20).default(4),
    /** Window in which driver failures count towards `driverMaxAttempts`, e.g. "1h". */
    driverAttemptsValidity: z.string().regex(/^\d+[smh]$/, { message: 'must be a duration such as "1h" or "30m"' }).default("1h"),
});

/**
 * Keys, certificates and secrets the stack generates (Spark's shared secret on ec2, the TLS certificates of both
 * engines). They live in the stack's state as secrets and never change on their own: a preview a year later shows
 * no change. Renewing is a config change: bump a rotation counter.
 */
const securitySchema = z.strictObject({
    /** Validity of the generated certificates (EMR in-transit TLS, the ec2 engine's UI TLS), days. */
    certificateValidityDays: z.number().int().min(30).max(3650).default(365),
    /** Bump to issue new TLS keys and certificates. On emr this replaces the security configuration and the cluster. */
    certificateRotation: z.number().int().min(0).default(0),
    /** Bump to generate a new spark.authenticate secret (ec2): every Spark process restarts with it. */
    sparkSecretRotation: z.number().int().min(0).default(0),
});

/** The image is built for linux/amd64, so the hosts that run it must be x86 (no Graviton `g` families). */
const amd64InstanceType = instanceType.refine((t) => !/^[a-z]+\d+[a-z]*g[a-z]*\./.test(t), {
    message: "must be an x86_64 type: the consumer image is built for linux/amd64 (Graviton 'g' types cannot run it)",
});

const ec2Schema = z
    .strictObject({
        masterInstanceType: amd64InstanceType.default("m6i.large"),
        workerInstanceType: amd64InstanceType.default("m6i.xlarge"),
        workerMin: z.number().int().min(0).max(100).default(1),
        workerDesired: z.number().int().min(0).max(100).default(2),
        workerMax: z.number().int().min(1).max(100).default(4),
        /** Average CPU the worker group's target tracking aims for, percent. */
        cpuTargetPercent: z.number().min(10).max(90).default(60),
        rootVolumeGb: z.number().int().min(20).max(1024).default(50),
        /** Private hosted zone in which the master gets a stable name. */
        privateDomain: z
            .string()
            .regex(/^[a-z0-9-]+(\.[a-z0-9-]+)*$/, { message: 'must be a DNS domain such as "spark.internal"' })
            .default("spark.internal"),
    })
    .superRefine((e, ctx) => {
        if (!(e.workerMin <= e.workerDesired && e.workerDesired <= e.workerMax)) {
            ctx.addIssue({
                code: "custom",
                path: ["workerDesired"],
                message: `must satisfy workerMin <= workerDesired <= workerMax; got ${e.workerMin} <= ${e.workerDesired} <= ${e.workerMax}`,
            });
        }
    });

/** A Kubernetes object name (RFC 1123 label): namespaces and service accounts. */
const kubernetesName = z
    .string()
    .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, { message: "must be a Kubernetes name: 1-63 lowercase letters, digits or '-', starting and ending with a letter or digit" });

/** Spark's memory syntax for driver and executor heaps, e.g. "2g", "512m". */
const sparkMemory = z.string().regex(/^[1-9]\d*[mg]$/, { message: 'must be a Spark memory size such as "512m" or "4g"' });

const iamPrincipalArn = z
    .string()
    .regex(/^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/[\w+=,.@/-]+$/, { message: "must be an IAM role or user ARN (arn:aws:iam::ACCOUNT:role/NAME)" });

/** An existing cluster: how to reach it (the kubeconfig itself is the secret top-level key `kubeconfig`) and its identity. */
const existingClusterSchema = z.strictObject({
    /** The kubeconfig context to use (the kubeconfig may hold several). */
    context: z.string().min(1, { message: "must name a context of the kubeconfig" }),
    /** The cluster's IAM OIDC provider: the consumer's IAM role trusts tokens from this issuer only (IRSA). */
    oidcProviderArn: z
        .string()
        .regex(/^arn:aws[a-z-]*:iam::\d{12}:oidc-provider\/[^\s]+$/, { message: "must be an IAM OIDC provider ARN (arn:aws:iam::ACCOUNT:oidc-provider/ISSUER)" }),
    /** The nodes' security group; MSK admits the consumer's pods through it. Required with MSK. */
    nodeSecurityGroupId: z.string().regex(/^sg-[0-9a-f]+$/, { message: "must be a security group id such as sg-0abc123" }).optional(),
    /** The cluster's name in outputs and tunnel commands. Default: the context. */
    clusterName: z.string().min(1).optional(),
});

/** Engine `kubernetes`: EKS created by the stack, or an existing cluster; the operator; the consumer's resources. */
const kubernetesSchema = z
    .strictObject({
        /** `eks`: the stack creates an EKS cluster; `existing`: a cluster given by the secret `kubeconfig` and `kubernetes.existing`. */
        cluster: z.enum(["eks", "existing"]).default("eks"),
        /** Kubernetes version of the EKS cluster; one of the versions whose add-ons are pinned (components/kubernetes/versions.ts). */
        version: z
            .string()
            .refine((v) => Object.keys(KUBERNETES_VERSIONS).includes(v), {
                message: `must be one of ${Object.keys(KUBERNETES_VERSIONS).join(", ")} (the versions whose EKS add-ons are pinned in components/kubernetes/versions.ts)`,
            })
            .default(DEFAULT_KUBERNETES_VERSION),
        /** Namespace of the consumer (the operator watches only this one). */
        namespace: kubernetesName.default("spark-streaming"),
        /** The consumer's service account (driver and executors), bound to its IAM role (IRSA). */
        serviceAccount: kubernetesName.default("streaming-consumer"),
        /** Install the Spark Operator (Helm chart 2.5.2). Default: on with `eks`, off with `existing` (the cluster's own operator must watch the namespace). */
        installOperator: z.boolean().optional(),
        /** Namespace of the operator. */
        operatorNamespace: kubernetesName.default("spark-operator"),
        /** EKS node group instance type; x86_64 (the image is linux/amd64). */
        nodeInstanceType: instanceType
            .refine((t) => !/^[a-z]+\d+[a-z]*g[a-z]*\./.test(t), {
                message: "must be an x86_64 type: the consumer image is built for linux/amd64 (Graviton 'g' types cannot run it)",
            })
            .default("m6i.xlarge"),
        nodeMin: z.number().int().min(1).max(100).default(2),
        nodeDesired: z.number().int().min(1).max(100).default(2),
        nodeMax: z.number().int().min(1).max(100).default(4),
        /** Root volume of each node (images, emptyDir scratch space), GiB. */
        nodeVolumeGb: z.number().int().min(20).max(1024).default(50),
        /** IAM principals that get cluster admin through EKS access entries, besides whoever creates the cluster. */
        adminPrincipalArns: z.array(iamPrincipalArn).default([]),
        /** Days the EKS control-plane logs are kept. Default: network.flowLogRetentionDays (both are audit trails). */
        logRetentionDays: cloudwatchRetention.optional(),
        /** The driver pod: Spark cores and heap. */
        driver: z.strictObject({ cores: z.number().int().min(1).max(16).default(1), memory: sparkMemory.default("2g") }).default({ cores: 1, memory: "2g" }),
        /** The executor pods: how many, and each one's Spark cores and heap. */
        executor: z
            .strictObject({
                instances: z.number().int().min(1).max(100).default(2),
                cores: z.number().int().min(1).max(16).default(2),
                memory: sparkMemory.default("4g"),
            })
            .default({ instances: 2, cores: 2, memory: "4g" }),
        /** cluster `existing`: its context, OIDC provider and node security group. */
        existing: existingClusterSchema.optional(),
    })
    .superRefine((k, ctx) => {
        if (k.cluster === "existing" && k.existing === undefined) {
            ctx.addIssue({ code: "custom", path: ["existing"], message: "is required when kubernetes.cluster is existing: give its context and oidcProviderArn" });
        }
        if (k.cluster === "eks" && k.existing !== undefined) {
            ctx.addIssue({ code: "custom", path: ["existing"], message: "is only for kubernetes.cluster existing; cluster eks creates its own" });
        }
        if (!(k.nodeMin <= k.nodeDesired && k.nodeDesired <= k.nodeMax)) {
            ctx.addIssue({ code: "custom", path: ["nodeDesired"], message: `must satisfy nodeMin <= nodeDesired <= nodeMax; got ${k.nodeMin} <= ${k.nodeDesired} <= ${k.nodeMax}` });
        }
    });

export type NetworkConfig = z.infer<typeof networkSchema>;
export type AccessConfig = z.infer<typeof accessSchema>;
export type DataLakeConfig = z.infer<typeof dataLakeSchema>;
export type KafkaConfig = Omit<z.output<ReturnType<typeof kafkaSchema>>, "brokerCount"> & { brokerCount: number };
export type TopicConfig = z.infer<typeof topicSchema>;
export type ConsumerConfig = Omit<z.infer<typeof consumerSchema>, "topic"> & { topic: string };
export type EmrConfig = Omit<z.infer<typeof emrSchema>, "terminationProtection"> & { terminationProtection: boolean };
export type Ec2Config = z.infer<typeof ec2Schema>;
export type SecurityConfig = z.infer<typeof securitySchema>;
export type KubernetesConfig = Omit<z.infer<typeof kubernetesSchema>, "installOperator" | "logRetentionDays"> & {
    installOperator: boolean;
    logRetentionDays: number;
};

/** Everything the program needs, validated and with every default filled in. */
export interface PlatformConfig {
    readonly project: string;
    readonly stack: string;
    readonly engine: Engine;
    readonly network: NetworkConfig;
    readonly access: AccessConfig;
    readonly dataLake: DataLakeConfig;
    readonly kafka: KafkaConfig;
    readonly consumer: ConsumerConfig;
    readonly emr: EmrConfig;
    readonly ec2: Ec2Config;
    readonly security: SecurityConfig;
    readonly local: LocalConfig;
    readonly kubernetes: KubernetesConfig;
    readonly observability: ObservabilityConfig;
    /** engine kubernetes with cluster existing: the secret kubeconfig (top-level key `kubeconfig`, set with --secret). */
    readonly kubeconfig?: pulumi.Output<string>;
}

/** The raw values as the stack gives them: scalars as strings, objects as parsed JSON. */
export interface RawConfig {
    readonly engine?: string;
    readonly network?: unknown;
    readonly access?: unknown;
    readonly dataLake?: unknown;
    readonly kafka?: unknown;
    readonly consumer?: unknown;
    readonly emr?: unknown;
    readonly ec2?: unknown;
    readonly security?: unknown;
    readonly local?: unknown;
    /** The secret config `objectStoreSecretKey` (engine local). */
    readonly objectStoreSecretKey?: pulumi.Output<string>;
    readonly kubernetes?: unknown;
    readonly observability?: unknown;
    /** Whether the top-level `kubeconfig` key is set, and whether as a secret (its value never passes through here). */
    readonly kubeconfig?: "secret" | "plain";
}

function describe(value: unknown): string {
    return value === undefined ? "nothing" : JSON.stringify(value);
}

/** The keys an object schema allows, also when it is wrapped in a transform (a pipe) or a refinement. */
function shapeOf(schema: z.ZodType): object {
    const s = schema as unknown as { shape?: object; in?: { shape?: object } };
    return s.shape ?? s.in?.shape ?? {};
}

function parseKey<S extends z.ZodType>(key: string, schema: S, value: unknown): z.output<S> {
    const result = schema.safeParse(value ?? {}, { reportInput: true });
    if (result.success) {
        return result.data;
    }
    const lines = result.error.issues.map((issue) => {
        const path = [key, ...issue.path.map(String)].join(".");
        if (issue.code === "unrecognized_keys") {
            return `${path}: unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(", ")}; allowed: ${Object.keys(
                shapeOf(schema),
            ).join(", ") || "see README.md"}`;
        }
        const given = "input" in issue ? `; got ${describe(issue.input)}` : "";
        // A bad record key reports "Invalid key in record"; the nested issue says what a key must look like.
        const message = issue.code === "invalid_key" && issue.issues.length > 0 ? issue.issues[0].message : issue.message;
        return `${path} ${message}${given}`;
    });
    throw new Error(`Invalid stack config:\n  ${lines.join("\n  ")}`);
}

/** Validates raw stack config and fills every default. Throws one error that lists every bad key. */
export function parsePlatformConfig(raw: RawConfig, project: string, stack: string): PlatformConfig {
    const errors: string[] = [];
    const attempt = <T>(fn: () => T): T | undefined => {
        try {
            return fn();
        } catch (e) {
            errors.push((e as Error).message.replace(/^Invalid stack config:\n {2}/, ""));
            return undefined;
        }
    };
    const engine = attempt(() => {
        const e = raw.engine ?? "ec2";
        if (!(ENGINES as readonly string[]).includes(e)) {
            throw new Error(`engine must be one of ${ENGINES.join(", ")}; got ${describe(e)}`);
        }
        return e as Engine;
    });
    const network = attempt(() => parseKey("network", networkSchema, raw.network));
    const access = attempt(() => parseKey("access", accessSchema, raw.access));
    const dataLake = attempt(() => parseKey("dataLake", dataLakeSchema, raw.dataLake));
    const kafka = attempt(() => parseKey("kafka", kafkaSchema(engine ?? "ec2"), raw.kafka));
    const consumerRaw = attempt(() => parseKey("consumer", consumerSchema, raw.consumer));
    const emrRaw = attempt(() => parseKey("emr", emrSchema, raw.emr));
    const ec2 = attempt(() => parseKey("ec2", ec2Schema, raw.ec2));
    const security = attempt(() => parseKey("security", securitySchema, raw.security));
    const localRaw = attempt(() => parseKey("local", localSchema, raw.local));
    const kubernetesRaw = attempt(() => parseKey("kubernetes", kubernetesSchema, raw.kubernetes));
    const observabilityRaw = attempt(() => parseKey("observability", observabilitySchema, raw.observability));
    const observability = observabilityRaw && consumerRaw ? resolveObservability(observabilityRaw, consumerRaw.name) : undefined;

    let consumer: ConsumerConfig | undefined;
    if (consumerRaw && kafka) {
        const topic = consumerRaw.topic ?? kafka.topics[0].name;
        if (!kafka.topics.some((t) => t.name === topic)) {
            errors.push(`consumer.topic must be one of kafka.topics (${kafka.topics.map((t) => t.name).join(", ")}); got "${topic}"`);
        }
        consumer = { ...consumerRaw, topic };
    }
    let emr: EmrConfig | undefined;
    if (emrRaw && dataLake) {
        if (emrRaw.minCapacity > emrRaw.maxCapacity) {
            errors.push(`emr.minCapacity must not exceed emr.maxCapacity (${emrRaw.maxCapacity}); got ${emrRaw.minCapacity}`);
        }
        emr = { ...emrRaw, terminationProtection: emrRaw.terminationProtection ?? dataLake.protect };
    }
    if (kafka && network) {
        const subnets = privateSubnetCount(network);
        const brokers = kafka.brokerCount ?? subnets;
        if (kafka.mode === "msk" && brokers % subnets !== 0) {
            errors.push(`kafka.brokerCount must be a multiple of the ${subnets} private subnets; got ${brokers}`);
        }
        if (kafka.mode === "msk" && kafka.defaultReplicationFactor > brokers) {
            errors.push(`kafka.defaultReplicationFactor must not exceed the ${brokers} brokers; got ${kafka.defaultReplicationFactor}`);
        }
        for (const t of kafka.topics) {
            const rf = t.replicationFactor ?? kafka.defaultReplicationFactor;
            if (kafka.mode === "msk" && rf > brokers) {
                errors.push(`kafka.topics["${t.name}"].replicationFactor must not exceed the ${brokers} brokers; got ${rf}`);
            }
        }
    }
    let local: LocalConfig | undefined;
    if (localRaw) {
        const bucket = localRaw.objectStore.bucket ?? `${project}-${stack}`.toLowerCase().replace(/[^a-z0-9.-]/g, "-");
        local = { ...localRaw, objectStore: { ...localRaw.objectStore, bucket, secretKey: raw.objectStoreSecretKey } };
        if (engine === "local") {
            if (localRaw.objectStore.mode === "external" && raw.objectStoreSecretKey === undefined) {
                errors.push(
                    "objectStoreSecretKey is required when local.objectStore.mode is external: pulumi config set --secret objectStoreSecretKey <the endpoint's secret key>",
                );
            }
            if (kafka) {
                errors.push(...localPortClashes(local, kafka.mode === "container" ? kafka.brokerCount! : 0));
                errors.push(...(observability ? monitoringPortClashes(observability, localHostPorts(local, kafka.mode === "container" ? kafka.brokerCount! : 0)) : []));
            }
        }
    }
    let kubernetes: KubernetesConfig | undefined;
    if (kubernetesRaw && network) {
        kubernetes = {
            ...kubernetesRaw,
            installOperator: kubernetesRaw.installOperator ?? kubernetesRaw.cluster === "eks",
            logRetentionDays: kubernetesRaw.logRetentionDays ?? network.flowLogRetentionDays,
        };
        errors.push(...kubeconfigErrors(engine, kubernetes, raw.kubeconfig));
        if (engine === "kubernetes" && kubernetes.cluster === "existing" && kafka && kafka.mode !== "external" && kubernetes.existing?.nodeSecurityGroupId === undefined) {
            errors.push(`kubernetes.existing.nodeSecurityGroupId is required with kafka.mode ${kafka.mode}: the brokers admit clients only by security group, so name the group of the cluster's nodes`);
        }
    }
    if (errors.length > 0) {
        throw new Error(`Invalid stack config:\n  ${errors.join("\n  ")}`);
    }
    return {
        project,
        stack,
        engine: engine!,
        network: network!,
        access: access!,
        dataLake: dataLake!,
        kafka: { ...kafka!, brokerCount: kafka!.brokerCount ?? privateSubnetCount(network!) },
        consumer: consumer!,
        emr: emr!,
        ec2: ec2!,
        security: security!,
        local: local!,
        kubernetes: kubernetes!,
        observability: observability!,
    };
}

/** What is wrong with the `kubeconfig` key for this engine and cluster mode: needed only for an existing cluster, and only as a secret. */
function kubeconfigErrors(engine: Engine | undefined, kubernetes: KubernetesConfig, given: RawConfig["kubeconfig"]): string[] {
    const needed = engine === "kubernetes" && kubernetes.cluster === "existing";
    if (needed && given === undefined) {
        return ["kubeconfig is required when kubernetes.cluster is existing: pulumi config set --secret kubeconfig \"$(cat path/to/kubeconfig)\""];
    }
    if (given === "plain") {
        return ["kubeconfig must be a secret (it holds cluster credentials): pulumi config set --secret kubeconfig \"$(cat path/to/kubeconfig)\""];
    }
    if (!needed && given !== undefined) {
        return [`kubeconfig is only read for engine kubernetes with kubernetes.cluster existing; this stack has engine ${engine ?? "?"}${engine === "kubernetes" ? ` and cluster ${kubernetes.cluster}` : ""}; remove it`];
    }
    return [];
}

/** Private subnets the platform spreads over: the created AZs, or the existing subnets given. Known at preview. */
export function privateSubnetCount(network: NetworkConfig): number {
    return network.privateSubnetIds?.length ?? network.azCount;
}

/** Reads this stack's config the way the CLI hands it to the program, then validates it. */
export function loadPlatformConfig(): PlatformConfig {
    const config = new pulumi.Config();
    const parsed = parsePlatformConfig(
        {
            engine: config.get("engine"),
            network: config.getObject("network"),
            access: config.getObject("access"),
            dataLake: config.getObject("dataLake"),
            kafka: config.getObject("kafka"),
            consumer: config.getObject("consumer"),
            emr: config.getObject("emr"),
            ec2: config.getObject("ec2"),
            security: config.getObject("security"),
            local: config.getObject("local"),
            objectStoreSecretKey: config.getSecret("objectStoreSecretKey"),
            kubernetes: config.getObject("kubernetes"),
            observability: config.getObject("observability"),
            kubeconfig: kubeconfigState(`${pulumi.getProject()}:kubeconfig`),
        },
        pulumi.getProject(),
        pulumi.getStack(),
    );
    // Read only as a secret, and only where it is used: it never reaches a plain value or another engine.
    return parsed.engine === "kubernetes" && parsed.kubernetes.cluster === "existing" ? { ...parsed, kubeconfig: config.requireSecret("kubeconfig") } : parsed;
}

/**
 * Whether `key` is set, and whether the CLI marked it secret (`config set --secret`), without reading its value. The
 * runtime's secret-key list is what `getSecret` itself relies on; its accessor is not in the typings, hence the cast.
 */
function kubeconfigState(key: string): RawConfig["kubeconfig"] {
    if (pulumi.runtime.allConfig()[key] === undefined) {
        return undefined;
    }
    const isSecret = (pulumi.runtime as unknown as { isConfigSecret(k: string): boolean }).isConfigSecret;
    return isSecret(key) ? "secret" : "plain";
}
