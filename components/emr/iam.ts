import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ConsumerConfig } from "../config";
import { assumeRolePolicy } from "../hostAccess";
import { checkpointPrefix, deadLetterPrefix, outputPrefix, PREFIXES } from "../locations";
import { canonicalJson } from "./configuration";

// The EMR engine's IAM: the service role runs EMR's control plane (AWS's v2 managed policy plus what it needs for our
// resources), the instance role is what Spark on the hosts may do. Every statement names its resources.

/** The artifact folders the cluster reads: the job's builds, the locked jars, the in-transit TLS bundle. */
export const READABLE_ARTIFACTS = [`${PREFIXES.artifacts}streaming-consumer/`, `${PREFIXES.artifacts}jars/`, `${PREFIXES.artifacts}emr-tls/`];

const KMS_DATA_ACTIONS = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo"];

/** What the cluster's hosts may do in the bucket: write only the consumer's own prefixes and logs, read the artifacts. */
export function instanceRolePolicy(bucketArn: string, kmsKeyArn: string, consumer: ConsumerConfig): string {
    const writable = [outputPrefix(consumer.topic), deadLetterPrefix(consumer.topic), checkpointPrefix(consumer.name), PREFIXES.logs];
    const readable = [...writable, ...READABLE_ARTIFACTS];
    return canonicalJson({
        Version: "2012-10-17",
        Statement: [
            // EMRFS lists the consumer's folders, the logs and the artifacts; nothing else in the bucket.
            { Sid: "ListOwnPrefixes", Effect: "Allow", Action: ["s3:ListBucket"], Resource: [bucketArn], Condition: { StringLike: { "s3:prefix": readable.flatMap((p) => [p, `${p}*`]) } } },
            // EMRFS asks for the bucket's region before it talks to it.
            { Sid: "LocateBucket", Effect: "Allow", Action: ["s3:GetBucketLocation"], Resource: [bucketArn] },
            // The consumer writes its data, dead letters and checkpoint; EMR and Spark write their logs.
            {
                Sid: "WriteOwnPrefixes",
                Effect: "Allow",
                Action: ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:PutObject"],
                Resource: writable.map((p) => `${bucketArn}/${p}*`),
            },
            // The job's package, its locked jars and the in-transit TLS bundle, read-only.
            { Sid: "ReadArtifacts", Effect: "Allow", Action: ["s3:GetObject"], Resource: READABLE_ARTIFACTS.map((p) => `${bucketArn}/${p}*`) },
            // The bucket, EMRFS, local disks and the TLS bundle are encrypted with the platform key.
            { Sid: "UsePlatformKey", Effect: "Allow", Action: KMS_DATA_ACTIONS, Resource: [kmsKeyArn] },
        ],
    });
}

/**
 * What the EMR service role needs beyond AmazonEMRServicePolicy_v2: to pass our (non-default-named) instance
 * role to EC2, to launch into our subnet (the managed policy wants the subnet tagged; we name it instead of
 * tagging a subnet another component owns), and to encrypt EBS volumes with the platform key.
 */
export function serviceRolePolicy(instanceRoleArn: string, subnetArn: string, kmsKeyArn: string): string {
    return canonicalJson({
        Version: "2012-10-17",
        Statement: [
            // EMR hands the instance role to the EC2 instances it launches, and only to EC2.
            { Sid: "PassInstanceRole", Effect: "Allow", Action: ["iam:PassRole"], Resource: [instanceRoleArn], Condition: { StringLike: { "iam:PassedToService": "ec2.amazonaws.com*" } } },
            // EMR launches the cluster's instances into the cluster's subnet (named by ARN: region, account and id).
            {
                Sid: "LaunchInClusterSubnet",
                Effect: "Allow",
                Action: ["ec2:CreateFleet", "ec2:CreateLaunchTemplate", "ec2:CreateLaunchTemplateVersion", "ec2:CreateNetworkInterface", "ec2:RunInstances"],
                Resource: [subnetArn],
            },
            // EMR encrypts the instances' EBS volumes with the platform key.
            { Sid: "EncryptVolumes", Effect: "Allow", Action: KMS_DATA_ACTIONS, Resource: [kmsKeyArn] },
            // EBS needs a grant on the key for the volumes it attaches, and only for AWS resources.
            { Sid: "GrantVolumesTheKey", Effect: "Allow", Action: ["kms:CreateGrant"], Resource: [kmsKeyArn], Condition: { Bool: { "kms:GrantIsForAWSResource": "true" } } },
        ],
    });
}

export interface EmrRolesArgs {
    readonly subnetId: pulumi.Input<string>;
    readonly bucketArn: pulumi.Input<string>;
    readonly kmsKeyArn: pulumi.Input<string>;
    readonly consumer: ConsumerConfig;
    /** The consumer's Kafka policy (MSK IAM), when Kafka uses IAM. */
    readonly kafkaPolicyJson: pulumi.Input<string> | undefined;
    /** The right to publish the consumer's metrics (observability); the driver runs on the cluster's nodes. */
    readonly metricsPolicyJson?: pulumi.Input<string>;
}

export interface EmrRoles {
    readonly serviceRole: aws.iam.Role;
    readonly instanceProfile: aws.iam.InstanceProfile;
    /** Everything the cluster must not start before (its roles' policies). */
    readonly policies: pulumi.Resource[];
}

export function emrRoles(name: string, args: EmrRolesArgs, opts: pulumi.CustomResourceOptions): EmrRoles {
    const partition = aws.getPartitionOutput({}, opts).partition;
    const region = aws.getRegionOutput({}, opts).region;
    const account = aws.getCallerIdentityOutput({}, opts).accountId;
    const subnetArn = pulumi.interpolate`arn:${partition}:ec2:${region}:${account}:subnet/${args.subnetId}`;

    const serviceRole = new aws.iam.Role(`${name}-service-role`, { assumeRolePolicy: assumeRolePolicy("elasticmapreduce.amazonaws.com") }, opts);
    // AWS's managed EMR service policy (v2): it acts only on resources tagged for EMR (EMR_MANAGED_POLICY_TAG).
    const serviceManaged = new aws.iam.RolePolicyAttachment(`${name}-service-managed`, { role: serviceRole.name, policyArn: pulumi.interpolate`arn:${partition}:iam::aws:policy/service-role/AmazonEMRServicePolicy_v2` }, opts);
    const instanceRole = new aws.iam.Role(`${name}-instance-role`, { assumeRolePolicy: assumeRolePolicy("ec2.amazonaws.com") }, opts);
    const serviceInline = new aws.iam.RolePolicy(
        `${name}-service-policy`,
        { role: serviceRole.id, policy: pulumi.all([instanceRole.arn, subnetArn, args.kmsKeyArn]).apply(([roleArn, subnet, key]) => serviceRolePolicy(roleArn, subnet, key)) },
        opts,
    );
    const policies: pulumi.Resource[] = [
        serviceManaged,
        serviceInline,
        new aws.iam.RolePolicy(
            `${name}-instance-data`,
            { role: instanceRole.id, policy: pulumi.all([args.bucketArn, args.kmsKeyArn]).apply(([bucket, key]) => instanceRolePolicy(bucket, key, args.consumer)) },
            opts,
        ),
        // SSM Session Manager is how people reach the UIs (uiTunnels) and the hosts; no SSH, no key pair. AWS's
        // managed policy: the SSM agent's actions have no resource-level permissions.
        new aws.iam.RolePolicyAttachment(`${name}-instance-ssm`, { role: instanceRole.name, policyArn: pulumi.interpolate`arn:${partition}:iam::aws:policy/AmazonSSMManagedInstanceCore` }, opts),
    ];
    if (args.kafkaPolicyJson !== undefined) {
        policies.push(new aws.iam.RolePolicy(`${name}-instance-kafka`, { role: instanceRole.id, policy: args.kafkaPolicyJson }, opts));
    }
    if (args.metricsPolicyJson !== undefined) {
        policies.push(new aws.iam.RolePolicy(`${name}-instance-metrics`, { role: instanceRole.id, policy: args.metricsPolicyJson }, opts));
    }
    const instanceProfile = new aws.iam.InstanceProfile(`${name}-instance-profile`, { role: instanceRole.name }, opts);
    return { serviceRole, instanceProfile, policies };
}
