import * as pulumi from "@pulumi/pulumi";
import { KafkaConfig, parsePlatformConfig, RawConfig } from "../components/config";
import {
    clusterResourceArn,
    consumerPolicyDocument,
    Kafka,
    kafkaClientIngress,
    serverProperties,
    topicsJson,
    validateKafka,
} from "../components/kafka";
import { NetworkRefs } from "../components/refs";
import { ACCOUNT_ID, promiseOf, Registered, registered, REGION, settle, setupMocks } from "./support/mocks";

const KMS_KEY = `arn:aws:kms:${REGION}:${ACCOUNT_ID}:key/platform-key`;
const EXTERNAL_ARN = `arn:aws:kafka:${REGION}:${ACCOUNT_ID}:cluster/shared/1111-2222-3`;

/** The kafka config the CLI would hand the program, defaults filled in. */
function kafkaConfig(kafka: Record<string, unknown>, network: Record<string, unknown> = { azCount: 3 }): KafkaConfig {
    return parsePlatformConfig({ kafka, network } as RawConfig, "spark-streaming", "test").kafka;
}

function networkRefs(count: number): NetworkRefs {
    const subnets = Array.from({ length: count }, (_, i) => `subnet-0${i}`);
    return {
        vpcId: pulumi.output("vpc-0abc"),
        vpcCidr: pulumi.output("10.20.0.0/16"),
        privateSubnetIds: pulumi.output(subnets),
        privateSubnetCount: count,
    };
}

function childrenOf(name: string): Registered[] {
    return registered.filter((r) => r.name.startsWith(`${name}-`) && r.custom);
}

function oneIn(name: string, type: string): Registered {
    const found = childrenOf(name).filter((r) => r.type === type);
    if (found.length !== 1) {
        throw new Error(`expected one ${type} under ${name}, found ${found.length}`);
    }
    return found[0];
}

const prodKafka = kafkaConfig({
    brokerCount: 3,
    instanceType: "kafka.m7g.large",
    kafkaVersion: "3.8.x",
    ebsVolumeGb: 500,
    maxEbsVolumeGb: 4000,
    retentionHours: 168,
    brokerLogRetentionDays: 30,
    topics: [{ name: "events", partitions: 12 }, { name: "audit", partitions: 3, retentionHours: 720, replicationFactor: 2 }],
});
const devKafka = kafkaConfig(
    { brokerCount: 2, instanceType: "kafka.t3.small", defaultReplicationFactor: 2, minInsyncReplicas: 1, retentionHours: 72, brokerLogRetentionDays: 7 },
    { azCount: 2 },
);

const k: Record<string, Kafka> = {};

beforeAll(async () => {
    await setupMocks();
    k.prod = new Kafka("prod", { config: prodKafka, network: networkRefs(3), kmsKeyArn: KMS_KEY });
    k.dev = new Kafka("dev", { config: devKafka, network: networkRefs(2), kmsKeyArn: KMS_KEY });
    k.serverless = new Kafka("sls", { config: kafkaConfig({ mode: "msk-serverless" }), network: networkRefs(3), kmsKeyArn: KMS_KEY });
    k.extIam = new Kafka("extiam", {
        config: kafkaConfig({ mode: "external", bootstrapServers: "b-1.shared:9098,b-2.shared:9098", clusterArn: EXTERNAL_ARN }),
        network: networkRefs(3),
        kmsKeyArn: KMS_KEY,
    });
    k.extPlain = new Kafka("extplain", {
        config: kafkaConfig({ mode: "external", auth: "none", bootstrapServers: "kafka.internal:9092" }),
        network: networkRefs(3),
        kmsKeyArn: KMS_KEY,
    });
    kafkaClientIngress("workers-to-prod", k.prod, "sg-workers");
    kafkaClientIngress("workers-to-extplain", k.extPlain, "sg-workers");
    await settle();
});

describe("msk mode: a provisioned cluster", () => {
    test("brokers, instance type, Kafka version and EBS size come from config, in the private subnets", () => {
        const c = oneIn("prod", "aws:msk/cluster:Cluster").inputs;
        expect(c.numberOfBrokerNodes).toBe(3);
        expect(c.kafkaVersion).toBe("3.8.x");
        expect(c.brokerNodeGroupInfo.instanceType).toBe("kafka.m7g.large");
        expect(c.brokerNodeGroupInfo.clientSubnets).toEqual(["subnet-00", "subnet-01", "subnet-02"]);
        expect(c.brokerNodeGroupInfo.storageInfo.ebsStorageInfo.volumeSize).toBe(500);
        expect(c.brokerNodeGroupInfo.connectivityInfo.publicAccess.type).toBe("DISABLED");
        expect(oneIn("dev", "aws:msk/cluster:Cluster").inputs).toMatchObject({
            numberOfBrokerNodes: 2,
            brokerNodeGroupInfo: { instanceType: "kafka.t3.small", clientSubnets: ["subnet-00", "subnet-01"] },
        });
    });

    test("storage is encrypted with the platform's KMS key and traffic is TLS, client-broker and in cluster", () => {
        const c = oneIn("prod", "aws:msk/cluster:Cluster").inputs;
        expect(c.encryptionInfo).toEqual({ encryptionAtRestKmsKeyArn: KMS_KEY, encryptionInTransit: { clientBroker: "TLS", inCluster: true } });
    });

    test("clients authenticate with IAM only; unauthenticated access is off", () => {
        const c = oneIn("prod", "aws:msk/cluster:Cluster").inputs;
        expect(c.clientAuthentication).toEqual({ sasl: { iam: true, scram: false }, unauthenticated: false });
    });

    test("the broker configuration turns topic auto-creation and unclean elections off and takes replication and retention from config", () => {
        const conf = oneIn("prod", "aws:msk/configuration:Configuration").inputs;
        expect(conf.serverProperties).toBe(
            [
                "auto.create.topics.enable=false",
                "default.replication.factor=3",
                "log.retention.hours=168",
                "min.insync.replicas=2",
                "unclean.leader.election.enable=false",
                "",
            ].join("\n"),
        );
        expect(oneIn("dev", "aws:msk/configuration:Configuration").inputs.serverProperties).toMatch(/default\.replication\.factor=2\n.*log\.retention\.hours=72\nmin\.insync\.replicas=1\n/s);
    });

    test("server properties are rendered sorted, whatever order they are declared in", () => {
        const lines = serverProperties(prodKafka).trimEnd().split("\n");
        expect(lines).toEqual([...lines].sort());
    });

    test("the cluster runs the configuration's latest revision; the configuration has a stable name and no version list (which would replace it)", () => {
        const conf = oneIn("prod", "aws:msk/configuration:Configuration");
        expect(conf.inputs.name).toBe("spark-streaming-test-prod");
        expect(conf.inputs.kafkaVersions).toBeUndefined();
        const c = oneIn("prod", "aws:msk/cluster:Cluster").inputs;
        expect(c.configurationInfo).toEqual({ arn: expect.stringContaining(":configuration/spark-streaming-test-prod/"), revision: 1 });
    });

    test("broker logs go to CloudWatch and are kept for brokerLogRetentionDays", () => {
        const group = oneIn("prod", "aws:cloudwatch/logGroup:LogGroup");
        expect(group.inputs).toMatchObject({ name: "/aws/msk/spark-streaming-test-prod", retentionInDays: 30 });
        expect(oneIn("dev", "aws:cloudwatch/logGroup:LogGroup").inputs.retentionInDays).toBe(7);
        const c = oneIn("prod", "aws:msk/cluster:Cluster").inputs;
        expect(c.loggingInfo.brokerLogs.cloudwatchLogs.enabled).toBe(true);
        expect(c.loggingInfo.brokerLogs.cloudwatchLogs.logGroup).toBe("/aws/msk/spark-streaming-test-prod");
    });

    test("open monitoring has the JMX and node exporters on", () => {
        const c = oneIn("prod", "aws:msk/cluster:Cluster").inputs;
        expect(c.openMonitoring).toEqual({ prometheus: { jmxExporter: { enabledInBroker: true }, nodeExporter: { enabledInBroker: true } } });
    });

    test("storage autoscales up to maxEbsVolumeGb and never in, and the program does not undo the growth", () => {
        const target = oneIn("prod", "aws:appautoscaling/target:Target").inputs;
        expect(target).toMatchObject({ serviceNamespace: "kafka", scalableDimension: "kafka:broker-storage:VolumeSize", maxCapacity: 4000 });
        expect(target.resourceId).toMatch(/^arn:aws:kafka:.*:cluster\//);
        const policy = oneIn("prod", "aws:appautoscaling/policy:Policy").inputs;
        expect(policy.targetTrackingScalingPolicyConfiguration).toMatchObject({
            predefinedMetricSpecification: { predefinedMetricType: "KafkaBrokerStorageUtilization" },
            disableScaleIn: true,
        });
        expect(oneIn("prod", "aws:msk/cluster:Cluster").ignoreChanges).toEqual(["brokerNodeGroupInfo.storageInfo.ebsStorageInfo.volumeSize"]);
    });

    test("hands clients the SASL/IAM bootstrap brokers on port 9098 and the cluster ARN", async () => {
        expect(await promiseOf(k.prod.bootstrapBrokers)).toMatch(/^b-1\.[^,]+:9098,b-2\.[^,]+:9098$/);
        expect(await promiseOf(k.prod.clusterArn!)).toMatch(new RegExp(`^arn:aws:kafka:${REGION}:${ACCOUNT_ID}:cluster/`));
        expect(k.prod.clientPort).toBe(9098);
        expect(k.prod.authMode).toBe("iam");
    });
});

describe("the brokers' security group", () => {
    test("has no CIDR rules: brokers reach each other only through the group itself", async () => {
        const sgId = await promiseOf(k.prod.securityGroupId!);
        const sg = oneIn("prod", "aws:ec2/securityGroup:SecurityGroup").inputs;
        expect(sg.ingress ?? []).toEqual([]);
        expect(sg.egress ?? []).toEqual([]);
        const rules = childrenOf("prod").filter((r) => r.type.startsWith("aws:vpc/securityGroup") || r.type === "aws:ec2/securityGroupRule:SecurityGroupRule");
        expect(rules.map((r) => r.type).sort()).toEqual(["aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"]);
        for (const r of rules) {
            expect(r.inputs).toMatchObject({ securityGroupId: sgId, referencedSecurityGroupId: sgId, ipProtocol: "tcp", fromPort: 9092, toPort: 9098 });
            expect(r.inputs.cidrIpv4).toBeUndefined();
            expect(r.inputs.cidrIpv6).toBeUndefined();
        }
    });

    test("kafkaClientIngress admits only the client port, only from the Spark hosts' group", async () => {
        const rule = registered.find((r) => r.name === "workers-to-prod")!;
        expect(rule.type).toBe("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule");
        expect(rule.inputs).toMatchObject({
            securityGroupId: await promiseOf(k.prod.securityGroupId!),
            referencedSecurityGroupId: "sg-workers",
            ipProtocol: "tcp",
            fromPort: 9098,
            toPort: 9098,
        });
        expect(rule.inputs.cidrIpv4).toBeUndefined();
    });

    test("kafkaClientIngress creates nothing for external Kafka, whose groups are not ours", () => {
        expect(k.extPlain.securityGroupId).toBeUndefined();
        expect(registered.find((r) => r.name === "workers-to-extplain")).toBeUndefined();
    });
});

describe("msk-serverless mode", () => {
    test("creates a serverless cluster with IAM auth in the private subnets behind the brokers' group, and no provisioned cluster", async () => {
        const sls = oneIn("sls", "aws:msk/serverlessCluster:ServerlessCluster").inputs;
        expect(sls.clientAuthentication).toEqual({ sasl: { iam: { enabled: true } } });
        expect(sls.vpcConfigs).toEqual([{ subnetIds: ["subnet-00", "subnet-01", "subnet-02"], securityGroupIds: [await promiseOf(k.serverless.securityGroupId!)] }]);
        expect(childrenOf("sls").filter((r) => r.type === "aws:msk/cluster:Cluster")).toHaveLength(0);
    });

    test("hands clients the serverless SASL/IAM bootstrap and a policy scoped to the serverless cluster", async () => {
        expect(await promiseOf(k.serverless.bootstrapBrokers)).toMatch(/:9098$/);
        const arn = await promiseOf(k.serverless.clusterArn!);
        expect(arn).toMatch(/:cluster\/sls-serverless-/);
        const doc = JSON.parse(await promiseOf(k.serverless.consumerPolicyJson!));
        expect(doc.Statement[0].Resource).toEqual([arn]);
    });

    test("topics are created with MSK Serverless' fixed replication factor of 3", () => {
        expect(JSON.parse(k.serverless.topicsJson)).toEqual([{ name: "events", partitions: 6, replicationFactor: 3, retentionMs: 168 * 3_600_000 }]);
    });
});

describe("external mode", () => {
    test("creates nothing and hands over the configured bootstrap servers", async () => {
        expect(childrenOf("extiam")).toHaveLength(0);
        expect(childrenOf("extplain")).toHaveLength(0);
        expect(await promiseOf(k.extIam.bootstrapBrokers)).toBe("b-1.shared:9098,b-2.shared:9098");
        expect(k.extIam.securityGroupId).toBeUndefined();
    });

    test("with IAM auth, the port is 9098 and the consumer policy names the configured cluster", async () => {
        expect(k.extIam.clientPort).toBe(9098);
        expect(await promiseOf(k.extIam.clusterArn!)).toBe(EXTERNAL_ARN);
        const doc = JSON.parse(await promiseOf(k.extIam.consumerPolicyJson!));
        expect(doc.Statement[0].Resource).toEqual([EXTERNAL_ARN]);
        expect(doc.Statement[1].Resource).toEqual([`arn:aws:kafka:${REGION}:${ACCOUNT_ID}:topic/shared/1111-2222-3/events`]);
    });

    test("without auth, the port is 9092 and there is no IAM policy to give", () => {
        expect(k.extPlain.authMode).toBe("none");
        expect(k.extPlain.clientPort).toBe(9092);
        expect(k.extPlain.consumerPolicyJson).toBeUndefined();
        expect(k.extPlain.clusterArn).toBeUndefined();
    });
});

describe("the consumer's IAM policy", () => {
    test("connects to this cluster, reads its configured topics, and uses only Spark's consumer groups", async () => {
        const arn = await promiseOf(k.prod.clusterArn!);
        const m = /^(arn:aws:kafka:[^:]+:\d{12}):cluster\/([^/]+)\/([^/]+)$/.exec(arn)!;
        const [prefix, clusterName, uuid] = [m[1], m[2], m[3]];
        const doc = JSON.parse(await promiseOf(k.prod.consumerPolicyJson!));
        expect(doc.Statement).toEqual([
            { Sid: "ConnectToCluster", Effect: "Allow", Action: ["kafka-cluster:Connect", "kafka-cluster:DescribeCluster"], Resource: [arn] },
            {
                Sid: "ReadAndCreateConfiguredTopics",
                Effect: "Allow",
                Action: ["kafka-cluster:CreateTopic", "kafka-cluster:DescribeTopic", "kafka-cluster:ReadData"],
                Resource: [`${prefix}:topic/${clusterName}/${uuid}/audit`, `${prefix}:topic/${clusterName}/${uuid}/events`],
            },
            {
                Sid: "UseSparkConsumerGroups",
                Effect: "Allow",
                Action: ["kafka-cluster:AlterGroup", "kafka-cluster:DescribeGroup"],
                Resource: [`${prefix}:group/${clusterName}/${uuid}/spark-kafka-source-*`],
            },
        ]);
    });

    test("has no wildcard action and no `*` resource; every action is a kafka-cluster data-plane action", async () => {
        for (const kafka of [k.prod, k.dev, k.serverless, k.extIam]) {
            const doc = JSON.parse(await promiseOf(kafka.consumerPolicyJson!));
            for (const s of doc.Statement) {
                expect(s.Effect).toBe("Allow");
                for (const a of s.Action) {
                    expect(a).toMatch(/^kafka-cluster:[A-Za-z]+$/);
                }
                for (const r of s.Resource) {
                    expect(r).not.toBe("*");
                    expect(r).toMatch(/^arn:aws:kafka:[a-z0-9-]+:\d{12}:(cluster|topic|group)\/[^*/]+\/[^*/]+/);
                }
            }
        }
    });

    test("is the same JSON for the same inputs (a preview shows no diff), whatever order the topics are listed in", () => {
        expect(consumerPolicyDocument(EXTERNAL_ARN, ["b", "a"])).toBe(consumerPolicyDocument(EXTERNAL_ARN, ["a", "b"]));
    });

    test("topic and group ARNs are derived from the cluster ARN", () => {
        expect(clusterResourceArn("arn:aws:kafka:eu-west-1:123456789012:cluster/c1/abcd-1", "topic", "events")).toBe(
            "arn:aws:kafka:eu-west-1:123456789012:topic/c1/abcd-1/events",
        );
        expect(() => clusterResourceArn("arn:aws:s3:::bucket", "topic", "events")).toThrow(/is not an MSK cluster ARN/);
    });
});

describe("topics for the consumer image's entrypoint", () => {
    test("KAFKA_TOPICS lists every configured topic with its defaults resolved and keys in a fixed order", () => {
        expect(k.prod.topicsJson).toBe(
            '[{"name":"events","partitions":12,"replicationFactor":3,"retentionMs":604800000},' +
                '{"name":"audit","partitions":3,"replicationFactor":2,"retentionMs":2592000000}]',
        );
        expect(k.prod.topics.map((t) => t.name)).toEqual(["events", "audit"]);
    });

    test("dev topics take the dev cluster's replication factor and retention", () => {
        expect(JSON.parse(topicsJson(devKafka))).toEqual([{ name: "events", partitions: 6, replicationFactor: 2, retentionMs: 72 * 3_600_000 }]);
    });
});

describe("validation says what is wrong and how to fix it", () => {
    const msk = kafkaConfig({});
    test("broker count that is not a multiple of the subnets", () => {
        expect(() => validateKafka({ ...msk, brokerCount: 4 }, 3)).toThrow("kafka.brokerCount must be a multiple of the 3 private subnets; got 4");
    });
    test("MSK over more than 3 subnets", () => {
        expect(() => validateKafka({ ...msk, brokerCount: 4 }, 4)).toThrow(/spreads brokers over 2 or 3 availability zones.*4 private subnets/);
    });
    test("broker log retention CloudWatch does not offer", () => {
        expect(() => validateKafka({ ...msk, brokerLogRetentionDays: 10 }, 3)).toThrow(/kafka\.brokerLogRetentionDays must be one of CloudWatch's retention periods.*got 10/);
    });
    test("a topic with more replicas than brokers", () => {
        expect(() => validateKafka({ ...msk, brokerCount: 2, defaultReplicationFactor: 2, topics: [{ name: "t", partitions: 1, replicationFactor: 3 }] }, 2)).toThrow(
            /kafka\.topics\["t"\] needs 3 replicas but the cluster has 2 brokers/,
        );
    });
    test("MSK without IAM auth", () => {
        expect(() => validateKafka({ ...msk, auth: "none" }, 3)).toThrow("kafka.auth must be iam for kafka.mode msk");
    });
    test("MSK Serverless topic asking for a replication factor other than 3", () => {
        expect(() => validateKafka({ ...msk, mode: "msk-serverless", topics: [{ name: "t", partitions: 1, replicationFactor: 2 }] }, 3)).toThrow(
            /replicationFactor must be left unset \(or 3\) with kafka\.mode msk-serverless/,
        );
    });
    test("MSK Serverless over more than 5 subnets", () => {
        expect(() => validateKafka({ ...msk, mode: "msk-serverless" }, 6)).toThrow(/msk-serverless needs 2 to 5 private subnets; got 6/);
    });
    test("external mode without bootstrap servers", () => {
        expect(() => validateKafka({ ...msk, mode: "external", clusterArn: EXTERNAL_ARN }, 3)).toThrow(/kafka\.bootstrapServers is required when kafka\.mode is external/);
    });
    test("external mode with IAM auth but no cluster ARN to scope the policy to", () => {
        expect(() => validateKafka({ ...msk, mode: "external", bootstrapServers: "b-1:9098" }, 3)).toThrow(/kafka\.clusterArn is required when kafka\.mode is external with auth iam/);
    });
    test("the component validates before declaring anything", () => {
        const before = registered.length;
        expect(() => new Kafka("bad", { config: { ...msk, brokerCount: 4 }, network: networkRefs(3), kmsKeyArn: KMS_KEY })).toThrow(/multiple of the 3 private subnets/);
        expect(registered.slice(before).filter((r) => r.custom)).toHaveLength(0);
    });
});
