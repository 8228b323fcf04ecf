import * as fs from "fs";
import * as path from "path";
import { findMotoServer } from "./motoServer";
import { EmulatedContainer, httpGet, ImageRunner, JARS_DIR, JOB_DIR, pysparkHome, requireFile, runCommand, VENV_PYTHON } from "./localRuntime";

// The images of engine local, each as the same software outside Docker (see localRuntime.ts): how each starts,
// and which of its executables (health checks, `docker exec`) map to what here.

// --- the images --------------------------------------------------------------------------------------------------

/** The apache/kafka image's tools this runtime can stand in for (main classes from Kafka 3.9's bin/*.sh scripts). */
const KAFKA_TOOLS: Record<string, string> = {
    "/opt/kafka/bin/kafka-broker-api-versions.sh": "kafka.admin.BrokerApiVersionsCommand",
    "/opt/kafka/bin/kafka-console-producer.sh": "kafka.tools.ConsoleProducer",
    "/opt/kafka/bin/kafka-topics.sh": "org.apache.kafka.tools.TopicCommand",
};

/** What the image copies to /etc/kafka/docker/log4j.properties (Kafka's config/log4j.properties), to the console only. */
const KAFKA_LOG4J = [
    "log4j.rootLogger=INFO, stdout",
    "log4j.appender.stdout=org.apache.log4j.ConsoleAppender",
    "log4j.appender.stdout.layout=org.apache.log4j.PatternLayout",
    "log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n",
    "log4j.logger.org.apache.kafka=WARN",
    "log4j.logger.kafka=INFO",
].join("\n");

function javaHeap(opts: string | undefined, fallback: string[]): string[] {
    return opts ? opts.trim().split(/\s+/) : fallback;
}

/**
 * The image's start-up, step for step (apache/kafka 3.9: docker/jvm/Dockerfile CMD /etc/kafka/docker/run, which
 * sources docker/resources/common-scripts/configureDefaults and configure, then docker/jvm/launch):
 *   configure: KRaft needs CLUSTER_ID; KAFKA_LISTENERS defaults to KAFKA_ADVERTISED_LISTENERS with every host 0.0.0.0;
 *   launch: `kafka-run-class.sh kafka.docker.KafkaDockerWrapper setup --default-configs-dir /etc/kafka/docker
 *     --mounted-configs-dir /mnt/shared/config --final-configs-dir /opt/kafka/config` (KAFKA_* env -> server.properties,
 *     core/src/main/scala/kafka/docker/KafkaDockerWrapper.scala, then StorageTool format; "already formatted" is
 *     fine), then `kafka-server-start.sh /opt/kafka/config/server.properties` (heap from KAFKA_HEAP_OPTS, default 1G).
 */
export function kafkaRunner(libs: string): ImageRunner {
    const cp = `${libs}/*`;
    return {
        async start(site, c) {
            const env = { ...site.baseEnv(c), ...c.env };
            if (env.KAFKA_PROCESS_ROLES && !env.CLUSTER_ID) {
                throw new Error(`${c.spec.name}: CLUSTER_ID environment variable not set (the image's configure script refuses KRaft without it)`);
            }
            if (!env.KAFKA_LISTENERS && env.KAFKA_PROCESS_ROLES !== "controller" && env.KAFKA_ADVERTISED_LISTENERS) {
                env.KAFKA_LISTENERS = env.KAFKA_ADVERTISED_LISTENERS.replace(/:\/\/[^:]*:/g, "://0.0.0.0:");
            }
            const setup = await kafkaDockerSetup(libs, path.join(c.tmp, "kafka-docker"), env);
            if (setup.status !== 0 && !/already formatted/i.test(setup.output)) {
                throw new Error(`${c.spec.name}: KafkaDockerWrapper setup failed (${setup.status}):\n${setup.output}`);
            }
            // The container's namespace: "all interfaces" in the bind addresses is its own address. Only `listeners`
            // binds; the advertised addresses stay as the image wrote them (0.0.0.0 there fails as it would in Docker).
            const serverProperties = path.join(setup.configDir, "server.properties");
            const props = fs.readFileSync(serverProperties, "utf8").split("\n");
            const bound = props.map((l) => (l.startsWith("listeners=") ? l.replace(/:\/\/(0\.0\.0\.0)?:/g, `://${c.ip}:`) : l));
            const namespaced = path.join(setup.configDir, "server.namespaced.properties");
            fs.writeFileSync(namespaced, bound.join("\n"));
            const heap = javaHeap(env.KAFKA_HEAP_OPTS, ["-Xmx1G", "-Xms1G"]);
            site.spawn(c, "broker", "java", [...heap, "-XX:+UseG1GC", `-Dlog4j.configuration=file:${setup.configDir}/log4j.properties`, "-cp", cp, "kafka.Kafka", namespaced], env);
        },
        tool(_site, c, argv, env) {
            const main = KAFKA_TOOLS[argv[0]];
            if (main === undefined) {
                throw new Error(`${c.spec.name}: the apache/kafka stand-in has no ${argv[0]}`);
            }
            // kafka-run-class.sh: heap from KAFKA_HEAP_OPTS (the tools' scripts default to 256M), tools' log4j quiet.
            return { file: "java", args: [...javaHeap(env.KAFKA_HEAP_OPTS, ["-Xmx256M"]), "-Dlog4j.rootLogger=WARN", "-cp", cp, main, ...argv.slice(1)], env };
        },
    };
}

/**
 * Runs the image's own configuration step (kafka.docker.KafkaDockerWrapper setup) with `env` and returns where it
 * wrote server.properties. The default-configs folder holds what the image keeps in /etc/kafka/docker (log4j files);
 * the mounted-configs folder is empty (no user-mounted files), as in the program's containers.
 */
export async function kafkaDockerSetup(libs: string, dir: string, env: Record<string, string>): Promise<{ status: number | null; output: string; configDir: string }> {
    const defaults = path.join(dir, "etc-kafka-docker");
    const mounted = path.join(dir, "mnt-shared-config");
    const configDir = path.join(dir, "opt-kafka-config");
    for (const d of [defaults, mounted, configDir]) {
        fs.mkdirSync(d, { recursive: true });
    }
    fs.writeFileSync(path.join(defaults, "log4j.properties"), KAFKA_LOG4J + "\n");
    fs.writeFileSync(path.join(defaults, "tools-log4j.properties"), "log4j.rootLogger=WARN, stderr\nlog4j.appender.stderr=org.apache.log4j.ConsoleAppender\nlog4j.appender.stderr.layout=org.apache.log4j.PatternLayout\nlog4j.appender.stderr.Target=System.err\n");
    const res = await runCommand(
        "java",
        ["-Xmx256m", "-cp", `${libs}/*`, "kafka.docker.KafkaDockerWrapper", "setup", "--default-configs-dir", defaults, "--mounted-configs-dir", mounted, "--final-configs-dir", configDir],
        { env, timeoutMs: 120_000 },
    );
    return { ...res, configDir };
}

/** server.properties as a map (the last line for a key wins, as java.util.Properties reads it). */
export function readProperties(file: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const line of fs.readFileSync(file, "utf8").split("\n")) {
        const t = line.trim();
        if (t === "" || t.startsWith("#")) {
            continue;
        }
        const eq = t.indexOf("=");
        out[t.slice(0, eq)] = t.slice(eq + 1);
    }
    return out;
}

/** SeaweedFS's S3 API, served by moto's server on the port `weed mini` would use (-s3.port, default 8333). */
export function motoRunner(): ImageRunner {
    const s3Port = (c: EmulatedContainer) => {
        const flag = (c.command ?? []).map((a) => /^--?s3\.port=(\d+)$/.exec(a)).find((m) => m !== null);
        return flag ? Number(flag[1]) : 8333;
    };
    return {
        async start(site, c) {
            site.spawn(c, "moto", findMotoServer(), ["-H", c.ip, "-p", String(s3Port(c))], { ...site.baseEnv(c), ...c.env });
        },
        tool(_site, c, argv) {
            throw new Error(`${c.spec.name}: moto stands in for the S3 API only, not for ${argv[0]}`);
        },
        async ready(_site, c) {
            try {
                return (await httpGet(`http://${c.ip}:${s3Port(c)}/moto-api/`, 2000)).status < 500;
            } catch {
                return false;
            }
        },
    };
}

/**
 * The consumer image: its ENTRYPOINT (jobs/streaming-consumer/entrypoint.sh) with the container's command, the
 * image's ENV mapped to this machine (SPARK_HOME: the pip pyspark; the connector jars: .cache/jars; python3: the
 * venv), and SPARK_LOCAL_IP the container's address (what a container's own interface is to Spark).
 */
export function consumerImageRunner(): ImageRunner {
    const sparkHome = pysparkHome();
    requireFile(path.join(JARS_DIR, "."), "run `npm run test:setup` to fetch the jars");
    return {
        async start(site, c) {
            const env = {
                ...site.baseEnv(c),
                SPARK_HOME: sparkHome,
                STREAMING_CONSUMER_JARS_DIR: JARS_DIR,
                PYSPARK_PYTHON: VENV_PYTHON,
                PYSPARK_DRIVER_PYTHON: VENV_PYTHON,
                PYTHONUNBUFFERED: "1",
                SPARK_LOCAL_IP: c.ip,
                ...c.env,
            };
            site.spawn(c, (c.command ?? ["(image default)"])[0], "bash", [path.join(JOB_DIR, "entrypoint.sh"), ...(c.command ?? [])], env);
        },
        tool(_site, c, argv, env) {
            if (argv[0] !== "python3") {
                throw new Error(`${c.spec.name}: the consumer image stand-in runs python3 only; got ${argv[0]}`);
            }
            return { file: VENV_PYTHON, args: argv.slice(1), env };
        },
    };
}
