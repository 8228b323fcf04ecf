// How the consumer's metrics are exposed on Kubernetes, in one place so monitoring (dashboards, alarms, a
// PodMonitor or scrape annotations) reads the port and paths from here. Spark's own PrometheusServlet serves them on
// the driver's UI port: it is part of spark-core, so the image needs no JMX exporter jar (the operator's
// `monitoring.prometheus` section would).

/** The driver's UI port; the driver UI Service exposes it, and the metrics below are served on it. */
export const DRIVER_UI_PORT = 4040;
/** The operator controller's metrics port (chart value prometheus.metrics.port). */
export const OPERATOR_METRICS_PORT = 8080;

export const METRICS_PATHS = {
    /** Driver metrics, including the streaming query's (spark.sql.streaming.metricsEnabled), Prometheus text format. */
    driver: "/metrics/prometheus",
    /** Executor metrics, aggregated by the driver (spark.ui.prometheus.enabled). */
    executors: "/metrics/executors/prometheus",
    /** The operator's own metrics (submissions, application states). */
    operator: "/metrics",
} as const;

/** The Spark settings that turn the metrics on (sorted keys). */
export function metricsSparkConf(): Record<string, string> {
    return {
        "spark.metrics.conf.*.sink.prometheusServlet.class": "org.apache.spark.metrics.sink.PrometheusServlet",
        "spark.metrics.conf.*.sink.prometheusServlet.path": METRICS_PATHS.driver,
        "spark.sql.streaming.metricsEnabled": "true",
        "spark.ui.port": String(DRIVER_UI_PORT),
        "spark.ui.prometheus.enabled": "true",
    };
}

/** The name of the driver container's port for the consumer's own metrics (streaming_consumer/metrics.py). */
export const CONSUMER_METRICS_PORT_NAME = "consumer-metrics";
/** The consumer's own metrics path (prometheus_client). */
export const CONSUMER_METRICS_PATH = "/metrics";

/** How Prometheus finds the driver: pod annotations (a plain Prometheus), or a PodMonitor (the Prometheus Operator's CRDs). */
export type ScrapeMode = "annotations" | "podMonitor";

/**
 * The driver pod's scrape annotations, the convention Prometheus' kubernetes_sd examples and most charts follow. One
 * port per pod: the consumer's own endpoint, which has every signal the dashboards use; Spark's servlet is scraped
 * through the PodMonitor, which can list two endpoints.
 */
export function driverScrapeAnnotations(port: number): Record<string, string> {
    return { "prometheus.io/scrape": "true", "prometheus.io/port": String(port), "prometheus.io/path": CONSUMER_METRICS_PATH };
}

/** The driver container's named metrics port (Spark keeps a pod template's ports beside its own). */
export function driverMetricsPorts(port: number): Array<Record<string, unknown>> {
    return [{ name: CONSUMER_METRICS_PORT_NAME, containerPort: port, protocol: "TCP" }];
}

/** A PodMonitor (monitoring.coreos.com/v1) for the consumer's driver: its own metrics and Spark's PrometheusServlet. */
export function podMonitorManifest(namespace: string, appName: string, selector: Record<string, string>): Record<string, any> {
    return {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "PodMonitor",
        metadata: { name: `${appName}-driver`, namespace, labels: { "app.kubernetes.io/part-of": "spark-streaming" } },
        spec: {
            selector: { matchLabels: selector },
            podMetricsEndpoints: [
                { port: CONSUMER_METRICS_PORT_NAME, path: CONSUMER_METRICS_PATH, interval: "30s" },
                { port: "spark-ui", path: METRICS_PATHS.driver, interval: "30s" },
            ],
        },
    };
}
