import { specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc";
import { contextHash } from "../components/buildContext";
import { consumerStopTimeoutSeconds } from "../components/consumerArgs";
import { GRAFANA_IMAGE, KAFKA_IMAGE, pinnedName, PROMETHEUS_IMAGE, SEAWEEDFS_IMAGE } from "../components/local/images";
import { containerSpecs, ContainerSpec } from "./support/localRuntime";
import { mockGeneratedSecret, mockImageId, Registered } from "./support/mocks";
import { ProgramRun, runVariant } from "./support/program";
import { expectConsumerWiring } from "./support/programAssertions";

// The whole program under mocks with Pulumi.local.yaml (and Pulumi.yaml's defaults) as the CLI would load them, and
// with the variants a user is most likely to set: one broker, an existing S3-compatible endpoint, no demo producer.

const CONTAINER = "docker:index/container:Container";
const ofType = (run: ProgramRun, type: string): Registered[] => run.registered.filter((r) => r.type === type);
const roles = (run: ProgramRun) => containerSpecs(run.registered).map((c) => c.hostname).sort();
const spec = (run: ProgramRun, role: string): ContainerSpec => {
    const found = containerSpecs(run.registered).find((c) => c.hostname === role);
    if (found === undefined) {
        throw new Error(`no container ${role}; there are ${roles(run).join(", ")}`);
    }
    return found;
};
/** The object store's generated secret key as the mocks produce it (named after its RandomPassword). */
const generatedSecret = (run: ProgramRun): string => {
    const [password] = ofType(run, "random:index/randomPassword:RandomPassword");
    return mockGeneratedSecret(password.name, password.inputs.length);
};
const container = (run: ProgramRun, role: string): Registered => ofType(run, CONTAINER).find((r) => r.inputs.hostname === role)!;

let local: ProgramRun;
let oneBroker: ProgramRun;
let externalStore: ProgramRun;
let noProducer: ProgramRun;

beforeAll(async () => {
    local = await runVariant("local");
    oneBroker = await runVariant("local", { kafka: { brokerCount: 1 } });
    externalStore = await runVariant("local", {
        objectStoreSecretKey: "existing-store-secret",
        local: { objectStore: { mode: "external", endpoint: "http://host.docker.internal:9000", hostEndpoint: "http://localhost:9000", accessKeyId: "minio-user", bucket: "lake" } },
    });
    noProducer = await runVariant("local", { local: { producer: { enabled: false } } });
}, 600_000);

describe("Pulumi.local.yaml", () => {
    test("declares no AWS resource, provider or data source call", () => {
        for (const run of [local, oneBroker, externalStore, noProducer]) {
            expect(run.registered.filter((r) => r.type.startsWith("aws:") || r.type === "pulumi:providers:aws").map((r) => r.type)).toEqual([]);
            expect(run.invoked.filter((t) => t.startsWith("aws:"))).toEqual([]);
        }
    });

    test("runs the whole platform: 3 brokers, the store, master, 3 workers, history, consumer and producer, on one network", () => {
        expect(roles(local)).toEqual([
            "demo-producer", "grafana", "kafka-1", "kafka-2", "kafka-3", "object-store", "prometheus", "spark-consumer", "spark-history", "spark-master",
            "spark-worker-1", "spark-worker-2", "spark-worker-3",
        ]);
        const [network] = ofType(local, "docker:index/network:Network");
        expect(network.inputs).toMatchObject({ name: "spark-streaming-local", driver: "bridge" });
        expect(ofType(local, "docker:index/network:Network")).toHaveLength(1);
        for (const c of containerSpecs(local.registered)) {
            expect(c.networks).toEqual([{ name: "spark-streaming-local", aliases: [c.hostname] }]);
            expect(c.name).toBe(`spark-streaming-local-${c.hostname}`);
        }
    });

    test("every resource belongs to a component", () => {
        expect(local.registered.filter((r) => r.custom && !r.parent.includes("spark-streaming:local:")).map((r) => r.name)).toEqual([]);
    });

    test("publishes only the declared host ports, each on 127.0.0.1, none twice", () => {
        const published = containerSpecs(local.registered).flatMap((c) => c.ports.map((p) => ({ role: c.hostname, ...p })));
        expect(published.every((p) => p.ip === "127.0.0.1")).toBe(true);
        expect(Object.fromEntries(published.map((p) => [`${p.role}:${p.internal}`, p.external]))).toEqual({
            "kafka-1:9094": 19092, "kafka-2:9094": 19093, "kafka-3:9094": 19094, "grafana:3000": 3000, "prometheus:9090": 9090,
            "object-store:8333": 8333, "object-store:23646": 23646,
            "spark-master:8080": 8080, "spark-worker-1:8081": 8081, "spark-worker-2:8081": 8082, "spark-worker-3:8081": 8083,
            "spark-consumer:4040": 4040, "spark-history:18080": 18080,
        });
        expect(new Set(published.map((p) => p.external)).size).toBe(published.length);
    });

    test("keeps Kafka's log dirs and the store's data in named volumes, one per broker", () => {
        const volumes = ofType(local, "docker:index/volume:Volume").map((v) => v.inputs.name).sort();
        expect(volumes).toEqual(["spark-streaming-local-kafka-1-data", "spark-streaming-local-kafka-2-data", "spark-streaming-local-kafka-3-data", "spark-streaming-local-object-store-data"]);
        for (const i of [1, 2, 3]) {
            const broker = spec(local, `kafka-${i}`);
            expect(broker.volumes).toEqual([{ volumeName: `spark-streaming-local-kafka-${i}-data`, containerPath: "/var/lib/kafka/data" }]);
            expect(broker.env.KAFKA_LOG_DIRS).toBe("/var/lib/kafka/data");
        }
        expect(spec(local, "object-store").volumes).toEqual([{ volumeName: "spark-streaming-local-object-store-data", containerPath: "/data" }]);
    });

    test("a disposable local stack lets destroy remove the data volumes; dataLake.protect keeps them", async () => {
        expect(ofType(local, "docker:index/volume:Volume").every((v) => !v.retainOnDelete && !v.protect)).toBe(true);
        const kept = await runVariant("local", { dataLake: { forceDestroy: false } });
        expect(ofType(kept, "docker:index/volume:Volume").every((v) => v.retainOnDelete && v.protect)).toBe(true);
    });

    test("every long-running part has a health check pulumi waits on, a restart policy and bounded logs", () => {
        for (const c of ofType(local, CONTAINER)) {
            expect(c.inputs).toMatchObject({ restart: "unless-stopped", logDriver: "json-file", logOpts: { "max-size": "10m", "max-file": "3" } });
            expect(c.deleteBeforeReplace).toBe(true);
            if (c.inputs.hostname === "demo-producer") {
                continue;
            }
            expect(c.inputs.wait).toBe(true);
            expect(c.inputs.waitTimeout).toBeGreaterThanOrEqual(120);
            expect(c.inputs.healthcheck.tests[0]).toBe("CMD");
            expect(c.inputs.healthcheck).toMatchObject({ interval: expect.any(String), retries: expect.any(Number), startPeriod: expect.any(String) });
        }
        expect(container(local, "kafka-1").inputs.healthcheck.tests).toEqual(
            ["CMD", "env", "KAFKA_HEAP_OPTS=-Xmx64m", "/opt/kafka/bin/kafka-broker-api-versions.sh", "--bootstrap-server", "localhost:9092"],
        );
        expect(container(local, "spark-master").inputs.healthcheck.tests.slice(-1)).toEqual(["http://localhost:8080/json/"]);
    });

    test("each part is created only after what it needs is healthy", () => {
        const urnOf = (role: string) => container(local, role).urn;
        const deps = (role: string) => spec(local, role).dependencies.map((u) => u.split("::").pop());
        const bucket = ofType(local, "pulumi-nodejs:dynamic/local:S3Bucket")[0];
        expect(deps("spark-consumer")).toEqual(expect.arrayContaining([
            "local-kafka-kafka-1", "local-kafka-kafka-2", "local-kafka-kafka-3", "local-spark-spark-master",
            "local-spark-spark-worker-1", "local-spark-spark-worker-2", "local-spark-spark-worker-3", "local-object-store-bucket",
        ]));
        expect(deps("spark-worker-2")).toContain("local-spark-spark-master");
        expect(deps("spark-history")).toContain("local-object-store-bucket");
        expect(deps("demo-producer")).toContain("local-consumer-spark-consumer");
        expect(bucket.dependencies.map((u) => u.split("::").pop())).toContain("local-object-store-object-store");
        // Brokers never wait for each other: a quorum of three forms only when all start.
        for (const i of [1, 2, 3]) {
            expect(spec(local, `kafka-${i}`).dependencies.filter((u) => u.includes("Container"))).toEqual([]);
        }
        expect(urnOf("kafka-1")).toBeDefined();
    });

    test("pulls third-party images pinned by digest and kept locally; containers run them by image id", () => {
        const pulled = ofType(local, "docker:index/remoteImage:RemoteImage");
        expect(pulled.map((r) => r.inputs.name).sort()).toEqual(
            [pinnedName(KAFKA_IMAGE), pinnedName(SEAWEEDFS_IMAGE), pinnedName(PROMETHEUS_IMAGE), pinnedName(GRAFANA_IMAGE), `spark-streaming-consumer:${contextHash()}`].sort(),
        );
        for (const image of pulled) {
            expect(image.inputs.keepLocally).toBe(true);
        }
        for (const pin of [KAFKA_IMAGE, SEAWEEDFS_IMAGE, PROMETHEUS_IMAGE, GRAFANA_IMAGE]) {
            expect(pinnedName(pin)).toMatch(/^[a-z0-9./-]+@sha256:[0-9a-f]{64}$/);
        }
        expect(container(local, "kafka-2").inputs.image).toBe(mockImageId(pinnedName(KAFKA_IMAGE)));
        expect(container(local, "object-store").inputs.image).toBe(mockImageId(pinnedName(SEAWEEDFS_IMAGE)));
        for (const role of ["spark-master", "spark-worker-1", "spark-history", "spark-consumer", "demo-producer"]) {
            expect(container(local, role).inputs.image).toBe(mockImageId(`spark-streaming-consumer:${contextHash()}`));
        }
    });

    test("builds the consumer image locally from the shared definition: content-hash tag, loaded, never pushed, native platform", () => {
        const [build] = ofType(local, "docker-build:index:Image");
        expect(build.inputs).toMatchObject({ tags: [`spark-streaming-consumer:${contextHash()}`], push: false, load: true, buildOnPreview: false, context: { location: "jobs/streaming-consumer" } });
        expect(build.inputs.platforms).toBeUndefined();
        expect(build.inputs.registries).toBeUndefined();
    });

    test("the consumer runs in client mode against the master, wired to the brokers, the topic and the bucket", () => {
        const consumer = spec(local, "spark-consumer");
        expect(consumer.command![0]).toBe("consumer");
        expectConsumerWiring(consumer.command!.slice(1), local.outputs, { bootstrap: "kafka-1:9092,kafka-2:9092,kafka-3:9092", auth: "none" });
        expect(consumer.env).toMatchObject({
            SPARK_MASTER_URL: "spark://spark-master:7077",
            SPARK_DRIVER_HOST: "spark-consumer",
            SPARK_EVENT_LOG_DIR: "s3a://spark-streaming-local/logs/spark-events/",
            KAFKA_TOPICS: JSON.stringify([{ name: "events", partitions: 6, replicationFactor: 3, retentionMs: 24 * 3_600_000 }]),
        });
        const conf = consumer.command!.filter((_, i, a) => a[i - 1] === "--conf");
        expect(conf).toEqual(expect.arrayContaining([
            "spark.hadoop.fs.s3a.endpoint=http://object-store:8333",
            "spark.hadoop.fs.s3a.path.style.access=true",
            "spark.hadoop.fs.s3a.aws.credentials.provider=com.amazonaws.auth.EnvironmentVariableCredentialsProvider",
            "spark.cores.max=3",
        ]));
        // The stack's grace period (default 120 s) plus the job's shutdown margin: Docker never kills a batch the job would commit.
        const stop = consumerStopTimeoutSeconds({ stopGracePeriodSeconds: 120 });
        expect(stop).toBeGreaterThanOrEqual(120);
        expect(consumer.command![consumer.command!.indexOf("--stop-grace-period") + 1]).toBe("120");
        expect(container(local, "spark-consumer").inputs).toMatchObject({ stopSignal: "SIGTERM", stopTimeout: stop, destroyGraceSeconds: stop });
    });

    test("the consumer's stop timeout follows consumer.stopGracePeriodSeconds", async () => {
        const long = await runVariant("local", { consumer: { stopGracePeriodSeconds: 900 } });
        const c = container(long, "spark-consumer").inputs;
        expect(c.command[c.command.indexOf("--stop-grace-period") + 1]).toBe("900");
        expect(c.stopTimeout).toBeGreaterThanOrEqual(900);
        expect(c.destroyGraceSeconds).toBe(c.stopTimeout);
    });

    test("store credentials come from a secret (generated here), reach the store and Spark as secret environment, never in plain inputs", () => {
        for (const role of ["object-store", "spark-worker-1", "spark-history", "spark-consumer"]) {
            const envs = container(local, role).inputs.envs;
            expect(envs[specialSigKey]).toBe(specialSecretSig);
            expect(envs.value).toContain(`AWS_SECRET_ACCESS_KEY=${generatedSecret(local)}`);
            expect(envs.value).toContain("AWS_ACCESS_KEY_ID=spark-streaming");
        }
        const plain = JSON.stringify(local.registered.map((r) => ({ ...r.inputs, envs: undefined, secretAccessKey: undefined })));
        expect(plain).not.toContain(generatedSecret(local));
        expect(ofType(local, "random:index/randomPassword:RandomPassword")).toHaveLength(1);
        const [bucket] = ofType(local, "pulumi-nodejs:dynamic/local:S3Bucket");
        expect(bucket.inputs.secretAccessKey[specialSigKey]).toBe(specialSecretSig);
        expect(bucket.additionalSecretOutputs).toContain("secretAccessKey");
    });

    test("the stack creates the bucket and the event-log folder through the store's published port", () => {
        const [bucket] = ofType(local, "pulumi-nodejs:dynamic/local:S3Bucket");
        expect(bucket.inputs).toMatchObject({ endpoint: "http://127.0.0.1:8333", bucket: "spark-streaming-local", markers: ["logs/spark-events/"], region: "us-east-1" });
    });

    test("the bucket's provider is stored self-contained: the S3 SDK required inside, no program module or secret captured", () => {
        const text: string = ofType(local, "pulumi-nodejs:dynamic/local:S3Bucket")[0].inputs.__provider;
        expect(text).toContain("@aws-sdk/client-s3");
        expect(text).toContain("CreateBucketCommand");
        expect(text).not.toMatch(/@pulumi\/docker|@pulumi\/random|components\/local\/platform|buildContext/);
        expect(text).not.toContain(generatedSecret(local));
        expect(text.length).toBeLessThan(100_000);
    });

    test("exports the outputs every engine has, with local values, and none that do not apply", () => {
        const o = local.outputs;
        expect(o).toMatchObject({
            engine: "local",
            bucketName: "spark-streaming-local",
            outputLocation: "s3a://spark-streaming-local/data/events/",
            deadLetterLocation: "s3a://spark-streaming-local/dead-letter/events/",
            checkpointLocation: "s3a://spark-streaming-local/checkpoints/events-consumer/",
            kafkaBootstrapBrokers: "localhost:19092,localhost:19093,localhost:19094",
            imageUri: `spark-streaming-consumer:${contextHash()}`,
            objectStoreEndpoint: "http://localhost:8333",
            objectStoreAccessKeyId: "spark-streaming",
        });
        expect(o.uiUrls).toEqual({
            sparkMaster: "http://localhost:8080",
            sparkWorker1: "http://localhost:8081",
            sparkWorker2: "http://localhost:8082",
            sparkWorker3: "http://localhost:8083",
            consumerApp: "http://localhost:4040",
            sparkHistory: "http://localhost:18080",
            objectStoreConsole: "http://localhost:23646",
            grafana: "http://localhost:3000/d/spark-streaming-consumer",
            prometheus: "http://localhost:9090",
        });
        expect(o.grafanaUrl).toBe("http://localhost:3000");
        expect(o.dashboardUrl).toBe("http://localhost:3000/d/spark-streaming-consumer");
        expect(o.consumerGroup).toBe("events-consumer");
        for (const absent of ["vpcId", "kafkaClusterArn", "uiTunnels", "alarmTopicArn"]) {
            expect(o[absent]).toBeUndefined();
        }
        expect(o.produceCommand).toBe(
            `echo '{"event_id":"hello-1","event_time":"2024-05-01T10:00:00Z","type":"click","user_id":"u-1","amount":1.5}' | ` +
                "docker exec -i spark-streaming-local-kafka-1 /opt/kafka/bin/kafka-console-producer.sh --bootstrap-server localhost:9092 --topic events",
        );
    });

    test("the demo producer sends to the consumer's topic at the configured rate and malformed share", () => {
        expect(spec(local, "demo-producer").command).toEqual(
            ["producer", "--bootstrap-servers", "kafka-1:9092,kafka-2:9092,kafka-3:9092", "--topic", "events", "--events-per-second", "5", "--malformed-percent", "5"],
        );
    });
});

describe("variants", () => {
    test("one broker: a single-voter quorum, replication factor 1, one host listener", () => {
        expect(roles(oneBroker).filter((r) => r.startsWith("kafka-"))).toEqual(["kafka-1"]);
        expect(spec(oneBroker, "kafka-1").env).toMatchObject({
            KAFKA_CONTROLLER_QUORUM_VOTERS: "1@kafka-1:9093",
            KAFKA_DEFAULT_REPLICATION_FACTOR: "1",
            KAFKA_MIN_INSYNC_REPLICAS: "1",
            KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: "1",
        });
        expect(oneBroker.outputs.kafkaBootstrapBrokers).toBe("localhost:19092");
        expect(JSON.parse(spec(oneBroker, "spark-consumer").env.KAFKA_TOPICS)[0].replicationFactor).toBe(1);
        expect(ofType(oneBroker, "docker:index/volume:Volume")).toHaveLength(2);
    });

    test("an existing store: no store container, volume or image; Spark and the bucket use the configured endpoints and secret", () => {
        expect(roles(externalStore)).not.toContain("object-store");
        expect(ofType(externalStore, "docker:index/remoteImage:RemoteImage").map((r) => r.inputs.name)).not.toContain(pinnedName(SEAWEEDFS_IMAGE));
        expect(ofType(externalStore, "docker:index/volume:Volume").map((v) => v.inputs.name)).not.toContain("spark-streaming-local-object-store-data");
        expect(ofType(externalStore, "random:index/randomPassword:RandomPassword")).toHaveLength(0);
        const [bucket] = ofType(externalStore, "pulumi-nodejs:dynamic/local:S3Bucket");
        expect(bucket.inputs).toMatchObject({ endpoint: "http://localhost:9000", bucket: "lake", accessKeyId: "minio-user" });
        expect(bucket.inputs.secretAccessKey.value).toBe("existing-store-secret");
        const consumer = spec(externalStore, "spark-consumer");
        expect(consumer.command).toContain("spark.hadoop.fs.s3a.endpoint=http://host.docker.internal:9000");
        expect(consumer.env).toMatchObject({ AWS_ACCESS_KEY_ID: "minio-user", AWS_SECRET_ACCESS_KEY: "existing-store-secret" });
        expect(externalStore.outputs).toMatchObject({ bucketName: "lake", objectStoreEndpoint: "http://localhost:9000", outputLocation: "s3a://lake/data/events/" });
        expect(externalStore.outputs.uiUrls.objectStoreConsole).toBeUndefined();
    });

    test("demo producer off: no producer container, everything else unchanged", () => {
        expect(roles(noProducer)).toEqual(roles(local).filter((r) => r !== "demo-producer"));
    });

    test("MSK modes are refused with the reason; external Kafka stays possible", async () => {
        await expect(runVariant("local", { kafka: { mode: "msk" } })).rejects.toThrow(/kafka\.mode cannot be msk with engine local: MSK lives in an AWS account/);
        const external = await runVariant("local", { kafka: { mode: "external", bootstrapServers: "host.docker.internal:9092" } });
        expect(roles(external).filter((r) => r.startsWith("kafka-"))).toEqual([]);
        expect(spec(external, "spark-consumer").command).toEqual(expect.arrayContaining(["--bootstrap-servers", "host.docker.internal:9092", "--kafka-auth", "none"]));
        expect(external.outputs.kafkaBootstrapBrokers).toBe("host.docker.internal:9092");
        expect(external.outputs.produceCommand).toContain("docker run --rm -i --network spark-streaming-local");
    });
});

test("observability: Prometheus scrapes the consumer, Grafana is provisioned from the repo, anonymous and on 127.0.0.1 only", () => {
    const consumer = spec(local, "spark-consumer").command!;
    const value = (flag: string) => consumer[consumer.indexOf(flag) + 1];
    expect(value("--consumer-group")).toBe("events-consumer");
    expect(value("--prometheus-port")).toBe("9464");
    expect(consumer).not.toContain("--cloudwatch-namespace");
    expect(consumer).toContain("spark.sql.streaming.metricsEnabled=true");
    const uploads = (role: string) => Object.fromEntries((container(local, role).inputs.uploads ?? []).map((u: any) => [u.file, u.content]));
    expect(uploads("prometheus")["/etc/prometheus/prometheus.yml"]).toContain('"spark-consumer:9464"');
    expect(Object.keys(uploads("grafana")).sort()).toEqual([
        "/etc/grafana/dashboards/consumer-dashboard.json",
        "/etc/grafana/provisioning/dashboards/spark-streaming.yml",
        "/etc/grafana/provisioning/datasources/prometheus.yml",
    ]);
    expect(spec(local, "grafana").env).toMatchObject({ GF_AUTH_ANONYMOUS_ENABLED: "true", GF_AUTH_ANONYMOUS_ORG_ROLE: "Viewer", GF_AUTH_DISABLE_LOGIN_FORM: "true" });
    for (const role of ["grafana", "prometheus"]) {
        expect(spec(local, role).ports.map((p) => p.ip)).toEqual(["127.0.0.1"]);
        expect(spec(local, role).healthcheck?.tests[0]).toBe("CMD");
    }
});
