import { one, ofType, registered } from "./support/mocks";
import { runProgram, StackOutputs } from "./support/program";
import { describeEveryStack, expectConsumerWiring } from "./support/programAssertions";
import { describeObservability } from "./support/observabilityAssertions";
import { expectEmrStopTimeouts } from "./support/stopTimeouts";

// The whole program under mocks with Pulumi.prod.yaml (and Pulumi.yaml's defaults) as the CLI would load them.
let outputs: StackOutputs;
beforeAll(async () => {
    outputs = await runProgram("prod");
});

describeEveryStack("prod", "emr", () => outputs);

test("prod data survives destroy: the bucket and its key are protected and retained", () => {
    for (const [type, name] of [["aws:s3/bucket:Bucket", "data-lake-bucket"], ["aws:kms/key:Key", "data-lake-key"]]) {
        const r = one(type, name);
        expect({ name: r.name, protect: r.protect, retainOnDelete: r.retainOnDelete }).toEqual({ name: r.name, protect: true, retainOnDelete: true });
    }
    expect(one("aws:s3/bucket:Bucket", "data-lake-bucket").inputs.forceDestroy).toBeFalsy();
});

test("prod has a NAT gateway per AZ over three AZs", () => {
    expect(ofType("aws:ec2/natGateway:NatGateway")).toHaveLength(3);
    expect(ofType("aws:ec2/subnet:Subnet")).toHaveLength(6);
});

test("prod runs three brokers with replication factor 3 and min.insync.replicas 2", () => {
    expect(one("aws:msk/cluster:Cluster").inputs).toMatchObject({ numberOfBrokerNodes: 3 });
    const props = one("aws:msk/configuration:Configuration").inputs.serverProperties;
    expect(props).toMatch(/^default\.replication\.factor=3$/m);
    expect(props).toMatch(/^min\.insync\.replicas=2$/m);
    expect(props).toMatch(/^auto\.create\.topics\.enable=false$/m);
});

test("the consumer runs as an EMR step wired to the brokers, the topic, the S3 locations and MSK IAM", () => {
    const step = one("pulumi-nodejs:dynamic/emr:EmrStep").inputs;
    const args: string[] = step.args;
    const flag = (name: string) => args[args.indexOf(name) + 1];
    expect(args).toEqual(expect.arrayContaining(["--deploy-mode", "cluster"]));
    expectConsumerWiring(args, outputs);
    expect(JSON.parse(flag("--ensure-topics"))).toEqual([expect.objectContaining({ name: "events", partitions: 12 })]);
});

test("a cancelled consumer step gets at least the stack's grace period from the launcher and the step provider", () => {
    expectEmrStopTimeouts(120, one("pulumi-nodejs:dynamic/emr:EmrStep").inputs);
});

test("prod's EMR cluster is protected, logs to the bucket and uses a security configuration", () => {
    const cluster = one("aws:emr/cluster:Cluster").inputs;
    expect(cluster.releaseLabel).toBe("emr-7.12.0");
    expect(cluster.terminationProtection).toBe(true);
    expect(cluster.logUri).toBe(`s3://${outputs.bucketName}/logs/emr/`);
    expect(cluster.securityConfiguration).toEqual(expect.any(String));
    expect(cluster.stepConcurrencyLevel).toBeGreaterThan(1);
});

test("prod's UIs are YARN, the history server and the console, with SSM tunnels for the private ones", () => {
    expect(Object.keys(outputs.uiUrls).sort()).toEqual(["console", "sparkHistory", "yarn"]);
    expect(outputs.uiUrls.yarn).toMatch(/:8088/);
    expect(outputs.uiUrls.sparkHistory).toMatch(/^https:\/\/.*:18480$/);
    expect(Object.keys(outputs.uiTunnels).sort()).toEqual(["sparkHistory", "yarn"]);
    for (const command of Object.values<string>(outputs.uiTunnels)) {
        expect(command).toContain("aws ssm start-session");
    }
});

test("prod runs no image build: EMR 7 runs the same build of the job from S3", () => {
    expect(ofType("docker-build:index:Image")).toHaveLength(0);
    expect(outputs.imageUri).toBeUndefined();
});

// Observability (issue 14): alarms with prod's thresholds, the topic, the dashboard with EMR host health, the consumer's flags.
describeObservability(
    {
        stack: "prod",
        engine: "emr",
        thresholds: { lagGrowingPeriods: 5, deadLetterRowsThreshold: 100, batchDurationMs: 30_000, noProgressPeriods: 3, consumerDownPeriods: 3 },
        brokers: 3,
    },
    () => ({ outputs, registered }),
    () => one("pulumi-nodejs:dynamic/emr:EmrStep").inputs.args,
);
