import { metric, readCatalog } from "../../components/observability/catalog";
import { metricsPolicyDocument } from "../../components/observability/metricsPolicy";

/** What the program tests record per resource (mocks' Registered, policyRun's ProgramResource). */
interface Declared {
    readonly type: string;
    readonly name: string;
    readonly inputs: any;
}
import { StackOutputs } from "./program";

// Observability assertions for a whole-program run under mocks (one per shipped stack and engine): alarms, the
// alarm topic, the dashboard and the consumer's observability flags. Every metric a dashboard or alarm names must be
// one the consumer emits, with the dimensions it sets (jobs/streaming-consumer/metrics-catalog.json).

export interface ExpectedObservability {
    readonly stack: string;
    readonly engine: "ec2" | "emr" | "kubernetes";
    /** The alarm thresholds the stack's config should produce. */
    readonly thresholds: {
        readonly lagGrowingPeriods: number;
        readonly deadLetterRowsThreshold: number;
        readonly batchDurationMs: number;
        readonly noProgressPeriods: number;
        readonly consumerDownPeriods: number;
    };
    /** The e-mail subscribed to the alarm topic, if any. */
    readonly email?: string;
    /** MSK provisioned broker count (broker widgets), if MSK provisioned; undefined for external Kafka. */
    readonly brokers?: number;
}

const NAMESPACE = "SparkStreaming/Consumer";

function ofType(run: () => { registered: Declared[] }, type: string): Declared[] {
    return run().registered.filter((r) => r.type === type);
}

/** The consumer-metric lines of a dashboard body: [namespace, name, dim, value, ..., options?]. */
export function consumerMetricLines(body: any): any[][] {
    return body.widgets.flatMap((w: any) => (w.type === "metric" ? w.properties.metrics : [])).filter((line: any[]) => line[0] === NAMESPACE);
}

/** Checks one metric reference against the catalog: the name exists, the dimensions are exactly the ones it is emitted with. */
export function expectEmitted(name: string, dimensions: Record<string, string>, stack: string): void {
    const m = metric(name);
    expect(Object.keys(dimensions).sort()).toEqual([...m.dimensions].sort());
    expect(dimensions).toMatchObject({ Stack: stack, Consumer: "events-consumer", ...(dimensions.Topic !== undefined ? { Topic: "events" } : {}) });
}

export function describeObservability(expected: ExpectedObservability, run: () => { outputs: StackOutputs; registered: Declared[] }, consumerFlags: () => string[]): void {
    const { stack, thresholds } = expected;
    const prefix = `spark-streaming-${stack}-events-consumer`;

    describe("observability", () => {
        test("five alarms, each on an emitted metric with its dimensions, a runbook line, and the stack's thresholds", () => {
            const alarms = Object.fromEntries(ofType(run, "aws:cloudwatch/metricAlarm:MetricAlarm").map((a) => [a.inputs.name.replace(`${prefix}-`, ""), a.inputs]));
            expect(Object.keys(alarms).sort()).toEqual(["batch-over-trigger", "consumer-down", "dead-letters", "lag-growing", "no-progress"]);
            for (const a of Object.values<any>(alarms)) {
                expect(a.alarmDescription).toMatch(/Runbook \(README\.md, Operating it\): \S/);
                const queries = a.metricQueries ?? [{ metric: { namespace: a.namespace, metricName: a.metricName, dimensions: a.dimensions } }];
                for (const q of queries.filter((x: any) => x.metric)) {
                    expect(q.metric.namespace).toBe(NAMESPACE);
                    expectEmitted(q.metric.metricName, q.metric.dimensions, stack);
                }
            }
            expect(alarms["lag-growing"]).toMatchObject({ evaluationPeriods: thresholds.lagGrowingPeriods, datapointsToAlarm: thresholds.lagGrowingPeriods, threshold: 0, comparisonOperator: "GreaterThanThreshold", treatMissingData: "notBreaching" });
            expect(alarms["lag-growing"].metricQueries.map((q: any) => q.metric?.metricName ?? q.expression)).toEqual(["RecordsBehindLatest", expect.stringMatching(/DIFF\(lag\)/)]);
            expect(alarms["no-progress"]).toMatchObject({ metricName: "Heartbeat", statistic: "SampleCount", comparisonOperator: "LessThanThreshold", threshold: 1, evaluationPeriods: thresholds.noProgressPeriods, treatMissingData: "breaching" });
            expect(alarms["batch-over-trigger"]).toMatchObject({ metricName: "BatchDurationMs", statistic: "Maximum", threshold: thresholds.batchDurationMs, comparisonOperator: "GreaterThanThreshold", treatMissingData: "notBreaching" });
            expect(alarms["dead-letters"]).toMatchObject({ metricName: "DeadLetterRows", statistic: "Sum", threshold: thresholds.deadLetterRowsThreshold, treatMissingData: "notBreaching" });
            expect(alarms["consumer-down"]).toMatchObject({ metricName: "ConsumerUp", statistic: "SampleCount", threshold: 1, evaluationPeriods: thresholds.consumerDownPeriods, treatMissingData: "breaching" });
        });

        test("alarms notify an SNS topic encrypted with its own key, on alarm and on recovery", () => {
            const [topic] = ofType(run, "aws:sns/topic:Topic");
            const keys = ofType(run, "aws:kms/key:Key").filter((k) => k.name === "observability-alarms-key");
            expect(keys).toHaveLength(1);
            expect(topic.inputs.kmsMasterKeyId).toEqual(expect.stringContaining("observability-alarms-key"));
            expect(JSON.parse(keys[0].inputs.policy).Statement.map((s: any) => s.Principal.Service ?? null)).toContain("cloudwatch.amazonaws.com");
            for (const a of ofType(run, "aws:cloudwatch/metricAlarm:MetricAlarm")) {
                expect(a.inputs.alarmActions).toEqual([run().outputs.alarmTopicArn]);
                expect(a.inputs.okActions).toEqual([run().outputs.alarmTopicArn]);
            }
            const subs = ofType(run, "aws:sns/topicSubscription:TopicSubscription");
            expect(subs.map((s) => [s.inputs.protocol, s.inputs.endpoint])).toEqual(expected.email ? [["email", expected.email]] : []);
        });

        test("one dashboard: consumer metrics as emitted, MSK broker health and disk, the engine's host health; its URL is an output", () => {
            const dashboards = ofType(run, "aws:cloudwatch/dashboard:Dashboard");
            expect(dashboards).toHaveLength(1);
            const body = JSON.parse(dashboards[0].inputs.dashboardBody);
            const lines = consumerMetricLines(body);
            const named = new Set(lines.map((l) => l[1]));
            // Every signal the issue asks for is on it, and nothing the consumer does not emit.
            expect([...named].sort()).toEqual(readCatalog().cloudwatch.metrics.map((m) => m.name).sort());
            for (const line of lines) {
                const pairs = line.slice(2).filter((x: unknown) => typeof x === "string");
                expectEmitted(line[1], Object.fromEntries(Array.from({ length: pairs.length / 2 }, (_, i) => [pairs[2 * i], pairs[2 * i + 1]])), stack);
            }
            const all = body.widgets.flatMap((w: any) => (w.type === "metric" ? w.properties.metrics : []));
            const namespaces = new Set(all.map((l: any[]) => l[0]));
            expect(namespaces.has(expected.engine === "emr" ? "AWS/ElasticMapReduce" : "AWS/EC2")).toBe(expected.engine !== "kubernetes");
            if (expected.brokers !== undefined) {
                const disk = all.filter((l: any[]) => l[1] === "KafkaDataLogsDiskUsed").map((l: any[]) => l[5]);
                expect(disk).toEqual(Array.from({ length: expected.brokers }, (_, i) => String(i + 1)));
            }
            // MSK computes the lag from the group the consumer commits to.
            expect(all.some((l: any[]) => l[0] === "AWS/Kafka" && l[1] === "SumOffsetLag" && l.includes("events-consumer"))).toBe(expected.brokers !== undefined);
            expect(run().outputs.dashboardUrl).toBe(`https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#dashboards/dashboard/${prefix}`);
        });

        test("the consumer commits to its group and publishes to CloudWatch with its own role, limited to the namespace", () => {
            const flags = consumerFlags();
            const values = (name: string) => flags.flatMap((f, i) => (f === name ? [flags[i + 1]] : []));
            expect(values("--consumer-group")).toEqual(["events-consumer"]);
            expect(values("--cloudwatch-namespace")).toEqual([NAMESPACE]);
            expect(values("--cloudwatch-region")).toEqual(["eu-west-1"]);
            expect(values("--metrics-dimension")).toEqual(["Consumer=events-consumer", `Stack=${stack}`]);
            expect(values("--prometheus-port")).toEqual(expected.engine === "kubernetes" ? ["9464"] : []);
            const metricsPolicies = ofType(run, "aws:iam/rolePolicy:RolePolicy").filter((p) => p.name.endsWith("-metrics"));
            expect(metricsPolicies).toHaveLength(1);
            expect(JSON.parse(metricsPolicies[0].inputs.policy)).toEqual(JSON.parse(metricsPolicyDocument(NAMESPACE)));
            expect(run().outputs.consumerGroup).toBe("events-consumer");
        });
    });
}
