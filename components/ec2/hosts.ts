import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Ec2Config } from "../config";
import { SecurityStepOptions } from "./sparkSecurity";
import { renderMasterUserData, renderWorkerUserData } from "./userData";

// The ec2 engine's hosts: the master (with its stable DNS name) and the auto-scaled worker group. Every host runs
// every container on the host network, so the instance metadata service is one hop away and the hop limit is 1: a
// container on a bridge network (one more hop) gets no instance credentials.

/**
 * Amazon's public parameter for the newest Amazon Linux 2023 (x86_64, default kernel). Workers resolve it at
 * launch (`resolve:ssm:`), so every new worker boots the current AMI without a diff in the launch template.
 */
export const AL2023_AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64";
/** The root device of Amazon Linux 2023 AMIs. */
const ROOT_DEVICE = "/dev/xvda";
/** IMDSv2 hop limit: 1, because every container runs with `--network host` (userData.ts) and so is no extra hop. */
export const IMDS_HOP_LIMIT = 1;
/** Seconds a new worker needs (Docker install, image pull) before its CPU counts towards target tracking. */
const WORKER_WARMUP_SECONDS = 300;

/** IMDSv2 only (session tokens), hop limit 1, no instance tags in the metadata. */
export const METADATA_OPTIONS = { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: IMDS_HOP_LIMIT, instanceMetadataTags: "disabled" };

const base64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

export interface MasterArgs {
    readonly config: Ec2Config;
    readonly region: string;
    readonly vpcId: pulumi.Input<string>;
    readonly subnetId: pulumi.Input<string>;
    readonly securityGroupId: pulumi.Input<string>;
    readonly instanceProfileName: pulumi.Input<string>;
    readonly bucketName: pulumi.Input<string>;
    readonly eventLogPrefix: string;
    readonly masterDnsName: string;
    readonly authSecretArn: pulumi.Input<string>;
    readonly tlsSecretArn: pulumi.Input<string>;
}

/**
 * The master. Its user data holds nothing that changes with an image, a consumer setting or a rotated secret (those
 * arrive through the SSM deploy command), so it can replace the host when it does change. The AMI is looked up here
 * and then ignored: a newer Amazon Linux must not replace the master (and restart the consumer) on the next `up`;
 * replace it deliberately (`pulumi up --replace <urn>` after removing the ignore) to move it.
 */
export function masterHost(name: string, args: MasterArgs, opts: pulumi.CustomResourceOptions): aws.ec2.Instance {
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
        opts,
    );
    const master = new aws.ec2.Instance(
        `${name}-master`,
        {
            ami: ami.id,
            instanceType: args.config.masterInstanceType,
            subnetId: args.subnetId,
            vpcSecurityGroupIds: [args.securityGroupId],
            iamInstanceProfile: args.instanceProfileName,
            associatePublicIpAddress: false,
            metadataOptions: METADATA_OPTIONS,
            rootBlockDevice: { volumeType: "gp3", volumeSize: args.config.rootVolumeGb, encrypted: true, deleteOnTermination: true },
            userData: pulumi.all([args.bucketName, args.authSecretArn, args.tlsSecretArn]).apply(([bucket, authSecretArn, tlsSecretArn]) =>
                renderMasterUserData({ region: args.region, masterDnsName: args.masterDnsName, bucket, eventLogPrefix: args.eventLogPrefix, security: { authSecretArn, tlsSecretArn } }),
            ),
            userDataReplaceOnChange: true,
        },
        // The old master (and its driver) is gone before a new one exists: never two drivers on one checkpoint.
        { ...opts, ignoreChanges: ["ami"], deleteBeforeReplace: true },
    );
    const zone = new aws.route53.Zone(
        `${name}-zone`,
        { name: args.config.privateDomain, comment: "Spark standalone cluster: the master's stable name", vpcs: [{ vpcId: args.vpcId }] },
        opts,
    );
    new aws.route53.Record(`${name}-master-dns`, { zoneId: zone.zoneId, name: args.masterDnsName, type: "A", ttl: 60, records: [master.privateIp] }, opts);
    return master;
}

export interface WorkersArgs {
    readonly config: Ec2Config;
    readonly region: string;
    readonly subnetIds: pulumi.Input<string[]>;
    readonly securityGroupId: pulumi.Input<string>;
    readonly instanceProfileArn: pulumi.Input<string>;
    readonly imageUri: pulumi.Input<string>;
    readonly masterDnsName: string;
    readonly security: pulumi.Input<SecurityStepOptions>;
    /** The secrets' versions: a rotation is a new launch template version, which rolls the workers. */
    readonly securityRevision: pulumi.Input<string>;
}

/**
 * The worker group. The image and the security revision are in the user data: a new one is a new launch template
 * version, and the group's instance refresh rolls the workers (new ones first) so executors run the driver's build
 * with the driver's secret.
 */
export function workerGroup(name: string, args: WorkersArgs, opts: pulumi.CustomResourceOptions): aws.autoscaling.Group {
    const defaultTags = aws.getDefaultTagsOutput({}, opts);
    const launchTemplate = new aws.ec2.LaunchTemplate(
        `${name}-worker`,
        {
            imageId: `resolve:ssm:${AL2023_AMI_PARAMETER}`,
            instanceType: args.config.workerInstanceType,
            iamInstanceProfile: { arn: args.instanceProfileArn },
            vpcSecurityGroupIds: [args.securityGroupId],
            metadataOptions: METADATA_OPTIONS,
            blockDeviceMappings: [{ deviceName: ROOT_DEVICE, ebs: { volumeType: "gp3", volumeSize: args.config.rootVolumeGb, encrypted: "true", deleteOnTermination: "true" } }],
            userData: pulumi
                .all([args.imageUri, args.security, args.securityRevision])
                .apply(([imageUri, security, securityRevision]) => base64(renderWorkerUserData({ region: args.region, masterDnsName: args.masterDnsName, imageUri, security, securityRevision }))),
            updateDefaultVersion: true,
            // The provider's default tags stop at the launch template; instances and volumes the group launches
            // get them only through the template's tag specifications.
            tagSpecifications: ["instance", "volume"].map((resourceType) => ({ resourceType, tags: defaultTags.apply((d) => ({ ...d.tags, Name: `${name}-worker` })) })),
        },
        opts,
    );
    const group = new aws.autoscaling.Group(
        `${name}-workers`,
        {
            vpcZoneIdentifiers: args.subnetIds,
            minSize: args.config.workerMin,
            maxSize: args.config.workerMax,
            desiredCapacity: args.config.workerDesired,
            launchTemplate: { id: launchTemplate.id, version: launchTemplate.latestVersion.apply(String) },
            healthCheckType: "EC2",
            healthCheckGracePeriod: WORKER_WARMUP_SECONDS,
            defaultInstanceWarmup: WORKER_WARMUP_SECONDS,
            instanceRefresh: { strategy: "Rolling", preferences: { minHealthyPercentage: 100, maxHealthyPercentage: 200, instanceWarmup: String(WORKER_WARMUP_SECONDS) } },
        },
        // Target tracking owns the current size; `up` must not reset it to the configured starting point.
        { ...opts, ignoreChanges: ["desiredCapacity"] },
    );
    new aws.autoscaling.Policy(
        `${name}-workers-cpu`,
        {
            autoscalingGroupName: group.name,
            policyType: "TargetTrackingScaling",
            targetTrackingConfiguration: { predefinedMetricSpecification: { predefinedMetricType: "ASGAverageCPUUtilization" }, targetValue: args.config.cpuTargetPercent },
        },
        opts,
    );
    return group;
}
