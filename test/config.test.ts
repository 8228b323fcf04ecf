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
        ["stop grace period too short for a batch", { consumer: { stopGracePeriodSeconds: 5 } }, /consumer\.stopGracePeriodSeconds .*got 5/],
        ["non-Spark conf", { consumer: { sparkConf: { "fs.s3a.x": "1" } } }, /consumer\.sparkConf\.fs\.s3a\.x must be a Spark setting/],
        ["EMR 6", { emr: { releaseLabel: "emr-6.15.0" } }, /emr\.releaseLabel must be an EMR 7\.x release.*got "emr-6\.15\.0"/],
        ["spot bid that is not a price", { emr: { taskBidPrice: "cheap" } }, /emr\.taskBidPrice must be a price in USD per hour.*got "cheap"/],
        ["step concurrency 1", { emr: { stepConcurrency: 1 } }, /emr\.stepConcurrency .*got 1/],
        ["managed scaling inverted", { emr: { minCapacity: 5, maxCapacity: 2 } }, /emr\.minCapacity must not exceed emr\.maxCapacity \(2\); got 5/],
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
    test.each(["dev", "prod"])("%s parses", (stack) => {
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
});
