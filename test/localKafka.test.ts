import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parsePlatformConfig, RawConfig } from "../components/config";
import { KAFKA_IMAGE } from "../components/local/images";
import { brokerEnv, brokerProperties, BrokerEnvArgs, kafkaClusterId, kafkaEnvName, KAFKA_DATA_DIR } from "../components/local/kafka";
import { kafkaDockerSetup, readProperties } from "./support/localImages";
import { kafkaLibs } from "./support/localRuntime";

// The brokers' settings travel as KAFKA_* variables that the apache/kafka image turns into server.properties. These
// tests run the image's own rule (kafka.docker.KafkaDockerWrapper from the same Kafka version's jars, see
// test/support/localRuntime.ts) on what the program declares, and compare the file it writes with what the program
// means: a misspelt or mis-encoded variable shows up as a missing or different property.

const VERSION = KAFKA_IMAGE.tag;
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function args(brokerCount: number): BrokerEnvArgs {
    const config = parsePlatformConfig({ engine: "local", kafka: { brokerCount } } as RawConfig, "spark-streaming", "local").kafka;
    return { config, project: "spark-streaming", stack: "local", heap: "512m", advertisedHost: "localhost", firstHostPort: 19092 };
}

/** The image's rule applied to `env`, with the data dir (a volume in the container) mapped to a folder here. */
async function throughImage(env: Record<string, string>): Promise<{ props: Record<string, string>; dataDir: string; output: string; status: number | null }> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kafka-docker-"));
    dirs.push(dir);
    const dataDir = path.join(dir, "data");
    const mapped = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === KAFKA_DATA_DIR ? dataDir : v]));
    const res = await kafkaDockerSetup(kafkaLibs(VERSION), dir, { PATH: process.env.PATH ?? "", ...mapped });
    return { props: readProperties(path.join(res.configDir, "server.properties")), dataDir, output: res.output, status: res.status };
}

test("the broker jars the tests fetch (scripts/lib.sh) are the pinned image's Kafka version", () => {
    const lib = fs.readFileSync(path.join(__dirname, "..", "scripts", "lib.sh"), "utf8");
    expect(/KAFKA_BROKER_VERSION="\$\{KAFKA_BROKER_VERSION:-([0-9.]+)\}"/.exec(lib)?.[1]).toBe(VERSION);
    expect(fs.existsSync(path.join(kafkaLibs(VERSION), `kafka_2.13-${VERSION}.jar`))).toBe(true);
});

test.each([1, 3])("with %i broker(s), every broker's environment becomes exactly the server.properties the program means", async (n) => {
    for (let i = 1; i <= n; i++) {
        const env = brokerEnv(i, args(n));
        const { props, dataDir, output, status } = await throughImage(env);
        expect({ status, output }).toMatchObject({ status: 0 });
        expect(props).toEqual({ ...brokerProperties(i, args(n)), "log.dirs": dataDir });
        // The image's format step ran on the declared log dir, with the declared cluster id.
        expect(readProperties(path.join(dataDir, "meta.properties"))).toMatchObject({ "cluster.id": env.CLUSTER_ID, "node.id": String(i) });
    }
});

test("three brokers form one quorum of three voters, with replication factor 3 and min ISR 2 for data and internal topics", () => {
    const props = brokerProperties(2, args(3));
    expect(props).toMatchObject({
        "controller.quorum.voters": "1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093",
        "advertised.listeners": "INTERNAL://kafka-2:9092,HOST://localhost:19093",
        "default.replication.factor": "3",
        "min.insync.replicas": "2",
        "offsets.topic.replication.factor": "3",
        "transaction.state.log.min.isr": "2",
        "auto.create.topics.enable": "false",
        "unclean.leader.election.enable": "false",
    });
    expect(brokerProperties(1, args(1))).toMatchObject({ "default.replication.factor": "1", "min.insync.replicas": "1", "offsets.topic.replication.factor": "1" });
});

test("property names with '_' and '-' survive the image's rule; names it cannot carry are refused", async () => {
    const env = { ...brokerEnv(1, args(1)), [kafkaEnvName("listener.name.internal.max.connections_per_ip-x")]: "7" };
    expect(kafkaEnvName("listener.name.internal.max.connections_per_ip-x")).toBe("KAFKA_LISTENER_NAME_INTERNAL_MAX_CONNECTIONS__PER__IP___X");
    expect((await throughImage(env)).props["listener.name.internal.max.connections_per_ip-x"]).toBe("7");
    expect(() => kafkaEnvName("kafka.metrics.reporters")).toThrow(/cannot be set through the apache\/kafka image's environment/);
    expect(() => kafkaEnvName("a_-b")).toThrow(/does not survive/);
    expect(() => kafkaEnvName("Bad Name")).toThrow(/not a Kafka property name/);
});

test("the KRaft cluster id is a 22-character base64url id, stable per stack and different between stacks", () => {
    expect(kafkaClusterId("spark-streaming", "local")).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(kafkaClusterId("spark-streaming", "local")).toBe(kafkaClusterId("spark-streaming", "local"));
    expect(kafkaClusterId("spark-streaming", "other")).not.toBe(kafkaClusterId("spark-streaming", "local"));
});
