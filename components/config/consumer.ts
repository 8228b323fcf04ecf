import { z } from "zod";
import { dnsLabel, topicName, triggerInterval } from "./common";

/** The `consumer` key: the streaming job's name, topic and Spark settings. */
/** Bounds of `consumer.stopGracePeriodSeconds`: long enough for a micro-batch to commit, short enough for a redeploy. */
export const MIN_STOP_GRACE_SECONDS = 10;
export const MAX_STOP_GRACE_SECONDS = 3600;

export const consumerSchema = z.strictObject({
    /** The consumer's name: its checkpoint is `checkpoints/<name>/`. Never change it on a running stack: a new checkpoint re-reads the topic. */
    name: dnsLabel.default("events-consumer"),
    /** Topic the consumer reads; must be one of `kafka.topics`. Default: the first of them. */
    topic: topicName.optional(),
    /** Processing-time trigger. */
    triggerInterval: triggerInterval.default("30 seconds"),
    /** Upper bound of records per micro-batch, so a backlog is worked off in bounded batches. */
    maxOffsetsPerTrigger: z.number().int().min(1).default(500000),
    /** Where a brand-new checkpoint starts reading. */
    startingOffsets: z.enum(["earliest", "latest"]).default("earliest"),
    /**
     * Seconds a stopping consumer may take to let its running micro-batch commit (SIGTERM); after that it aborts,
     * which the checkpoint makes safe. Every engine's stop timeout is at least this (consumerStopTimeoutSeconds).
     */
    stopGracePeriodSeconds: z.number().int().min(MIN_STOP_GRACE_SECONDS).max(MAX_STOP_GRACE_SECONDS).default(120),
    /** Extra Spark settings for the consumer (`--conf key=value`). */
    sparkConf: z.record(z.string().regex(/^spark\.[A-Za-z0-9._-]+$/, { message: "must be a Spark setting starting with spark." }), z.string()).default({}),
});

export type ConsumerConfig = Omit<z.infer<typeof consumerSchema>, "topic"> & { topic: string };
