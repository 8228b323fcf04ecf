import * as pulumi from "@pulumi/pulumi";
import * as net from "net";
import { z } from "zod";

// The `local` key of the stack config (engine local), validated with zod and defaulted here; index.ts
// reads it with every other key and reports its errors with theirs.

const port = z.number().int().min(1).max(65535);
const jvmMemory = z.string().regex(/^\d+[mg]$/, { message: 'must be a JVM memory size such as "512m" or "1g"' });
const ipv4 = z.string().refine((a) => net.isIPv4(a), { message: "must be an IPv4 address such as 127.0.0.1" });
const httpEndpoint = z.string().regex(/^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/, { message: "must be http(s)://host[:port] with no path, e.g. http://host.docker.internal:9000" });

/** Engine local: the whole platform as containers on the user's Docker engine. Ignored by the AWS engines. */
export const localSchema = z.strictObject({
    /** Host address every published port binds to. The default keeps every UI, the S3 API and Kafka's host listener on this machine. */
    bindAddress: ipv4.default("127.0.0.1"),
    /** Host ports. Brokers and workers take consecutive ports from the first one given. */
    ports: z
        .strictObject({
            /** Kafka's host listener of broker 1 (broker i: this + i - 1), for producers on this machine. */
            kafka: port.default(19092),
            sparkMasterUi: port.default(8080),
            /** Worker 1's UI (worker i: this + i - 1). */
            sparkWorkerUi: port.default(8081),
            /** The consumer driver's UI. */
            consumerUi: port.default(4040),
            historyUi: port.default(18080),
            /** The object store's S3 API (container mode). */
            objectStore: port.default(8333),
            /** The object store's web console (container mode). */
            objectStoreConsole: port.default(23646),
        })
        .prefault({}),
    /** Spark standalone: workers and the memory of each process. */
    spark: z
        .strictObject({
            /** Standalone workers, as the original design had three. */
            workers: z.number().int().min(1).max(8).default(3),
            workerCores: z.number().int().min(1).max(16).default(1),
            workerMemory: jvmMemory.default("1g"),
            executorMemory: jvmMemory.default("512m"),
            driverMemory: jvmMemory.default("1g"),
            /** Heap of the master, worker and history server daemons. */
            daemonMemory: jvmMemory.default("512m"),
        })
        .prefault({}),
    /** Heap of each Kafka broker. */
    kafkaHeap: jvmMemory.default("512m"),
    /** The S3-compatible store: a SeaweedFS container (default) or an existing endpoint. */
    objectStore: z
        .strictObject({
            mode: z.enum(["container", "external"]).default("container"),
            /** The bucket the stack creates (if missing). Default `<project>-<stack>`. */
            bucket: z
                .string()
                .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { message: "must be an S3 bucket name: 3-63 lowercase letters, digits, '.' or '-'" })
                .optional(),
            /** external mode: the S3 endpoint as the containers reach it, e.g. http://host.docker.internal:9000. */
            endpoint: httpEndpoint.optional(),
            /** external mode: the endpoint as this machine reaches it (the stack creates the bucket from here). Default: endpoint. */
            hostEndpoint: httpEndpoint.optional(),
            /** Access key id; the secret key is the secret config `objectStoreSecretKey` (generated for the container store when unset). */
            accessKeyId: z
                .string()
                .regex(/^[A-Za-z0-9_+=,.@-]{3,128}$/, { message: "must be 3-128 letters, digits or _+=,.@-" })
                .default("spark-streaming"),
            /** The region S3A signs requests for; S3-compatible stores accept any. */
            region: z.string().regex(/^[a-z0-9-]{2,32}$/, { message: 'must be a region name such as "us-east-1"' }).default("us-east-1"),
        })
        .prefault({})
        .superRefine((o, ctx) => {
            if (o.mode === "external" && o.endpoint === undefined) {
                ctx.addIssue({ code: "custom", path: ["endpoint"], message: "is required when local.objectStore.mode is external" });
            }
            if (o.mode === "container" && (o.endpoint !== undefined || o.hostEndpoint !== undefined)) {
                ctx.addIssue({ code: "custom", path: ["endpoint"], message: "is only for local.objectStore.mode external; the container store's endpoint is the stack's own" });
            }
        }),
    /** The demo producer: schema-valid events plus a share of malformed ones, so data and dead letters appear at once. */
    producer: z
        .strictObject({
            enabled: z.boolean().default(true),
            eventsPerSecond: z.number().min(0.1).max(10000).default(5),
            /** Share of malformed records, percent; they land in the dead letter. */
            malformedPercent: z.number().min(0).max(100).default(5),
        })
        .prefault({}),
});

type LocalSchemaOutput = z.infer<typeof localSchema>;
/** Engine local's settings with every default filled; `secretKey` is the secret config `objectStoreSecretKey`, if set. */
export type LocalConfig = Omit<LocalSchemaOutput, "objectStore"> & {
    readonly objectStore: Omit<LocalSchemaOutput["objectStore"], "bucket"> & { bucket: string; secretKey: pulumi.Output<string> | undefined };
};

/** The host ports engine local publishes, by config key; brokers and workers take consecutive ports. */
export function localHostPorts(local: LocalConfig, brokers: number): Array<{ key: string; port: number }> {
    const p = local.ports;
    const range = (key: string, first: number, n: number) =>
        Array.from({ length: n }, (_, i) => ({ key: n > 1 ? `${key} (+${i})` : key, port: first + i }));
    const store = local.objectStore.mode === "container";
    return [
        ...range("local.ports.kafka", p.kafka, brokers),
        { key: "local.ports.sparkMasterUi", port: p.sparkMasterUi },
        ...range("local.ports.sparkWorkerUi", p.sparkWorkerUi, local.spark.workers),
        { key: "local.ports.consumerUi", port: p.consumerUi },
        { key: "local.ports.historyUi", port: p.historyUi },
        ...(store ? [{ key: "local.ports.objectStore", port: p.objectStore }, { key: "local.ports.objectStoreConsole", port: p.objectStoreConsole }] : []),
    ];
}

/** Two services on one host port cannot both start: each clash as an error sentence naming both keys. */
export function localPortClashes(local: LocalConfig, brokers: number): string[] {
    const seen = new Map<number, string>();
    const out: string[] = [];
    for (const { key, port } of localHostPorts(local, brokers)) {
        const other = seen.get(port);
        if (other !== undefined) {
            out.push(`${key} uses host port ${port}, which ${other} already takes; pick ports that do not overlap (brokers and workers take consecutive ports)`);
        } else if (port > 65535) {
            out.push(`${key} runs past the last port (65535)`);
        } else {
            seen.set(port, key);
        }
    }
    return out;
}
