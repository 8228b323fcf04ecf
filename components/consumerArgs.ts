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

/**
 * How the consumer reports itself (components/observability): index.ts adds it to the consumer config it hands the
 * engines, so every engine starts the job with the same observability flags (streaming_consumer/metrics.py).
 */
export interface ConsumerTelemetry {
    /** Kafka consumer group the job commits each batch's end offsets to (monitoring only). */
    readonly consumerGroup: string;
    /** AWS engines: CloudWatch namespace and region the job publishes to with its own role. */
    readonly cloudwatch?: { readonly namespace: string; readonly region: string };
    /** Dimensions (CloudWatch) and labels (Prometheus) on every metric, e.g. Stack and Consumer. */
    readonly dimensions: Readonly<Record<string, string>>;
    /** Engines local and kubernetes: the driver's Prometheus endpoint port. */
    readonly prometheusPort?: number;
    /** Engine kubernetes: scrape annotations on the driver pod, or a PodMonitor (observability.prometheusOperator). */
    readonly scrape?: "annotations" | "podMonitor";
    /** Spark settings for Spark's own metrics (PrometheusServlet, streaming metrics); the user's `consumer.sparkConf` wins. */
    readonly sparkConf?: Readonly<Record<string, string>>;
}

/** The consumer as the engines receive it: its config plus, when index.ts sets it, its telemetry. */
export type ConsumerSpec = ConsumerConfig & { readonly telemetry?: ConsumerTelemetry };

/** The job's observability flags, in a fixed order. */
export function telemetryArgs(t: ConsumerTelemetry | undefined): string[] {
    if (t === undefined) {
        return [];
    }
    return [
        "--consumer-group", t.consumerGroup,
        ...(t.cloudwatch ? ["--cloudwatch-namespace", t.cloudwatch.namespace, "--cloudwatch-region", t.cloudwatch.region] : []),
        ...Object.keys(t.dimensions)
            .sort()
            .flatMap((k) => ["--metrics-dimension", `${k}=${t.dimensions[k]}`]),
        ...(t.prometheusPort !== undefined ? ["--prometheus-port", String(t.prometheusPort)] : []),
    ];
}

/**
 * Seconds the job needs after its grace period: an abort waits up to 30 s for Spark to let go of the batch
 * (main.py, _ABORT_WAIT_SECONDS), then the Spark session and the JVM shut down (executors, event log, S3 streams).
 */
export const CONSUMER_SHUTDOWN_MARGIN_SECONDS = 60;

/**
 * How long an engine waits for a stopping consumer before it kills it: the consumer's own grace period for its
 * running batch plus the shutdown margin. Every engine's stop timeout (systemd, `docker stop`, the EMR step's
 * cancel wait, a pod's termination grace period) is this, so the platform never kills a batch the job would finish.
 */
export function consumerStopTimeoutSeconds(consumer: Pick<ConsumerConfig, "stopGracePeriodSeconds">): number {
    return consumer.stopGracePeriodSeconds + CONSUMER_SHUTDOWN_MARGIN_SECONDS;
}

/** The largest `consumerStopTimeoutSeconds` any valid config gives: for bounds that must not change with config. */
export const MAX_CONSUMER_STOP_TIMEOUT_SECONDS = MAX_STOP_GRACE_SECONDS + CONSUMER_SHUTDOWN_MARGIN_SECONDS;

/** The job's flags, in a fixed order (sorted `--conf`s) so an unchanged config renders unchanged. */
export function consumerJobArgs(consumer: ConsumerSpec, wiring: ConsumerWiring): pulumi.Output<string[]> {
    const conf = { ...(wiring.engineSparkConf ?? {}), ...(consumer.telemetry?.sparkConf ?? {}), ...consumer.sparkConf };
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
            ...telemetryArgs(consumer.telemetry),
            ...Object.keys(conf)
                .sort()
                .flatMap((k) => ["--conf", `${k}=${conf[k]}`]),
        ]);
}

/** Spark settings the engines set for security; a consumer's own `sparkConf` may not override them. */
export const SECURITY_SETTING_PREFIXES = ["spark.authenticate", "spark.network.crypto", "spark.io.encryption", "spark.ssl", "spark.network.sasl"] as const;

/** Throws, naming the key, when `consumer.sparkConf` would change a security setting the engine owns. */
export function checkSecuritySettingsKept(consumer: ConsumerConfig): void {
    const touched = Object.keys(consumer.sparkConf).filter((k) => SECURITY_SETTING_PREFIXES.some((p) => k === p || k.startsWith(`${p}.`)));
    if (touched.length > 0) {
        throw new Error(
            `consumer.sparkConf must not set ${touched.join(", ")}: authentication and encryption are set by the engine (README, Security); remove them`,
        );
    }
}
