import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { DataLakeConfig, KafkaConfig, LocalConfig, ObservabilityConfig } from "../config";
import { ConsumerSpec } from "../consumerArgs";
import { SPARK_EVENTS_PREFIX } from "../locations";
import { LocalSite } from "./container";
import { CONSUMER_ALIAS, LOCAL_URI_SCHEME, LocalConsumer } from "./consumer";
import { LocalConsumerImage } from "./consumerImage";
import { GRAFANA_IMAGE, KAFKA_IMAGE, pinnedName, PinnedImage, PROMETHEUS_IMAGE, SEAWEEDFS_IMAGE } from "./images";
import { brokerAlias, KAFKA_PORTS, LocalKafka } from "./kafka";
import { LocalNetwork } from "./network";
import { LocalMonitoring } from "./monitoring";
import { LocalObjectStore } from "./objectStore";
import { LocalProducer } from "./producer";
import { s3aHadoopConf, s3aSparkConf } from "./s3a";
import { LocalSpark, SparkStoreAccess } from "./spark";

// Engine `local`: the whole platform as containers on the user's own Docker engine, with no AWS account and no
// AWS call. One network; Kafka (apache/kafka, KRaft); an S3-compatible store with the stack's bucket; Spark
// standalone (master, workers, history server) and the consumer from the locally built consumer image; the demo
// producer. Each part waits for what it needs to be healthy. Observability (Prometheus and Grafana, issue 14)
// joins as one more part here, on the same network and site.

export interface LocalPlatformArgs {
    readonly project: string;
    readonly stack: string;
    readonly local: LocalConfig;
    readonly kafka: KafkaConfig;
    /** The consumer, with its telemetry (consumerArgs.ts) when index.ts sets it. */
    readonly consumer: ConsumerSpec;
    /** forceDestroy/protect decide whether the data volumes survive `pulumi destroy`. */
    readonly dataLake: DataLakeConfig;
    /** Prometheus and Grafana (observability.local), the consumer group and metrics port. Default: monitoring off. */
    readonly observability?: ObservabilityConfig;
    /** The consumer image's build context. Default: jobs/streaming-consumer. */
    readonly consumerContext?: string;
}

/** The host name in URLs for this machine: localhost when the ports bind to loopback (or everywhere). */
export function hostNameFor(bindAddress: string): string {
    return bindAddress === "127.0.0.1" || bindAddress === "0.0.0.0" ? "localhost" : bindAddress;
}

/** A ready-to-paste command that sends one valid event to the topic, through a broker container's own tools. */
export function produceCommand(site: LocalSite, kafka: KafkaConfig, topic: string, bootstrap: string): string {
    const event = '{"event_id":"hello-1","event_time":"2024-05-01T10:00:00Z","type":"click","user_id":"u-1","amount":1.5}';
    const exec =
        kafka.mode === "container"
            ? `docker exec -i ${site.prefix}-${brokerAlias(1)} /opt/kafka/bin/kafka-console-producer.sh --bootstrap-server localhost:${KAFKA_PORTS.internal}`
            : `docker run --rm -i --network ${site.prefix} ${pinnedName(KAFKA_IMAGE)} /opt/kafka/bin/kafka-console-producer.sh --bootstrap-server ${bootstrap}`;
    return `echo '${event}' | ${exec} --topic ${topic}`;
}

/** What the Spark parts need from the store: S3A settings, the credentials as environment, the event-log folder. */
export function sparkStoreAccess(store: Pick<LocalObjectStore, "endpoint" | "region" | "accessKeyId" | "secretAccessKey">, bucket: string): SparkStoreAccess {
    return {
        hadoopConf: s3aHadoopConf(store.endpoint, store.region),
        credentialsEnv: { AWS_ACCESS_KEY_ID: store.accessKeyId, AWS_SECRET_ACCESS_KEY: store.secretAccessKey },
        eventLogDir: `${LOCAL_URI_SCHEME}://${bucket}/${SPARK_EVENTS_PREFIX}`,
    };
}

/** name -> URL of every UI on this machine: the master, each worker, the driver, the history server, the store's console. */
export function localUiUrls(local: LocalConfig, host: string, consoleUrl: string | undefined): Record<string, string> {
    const url = (port: number) => `http://${host}:${port}`;
    const urls: Record<string, string> = {
        sparkMaster: url(local.ports.sparkMasterUi),
        consumerApp: url(local.ports.consumerUi),
        sparkHistory: url(local.ports.historyUi),
    };
    for (let i = 1; i <= local.spark.workers; i++) {
        urls[`sparkWorker${i}`] = url(local.ports.sparkWorkerUi + i - 1);
    }
    if (consoleUrl !== undefined) {
        urls.objectStoreConsole = consoleUrl;
    }
    return urls;
}

export class LocalPlatform extends pulumi.ComponentResource {
    /** name -> http://localhost:<port> of every UI. */
    public readonly uiUrls: Record<string, string>;
    /** Bootstrap servers for producers on this machine. */
    public readonly kafkaBootstrapBrokers: string;
    public readonly bucketName: pulumi.Output<string>;
    /** How Spark (and the location outputs) address the bucket. */
    public readonly uriScheme = LOCAL_URI_SCHEME;
    /** The consumer image as the local engine knows it: `spark-streaming-consumer:<content hash>`. */
    public readonly imageRef: string;
    /** Pipe a JSON event into it to send it to the consumer's topic. */
    public readonly produceCommand: string;
    /** The S3 API for tools on this machine, and its credentials (the secret key stays a secret). */
    public readonly objectStore: { endpoint: string; region: string; accessKeyId: string; secretAccessKey: pulumi.Output<string> };
    /** Prometheus and Grafana, when observability.local.enabled. */
    public readonly monitoring: LocalMonitoring | undefined;

    constructor(name: string, args: LocalPlatformArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("spark-streaming:local:LocalPlatform", name, {}, opts);
        const { local, kafka, consumer } = args;
        const parent = { parent: this };
        const host = hostNameFor(local.bindAddress);
        const protectData = args.dataLake.protect;
        const pulled = (role: string, pin: PinnedImage) =>
            new docker.RemoteImage(`${name}-${role}-image`, { name: pinnedName(pin), keepLocally: true }, parent).imageId;

        // --- The stack's network, and the consumer image every Spark part runs.
        const prefix = `${args.project}-${args.stack}`.toLowerCase().replace(/[^a-z0-9_.-]/g, "-");
        const labels = { "spark-streaming.project": args.project, "spark-streaming.stack": args.stack };
        const network = new LocalNetwork(`${name}-network`, { prefix, labels }, parent);
        const site: LocalSite = { prefix, networkName: network.networkName, bindAddress: local.bindAddress, labels };
        const image = new LocalConsumerImage(`${name}-consumer-image`, { context: args.consumerContext }, parent);

        // --- The object store with the stack's bucket, and the brokers.
        const storeImage = local.objectStore.mode === "container" ? pulled("object-store", SEAWEEDFS_IMAGE) : undefined;
        const storePorts = { s3: local.ports.objectStore, console: local.ports.objectStoreConsole };
        const store = new LocalObjectStore(`${name}-object-store`, { config: local.objectStore, site, image: storeImage, ports: storePorts, hostName: host, protectData }, parent);
        const storeAccess = sparkStoreAccess(store, local.objectStore.bucket);
        const brokers = new LocalKafka(
            `${name}-kafka`,
            {
                config: kafka,
                site,
                project: args.project,
                stack: args.stack,
                image: kafka.mode === "container" ? pulled("kafka", KAFKA_IMAGE) : undefined,
                heap: local.kafkaHeap,
                advertisedHost: host,
                firstHostPort: local.ports.kafka,
                protectData,
            },
            parent,
        );

        // --- Spark, the consumer once everything it reads and writes is healthy, and the demo producer after it.
        const sparkArgs = { config: local.spark, site, image: image.imageId, store: storeAccess, ports: local.ports, storeReady: [store.bucket] };
        const spark = new LocalSpark(`${name}-spark`, sparkArgs, parent);
        const consumerPart = new LocalConsumer(
            `${name}-consumer`,
            {
                consumer,
                spark: local.spark,
                site,
                image: image.imageId,
                masterUrl: spark.masterUrl,
                bootstrapServers: brokers.bootstrapInternal,
                topicsJson: brokers.topicsJson,
                bucket: local.objectStore.bucket,
                store: storeAccess,
                s3aSparkConf: s3aSparkConf(store.endpoint, store.region),
                uiPort: local.ports.consumerUi,
                dependsOn: [...brokers.brokers, spark.master, ...spark.workers, store.bucket],
            },
            parent,
        );
        if (local.producer.enabled) {
            const producerArgs = { config: local.producer, site, image: image.imageId, bootstrapServers: brokers.bootstrapInternal, topic: consumer.topic };
            new LocalProducer(`${name}-producer`, { ...producerArgs, dependsOn: [consumerPart.container] }, parent);
        }

        // --- Prometheus and Grafana, scraping the consumer driver.
        const obs = args.observability;
        this.monitoring =
            obs?.local.enabled === true
                ? new LocalMonitoring(`${name}-monitoring`, { config: obs, site, prometheusImage: pulled("prometheus", PROMETHEUS_IMAGE), grafanaImage: pulled("grafana", GRAFANA_IMAGE), consumerAlias: CONSUMER_ALIAS }, parent)
                : undefined;

        this.uiUrls = {
            ...localUiUrls(local, host, store.consoleUrl),
            ...(this.monitoring ? { grafana: this.monitoring.dashboardUrl, prometheus: this.monitoring.prometheusUrl } : {}),
        };
        this.kafkaBootstrapBrokers = brokers.bootstrapHost;
        this.bucketName = store.bucketName;
        this.imageRef = image.ref;
        this.produceCommand = produceCommand(site, kafka, consumer.topic, brokers.bootstrapInternal);
        this.objectStore = { endpoint: store.hostEndpoint, region: store.region, accessKeyId: store.accessKeyId, secretAccessKey: store.secretAccessKey };
        this.registerOutputs({ uiUrls: this.uiUrls, kafkaBootstrapBrokers: this.kafkaBootstrapBrokers, bucketName: this.bucketName });
    }
}
