import { one, ofType, registered, Registered } from "./mocks";
import { StackOutputs } from "./program";

// Assertions every shipped stack must pass, shared by the per-stack program tests.

/** Security group ingress that admits the whole internet, wherever the program declares it. */
export function openIngress(): Registered[] {
    const open = (cidrs: unknown) => Array.isArray(cidrs) && cidrs.some((c) => c === "0.0.0.0/0" || c === "::/0");
    return registered.filter((r) => {
        switch (r.type) {
            case "aws:ec2/securityGroup:SecurityGroup":
                return (r.inputs.ingress ?? []).some((i: any) => open(i.cidrBlocks) || open(i.ipv6CidrBlocks));
            case "aws:ec2/securityGroupRule:SecurityGroupRule":
                return r.inputs.type === "ingress" && (open(r.inputs.cidrBlocks) || open(r.inputs.ipv6CidrBlocks));
            case "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
                return open([r.inputs.cidrIpv4, r.inputs.cidrIpv6]);
            default:
                return false;
        }
    });
}

/** Every custom resource the program declares has a parent component (nothing hangs off the stack root). */
export function orphans(): Registered[] {
    return registered.filter((r) => r.custom && !r.type.startsWith("pulumi:providers:") && !r.parent.includes("spark-streaming:"));
}

export function s3UriPattern(prefix: string): RegExp {
    return new RegExp(`^s3://[a-z0-9.-]+/${prefix.replace(/[/]/g, "\\/")}$`);
}

export function expectStandardOutputs(outputs: StackOutputs, consumer: string, topic: string): void {
    expect(outputs.bucketName).toMatch(/^[a-z0-9][a-z0-9.-]{2,62}$/);
    expect(outputs.checkpointLocation).toBe(`s3://${outputs.bucketName}/checkpoints/${consumer}/`);
    expect(outputs.outputLocation).toBe(`s3://${outputs.bucketName}/data/${topic}/`);
    expect(outputs.deadLetterLocation).toBe(`s3://${outputs.bucketName}/dead-letter/${topic}/`);
    expect(outputs.vpcId).toEqual(expect.any(String));
}


/**
 * The consumer's flags (as an engine hands them to the job) point at this stack's brokers, topic and S3 locations.
 * `kafka` overrides what the consumer must use where it differs from the outputs (engine local: the brokers' internal
 * listener and plaintext, while kafkaBootstrapBrokers is for producers on the host). `scheme`: the job reaches the
 * outputs' s3:// objects by this scheme (ec2: s3a, for S3A's checkpoint manager).
 */
export function expectConsumerWiring(args: string[], outputs: StackOutputs, kafka: { bootstrap?: string; auth?: string } = {}, scheme?: "s3a"): void {
    const flag = (name: string) => args[args.indexOf(name) + 1];
    const location = (uri: string) => (scheme === undefined ? uri : uri.replace(/^s3:\/\//, `${scheme}://`));
    expect(flag("--bootstrap-servers")).toBe(kafka.bootstrap ?? outputs.kafkaBootstrapBrokers);
    expect(flag("--topic")).toBe("events");
    expect(flag("--output")).toBe(location(outputs.outputLocation));
    expect(flag("--dead-letter")).toBe(location(outputs.deadLetterLocation));
    expect(flag("--checkpoint")).toBe(location(outputs.checkpointLocation));
    expect(flag("--kafka-auth")).toBe(kafka.auth ?? "iam");
}

/** The tests every shipped stack must pass; `outputs` is read lazily, after the file's `beforeAll` ran the program. */
export function describeEveryStack(stack: string, engine: string, outputs: () => StackOutputs): void {
    test("exports the standard outputs, well formed", () => {
        expectStandardOutputs(outputs(), "events-consumer", "events");
        expect(outputs().engine).toBe(engine);
    });

    test("no security group admits the whole internet", () => {
        expect(openIngress().map((r) => r.name)).toEqual([]);
    });

    test("every resource belongs to a component", () => {
        expect(orphans().map((r) => r.name)).toEqual([]);
    });

    test("every component's provider tags resources with project, stack and component", () => {
        const providers = ofType("pulumi:providers:aws");
        expect(providers.length).toBeGreaterThanOrEqual(2);
        for (const p of providers) {
            // Provider inputs reach the engine JSON-encoded.
            const defaultTags = typeof p.inputs.defaultTags === "string" ? JSON.parse(p.inputs.defaultTags) : p.inputs.defaultTags;
            expect(defaultTags.tags).toMatchObject({ project: "spark-streaming", stack, component: expect.any(String) });
        }
    });

    test("the data lake bucket is hardened", () => {
        const bucket = one("aws:s3/bucket:Bucket", "data-lake-bucket");
        const kinds = registered.filter((r) => r.parent === bucket.parent).map((r) => r.type);
        expect(kinds).toEqual(
            expect.arrayContaining([
                "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
                "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                "aws:s3/bucketVersioning:BucketVersioning",
                "aws:s3/bucketPolicy:BucketPolicy",
                "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
                "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
            ]),
        );
        const pab = one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "data-lake-public-access").inputs;
        expect(pab).toMatchObject({ blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true });
        expect(one("aws:kms/key:Key", "data-lake-key").inputs.enableKeyRotation).toBe(true);
    });

    test("Kafka is MSK with IAM auth over TLS, and its bootstrap brokers are an output", () => {
        expect(outputs().kafkaBootstrapBrokers).toMatch(/^([a-z0-9.-]+:9098)(,[a-z0-9.-]+:9098)*$/);
        const cluster = one("aws:msk/cluster:Cluster").inputs;
        expect(cluster.encryptionInfo.encryptionInTransit).toMatchObject({ clientBroker: "TLS", inCluster: true });
        expect(cluster.clientAuthentication).toMatchObject({ sasl: { iam: true }, unauthenticated: false });
        expect(outputs().kafkaClusterArn).toMatch(/^arn:aws:kafka:/);
    });
}
