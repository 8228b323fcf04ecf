import { packPolicies } from "./pack";
import { BUCKET_POLICY_TYPE, ENCRYPTION_TYPES, PUBLIC_ACCESS_BLOCK_TYPE } from "./s3";
import { StackResourceSpec, stackViolations, UNKNOWN_STRING, urnOf } from "./testing";

const pack = packPolicies();
const BUCKET = "aws:s3/bucket:Bucket";
const bucketUrn = urnOf(BUCKET, "lake");

const tlsOnly = JSON.stringify({
    Version: "2012-10-17",
    Statement: [
        {
            Sid: "DenyInsecureTransport",
            Effect: "Deny",
            Principal: "*",
            Action: "s3:*",
            Resource: ["arn:aws:s3:::lake-bucket", "arn:aws:s3:::lake-bucket/*"],
            Condition: { Bool: { "aws:SecureTransport": "false" } },
        },
    ],
});

/** A bucket with its three siblings, each pointing at it by name; `override` replaces or removes siblings. */
function lake(override: Partial<Record<"pab" | "sse" | "policy", StackResourceSpec | null>> = {}): StackResourceSpec[] {
    const siblings: Record<string, StackResourceSpec> = {
        pab: { type: PUBLIC_ACCESS_BLOCK_TYPE, name: "lake-pab", props: { bucket: "lake-bucket", blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true } },
        sse: { type: ENCRYPTION_TYPES[0], name: "lake-sse", props: { bucket: "lake-bucket", rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: "arn:aws:kms:eu-west-1:123456789012:key/k" }, bucketKeyEnabled: true }] } },
        policy: { type: BUCKET_POLICY_TYPE, name: "lake-policy", props: { bucket: "lake-bucket", policy: tlsOnly } },
    };
    const chosen = Object.entries(siblings)
        .map(([k, v]) => (k in override ? override[k as keyof typeof override] : v))
        .filter((v): v is StackResourceSpec => v !== null && v !== undefined);
    return [{ type: BUCKET, name: "lake", props: { bucket: "lake-bucket" } }, ...chosen];
}

const s3Messages = async (resources: StackResourceSpec[]) => (await stackViolations(pack, resources)).filter((v) => v.policy === "s3-bucket-secured").map((v) => v.message);

describe("s3-bucket-secured", () => {
    test("a bucket with a full public access block, KMS encryption and a TLS-only policy passes", async () => {
        expect(await s3Messages(lake())).toEqual([]);
    });

    test("a bucket without a public access block is reported against the bucket", async () => {
        const found = (await stackViolations(pack, lake({ pab: null }))).filter((v) => v.policy === "s3-bucket-secured");
        expect(found).toEqual([expect.objectContaining({ policy: "s3-bucket-secured", enforcementLevel: "mandatory", urn: bucketUrn, message: expect.stringContaining("has no public access block") })]);
    });

    test("a public access block with one flag false names the flag", async () => {
        const pab: StackResourceSpec = { type: PUBLIC_ACCESS_BLOCK_TYPE, name: "lake-pab", props: { bucket: "lake-bucket", blockPublicAcls: true, blockPublicPolicy: false, ignorePublicAcls: true, restrictPublicBuckets: true } };
        expect(await s3Messages(lake({ pab }))).toEqual([expect.stringContaining("blockPublicPolicy is false")]);
    });

    test("a public access block for another bucket does not protect this one", async () => {
        const pab: StackResourceSpec = { type: PUBLIC_ACCESS_BLOCK_TYPE, name: "other-pab", props: { bucket: "other-bucket", blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true } };
        expect(await s3Messages(lake({ pab }))).toEqual([expect.stringContaining("has no public access block")]);
    });

    test("a bucket without default encryption is reported", async () => {
        expect(await s3Messages(lake({ sse: null }))).toEqual([expect.stringContaining("no default server-side encryption")]);
    });

    test("a bucket whose policy does not deny non-TLS access is reported", async () => {
        const allowRead = JSON.stringify({ Version: "2012-10-17", Statement: { Effect: "Allow", Principal: { AWS: "arn:aws:iam::123456789012:root" }, Action: "s3:GetObject", Resource: "*" } });
        const policy: StackResourceSpec = { type: BUCKET_POLICY_TYPE, name: "lake-policy", props: { bucket: "lake-bucket", policy: allowRead } };
        expect(await s3Messages(lake({ policy }))).toEqual([expect.stringContaining("does not deny non-TLS access")]);
        expect(await s3Messages(lake({ policy: null }))).toEqual([expect.stringContaining("does not deny non-TLS access")]);
    });

    test("siblings are matched through the engine's property dependency when the bucket id is unknown (first preview)", async () => {
        const unknownTarget = (spec: StackResourceSpec): StackResourceSpec => ({ ...spec, props: { ...spec.props, bucket: UNKNOWN_STRING }, propertyDependencies: { bucket: [bucketUrn] } });
        const [bucket, pab, sse, policy] = lake();
        expect(await s3Messages([bucket, unknownTarget(pab), unknownTarget(sse), unknownTarget(policy)])).toEqual([]);
        const openPab = unknownTarget({ ...pab, props: { ...pab.props, restrictPublicBuckets: false } });
        expect(await s3Messages([bucket, openPab, unknownTarget(sse), unknownTarget(policy)])).toEqual([expect.stringContaining("restrictPublicBuckets is false")]);
    });

    test("unknown values during a preview are not reported (an unknown policy document, an unknown flag)", async () => {
        const [bucket, pab, sse, policy] = lake();
        const unknownPolicy = { ...policy, props: { ...policy.props, policy: UNKNOWN_STRING } };
        const unknownFlag = { ...pab, props: { ...pab.props, blockPublicPolicy: UNKNOWN_STRING } };
        expect(await s3Messages([bucket, unknownFlag, sse, unknownPolicy])).toEqual([]);
    });

    test("a sibling whose target bucket is unknown and has no recorded dependency is not held against any bucket", async () => {
        const [bucket, pab, sse, policy] = lake();
        expect(await s3Messages([bucket, { ...pab, props: { ...pab.props, bucket: UNKNOWN_STRING } }, sse, policy])).toEqual([]);
    });
});

describe("s3-access-logging", () => {
    const LOGGING = "aws:s3/bucketLogging:BucketLogging";
    const logBucket: StackResourceSpec = { type: BUCKET, name: "logs", props: { bucket: "logs-bucket" } };
    const logging = (bucket: string, target: string): StackResourceSpec => ({ type: LOGGING, name: `${bucket}-logging`, props: { bucket, targetBucket: target, targetPrefix: `s3/${bucket}/` } });
    const messages = async (resources: StackResourceSpec[]) => (await stackViolations(pack, resources)).filter((v) => v.policy === "s3-access-logging");

    test("a data bucket logging to a separate log bucket passes, and the log bucket needs no logging of its own", async () => {
        expect(await messages([...lake(), logBucket, logging("lake-bucket", "logs-bucket")])).toEqual([]);
    });

    test("a bucket without access logging is a mandatory violation against it", async () => {
        expect(await messages(lake())).toEqual([
            expect.objectContaining({ enforcementLevel: "mandatory", urn: bucketUrn, message: expect.stringContaining("has no S3 server access logging") }),
        ]);
    });

    test("a bucket that logs to itself is reported", async () => {
        expect(await messages([...lake(), logging("lake-bucket", "lake-bucket")])).toEqual([expect.objectContaining({ message: expect.stringContaining("delivers its access logs to itself") })]);
    });

    test("a logging configuration pointing at a bucket still to be created (unknown) is not reported", async () => {
        expect(await messages([...lake(), { type: LOGGING, name: "l", props: { bucket: UNKNOWN_STRING, targetBucket: UNKNOWN_STRING } }])).toEqual([]);
    });
});
