import { PlatformConfig } from "../config";
import { ConsumerTelemetry } from "../consumerArgs";
import { metricsSparkConf } from "../kubernetes/metrics";
import { consumerDimensions } from "./observability";

// What the consumer is told about reporting itself, per engine: the consumer group always; CloudWatch on AWS; its own
// Prometheus endpoint (and Spark's PrometheusServlet with streaming metrics on) where Prometheus runs: engine local
// with its monitoring on, and engine kubernetes (scrape annotations or a PodMonitor).

/** Spark's own metrics for Prometheus: the PrometheusServlet on the driver UI, streaming metrics on. The UI port stays the engine's. */
export function prometheusSparkConf(): Record<string, string> {
    const { ["spark.ui.port"]: _port, ...rest } = metricsSparkConf();
    return rest;
}

export function consumerTelemetry(cfg: Pick<PlatformConfig, "engine" | "stack" | "consumer" | "observability">, region?: string): ConsumerTelemetry {
    const o = cfg.observability;
    const prometheus = cfg.engine === "kubernetes" || (cfg.engine === "local" && o.local.enabled);
    if (cfg.engine !== "local" && region === undefined) {
        throw new Error(`engine ${cfg.engine} publishes metrics to CloudWatch and needs the AWS region (aws:region)`);
    }
    return {
        consumerGroup: o.consumerGroup,
        cloudwatch: cfg.engine === "local" ? undefined : { namespace: o.namespace, region: region! },
        dimensions: consumerDimensions(cfg.stack, cfg.consumer),
        prometheusPort: prometheus ? o.prometheusPort : undefined,
        scrape: cfg.engine === "kubernetes" ? (o.prometheusOperator ? "podMonitor" : "annotations") : undefined,
        // The SparkApplication sets these itself on kubernetes (kubernetes/metrics.ts).
        sparkConf: cfg.engine === "local" && prometheus ? prometheusSparkConf() : undefined,
    };
}
