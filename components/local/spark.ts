import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { LocalConfig } from "../config";
import { LocalSite, platformContainer } from "./container";

// Spark standalone for engine local, every process from the consumer image's entrypoint roles (the same image and
// roles the ec2 engine runs): a master, N workers, and a history server reading the event logs from the object
// store. The consumer (consumer.ts) runs its driver in client mode against this master.

/** Ports inside the Spark containers (the image's defaults, see jobs/streaming-consumer/entrypoint.sh). */
export const SPARK_PORTS = { master: 7077, masterUi: 8080, workerUi: 8081, historyUi: 18080, appUi: 4040 } as const;
/** The master's alias: workers and the driver reach it as spark://spark-master:7077. */
export const MASTER_ALIAS = "spark-master";
/** The history server's alias. */
export const HISTORY_ALIAS = "spark-history";
/** Workers' scratch space (shuffle files, executor logs): writable by the image's user, gone with the container. */
export const WORKER_DIR = "/tmp/spark-worker";

/** The alias (and hostname) of worker `i` (1-based). */
export function workerAlias(i: number): string {
    return `spark-worker-${i}`;
}

/** `spark://spark-master:7077`. */
export function masterUrl(): string {
    return `spark://${MASTER_ALIAS}:${SPARK_PORTS.master}`;
}

/** The image has Python, not curl: a GET that fails on connection errors and HTTP errors (>= 400). */
const HTTP_PROBE = "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=8)";

/** Ready = the process's web UI (or REST API) answers on `url` inside the container. */
export function httpHealthcheck(url: string): docker.types.input.ContainerHealthcheck {
    return {
        tests: ["CMD", "python3", "-c", HTTP_PROBE, url],
        interval: "30s",
        timeout: "10s",
        retries: 3,
        startPeriod: "180s",
        startInterval: "2s",
    };
}

/** What the Spark containers need from the object store: where it is and the credentials (as environment). */
export interface SparkStoreAccess {
    /** `fs.s3a.*` settings for the store (s3a.ts). */
    readonly hadoopConf: Record<string, string>;
    /** AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (S3A reads them from the environment). */
    readonly credentialsEnv: Record<string, pulumi.Input<string>>;
    /** `s3a://<bucket>/logs/spark-events/`: where drivers write event logs and the history server reads them. */
    readonly eventLogDir: string;
}

export interface LocalSparkArgs {
    readonly config: LocalConfig["spark"];
    readonly site: LocalSite;
    /** The consumer image id: a new build replaces every Spark container. */
    readonly image: pulumi.Input<string>;
    readonly store: SparkStoreAccess;
    /** Host ports of the UIs; worker i publishes on sparkWorkerUi + i - 1. */
    readonly ports: Pick<LocalConfig["ports"], "sparkMasterUi" | "sparkWorkerUi" | "historyUi">;
    /** Resources the history server needs first (the bucket with its event-log folder). */
    readonly storeReady: pulumi.Input<pulumi.Resource>[];
}

export class LocalSpark extends pulumi.ComponentResource {
    public readonly master: docker.Container;
    public readonly workers: docker.Container[];
    public readonly history: docker.Container;
    /** `spark://spark-master:7077`. */
    public readonly masterUrl: string;

    constructor(name: string, args: LocalSparkArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("spark-streaming:local:Spark", name, {}, opts);
        const { config, site, image, store } = args;
        this.masterUrl = masterUrl();
        const daemon = { SPARK_DAEMON_MEMORY: config.daemonMemory };

        this.master = platformContainer(
            name,
            site,
            {
                role: MASTER_ALIAS,
                image,
                command: ["master"],
                env: {
                    ...daemon,
                    SPARK_MASTER_HOST: MASTER_ALIAS,
                    SPARK_MASTER_PORT: String(SPARK_PORTS.master),
                    SPARK_MASTER_WEBUI_PORT: String(SPARK_PORTS.masterUi),
                },
                ports: [{ internal: SPARK_PORTS.masterUi, external: args.ports.sparkMasterUi }],
                healthcheck: httpHealthcheck(`http://localhost:${SPARK_PORTS.masterUi}/json/`),
                stopGraceSeconds: 30,
            },
            this,
        );

        this.workers = Array.from({ length: config.workers }, (_, j) => {
            const alias = workerAlias(j + 1);
            return platformContainer(
                name,
                site,
                {
                    role: alias,
                    image,
                    command: ["worker"],
                    env: {
                        ...daemon,
                        // Executors inherit the worker's environment: they write the data files to the store.
                        ...store.credentialsEnv,
                        SPARK_MASTER_URL: this.masterUrl,
                        SPARK_WORKER_CORES: String(config.workerCores),
                        SPARK_WORKER_MEMORY: config.workerMemory,
                        SPARK_WORKER_WEBUI_PORT: String(SPARK_PORTS.workerUi),
                        SPARK_WORKER_DIR: WORKER_DIR,
                        // Registered (and shown in the master's UI) under its alias, which the driver resolves.
                        SPARK_LOCAL_HOSTNAME: alias,
                    },
                    ports: [{ internal: SPARK_PORTS.workerUi, external: args.ports.sparkWorkerUi + j }],
                    healthcheck: httpHealthcheck(`http://localhost:${SPARK_PORTS.workerUi}/json/`),
                    stopGraceSeconds: 30,
                    dependsOn: [this.master],
                },
                this,
            );
        });

        // S3A for the history server as JVM system properties (spark.hadoop.* reach its Hadoop configuration).
        const historyOpts = Object.entries(store.hadoopConf).map(([k, v]) => `-Dspark.hadoop.${k}=${v}`);
        this.history = platformContainer(
            name,
            site,
            {
                role: HISTORY_ALIAS,
                image,
                command: ["history"],
                env: {
                    ...daemon,
                    ...store.credentialsEnv,
                    SPARK_HISTORY_LOG_DIR: store.eventLogDir,
                    SPARK_HISTORY_OPTS: historyOpts.join(" "),
                },
                ports: [{ internal: SPARK_PORTS.historyUi, external: args.ports.historyUi }],
                healthcheck: httpHealthcheck(`http://localhost:${SPARK_PORTS.historyUi}/api/v1/version`),
                stopGraceSeconds: 30,
                dependsOn: args.storeReady,
            },
            this,
        );
        this.registerOutputs({ masterUrl: this.masterUrl });
    }
}
