import { UNSCOPABLE_ACTIONS } from "../policy/iam";
import { isSecret } from "./support/mocks";
import type { ProgramResource } from "./support/policyRun";

// Issue 12's guarantees, asserted on the whole program under mocks for every shipped stack, with its own engine and
// with the other one: encrypted and authenticated in transit, audited, least egress, IMDS, IAM, secrets as secrets.

async function program(stack: string, engine: string): Promise<ProgramResource[]> {
    let resources: ProgramResource[] = [];
    await jest.isolateModulesAsync(async () => {
        const { registerProgram } = await import("./support/policyRun");
        resources = await registerProgram(stack, undefined, { "spark-streaming:engine": engine });
    });
    return resources.filter((r) => r.custom);
}

/** Every string in `value` that sits outside a secret, with its path. */
function plainStrings(value: unknown, path = ""): [string, string][] {
    if (isSecret(value)) {
        return [];
    }
    if (typeof value === "string") {
        return [[path, value]];
    }
    if (Array.isArray(value)) {
        return value.flatMap((v, i) => plainStrings(v, `${path}[${i}]`));
    }
    if (value !== null && typeof value === "object") {
        return Object.entries(value).flatMap(([k, v]) => plainStrings(v, `${path}.${k}`));
    }
    return [];
}

/** The IAM identity policy documents the program renders, with where they come from. */
function policyDocuments(resources: ProgramResource[]): { where: string; doc: any }[] {
    const docs: { where: string; doc: any }[] = [];
    for (const r of resources) {
        if (["aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy"].includes(r.type)) {
            docs.push({ where: r.name, doc: JSON.parse(r.inputs.policy) });
        }
        if (r.type === "aws:iam/role:Role") {
            for (const p of r.inputs.inlinePolicies ?? []) {
                docs.push({ where: `${r.name}/${p.name}`, doc: JSON.parse(p.policy) });
            }
        }
    }
    return docs;
}

const ALL_PROTOCOLS = ["-1", "all"];
const WORLD = ["0.0.0.0/0", "::/0"];

describe.each([
    ["dev", "ec2"],
    ["prod", "emr"],
    ["dev", "emr"],
    ["prod", "ec2"],
    ["dev", "kubernetes"],
    ["prod", "kubernetes"],
])("%s with engine %s", (stack, engine) => {
    let resources: ProgramResource[];
    const ofType = (type: string) => resources.filter((r) => r.type === type);
    const named = (type: string, name: string) => {
        const found = ofType(type).filter((r) => r.name === name);
        expect(found).toHaveLength(1);
        return found[0];
    };

    beforeAll(async () => {
        resources = await program(stack, engine);
    });

    test("no security group sends every protocol to the whole internet", () => {
        const open = resources.filter((r) => {
            switch (r.type) {
                case "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule":
                    return ALL_PROTOCOLS.includes(String(r.inputs.ipProtocol)) && WORLD.includes(r.inputs.cidrIpv4 ?? r.inputs.cidrIpv6);
                case "aws:ec2/securityGroup:SecurityGroup":
                    return (r.inputs.egress ?? []).some((e: any) => ALL_PROTOCOLS.includes(String(e.protocol)) && [...(e.cidrBlocks ?? []), ...(e.ipv6CidrBlocks ?? [])].some((c: string) => WORLD.includes(c)));
                case "aws:ec2/securityGroupRule:SecurityGroupRule":
                    return r.inputs.type === "egress" && ALL_PROTOCOLS.includes(String(r.inputs.protocol)) && [...(r.inputs.cidrBlocks ?? [])].some((c: string) => WORLD.includes(c));
                default:
                    return false;
            }
        });
        expect(open.map((r) => r.name)).toEqual([]);
        // The hosts still reach AWS APIs (443) and Kafka (9098), and nothing else goes to the world.
        const world = ofType("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule").filter((r) => WORLD.includes(r.inputs.cidrIpv4));
        expect([...new Set(world.map((r) => `${r.inputs.ipProtocol}/${r.inputs.fromPort}`))]).toEqual(["tcp/443"]);
    });

    test("the VPC's flow logs record ALL traffic into a KMS-encrypted log group with a retention", () => {
        const vpc = named("aws:ec2/vpc:Vpc", "network-vpc");
        const flowLog = named("aws:ec2/flowLog:FlowLog", "network-flow-logs-flow-log");
        expect(flowLog.propertyDependencies.vpcId).toEqual([vpc.realUrn]);
        expect(flowLog.inputs).toMatchObject({ trafficType: "ALL", logDestinationType: "cloud-watch-logs" });
        const group = named("aws:cloudwatch/logGroup:LogGroup", "network-flow-logs-group");
        expect(flowLog.propertyDependencies.logDestination).toEqual([group.realUrn]);
        expect(group.inputs.retentionInDays).toBe(stack === "prod" ? 365 : 14);
        expect(group.propertyDependencies.kmsKeyId).toEqual([named("aws:kms/key:Key", "network-flow-logs-key").realUrn]);
    });

    test("the data lake's access logs go to a separate, locked-down bucket that does not log itself", () => {
        const lake = named("aws:s3/bucket:Bucket", "data-lake-bucket");
        const logs = named("aws:s3/bucket:Bucket", "data-lake-access-logs-bucket");
        const logging = ofType("aws:s3/bucketLogging:BucketLogging");
        expect(logging).toHaveLength(1);
        expect(logging[0].propertyDependencies.bucket).toEqual([lake.realUrn]);
        expect(logging[0].propertyDependencies.targetBucket).toEqual([logs.realUrn]);
        const policy = JSON.parse(named("aws:s3/bucketPolicy:BucketPolicy", "data-lake-access-logs-policy").inputs.policy);
        expect(policy.Statement.filter((s: any) => s.Effect === "Allow").map((s: any) => s.Principal)).toEqual([{ Service: "logging.s3.amazonaws.com" }]);
        // Destroy behaviour follows the data lake's.
        expect({ protect: logs.protect, forceDestroy: logs.inputs.forceDestroy }).toEqual({ protect: lake.protect, forceDestroy: lake.inputs.forceDestroy });
    });

    test("every instance and launch template requires IMDSv2 with hop limit 1", () => {
        const hosts = [...ofType("aws:ec2/instance:Instance"), ...ofType("aws:ec2/launchTemplate:LaunchTemplate")];
        // ec2: the master and the workers' template; kubernetes: the EKS nodes' template; EMR sets IMDS in its security configuration.
        expect(hosts.length).toBe({ ec2: 2, emr: 0, kubernetes: 1 }[engine]);
        for (const h of hosts) {
            expect({ name: h.name, ...h.inputs.metadataOptions }).toMatchObject({ name: h.name, httpTokens: "required", httpPutResponseHopLimit: 1 });
        }
    });

    test("every IAM statement has a purpose (Sid) and names its resources unless AWS allows only *", () => {
        const docs = policyDocuments(resources);
        expect(docs.length).toBeGreaterThanOrEqual(3);
        for (const { where, doc } of docs) {
            for (const s of [doc.Statement].flat()) {
                expect({ where, sid: typeof s.Sid }).toEqual({ where, sid: "string" });
                if ([s.Resource].flat().includes("*")) {
                    expect({ where, sid: s.Sid, actions: [s.Action].flat().filter((a: string) => !UNSCOPABLE_ACTIONS.includes(a)) }).toEqual({ where, sid: s.Sid, actions: [] });
                }
                for (const r of [s.Resource].flat()) {
                    expect(r).not.toMatch(/^arn:aws:[a-z0-9-]+:\*:\*:/);
                }
            }
        }
    });

    test("generated secrets and private keys appear only as Pulumi secrets, in no plain input of any resource", () => {
        const leaks = resources.flatMap((r) => plainStrings(r.inputs).filter(([, v]) => /MOCKSECRET|MOCKPRIVATEKEY/.test(v)).map(([p]) => `${r.type} ${r.name}${p}`));
        expect(leaks).toEqual([]);
        // ... and they are really there, as secrets (the scan above would pass on a program that generates none).
        const secretValues = resources.flatMap((r) => Object.values(r.inputs).filter(isSecret).map((s) => (typeof s.value === "string" ? s.value : JSON.stringify(s.value))));
        const marker = engine === "emr" ? /MOCKPRIVATEKEY/ : /MOCKSECRET/;
        // The EMR bundle is a zip (base64): look inside it.
        const readable = secretValues.map((v) => (v.startsWith("UEsDB") ? require("fflate").strFromU8(Object.values<Uint8Array>(require("fflate").unzipSync(Buffer.from(v, "base64"))).reduce((a, b) => Buffer.concat([a, b]), Buffer.alloc(0))) : v));
        expect(readable.some((v) => marker.test(v))).toBe(true);
    });

    if (engine === "emr") {
        test("EMR: in-transit encryption on with the stack's PEM bundle; the bundle's content is a secret, KMS-encrypted", () => {
            const conf = JSON.parse(ofType("aws:emr/securityConfiguration:SecurityConfiguration")[0].inputs.configuration);
            expect(conf.EncryptionConfiguration).toMatchObject({ EnableInTransitEncryption: true, EnableAtRestEncryption: true });
            const bundle = named("aws:s3/bucketObjectv2:BucketObjectv2", "emr-tls-bundle");
            expect(conf.EncryptionConfiguration.InTransitEncryptionConfiguration.TLSCertificateConfiguration.S3Object).toMatch(new RegExp(`/${bundle.inputs.key}$`));
            expect(isSecret(bundle.inputs.contentBase64)).toBe(true);
            expect(bundle.inputs.serverSideEncryption).toBe("aws:kms");
            expect(conf.InstanceMetadataServiceConfiguration.MinimumInstanceMetadataServiceVersion).toBe(2);
        });

        test("EMR: the step ships the locked jars from the bucket; no Maven download at submit", () => {
            const args: string[] = ofType("pulumi-nodejs:dynamic/emr:EmrStep")[0].inputs.args;
            expect(args).not.toContain("--packages");
            const jars = args[args.indexOf("--jars") + 1].split(",");
            expect(jars.length).toBeGreaterThan(10);
            for (const j of jars) {
                expect(j).toMatch(/^s3:\/\/[a-z0-9.-]+\/artifacts\/jars\/[0-9a-f]{16}\/[^/]+\.jar$/);
            }
        });
    } else if (engine === "kubernetes") {
        test("Kubernetes: Spark's secret is a Kubernetes secret (a Pulumi secret in state), and the API server encrypts secrets with KMS", () => {
            const secret = named("kubernetes:core/v1:Secret", "kubernetes-spark-auth");
            expect(isSecret(secret.inputs.stringData)).toBe(true);
            const cluster = named("aws:eks/cluster:Cluster", "kubernetes-cluster");
            expect(cluster.inputs.encryptionConfig.resources).toEqual(["secrets"]);
            expect(cluster.propertyDependencies.encryptionConfig).toEqual([named("aws:kms/key:Key", "kubernetes-secrets-key").realUrn]);
            expect(isSecret(ofType("pulumi:providers:kubernetes")[0].inputs.kubeconfig)).toBe(true);
        });
    } else {
        test("EC2: Spark's secret and the UI TLS material are Secrets Manager secrets (KMS) that the hosts read at start", () => {
            const secrets = ofType("aws:secretsmanager/secret:Secret");
            expect(secrets.map((s) => s.name).sort()).toEqual(["spark-spark-auth", "spark-ui-tls"]);
            for (const s of secrets) {
                expect(s.propertyDependencies.kmsKeyId).toEqual([named("aws:kms/key:Key", "data-lake-key").realUrn]);
            }
            for (const v of ofType("aws:secretsmanager/secretVersion:SecretVersion")) {
                expect(isSecret(v.inputs.secretString)).toBe(true);
            }
            const userData: string = named("aws:ec2/instance:Instance", "spark-master").inputs.userData;
            expect(userData).toContain("spark.authenticate true");
            expect(userData).toContain("spark.network.crypto.enabled true");
            expect(userData).toContain("spark.io.encryption.enabled true");
            expect(userData).toContain("spark.ssl.enabled true");
            expect(userData).toContain("aws secretsmanager get-secret-value");
        });
    }
});
