import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as crypto from "crypto";
import { KafkaConfig } from "../config";
import { serverProperties, topicsJson } from "../kafka";
import { LocalSite, platformContainer } from "./container";
import { namedVolume } from "./network";

// Kafka for engine local: the official apache/kafka image in KRaft mode, each broker also a controller, 1 or 3 of
// them. The image turns KAFKA_* variables into server.properties (docker/resources/common-scripts/configure and
// kafka.docker.KafkaDockerWrapper in apache/kafka 3.9: KAFKA_ dropped, lower case, "_" -> ".", "__" -> "_",
// "___" -> "-"; once any KAFKA_* server variable is set, the file holds only what the variables say). Three
// listeners: INTERNAL, advertised under the broker's alias for containers and between brokers; CONTROLLER for the
// quorum; HOST, advertised as localhost:<published port> for producers on this machine.

/** Ports inside each broker container. */
export const KAFKA_PORTS = { internal: 9092, controller: 9093, host: 9094 } as const;
/** Where each broker keeps its log (and metadata) dirs: the image's own data volume path, backed by a named volume. */
export const KAFKA_DATA_DIR = "/var/lib/kafka/data";
/** The image's tools, used by the health check. */
const KAFKA_BIN = "/opt/kafka/bin";

/** The alias of broker `i` (1-based) on the stack's network. */
export function brokerAlias(i: number): string {
    return `kafka-${i}`;
}

/**
 * The variable the apache/kafka image turns into `property`: the inverse of KafkaDockerWrapper's rule
 * ("-" is "___", "_" is "__", "." is "_", upper case, KAFKA_ prefix).
 */
export function kafkaEnvName(property: string): string {
    if (!/^[a-z0-9._-]+$/.test(property)) {
        throw new Error(`"${property}" is not a Kafka property name (lower-case letters, digits, '.', '_', '-')`);
    }
    const map: Record<string, string> = { "-": "___", _: "__", ".": "_" };
    const body = [...property].map((c) => map[c] ?? c.toUpperCase()).join("");
    // The wrapper removes every "KAFKA_" in the name and reads runs of "_" greedily: such names would not come back.
    if (body.includes("KAFKA_") || /_-|-_/.test(property)) {
        throw new Error(`Kafka property "${property}" cannot be set through the apache/kafka image's environment (its name does not survive the image's mapping)`);
    }
    return `KAFKA_${body}`;
}

/**
 * The KRaft cluster id: 16 bytes as unpadded base64url, like `kafka-storage random-uuid`, but derived from project
 * and stack so a preview never shows a new one (a new id on existing log dirs would stop the brokers).
 */
export function kafkaClusterId(project: string, stack: string): string {
    return crypto.createHash("sha256").update(`${project}/${stack}/kraft`).digest().subarray(0, 16).toString("base64url");
}

/** `host:port,...` of the INTERNAL listeners, for containers on the stack's network. */
export function internalBootstrap(brokers: number): string {
    return Array.from({ length: brokers }, (_, i) => `${brokerAlias(i + 1)}:${KAFKA_PORTS.internal}`).join(",");
}

/** `host:port,...` of the HOST listeners, for producers on this machine. */
export function hostBootstrap(brokers: number, advertisedHost: string, firstPort: number): string {
    return Array.from({ length: brokers }, (_, i) => `${advertisedHost}:${firstPort + i}`).join(",");
}

export interface BrokerEnvArgs {
    readonly config: KafkaConfig;
    readonly project: string;
    readonly stack: string;
    /** JVM heap of the broker, e.g. "512m". */
    readonly heap: string;
    /** The host name producers on this machine use (localhost, or local.bindAddress when that is a real address). */
    readonly advertisedHost: string;
    /** Host port of broker 1's HOST listener; broker i gets this + i - 1. */
    readonly firstHostPort: number;
}

/** What broker `i` (1-based) must run with: every line of its server.properties, by property. */
export function brokerProperties(i: number, args: BrokerEnvArgs): Record<string, string> {
    const { config } = args;
    const n = config.brokerCount;
    const p = KAFKA_PORTS;
    const props: Record<string, string> = {
        "node.id": String(i),
        "process.roles": "broker,controller",
        listeners: `INTERNAL://0.0.0.0:${p.internal},CONTROLLER://0.0.0.0:${p.controller},HOST://0.0.0.0:${p.host}`,
        "advertised.listeners": `INTERNAL://${brokerAlias(i)}:${p.internal},HOST://${args.advertisedHost}:${args.firstHostPort + i - 1}`,
        "listener.security.protocol.map": "INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT,HOST:PLAINTEXT",
        "inter.broker.listener.name": "INTERNAL",
        "controller.listener.names": "CONTROLLER",
        "controller.quorum.voters": Array.from({ length: n }, (_, j) => `${j + 1}@${brokerAlias(j + 1)}:${p.controller}`).join(","),
        "log.dirs": KAFKA_DATA_DIR,
        // Internal topics replicated like the data: with three brokers a committed offset survives one broker's loss.
        "offsets.topic.replication.factor": String(config.defaultReplicationFactor),
        "transaction.state.log.replication.factor": String(config.defaultReplicationFactor),
        "transaction.state.log.min.isr": String(config.minInsyncReplicas),
    };
    // The same safe broker defaults MSK gets (no topic auto-creation, no unclean leader election, retention, ISR).
    for (const line of serverProperties(config).trim().split("\n")) {
        const [k, v] = line.split("=");
        props[k] = v;
    }
    return props;
}

/** The environment of broker `i` (1-based): its server.properties as the image reads them, the cluster id and heap. */
export function brokerEnv(i: number, args: BrokerEnvArgs): Record<string, string> {
    const props = brokerProperties(i, args);
    const env: Record<string, string> = {
        CLUSTER_ID: kafkaClusterId(args.project, args.stack),
        // Not a property (the wrapper skips KAFKA_HEAP_OPTS): the JVM heap. -Xmx only, so the tools the health
        // check runs do not reserve a broker-sized heap each time.
        KAFKA_HEAP_OPTS: `-Xmx${args.heap}`,
    };
    for (const k of Object.keys(props).sort()) {
        env[kafkaEnvName(k)] = props[k];
    }
    return env;
}

/** Ready = the broker answers an ApiVersions request on its INTERNAL listener (it has joined the quorum and serves). */
export function brokerHealthcheck(): docker.types.input.ContainerHealthcheck {
    return {
        // A small heap: the tool is a JVM of its own, started every interval.
        tests: ["CMD", "env", "KAFKA_HEAP_OPTS=-Xmx64m", `${KAFKA_BIN}/kafka-broker-api-versions.sh`, "--bootstrap-server", `localhost:${KAFKA_PORTS.internal}`],
        interval: "30s",
        timeout: "30s",
        retries: 5,
        startPeriod: "180s",
        startInterval: "3s",
    };
}

export interface LocalKafkaArgs {
    /** Validated kafka config; container mode builds brokers, external mode only passes the servers on. */
    readonly config: KafkaConfig;
    readonly site: LocalSite;
    readonly project: string;
    readonly stack: string;
    /** The apache/kafka image id. Unused in external mode. */
    readonly image: pulumi.Input<string> | undefined;
    /** JVM heap of each broker. */
    readonly heap: string;
    /** Host name producers on this machine connect to. */
    readonly advertisedHost: string;
    /** Host port of broker 1's HOST listener. */
    readonly firstHostPort: number;
    /** Keep the log volumes on destroy (dataLake.protect). */
    readonly protectData: boolean;
}

export class LocalKafka extends pulumi.ComponentResource {
    /** Bootstrap servers for containers on the stack's network. */
    public readonly bootstrapInternal: string;
    /** Bootstrap servers for producers on this machine (the stack output kafkaBootstrapBrokers). */
    public readonly bootstrapHost: string;
    /** KAFKA_TOPICS for the consumer image: the topics it creates (if missing) before the query starts. */
    public readonly topicsJson: string;
    /** The broker containers (empty for external Kafka); dependents wait for them to be healthy. */
    public readonly brokers: docker.Container[];

    constructor(name: string, args: LocalKafkaArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("spark-streaming:local:Kafka", name, {}, opts);
        const { config, site } = args;
        this.topicsJson = topicsJson(config);
        if (config.mode === "external") {
            this.bootstrapInternal = config.bootstrapServers!;
            this.bootstrapHost = config.bootstrapServers!;
            this.brokers = [];
        } else {
            if (config.mode !== "container" || args.image === undefined) {
                throw new Error(`engine local runs kafka.mode container or external; got ${config.mode}`);
            }
            const env = { config, project: args.project, stack: args.stack, heap: args.heap, advertisedHost: args.advertisedHost, firstHostPort: args.firstHostPort };
            this.bootstrapInternal = internalBootstrap(config.brokerCount);
            this.bootstrapHost = hostBootstrap(config.brokerCount, args.advertisedHost, args.firstHostPort);
            // No broker depends on another: a quorum of three forms only when all start together.
            this.brokers = Array.from({ length: config.brokerCount }, (_, j) => {
                const i = j + 1;
                const volume = namedVolume(name, site, { role: `${brokerAlias(i)}-data`, protect: args.protectData }, this);
                return platformContainer(
                    name,
                    site,
                    {
                        role: brokerAlias(i),
                        image: args.image!,
                        env: brokerEnv(i, env),
                        ports: [{ internal: KAFKA_PORTS.host, external: args.firstHostPort + j }],
                        volumes: [{ volumeName: volume.name, containerPath: KAFKA_DATA_DIR }],
                        healthcheck: brokerHealthcheck(),
                        stopGraceSeconds: 60,
                    },
                    this,
                );
            });
        }
        this.registerOutputs({ bootstrapInternal: this.bootstrapInternal, bootstrapHost: this.bootstrapHost });
    }
}
