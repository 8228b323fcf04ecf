import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CONSUMER_CONTEXT, contextHash } from "../components/buildContext";
import { parsePlatformConfig, PlatformConfig, RawConfig } from "../components/config";
import {
    artifactsHash,
    canonicalJson,
    EmrEngine,
    emrConfigurations,
    jobFiles,
    LAUNCHER_SCRIPT,
    validateEmrConfig,
} from "../components/emr/cluster";
import {
    builtUdfJar,
    checkLockCurrent,
    EMR_JARS_DIR,
    jarKey,
    lockedJars,
    lockedSparkVersion,
    readJarLock,
    UDF_JAR,
    UDF_JAR_STAMP,
    udfSourcesSha256,
    verifiedJarPaths,
} from "../components/emr/jars";
import { alignSparkVersion, emrSparkVersion } from "../components/emr/sparkVersions";
import { bundleKey, clusterHostNames, pemBundle } from "../components/emr/tls";
import { unzipSync } from "fflate";
import { DataLakeRefs, KafkaRefs, NetworkRefs } from "../components/refs";
import { DEFAULT_TIMEOUT_MS } from "../components/emr/stepProvider";
import { ofType, one, promiseOf, Registered, setupMocks, settle } from "./support/mocks";
import { expectEmrStopTimeouts } from "./support/stopTimeouts";

// The EMR engine under Pulumi mocks: the cluster's properties, its security and IAM, the consumer step's wiring,
// and that a new job build touches only the artifacts and the step.

const BUCKET = "lake-bucket";
const BUCKET_ARN = `arn:aws:s3:::${BUCKET}`;
const KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/platform";
const BROKERS = "b-1.msk.example:9098,b-2.msk.example:9098";
const TOPICS_JSON = '[{"name":"events","partitions":6,"replicationFactor":3,"retentionMs":604800000}]';
const KAFKA_POLICY = '{"Statement":[{"Action":["kafka-cluster:Connect"],"Effect":"Allow","Resource":["arn:aws:kafka:eu-west-1:123456789012:cluster/c/u"]}],"Version":"2012-10-17"}';

const STEP_TYPE = "pulumi-nodejs:dynamic/emr:EmrStep";

const tmpDirs: string[] = [];

/** A copy of the job's context with one file of our choosing, so its content hash is ours to change. */
function jobDir(marker: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "emr-job-"));
    tmpDirs.push(dir);
    fs.mkdirSync(path.join(dir, "streaming_consumer", "__pycache__"), { recursive: true });
    fs.copyFileSync(path.join(CONSUMER_CONTEXT, "jvm-dependencies.txt"), path.join(dir, "jvm-dependencies.txt"));
    fs.writeFileSync(path.join(dir, "streaming_consumer", "__init__.py"), "");
    fs.writeFileSync(path.join(dir, "streaming_consumer", "main.py"), `# build ${marker}\n`);
    fs.writeFileSync(path.join(dir, "main.py"), "from streaming_consumer.main import main\n");
    fs.writeFileSync(path.join(dir, "streaming_consumer", "__pycache__", "main.cpython-311.pyc"), "bytecode");
    // The JVM functions' sources and build script, which the UDF jar in .cache/emr-jars must have been built from.
    fs.cpSync(path.join(CONSUMER_CONTEXT, "jvm"), path.join(dir, "jvm"), { recursive: true });
    fs.copyFileSync(path.join(CONSUMER_CONTEXT, "build-udfs.sh"), path.join(dir, "build-udfs.sh"));
    return dir;
}

/** A jars folder with the fetched locked jars (links) and, if given, a UDF jar and its stamp of our choosing. */
function jarsDir(udf?: { bytes: Buffer; stamp: string }): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "emr-jars-dir-"));
    tmpDirs.push(dir);
    for (const f of fs.readdirSync(EMR_JARS_DIR).filter((f) => f.endsWith(".jar") && f !== UDF_JAR)) {
        fs.symlinkSync(path.join(EMR_JARS_DIR, f), path.join(dir, f));
    }
    if (udf) {
        fs.writeFileSync(path.join(dir, UDF_JAR), udf.bytes);
        fs.writeFileSync(path.join(dir, UDF_JAR_STAMP), `${udf.stamp}\n`);
    }
    return dir;
}

/** The UDF jar scripts/fetch-emr-jars.sh built, and its stamp. */
const fetchedUdf = (): { bytes: Buffer; stamp: string } => ({
    bytes: fs.readFileSync(path.join(EMR_JARS_DIR, UDF_JAR)),
    stamp: fs.readFileSync(path.join(EMR_JARS_DIR, UDF_JAR_STAMP), "utf8").trim(),
});

afterAll(() => {
    for (const dir of tmpDirs) {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

function platform(raw: RawConfig = {}): PlatformConfig {
    return parsePlatformConfig({ engine: "emr", ...raw }, "spark-streaming", "test");
}

function kafkaRefs(authMode: "iam" | "none" = "iam"): KafkaRefs {
    return {
        bootstrapBrokers: pulumi.output(BROKERS),
        authMode,
        clientPort: authMode === "iam" ? 9098 : 9092,
        securityGroupId: pulumi.output("sg-kafka"),
        consumerPolicyJson: authMode === "iam" ? pulumi.output(KAFKA_POLICY) : undefined,
    };
}

interface Built {
    engine: EmrEngine;
    outputs: { clusterId: string; uiUrls: Record<string, string>; uiTunnels: Record<string, string>; stepId: string; artifactsUri: string };
}

/** Builds the engine alone under fresh mocks, the way index.ts would, and resolves its outputs. */
async function build(opts: { raw?: RawConfig; dir?: string; kafka?: KafkaRefs; jars?: string } = {}): Promise<Built> {
    await setupMocks({
        hook: (args) => {
            if (args.type === STEP_TYPE) {
                return { stepId: "s-MOCKSTEP", state: "RUNNING" };
            }
            // AWS generates the name of a security configuration that has none.
            return args.type === "aws:emr/securityConfiguration:SecurityConfiguration" ? { name: `${args.name}-generated` } : undefined;
        },
    });
    const cfg = platform(opts.raw);
    const network: NetworkRefs = {
        vpcId: pulumi.output("vpc-0abc"),
        vpcCidr: pulumi.output("10.0.0.0/16"),
        privateSubnetIds: pulumi.output(["subnet-0priv1", "subnet-0priv2", "subnet-0priv3"]),
        privateSubnetCount: 3,
    };
    const dataLake: DataLakeRefs = { bucketName: pulumi.output(BUCKET), bucketArn: pulumi.output(BUCKET_ARN), kmsKeyArn: pulumi.output(KEY_ARN) };
    const engine = new EmrEngine("emr", {
        config: cfg.emr,
        consumer: cfg.consumer,
        access: cfg.access,
        network,
        dataLake,
        kafka: opts.kafka ?? kafkaRefs(),
        kafkaTopicsJson: TOPICS_JSON,
        region: "eu-west-1",
        security: cfg.security,
        jobDir: opts.dir ?? defaultDir,
        jarsDir: opts.jars,
    });
    const outputs = {
        clusterId: await promiseOf(engine.clusterId),
        uiUrls: await promiseOf(engine.uiUrls),
        uiTunnels: await promiseOf(engine.uiTunnels),
        stepId: await promiseOf(engine.stepId),
        artifactsUri: await promiseOf(engine.artifactsUri),
    };
    await settle();
    return { engine, outputs };
}

let defaultDir: string;
beforeAll(() => {
    defaultDir = jobDir("default");
});

const cluster = (): Registered => one("aws:emr/cluster:Cluster");
const step = (): Registered => one(STEP_TYPE);
const stepArgs = (): string[] => step().inputs.args;
/** What the launcher hands spark-submit: the step's args after `bash -c <script> run-consumer <launcher uri> <app name>`. */
const submitArgs = (): string[] => stepArgs().slice(6);
/** The value that follows `flag` in an argument list. */
const after = (args: string[], flag: string): string => args[args.indexOf(flag) + 1];
const confs = (args: string[]): string[] => args.flatMap((a, i) => (args[i - 1] === "--conf" ? [a] : []));

describe("EMR cluster", () => {
    beforeAll(async () => {
        await build();
    });

    test("runs the configured EMR 7 release with Spark and Hadoop", () => {
        const c = cluster().inputs;
        expect(c.releaseLabel).toBe(platform().emr.releaseLabel);
        expect(c.releaseLabel).toMatch(/^emr-7\./);
        expect([...c.applications].sort()).toEqual(["Hadoop", "Spark"]);
    });

    test("master and core groups take their types, counts and gp3 EBS from config", async () => {
        const cfg = platform({ emr: { masterInstanceType: "m6i.2xlarge", coreInstanceType: "r6i.xlarge", coreInstanceCount: 3, ebsVolumeGb: 128 } });
        await build({ raw: { emr: cfg.emr } });
        const c = cluster().inputs;
        expect(c.masterInstanceGroup).toMatchObject({ instanceType: "m6i.2xlarge", instanceCount: 1, ebsConfigs: [{ size: 128, type: "gp3" }] });
        expect(c.coreInstanceGroup).toMatchObject({ instanceType: "r6i.xlarge", instanceCount: 3, ebsConfigs: [{ size: 128, type: "gp3" }] });
    });

    test("runs in the first private subnet with its own EMR-managed and service-access security groups", async () => {
        await build();
        const ec2 = cluster().inputs.ec2Attributes;
        expect(ec2.subnetId).toBe("subnet-0priv1");
        const sgIds = ofType("aws:ec2/securityGroup:SecurityGroup").map((r) => `${r.name}-id`);
        // The mock ids security groups by name; each role gets a different group.
        expect(new Set([ec2.emrManagedMasterSecurityGroup, ec2.emrManagedSlaveSecurityGroup, ec2.serviceAccessSecurityGroup]).size).toBe(3);
        for (const g of [ec2.emrManagedMasterSecurityGroup, ec2.emrManagedSlaveSecurityGroup, ec2.serviceAccessSecurityGroup]) {
            expect(sgIds).toContain(g);
        }
        expect(ec2.instanceProfile).toBeDefined();
    });

    test("security groups revoke their cross-references on delete and carry EMR's managed-policy tag", () => {
        for (const g of ofType("aws:ec2/securityGroup:SecurityGroup")) {
            expect(g.inputs.revokeRulesOnDelete).toBe(true);
            expect(g.inputs.tags).toMatchObject({ "for-use-with-amazon-emr-managed-policies": "true" });
        }
        expect(cluster().inputs.tags).toMatchObject({ "for-use-with-amazon-emr-managed-policies": "true" });
    });

    test("private subnets get the service-access rule: 9443 from the master group", () => {
        const serviceSgId = cluster().inputs.ec2Attributes.serviceAccessSecurityGroup;
        const masterSgId = cluster().inputs.ec2Attributes.emrManagedMasterSecurityGroup;
        const rule = ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").find((r) => r.inputs.securityGroupId === serviceSgId);
        expect(rule?.inputs).toMatchObject({ referencedSecurityGroupId: masterSgId, fromPort: 9443, toPort: 9443, ipProtocol: "tcp" });
    });

    test("no UI port is open to anyone when access.allowedCidrs is empty, and nothing admits 0.0.0.0/0", () => {
        const ingress = ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule");
        expect(ingress.filter((r) => [8088, 18080, 18480, 20888].includes(r.inputs.fromPort))).toEqual([]);
        expect(ingress.filter((r) => r.inputs.cidrIpv4 === "0.0.0.0/0" || r.inputs.cidrIpv6 === "::/0")).toEqual([]);
    });

    test("only the TLS UI (the history server's HTTPS port) opens on the master, only to the CIDRs access.allowedCidrs lists", async () => {
        await build({ raw: { access: { allowedCidrs: ["10.20.0.0/16"] } } });
        const masterSgId = cluster().inputs.ec2Attributes.emrManagedMasterSecurityGroup;
        const ui = ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").filter((r) => r.inputs.cidrIpv4 !== undefined);
        expect(ui.map((r) => r.inputs.fromPort).sort()).toEqual([18480]);
        for (const r of ui) {
            expect(r.inputs).toMatchObject({ securityGroupId: masterSgId, cidrIpv4: "10.20.0.0/16" });
        }
    });

    test("master and core hosts may reach the brokers on the client port", async () => {
        await build();
        const ec2 = cluster().inputs.ec2Attributes;
        const kafka = ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").filter((r) => r.inputs.securityGroupId === "sg-kafka");
        expect(kafka.map((r) => r.inputs.referencedSecurityGroupId).sort()).toEqual([ec2.emrManagedSlaveSecurityGroup, ec2.emrManagedMasterSecurityGroup].sort());
        expect(kafka.every((r) => r.inputs.fromPort === 9098 && r.inputs.toPort === 9098)).toBe(true);
    });

    test("egress is least: HTTPS anywhere, Kafka's client port, the cluster's own groups and service access; no protocol -1 to a CIDR", async () => {
        await build();
        const ec2 = cluster().inputs.ec2Attributes;
        const [master, core, service] = [ec2.emrManagedMasterSecurityGroup, ec2.emrManagedSlaveSecurityGroup, ec2.serviceAccessSecurityGroup];
        const egress = ofType("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule").map((r) => [
            r.inputs.securityGroupId, r.inputs.ipProtocol, r.inputs.fromPort ?? null, r.inputs.toPort ?? null, r.inputs.cidrIpv4 ?? r.inputs.referencedSecurityGroupId,
        ]);
        expect(egress.sort()).toEqual(
            [
                [master, "tcp", 443, 443, "0.0.0.0/0"],
                [core, "tcp", 443, 443, "0.0.0.0/0"],
                [master, "tcp", 9098, 9098, "sg-kafka"],
                [core, "tcp", 9098, 9098, "sg-kafka"],
                [master, "-1", null, null, master],
                [master, "-1", null, null, core],
                [core, "-1", null, null, master],
                [core, "-1", null, null, core],
                [master, "tcp", 9443, 9443, service],
                [service, "tcp", 8443, 8443, master],
                [service, "tcp", 8443, 8443, core],
            ].sort(),
        );
    });

    test("logs go to s3://<bucket>/logs/emr/, encrypted with the platform key", () => {
        expect(cluster().inputs.logUri).toBe(`s3://${BUCKET}/logs/emr/`);
        expect(cluster().inputs.logEncryptionKmsKeyId).toBe(KEY_ARN);
    });

    test("step concurrency is above 1 and the cluster stays up between steps", () => {
        expect(cluster().inputs.stepConcurrencyLevel).toBe(platform().emr.stepConcurrency);
        expect(cluster().inputs.stepConcurrencyLevel).toBeGreaterThan(1);
        expect(cluster().inputs.keepJobFlowAliveWhenNoSteps).toBe(true);
        expect(cluster().inputs.steps).toBeUndefined();
    });

    test("managed scaling owns the core count: Pulumi does not revert it", () => {
        expect(cluster().ignoreChanges).toContain("coreInstanceGroup.instanceCount");
    });

    test("termination protection is on where the data lake is protected (prod) and off for a disposable one", async () => {
        await build();
        expect(cluster().inputs.terminationProtection).toBe(true);
        await build({ raw: { dataLake: { forceDestroy: true } } });
        expect(cluster().inputs.terminationProtection).toBe(false);
    });

    test("managed scaling keeps the cluster between emr.minCapacity and emr.maxCapacity instances", async () => {
        await build({ raw: { emr: { minCapacity: 2, maxCapacity: 9 } } });
        const policy = one("aws:emr/managedScalingPolicy:ManagedScalingPolicy").inputs;
        expect(policy.computeLimits).toEqual([{ unitType: "Instances", minimumCapacityUnits: 2, maximumCapacityUnits: 9 }]);
        expect(ofType("aws:emr/instanceGroup:InstanceGroup")).toEqual([]);
    });

    test("a task group runs on spot at the configured bid, and growth beyond the core count goes to it", async () => {
        await build({ raw: { emr: { taskInstanceCount: 2, taskInstanceType: "m6i.xlarge", taskBidPrice: "0.25", maxCapacity: 8 } } });
        const task = one("aws:emr/instanceGroup:InstanceGroup");
        expect(task.inputs).toMatchObject({ instanceType: "m6i.xlarge", instanceCount: 2, bidPrice: "0.25", clusterId: await promiseOf(cluster().inputs.name) });
        expect(task.ignoreChanges).toContain("instanceCount");
        const limits = one("aws:emr/managedScalingPolicy:ManagedScalingPolicy").inputs.computeLimits[0];
        expect(limits).toMatchObject({ maximumCapacityUnits: 8, maximumCoreCapacityUnits: 2, maximumOndemandCapacityUnits: 2 });
    });
});

describe("EMR configurations and security configuration", () => {
    beforeAll(async () => {
        await build();
    });

    test("Spark event logs go to S3 and the history server reads them there", () => {
        const json = JSON.parse(cluster().inputs.configurationsJson);
        const defaults = json.find((c: any) => c.Classification === "spark-defaults").Properties;
        expect(defaults["spark.eventLog.enabled"]).toBe("true");
        expect(defaults["spark.eventLog.dir"]).toBe(`s3://${BUCKET}/logs/spark-events/`);
        expect(defaults["spark.history.fs.logDirectory"]).toBe(defaults["spark.eventLog.dir"]);
    });

    test("configurations JSON is canonical, so a preview with no change renders the same string", () => {
        const rendered = cluster().inputs.configurationsJson;
        expect(canonicalJson(JSON.parse(rendered))).toBe(rendered);
        expect(emrConfigurations(BUCKET)).toBe(rendered);
        expect(rendered).not.toMatch(/\s|"Configurations":\[\]/);
    });

    test("canonicalJson sorts keys at every level, whatever order the object was built in", () => {
        expect(canonicalJson({ b: 1, a: [{ d: 1, c: 2 }] })).toBe('{"a":[{"c":2,"d":1}],"b":1}');
    });

    test("at rest: S3 with SSE-KMS and local disks and EBS with the platform key; IMDSv2 required", () => {
        const conf = JSON.parse(one("aws:emr/securityConfiguration:SecurityConfiguration").inputs.configuration);
        const atRest = conf.EncryptionConfiguration.AtRestEncryptionConfiguration;
        expect(conf.EncryptionConfiguration.EnableAtRestEncryption).toBe(true);
        expect(atRest.S3EncryptionConfiguration).toEqual({ EncryptionMode: "SSE-KMS", AwsKmsKey: KEY_ARN });
        expect(atRest.LocalDiskEncryptionConfiguration).toEqual({ EncryptionKeyProviderType: "AwsKms", AwsKmsKey: KEY_ARN, EnableEbsEncryption: true });
        expect(conf.InstanceMetadataServiceConfiguration).toEqual({ MinimumInstanceMetadataServiceVersion: 2, HttpPutResponseHopLimit: 1 });
    });

    test("in transit: on, with the stack's PEM bundle from the bucket", () => {
        const conf = JSON.parse(one("aws:emr/securityConfiguration:SecurityConfiguration").inputs.configuration);
        expect(conf.EncryptionConfiguration.EnableInTransitEncryption).toBe(true);
        const bundle = one("aws:s3/bucketObjectv2:BucketObjectv2", "tls-bundle").inputs;
        expect(conf.EncryptionConfiguration.InTransitEncryptionConfiguration).toEqual({
            TLSCertificateConfiguration: { CertificateProviderType: "PEM", S3Object: `s3://${BUCKET}/${bundle.key}` },
        });
        expect(bundle.key).toMatch(/^artifacts\/emr-tls\/[0-9a-f]{16}\/certs\.zip$/);
    });

    test("the bundle's content is a Pulumi secret and the object is encrypted with the platform key", () => {
        const bundle = one("aws:s3/bucketObjectv2:BucketObjectv2", "tls-bundle").inputs;
        expect(bundle.contentBase64["4dabf18193072939515e22adb298388d"]).toBe("1b47061264138c4ac30d75fd1eb44270");
        expect(bundle).toMatchObject({ serverSideEncryption: "aws:kms", kmsKeyId: KEY_ARN });
        expect(bundle.source).toBeUndefined();
        // EMR's PEM provider reads exactly these three files.
        const files = unzipSync(Buffer.from(bundle.contentBase64.value, "base64"));
        expect(Object.keys(files).sort()).toEqual(["certificateChain.pem", "privateKey.pem", "trustedCertificates.pem"]);
        const text = (f: string) => new TextDecoder().decode(files[f]);
        expect(text("privateKey.pem")).toContain("MOCKPRIVATEKEY-emr-tls-key");
        expect(text("certificateChain.pem")).toMatch(/MOCKCERT-emr-tls-cert[\s\S]*MOCKCERT-emr-tls-ca/);
        expect(text("trustedCertificates.pem")).toContain("MOCKCERT-emr-tls-ca");
        // Nothing but the bundle holds the key: no other input carries it in the clear.
        const plain = JSON.stringify(ofType("aws:s3/bucketObjectv2:BucketObjectv2").map((o) => ({ ...o.inputs, contentBase64: undefined })));
        expect(plain).not.toContain("MOCKPRIVATEKEY");
    });

    test("the certificate covers the cluster's private host names, for its configured validity, rotated by config", () => {
        const request = one("tls:index/certRequest:CertRequest").inputs;
        expect(request.dnsNames).toEqual(["*.eu-west-1.compute.internal"]);
        expect(clusterHostNames("us-east-1")).toEqual(["*.ec2.internal"]);
        expect(one("tls:index/locallySignedCert:LocallySignedCert").inputs.validityPeriodHours).toBe(365 * 24);
        expect(one("tls:index/locallySignedCert:LocallySignedCert").inputs.earlyRenewalHours).toBeUndefined();
    });

    test("the bundle is the same bytes for the same PEMs, and a new certificate gets a new key (a new security configuration)", () => {
        const a = pemBundle("KEY", "CERT", "CA");
        expect(Buffer.from(pemBundle("KEY", "CERT", "CA")).equals(Buffer.from(a))).toBe(true);
        expect(bundleKey("CERT-1")).not.toBe(bundleKey("CERT-2"));
    });

    test("the cluster uses that security configuration", () => {
        const sec = one("aws:emr/securityConfiguration:SecurityConfiguration");
        expect(cluster().inputs.securityConfiguration).toBe(`${sec.name}-generated`);
    });
});

describe("EMR IAM is least privilege", () => {
    beforeAll(async () => {
        await build();
    });

    const attached = (): string[] => ofType("aws:iam/rolePolicyAttachment:RolePolicyAttachment").map((a) => a.inputs.policyArn);
    const policies = (): any[] => ofType("aws:iam/rolePolicy:RolePolicy").map((p) => JSON.parse(p.inputs.policy));

    test("no *FullAccess managed policy; the service role uses AmazonEMRServicePolicy_v2, the hosts SSM core", () => {
        expect(attached().filter((a) => /FullAccess/.test(a))).toEqual([]);
        expect(attached().sort()).toEqual([
            "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
            "arn:aws:iam::aws:policy/service-role/AmazonEMRServicePolicy_v2",
        ]);
    });

    test("no inline statement allows * actions or * resources", () => {
        for (const doc of policies()) {
            for (const s of doc.Statement) {
                expect([s.Action].flat()).not.toContainEqual(expect.stringMatching(/^\*$|:\*$/));
                expect([s.Resource].flat()).not.toContain("*");
            }
        }
    });

    test("the hosts write only the consumer's output, dead letters, checkpoint and logs, and read the artifacts", () => {
        const data = JSON.parse(one("aws:iam/rolePolicy:RolePolicy", "instance-data").inputs.policy);
        const write = data.Statement.find((s: any) => s.Sid === "WriteOwnPrefixes");
        expect(write.Resource.sort()).toEqual(
            [`${BUCKET_ARN}/data/events/*`, `${BUCKET_ARN}/dead-letter/events/*`, `${BUCKET_ARN}/checkpoints/events-consumer/*`, `${BUCKET_ARN}/logs/*`].sort(),
        );
        const read = data.Statement.find((s: any) => s.Sid === "ReadArtifacts");
        expect(read).toMatchObject({
            Action: ["s3:GetObject"],
            Resource: [`${BUCKET_ARN}/artifacts/streaming-consumer/*`, `${BUCKET_ARN}/artifacts/jars/*`, `${BUCKET_ARN}/artifacts/emr-tls/*`],
        });
        const kms = data.Statement.find((s: any) => s.Sid === "UsePlatformKey");
        expect(kms.Resource).toEqual([KEY_ARN]);
    });

    test("the kafka component's consumer policy is attached to the instance role when auth is IAM", () => {
        const kafka = one("aws:iam/rolePolicy:RolePolicy", "instance-kafka");
        expect(kafka.inputs.policy).toBe(KAFKA_POLICY);
        expect(kafka.inputs.role).toBe(one("aws:iam/rolePolicy:RolePolicy", "instance-data").inputs.role);
    });

    test("the service role may pass only the instance role, to EC2 only", () => {
        const svc = JSON.parse(one("aws:iam/rolePolicy:RolePolicy", "service-policy").inputs.policy);
        const pass = svc.Statement.find((s: any) => s.Sid === "PassInstanceRole");
        expect(pass.Resource).toEqual([one("aws:iam/role:Role", "instance-role").inputs.arn ?? expect.stringContaining("instance-role")]);
        expect(pass.Condition.StringLike["iam:PassedToService"]).toMatch(/^ec2\.amazonaws\.com/);
        const launch = svc.Statement.find((s: any) => s.Sid === "LaunchInClusterSubnet");
        // Named by region, account and id: no wildcard in the ARN.
        expect(launch.Resource).toEqual(["arn:aws:ec2:eu-west-1:123456789012:subnet/subnet-0priv1"]);
    });

    test("without IAM auth on Kafka there is no Kafka policy, and the job is told so", async () => {
        await build({ kafka: kafkaRefs("none") });
        expect(ofType("aws:iam/rolePolicy:RolePolicy").filter((p) => p.name.endsWith("instance-kafka"))).toEqual([]);
        expect(after(stepArgs(), "--kafka-auth")).toBe("none");
    });
});

describe("the consumer step", () => {
    let built: Built;
    beforeAll(async () => {
        built = await build();
    });

    test("runs the launcher from the artifacts with the consumer's name as its YARN application name", () => {
        const prefix = `artifacts/streaming-consumer/${artifactsHash(defaultDir)}/`;
        const args = stepArgs();
        expect(args.slice(0, 2)).toEqual(["bash", "-c"]);
        expect(args[2]).toMatch(/aws s3 cp .*"\$1" "\$f".*exec bash "\$f" "\$@"/);
        expect(args.slice(3, 6)).toEqual(["run-consumer", `s3://${BUCKET}/${prefix}run-consumer.sh`, "events-consumer"]);
        // The launcher sets --name itself, so the name it kills by is the name YARN shows.
        expect(submitArgs()).not.toContain("--name");
    });

    test("the launcher uploaded beside the job is this repository's run-consumer.sh, encrypted with the platform key", async () => {
        const launcher = ofType("aws:s3/bucketObjectv2:BucketObjectv2").find((o) => o.inputs.key.endsWith("/run-consumer.sh"))!;
        expect(launcher.inputs).toMatchObject({ bucket: BUCKET, serverSideEncryption: "aws:kms", kmsKeyId: KEY_ARN });
        expect(await launcher.inputs.source.path).toBe(LAUNCHER_SCRIPT);
    });

    test("submits in cluster mode on YARN with the driver's retry attempts and their validity window", () => {
        const args = submitArgs();
        const cfg = platform().emr;
        expect(args.slice(0, 4)).toEqual(["--deploy-mode", "cluster", "--master", "yarn"]);
        expect(confs(args)).toContain(`spark.yarn.maxAppAttempts=${cfg.driverMaxAttempts}`);
        expect(confs(args)).toContain(`spark.yarn.am.attemptFailuresValidityInterval=${cfg.driverAttemptsValidity}`);
    });

    test("carries the bootstrap brokers, topic, output, dead-letter and checkpoint locations (s3:// for EMRFS)", () => {
        const args = stepArgs();
        expect(after(args, "--bootstrap-servers")).toBe(BROKERS);
        expect(after(args, "--topic")).toBe("events");
        expect(after(args, "--output")).toBe(`s3://${BUCKET}/data/events/`);
        expect(after(args, "--dead-letter")).toBe(`s3://${BUCKET}/dead-letter/events/`);
        expect(after(args, "--checkpoint")).toBe(`s3://${BUCKET}/checkpoints/events-consumer/`);
    });

    test("passes the MSK IAM flag when Kafka auth is IAM", () => {
        expect(after(stepArgs(), "--kafka-auth")).toBe("iam");
    });

    test("hands the job the topics to create before its query starts", () => {
        expect(after(stepArgs(), "--ensure-topics")).toBe(TOPICS_JSON);
    });

    test("runs the job package and entry point uploaded under the content hash of the job and the launcher", () => {
        const hash = artifactsHash(defaultDir);
        const prefix = `artifacts/streaming-consumer/${hash}/`;
        const keys = ofType("aws:s3/bucketObjectv2:BucketObjectv2").map((o) => o.inputs.key).filter((k) => k.startsWith("artifacts/streaming-consumer/")).sort();
        expect(keys).toEqual([`${prefix}main.py`, `${prefix}run-consumer.sh`, `${prefix}streaming_consumer.zip`]);
        const args = stepArgs();
        expect(after(args, "--py-files")).toBe(`s3://${BUCKET}/${prefix}streaming_consumer.zip`);
        expect(args[args.indexOf("--py-files") + 2]).toBe(`s3://${BUCKET}/${prefix}main.py`);
        expect(built.outputs.artifactsUri).toBe(`s3://${BUCKET}/${prefix}`);
    });

    test("the package zip holds the streaming_consumer package and no bytecode", async () => {
        const zip = ofType("aws:s3/bucketObjectv2:BucketObjectv2").find((o) => o.inputs.key.endsWith("streaming_consumer.zip"))!;
        const assets = await (zip.inputs.source as pulumi.asset.AssetArchive).assets;
        expect(Object.keys(assets).sort()).toEqual(["streaming_consumer/__init__.py", "streaming_consumer/main.py"]);
    });

    test("--jars lists the locked jars, then the job's UDF jar, from the bucket, under their content hash; nothing is resolved from Maven at submit", () => {
        const jarUris = after(submitArgs(), "--jars").split(",");
        const locked = lockedJars(readJarLock(), "3.5.6");
        const udf = builtUdfJar(defaultDir);
        expect(jarUris).toEqual([...locked.map((j) => `s3://${BUCKET}/${jarKey(j)}`), `s3://${BUCKET}/${jarKey(udf)}`]);
        expect(jarUris[jarUris.length - 1]).toMatch(new RegExp(`^s3://${BUCKET}/artifacts/jars/[0-9a-f]{16}/streaming-consumer-udfs\\.jar$`));
        expect(jarUris.some((u) => /spark-sql-kafka-0-10_2\.12-3\.5\.\d+\.jar$/.test(u))).toBe(true);
        expect(jarUris.some((u) => /aws-msk-iam-auth-2\.3\.2\.jar$/.test(u))).toBe(true);
        expect(stepArgs()).not.toContain("--packages");
        expect(stepArgs()).not.toContain("--repositories");
        expect(confs(stepArgs())).not.toContainEqual(expect.stringMatching(/^spark\.jars\.(packages|repositories|ivy)/));
    });

    test("each locked jar and the UDF jar is uploaded from the verified local copy, encrypted with the platform key", async () => {
        const locked = lockedJars(readJarLock(), "3.5.6");
        const udf = builtUdfJar(defaultDir);
        const objects = ofType("aws:s3/bucketObjectv2:BucketObjectv2").filter((o) => o.inputs.key.startsWith("artifacts/jars/"));
        expect(objects.map((o) => o.inputs.key).sort()).toEqual([...locked.map(jarKey), jarKey(udf)].sort());
        for (const o of objects) {
            expect(o.inputs).toMatchObject({ serverSideEncryption: "aws:kms", kmsKeyId: KEY_ARN, bucket: BUCKET });
        }
        const udfObject = objects.find((o) => o.inputs.key === jarKey(udf))!;
        expect(await udfObject.inputs.source.path).toBe(path.join(EMR_JARS_DIR, UDF_JAR));
    });

    test("the fetched UDF jar was built from the job's sources: its stamp is build-udfs.sh's hash of jvm/src and the script", () => {
        expect(fetchedUdf().stamp).toBe(udfSourcesSha256(CONSUMER_CONTEXT));
        expect(udfSourcesSha256(defaultDir)).toBe(udfSourcesSha256(CONSUMER_CONTEXT));
        // Any byte of a source or of the script is another build.
        const dir = jobDir("udf-sources");
        const [source] = fs.readdirSync(path.join(dir, "jvm", "src", "streamingconsumer"));
        fs.appendFileSync(path.join(dir, "jvm", "src", "streamingconsumer", source), "// changed\n");
        expect(udfSourcesSha256(dir)).not.toBe(udfSourcesSha256(CONSUMER_CONTEXT));
        const script = jobDir("udf-script");
        fs.appendFileSync(path.join(script, "build-udfs.sh"), "# changed\n");
        expect(udfSourcesSha256(script)).not.toBe(udfSourcesSha256(CONSUMER_CONTEXT));
    });

    test("a missing UDF jar stops the program before anything is declared, naming the command that builds it", async () => {
        const dir = jarsDir();
        expect(() => builtUdfJar(defaultDir, dir)).toThrow(/streaming-consumer-udfs\.jar \(the job's JVM functions\) is missing from .*run `bash scripts\/fetch-emr-jars\.sh`/);
        await expect(build({ jars: dir })).rejects.toThrow(/streaming-consumer-udfs\.jar .* is missing .*bash scripts\/fetch-emr-jars\.sh/);
        await build();
    });

    test("a UDF jar built from other sources (or with no stamp) is stale: the program stops, naming the command", () => {
        const changed = jobDir("udf-stale");
        fs.appendFileSync(path.join(changed, "jvm", "src", "streamingconsumer", "IsoMicros.java"), "// changed\n");
        expect(() => builtUdfJar(changed)).toThrow(/streaming-consumer-udfs\.jar is stale: it was built from other sources.*run `bash scripts\/fetch-emr-jars\.sh`/);
        const unstamped = jarsDir(fetchedUdf());
        fs.rmSync(path.join(unstamped, UDF_JAR_STAMP));
        expect(() => builtUdfJar(defaultDir, unstamped)).toThrow(/is stale/);
        expect(builtUdfJar(defaultDir, jarsDir(fetchedUdf())).sha256).toBe(builtUdfJar(defaultDir).sha256);
    });

    test("an unchanged UDF jar keeps its key and its upload (no diff); other bytes get a new key", async () => {
        const udfObject = () => ofType("aws:s3/bucketObjectv2:BucketObjectv2").find((o) => o.inputs.key.endsWith(`/${UDF_JAR}`))!;
        await build({ jars: jarsDir(fetchedUdf()) });
        const first = { key: udfObject().inputs.key, name: udfObject().name, jars: after(submitArgs(), "--jars") };
        await build({ jars: jarsDir(fetchedUdf()) });
        expect({ key: udfObject().inputs.key, name: udfObject().name, jars: after(submitArgs(), "--jars") }).toEqual(first);
        // A rebuild that gave other bytes (e.g. another JDK's javac) is a new object, so hosts never mix two builds.
        const other = fetchedUdf();
        await build({ jars: jarsDir({ ...other, bytes: Buffer.concat([other.bytes, Buffer.from("x")]) }) });
        expect(udfObject().inputs.key).not.toBe(first.key);
        expect(udfObject().name).toBe(first.name);
        await build();
    });

    test("Spark artifacts follow the Spark of the cluster's release: its own locked version, or the nearest locked one below", async () => {
        const lock = readJarLock();
        const sparkOf = (uris: string): string[] => [...new Set(uris.split(",").flatMap((u) => /spark-sql-kafka-0-10_2\.12-(3\.5\.\d+)\.jar$/.exec(u)?.[1] ?? []))];
        expect(sparkOf(after(stepArgs(), "--jars"))).toEqual([lockedSparkVersion(lock, "3.5.6")]);
        await build({ raw: { emr: { releaseLabel: "emr-7.0.0" } } });
        expect(sparkOf(after(stepArgs(), "--jars"))).toEqual(["3.5.0"]);
        await build();
        const fake = { inputsSha256: "x", sparkVersions: { "3.5.0": [], "3.5.3": [], "3.5.7": [] } };
        expect(lockedSparkVersion(fake, "3.5.3")).toBe("3.5.3");
        expect(lockedSparkVersion(fake, "3.5.6")).toBe("3.5.3");
        expect(() => lockedSparkVersion({ ...fake, sparkVersions: { "3.5.7": [] } }, "3.5.6")).toThrow(/no jars are locked for Spark 3\.5\.6.*lock-emr-jars\.sh/);
    });

    test("the committed lock is current, lists the job's non-EMR-excluded dependencies, and the fetched jars match it", () => {
        const lock = readJarLock();
        expect(() => checkLockCurrent(lock)).not.toThrow();
        for (const [version, jars] of Object.entries(lock.sparkVersions)) {
            const coordinates = jars.map((j) => j.coordinate);
            expect(coordinates).toEqual(expect.arrayContaining([
                `org.apache.spark:spark-sql-kafka-0-10_2.12:${version}`,
                `org.apache.spark:spark-token-provider-kafka-0-10_2.12:${version}`,
                "org.apache.kafka:kafka-clients:3.4.1",
                "org.apache.commons:commons-pool2:2.11.1",
                "software.amazon.msk:aws-msk-iam-auth:2.3.2",
            ]));
            expect(coordinates.join(",")).not.toMatch(/hadoop-aws|aws-java-sdk-bundle|spark-hadoop-cloud/);
            for (const j of jars) {
                expect(j.sha256).toMatch(/^[0-9a-f]{64}$/);
            }
            expect(verifiedJarPaths(jars)).toHaveLength(jars.length);
        }
    });

    test("a missing or altered jar stops the program, naming the command that fetches them", () => {
        const [jar] = lockedJars(readJarLock(), "3.5.6");
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "emr-jars-"));
        tmpDirs.push(dir);
        expect(() => verifiedJarPaths([jar], dir)).toThrow(/is missing.*bash scripts\/fetch-emr-jars\.sh/);
        fs.copyFileSync(path.join(EMR_JARS_DIR, jar.file), path.join(dir, jar.file));
        expect(verifiedJarPaths([jar], dir)).toEqual([path.join(dir, jar.file)]);
        fs.appendFileSync(path.join(dir, jar.file), "tampered");
        expect(() => verifiedJarPaths([jar], dir)).toThrow(/does not match its sha256/);
        expect(() => checkLockCurrent({ ...readJarLock(), inputsSha256: "0".repeat(64) })).toThrow(/stale.*bash scripts\/lock-emr-jars\.sh/);
    });

    test("alignSparkVersion rewrites only org.apache.spark coordinates", () => {
        const deps = [
            { coordinate: "org.apache.spark:spark-sql-kafka-0-10_2.12:3.5.7", notOnEmr: false },
            { coordinate: "org.apache.sparkx:other:3.5.7", notOnEmr: false },
            { coordinate: "software.amazon.msk:aws-msk-iam-auth:2.3.2", notOnEmr: false },
        ];
        expect(alignSparkVersion(deps, "3.5.5").map((d) => d.coordinate)).toEqual([
            "org.apache.spark:spark-sql-kafka-0-10_2.12:3.5.5",
            "org.apache.sparkx:other:3.5.7",
            "software.amazon.msk:aws-msk-iam-auth:2.3.2",
        ]);
    });

    test("EMR releases map to the Spark they ship", () => {
        expect(emrSparkVersion("emr-7.0.0")).toBe("3.5.0");
        expect(emrSparkVersion("emr-7.8.0")).toBe("3.5.4");
        expect(emrSparkVersion("emr-7.9.0")).toBe("3.5.5");
        expect(emrSparkVersion("emr-7.10.0")).toBe("3.5.5");
        expect(emrSparkVersion("emr-7.11.0")).toBe("3.5.6");
        expect(emrSparkVersion("emr-7.13.0")).toBe("3.5.6");
    });

    test("the S3A stack stays off EMR, spark-hadoop-cloud included, and the job is not told to use its checkpoint manager", () => {
        const jarUris = after(stepArgs(), "--jars");
        expect(jarUris).toMatch(/spark-sql-kafka-0-10_2\.12-3\.5\.\d+\.jar/);
        expect(jarUris).not.toMatch(/spark-hadoop-cloud|hadoop-aws|aws-java-sdk-bundle/);
        // The job picks the abortable manager only for S3A checkpoints; EMR's s3:// is EMRFS, which cannot load it.
        const jobMain = fs.readFileSync(path.join(CONSUMER_CONTEXT, "streaming_consumer", "main.py"), "utf8");
        expect(jobMain).toMatch(/def uses_s3a\(/);
        expect(confs(stepArgs())).not.toContainEqual(expect.stringMatching(/^spark\.sql\.streaming\.checkpointFileManagerClass=/));
        expect(confs(stepArgs())).not.toContainEqual(expect.stringMatching(/^spark\.hadoop\.fs\.s3\.impl=/));
    });

    test("the step runs on the cluster via command-runner with ActionOnFailure CONTINUE, old step gone before a new cluster's", () => {
        expect(step().inputs).toMatchObject({ clusterId: built.outputs.clusterId, actionOnFailure: "CONTINUE", region: "eu-west-1" });
        expect(step().inputs.endpoint).toBeUndefined();
        expect(step().deleteBeforeReplace).toBe(true);
        expect(built.outputs.stepId).toBe("s-MOCKSTEP");
    });
});

describe("the step provider as Pulumi stores it", () => {
    beforeAll(async () => {
        await build();
    });

    test("is serialized self-contained: the SDK required inside, no program or component modules captured", () => {
        const text: string = step().inputs.__provider;
        expect(text).toContain("@aws-sdk/client-emr");
        expect(text).not.toMatch(/@pulumi\/aws|buildContext|consumerArgs/);
        expect(text.length).toBeLessThan(100_000);
    });
});

describe("EMR outputs", () => {
    let built: Built;
    beforeAll(async () => {
        built = await build();
    });

    test("uiUrls name the YARN ResourceManager, the Spark history server and the cluster's console page", () => {
        const dns = "ip-10-0-1-20.eu-west-1.compute.internal";
        expect(built.outputs.uiUrls).toEqual({
            yarn: `http://${dns}:8088`,
            sparkHistory: `https://${dns}:18480`,
            console: `https://eu-west-1.console.aws.amazon.com/emr/home?region=eu-west-1#/clusterDetails/${built.outputs.clusterId}`,
        });
    });

    test("uiTunnels forward each UI port of the master through SSM", () => {
        expect(built.outputs.uiTunnels.yarn).toBe(
            `aws ssm start-session --region eu-west-1 --target i-0123456789abcdef0 --document-name AWS-StartPortForwardingSession --parameters '{"portNumber":["8088"],"localPortNumber":["8088"]}'`,
        );
        expect(built.outputs.uiTunnels.sparkHistory).toContain(`"portNumber":["18480"]`);
    });
});

describe("a new consumer build does not replace the cluster", () => {
    /** Every resource's inputs by name, minus the artifacts and the step, which a new build must change. */
    const snapshot = (): Record<string, any> =>
        Object.fromEntries(
            registered()
                .filter((r) => r.custom && r.type !== STEP_TYPE && r.type !== "aws:s3/bucketObjectv2:BucketObjectv2")
                .map((r) => [`${r.type}::${r.name}`, r.inputs]),
        );
    const registered = (): Registered[] => require("./support/mocks").registered;

    test("changing only the job changes the artifacts and the step, never the cluster or its dependencies", async () => {
        const dirA = jobDir("a");
        const dirB = jobDir("b");
        expect(contextHash(dirA)).not.toBe(contextHash(dirB));

        await build({ dir: dirA });
        const before = snapshot();
        const argsBefore = stepArgs();
        const clusterBefore = cluster().inputs;

        await build({ dir: dirB });
        expect(stepArgs()).not.toEqual(argsBefore);
        expect(cluster().inputs).toEqual(clusterBefore);
        expect(snapshot()).toEqual(before);
        expect(Object.keys(before)).toContain("aws:emr/cluster:Cluster::emr-cluster");
    });
});

describe("EMR validation", () => {
    test("a task group without a spot bid is refused", () => {
        expect(() => validateEmrConfig(platform({ emr: { taskInstanceCount: 1 } }).emr)).toThrow(/emr\.taskBidPrice is required when emr\.taskInstanceCount is 1/);
    });

    test("initial core + task instances above maxCapacity are refused", () => {
        expect(() => validateEmrConfig(platform({ emr: { coreInstanceCount: 5, maxCapacity: 4, minCapacity: 2 } }).emr)).toThrow(
            /emr\.coreInstanceCount \+ emr\.taskInstanceCount \(5\) must not exceed emr\.maxCapacity \(4\)/,
        );
    });

    test("the real job has its spark-submit entry point and a package to zip", () => {
        const { entryPoint, packageFiles } = jobFiles(CONSUMER_CONTEXT);
        expect(entryPoint).toBe(path.join(CONSUMER_CONTEXT, "main.py"));
        expect(packageFiles).toContain("streaming_consumer/main.py");
        expect(packageFiles.filter((f) => !f.startsWith("streaming_consumer/") || f.endsWith(".pyc"))).toEqual([]);
    });

    test("an EMR release whose Spark version is unknown is refused, naming the known releases", () => {
        expect(() => validateEmrConfig(platform({ emr: { releaseLabel: "emr-7.2.0" } }).emr)).toThrow(
            /emr\.releaseLabel emr-7\.2\.0 has no known Spark version.*use one of emr-7\.0\.x, .*emr-7\.12\.x, emr-7\.13\.x/,
        );
    });

    test("a change to the launcher alone gives new artifact keys (and so restarts the step); the same content does not", () => {
        const dir = jobDir("launcher");
        // Outside the job's context, which the hash also covers.
        const scripts = fs.mkdtempSync(path.join(os.tmpdir(), "emr-launcher-copy-"));
        tmpDirs.push(scripts);
        let n = 0;
        const copy = (body: string): string => {
            const file = path.join(scripts, `run-consumer-${n++}.sh`);
            fs.writeFileSync(file, body);
            return file;
        };
        const original = fs.readFileSync(LAUNCHER_SCRIPT, "utf8");
        expect(artifactsHash(dir, copy(original))).toBe(artifactsHash(dir, LAUNCHER_SCRIPT));
        expect(artifactsHash(dir, copy(`${original}\n# changed\n`))).not.toBe(artifactsHash(dir, LAUNCHER_SCRIPT));
        expect(artifactsHash(dir)).toMatch(/^[0-9a-f]{16}$/);
    });

    test("a job without its spark-submit entry point main.py is refused before anything is declared", () => {
        const dir = jobDir("no-main");
        fs.rmSync(path.join(dir, "main.py"));
        expect(() => jobFiles(dir)).toThrow(/main\.py is missing: the EMR engine submits the job's top-level main\.py/);
    });
});

describe("stopping the consumer", () => {
    beforeAll(async () => {
        await build({ raw: { consumer: { stopGracePeriodSeconds: 900 } } });
    });

    test("a cancelled step gets at least the (non-default, 900 s) grace period from the launcher and the step provider", () => {
        expectEmrStopTimeouts(900, step().inputs);
    });

    test("the step provider's wait never drops below its default for a short grace period", () => {
        expect(step().inputs.timeoutMs).toBeGreaterThanOrEqual(DEFAULT_TIMEOUT_MS);
    });
});
