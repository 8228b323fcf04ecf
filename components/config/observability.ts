import { z } from "zod";

// The `observability` key of the stack config, validated with zod and defaulted here; components/config.ts reads it
// with every other key and reports its errors with theirs. Thresholds are typed so an alarm never gets a string.

const port = z.number().int().min(1).max(65535);
const count = (min: number, max: number) => z.number().int().min(min).max(max);

/** Kafka group ids MSK IAM can name in a policy ARN: letters, digits, '.', '_' and '-'. */
const groupName = z
    .string()
    .regex(/^[a-zA-Z0-9._-]{1,200}$/, { message: "must be 1-200 letters, digits, '.', '_' or '-'" })
    .refine((g) => !g.startsWith("spark-kafka-source-"), { message: "must not start with spark-kafka-source- (Spark's own generated groups)" });

/** CloudWatch namespaces: printable, no leading colon, not AWS/ (reserved for AWS services). */
const namespace = z
    .string()
    .regex(/^[A-Za-z0-9._/#:-]{1,255}$/, { message: "must be 1-255 characters of letters, digits and . _ / # : -" })
    .refine((n) => !n.startsWith("AWS/") && !n.startsWith(":"), { message: "must not start with AWS/ (reserved) or ':'" });

const email = z.string().regex(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, { message: "must be an e-mail address such as ops@example.com" });

/** Alarm thresholds. Each alarm's description in the console and README says what it means and what to do. */
const alarmsSchema = z.strictObject({
    /** Length of one alarm period, seconds (a multiple of 60, CloudWatch's standard resolution). */
    periodSeconds: z.number().int().min(60).max(3600).refine((s) => s % 60 === 0, { message: "must be a multiple of 60" }).default(60),
    /** Lag: periods in a row in which the records behind latest grew, before the lag alarm fires. */
    lagGrowingPeriods: count(2, 60).default(5),
    /** Lag: records behind latest below which growth is not worth a page (a small topic's jitter). */
    lagMinRecords: count(0, 1_000_000_000).default(1000),
    /** No progress: trigger intervals without a completed trigger (batch or idle) before the alarm fires; missing data breaches. */
    noProgressTriggerIntervals: count(2, 1000).default(5),
    /** Slow batches: periods in a row in which the longest batch ran past the trigger interval. */
    batchDurationPeriods: count(1, 60).default(3),
    /** Dead letters: rows sent to the dead-letter output within one period above which the alarm fires. */
    deadLetterRowsThreshold: count(0, 1_000_000_000).default(100),
    /** Consumer down: periods without the driver's minute-by-minute ConsumerUp before the alarm fires; missing data breaches. */
    consumerDownPeriods: count(1, 60).default(3),
});

/** How the consumer reports itself and who is told when it stops keeping up. */
export const observabilitySchema = z.strictObject({
    /**
     * Kafka consumer group the consumer commits each batch's end offsets to, for lag tools (kafka-consumer-groups, MSK's
     * consumer-lag metrics, Burrow). Informational only: the checkpoint stays the source of truth. Default: the consumer's name.
     */
    consumerGroup: groupName.optional(),
    /** CloudWatch namespace of the consumer's metrics (engines emr, ec2, kubernetes). */
    namespace: namespace.default("SparkStreaming/Consumer"),
    /** An e-mail address subscribed to the alarm topic; SNS mails a confirmation link first. Default: none. */
    alarmEmail: email.optional(),
    alarms: alarmsSchema.prefault({}),
    /** Engine kubernetes: the cluster runs the Prometheus Operator (its CRDs), so a PodMonitor replaces the scrape annotations. */
    prometheusOperator: z.boolean().default(false),
    /** The port of the consumer driver's own Prometheus endpoint (engines local and kubernetes). */
    prometheusPort: port.default(9464),
    /** Engine local: Prometheus and Grafana containers, bound to local.bindAddress. */
    local: z
        .strictObject({
            enabled: z.boolean().default(true),
            prometheusPort: port.default(9090),
            grafanaPort: port.default(3000),
        })
        .prefault({}),
});

type ObservabilitySchemaOutput = z.infer<typeof observabilitySchema>;
/** Observability settings with every default filled (the consumer group resolved to the consumer's name). */
export type ObservabilityConfig = Omit<ObservabilitySchemaOutput, "consumerGroup"> & { readonly consumerGroup: string };
export type AlarmsConfig = ObservabilityConfig["alarms"];

/** Fills the defaults that depend on other keys: the group is per consumer. */
export function resolveObservability(raw: ObservabilitySchemaOutput, consumerName: string): ObservabilityConfig {
    return { ...raw, consumerGroup: raw.consumerGroup ?? consumerName };
}

/** Engine local: each monitoring port that another published port (or the other monitoring port) already takes, as an error sentence. */
export function monitoringPortClashes(o: ObservabilityConfig, taken: ReadonlyArray<{ key: string; port: number }>): string[] {
    if (!o.local.enabled) {
        return [];
    }
    const seen = new Map(taken.map((p) => [p.port, p.key]));
    const out: string[] = [];
    for (const [key, p] of [["observability.local.prometheusPort", o.local.prometheusPort], ["observability.local.grafanaPort", o.local.grafanaPort]] as const) {
        const other = seen.get(p);
        if (other !== undefined) {
            out.push(`${key} uses host port ${p}, which ${other} already takes; pick another port`);
        }
        seen.set(p, key);
    }
    return out;
}
