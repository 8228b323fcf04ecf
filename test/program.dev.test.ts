import { one, ofType, registered } from "./support/mocks";
import { runProgram, StackOutputs } from "./support/program";
import { describeEveryStack, expectConsumerWiring } from "./support/programAssertions";
import { describeObservability } from "./support/observabilityAssertions";
import { expectEc2StopTimeouts } from "./support/stopTimeouts";

// The whole program under mocks with Pulumi.dev.yaml (and Pulumi.yaml's defaults) as the CLI would load them.
let outputs: StackOutputs;
beforeAll(async () => {
    outputs = await runProgram("dev");
});

describeEveryStack("dev", "ec2", () => outputs);

test("dev is disposable: the bucket can be destroyed with its contents and nothing is protected", () => {
    const bucket = one("aws:s3/bucket:Bucket", "data-lake-bucket");
    expect(bucket.inputs.forceDestroy).toBe(true);
    expect(registered.filter((r) => r.protect || r.retainOnDelete).map((r) => r.name)).toEqual([]);
});

test("dev shares one NAT gateway over two AZs", () => {
    expect(ofType("aws:ec2/natGateway:NatGateway")).toHaveLength(1);
    expect(ofType("aws:ec2/subnet:Subnet")).toHaveLength(4);
});

test("dev runs two small brokers", () => {
    expect(one("aws:msk/cluster:Cluster").inputs).toMatchObject({ numberOfBrokerNodes: 2 });
});

test("a stopping consumer gets at least the stack's grace period before docker, systemd or SSM kill it", () => {
    const association = one("aws:ssm/association:Association").inputs;
    expectEc2StopTimeouts(120, association, one("aws:ssm/document:Document").inputs.content);
});

test("the consumer runs the pushed image, pinned by digest, wired to the brokers, the topic and the S3 locations", () => {
    expect(outputs.imageUri).toMatch(/^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com\/[a-z0-9._/-]+@sha256:[a-f0-9]{64}$/);
    const association = one("aws:ssm/association:Association").inputs;
    expect(association.parameters.imageUri).toBe(outputs.imageUri);
    const flags = Buffer.from(association.parameters.consumerArgs, "base64").toString("utf8").split("\n");
    // The same objects as the outputs, by the scheme S3A serves (components/ec2/engine.ts, EC2_URI_SCHEME).
    expectConsumerWiring(flags, outputs, {}, "s3a");
});

test("the Spark UIs are private and HTTPS, each with an SSM tunnel command", () => {
    expect(Object.keys(outputs.uiUrls).sort()).toEqual(["consumerApp", "sparkHistory", "sparkMaster"]);
    for (const url of Object.values<string>(outputs.uiUrls)) {
        expect(url).toMatch(/^https:\/\/spark-master\.spark\.internal:\d+/);
    }
    for (const [name, command] of Object.entries<string>(outputs.uiTunnels)) {
        const port = new URL(outputs.uiUrls[name]).port;
        expect(command).toContain("aws ssm start-session");
        expect(command).toContain(`"portNumber":["${port}"]`);
    }
});

test("dev builds no EMR cluster", () => {
    expect(ofType("aws:emr/cluster:Cluster")).toHaveLength(0);
});

// Observability (issue 14): alarms with dev's thresholds, the topic, the dashboard with EC2 host health, the consumer's flags.
describeObservability(
    {
        stack: "dev",
        engine: "ec2",
        thresholds: { lagGrowingPeriods: 10, deadLetterRowsThreshold: 1000, batchDurationMs: 30_000, noProgressPeriods: 3, consumerDownPeriods: 3 },
        brokers: 2,
    },
    () => ({ outputs, registered }),
    () => Buffer.from(one("aws:ssm/association:Association").inputs.parameters.consumerArgs, "base64").toString("utf8").split("\n"),
);
