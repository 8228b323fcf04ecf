import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

// The bucket S3 server access logs go to: separate from the buckets it audits, so the people and roles who use the
// data cannot touch its audit trail. Locked down: public access blocked, ACLs off (bucket owner enforced), TLS only,
// and the only principal allowed to write is S3's logging service, for the source buckets of this account. It never
// logs to itself (a log bucket that logs its own writes grows without end), and S3 server access logging only
// delivers to buckets with SSE-S3 default encryption (not SSE-KMS), so that is what it uses.

export interface AccessLogBucketArgs {
    /** ARNs of the buckets whose access logs land here; the bucket policy names them (aws:SourceArn). */
    readonly sourceBucketArns: pulumi.Input<string>[];
    /** Days a log object is kept. */
    readonly expirationDays: number;
    /** Let `pulumi destroy` delete the bucket with its logs (disposable stacks, like the data lake's forceDestroy). */
    readonly forceDestroy: boolean;
    /** Protect the bucket and retain it on destroy (like the data lake's protect). */
    readonly protect: boolean;
}

/** The prefix a source bucket's logs go under: one folder per bucket. */
export function accessLogPrefix(sourceBucketName: string): string {
    return `s3/${sourceBucketName}/`;
}

/** The statements every bucket's policy starts with: no request without TLS, none with TLS older than 1.2. */
export function tlsOnlyStatements(bucketArn: string): object[] {
    const everything = [bucketArn, `${bucketArn}/*`];
    return [
        {
            // Requests without TLS are refused, whoever makes them.
            Sid: "DenyInsecureTransport",
            Effect: "Deny",
            Principal: "*",
            Action: "s3:*",
            Resource: everything,
            Condition: { Bool: { "aws:SecureTransport": "false" } },
        },
        {
            // TLS older than 1.2 is refused too.
            Sid: "DenyOutdatedTls",
            Effect: "Deny",
            Principal: "*",
            Action: "s3:*",
            Resource: everything,
            Condition: { NumericLessThan: { "s3:TlsVersion": 1.2 } },
        },
    ];
}

/**
 * The log bucket's policy: deny anything without TLS (1.2 or later); allow S3's logging service to put objects, only
 * for the listed source buckets of this account. Nothing else is allowed by this policy.
 */
export function accessLogBucketPolicy(bucketArn: string, sourceBucketArns: string[], account: string): string {
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [
            ...tlsOnlyStatements(bucketArn),
            {
                // S3's logging service delivers the access logs of the audited buckets (this account's, named ones only).
                Sid: "S3ServerAccessLogDelivery",
                Effect: "Allow",
                Principal: { Service: "logging.s3.amazonaws.com" },
                Action: "s3:PutObject",
                Resource: `${bucketArn}/*`,
                Condition: { ArnLike: { "aws:SourceArn": [...sourceBucketArns].sort() }, StringEquals: { "aws:SourceAccount": account } },
            },
        ],
    });
}

export class AccessLogBucket extends pulumi.ComponentResource {
    public readonly bucketName: pulumi.Output<string>;
    public readonly bucketArn: pulumi.Output<string>;

    constructor(name: string, args: AccessLogBucketArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("spark-streaming:dataLake:AccessLogBucket", name, {}, opts);
        if (args.protect && args.forceDestroy) {
            throw new Error("the access-log bucket cannot be protected and force-destroyed at once; pick one (it follows dataLake.protect / dataLake.forceDestroy)");
        }
        const parent = { parent: this };
        const kept = args.protect ? { ...parent, protect: true, retainOnDelete: true } : parent;
        const settings = args.protect ? { ...parent, retainOnDelete: true } : parent;
        const account = aws.getCallerIdentityOutput({}, parent).accountId;

        const bucket = new aws.s3.Bucket(`${name}-bucket`, { forceDestroy: args.forceDestroy }, kept);
        new aws.s3.BucketOwnershipControls(`${name}-ownership`, { bucket: bucket.bucket, rule: { objectOwnership: "BucketOwnerEnforced" } }, settings);
        const publicAccess = new aws.s3.BucketPublicAccessBlock(
            `${name}-public-access`,
            { bucket: bucket.bucket, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
            settings,
        );
        new aws.s3.BucketServerSideEncryptionConfiguration(
            `${name}-encryption`,
            { bucket: bucket.bucket, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] },
            settings,
        );
        // Versioned, so a deleted or overwritten log object can still be recovered until its noncurrent version expires.
        const versioning = new aws.s3.BucketVersioning(`${name}-versioning`, { bucket: bucket.bucket, versioningConfiguration: { status: "Enabled" } }, settings);
        new aws.s3.BucketPolicy(
            `${name}-policy`,
            { bucket: bucket.bucket, policy: pulumi.all([bucket.arn, pulumi.all(args.sourceBucketArns), account]).apply(([arn, sources, a]) => accessLogBucketPolicy(arn, sources, a)) },
            // S3 answers OperationAborted when a bucket policy and a public access block are written at once.
            { ...settings, dependsOn: [publicAccess] },
        );
        new aws.s3.BucketLifecycleConfiguration(
            `${name}-lifecycle`,
            {
                bucket: bucket.bucket,
                rules: [
                    {
                        id: "expire-access-logs",
                        status: "Enabled",
                        filter: {},
                        expiration: { days: args.expirationDays },
                        noncurrentVersionExpiration: { noncurrentDays: 30 },
                        abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
                    },
                ],
            },
            { ...settings, dependsOn: [versioning] },
        );

        this.bucketName = bucket.bucket;
        this.bucketArn = bucket.arn;
        this.registerOutputs({ bucketName: this.bucketName, bucketArn: this.bucketArn });
    }
}
