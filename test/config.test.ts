import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { parsePlatformConfig, PlatformConfig, RawConfig } from "../components/config";
import { stackConfig } from "./support/mocks";

const parse = (raw: RawConfig): PlatformConfig => parsePlatformConfig(raw, "spark-streaming", "test");

describe("config defaults", () => {
    test("an empty stack gets every default filled in one place", () => {
        const c = parse({});
        expect(c.engine).toBe("ec2");
        expect(c.network).toMatchObject({ cidr: "10.0.0.0/16", azCount: 3, natGateways: "single", ssmEndpoints: true });
        expect(c.access.allowedCidrs).toEqual([]);
        expect(c.dataLake).toMatchObject({ forceDestroy: false, protect: true });
        expect(c.kafka).toMatchObject({ mode: "msk", brokerCount: 3, defaultReplicationFactor: 3, minInsyncReplicas: 2, auth: "iam" });
        expect(c.consumer).toMatchObject({ name: "events-consumer", topic: "events", startingOffsets: "earliest", stopGracePeriodSeconds: 120 });
        expect(c.emr.terminationProtection).toBe(true);
        expect(c.emr.releaseLabel).toMatch(/^emr-7\./);
        expect(c.network.flowLogRetentionDays).toBe(90);
        expect(c.dataLake.accessLogExpirationDays).toBe(365);
        expect(c.security).toEqual({ certificateValidityDays: 365, certificateRotation: 0, sparkSecretRotation: 0 });
    });

    test("a disposable data lake is unprotected and its EMR cluster terminable by default", () => {
        const c = parse({ dataLake: { forceDestroy: true } });
        expect(c.dataLake.protect).toBe(false);
        expect(c.emr.terminationProtection).toBe(false);
    });

    test("engine local defaults to three container brokers (replication 3, min ISR 2, plaintext) and the whole local platform", () => {
        const c = parse({ engine: "local" });
        expect(c.kafka).toMatchObject({ mode: "container", brokerCount: 3, defaultReplicationFactor: 3, minInsyncReplicas: 2, auth: "none" });
        expect(c.local).toMatchObject({
            bindAddress: "127.0.0.1",
            ports: { kafka: 19092, sparkMasterUi: 8080, sparkWorkerUi: 8081, consumerUi: 4040, historyUi: 18080, objectStore: 8333, objectStoreConsole: 23646 },
            spark: { workers: 3 },
            objectStore: { mode: "container", bucket: "spark-streaming-test", accessKeyId: "spark-streaming", secretKey: undefined },
            producer: { enabled: true, eventsPerSecond: 5, malformedPercent: 5 },
        });
        expect(parse({ engine: "local", kafka: { brokerCount: 1 } }).kafka).toMatchObject({ defaultReplicationFactor: 1, minInsyncReplicas: 1 });
    });

    test("broker count defaults to one per private subnet of an existing VPC", () => {
        const c = parse({
            network: { vpcId: "vpc-0abc", privateSubnetIds: ["subnet-01", "subnet-02"], vpcCidr: "10.1.0.0/16" },
            kafka: { defaultReplicationFactor: 2 },
        });
        expect(c.kafka.brokerCount).toBe(2);
    });
});

describe("config validation names the key, the value and what is allowed", () => {
    const cases: Array<[string, RawConfig, RegExp]> = [
        ["unknown engine", { engine: "lambda" }, /engine must be one of [a-z0-9, ]*kubernetes[a-z0-9, ]*; got "lambda"/],
        ["flow-log retention CloudWatch does not offer", { network: { flowLogRetentionDays: 45 } }, /network\.flowLogRetentionDays must be one of CloudWatch Logs' retention periods.*got 45/],
        ["too short a certificate validity", { security: { certificateValidityDays: 7 } }, /security\.certificateValidityDays .*got 7/],
        ["a negative rotation counter", { security: { certificateRotation: -1 } }, /security\.certificateRotation .*got -1/],
        ["unknown security key", { security: { rotateNow: true } }, /security: unknown key\(s\) "rotateNow"/],
        ["unknown key (a typo)", { network: { azCont: 3 } }, /network: unknown key\(s\) "azCont"/],
        ["bad VPC CIDR", { network: { cidr: "10.0.0.0/33" } }, /network\.cidr must be an IPv4 CIDR.*got "10\.0\.0\.0\/33"/],
        ["too few AZs", { network: { azCount: 1 } }, /network\.azCount .*got 1/],
        ["bad NAT mode", { network: { natGateways: "many" } }, /network\.natGateways .*"single".*got "many"/],
        ["grace period too short", { consumer: { stopGracePeriodSeconds: 5 } }, /consumer\.stopGracePeriodSeconds .*10.*got 5/],
        ["grace period too long", { consumer: { stopGracePeriodSeconds: 7200 } }, /consumer\.stopGracePeriodSeconds .*3600.*got 7200/],
        ["grace period not whole seconds", { consumer: { stopGracePeriodSeconds: 30.5 } }, /consumer\.stopGracePeriodSeconds .*got 30\.5/],
        ["half an existing VPC", { network: { vpcId: "vpc-0abc" } }, /network\.vpcId an existing VPC needs all of vpcId, privateSubnetIds and vpcCidr/],
        ["UI open to the internet", { access: { allowedCidrs: ["0.0.0.0/0"] } }, /access\.allowedCidrs\.0 must not open the UIs to the whole internet.*got "0\.0\.0\.0\/0"/],
        ["forceDestroy with protect", { dataLake: { forceDestroy: true, protect: true } }, /dataLake\.protect cannot be true together with dataLake\.forceDestroy/],
        ["transition too early", { dataLake: { dataTransitionDays: 5 } }, /dataLake\.dataTransitionDays .*got 5/],
        ["broker count not a multiple of subnets", { kafka: { brokerCount: 4 } }, /kafka\.brokerCount must be a multiple of the 3 private subnets; got 4/],
        ["external without servers", { kafka: { mode: "external" } }, /kafka\.bootstrapServers is required when kafka\.mode is external/],
        ["servers outside external mode", { kafka: { bootstrapServers: "b-1:9098" } }, /kafka\.bootstrapServers is only for kafka\.mode external/],
        ["unauthenticated MSK", { kafka: { auth: "none" } }, /kafka\.auth must be iam for MSK/],
        ["external IAM without its cluster ARN", { kafka: { mode: "external", bootstrapServers: "b-1:9098" } }, /kafka\.clusterArn is required when kafka\.mode is external with auth iam/],
        ["cluster ARN outside external mode", { kafka: { clusterArn: "arn:aws:kafka:eu-west-1:123456789012:cluster/c/u-1" } }, /kafka\.clusterArn is only for kafka\.mode external/],
        ["cluster ARN that is not an MSK cluster", { kafka: { mode: "external", bootstrapServers: "b-1:9098", clusterArn: "arn:aws:s3:::bucket" } }, /kafka\.clusterArn must be an MSK cluster ARN.*got "arn:aws:s3:::bucket"/],
        ["ISR above replication", { kafka: { defaultReplicationFactor: 2, minInsyncReplicas: 3 } }, /kafka\.minInsyncReplicas must not exceed kafka\.defaultReplicationFactor \(2\)/],
        ["replication above brokers", { network: { azCount: 2 } }, /kafka\.defaultReplicationFactor must not exceed the 2 brokers; got 3/],
        ["bad topic name", { kafka: { topics: [{ name: "bad topic!" }] } }, /kafka\.topics\.0\.name must be 1-249 characters.*got "bad topic!"/],
        ["duplicate topic", { kafka: { topics: [{ name: "a" }, { name: "a" }] } }, /kafka\.topics names topic "a" twice/],
        ["consumer topic not declared", { consumer: { topic: "other" } }, /consumer\.topic must be one of kafka\.topics \(events\); got "other"/],
        ["bad trigger", { consumer: { triggerInterval: "soon" } }, /consumer\.triggerInterval must be "<number> seconds\|minutes\|hours".*got "soon"/],
        ["bad consumer name", { consumer: { name: "Events_Consumer" } }, /consumer\.name must be 2-32 lowercase.*got "Events_Consumer"/],
        ["non-Spark conf", { consumer: { sparkConf: { "fs.s3a.x": "1" } } }, /consumer\.sparkConf\.fs\.s3a\.x must be a Spark setting/],
        ["EMR 6", { emr: { releaseLabel: "emr-6.15.0" } }, /emr\.releaseLabel must be an EMR 7\.x release.*got "emr-6\.15\.0"/],
        ["spot bid that is not a price", { emr: { taskBidPrice: "cheap" } }, /emr\.taskBidPrice must be a price in USD per hour.*got "cheap"/],
        ["step concurrency 1", { emr: { stepConcurrency: 1 } }, /emr\.stepConcurrency .*got 1/],
        ["managed scaling inverted", { emr: { minCapacity: 5, maxCapacity: 2 } }, /emr\.minCapacity must not exceed emr\.maxCapacity \(2\); got 5/],
        ["MSK on engine local", { engine: "local", kafka: { mode: "msk-serverless" } }, /kafka\.mode cannot be msk-serverless with engine local: MSK lives in an AWS account, and the local engine runs without one/],
        ["container brokers on AWS", { engine: "ec2", kafka: { mode: "container" } }, /kafka\.mode container runs the brokers on the local Docker engine and is only for engine local/],
        ["two container brokers", { engine: "local", kafka: { brokerCount: 2 } }, /kafka\.brokerCount must be 1 or 3 with kafka\.mode container.*got 2/],
        ["IAM auth on engine local", { engine: "local", kafka: { mode: "external", bootstrapServers: "k:9092", auth: "iam" } }, /kafka\.auth must be none with engine local/],
        ["replication above the container brokers", { engine: "local", kafka: { brokerCount: 1, defaultReplicationFactor: 3, minInsyncReplicas: 1 } }, /kafka\.defaultReplicationFactor must not exceed the 1 container brokers; got 3/],
        ["existing store without its endpoint", { engine: "local", local: { objectStore: { mode: "external" } } }, /local\.objectStore\.endpoint is required when local\.objectStore\.mode is external/],
        ["existing store without its secret", { engine: "local", local: { objectStore: { mode: "external", endpoint: "http://s3.internal:9000" } } }, /objectStoreSecretKey is required when local\.objectStore\.mode is external/],
        ["endpoint for the container store", { engine: "local", local: { objectStore: { endpoint: "http://x:9000" } } }, /local\.objectStore\.endpoint is only for local\.objectStore\.mode external/],
        ["store endpoint with a path", { engine: "local", local: { objectStore: { mode: "external", endpoint: "http://x:9000/bucket" } } }, /local\.objectStore\.endpoint must be http\(s\):\/\/host\[:port\] with no path/],
        ["bad bind address", { engine: "local", local: { bindAddress: "localhost" } }, /local\.bindAddress must be an IPv4 address.*got "localhost"/],
        ["clashing host ports", { engine: "local", local: { ports: { consumerUi: 8082 } } }, /local\.ports\.consumerUi uses host port 8082, which local\.ports\.sparkWorkerUi \(\+1\) already takes/],
        ["broker ports into the master UI", { engine: "local", local: { ports: { kafka: 8079 } } }, /local\.ports\.sparkMasterUi uses host port 8080, which local\.ports\.kafka \(\+1\) already takes/],
        ["bad JVM memory", { engine: "local", local: { spark: { workerMemory: "lots" } } }, /local\.spark\.workerMemory must be a JVM memory size.*got "lots"/],
        ["malformed share above 100", { engine: "local", local: { producer: { malformedPercent: 150 } } }, /local\.producer\.malformedPercent .*got 150/],
        ["unknown local key", { engine: "local", local: { worker: 2 } }, /local: unknown key\(s\) "worker"; allowed: bindAddress, ports/],
        ["Graviton host for the amd64 image", { ec2: { workerInstanceType: "m7g.large" } }, /ec2\.workerInstanceType must be an x86_64 type.*got "m7g\.large"/],
        ["workers out of order", { ec2: { workerMin: 3, workerDesired: 2, workerMax: 4 } }, /ec2\.workerDesired must satisfy workerMin <= workerDesired <= workerMax; got 3 <= 2 <= 4/],
    ];
    test.each(cases)("%s", (_name, raw, message) => {
        expect(() => parse(raw)).toThrow(message);
    });

    test("every bad key is reported at once", () => {
        expect(() => parse({ engine: "x", network: { azCount: 9 }, consumer: { name: "X" } })).toThrow(
            /engine must be[\s\S]*network\.azCount[\s\S]*consumer\.name/,
        );
    });
});

describe("shipped stack files", () => {
    test.each(["dev", "prod", "local"])("%s parses", (stack) => {
        const cfg = stackConfig(stack);
        const raw: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(cfg)) {
            if (k.startsWith("spark-streaming:")) {
                const key = k.slice("spark-streaming:".length);
                raw[key] = key === "engine" ? v : JSON.parse(v);
            }
        }
        expect(() => parse(raw as RawConfig)).not.toThrow();
    });

    test("dev is disposable and runs on ec2; prod is protected and runs on emr", () => {
        const dev = stackConfig("dev");
        const prod = stackConfig("prod");
        expect(dev["spark-streaming:engine"]).toBe("ec2");
        expect(JSON.parse(dev["spark-streaming:dataLake"]).forceDestroy).toBe(true);
        expect(prod["spark-streaming:engine"]).toBe("emr");
        expect(JSON.parse(prod["spark-streaming:dataLake"]).forceDestroy).toBe(false);
        expect(JSON.parse(prod["spark-streaming:network"])).toMatchObject({ azCount: 3, natGateways: "perAz" });
    });

    test("local runs engine local with container brokers, no AWS region, and is disposable", () => {
        const local = stackConfig("local");
        expect(local["spark-streaming:engine"]).toBe("local");
        expect(local["aws:region"]).toBeUndefined();
        expect(JSON.parse(local["spark-streaming:kafka"])).toMatchObject({ mode: "container", brokerCount: 3 });
        expect(JSON.parse(local["spark-streaming:dataLake"]).forceDestroy).toBe(true);
    });

    test("Pulumi.local.yaml's encryption salt opens with the empty passphrase, as Pulumi's passphrase provider checks it", () => {
        // pkg/secrets/passphrase/manager.go: "v1:<salt>:<EncryptValue('pulumi')>", key = PBKDF2-SHA256(passphrase,
        // salt, 1,000,000, 32); sdk/go/common/resource/config/crypt.go: "v1:<nonce>:<AES-256-GCM ciphertext+tag>".
        const file = parseYaml(fs.readFileSync(path.join(__dirname, "..", "Pulumi.local.yaml"), "utf8"));
        const [version, salt, v1, nonce, sealed] = String(file.encryptionsalt).split(":");
        expect([version, v1]).toEqual(["v1", "v1"]);
        const key = crypto.pbkdf2Sync(Buffer.from(""), Buffer.from(salt, "base64"), 1_000_000, 32, "sha256");
        const body = Buffer.from(sealed, "base64");
        const decipher = crypto.createDecipheriv("aes-256-gcm", key, Buffer.from(nonce, "base64"));
        decipher.setAuthTag(body.subarray(body.length - 16));
        expect(Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]).toString()).toBe("pulumi");
    });
});
