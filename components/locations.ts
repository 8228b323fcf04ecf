import * as pulumi from "@pulumi/pulumi";

// The data lake's layout. A checkpoint and its output folder are a pair: a new checkpoint against an old output
// silently skips batches the file-sink log already has, so none of these may change for the life of a stack.

/** Prefixes of the one data lake bucket. */
export const PREFIXES = {
    data: "data/",
    deadLetter: "dead-letter/",
    checkpoints: "checkpoints/",
    logs: "logs/",
    artifacts: "artifacts/",
} as const;

/** Where the consumer's checkpoints live. Never changes for the life of a stack: a new checkpoint re-reads the topic. */
export function checkpointPrefix(consumer: string): string {
    return `${PREFIXES.checkpoints}${consumer}/`;
}

/** Where the valid rows of a topic land (year=/month=/day=/hour= below it). */
export function outputPrefix(topic: string): string {
    return `${PREFIXES.data}${topic}/`;
}

/** Where the invalid records of a topic land, with the reason they were rejected. */
export function deadLetterPrefix(topic: string): string {
    return `${PREFIXES.deadLetter}${topic}/`;
}

/** Spark event logs, read by the history server. */
export const SPARK_EVENTS_PREFIX = `${PREFIXES.logs}spark-events/`;

/** `s3://bucket/prefix` for an Output bucket name (`s3a://` where Spark reaches the bucket through S3A by that scheme). */
export function s3Uri(bucket: pulumi.Input<string>, prefix: string, scheme: "s3" | "s3a" = "s3"): pulumi.Output<string> {
    return pulumi.interpolate`${scheme}://${bucket}/${prefix}`;
}
