import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AccessLogBucket, accessLogPrefix, tlsOnlyStatements } from "./accessLogBucket";
import { DataLakeConfig } from "./config";
import { PREFIXES, s3Uri } from "./locations";
import { DataLakeRefs } from "./refs";

export interface DataLakeArgs {
    /** The stack's validated data lake config (retention days, storage class, protect / forceDestroy). */
    readonly config: DataLakeConfig;
}

/** One lifecycle rule as the provider takes it, with plain values so it can be checked before it is declared. */
export interface LifecycleRule {
    readonly id: string;
    readonly status: "Enabled";
    /** `{}` applies to the whole bucket; S3 requires a filter or it warns about the deprecated top-level prefix. */
    readonly filter: { readonly prefix?: string };
    readonly abortIncompleteMultipartUpload?: { readonly daysAfterInitiation: number };
    readonly expiration?: { readonly days?: number; readonly expiredObjectDeleteMarker?: boolean };
    readonly noncurrentVersionExpiration?: { readonly noncurrentDays: number };
    readonly transitions?: ReadonlyArray<{ readonly days: number; readonly storageClass: string }>;
}

/** True when a rule's filter can match an object under `prefix` (a whole-bucket rule matches everything). */
export function ruleMatchesPrefix(rule: LifecycleRule, prefix: string): boolean {
    const filter = rule.filter.prefix ?? "";
    return prefix.startsWith(filter) || filter.startsWith(prefix);
}

/** True when a rule deletes current objects (days or date), as opposed to old versions or orphaned delete markers. */
export function expiresCurrentObjects(rule: LifecycleRule): boolean {
    return rule.expiration?.days !== undefined;
}

/**
 * Refuses any rule that would expire current objects under checkpoints/. A streaming query whose offsets or
 * commits logs lose a file cannot restart from its checkpoint, and a new checkpoint re-reads the topic or skips
 * batches, so current checkpoint objects live as long as the stack. Noncurrent versions are another matter:
 * Spark only ever reads current versions, so the bucket-wide noncurrent-version expiration (which does match
 * checkpoints/) only reclaims the copies S3A's rename-as-copy-and-delete leaves behind.
 */
export function assertCheckpointsNeverExpire(rules: readonly LifecycleRule[]): void {
    const offending = rules.filter((r) => expiresCurrentObjects(r) && ruleMatchesPrefix(r, PREFIXES.checkpoints));
    if (offending.length > 0) {
        throw new Error(
            `lifecycle rule(s) ${offending.map((r) => `"${r.id}"`).join(", ")} would expire current objects under ${PREFIXES.checkpoints}; ` +
                `scope expiration rules to a prefix that does not overlap ${PREFIXES.checkpoints} (checkpoints must live as long as the stack)`,
        );
    }
}

/** The bucket's lifecycle rules, derived only from config so the preview is diff-stable. */
export function lifecycleRules(config: DataLakeConfig): LifecycleRule[] {
    const rules: LifecycleRule[] = [
        {
            id: "abort-incomplete-multipart-uploads",
            status: "Enabled",
            filter: {},
            abortIncompleteMultipartUpload: { daysAfterInitiation: config.abortIncompleteMultipartUploadDays },
        },
        {
            // Bucket-wide on purpose, checkpoints/ included: see assertCheckpointsNeverExpire. Removing delete markers
            // whose versions are all gone keeps listings of the busy checkpoint folders fast.
            id: "expire-noncurrent-versions",
            status: "Enabled",
            filter: {},
            noncurrentVersionExpiration: { noncurrentDays: config.noncurrentVersionExpirationDays },
            expiration: { expiredObjectDeleteMarker: true },
        },
        {
            id: "expire-logs",
            status: "Enabled",
            filter: { prefix: PREFIXES.logs },
            expiration: { days: config.logExpirationDays },
        },
    ];
    if (config.dataTransitionDays !== undefined) {
        rules.push({
            id: "transition-data",
            status: "Enabled",
            filter: { prefix: PREFIXES.data },
            transitions: [{ days: config.dataTransitionDays, storageClass: config.dataTransitionStorageClass }],
        });
    }
    if (config.deadLetterExpirationDays !== undefined) {
        rules.push({
            id: "expire-dead-letters",
            status: "Enabled",
            filter: { prefix: PREFIXES.deadLetter },
            expiration: { days: config.deadLetterExpirationDays },
        });
    }
    return rules;
}

/** Refuses a config that asks for both ends of the destroy behaviour (components/config/ checks this too; the Args type allows it). */
export function validateDataLakeConfig(config: DataLakeConfig): void {
    if (config.protect && config.forceDestroy) {
        throw new Error("dataLake.protect cannot be true together with dataLake.forceDestroy: a protected bucket is never deleted; pick one");
    }
}

/** KMS alias names allow letters, digits, '/', '_' and '-'; stack names may also hold '.'. */
function aliasName(project: string, stack: string, name: string): string {
    return `alias/${project}-${stack}-${name}`.replace(/[^A-Za-z0-9/_-]/g, "-");
}

/**
 * The one data lake bucket (data/, dead-letter/, checkpoints/, logs/, artifacts/) and the customer-managed key
 * that encrypts it. Readers and writers get S3 and KMS permissions in their own IAM policies; the key policy only
 * delegates to the account's IAM.
 */
export class DataLake extends pulumi.ComponentResource implements DataLakeRefs {
    public readonly bucketName: pulumi.Output<string>;
    public readonly bucketArn: pulumi.Output<string>;
    public readonly kmsKeyArn: pulumi.Output<string>;
    public readonly kmsKeyId: pulumi.Output<string>;
    /** The separate bucket the data lake's S3 server access logs go to. */
    public readonly accessLogBucketName: pulumi.Output<string>;

    constructor(name: string, args: DataLakeArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("spark-streaming:dataLake:DataLake", name, {}, opts);
        const config = args.config;
        validateDataLakeConfig(config);
        const rules = lifecycleRules(config);
        assertCheckpointsNeverExpire(rules);

        const parent = { parent: this };
        // Protected: `pulumi destroy` refuses, and even after an explicit unprotect the data and its key stay in
        // the account. The bucket's settings are retained with it, so a retained bucket keeps its encryption,
        // public access block and TLS-only policy.
        const kept = config.protect ? { ...parent, protect: true, retainOnDelete: true } : parent;
        const settings = config.protect ? { ...parent, retainOnDelete: true } : parent;

        const account = aws.getCallerIdentityOutput({}, parent).accountId;
        const partition = aws.getPartitionOutput({}, parent).partition;

        const key = new aws.kms.Key(
            `${name}-key`,
            {
                description: `Encrypts the ${name} bucket of ${pulumi.getProject()}/${pulumi.getStack()}`,
                enableKeyRotation: true,
                deletionWindowInDays: config.protect ? 30 : 7,
                // The standard statement: the account's IAM decides who may use the key. S3 needs no grant of its
                // own: it calls KMS with the requester's permissions, which the engines' roles carry.
                policy: pulumi.all([partition, account]).apply(([p, a]) =>
                    JSON.stringify({
                        Version: "2012-10-17",
                        Statement: [
                            {
                                Sid: "EnableIamPolicies",
                                Effect: "Allow",
                                Principal: { AWS: `arn:${p}:iam::${a}:root` },
                                Action: "kms:*",
                                Resource: "*",
                            },
                        ],
                    }),
                ),
            },
            kept,
        );
        new aws.kms.Alias(
            `${name}-key`,
            { name: aliasName(pulumi.getProject(), pulumi.getStack(), name), targetKeyId: key.keyId },
            settings,
        );

        const bucket = new aws.s3.Bucket(`${name}-bucket`, { forceDestroy: config.forceDestroy }, kept);

        new aws.s3.BucketOwnershipControls(
            `${name}-ownership`,
            { bucket: bucket.bucket, rule: { objectOwnership: "BucketOwnerEnforced" } },
            settings,
        );
        const publicAccess = new aws.s3.BucketPublicAccessBlock(
            `${name}-public-access`,
            { bucket: bucket.bucket, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
            settings,
        );
        new aws.s3.BucketServerSideEncryptionConfiguration(
            `${name}-encryption`,
            {
                bucket: bucket.bucket,
                rules: [
                    {
                        applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: key.arn },
                        // One data key per bucket instead of a KMS call per object: the consumer writes many small files.
                        bucketKeyEnabled: true,
                    },
                ],
            },
            settings,
        );
        const versioning = new aws.s3.BucketVersioning(
            `${name}-versioning`,
            { bucket: bucket.bucket, versioningConfiguration: { status: "Enabled" } },
            settings,
        );
        new aws.s3.BucketPolicy(
            `${name}-policy`,
            {
                bucket: bucket.bucket,
                policy: bucket.arn.apply((arn) => JSON.stringify({ Version: "2012-10-17", Statement: tlsOnlyStatements(arn) })),
            },
            // S3 answers OperationAborted when a bucket policy and a public access block are written at once.
            { ...settings, dependsOn: [publicAccess] },
        );
        new aws.s3.BucketLifecycleConfiguration(
            `${name}-lifecycle`,
            {
                bucket: bucket.bucket,
                rules: rules.map((r) => ({ ...r, transitions: r.transitions?.map((t) => ({ ...t })) })),
            },
            // Noncurrent-version rules only take hold once versioning is on, so they are written after it.
            { ...settings, dependsOn: [versioning] },
        );

        // Audit trail of every request to the bucket (S3 server access logging; README says why not CloudTrail data
        // events), delivered to a separate, locked-down bucket that does not log itself.
        const accessLogs = new AccessLogBucket(
            `${name}-access-logs`,
            { sourceBucketArns: [bucket.arn], expirationDays: config.accessLogExpirationDays, forceDestroy: config.forceDestroy, protect: config.protect },
            parent,
        );
        new aws.s3.BucketLogging(
            `${name}-logging`,
            {
                bucket: bucket.bucket,
                targetBucket: accessLogs.bucketName,
                targetPrefix: bucket.bucket.apply(accessLogPrefix),
                // Date-partitioned keys (by request time), so a day's logs are one prefix to read or query.
                targetObjectKeyFormat: { partitionedPrefix: { partitionDateSource: "EventTime" } },
            },
            settings,
        );

        this.accessLogBucketName = accessLogs.bucketName;
        this.bucketName = bucket.bucket;
        this.bucketArn = bucket.arn;
        this.kmsKeyArn = key.arn;
        this.kmsKeyId = key.keyId;
        this.registerOutputs({ bucketName: this.bucketName, bucketArn: this.bucketArn, kmsKeyArn: this.kmsKeyArn, kmsKeyId: this.kmsKeyId, accessLogBucketName: this.accessLogBucketName });
    }

    /** `s3://<bucket>/<prefix>`, for the locations in components/locations.ts. */
    public uri(prefix: string): pulumi.Output<string> {
        return s3Uri(this.bucketName, prefix);
    }
}
