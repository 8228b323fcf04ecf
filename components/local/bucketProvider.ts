import type * as pulumi from "@pulumi/pulumi";
import type { S3Client } from "@aws-sdk/client-s3";

// A Pulumi dynamic provider for a bucket on an S3-compatible endpoint (the local engine's object store, or one the
// user already runs). It creates the bucket when it is missing and the "directory" markers Spark needs to exist
// before it writes there (the event-log folder); it never deletes anything: a bucket outlives the stack, and the
// container store's data lives (and dies) with its named volume. It talks only to the configured endpoint.
//
// Pulumi serializes these functions into the state and runs them in a fresh process on later operations, so this
// module is self-contained: the SDK is `require`d inside the functions and nothing captures a module-level value.

/** The inputs as the provider receives them (every Input resolved). */
export interface S3BucketInputs {
    /** `http(s)://host:port` as this machine (where Pulumi runs) reaches the store. */
    readonly endpoint: string;
    readonly region: string;
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    /** The bucket. A new name is a new bucket (replace); the old one is left as it is. */
    readonly bucket: string;
    /** Keys ending in "/" created as empty objects if missing, e.g. `logs/spark-events/`. */
    readonly markers: string[];
    /** How long create and update retry while the endpoint refuses connections, in milliseconds. */
    readonly timeoutMs: number;
}

export type S3BucketOutputs = S3BucketInputs;

/** Default bound of the retries: the store answers within seconds of its health check passing. */
export const DEFAULT_BUCKET_TIMEOUT_MS = 120_000;

function s3Client(inputs: S3BucketInputs): S3Client {
    const sdk = require("@aws-sdk/client-s3") as typeof import("@aws-sdk/client-s3");
    return new sdk.S3Client({
        endpoint: inputs.endpoint,
        region: inputs.region,
        forcePathStyle: true,
        credentials: { accessKeyId: inputs.accessKeyId, secretAccessKey: inputs.secretAccessKey },
        // S3-compatible stores do not all take the SDK's default CRC checksums on every request.
        requestChecksumCalculation: "WHEN_REQUIRED",
        responseChecksumValidation: "WHEN_REQUIRED",
        maxAttempts: 3,
    });
}

/** An error naming the bucket, the endpoint and what the store said. */
function bucketError(inputs: S3BucketInputs, what: string, err: unknown): Error {
    const e = err as { name?: string; message?: string };
    return new Error(`bucket ${inputs.bucket} at ${inputs.endpoint}: ${what} failed: ${e?.name ?? ""} ${e?.message ?? String(err)}`.replace(/\s+/g, " ").trim());
}

/** Connection refused/reset and 5xx: the store is (re)starting; anything else is an answer. */
function isTransient(err: unknown): boolean {
    const e = err as { code?: string; name?: string; $metadata?: { httpStatusCode?: number } };
    const status = e?.$metadata?.httpStatusCode;
    return ["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT"].includes(e?.code ?? "") || (status !== undefined && status >= 500) || e?.name === "TimeoutError";
}

/** Makes sure the bucket and its markers exist. Idempotent: an existing bucket and existing markers are left as they are. */
export async function ensureBucket(inputs: S3BucketInputs): Promise<void> {
    const sdk = require("@aws-sdk/client-s3") as typeof import("@aws-sdk/client-s3");
    const client = s3Client(inputs);
    const deadline = Date.now() + inputs.timeoutMs;
    const retrying = async <T>(what: string, call: () => Promise<T>): Promise<T> => {
        for (;;) {
            try {
                return await call();
            } catch (err) {
                if (!isTransient(err) || Date.now() > deadline) {
                    throw bucketError(inputs, what, err);
                }
                await new Promise((r) => setTimeout(r, 1000));
            }
        }
    };
    try {
        const exists = await retrying("HeadBucket", async () => {
            try {
                await client.send(new sdk.HeadBucketCommand({ Bucket: inputs.bucket }));
                return true;
            } catch (err) {
                const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
                if (status === 404) {
                    return false;
                }
                throw err;
            }
        });
        if (!exists) {
            await retrying("CreateBucket", async () => {
                try {
                    await client.send(new sdk.CreateBucketCommand({ Bucket: inputs.bucket }));
                } catch (err) {
                    if ((err as { name?: string }).name !== "BucketAlreadyOwnedByYou") {
                        throw err;
                    }
                }
            });
        }
        for (const key of inputs.markers) {
            const listed = await retrying(`ListObjectsV2 ${key}`, () =>
                client.send(new sdk.ListObjectsV2Command({ Bucket: inputs.bucket, Prefix: key, MaxKeys: 1 })),
            );
            if ((listed.KeyCount ?? 0) === 0) {
                await retrying(`PutObject ${key}`, () => client.send(new sdk.PutObjectCommand({ Bucket: inputs.bucket, Key: key, Body: new Uint8Array(0), ContentLength: 0 })));
            }
        }
    } finally {
        client.destroy();
    }
}

export class S3BucketProvider implements pulumi.dynamic.ResourceProvider {
    async check(_olds: S3BucketInputs, news: S3BucketInputs): Promise<pulumi.dynamic.CheckResult> {
        const failures: pulumi.dynamic.CheckFailure[] = [];
        if (!/^https?:\/\/[^/]+$/.test(news.endpoint ?? "")) {
            failures.push({ property: "endpoint", reason: `must be http(s)://host[:port]; got ${JSON.stringify(news.endpoint)}` });
        }
        if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(news.bucket ?? "")) {
            failures.push({ property: "bucket", reason: `must be an S3 bucket name; got ${JSON.stringify(news.bucket)}` });
        }
        for (const m of news.markers ?? []) {
            if (!m.endsWith("/") || m.startsWith("/")) {
                failures.push({ property: "markers", reason: `a marker is a folder key such as "logs/spark-events/"; got ${JSON.stringify(m)}` });
            }
        }
        return { inputs: news, failures };
    }

    async create(inputs: S3BucketInputs): Promise<pulumi.dynamic.CreateResult> {
        await ensureBucket(inputs);
        return { id: inputs.bucket, outs: inputs };
    }

    async diff(_id: pulumi.ID, olds: S3BucketOutputs, news: S3BucketInputs): Promise<pulumi.dynamic.DiffResult> {
        const keys = ["endpoint", "region", "accessKeyId", "secretAccessKey", "bucket", "markers", "timeoutMs"] as const;
        const changed = keys.filter((k) => JSON.stringify(olds[k]) !== JSON.stringify(news[k]));
        return {
            changes: changed.length > 0,
            // Another bucket is another resource; the old bucket keeps its data.
            replaces: changed.filter((k) => k === "bucket"),
            deleteBeforeReplace: false,
        };
    }

    async update(_id: pulumi.ID, _olds: S3BucketOutputs, news: S3BucketInputs): Promise<pulumi.dynamic.UpdateResult> {
        await ensureBucket(news);
        return { outs: news };
    }

    async delete(): Promise<void> {
        // Deliberately nothing: see the top of this file.
    }
}
