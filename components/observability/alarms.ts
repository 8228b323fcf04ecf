import { AlarmsConfig } from "../config/observability";
import { metric } from "./catalog";

// The consumer's alarms as plain definitions (tests read them directly; observability.ts declares them). Each
// description ends with its runbook line, the same text as README.md "Operating it".

/** What the alarms are about. */
export interface AlarmInput {
    /** Alarm names start with it: `<project>-<stack>-<consumer>`. */
    readonly prefix: string;
    readonly namespace: string;
    /** The consumer's base dimensions (Stack, Consumer), as it sets them. */
    readonly dimensions: Readonly<Record<string, string>>;
    /** The topic the consumer reads (the lag metric's Topic dimension). */
    readonly topic: string;
    /** The processing-time trigger, seconds. */
    readonly triggerSeconds: number;
    readonly thresholds: AlarmsConfig;
}

/** One metric the alarm's expression reads. */
export interface AlarmMetricQuery {
    readonly id: string;
    readonly expression?: string;
    readonly label?: string;
    readonly returnData?: boolean;
    readonly metric?: {
        readonly namespace: string;
        readonly metricName: string;
        readonly dimensions: Record<string, string>;
        readonly period: number;
        readonly stat: string;
    };
}

/** The inputs of one aws.cloudwatch.MetricAlarm, without its actions. */
export interface AlarmDefinition {
    /** Resource name suffix and the alarm name's last part. */
    readonly key: "lag-growing" | "no-progress" | "batch-over-trigger" | "dead-letters" | "consumer-down";
    readonly name: string;
    readonly alarmDescription: string;
    readonly comparisonOperator: string;
    readonly threshold: number;
    readonly evaluationPeriods: number;
    readonly datapointsToAlarm: number;
    readonly treatMissingData: "breaching" | "notBreaching" | "ignore" | "missing";
    /** A single-metric alarm... */
    readonly namespace?: string;
    readonly metricName?: string;
    readonly dimensions?: Record<string, string>;
    readonly statistic?: string;
    readonly period?: number;
    /** ...or a metric-math alarm. */
    readonly metricQueries?: AlarmMetricQuery[];
}

export const RUNBOOK = "README.md, Operating it";

/** "30 seconds" -> 30; the consumer's trigger syntax (config.ts validates it). */
export function triggerSeconds(interval: string): number {
    const m = /^(\d+) (second|seconds|minute|minutes|hour|hours)$/.exec(interval);
    if (!m) {
        throw new Error(`consumer.triggerInterval must be "<number> seconds|minutes|hours"; got "${interval}"`);
    }
    const n = Number(m[1]);
    return m[2].startsWith("second") ? n : m[2].startsWith("minute") ? n * 60 : n * 3600;
}

/** Dimensions of a catalog metric: the base ones, plus Topic where the metric is per topic. */
function dims(input: AlarmInput, name: string): Record<string, string> {
    const wanted = metric(name).dimensions;
    const all: Record<string, string> = { ...input.dimensions, Topic: input.topic };
    const out: Record<string, string> = {};
    for (const d of wanted) {
        if (all[d] === undefined) {
            throw new Error(`metric ${name} needs dimension ${d}, which the platform does not set`);
        }
        out[d] = all[d];
    }
    return out;
}

export function alarmDefinitions(input: AlarmInput): AlarmDefinition[] {
    const t = input.thresholds;
    const period = t.periodSeconds;
    const base = (key: AlarmDefinition["key"]) => ({ key, name: `${input.prefix}-${key}` });
    const single = (name: string, statistic: string, p: number = period) => ({
        namespace: input.namespace,
        metricName: metric(name).name,
        dimensions: dims(input, name),
        statistic,
        period: p,
    });
    // A no-progress window of N trigger intervals, in whole periods (at least one).
    const noProgressPeriods = Math.max(1, Math.ceil((t.noProgressTriggerIntervals * input.triggerSeconds) / period));
    return [
        {
            ...base("lag-growing"),
            alarmDescription:
                `Records behind latest on topic ${input.topic} grew in each of ${t.lagGrowingPeriods} periods of ${period}s while above ${t.lagMinRecords}: the consumer is not keeping up. ` +
                `Runbook (${RUNBOOK}): compare InputRowsPerSecond with ProcessedRowsPerSecond; if batches are slow, add executors/workers or raise consumer.maxOffsetsPerTrigger; if producers spiked, watch it drain.`,
            comparisonOperator: "GreaterThanThreshold",
            threshold: 0,
            evaluationPeriods: t.lagGrowingPeriods,
            datapointsToAlarm: t.lagGrowingPeriods,
            // No lag datapoints means no batches: the no-progress and consumer-down alarms own that case.
            treatMissingData: "notBreaching",
            metricQueries: [
                { id: "lag", returnData: false, metric: { namespace: input.namespace, metricName: metric("RecordsBehindLatest").name, dimensions: dims(input, "RecordsBehindLatest"), period, stat: "Maximum" } },
                { id: "growth", expression: `IF(lag > ${t.lagMinRecords}, DIFF(lag), 0)`, label: "Lag growth above the floor", returnData: true },
            ],
        },
        {
            ...base("no-progress"),
            alarmDescription:
                `No trigger (batch or idle) completed for about ${t.noProgressTriggerIntervals} trigger intervals of ${input.triggerSeconds}s; missing data counts as breaching. ` +
                `Runbook (${RUNBOOK}): check the consumer-down alarm first; if the driver is up, a batch is stuck: read the driver log and the Spark UI (uiUrls), check Kafka and S3 reachability, then restart the consumer (it resumes from its checkpoint).`,
            comparisonOperator: "LessThanThreshold",
            threshold: 1,
            evaluationPeriods: noProgressPeriods,
            datapointsToAlarm: noProgressPeriods,
            treatMissingData: "breaching",
            ...single("Heartbeat", "SampleCount"),
        },
        {
            ...base("batch-over-trigger"),
            alarmDescription:
                `The longest batch ran longer than the ${input.triggerSeconds}s trigger interval in ${t.batchDurationPeriods} periods in a row: batches overrun and lag will build. ` +
                `Runbook (${RUNBOOK}): check TriggerOverrunMs and the Spark UI's slowest stage; add executors/workers, lower consumer.maxOffsetsPerTrigger, or lengthen consumer.triggerInterval.`,
            comparisonOperator: "GreaterThanThreshold",
            threshold: input.triggerSeconds * 1000,
            evaluationPeriods: t.batchDurationPeriods,
            datapointsToAlarm: t.batchDurationPeriods,
            // Idle periods have no batches, which is fine.
            treatMissingData: "notBreaching",
            ...single("BatchDurationMs", "Maximum"),
        },
        {
            ...base("dead-letters"),
            alarmDescription:
                `More than ${t.deadLetterRowsThreshold} records went to the dead-letter output within ${period}s: producers send records the schema rejects. ` +
                `Runbook (${RUNBOOK}): read the dead-letter folder's error column to find the producer and the field; fix the producer or the schema; the records are kept and can be replayed.`,
            comparisonOperator: "GreaterThanThreshold",
            threshold: t.deadLetterRowsThreshold,
            evaluationPeriods: 1,
            datapointsToAlarm: 1,
            treatMissingData: "notBreaching",
            ...single("DeadLetterRows", "Sum"),
        },
        {
            ...base("consumer-down"),
            alarmDescription:
                `The consumer's driver has not reported ConsumerUp for ${t.consumerDownPeriods} periods of ${Math.max(period, 60)}s; missing data counts as breaching. ` +
                `Runbook (${RUNBOOK}): the driver process is gone: check the engine (EMR step state, the ec2 consumer service, the SparkApplication's status) and its log; it restarts by itself on ec2 and kubernetes; on EMR a step FAILED after its driver attempts: read its log under logs/ in the bucket, fix, then pulumi up --replace <the EmrStep's URN>.`,
            comparisonOperator: "LessThanThreshold",
            threshold: 1,
            evaluationPeriods: t.consumerDownPeriods,
            datapointsToAlarm: t.consumerDownPeriods,
            treatMissingData: "breaching",
            // ConsumerUp is sent once a minute: a period under a minute would breach between two sends.
            ...single("ConsumerUp", "SampleCount", Math.max(period, 60)),
        },
    ];
}
