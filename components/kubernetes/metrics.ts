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
