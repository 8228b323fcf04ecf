import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { accessSchema, AccessConfig } from "./access";
import { Engine, ENGINES } from "./common";
import { ConsumerConfig, consumerSchema } from "./consumer";
import { DataLakeConfig, dataLakeSchema } from "./dataLake";
import { Ec2Config, ec2Schema } from "./ec2";
import { EmrConfig, emrSchema } from "./emr";
import { KafkaConfig, kafkaSchema } from "./kafka";
import { KubernetesConfig, kubernetesSchema } from "./kubernetes";
import { LocalConfig, localHostPorts, localPortClashes, localSchema } from "./local";
import { monitoringPortClashes, ObservabilityConfig, observabilitySchema, resolveObservability } from "./observability";
import { NetworkConfig, networkSchema, privateSubnetCount } from "./network";
import { SecurityConfig, securitySchema } from "./security";

// The one place that reads and validates stack config. Components receive the plain, typed, defaulted objects
// returned by `loadPlatformConfig` and never read `pulumi.Config` themselves, so a bad value fails here, before
// any resource is declared, with a message that names the key, the value given and what is allowed. Each key's
// schema is in its own file here; this one reads them together and checks what spans keys.

export type { AccessConfig } from "./access";
export { CLOUDWATCH_RETENTION_DAYS, ENGINES, isIpv4Cidr } from "./common";
export type { Engine } from "./common";
export { MAX_STOP_GRACE_SECONDS, MIN_STOP_GRACE_SECONDS } from "./consumer";
export type { ConsumerConfig } from "./consumer";
export type { DataLakeConfig } from "./dataLake";
export type { Ec2Config } from "./ec2";
export type { EmrConfig } from "./emr";
export { CONTAINER_BROKER_COUNTS, KAFKA_MODES } from "./kafka";
export type { KafkaConfig, KafkaMode, TopicConfig } from "./kafka";
export type { KubernetesConfig } from "./kubernetes";
export { localHostPorts } from "./local";
export type { LocalConfig } from "./local";
export type { ObservabilityConfig } from "./observability";
export { privateSubnetCount } from "./network";
export type { NetworkConfig } from "./network";
export type { SecurityConfig } from "./security";

/** Everything the program needs, validated and with every default filled in. */
export interface PlatformConfig {
    readonly project: string;
    readonly stack: string;
    readonly engine: Engine;
    readonly network: NetworkConfig;
    readonly access: AccessConfig;
    readonly dataLake: DataLakeConfig;
    readonly kafka: KafkaConfig;
    readonly consumer: ConsumerConfig;
    readonly emr: EmrConfig;
    readonly ec2: Ec2Config;
    readonly security: SecurityConfig;
    readonly local: LocalConfig;
    readonly kubernetes: KubernetesConfig;
    readonly observability: ObservabilityConfig;
    /** engine kubernetes with cluster existing: the secret kubeconfig (top-level key `kubeconfig`, set with --secret). */
    readonly kubeconfig?: pulumi.Output<string>;
}

/** The raw values as the stack gives them: scalars as strings, objects as parsed JSON. */
export interface RawConfig {
    readonly engine?: string;
    readonly network?: unknown;
    readonly access?: unknown;
    readonly dataLake?: unknown;
    readonly kafka?: unknown;
    readonly consumer?: unknown;
    readonly emr?: unknown;
    readonly ec2?: unknown;
    readonly security?: unknown;
    readonly local?: unknown;
    /** The secret config `objectStoreSecretKey` (engine local). */
    readonly objectStoreSecretKey?: pulumi.Output<string>;
    readonly kubernetes?: unknown;
    readonly observability?: unknown;
    /** Whether the top-level `kubeconfig` key is set, and whether as a secret (its value never passes through here). */
    readonly kubeconfig?: "secret" | "plain";
}

function describe(value: unknown): string {
    return value === undefined ? "nothing" : JSON.stringify(value);
}

/** The keys an object schema allows, also when it is wrapped in a transform (a pipe) or a refinement. */
function shapeOf(schema: z.ZodType): object {
    const s = schema as unknown as { shape?: object; in?: { shape?: object } };
    return s.shape ?? s.in?.shape ?? {};
}

function parseKey<S extends z.ZodType>(key: string, schema: S, value: unknown): z.output<S> {
    const result = schema.safeParse(value ?? {}, { reportInput: true });
    if (result.success) {
        return result.data;
    }
    const lines = result.error.issues.map((issue) => {
        const path = [key, ...issue.path.map(String)].join(".");
        if (issue.code === "unrecognized_keys") {
            return `${path}: unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(", ")}; allowed: ${Object.keys(
                shapeOf(schema),
            ).join(", ") || "see README.md"}`;
        }
        const given = "input" in issue ? `; got ${describe(issue.input)}` : "";
        // A bad record key reports "Invalid key in record"; the nested issue says what a key must look like.
        const message = issue.code === "invalid_key" && issue.issues.length > 0 ? issue.issues[0].message : issue.message;
        return `${path} ${message}${given}`;
    });
    throw new Error(`Invalid stack config:\n  ${lines.join("\n  ")}`);
}

/** Validates raw stack config and fills every default. Throws one error that lists every bad key. */
export function parsePlatformConfig(raw: RawConfig, project: string, stack: string): PlatformConfig {
    const errors: string[] = [];
    const attempt = <T>(fn: () => T): T | undefined => {
        try {
            return fn();
        } catch (e) {
            errors.push((e as Error).message.replace(/^Invalid stack config:\n {2}/, ""));
            return undefined;
        }
    };
    const engine = attempt(() => {
        const e = raw.engine ?? "ec2";
        if (!(ENGINES as readonly string[]).includes(e)) {
            throw new Error(`engine must be one of ${ENGINES.join(", ")}; got ${describe(e)}`);
        }
        return e as Engine;
    });
    const network = attempt(() => parseKey("network", networkSchema, raw.network));
    const access = attempt(() => parseKey("access", accessSchema, raw.access));
    const dataLake = attempt(() => parseKey("dataLake", dataLakeSchema, raw.dataLake));
    const kafka = attempt(() => parseKey("kafka", kafkaSchema(engine ?? "ec2"), raw.kafka));
    const consumerRaw = attempt(() => parseKey("consumer", consumerSchema, raw.consumer));
    const emrRaw = attempt(() => parseKey("emr", emrSchema, raw.emr));
    const ec2 = attempt(() => parseKey("ec2", ec2Schema, raw.ec2));
    const security = attempt(() => parseKey("security", securitySchema, raw.security));
    const localRaw = attempt(() => parseKey("local", localSchema, raw.local));
    const kubernetesRaw = attempt(() => parseKey("kubernetes", kubernetesSchema, raw.kubernetes));
    const observabilityRaw = attempt(() => parseKey("observability", observabilitySchema, raw.observability));
    const observability = observabilityRaw && consumerRaw ? resolveObservability(observabilityRaw, consumerRaw.name) : undefined;

    let consumer: ConsumerConfig | undefined;
    if (consumerRaw && kafka) {
        const topic = consumerRaw.topic ?? kafka.topics[0].name;
        if (!kafka.topics.some((t) => t.name === topic)) {
            errors.push(`consumer.topic must be one of kafka.topics (${kafka.topics.map((t) => t.name).join(", ")}); got "${topic}"`);
        }
        consumer = { ...consumerRaw, topic };
    }
    let emr: EmrConfig | undefined;
    if (emrRaw && dataLake) {
        if (emrRaw.minCapacity > emrRaw.maxCapacity) {
            errors.push(`emr.minCapacity must not exceed emr.maxCapacity (${emrRaw.maxCapacity}); got ${emrRaw.minCapacity}`);
        }
        emr = { ...emrRaw, terminationProtection: emrRaw.terminationProtection ?? dataLake.protect };
    }
    if (kafka && network) {
        const subnets = privateSubnetCount(network);
        const brokers = kafka.brokerCount ?? subnets;
        if (kafka.mode === "msk" && brokers % subnets !== 0) {
            errors.push(`kafka.brokerCount must be a multiple of the ${subnets} private subnets; got ${brokers}`);
        }
        if (kafka.mode === "msk" && kafka.defaultReplicationFactor > brokers) {
            errors.push(`kafka.defaultReplicationFactor must not exceed the ${brokers} brokers; got ${kafka.defaultReplicationFactor}`);
        }
        for (const t of kafka.topics) {
            const rf = t.replicationFactor ?? kafka.defaultReplicationFactor;
            if (kafka.mode === "msk" && rf > brokers) {
                errors.push(`kafka.topics["${t.name}"].replicationFactor must not exceed the ${brokers} brokers; got ${rf}`);
            }
        }
    }
    let local: LocalConfig | undefined;
    if (localRaw) {
        const bucket = localRaw.objectStore.bucket ?? `${project}-${stack}`.toLowerCase().replace(/[^a-z0-9.-]/g, "-");
        local = { ...localRaw, objectStore: { ...localRaw.objectStore, bucket, secretKey: raw.objectStoreSecretKey } };
        if (engine === "local") {
            if (localRaw.objectStore.mode === "external" && raw.objectStoreSecretKey === undefined) {
                errors.push(
                    "objectStoreSecretKey is required when local.objectStore.mode is external: pulumi config set --secret objectStoreSecretKey <the endpoint's secret key>",
                );
            }
            if (kafka) {
                errors.push(...localPortClashes(local, kafka.mode === "container" ? kafka.brokerCount! : 0));
                errors.push(...(observability ? monitoringPortClashes(observability, localHostPorts(local, kafka.mode === "container" ? kafka.brokerCount! : 0)) : []));
            }
        }
    }
    let kubernetes: KubernetesConfig | undefined;
    if (kubernetesRaw && network) {
        kubernetes = {
            ...kubernetesRaw,
            installOperator: kubernetesRaw.installOperator ?? kubernetesRaw.cluster === "eks",
            logRetentionDays: kubernetesRaw.logRetentionDays ?? network.flowLogRetentionDays,
        };
        errors.push(...kubeconfigErrors(engine, kubernetes, raw.kubeconfig));
        if (engine === "kubernetes" && kubernetes.cluster === "existing" && kafka && kafka.mode !== "external" && kubernetes.existing?.nodeSecurityGroupId === undefined) {
            errors.push(`kubernetes.existing.nodeSecurityGroupId is required with kafka.mode ${kafka.mode}: the brokers admit clients only by security group, so name the group of the cluster's nodes`);
        }
    }
    if (errors.length > 0) {
        throw new Error(`Invalid stack config:\n  ${errors.join("\n  ")}`);
    }
    return {
        project,
        stack,
        engine: engine!,
        network: network!,
        access: access!,
        dataLake: dataLake!,
        kafka: { ...kafka!, brokerCount: kafka!.brokerCount ?? privateSubnetCount(network!) },
        consumer: consumer!,
        emr: emr!,
        ec2: ec2!,
        security: security!,
        local: local!,
        kubernetes: kubernetes!,
        observability: observability!,
    };
}

/** What is wrong with the `kubeconfig` key for this engine and cluster mode: needed only for an existing cluster, and only as a secret. */
function kubeconfigErrors(engine: Engine | undefined, kubernetes: KubernetesConfig, given: RawConfig["kubeconfig"]): string[] {
    const needed = engine === "kubernetes" && kubernetes.cluster === "existing";
    if (needed && given === undefined) {
        return ["kubeconfig is required when kubernetes.cluster is existing: pulumi config set --secret kubeconfig \"$(cat path/to/kubeconfig)\""];
    }
    if (given === "plain") {
        return ["kubeconfig must be a secret (it holds cluster credentials): pulumi config set --secret kubeconfig \"$(cat path/to/kubeconfig)\""];
    }
    if (!needed && given !== undefined) {
        return [`kubeconfig is only read for engine kubernetes with kubernetes.cluster existing; this stack has engine ${engine ?? "?"}${engine === "kubernetes" ? ` and cluster ${kubernetes.cluster}` : ""}; remove it`];
    }
    return [];
}

/** Reads this stack's config the way the CLI hands it to the program, then validates it. */
export function loadPlatformConfig(): PlatformConfig {
    const config = new pulumi.Config();
    const parsed = parsePlatformConfig(
        {
            engine: config.get("engine"),
            network: config.getObject("network"),
            access: config.getObject("access"),
            dataLake: config.getObject("dataLake"),
            kafka: config.getObject("kafka"),
            consumer: config.getObject("consumer"),
            emr: config.getObject("emr"),
            ec2: config.getObject("ec2"),
            security: config.getObject("security"),
            local: config.getObject("local"),
            objectStoreSecretKey: config.getSecret("objectStoreSecretKey"),
            kubernetes: config.getObject("kubernetes"),
            observability: config.getObject("observability"),
            kubeconfig: kubeconfigState(`${pulumi.getProject()}:kubeconfig`),
        },
        pulumi.getProject(),
        pulumi.getStack(),
    );
    // Read only as a secret, and only where it is used: it never reaches a plain value or another engine.
    return parsed.engine === "kubernetes" && parsed.kubernetes.cluster === "existing" ? { ...parsed, kubeconfig: config.requireSecret("kubeconfig") } : parsed;
}

/**
 * Whether `key` is set, and whether the CLI marked it secret (`config set --secret`), without reading its value. The
 * runtime's secret-key list is what `getSecret` itself relies on; its accessor is not in the typings, hence the cast.
 */
function kubeconfigState(key: string): RawConfig["kubeconfig"] {
    if (pulumi.runtime.allConfig()[key] === undefined) {
        return undefined;
    }
    const isSecret = (pulumi.runtime as unknown as { isConfigSecret(k: string): boolean }).isConfigSecret;
    return isSecret(key) ? "secret" : "plain";
}
