import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { assumeRolePolicy } from "../hostAccess";

// VPC flow logs for one VPC, to a CloudWatch Logs group encrypted with a key of their own and kept for a set number
// of days. A component of its own so any VPC the platform creates (this network, a future EKS one) gets the same
// audit trail with one line.

export interface VpcFlowLogsArgs {
    /** The VPC whose traffic (accepted and rejected) is logged. */
    readonly vpcId: pulumi.Input<string>;
    /** Days CloudWatch Logs keeps the records (one of CloudWatch's retention periods; components/config/ validates it). */
    readonly retentionInDays: number;
    /** Keep the key and the log group when the stack is destroyed (protected stacks: audit trails outlive them). */
    readonly retain: boolean;
}

/** The log group's name: fixed, so the key policy can name it before it exists. CloudWatch allows [.-_/#A-Za-z0-9]. */
export function flowLogGroupName(project: string, stack: string, name: string): string {
    return `/aws/vpc-flow-logs/${project}-${stack}-${name}`.replace(/[^.\-_/#A-Za-z0-9]/g, "-");
}

/**
 * The key policy: the account's IAM administers the key; CloudWatch Logs in this region may use it, but only for
 * this one log group (the encryption context names it), which is what CloudWatch needs to encrypt a group with a
 * customer-managed key.
 */
export function flowLogKeyPolicy(partition: string, region: string, account: string, logGroupArn: string): string {
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [
            {
                // Administration and use are delegated to the account's IAM policies (the standard first statement).
                Sid: "EnableIamPolicies",
                Effect: "Allow",
                Principal: { AWS: `arn:${partition}:iam::${account}:root` },
                Action: "kms:*",
                Resource: "*",
            },
            {
                // CloudWatch Logs encrypts and decrypts the flow log group's events with this key, and no other group's.
                Sid: "CloudWatchLogsUsesKeyForFlowLogGroup",
                Effect: "Allow",
                Principal: { Service: `logs.${region}.amazonaws.com` },
                Action: ["kms:Decrypt*", "kms:Describe*", "kms:Encrypt*", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
                Resource: "*",
                Condition: { ArnEquals: { "kms:EncryptionContext:aws:logs:arn": logGroupArn } },
            },
        ],
    });
}

/** What the flow-log service may do with its role: write streams and events into this one group. */
export function flowLogRolePolicy(logGroupArn: string): string {
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [
            {
                // The flow-log service creates a stream per network interface and writes the records into it.
                Sid: "WriteFlowLogStreams",
                Effect: "Allow",
                Action: ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                Resource: [logGroupArn, `${logGroupArn}:*`],
            },
        ],
    });
}

export class VpcFlowLogs extends pulumi.ComponentResource {
    public readonly logGroupName: pulumi.Output<string>;
    public readonly logGroupArn: pulumi.Output<string>;
    public readonly kmsKeyArn: pulumi.Output<string>;
    public readonly flowLogId: pulumi.Output<string>;

    constructor(name: string, args: VpcFlowLogsArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("spark-streaming:network:VpcFlowLogs", name, {}, opts);
        const parent = { parent: this };
        const kept = args.retain ? { ...parent, retainOnDelete: true } : parent;
        const identity = pulumi.all([aws.getPartitionOutput({}, parent).partition, aws.getRegionOutput({}, parent).region, aws.getCallerIdentityOutput({}, parent).accountId]);
        const groupName = flowLogGroupName(pulumi.getProject(), pulumi.getStack(), name);
        const groupArn = identity.apply(([p, r, a]) => `arn:${p}:logs:${r}:${a}:log-group:${groupName}`);

        const key = new aws.kms.Key(
            `${name}-key`,
            {
                description: `Encrypts the VPC flow logs of ${pulumi.getProject()}/${pulumi.getStack()}`,
                enableKeyRotation: true,
                deletionWindowInDays: args.retain ? 30 : 7,
                policy: pulumi.all([identity, groupArn]).apply(([[p, r, a], arn]) => flowLogKeyPolicy(p, r, a, arn)),
            },
            kept,
        );
        const group = new aws.cloudwatch.LogGroup(`${name}-group`, { name: groupName, retentionInDays: args.retentionInDays, kmsKeyId: key.arn }, kept);
        const role = new aws.iam.Role(
            `${name}-role`,
            {
                description: "Lets the VPC flow-log service write this VPC's flow logs",
                // Only flow logs of this account, for this VPC, may use the role.
                assumeRolePolicy: pulumi.all([identity, args.vpcId]).apply(([[p, r, a], vpcId]) =>
                    assumeRolePolicy("vpc-flow-logs.amazonaws.com", {
                        StringEquals: { "aws:SourceAccount": a },
                        ArnLike: { "aws:SourceArn": `arn:${p}:ec2:${r}:${a}:vpc-flow-log/*` },
                    }),
                ),
            },
            parent,
        );
        const rolePolicy = new aws.iam.RolePolicy(`${name}-write`, { role: role.id, policy: group.arn.apply(flowLogRolePolicy) }, parent);
        const flowLog = new aws.ec2.FlowLog(
            `${name}-flow-log`,
            {
                vpcId: args.vpcId,
                trafficType: "ALL",
                logDestinationType: "cloud-watch-logs",
                logDestination: group.arn,
                iamRoleArn: role.arn,
                // One-minute aggregation: an incident's traffic shows up in the logs within minutes, not ten.
                maxAggregationInterval: 60,
            },
            { ...parent, dependsOn: [rolePolicy] },
        );

        this.logGroupName = group.name;
        this.logGroupArn = group.arn;
        this.kmsKeyArn = key.arn;
        this.flowLogId = flowLog.id;
        this.registerOutputs({ logGroupName: this.logGroupName, logGroupArn: this.logGroupArn, kmsKeyArn: this.kmsKeyArn, flowLogId: this.flowLogId });
    }
}
