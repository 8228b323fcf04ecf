import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

// The SNS topic the alarms notify. Encrypted with a key of its own: the AWS-managed SNS key cannot be used by
// CloudWatch alarms (its policy cannot be changed to let CloudWatch encrypt), so alarms to a topic encrypted with it
// are silently never delivered. The key and topic policies let CloudWatch of this account, and nothing else, publish.

export interface AlarmTopicArgs {
    /** An e-mail address to subscribe (observability.alarmEmail); SNS mails a confirmation link first. Default: none. */
    readonly email?: string;
}

/** The key policy: the account administers the key; CloudWatch alarms of this account may use it to publish. */
export function alarmKeyPolicy(partition: string, account: string): string {
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "AccountAdministersKey",
                Effect: "Allow",
                Principal: { AWS: `arn:${partition}:iam::${account}:root` },
                Action: "kms:*",
                Resource: "*",
            },
            {
                Sid: "CloudWatchAlarmsEncryptNotifications",
                Effect: "Allow",
                Principal: { Service: "cloudwatch.amazonaws.com" },
                Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
                Resource: "*",
                Condition: { StringEquals: { "aws:SourceAccount": account } },
            },
        ],
    });
}

/** The topic policy: CloudWatch alarms of this account publish; every request must use TLS. */
export function alarmTopicPolicy(topicArn: string, account: string): string {
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "CloudWatchAlarmsPublish",
                Effect: "Allow",
                Principal: { Service: "cloudwatch.amazonaws.com" },
                Action: "sns:Publish",
                Resource: topicArn,
                Condition: { StringEquals: { "aws:SourceAccount": account } },
            },
            {
                Sid: "TlsOnly",
                Effect: "Deny",
                Principal: "*",
                Action: "sns:Publish",
                Resource: topicArn,
                Condition: { Bool: { "aws:SecureTransport": "false" } },
            },
        ],
    });
}

export class AlarmTopic extends pulumi.ComponentResource {
    public readonly topicArn: pulumi.Output<string>;
    public readonly kmsKeyArn: pulumi.Output<string>;

    constructor(name: string, args: AlarmTopicArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("spark-streaming:observability:AlarmTopic", name, {}, opts);
        const parent = { parent: this };
        const partition = aws.getPartitionOutput({}, parent).partition;
        const account = aws.getCallerIdentityOutput({}, parent).accountId;

        const key = new aws.kms.Key(
            `${name}-key`,
            {
                description: "Encrypts the streaming platform's alarm notifications (SNS)",
                enableKeyRotation: true,
                deletionWindowInDays: 30,
                policy: pulumi.all([partition, account]).apply(([p, a]) => alarmKeyPolicy(p, a)),
            },
            parent,
        );
        const topic = new aws.sns.Topic(`${name}-topic`, { kmsMasterKeyId: key.arn }, parent);
        new aws.sns.TopicPolicy(`${name}-policy`, { arn: topic.arn, policy: pulumi.all([topic.arn, account]).apply(([t, a]) => alarmTopicPolicy(t, a)) }, parent);
        if (args.email !== undefined) {
            new aws.sns.TopicSubscription(`${name}-email`, { topic: topic.arn, protocol: "email", endpoint: args.email }, parent);
        }
        this.topicArn = topic.arn;
        this.kmsKeyArn = key.arn;
        this.registerOutputs({ topicArn: this.topicArn, kmsKeyArn: this.kmsKeyArn });
    }
}
