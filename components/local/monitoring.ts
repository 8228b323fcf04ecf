import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";
import { ObservabilityConfig } from "../config/observability";
import { LocalSite, platformContainer } from "./container";
import { SPARK_PORTS } from "./spark";

// Engine local's monitoring: Prometheus scraping the consumer driver (its own metrics and Spark's PrometheusServlet),
// and Grafana with the data source and the consumer dashboard provisioned from components/local/monitoring/. Both
// publish on 127.0.0.1 only, whatever local.bindAddress says: Grafana is anonymous (read-only, no login at all), so it
// must never be reachable from another machine.

/** The files in the repo that configure both containers. */
export const MONITORING_DIR = path.join(__dirname, "monitoring");
export const MONITORING_FILES = {
    prometheus: path.join(MONITORING_DIR, "prometheus.yml"),
    datasource: path.join(MONITORING_DIR, "grafana-datasource.yml"),
    dashboards: path.join(MONITORING_DIR, "grafana-dashboards.yml"),
    dashboard: path.join(MONITORING_DIR, "consumer-dashboard.json"),
} as const;

/** Monitoring's ports bind here, never elsewhere (anonymous Grafana). */
export const MONITORING_BIND_ADDRESS = "127.0.0.1";
export const PROMETHEUS_ALIAS = "prometheus";
export const PROMETHEUS_PORT = 9090;
export const GRAFANA_PORT = 3000;
/** The provisioned dashboard's uid (consumer-dashboard.json), for its URL. */
export const GRAFANA_DASHBOARD_UID = "spark-streaming-consumer";

/** Prometheus's configuration: the repo file with the consumer's alias and ports filled in. */
export function prometheusConfig(consumerAlias: string, metricsPort: number): string {
    const values: Record<string, string> = { CONSUMER_ALIAS: consumerAlias, CONSUMER_METRICS_PORT: String(metricsPort), DRIVER_UI_PORT: String(SPARK_PORTS.appUi) };
    const text = fs.readFileSync(MONITORING_FILES.prometheus, "utf8").replace(/\{\{([A-Z_]+)\}\}/g, (_, k: string) => {
        if (values[k] === undefined) {
            throw new Error(`${MONITORING_FILES.prometheus} names an unknown placeholder {{${k}}}`);
        }
        return values[k];
    });
    return text;
}

/** Grafana's settings: anonymous viewers, and no way to log in (no admin to guess), no telemetry to the internet. */
export function grafanaEnv(): Record<string, string> {
    return {
        GF_AUTH_ANONYMOUS_ENABLED: "true",
        GF_AUTH_ANONYMOUS_ORG_ROLE: "Viewer",
        GF_AUTH_DISABLE_LOGIN_FORM: "true",
        GF_AUTH_BASIC_ENABLED: "false",
        GF_USERS_ALLOW_SIGN_UP: "false",
        GF_ANALYTICS_REPORTING_ENABLED: "false",
        GF_ANALYTICS_CHECK_FOR_UPDATES: "false",
        GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES: "false",
        GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH: "/etc/grafana/dashboards/consumer-dashboard.json",
    };
}

const wgetHealthcheck = (url: string) => ({
    tests: ["CMD", "wget", "-q", "-O", "/dev/null", url],
    interval: "30s",
    timeout: "10s",
    retries: 3,
    startPeriod: "60s",
    startInterval: "2s",
});

export interface LocalMonitoringArgs {
    readonly config: ObservabilityConfig;
    readonly site: LocalSite;
    readonly prometheusImage: pulumi.Input<string>;
    readonly grafanaImage: pulumi.Input<string>;
    /** The consumer driver's alias on the stack's network. */
    readonly consumerAlias: string;
}

export class LocalMonitoring extends pulumi.ComponentResource {
    public readonly grafanaUrl: string;
    public readonly prometheusUrl: string;
    /** The consumer dashboard in Grafana. */
    public readonly dashboardUrl: string;

    constructor(name: string, args: LocalMonitoringArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("spark-streaming:local:Monitoring", name, {}, opts);
        const { config } = args;
        const site: LocalSite = { ...args.site, bindAddress: MONITORING_BIND_ADDRESS };
        const read = (f: string) => fs.readFileSync(f, "utf8");

        const prometheus = platformContainer(name, site, {
            role: PROMETHEUS_ALIAS,
            image: args.prometheusImage,
            env: {},
            ports: [{ internal: PROMETHEUS_PORT, external: config.local.prometheusPort }],
            uploads: [{ file: "/etc/prometheus/prometheus.yml", content: prometheusConfig(args.consumerAlias, config.prometheusPort) }],
            healthcheck: wgetHealthcheck(`http://localhost:${PROMETHEUS_PORT}/-/ready`),
        }, this);
        platformContainer(name, site, {
            role: "grafana",
            image: args.grafanaImage,
            env: grafanaEnv(),
            ports: [{ internal: GRAFANA_PORT, external: config.local.grafanaPort }],
            uploads: [
                { file: "/etc/grafana/provisioning/datasources/prometheus.yml", content: read(MONITORING_FILES.datasource) },
                { file: "/etc/grafana/provisioning/dashboards/spark-streaming.yml", content: read(MONITORING_FILES.dashboards) },
                { file: "/etc/grafana/dashboards/consumer-dashboard.json", content: read(MONITORING_FILES.dashboard) },
            ],
            healthcheck: wgetHealthcheck(`http://localhost:${GRAFANA_PORT}/api/health`),
            dependsOn: [prometheus],
        }, this);

        this.grafanaUrl = `http://localhost:${config.local.grafanaPort}`;
        this.prometheusUrl = `http://localhost:${config.local.prometheusPort}`;
        this.dashboardUrl = `${this.grafanaUrl}/d/${GRAFANA_DASHBOARD_UID}`;
        this.registerOutputs({ grafanaUrl: this.grafanaUrl, prometheusUrl: this.prometheusUrl, dashboardUrl: this.dashboardUrl });
    }
}
