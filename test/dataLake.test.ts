import { DataLakeConfig, parsePlatformConfig, RawConfig } from "../components/config";
import { assertCheckpointsNeverExpire, DataLake, expiresCurrentObjects, LifecycleRule, lifecycleRules, ruleMatchesPrefix, validateDataLakeConfig } from "../components/dataLake";
import { checkpointPrefix, PREFIXES } from "../components/locations";
import { ACCOUNT_ID, promiseOf, Registered, registered, settle, setupMocks } from "./support/mocks";

const dataLakeConfig = (raw: RawConfig["dataLake"]): DataLakeConfig => parsePlatformConfig({ dataLake: raw }, "spark-streaming", "test").dataLake;

/** Like prod: protected, data/ moves to a colder class after 90 days. */
const protectedConfig = dataLakeConfig({ noncurrentVersionExpirationDays: 90, dataTransitionDays: 90, dataTransitionStorageClass: "GLACIER_IR", logExpirationDays: 365 });
/** Like dev: disposable, dead letters expire. */
const disposableConfig = dataLakeConfig({ forceDestroy: true, deadLetterExpirationDays: 30, logExpirationDays: 14 });

/** The data lake's own children (the access-log bucket is a component of its own, tested below). */
function childrenOf(name: string): Registered[] {
    return registered.filter((r) => r.name.startsWith(`${name}-`) && !r.name.startsWith(`${name}-access-logs-`) && r.custom);
}

function accessLogChild(name: string, type: string): Registered {
    const found = registered.filter((r) => r.name.startsWith(`${name}-access-logs-`) && r.type === type);
    expect(found).toHaveLength(1);
    return found[0];
}

function child(name: string, type: string): Registered {
    const found = childrenOf(name).filter((r) => r.type === type);
    expect(found).toHaveLength(1);
    return found[0];
}

const lakes: Record<string, DataLake> = {};

beforeAll(async () => {
    await setupMocks();
    lakes.prot = new DataLake("prot", { config: protectedConfig });
    lakes.disp = new DataLake("disp", { config: disposableConfig });
    await settle();
});

describe("encryption", () => {
    test("the customer-managed key rotates and has an alias", () => {
        const key = child("prot", "aws:kms/key:Key");
        expect(key.inputs.enableKeyRotation).toBe(true);
        const alias = child("prot", "aws:kms/alias:Alias");
        expect(alias.inputs).toMatchObject({ name: "alias/spark-streaming-test-prot", targetKeyId: "prot-key-key-id" });
    });

    test("the key policy only delegates to the account's IAM", () => {
        const policy = JSON.parse(child("prot", "aws:kms/key:Key").inputs.policy);
        expect(policy.Statement).toEqual([
            { Sid: "EnableIamPolicies", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT_ID}:root` }, Action: "kms:*", Resource: "*" },
        ]);
    });

    test("default encryption is SSE-KMS with the data lake key and a bucket key", () => {
        const sse = child("prot", "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration");
        const key = child("prot", "aws:kms/key:Key");
        expect(sse.inputs.bucket).toBe("prot-bucket-123456789012");
        expect(sse.inputs.rules).toEqual([
            {
                applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: expect.stringContaining(key.name) },
                bucketKeyEnabled: true,
            },
        ]);
    });
});

describe("bucket settings", () => {
    test("versioning is enabled", () => {
        expect(child("prot", "aws:s3/bucketVersioning:BucketVersioning").inputs.versioningConfiguration).toEqual({ status: "Enabled" });
    });

    test("all four public access blocks are on", () => {
        expect(child("prot", "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs).toMatchObject({
            blockPublicAcls: true,
            blockPublicPolicy: true,
            ignorePublicAcls: true,
            restrictPublicBuckets: true,
        });
    });

    test("object ownership is enforced for the bucket owner (ACLs off)", () => {
        expect(child("prot", "aws:s3/bucketOwnershipControls:BucketOwnershipControls").inputs.rule).toEqual({ objectOwnership: "BucketOwnerEnforced" });
    });

    test("the bucket policy denies every request without TLS, on the bucket and its objects", () => {
        const policy = JSON.parse(child("prot", "aws:s3/bucketPolicy:BucketPolicy").inputs.policy);
        const arn = "arn:aws:s3:::prot-bucket-123456789012";
        expect(policy.Statement).toContainEqual({
            Sid: "DenyInsecureTransport",
            Effect: "Deny",
            Principal: "*",
            Action: "s3:*",
            Resource: [arn, `${arn}/*`],
            Condition: { Bool: { "aws:SecureTransport": "false" } },
        });
        expect(policy.Statement.every((s: { Effect: string }) => s.Effect === "Deny")).toBe(true);
    });
});

describe("lifecycle", () => {
    const registeredRules = (name: string): LifecycleRule[] => child(name, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs.rules;

    test("incomplete multipart uploads are aborted across the bucket", () => {
        expect(registeredRules("prot")).toContainEqual(
            expect.objectContaining({ filter: {}, abortIncompleteMultipartUpload: { daysAfterInitiation: protectedConfig.abortIncompleteMultipartUploadDays } }),
        );
    });

    test("noncurrent versions expire across the bucket after the configured days", () => {
        expect(registeredRules("prot")).toContainEqual(expect.objectContaining({ filter: {}, noncurrentVersionExpiration: { noncurrentDays: 90 } }));
    });

    test("logs/ expire after the configured days", () => {
        expect(registeredRules("disp")).toContainEqual(expect.objectContaining({ filter: { prefix: "logs/" }, expiration: { days: 14 } }));
    });

    test("no rule that expires current objects matches checkpoints/", () => {
        for (const name of ["prot", "disp"]) {
            const rules = registeredRules(name);
            expect(rules.some(expiresCurrentObjects)).toBe(true);
            const hitting = rules.filter((r) => expiresCurrentObjects(r) && ruleMatchesPrefix(r, checkpointPrefix("events-consumer")));
            expect(hitting).toEqual([]);
        }
    });

    test("a bucket-wide or checkpoint-scoped expiration of current objects is refused", () => {
        const rule = (filter: { prefix?: string }): LifecycleRule => ({ id: "bad", status: "Enabled", filter, expiration: { days: 30 } });
        expect(() => assertCheckpointsNeverExpire([rule({})])).toThrow(/"bad" would expire current objects under checkpoints\//);
        expect(() => assertCheckpointsNeverExpire([rule({ prefix: "checkpoints/events-consumer/" })])).toThrow(/would expire current objects/);
        expect(() => assertCheckpointsNeverExpire([rule({ prefix: "check" })])).toThrow(/would expire current objects/);
        expect(() => assertCheckpointsNeverExpire([rule({ prefix: PREFIXES.logs })])).not.toThrow();
    });

    test("data/ moves to the configured storage class only when configured", () => {
        expect(registeredRules("prot")).toContainEqual(
            expect.objectContaining({ filter: { prefix: "data/" }, transitions: [{ days: 90, storageClass: "GLACIER_IR" }] }),
        );
        expect(registeredRules("disp").filter((r) => r.transitions !== undefined)).toEqual([]);
    });

    test("dead letters expire only when configured", () => {
        expect(registeredRules("disp")).toContainEqual(expect.objectContaining({ filter: { prefix: "dead-letter/" }, expiration: { days: 30 } }));
        expect(registeredRules("prot").filter((r) => r.filter.prefix === "dead-letter/")).toEqual([]);
    });

    test("rule ids are unique (S3 rejects duplicates)", () => {
        const ids = lifecycleRules({ ...disposableConfig, dataTransitionDays: 60 }).map((r) => r.id);
        expect(new Set(ids).size).toBe(ids.length);
        expect(ids).toHaveLength(5);
    });
});

describe("destroy behaviour", () => {
    test("protected: bucket and key are protected and retained, the bucket is never force-destroyed", () => {
        for (const type of ["aws:s3/bucket:Bucket", "aws:kms/key:Key"]) {
            expect(child("prot", type)).toMatchObject({ protect: true, retainOnDelete: true });
        }
        expect(child("prot", "aws:s3/bucket:Bucket").inputs.forceDestroy).toBeFalsy();
        expect(child("prot", "aws:kms/key:Key").inputs.deletionWindowInDays).toBe(30);
    });

    test("protected: the bucket's settings are retained with it", () => {
        const settings = childrenOf("prot").filter((r) => !["aws:s3/bucket:Bucket", "aws:kms/key:Key"].includes(r.type));
        expect(settings).toHaveLength(8);
        for (const r of settings) {
            expect({ name: r.name, retainOnDelete: r.retainOnDelete }).toEqual({ name: r.name, retainOnDelete: true });
        }
    });

    test("disposable: bucket force-destroyed, nothing protected or retained, short key deletion window", () => {
        expect(child("disp", "aws:s3/bucket:Bucket").inputs.forceDestroy).toBe(true);
        for (const r of childrenOf("disp")) {
            expect({ name: r.name, protect: r.protect, retainOnDelete: r.retainOnDelete }).toEqual({ name: r.name, protect: false, retainOnDelete: false });
        }
        expect(child("disp", "aws:kms/key:Key").inputs.deletionWindowInDays).toBe(7);
    });

    test("protect together with forceDestroy is refused", () => {
        expect(() => validateDataLakeConfig({ ...disposableConfig, protect: true })).toThrow(
            /dataLake\.protect cannot be true together with dataLake\.forceDestroy/,
        );
    });
});

describe("access logging", () => {
    const logBucketArn = "arn:aws:s3:::prot-access-logs-bucket-123456789012";

    test("the data lake's S3 server access logs go to the separate log bucket, date-partitioned under one prefix", () => {
        const logging = child("prot", "aws:s3/bucketLogging:BucketLogging").inputs;
        expect(logging).toMatchObject({
            bucket: "prot-bucket-123456789012",
            targetBucket: "prot-access-logs-bucket-123456789012",
            targetPrefix: "s3/prot-bucket-123456789012/",
            targetObjectKeyFormat: { partitionedPrefix: { partitionDateSource: "EventTime" } },
        });
    });

    test("the log bucket never logs to itself: the only logging configuration is the data lake's", () => {
        const all = registered.filter((r) => r.type === "aws:s3/bucketLogging:BucketLogging");
        expect(all.map((r) => r.inputs.bucket).sort()).toEqual(["disp-bucket-123456789012", "prot-bucket-123456789012"]);
        for (const r of all) {
            expect(r.inputs.targetBucket).not.toBe(r.inputs.bucket);
        }
    });

    test("the log bucket blocks public access, enforces bucket-owner ownership and uses SSE-S3 (what log delivery needs)", () => {
        expect(accessLogChild("prot", "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs).toMatchObject({
            blockPublicAcls: true,
            blockPublicPolicy: true,
            ignorePublicAcls: true,
            restrictPublicBuckets: true,
        });
        expect(accessLogChild("prot", "aws:s3/bucketOwnershipControls:BucketOwnershipControls").inputs.rule).toEqual({ objectOwnership: "BucketOwnerEnforced" });
        expect(accessLogChild("prot", "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration").inputs.rules).toEqual([
            { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } },
        ]);
    });

    test("the log bucket policy is TLS-only and allows nobody but S3's logging service, for the data lake of this account", () => {
        const policy = JSON.parse(accessLogChild("prot", "aws:s3/bucketPolicy:BucketPolicy").inputs.policy);
        const allows = policy.Statement.filter((s: any) => s.Effect === "Allow");
        expect(allows).toEqual([
            {
                Sid: "S3ServerAccessLogDelivery",
                Effect: "Allow",
                Principal: { Service: "logging.s3.amazonaws.com" },
                Action: "s3:PutObject",
                Resource: `${logBucketArn}/*`,
                Condition: { ArnLike: { "aws:SourceArn": ["arn:aws:s3:::prot-bucket-123456789012"] }, StringEquals: { "aws:SourceAccount": ACCOUNT_ID } },
            },
        ]);
        const denies = policy.Statement.filter((s: any) => s.Effect === "Deny");
        expect(denies.map((s: any) => s.Condition)).toEqual([{ Bool: { "aws:SecureTransport": "false" } }, { NumericLessThan: { "s3:TlsVersion": 1.2 } }]);
    });

    test("log objects expire after dataLake.accessLogExpirationDays", () => {
        const rules = accessLogChild("prot", "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs.rules;
        expect(rules[0]).toMatchObject({ status: "Enabled", expiration: { days: 365 } });
    });

    test("the log bucket follows the data lake's destroy behaviour: protected and retained, or force-destroyed", () => {
        const prot = accessLogChild("prot", "aws:s3/bucket:Bucket");
        expect({ protect: prot.protect, retainOnDelete: prot.retainOnDelete, forceDestroy: prot.inputs.forceDestroy }).toEqual({ protect: true, retainOnDelete: true, forceDestroy: false });
        const disp = accessLogChild("disp", "aws:s3/bucket:Bucket");
        expect({ protect: disp.protect, retainOnDelete: disp.retainOnDelete, forceDestroy: disp.inputs.forceDestroy }).toEqual({ protect: false, retainOnDelete: false, forceDestroy: true });
    });
});

describe("outputs", () => {
    test("expose the bucket, its ARN and the key", async () => {
        const lake = lakes.prot;
        expect(await promiseOf(lake.bucketName)).toBe("prot-bucket-123456789012");
        expect(await promiseOf(lake.bucketArn)).toBe("arn:aws:s3:::prot-bucket-123456789012");
        expect(await promiseOf(lake.kmsKeyArn)).toMatch(/^arn:aws:kms:.*prot-key$/);
        expect(await promiseOf(lake.kmsKeyId)).toBe("prot-key-key-id");
        expect(await promiseOf(lake.uri(checkpointPrefix("events-consumer")))).toBe("s3://prot-bucket-123456789012/checkpoints/events-consumer/");
    });
});

test("every child is parented to its component", () => {
    for (const name of ["prot", "disp"]) {
        const component = registered.find((r) => r.type === "spark-streaming:dataLake:DataLake" && r.name === name)!;
        const children = childrenOf(name);
        expect(children).toHaveLength(10);
        for (const c of children) {
            expect({ child: c.name, parent: c.parent }).toEqual({ child: c.name, parent: component.urn });
        }
    }
});
