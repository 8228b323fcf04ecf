import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AccessConfig, Ec2Config } from "../config";
import { consumerJobArgs, consumerStopTimeoutSeconds } from "../consumerArgs";
import { kafkaClientIngress } from "../kafka";
import { checkpointPrefix, deadLetterPrefix, outputPrefix, s3Uri, SPARK_EVENTS_PREFIX } from "../locations";
import { EngineBaseArgs, ImageRefs } from "../refs";
import { assumeRolePolicy, ssmTunnelCommand } from "../hostAccess";
import { hostPolicyDocument, SSM_CORE_POLICY } from "./policies";
import {
    checkImagePinned,
    DEPLOY_PARAMETERS,
    deployDocumentContent,
    renderArgsFile,
    renderEnvFile,
    renderMasterUserData,
    renderWorkerUserData,
    SPARK_PORTS,
} from "./userData";

// Engine `ec2`: Spark standalone on plain EC2 hosts, every process from the consumer image. One master host
// (master, history server, the consumer driver in client mode) and an auto-scaled worker group, all private and
// reached through SSM. The consumer's image and settings reach the master through an SSM association, so a new
// image restarts the driver in place instead of replacing the host.

/**
 * Amazon's public parameter for the newest Amazon Linux 2023 (x86_64, default kernel). Workers resolve it at
 * launch (`resolve:ssm:`), so every new worker boots the current AMI without a diff in the launch template.
 */
export const AL2023_AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64";
/** The host name of the master in the private hosted zone. */
export const MASTER_HOST_LABEL = "spark-master";
/** The root device of Amazon Linux 2023 AMIs. */
const ROOT_DEVICE = "/dev/xvda";
/** Containers are one hop further from IMDS than the host; with 1 they would get no credentials. */
export const IMDS_HOP_LIMIT = 2;
/** Seconds a new worker needs (Docker install, image pull) before its CPU counts towards target tracking. */
const WORKER_WARMUP_SECONDS = 300;

export interface Ec2EngineArgs extends EngineBaseArgs {
    /** Instance types, worker group bounds, CPU target, root volume size and the private domain (validated config). */
    readonly config: Ec2Config;
    /** The consumer image, pinned by digest, and its repository (for ECR pull rights). */
    readonly image: ImageRefs;
}

/** Throws unless min <= desired <= max: an impossible group would fail only at `pulumi up`, half-built. */
export function checkWorkerBounds(config: Ec2Config): void {
    if (!(config.workerMin <= config.workerDesired && config.workerDesired <= config.workerMax)) {
        throw new Error(
            `ec2.workerDesired must satisfy workerMin <= workerDesired <= workerMax; got ${config.workerMin} <= ${config.workerDesired} <= ${config.workerMax}`,
        );
    }
}

/** The CIDRs admitted to the UIs, refusing the whole internet even if config validation was bypassed. */
export function uiIngressCidrs(access: AccessConfig): string[] {
    for (const c of access.allowedCidrs) {
        if (c.endsWith("/0")) {
            throw new Error(`access.allowedCidrs must not open the Spark UIs to the whole internet; remove "${c}" and list your office or VPN ranges, or use the SSM tunnels`);
        }
    }
    return [...access.allowedCidrs].sort();
}

/** The master's stable DNS name: workers and the driver use it, so a replaced master does not strand them. */
export function masterDnsName(config: Ec2Config): string {
    return `${MASTER_HOST_LABEL}.${config.privateDomain}`;
}

/**
 * Spark settings the consumer needs on plain EC2: the job's `s3://` locations go through S3A (EMR's own S3
 * connector is not here), checkpoints are written without S3's copy-and-delete rename, and S3A talks to the
 * bucket's region.
 */
export function ec2SparkConf(region: string): Record<string, string> {
    return {
        "spark.hadoop.fs.s3.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
        "spark.hadoop.fs.s3a.endpoint.region": region,
        "spark.sql.streaming.checkpointFileManagerClass": "org.apache.spark.internal.io.cloud.AbortableStreamBasedCheckpointFileManager",
    };
}

/** The UIs on the master and their ports, in output order. */
export const MASTER_UIS = {
    sparkMaster: SPARK_PORTS.masterUi,
    consumerApp: SPARK_PORTS.appUi,
    sparkHistory: SPARK_PORTS.historyUi,
} as const;

const base64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

export class Ec2Engine extends pulumi.ComponentResource {
    /** Where each master UI is: the master's private DNS name, or its private address when `access.allowedCidrs` admits networks outside the VPC. */
    public readonly uiUrls: pulumi.Output<Record<string, string>>;
    /** For each master UI, the SSM port-forwarding command that serves it on http://localhost:<port>. */
    public readonly uiTunnels: pulumi.Output<Record<string, string>>;
    public readonly masterInstanceId: pulumi.Output<string>;
    public readonly masterPrivateIp: pulumi.Output<string>;
    /** `spark://spark-master.<domain>:7077`. */
    public readonly masterUrl: string;
    public readonly workerGroupName: pulumi.Output<string>;
    public readonly masterSecurityGroupId: pulumi.Output<string>;
    public readonly workerSecurityGroupId: pulumi.Output<string>;
    /** The consumer's job flags as the master runs them. */
    public readonly consumerArgs: pulumi.Output<string[]>;

    constructor(name: string, args: Ec2EngineArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("spark-streaming:ec2:Ec2Engine", name, {}, opts);
        const { config, consumer, network, dataLake, kafka, image, region } = args;
        checkWorkerBounds(config);
        const uiCidrs = uiIngressCidrs(args.access);
        const dnsName = masterDnsName(config);
        this.masterUrl = `spark://${dnsName}:${SPARK_PORTS.master}`;
        const parent = { parent: this };

        // --- Security groups: the two groups reach each other on every TCP port (Spark picks driver, executor and
        // block manager ports at run time); UIs only from the configured CIDRs; never the internet.
        const masterSg = new aws.ec2.SecurityGroup(
            `${name}-master`,
            { vpcId: network.vpcId, description: "Spark master host: master, history server, consumer driver" },
            parent,
        );
        const workerSg = new aws.ec2.SecurityGroup(`${name}-worker`, { vpcId: network.vpcId, description: "Spark worker hosts" }, parent);
        const sparkPeers: [string, aws.ec2.SecurityGroup, aws.ec2.SecurityGroup][] = [
            ["master-from-workers", masterSg, workerSg],
            ["worker-from-master", workerSg, masterSg],
            ["worker-from-workers", workerSg, workerSg],
        ];
        for (const [rule, to, from] of sparkPeers) {
            new aws.vpc.SecurityGroupIngressRule(
                `${name}-${rule}`,
                {
                    securityGroupId: to.id,
                    referencedSecurityGroupId: from.id,
                    ipProtocol: "tcp",
                    fromPort: 0,
                    toPort: 65535,
                    description: "Spark standalone: master RPC, driver, executors, block managers, shuffle",
                },
                parent,
            );
        }
        const uiRules: [string, aws.ec2.SecurityGroup, number][] = [
            ["master-ui", masterSg, SPARK_PORTS.masterUi],
            ["app-ui", masterSg, SPARK_PORTS.appUi],
            ["history-ui", masterSg, SPARK_PORTS.historyUi],
            ["worker-ui", workerSg, SPARK_PORTS.workerUi],
        ];
        for (const [ui, sg, port] of uiRules) {
            uiCidrs.forEach((cidr, i) => {
                new aws.vpc.SecurityGroupIngressRule(
                    `${name}-${ui}-${i}`,
                    { securityGroupId: sg.id, cidrIpv4: cidr, ipProtocol: "tcp", fromPort: port, toPort: port, description: `Spark UI from ${cidr} (access.allowedCidrs)` },
                    parent,
                );
            });
        }
        // Egress stays open: ECR, S3, SSM and the AL2023 repositories over HTTPS (NAT or endpoints), Kafka on its
        // client port, and the Spark peers on ports chosen at run time.
        for (const [role, sg] of [["master", masterSg], ["worker", workerSg]] as const) {
            new aws.vpc.SecurityGroupEgressRule(
                `${name}-${role}-egress`,
                { securityGroupId: sg.id, ipProtocol: "-1", cidrIpv4: "0.0.0.0/0", description: "AWS APIs, Kafka and Spark peers" },
                parent,
            );
            kafkaClientIngress(`${name}-kafka-from-${role}`, kafka, sg.id, parent);
        }

        // --- Roles: each host gets the prefixes its processes touch. The driver commits batches, writes the sink
        // log and event logs; executors write the data files and state; the history server reads event logs.
        const partition = aws.getPartitionOutput({}, parent).partition;
        const dataPrefixes = [outputPrefix(consumer.topic), deadLetterPrefix(consumer.topic), checkpointPrefix(consumer.name)];
        const hostRole = (role: "master" | "worker", prefixes: string[]) => {
            const iamRole = new aws.iam.Role(
                `${name}-${role}`,
                { assumeRolePolicy: assumeRolePolicy("ec2.amazonaws.com"), description: `Spark ${role} hosts of the ec2 engine` },
                parent,
            );
            new aws.iam.RolePolicy(
                `${name}-${role}-access`,
                {
                    role: iamRole.id,
                    policy: pulumi
                        .all([dataLake.bucketArn, dataLake.kmsKeyArn, image.repositoryArn])
                        .apply(([bucketArn, kmsKeyArn, repositoryArn]) => hostPolicyDocument({ bucketArn, kmsKeyArn, repositoryArn, prefixes })),
                },
                parent,
            );
            if (kafka.consumerPolicyJson !== undefined) {
                new aws.iam.RolePolicy(`${name}-${role}-kafka`, { role: iamRole.id, policy: kafka.consumerPolicyJson }, parent);
            }
            new aws.iam.RolePolicyAttachment(
                `${name}-${role}-ssm`,
                { role: iamRole.name, policyArn: pulumi.interpolate`arn:${partition}:iam::aws:policy/${SSM_CORE_POLICY}` },
                parent,
            );
            return new aws.iam.InstanceProfile(`${name}-${role}`, { role: iamRole.name }, parent);
        };
        const masterProfile = hostRole("master", [...dataPrefixes, SPARK_EVENTS_PREFIX]);
        const workerProfile = hostRole("worker", dataPrefixes);

        const metadataOptions = { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: IMDS_HOP_LIMIT, instanceMetadataTags: "disabled" };

        // --- Master. Its user data holds nothing that changes with an image or a consumer setting, so it can
        // replace the host when it does change (cloud-init runs it only on first boot). The AMI is looked up here
        // and then ignored: a newer Amazon Linux must not replace the master (and restart the consumer) on the next
        // `up`; replace it deliberately (`pulumi up --replace <urn>` after removing the ignore) to move it.
        const ami = aws.ec2.getAmiOutput(
            {
                mostRecent: true,
                owners: ["amazon"],
                filters: [
                    { name: "name", values: ["al2023-ami-2023.*-x86_64"] },
                    { name: "architecture", values: ["x86_64"] },
                    { name: "state", values: ["available"] },
                ],
            },
            parent,
        );
        const master = new aws.ec2.Instance(
            `${name}-master`,
            {
                ami: ami.id,
                instanceType: config.masterInstanceType,
                subnetId: network.privateSubnetIds.apply((ids) => ids[0]),
                vpcSecurityGroupIds: [masterSg.id],
                iamInstanceProfile: masterProfile.name,
                associatePublicIpAddress: false,
                metadataOptions,
                rootBlockDevice: { volumeType: "gp3", volumeSize: config.rootVolumeGb, encrypted: true, deleteOnTermination: true },
                userData: dataLake.bucketName.apply((bucket) =>
                    renderMasterUserData({ region, masterDnsName: dnsName, bucket, eventLogPrefix: SPARK_EVENTS_PREFIX }),
                ),
                userDataReplaceOnChange: true,
            },
            // The old master (and its driver) is gone before a new one exists: never two drivers on one checkpoint.
            { ...parent, ignoreChanges: ["ami"], deleteBeforeReplace: true },
        );

        const zone = new aws.route53.Zone(
            `${name}-zone`,
            { name: config.privateDomain, comment: "Spark standalone cluster: the master's stable name", vpcs: [{ vpcId: network.vpcId }] },
            parent,
        );
        new aws.route53.Record(
            `${name}-master-dns`,
            { zoneId: zone.zoneId, name: dnsName, type: "A", ttl: 60, records: [master.privateIp] },
            parent,
        );

        // --- The consumer on the master, delivered by SSM: a new image or setting updates the association, which
        // runs the deploy command at once (stop the old driver, wait for it, write the settings, start the new one).
        this.consumerArgs = consumerJobArgs(consumer, {
            bootstrapServers: kafka.bootstrapBrokers,
            kafkaAuth: kafka.authMode,
            output: s3Uri(dataLake.bucketName, outputPrefix(consumer.topic)),
            deadLetter: s3Uri(dataLake.bucketName, deadLetterPrefix(consumer.topic)),
            checkpoint: s3Uri(dataLake.bucketName, checkpointPrefix(consumer.name)),
            engineSparkConf: ec2SparkConf(region),
        });
        const consumerEnv = pulumi.all([dataLake.bucketName, args.kafkaTopicsJson]).apply(([bucket, topics]) =>
            renderEnvFile({ KAFKA_TOPICS: topics, SPARK_EVENT_LOG_DIR: `s3a://${bucket}/${SPARK_EVENTS_PREFIX}` }),
        );
        const deployDocument = new aws.ssm.Document(
            `${name}-deploy-consumer`,
            { documentType: "Command", documentFormat: "JSON", targetType: "/AWS::EC2::Instance", content: deployDocumentContent() },
            parent,
        );
        new aws.ssm.Association(
            `${name}-consumer`,
            {
                name: deployDocument.name,
                documentVersion: deployDocument.latestVersion,
                targets: [{ key: "InstanceIds", values: [master.id] }],
                parameters: {
                    [DEPLOY_PARAMETERS.imageUri]: image.imageUri.apply(checkImagePinned),
                    [DEPLOY_PARAMETERS.consumerEnv]: consumerEnv.apply(base64),
                    [DEPLOY_PARAMETERS.consumerArgs]: this.consumerArgs.apply((a) => base64(renderArgsFile(a))),
                    // docker stop --time and systemd's TimeoutStopSec (a drop-in the deploy command installs).
                    [DEPLOY_PARAMETERS.stopTimeoutSeconds]: String(consumerStopTimeoutSeconds(consumer)),
                },
                // `up` fails if the consumer could not be (re)started, instead of reporting success; the old driver
                // may take its whole stop timeout to let its batch commit.
                waitForSuccessTimeoutSeconds: 2 * consumerStopTimeoutSeconds(consumer) + 900,
            },
            parent,
        );

        // --- Workers. The image is in their user data: a new image is a new launch template version, and the
        // group's instance refresh rolls the workers (new ones first) so executors run the driver's build.
        const defaultTags = aws.getDefaultTagsOutput({}, parent);
        const launchTemplate = new aws.ec2.LaunchTemplate(
            `${name}-worker`,
            {
                imageId: `resolve:ssm:${AL2023_AMI_PARAMETER}`,
                instanceType: config.workerInstanceType,
                iamInstanceProfile: { arn: workerProfile.arn },
                vpcSecurityGroupIds: [workerSg.id],
                metadataOptions,
                blockDeviceMappings: [
                    {
                        deviceName: ROOT_DEVICE,
                        ebs: { volumeType: "gp3", volumeSize: config.rootVolumeGb, encrypted: "true", deleteOnTermination: "true" },
                    },
                ],
                userData: image.imageUri.apply((imageUri) => base64(renderWorkerUserData({ region, masterDnsName: dnsName, imageUri }))),
                updateDefaultVersion: true,
                // The provider's default tags stop at the launch template; instances and volumes the group launches
                // get them only through the template's tag specifications.
                tagSpecifications: ["instance", "volume"].map((resourceType) => ({
                    resourceType,
                    tags: defaultTags.apply((d) => ({ ...d.tags, Name: `${name}-worker` })),
                })),
            },
            parent,
        );
        const group = new aws.autoscaling.Group(
            `${name}-workers`,
            {
                vpcZoneIdentifiers: network.privateSubnetIds,
                minSize: config.workerMin,
                maxSize: config.workerMax,
                desiredCapacity: config.workerDesired,
                launchTemplate: { id: launchTemplate.id, version: launchTemplate.latestVersion.apply(String) },
                healthCheckType: "EC2",
                healthCheckGracePeriod: WORKER_WARMUP_SECONDS,
                defaultInstanceWarmup: WORKER_WARMUP_SECONDS,
                instanceRefresh: {
                    strategy: "Rolling",
                    preferences: { minHealthyPercentage: 100, maxHealthyPercentage: 200, instanceWarmup: String(WORKER_WARMUP_SECONDS) },
                },
            },
            // Target tracking owns the current size; `up` must not reset it to the configured starting point.
            { ...parent, ignoreChanges: ["desiredCapacity"] },
        );
        new aws.autoscaling.Policy(
            `${name}-workers-cpu`,
            {
                autoscalingGroupName: group.name,
                policyType: "TargetTrackingScaling",
                targetTrackingConfiguration: {
                    predefinedMetricSpecification: { predefinedMetricType: "ASGAverageCPUUtilization" },
                    targetValue: config.cpuTargetPercent,
                },
            },
            parent,
        );

        // --- Outputs. Hosts are private: with no allowed CIDRs the UIs are reached through the SSM tunnels (the
        // DNS name works from inside the VPC); allowed CIDRs (VPN, peered networks) reach the master's private
        // address, since the private zone usually does not resolve there.
        const uiHost: pulumi.Output<string> = uiCidrs.length > 0 ? master.privateIp : pulumi.output(dnsName);
        this.uiUrls = uiHost.apply((host) =>
            Object.fromEntries(Object.entries(MASTER_UIS).map(([ui, port]) => [ui, `http://${host}:${port}`])),
        );
        this.uiTunnels = master.id.apply((id) =>
            Object.fromEntries(Object.entries(MASTER_UIS).map(([ui, port]) => [ui, ssmTunnelCommand(region, id, port)])),
        );
        this.masterInstanceId = master.id;
        this.masterPrivateIp = master.privateIp;
        this.workerGroupName = group.name;
        this.masterSecurityGroupId = masterSg.id;
        this.workerSecurityGroupId = workerSg.id;

        this.registerOutputs({
            uiUrls: this.uiUrls,
            uiTunnels: this.uiTunnels,
            masterInstanceId: this.masterInstanceId,
            masterPrivateIp: this.masterPrivateIp,
            masterUrl: this.masterUrl,
            workerGroupName: this.workerGroupName,
            masterSecurityGroupId: this.masterSecurityGroupId,
            workerSecurityGroupId: this.workerSecurityGroupId,
            consumerArgs: this.consumerArgs,
        });
    }
}
