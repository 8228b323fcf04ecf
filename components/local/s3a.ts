import * as fs from "fs";
import * as path from "path";
import { CONSUMER_CONTEXT } from "../buildContext";

// S3A against an S3-compatible store, from one place: the settings every such endpoint needs live in
// jobs/streaming-consumer/s3-compatible.json, which the job's own tests (tests/helpers.py) read too; the endpoint,
// region and credentials are the stack's.

/** The file both this program and the job's tests read. */
export const S3_COMPATIBLE_FILE = path.join(CONSUMER_CONTEXT, "s3-compatible.json");

/**
 * S3A's provider for the AWS SDK v1 bundle Hadoop 3.3.4 uses: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY from the
 * process environment. Credentials then travel as container environment (a secret in the state), never on a
 * command line where `ps` shows them.
 */
export const ENV_CREDENTIALS_PROVIDER = "com.amazonaws.auth.EnvironmentVariableCredentialsProvider";

/** The fixed settings for S3-compatible endpoints (path-style access, change detection). */
export function s3CompatibleSettings(file: string = S3_COMPATIBLE_FILE): Record<string, string> {
    const parsed = JSON.parse(fs.readFileSync(file, "utf8")) as { settings?: Record<string, unknown> };
    const settings = parsed.settings ?? {};
    for (const [k, v] of Object.entries(settings)) {
        if (!k.startsWith("fs.s3a.") || typeof v !== "string") {
            throw new Error(`${file}: settings.${k} must be an fs.s3a.* key with a string value; got ${JSON.stringify(v)}`);
        }
    }
    return settings as Record<string, string>;
}

/**
 * Every Hadoop setting S3A needs for `endpoint` (http(s)://host:port as the Spark processes reach it), as
 * `fs.s3a.*` keys, sorted. Credentials come from the environment (ENV_CREDENTIALS_PROVIDER).
 */
export function s3aHadoopConf(endpoint: string, region: string): Record<string, string> {
    const conf: Record<string, string> = {
        ...s3CompatibleSettings(),
        "fs.s3a.endpoint": endpoint,
        "fs.s3a.endpoint.region": region,
        "fs.s3a.connection.ssl.enabled": String(endpoint.startsWith("https://")),
        "fs.s3a.aws.credentials.provider": ENV_CREDENTIALS_PROVIDER,
    };
    return Object.fromEntries(Object.keys(conf).sort().map((k) => [k, conf[k]]));
}

/**
 * The same settings as Spark settings (`spark.hadoop.fs.s3a.*`). The local engine's locations are `s3a://` URIs:
 * S3A's FileContext binding (which the file sink's log and the checkpoint manager use) only serves its own scheme.
 */
export function s3aSparkConf(endpoint: string, region: string): Record<string, string> {
    const conf: Record<string, string> = {};
    for (const [k, v] of Object.entries(s3aHadoopConf(endpoint, region))) {
        conf[`spark.hadoop.${k}`] = v;
    }
    return conf;
}
