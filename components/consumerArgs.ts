import * as pulumi from "@pulumi/pulumi";
import { ConsumerConfig, MAX_STOP_GRACE_SECONDS } from "./config";

// The consumer's command line, built in one place so every engine starts the same job the same way.
// Flags are the job's own (jobs/streaming-consumer, `python -m streaming_consumer --help`).

/** What an engine knows about where the consumer reads and writes. */
export interface ConsumerWiring {
    readonly bootstrapServers: pulumi.Input<string>;
    readonly kafkaAuth: "iam" | "none";
    readonly output: pulumi.Input<string>;
    readonly deadLetter: pulumi.Input<string>;
    readonly checkpoint: pulumi.Input<string>;
    /** Engine-specific Spark settings (e.g. the S3 filesystem on plain EC2); the user's `consumer.sparkConf` wins. */
    readonly engineSparkConf?: Record<string, string>;
}

/** The job's flags, in a fixed order (sorted `--conf`s) so an unchanged config renders unchanged. */
export function consumerJobArgs(consumer: ConsumerConfig, wiring: ConsumerWiring): pulumi.Output<string[]> {
    const conf = { ...(wiring.engineSparkConf ?? {}), ...consumer.sparkConf };
    return pulumi
        .all([wiring.bootstrapServers, wiring.output, wiring.deadLetter, wiring.checkpoint])
        .apply(([bootstrap, output, deadLetter, checkpoint]) => [
            "--bootstrap-servers", bootstrap,
            "--topic", consumer.topic,
            "--output", output,
            "--dead-letter", deadLetter,
            "--checkpoint", checkpoint,
            "--trigger-interval", consumer.triggerInterval,
            "--max-offsets-per-trigger", String(consumer.maxOffsetsPerTrigger),
            "--starting-offsets", consumer.startingOffsets,
            "--kafka-auth", wiring.kafkaAuth,
            "--stop-grace-period", String(consumer.stopGracePeriodSeconds),
            ...Object.keys(conf)
                .sort()
                .flatMap((k) => ["--conf", `${k}=${conf[k]}`]),
        ]);
}

/**
 * What the job needs after its grace period on top: an abort that waits up to 30 s for Spark to let go of the
 * batch, then stopping the SparkContext and the JVM (S3 streams closed, executors released).
 */
export const STOP_SHUTDOWN_MARGIN_SECONDS = 60;

/**
 * How long every engine must let a stopping consumer run before it kills it: the job's grace period (in which the
 * running batch commits, or is aborted at its end) plus the JVM's shutdown. Engines use it for `docker stop --time`
 * and systemd's `TimeoutStopSec` (ec2), the launcher's and the step provider's waits (emr), and a pod's
 * `terminationGracePeriodSeconds` (kubernetes). Killing earlier is safe (the checkpoint re-runs the batch) but
 * throws away the batch's work and leaves files for the next start to clean.
 */
export function consumerStopTimeoutSeconds(consumer: ConsumerConfig): number {
    return consumer.stopGracePeriodSeconds + STOP_SHUTDOWN_MARGIN_SECONDS;
}

/** The largest `consumerStopTimeoutSeconds` any valid config gives: for bounds that must not change with config. */
export const MAX_CONSUMER_STOP_TIMEOUT_SECONDS = MAX_STOP_GRACE_SECONDS + STOP_SHUTDOWN_MARGIN_SECONDS;
