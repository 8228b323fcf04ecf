import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { ConsumerConfig, LocalConfig } from "../config";
import { consumerJobArgs, consumerStopTimeoutSeconds } from "../consumerArgs";
import { checkpointPrefix, deadLetterPrefix, outputPrefix, s3Uri } from "../locations";
import { LocalSite, platformContainer } from "./container";
import { httpHealthcheck, SPARK_PORTS, SparkStoreAccess } from "./spark";

// The consumer on engine local: the image's `consumer` role, its driver in client mode against the standalone
// master, its executors on the workers, checkpoint and output in the object store. One container with a fixed name:
// a redeploy removes the old one (SIGTERM: the running batch commits, then the query stops) before the new one starts, so exactly one
// query ever runs on the checkpoint, and the new one resumes from it.

/** Spark reaches the local store through S3A by its own scheme (see s3a.ts); the stack's location outputs use it too. */
export const LOCAL_URI_SCHEME = "s3a";

/** The driver's alias: executors on the workers connect back to it by this name. */
export const CONSUMER_ALIAS = "spark-consumer";

/** Spark settings the consumer needs on engine local: S3A for the store, executors sized for the workers. */
export function localConsumerSparkConf(s3aSparkConf: Record<string, string>, spark: LocalConfig["spark"]): Record<string, string> {
    return {
        ...s3aSparkConf,
        "spark.executor.memory": spark.executorMemory,
        "spark.executor.cores": String(spark.workerCores),
        // One executor per worker: the query gets every core the workers offer, and no more.
        "spark.cores.max": String(spark.workers * spark.workerCores),
    };
}

export interface LocalConsumerArgs {
    readonly consumer: ConsumerConfig;
    readonly spark: LocalConfig["spark"];
    readonly site: LocalSite;
    /** The consumer image id. */
    readonly image: pulumi.Input<string>;
    /** spark://spark-master:7077. */
    readonly masterUrl: string;
    /** Bootstrap servers as containers reach them. */
    readonly bootstrapServers: string;
    /** KAFKA_TOPICS: the topics created (if missing) before the query starts. */
    readonly topicsJson: string;
    /** The stack's bucket name. */
    readonly bucket: string;
    readonly store: SparkStoreAccess;
    /** `spark.hadoop.*` settings for the store (s3a.ts). */
    readonly s3aSparkConf: Record<string, string>;
    /** Host port of the driver's UI. */
    readonly uiPort: number;
    /** Created only once these are healthy: brokers, master, workers, the bucket. */
    readonly dependsOn: pulumi.Input<pulumi.Resource>[];
}

export class LocalConsumer extends pulumi.ComponentResource {
    public readonly container: docker.Container;
    /** The job's flags, as the container passes them after `consumer`. */
    public readonly jobArgs: pulumi.Output<string[]>;

    constructor(name: string, args: LocalConsumerArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("spark-streaming:local:Consumer", name, {}, opts);
        const { consumer, bucket } = args;
        this.jobArgs = consumerJobArgs(consumer, {
            bootstrapServers: args.bootstrapServers,
            kafkaAuth: "none",
            output: s3Uri(bucket, outputPrefix(consumer.topic), LOCAL_URI_SCHEME),
            deadLetter: s3Uri(bucket, deadLetterPrefix(consumer.topic), LOCAL_URI_SCHEME),
            checkpoint: s3Uri(bucket, checkpointPrefix(consumer.name), LOCAL_URI_SCHEME),
            engineSparkConf: localConsumerSparkConf(args.s3aSparkConf, args.spark),
        });
        this.container = platformContainer(
            name,
            args.site,
            {
                role: CONSUMER_ALIAS,
                image: args.image,
                command: this.jobArgs.apply((flags) => ["consumer", ...flags]),
                env: {
                    ...args.store.credentialsEnv,
                    SPARK_MASTER_URL: args.masterUrl,
                    SPARK_DRIVER_HOST: CONSUMER_ALIAS,
                    SPARK_EVENT_LOG_DIR: args.store.eventLogDir,
                    KAFKA_TOPICS: args.topicsJson,
                    // spark-submit options: in client mode the driver's heap is fixed when its JVM starts.
                    SPARK_SUBMIT_OPTS_EXTRA: `--driver-memory ${args.spark.driverMemory}`,
                },
                ports: [{ internal: SPARK_PORTS.appUi, external: args.uiPort }],
                healthcheck: httpHealthcheck(`http://localhost:${SPARK_PORTS.appUi}/`),
                // A stop (or a replacement) gives the driver its grace period to commit its batch, plus the JVM's
                // shutdown, before Docker kills it; a kill is safe (the checkpoint re-runs the batch) but slower.
                stopGraceSeconds: consumerStopTimeoutSeconds(consumer),
                dependsOn: args.dependsOn,
            },
            this,
        );
        this.registerOutputs({ jobArgs: this.jobArgs });
    }
}
