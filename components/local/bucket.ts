import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_BUCKET_TIMEOUT_MS, S3BucketProvider } from "./bucketProvider";

export interface S3BucketArgs {
    /** `http(s)://host:port` as this machine reaches the store (the published port of the container store). */
    readonly endpoint: pulumi.Input<string>;
    readonly region: pulumi.Input<string>;
    readonly accessKeyId: pulumi.Input<string>;
    /** Kept secret in the state. */
    readonly secretAccessKey: pulumi.Input<string>;
    readonly bucket: pulumi.Input<string>;
    /** Folder keys that must exist before Spark writes below them, e.g. `logs/spark-events/`. */
    readonly markers: string[];
    /** How long creation retries while the endpoint is not answering, ms. Default 2 min. */
    readonly timeoutMs?: number;
}

/** A bucket (and folder markers) on an S3-compatible endpoint, created if missing and never deleted (see bucketProvider.ts). */
export class S3Bucket extends pulumi.dynamic.Resource {
    // `declare`: with ES2022 class fields, a plain field would reset the outputs the base constructor just set.
    declare public readonly bucket: pulumi.Output<string>;

    constructor(name: string, args: S3BucketArgs, opts: pulumi.CustomResourceOptions = {}) {
        super(
            new S3BucketProvider(),
            name,
            {
                endpoint: args.endpoint,
                region: args.region,
                accessKeyId: args.accessKeyId,
                secretAccessKey: pulumi.secret(args.secretAccessKey),
                bucket: args.bucket,
                markers: [...args.markers].sort(),
                timeoutMs: args.timeoutMs ?? DEFAULT_BUCKET_TIMEOUT_MS,
            },
            { additionalSecretOutputs: ["secretAccessKey"], ...opts },
            "local",
            "S3Bucket",
        );
    }
}
