import * as fs from "fs";
import * as YAML from "yaml";
import { parsePlatformConfig } from "../components/config";
import { telemetryArgs } from "../components/consumerArgs";
import { CONSUMER_METRICS_PORT_NAME, podMonitorManifest } from "../components/kubernetes/metrics";
import { grafanaEnv, MONITORING_FILES, prometheusConfig } from "../components/local/monitoring";
import { alarmKeyPolicy, alarmTopicPolicy } from "../components/observability/alarmTopic";
import { alarmDefinitions, triggerSeconds } from "../components/observability/alarms";
import { metric, promMetric, readCatalog } from "../components/observability/catalog";
import { dashboardBody, HostsRef } from "../components/observability/dashboard";
import { metricsPolicyDocument } from "../components/observability/metricsPolicy";
import { consumerTelemetry } from "../components/observability/telemetry";
import { KUBERNETES_CASES } from "./support/kubernetesStacks";
import { consumerMetricLines, expectEmitted } from "./support/observabilityAssertions";
import { promiseOf } from "./support/mocks";
import type { ProgramResource } from "./support/policyRun";

// Observability's pieces on their own: config validation, the alarms, the dashboard body, engine local's Prometheus
// and Grafana files, the consumer's flags; and one kubernetes variant with the Prometheus Operator and an e-mail.

const base = {
    engine: "ec2",
    kafka: { mode: "msk", topics: [{ name: "events", partitions: 2 }] },
    consumer: { name: "events-consumer", topic: "events" },
};
const parse = (observability: unknown, extra: Record<string, unknown> = {}) =>
    parsePlatformConfig({ ...base, ...extra, observability } as any, "spark-streaming", "dev");

describe("config", () => {
    test("defaults: the group is the consumer's name, alarms have typed defaults, local monitoring is on", () => {
        const o = parse(undefined).observability;
        expect(o.consumerGroup).toBe("events-consumer");
        expect(o.namespace).toBe("SparkStreaming/Consumer");
        expect(o.alarmEmail).toBeUndefined();
        expect(o.alarms).toEqual({ periodSeconds: 60, lagGrowingPeriods: 5, lagMinRecords: 1000, noProgressTriggerIntervals: 5, batchDurationPeriods: 3, deadLetterRowsThreshold: 100, consumerDownPeriods: 3 });
        expect(o.local).toEqual({ enabled: true, prometheusPort: 9090, grafanaPort: 3000 });
    });
    test("a consumer group of Spark's own prefix is refused", () => {
        expect(() => parse({ consumerGroup: "spark-kafka-source-x" })).toThrow(/observability\.consumerGroup must not start with spark-kafka-source-/);
    });
    test("an AWS/ namespace is refused", () => {
        expect(() => parse({ namespace: "AWS/Kafka" })).toThrow(/observability\.namespace must not start with AWS\//);
    });
    test("a malformed e-mail is refused", () => {
        expect(() => parse({ alarmEmail: "oncall" })).toThrow(/observability\.alarmEmail must be an e-mail address/);
    });
    test("a period that is not whole minutes is refused", () => {
        expect(() => parse({ alarms: { periodSeconds: 90 } })).toThrow(/observability\.alarms\.periodSeconds must be a multiple of 60; got 90/);
    });
    test("a string threshold is refused, naming the key", () => {
        expect(() => parse({ alarms: { deadLetterRowsThreshold: "100" } })).toThrow(/observability\.alarms\.deadLetterRowsThreshold/);
    });
    test("unknown keys are refused", () => {
        expect(() => parse({ alarm: {} })).toThrow(/observability: unknown key\(s\) "alarm"/);
    });
    test("engine local: Grafana on a port another service takes is refused", () => {
        expect(() => parse({ local: { grafanaPort: 8080 } }, { engine: "local", kafka: { mode: "container", topics: [{ name: "events", partitions: 2 }] } })).toThrow(
            /observability\.local\.grafanaPort uses host port 8080, which local\.ports\.sparkMasterUi already takes/,
        );
    });
});

const thresholds = parse(undefined).observability.alarms;
const input = { prefix: "p-dev-events-consumer", namespace: "SparkStreaming/Consumer", dimensions: { Consumer: "events-consumer", Stack: "dev" }, topic: "events", triggerSeconds: 30, thresholds };

describe("alarms", () => {
    test("trigger intervals parse as the consumer's syntax", () => {
        expect([triggerSeconds("30 seconds"), triggerSeconds("1 minute"), triggerSeconds("2 hours")]).toEqual([30, 60, 7200]);
        expect(() => triggerSeconds("30s")).toThrow(/consumer\.triggerInterval/);
    });
    test("no progress spans N trigger intervals in whole periods, at least one", () => {
        const noProgress = (t: number, n: number) => alarmDefinitions({ ...input, triggerSeconds: t, thresholds: { ...thresholds, noProgressTriggerIntervals: n } }).find((a) => a.key === "no-progress")!;
        expect(noProgress(30, 5).evaluationPeriods).toBe(3);
        expect(noProgress(10, 2).evaluationPeriods).toBe(1);
        expect(noProgress(120, 5).evaluationPeriods).toBe(10);
    });
    test("slow batches compare against the trigger interval in milliseconds", () => {
        expect(alarmDefinitions({ ...input, triggerSeconds: 45 }).find((a) => a.key === "batch-over-trigger")!.threshold).toBe(45_000);
    });
    test("the lag alarm only counts growth above the floor", () => {
        const lag = alarmDefinitions({ ...input, thresholds: { ...thresholds, lagMinRecords: 5000 } }).find((a) => a.key === "lag-growing")!;
        expect(lag.metricQueries!.find((q) => q.expression)!.expression).toBe("IF(lag > 5000, DIFF(lag), 0)");
    });
    test("every alarm's metric is emitted by the consumer, with exactly its dimensions", () => {
        for (const a of alarmDefinitions(input)) {
            for (const q of a.metricQueries?.filter((x) => x.metric) ?? [{ metric: { metricName: a.metricName!, dimensions: a.dimensions! } }]) {
                expectEmitted(q.metric!.metricName, q.metric!.dimensions, "dev");
            }
        }
    });
    test("a metric the consumer does not emit cannot be referenced", () => {
        expect(() => metric("RecordsLag")).toThrow(/emits no CloudWatch metric "RecordsLag"/);
        expect(() => promMetric("streaming_consumer_lag")).toThrow(/emits no Prometheus metric/);
    });
});

describe("dashboard body", () => {
    const body = (hosts: HostsRef, msk?: { clusterName: string; brokerCount?: number }) =>
        dashboardBody({ region: "eu-west-1", namespace: "SparkStreaming/Consumer", dimensions: input.dimensions, topic: "events", consumerGroup: "events-consumer", triggerSeconds: 30, msk, hosts, alarmArns: ["arn:a"] });
    const namespaces = (b: any) => new Set(b.widgets.flatMap((w: any) => (w.type === "metric" ? w.properties.metrics.map((l: any[]) => l[0]) : [])));

    test("EMR: YARN and node health; EC2: CPU and status checks of the master and the workers", () => {
        expect(namespaces(body({ kind: "emr", clusterId: "j-1" }, { clusterName: "c", brokerCount: 3 }))).toEqual(new Set(["SparkStreaming/Consumer", "AWS/Kafka", "AWS/ElasticMapReduce"]));
        const ec2 = body({ kind: "ec2", masterInstanceId: "i-1", workerGroupName: "asg" }, { clusterName: "c", brokerCount: 2 });
        expect(namespaces(ec2)).toEqual(new Set(["SparkStreaming/Consumer", "AWS/Kafka", "AWS/EC2"]));
        const ec2Lines = ec2.widgets.flatMap((w: any) => (w.type === "metric" ? w.properties.metrics : [])).filter((l: any[]) => l[0] === "AWS/EC2");
        expect(ec2Lines.map((l: any[]) => l.slice(1, 4))).toContainEqual(["StatusCheckFailed", "AutoScalingGroupName", "asg"]);
    });
    test("the batch-duration widget draws the trigger interval; every consumer line is emitted as named", () => {
        const b = body({ kind: "kubernetes", clusterName: "k" });
        const duration = b.widgets.find((w: any) => w.properties?.title === "Batch duration vs trigger (ms)");
        expect(duration!.properties.annotations.horizontal).toEqual([{ label: "trigger interval", value: 30_000 }]);
        for (const line of consumerMetricLines(b)) {
            const pairs = line.slice(2).filter((x: unknown) => typeof x === "string");
            expectEmitted(line[1], Object.fromEntries(Array.from({ length: pairs.length / 2 }, (_, i) => [pairs[2 * i], pairs[2 * i + 1]])), "dev");
        }
        expect(b.widgets.every((w: any) => w.type !== "metric" || w.properties.region === "eu-west-1")).toBe(true);
    });
    test("external Kafka and MSK Serverless say why there are no broker metrics", () => {
        expect(namespaces(body({ kind: "emr", clusterId: "j" }))).not.toContain("AWS/Kafka");
        const serverless = body({ kind: "emr", clusterId: "j" }, { clusterName: "s" });
        expect(JSON.stringify(serverless)).toMatch(/Serverless publishes no broker CPU or disk metrics/);
        expect(JSON.stringify(serverless)).not.toMatch(/KafkaDataLogsDiskUsed/);
    });
});

describe("IAM and SNS documents", () => {
    test("PutMetricData is allowed for the consumer's namespace only", () => {
        const doc = JSON.parse(metricsPolicyDocument("SparkStreaming/Consumer"));
        expect(doc.Statement).toEqual([
            { Sid: "PublishConsumerMetrics", Effect: "Allow", Action: ["cloudwatch:PutMetricData"], Resource: "*", Condition: { StringEquals: { "cloudwatch:namespace": "SparkStreaming/Consumer" } } },
        ]);
    });
    test("CloudWatch of this account may encrypt and publish alarms; publishing needs TLS", () => {
        const key = JSON.parse(alarmKeyPolicy("aws", "123456789012"));
        expect(key.Statement[1]).toMatchObject({ Principal: { Service: "cloudwatch.amazonaws.com" }, Condition: { StringEquals: { "aws:SourceAccount": "123456789012" } } });
        const topic = JSON.parse(alarmTopicPolicy("arn:t", "123456789012"));
        expect(topic.Statement.map((s: any) => [s.Effect, s.Action])).toEqual([["Allow", "sns:Publish"], ["Deny", "sns:Publish"]]);
        expect(topic.Statement[1].Condition).toEqual({ Bool: { "aws:SecureTransport": "false" } });
    });
});

describe("the consumer's flags per engine", () => {
    const cfg = (engine: string) => parse(undefined, engine === "local" ? { engine, kafka: { mode: "container", topics: [{ name: "events", partitions: 2 }] } } : { engine });
    test("AWS engines publish to CloudWatch; kubernetes also serves Prometheus; local serves Prometheus only", () => {
        expect(telemetryArgs(consumerTelemetry(cfg("emr"), "eu-west-1"))).toEqual([
            "--consumer-group", "events-consumer",
            "--cloudwatch-namespace", "SparkStreaming/Consumer", "--cloudwatch-region", "eu-west-1",
            "--metrics-dimension", "Consumer=events-consumer", "--metrics-dimension", "Stack=dev",
        ]);
        expect(telemetryArgs(consumerTelemetry(cfg("kubernetes"), "eu-west-1"))).toContain("--prometheus-port");
        const local = consumerTelemetry(cfg("local"));
        expect(telemetryArgs(local)).not.toContain("--cloudwatch-namespace");
        expect(telemetryArgs(local)).toEqual(expect.arrayContaining(["--prometheus-port", "9464"]));
        expect(local.sparkConf).toMatchObject({ "spark.sql.streaming.metricsEnabled": "true", "spark.metrics.conf.*.sink.prometheusServlet.class": "org.apache.spark.metrics.sink.PrometheusServlet" });
        expect(() => consumerTelemetry(cfg("ec2"))).toThrow(/needs the AWS region/);
    });
});

describe("engine local: Prometheus and Grafana files", () => {
    test("Prometheus scrapes the consumer's endpoint and Spark's servlet on the driver", () => {
        const config = YAML.parse(prometheusConfig("spark-consumer", 9464));
        const jobs = Object.fromEntries(config.scrape_configs.map((j: any) => [j.job_name, { path: j.metrics_path ?? "/metrics", targets: j.static_configs[0].targets }]));
        expect(jobs["streaming-consumer"]).toEqual({ path: "/metrics", targets: ["spark-consumer:9464"] });
        expect(jobs["spark-driver"]).toEqual({ path: "/metrics/prometheus", targets: ["spark-consumer:4040"] });
    });
    test("Grafana's data source is the stack's Prometheus, read-only", () => {
        const ds = YAML.parse(fs.readFileSync(MONITORING_FILES.datasource, "utf8")).datasources;
        expect(ds).toEqual([expect.objectContaining({ uid: "prometheus", type: "prometheus", url: "http://prometheus:9090", editable: false })]);
        expect(YAML.parse(fs.readFileSync(MONITORING_FILES.dashboards, "utf8")).providers[0]).toMatchObject({ options: { path: "/etc/grafana/dashboards" }, allowUiUpdates: false });
    });
    test("the Grafana dashboard is valid JSON whose queries name only emitted metrics, and all of them", () => {
        const dash = JSON.parse(fs.readFileSync(MONITORING_FILES.dashboard, "utf8"));
        expect(dash.uid).toBe("spark-streaming-consumer");
        const exprs: string[] = dash.panels.flatMap((p: any) => p.targets.map((t: any) => t.expr));
        const used = new Set(exprs.flatMap((e) => e.match(/streaming_consumer_[a-z_]+/g) ?? []));
        for (const name of used) {
            expect(promMetric(name)).toBe(name);
        }
        expect([...used].sort()).toEqual([...readCatalog().prometheus.metrics].sort());
        for (const p of dash.panels) {
            expect(p.datasource).toEqual({ type: "prometheus", uid: "prometheus" });
            expect(p.targets.every((t: any) => /consumer=~"\$consumer"|job="streaming-consumer"/.test(t.expr))).toBe(true);
        }
        expect(readCatalog().prometheus.labels).toContain("consumer");
    });
    test("Grafana is anonymous and read-only, with no login at all", () => {
        expect(grafanaEnv()).toMatchObject({ GF_AUTH_ANONYMOUS_ENABLED: "true", GF_AUTH_ANONYMOUS_ORG_ROLE: "Viewer", GF_AUTH_DISABLE_LOGIN_FORM: "true", GF_AUTH_BASIC_ENABLED: "false" });
    });
});

test("a PodMonitor selects the consumer's driver and scrapes both endpoints", () => {
    const pm = podMonitorManifest("spark-streaming", "events-consumer", { "app.kubernetes.io/instance": "events-consumer", "app.kubernetes.io/component": "driver" });
    expect(pm.spec.podMetricsEndpoints.map((e: any) => [e.port, e.path])).toEqual([[CONSUMER_METRICS_PORT_NAME, "/metrics"], ["spark-ui", "/metrics/prometheus"]]);
});

describe("kubernetes with the Prometheus Operator and an alarm e-mail", () => {
    let resources: ProgramResource[];
    beforeAll(async () => {
        const c = KUBERNETES_CASES[0];
        await jest.isolateModulesAsync(async () => {
            const { registerProgram } = await import("./support/policyRun");
            const observability = JSON.stringify({ prometheusOperator: true, alarmEmail: "oncall@example.com", consumerGroup: "events-lag" });
            resources = await registerProgram(c.stack, undefined, { ...c.overrides, "spark-streaming:observability": observability }, c.secrets);
            const program = await import("../index");
            expect(await promiseOf(program.consumerGroup as any)).toBe("events-lag");
        });
    });
    const ofType = (type: string) => resources.filter((r) => r.type === type);

    test("a PodMonitor replaces the scrape annotations", () => {
        const [pm] = ofType("kubernetes:monitoring.coreos.com/v1:PodMonitor");
        expect(pm.inputs.spec.selector.matchLabels).toEqual({ "app.kubernetes.io/instance": "events-consumer", "app.kubernetes.io/component": "driver" });
        const app = ofType("kubernetes:sparkoperator.k8s.io/v1beta2:SparkApplication")[0].inputs;
        expect(app.spec.driver.template.metadata.annotations).toBeUndefined();
        expect(app.spec.driver.template.spec.containers[0].ports[0].name).toBe(CONSUMER_METRICS_PORT_NAME);
    });
    test("the e-mail is subscribed to the alarm topic", () => {
        expect(ofType("aws:sns/topicSubscription:TopicSubscription").map((s) => [s.inputs.protocol, s.inputs.endpoint])).toEqual([["email", "oncall@example.com"]]);
    });
    test("the consumer role may alter exactly the configured group", () => {
        const kafka = JSON.parse(ofType("aws:iam/rolePolicy:RolePolicy").find((p) => p.name === "kubernetes-consumer-kafka")!.inputs.policy);
        expect(kafka.Statement.find((s: any) => s.Sid === "CommitProgressToMonitoringGroup").Resource).toEqual([expect.stringMatching(/:group\/[^/]+\/[^/]+\/events-lag$/)]);
    });
});
