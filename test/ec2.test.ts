import * as pulumi from "@pulumi/pulumi";
import { Ec2Config } from "../components/config";
import { checkWorkerBounds, Ec2Engine, Ec2EngineArgs, uiIngressCidrs } from "../components/ec2/engine";
import { hostPolicyDocument, listablePrefixes } from "../components/ec2/policies";
import { CONF_DIR } from "../components/ec2/userData";
import { expectEc2StopTimeouts } from "./support/stopTimeouts";
import { promiseOf, Registered, registered, settle, setupMocks } from "./support/mocks";

const IMAGE = `123456789012.dkr.ecr.eu-west-1.amazonaws.com/spark-streaming-consumer@sha256:${"ab".repeat(32)}`;
const NEW_IMAGE = `123456789012.dkr.ecr.eu-west-1.amazonaws.com/spark-streaming-consumer@sha256:${"cd".repeat(32)}`;
const REPO_ARN = "arn:aws:ecr:eu-west-1:123456789012:repository/spark-streaming-consumer";
const BUCKET = "lake-bucket";
const KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/k-1";
const KAFKA_POLICY = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ["kafka-cluster:Connect"], Resource: ["arn:kafka"] }] });
const TOPICS_JSON = '[{"name":"events","partitions":4,"replicationFactor":2,"retentionMs":259200000}]';

const ec2Config: Ec2Config = {
    masterInstanceType: "m6i.large",
    workerInstanceType: "m6i.xlarge",
    workerMin: 1,
    workerDesired: 2,
    workerMax: 5,
    cpuTargetPercent: 55,
    rootVolumeGb: 60,
    privateDomain: "spark.internal",
};

function args(overrides: Partial<Ec2EngineArgs> = {}, image = IMAGE): Ec2EngineArgs {
    return {
        config: ec2Config,
        consumer: { name: "events-consumer", topic: "events", triggerInterval: "30 seconds", maxOffsetsPerTrigger: 1000, startingOffsets: "earliest", stopGracePeriodSeconds: 900, sparkConf: {} },
        access: { allowedCidrs: [] },
        network: { vpcId: pulumi.output("vpc-1"), vpcCidr: pulumi.output("10.20.0.0/16"), privateSubnetIds: pulumi.output(["subnet-a", "subnet-b"]), privateSubnetCount: 2 },
        dataLake: { bucketName: pulumi.output(BUCKET), bucketArn: pulumi.output(`arn:aws:s3:::${BUCKET}`), kmsKeyArn: pulumi.output(KEY_ARN) },
        kafka: {
            bootstrapBrokers: pulumi.output("b-1.msk:9098,b-2.msk:9098"),
            authMode: "iam",
            clientPort: 9098,
            securityGroupId: pulumi.output("sg-kafka"),
            consumerPolicyJson: pulumi.output(KAFKA_POLICY),
        },
        kafkaTopicsJson: TOPICS_JSON,
        image: { imageUri: pulumi.output(image), repositoryArn: pulumi.output(REPO_ARN), repositoryUrl: pulumi.output(IMAGE.split("@")[0]) },
        region: "eu-west-1",
        security: { certificateValidityDays: 365, certificateRotation: 0, sparkSecretRotation: 0 },
        ...overrides,
    };
}

const engines: Record<string, Ec2Engine> = {};

beforeAll(async () => {
    await setupMocks({
        hook: (a) => {
            switch (a.type) {
                case "aws:ssm/document:Document":
                    return { name: `${a.name}-doc`, latestVersion: "1" };
                case "aws:ec2/launchTemplate:LaunchTemplate":
                    return { latestVersion: 3 };
                case "aws:autoscaling/group:Group":
                    return { name: `${a.name}-asg` };
                case "aws:route53/zone:Zone":
                    return { zoneId: `${a.name}-zone-id` };
                case "aws:iam/instanceProfile:InstanceProfile":
                    return { name: `${a.name}-profile` };
                default:
                    return undefined;
            }
        },
    });
    engines.dev = new Ec2Engine("dev", args());
    engines.newImage = new Ec2Engine("newimage", args({}, NEW_IMAGE));
    engines.open = new Ec2Engine("open", args({ access: { allowedCidrs: ["192.168.10.0/24", "10.8.0.0/16"] } }));
    engines.external = new Ec2Engine(
        "external",
        args({ kafka: { bootstrapBrokers: pulumi.output("kafka.example.com:9092"), authMode: "none", clientPort: 9092, securityGroupId: undefined, consumerPolicyJson: undefined } }),
    );
    await settle();
});

function childrenOf(name: string): Registered[] {
    return registered.filter((r) => r.name.startsWith(`${name}-`) && r.custom && !r.type.startsWith("tls:"));
}
function inEngine(name: string, type: string, suffix?: string): Registered[] {
    return childrenOf(name).filter((r) => r.type === type && (suffix === undefined || r.name === `${name}-${suffix}`));
}
function oneIn(name: string, type: string, suffix: string): Registered {
    const found = inEngine(name, type, suffix);
    if (found.length !== 1) {
        throw new Error(`expected one ${type} ${name}-${suffix}, found ${found.length}`);
    }
    return found[0];
}
const decode = (b64: string) => Buffer.from(b64, "base64").toString("utf8");

describe("master host", () => {
    test("requires IMDSv2 with hop limit 1 (containers use the host network, so a bridged one gets no credentials)", () => {
        const master = oneIn("dev", "aws:ec2/instance:Instance", "master");
        expect(master.inputs.metadataOptions).toMatchObject({ httpTokens: "required", httpPutResponseHopLimit: 1, httpEndpoint: "enabled" });
    });

    test("has an encrypted gp3 root volume, no SSH key and no public address", () => {
        const master = oneIn("dev", "aws:ec2/instance:Instance", "master");
        expect(master.inputs.rootBlockDevice).toMatchObject({ encrypted: true, volumeType: "gp3", volumeSize: 60 });
        expect(master.inputs.keyName).toBeUndefined();
        expect(master.inputs.associatePublicIpAddress).toBe(false);
        expect(master.inputs.subnetId).toBe("subnet-a");
        expect(master.inputs.instanceType).toBe("m6i.large");
    });

    test("runs the looked-up Amazon Linux AMI, and a newer AMI does not replace it", () => {
        const master = oneIn("dev", "aws:ec2/instance:Instance", "master");
        expect(master.inputs.ami).toBe("ami-0123456789abcdef0");
        expect(master.ignoreChanges).toContain("ami");
    });

    test("is deleted before its replacement exists, so two drivers never share the checkpoint", () => {
        const master = oneIn("dev", "aws:ec2/instance:Instance", "master");
        expect(master.deleteBeforeReplace).toBe(true);
        expect(master.inputs.userDataReplaceOnChange).toBe(true);
    });

    test("a new image changes the consumer's association but not the master's user data", () => {
        const devMaster = oneIn("dev", "aws:ec2/instance:Instance", "master");
        const newMaster = oneIn("newimage", "aws:ec2/instance:Instance", "master");
        // Only the engine's own name (in its secrets' ARNs) differs between the two engines.
        expect(newMaster.inputs.userData.replace(/newimage-/g, "dev-")).toBe(devMaster.inputs.userData);
        expect(devMaster.inputs.userData).not.toContain(IMAGE);
        const devAssoc = oneIn("dev", "aws:ssm/association:Association", "consumer");
        const newAssoc = oneIn("newimage", "aws:ssm/association:Association", "consumer");
        expect(devAssoc.inputs.parameters.imageUri).toBe(IMAGE);
        expect(newAssoc.inputs.parameters.imageUri).toBe(NEW_IMAGE);
        expect(newAssoc.inputs.parameters.consumerArgs).toBe(devAssoc.inputs.parameters.consumerArgs);
    });

    test("has a stable name in a private hosted zone of the VPC", () => {
        const zone = oneIn("dev", "aws:route53/zone:Zone", "zone");
        expect(zone.inputs.name).toBe("spark.internal");
        expect(zone.inputs.vpcs).toEqual([{ vpcId: "vpc-1" }]);
        const record = oneIn("dev", "aws:route53/record:Record", "master-dns");
        expect(record.inputs).toMatchObject({ zoneId: "dev-zone-zone-id", name: "spark-master.spark.internal", type: "A", records: ["10.0.1.10"] });
    });
});

describe("consumer deployment through SSM", () => {
    test("the association targets the master and runs the current version of the deploy document", () => {
        const assoc = oneIn("dev", "aws:ssm/association:Association", "consumer");
        expect(assoc.inputs.targets).toEqual([{ key: "InstanceIds", values: ["dev-master-id"] }]);
        expect(assoc.inputs.name).toBe("dev-deploy-consumer-doc");
        expect(assoc.inputs.documentVersion).toBe("1");
        expect(assoc.inputs.scheduleExpression).toBeUndefined();
        const doc = oneIn("dev", "aws:ssm/document:Document", "deploy-consumer");
        expect(doc.inputs.documentType).toBe("Command");
        expect(JSON.parse(doc.inputs.content).mainSteps[0].inputs.runCommand.join("\n")).toContain("systemctl stop spark-consumer.service");
    });

    test("the consumer is wired with the brokers, the topic and the S3 locations (through S3A)", () => {
        const assoc = oneIn("dev", "aws:ssm/association:Association", "consumer");
        const flags = decode(assoc.inputs.parameters.consumerArgs).split("\n");
        const flag = (f: string) => flags[flags.indexOf(f) + 1];
        expect(flag("--bootstrap-servers")).toBe("b-1.msk:9098,b-2.msk:9098");
        expect(flag("--topic")).toBe("events");
        // s3a://, not s3:// mapped to S3A: the checkpoint manager's FileContext serves S3A only by its own scheme.
        expect(flag("--output")).toBe(`s3a://${BUCKET}/data/events/`);
        expect(flag("--dead-letter")).toBe(`s3a://${BUCKET}/dead-letter/events/`);
        expect(flag("--checkpoint")).toBe(`s3a://${BUCKET}/checkpoints/events-consumer/`);
        expect(flag("--kafka-auth")).toBe("iam");
        expect(flag("--trigger-interval")).toBe("30 seconds");
        expect(flags).not.toContainEqual(expect.stringMatching(/^spark\.hadoop\.fs\.s3\.impl=/));
        expect(flags).toContain(
            "spark.sql.streaming.checkpointFileManagerClass=org.apache.spark.internal.io.cloud.AbortableStreamBasedCheckpointFileManager",
        );
    });

    test("a stopping consumer gets at least its (non-default, 900 s) grace period from docker, systemd, SSM and up", () => {
        const assoc = oneIn("dev", "aws:ssm/association:Association", "consumer");
        const doc = oneIn("dev", "aws:ssm/document:Document", "deploy-consumer");
        expectEc2StopTimeouts(900, assoc.inputs, doc.inputs.content);
    });

    test("the consumer's env carries its topics and the event log folder", () => {
        const assoc = oneIn("dev", "aws:ssm/association:Association", "consumer");
        expect(decode(assoc.inputs.parameters.consumerEnv)).toBe(`KAFKA_TOPICS=${TOPICS_JSON}\nSPARK_EVENT_LOG_DIR=s3a://${BUCKET}/logs/spark-events/\n`);
    });

    test("the master's history server reads the event logs the driver writes", () => {
        const userData: string = oneIn("dev", "aws:ec2/instance:Instance", "master").inputs.userData;
        expect(userData).toContain(`SPARK_HISTORY_LOG_DIR=s3a://${BUCKET}/logs/spark-events/\n`);
        expect(userData).toContain(`cat > ${CONF_DIR}/host.env`);
    });
});

describe("worker group", () => {
    test("the launch template requires IMDSv2, encrypts the root volume, has no SSH key and resolves the current AMI", () => {
        const lt = oneIn("dev", "aws:ec2/launchTemplate:LaunchTemplate", "worker");
        expect(lt.inputs.metadataOptions).toMatchObject({ httpTokens: "required", httpPutResponseHopLimit: 1 });
        expect(lt.inputs.blockDeviceMappings).toEqual([
            { deviceName: "/dev/xvda", ebs: { volumeType: "gp3", volumeSize: 60, encrypted: "true", deleteOnTermination: "true" } },
        ]);
        expect(lt.inputs.keyName).toBeUndefined();
        expect(lt.inputs.imageId).toBe("resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64");
        expect(lt.inputs.vpcSecurityGroupIds).toEqual(["dev-worker-id"]);
        expect(lt.inputs.instanceType).toBe("m6i.xlarge");
    });

    test("instances and volumes the group launches carry the provider's default tags, which stop at the template", () => {
        const lt = oneIn("dev", "aws:ec2/launchTemplate:LaunchTemplate", "worker");
        expect(lt.inputs.tagSpecifications.map((t: any) => t.resourceType)).toEqual(["instance", "volume"]);
        for (const spec of lt.inputs.tagSpecifications) {
            expect(spec.tags).toMatchObject({ project: "spark-streaming", stack: "test", component: "mock", Name: expect.stringMatching(/-worker$/) });
        }
    });

    test("workers run the image by digest and find the master by its DNS name", () => {
        const userData = decode(oneIn("dev", "aws:ec2/launchTemplate:LaunchTemplate", "worker").inputs.userData);
        expect(userData).toContain(`${IMAGE}\n`);
        expect(userData).toContain("SPARK_MASTER_URL=spark://spark-master.spark.internal:7077\n");
        const newUserData = decode(oneIn("newimage", "aws:ec2/launchTemplate:LaunchTemplate", "worker").inputs.userData);
        expect(newUserData).toContain(`${NEW_IMAGE}\n`);
    });

    test("spans the private subnets with the configured bounds, and scaling is not undone by the next up", () => {
        const group = oneIn("dev", "aws:autoscaling/group:Group", "workers");
        expect(group.inputs).toMatchObject({ vpcZoneIdentifiers: ["subnet-a", "subnet-b"], minSize: 1, desiredCapacity: 2, maxSize: 5 });
        expect(group.ignoreChanges).toContain("desiredCapacity");
    });

    test("a new launch template version rolls the workers, new ones first", () => {
        const group = oneIn("dev", "aws:autoscaling/group:Group", "workers");
        expect(group.inputs.launchTemplate).toEqual({ id: "dev-worker-id", version: "3" });
        expect(group.inputs.instanceRefresh).toMatchObject({ strategy: "Rolling", preferences: { minHealthyPercentage: 100, maxHealthyPercentage: 200 } });
    });

    test("scales out and in on average CPU", () => {
        const policy = oneIn("dev", "aws:autoscaling/policy:Policy", "workers-cpu");
        expect(policy.inputs).toMatchObject({
            autoscalingGroupName: "dev-workers-asg",
            policyType: "TargetTrackingScaling",
            targetTrackingConfiguration: { predefinedMetricSpecification: { predefinedMetricType: "ASGAverageCPUUtilization" }, targetValue: 55 },
        });
        expect(policy.inputs.targetTrackingConfiguration.disableScaleIn).not.toBe(true);
    });
});

describe("security groups", () => {
    const ingress = (name: string) => inEngine(name, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule");

    test("no ingress rule anywhere is open to the internet", () => {
        for (const name of ["dev", "newimage", "open", "external"]) {
            for (const rule of ingress(name)) {
                expect(rule.inputs.cidrIpv4).not.toBe("0.0.0.0/0");
                expect(rule.inputs.cidrIpv6).toBeUndefined();
            }
        }
        expect(ingress("open").length).toBeGreaterThan(0);
    });

    test("master and workers reach each other on every TCP port, and workers reach each other", () => {
        const peers = ingress("dev")
            .filter((r) => r.inputs.referencedSecurityGroupId !== undefined && r.inputs.securityGroupId !== "sg-kafka")
            .map((r) => [r.inputs.securityGroupId, r.inputs.referencedSecurityGroupId, r.inputs.ipProtocol, r.inputs.fromPort, r.inputs.toPort]);
        expect(peers.sort()).toEqual(
            [
                ["dev-master-id", "dev-worker-id", "tcp", 0, 65535],
                ["dev-worker-id", "dev-master-id", "tcp", 0, 65535],
                ["dev-worker-id", "dev-worker-id", "tcp", 0, 65535],
            ].sort(),
        );
    });

    test("with no allowed CIDRs, no UI port admits any address range", () => {
        expect(ingress("dev").filter((r) => r.inputs.cidrIpv4 !== undefined)).toEqual([]);
    });

    test("allowed CIDRs reach exactly the UIs' HTTPS ports", () => {
        const rules = ingress("open")
            .filter((r) => r.inputs.cidrIpv4 !== undefined)
            .map((r) => `${r.inputs.securityGroupId}:${r.inputs.fromPort}-${r.inputs.toPort}:${r.inputs.cidrIpv4}`);
        // Only the HTTPS ports: the HTTP ports (8080, 4040, 18080, 8081) only redirect, and admit nobody.
        const expected = ["10.8.0.0/16", "192.168.10.0/24"].flatMap((c) => [
            `open-master-id:8480-8480:${c}`,
            `open-master-id:4440-4440:${c}`,
            `open-master-id:18480-18480:${c}`,
            `open-worker-id:8481-8481:${c}`,
        ]);
        expect(rules.sort()).toEqual(expected.sort());
    });

    test("the brokers admit the master and the workers on the Kafka client port", () => {
        const kafka = ingress("dev").filter((r) => r.inputs.securityGroupId === "sg-kafka");
        expect(kafka.map((r) => [r.inputs.referencedSecurityGroupId, r.inputs.fromPort, r.inputs.toPort]).sort()).toEqual(
            [
                ["dev-master-id", 9098, 9098],
                ["dev-worker-id", 9098, 9098],
            ].sort(),
        );
    });

    const egress = (name: string) => inEngine(name, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule");

    test("egress is least: HTTPS anywhere, Kafka's client port to the brokers' group, Spark peers by group, nothing else", () => {
        const rules = egress("dev").map((r) => [r.inputs.securityGroupId, r.inputs.ipProtocol, r.inputs.fromPort, r.inputs.toPort, r.inputs.cidrIpv4 ?? r.inputs.referencedSecurityGroupId]);
        expect(rules.sort()).toEqual(
            [
                ["dev-master-id", "tcp", 443, 443, "0.0.0.0/0"],
                ["dev-worker-id", "tcp", 443, 443, "0.0.0.0/0"],
                ["dev-master-id", "tcp", 9098, 9098, "sg-kafka"],
                ["dev-worker-id", "tcp", 9098, 9098, "sg-kafka"],
                ["dev-master-id", "tcp", 0, 65535, "dev-worker-id"],
                ["dev-worker-id", "tcp", 0, 65535, "dev-master-id"],
                ["dev-worker-id", "tcp", 0, 65535, "dev-worker-id"],
            ].sort(),
        );
    });

    test("external Kafka (brokers anywhere) is reached on its client port only, never with every protocol", () => {
        const kafka = egress("external").filter((r) => r.inputs.fromPort === 9092);
        expect(kafka.map((r) => [r.inputs.ipProtocol, r.inputs.toPort, r.inputs.cidrIpv4])).toEqual([
            ["tcp", 9092, "0.0.0.0/0"],
            ["tcp", 9092, "0.0.0.0/0"],
        ]);
        for (const name of ["dev", "open", "external"]) {
            expect(egress(name).filter((r) => r.inputs.ipProtocol === "-1")).toEqual([]);
        }
    });

    test("external Kafka gets no broker rule and no Kafka policy", () => {
        expect(ingress("external").filter((r) => r.inputs.securityGroupId === "sg-kafka")).toEqual([]);
        expect(inEngine("external", "aws:iam/rolePolicy:RolePolicy").map((r) => r.name).sort()).toEqual(["external-master-access", "external-worker-access"]);
    });
});

describe("instance roles", () => {
    const policy = (name: string, suffix: string) => JSON.parse(oneIn(name, "aws:iam/rolePolicy:RolePolicy", suffix).inputs.policy);
    const objectResources = (doc: any) => doc.Statement.find((s: any) => s.Sid === "ReadWriteOwnPrefixes").Resource;

    test("the master reads and writes its topic's data, dead letters, its checkpoint and the event logs, and nothing else", () => {
        expect(objectResources(policy("dev", "master-access")).sort()).toEqual(
            [
                `arn:aws:s3:::${BUCKET}/checkpoints/events-consumer/*`,
                `arn:aws:s3:::${BUCKET}/data/events/*`,
                `arn:aws:s3:::${BUCKET}/dead-letter/events/*`,
                `arn:aws:s3:::${BUCKET}/logs/spark-events/*`,
            ].sort(),
        );
    });

    test("workers write the data, dead letters and state, but not the event logs", () => {
        expect(objectResources(policy("dev", "worker-access")).sort()).toEqual(
            [`arn:aws:s3:::${BUCKET}/checkpoints/events-consumer/*`, `arn:aws:s3:::${BUCKET}/data/events/*`, `arn:aws:s3:::${BUCKET}/dead-letter/events/*`].sort(),
        );
    });

    test("hosts read exactly the Spark secret and the UI certificate from Secrets Manager", () => {
        for (const suffix of ["master-access", "worker-access"]) {
            expect(policy("dev", suffix).Statement.find((s: any) => s.Sid === "ReadSparkSecrets")).toEqual({
                Sid: "ReadSparkSecrets",
                Effect: "Allow",
                Action: ["secretsmanager:GetSecretValue"],
                Resource: [`arn:aws:secretsmanager:eu-west-1:123456789012:secret:dev-spark-auth-AbCdEf`, `arn:aws:secretsmanager:eu-west-1:123456789012:secret:dev-ui-tls-AbCdEf`],
            });
        }
    });

    test("no statement grants a wildcard action, and only the ECR login has a wildcard resource", () => {
        for (const suffix of ["master-access", "worker-access"]) {
            for (const s of policy("dev", suffix).Statement) {
                expect(s.Action.some((a: string) => a.includes("*"))).toBe(false);
                if (s.Resource.includes("*")) {
                    expect(s.Action).toEqual(["ecr:GetAuthorizationToken"]);
                }
            }
        }
    });

    test("hosts use the data lake key and pull only the consumer repository", () => {
        const doc = policy("dev", "worker-access");
        expect(doc.Statement.find((s: any) => s.Sid === "DataLakeKey")).toMatchObject({ Action: ["kms:Decrypt", "kms:GenerateDataKey"], Resource: [KEY_ARN] });
        expect(doc.Statement.find((s: any) => s.Sid === "EcrPullConsumerImage").Resource).toEqual([REPO_ARN]);
    });

    test("both roles carry the Kafka consumer policy and SSM core, and no other managed policy", () => {
        for (const role of ["master", "worker"]) {
            expect(oneIn("dev", "aws:iam/rolePolicy:RolePolicy", `${role}-kafka`).inputs.policy).toBe(KAFKA_POLICY);
        }
        const attachments = inEngine("dev", "aws:iam/rolePolicyAttachment:RolePolicyAttachment").map((r) => r.inputs.policyArn);
        expect(attachments).toEqual(["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore", "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"]);
    });

    test("only EC2 may assume the host roles", () => {
        for (const role of inEngine("dev", "aws:iam/role:Role")) {
            expect(JSON.parse(role.inputs.assumeRolePolicy).Statement).toEqual([
                { Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" },
            ]);
        }
        expect(inEngine("dev", "aws:iam/role:Role")).toHaveLength(2);
    });

    test("S3A may list its own folders and their parents, not the whole bucket", () => {
        expect(listablePrefixes(["data/events/"])).toEqual(["data", "data/", "data/events", "data/events/", "data/events/*"]);
        const list = policy("dev", "worker-access").Statement.find((s: any) => s.Sid === "ListOwnPrefixes");
        expect(list.Condition.StringLike["s3:prefix"]).not.toContain("*");
        expect(list.Condition.StringLike["s3:prefix"]).not.toContain("");
    });
});

describe("Spark's secret and the UI certificate", () => {
    const isSecret = (v: unknown) => v !== null && typeof v === "object" && (v as any)["4dabf18193072939515e22adb298388d"] === "1b47061264138c4ac30d75fd1eb44270";

    test("are stored in Secrets Manager, encrypted with the platform key, as Pulumi secrets", () => {
        const secrets = inEngine("dev", "aws:secretsmanager/secret:Secret");
        expect(secrets.map((s) => s.name).sort()).toEqual(["dev-spark-auth", "dev-ui-tls"]);
        for (const s of secrets) {
            expect(s.inputs.kmsKeyId).toBe(KEY_ARN);
        }
        const versions = inEngine("dev", "aws:secretsmanager/secretVersion:SecretVersion");
        expect(versions).toHaveLength(2);
        for (const v of versions) {
            expect(isSecret(v.inputs.secretString)).toBe(true);
        }
        const auth = oneIn("dev", "aws:secretsmanager/secretVersion:SecretVersion", "spark-auth-value").inputs.secretString.value;
        expect(auth).toMatch(/^[A-Za-z0-9]{64}$/);
        const tls = oneIn("dev", "aws:secretsmanager/secretVersion:SecretVersion", "ui-tls-value").inputs.secretString.value;
        expect(tls).toMatch(/^-----BEGIN RSA PRIVATE KEY-----\n[\s\S]*-----BEGIN CERTIFICATE-----[\s\S]*-----BEGIN CERTIFICATE-----[\s\S]*\n$/);
    });

    test("the generated Spark secret is 64 letters and digits, regenerated only by security.sparkSecretRotation", () => {
        const password = oneIn("dev", "random:index/randomPassword:RandomPassword", "spark-secret");
        expect(password.inputs).toMatchObject({ length: 64, special: false, keepers: { rotation: "0" } });
    });

    test("neither value appears in user data, the deploy command or any plain input", () => {
        const auth: string = oneIn("dev", "aws:secretsmanager/secretVersion:SecretVersion", "spark-auth-value").inputs.secretString.value;
        const plain = JSON.stringify(childrenOf("dev").map((r) => r.inputs), (_k, v) => (isSecret(v) ? "<secret>" : v));
        expect(plain).not.toContain(auth);
        expect(plain).not.toContain("MOCKPRIVATEKEY");
        const userData: string = oneIn("dev", "aws:ec2/instance:Instance", "master").inputs.userData;
        expect(userData).toContain("arn:aws:secretsmanager:eu-west-1:123456789012:secret:dev-spark-auth-AbCdEf");
    });

    test("the UI certificate names the master's DNS name, every host's private name, localhost and the master's address", () => {
        const request = registered.find((r) => r.type === "tls:index/certRequest:CertRequest" && r.name === "dev-ui-tls-request")!;
        expect(request.inputs.dnsNames).toEqual(["spark-master.spark.internal", "*.eu-west-1.compute.internal", "localhost"]);
        expect(request.inputs.ipAddresses).toEqual(["10.0.1.10", "127.0.0.1"]);
    });

    test("workers and the deploy command carry the secrets' revision, so a rotation restarts every Spark process", () => {
        const revision = oneIn("dev", "aws:ssm/association:Association", "consumer").inputs.parameters.securityRevision;
        expect(revision).toMatch(/^[a-f0-9]{32}\.[a-f0-9]{32}$/);
        expect(decode(oneIn("dev", "aws:ec2/launchTemplate:LaunchTemplate", "worker").inputs.userData)).toContain(`# Security revision ${revision} `);
    });

    test("the engine exports the UI certificate's CA", async () => {
        expect(await promiseOf(engines.dev.uiCaCertificate)).toMatch(/^-----BEGIN CERTIFICATE-----/);
    });
});

describe("outputs", () => {
    test("without allowed CIDRs the UIs are named by the master's private DNS name", async () => {
        expect(await promiseOf(engines.dev.uiUrls)).toEqual({
            sparkMaster: "https://spark-master.spark.internal:8480",
            consumerApp: "https://spark-master.spark.internal:4440",
            sparkHistory: "https://spark-master.spark.internal:18480",
        });
    });

    test("with allowed CIDRs the UIs are at the master's private address", async () => {
        expect(await promiseOf(engines.open.uiUrls)).toEqual({
            sparkMaster: "https://10.0.1.10:8480",
            consumerApp: "https://10.0.1.10:4440",
            sparkHistory: "https://10.0.1.10:18480",
        });
    });

    test("each UI has an SSM port-forwarding command to the master", async () => {
        const tunnels = await promiseOf(engines.dev.uiTunnels);
        expect(Object.keys(tunnels).sort()).toEqual(["consumerApp", "sparkHistory", "sparkMaster"]);
        expect(tunnels.sparkHistory).toBe(
            `aws ssm start-session --region eu-west-1 --target dev-master-id --document-name AWS-StartPortForwardingSession --parameters '{"portNumber":["18480"],"localPortNumber":["18480"]}'`,
        );
        expect(await promiseOf(engines.dev.masterInstanceId)).toBe("dev-master-id");
    });

    test("every child is parented to the engine", () => {
        const engineUrn = registered.find((r) => r.type === "spark-streaming:ec2:Ec2Engine" && r.name === "dev")!.urn;
        for (const r of childrenOf("dev")) {
            expect(r.parent).toBe(engineUrn);
        }
    });
});

describe("validation", () => {
    test("worker bounds must satisfy min <= desired <= max", () => {
        expect(() => checkWorkerBounds({ ...ec2Config, workerMin: 3, workerDesired: 2 })).toThrow(/workerMin <= workerDesired <= workerMax; got 3 <= 2 <= 5/);
        expect(() => new Ec2Engine("bad-bounds", args({ config: { ...ec2Config, workerDesired: 9 } }))).toThrow(/workerDesired/);
    });

    test("the UIs are never opened to the whole internet", () => {
        expect(() => uiIngressCidrs({ allowedCidrs: ["10.0.0.0/8", "0.0.0.0/0"] })).toThrow(/whole internet.*0\.0\.0\.0\/0/);
        expect(uiIngressCidrs({ allowedCidrs: ["10.9.0.0/16", "10.0.0.0/8"] })).toEqual(["10.0.0.0/8", "10.9.0.0/16"]);
    });

    test("host policies need folder prefixes without wildcards", () => {
        const input = { bucketArn: "arn:aws:s3:::b", kmsKeyArn: KEY_ARN, repositoryArn: REPO_ARN, secretArns: ["arn:aws:secretsmanager:eu-west-1:123456789012:secret:s-AbCdEf"] };
        expect(() => hostPolicyDocument({ ...input, prefixes: ["data/*"] })).toThrow(/ending in "\/" without wildcards/);
        expect(() => hostPolicyDocument({ ...input, prefixes: [] })).toThrow(/at least one bucket prefix/);
    });
});

test("a consumer.sparkConf that would switch off authentication or encryption is refused, naming the key", () => {
    const consumer = { name: "c", topic: "events", triggerInterval: "30 seconds", maxOffsetsPerTrigger: 1, startingOffsets: "earliest" as const, stopGracePeriodSeconds: 120, sparkConf: { "spark.authenticate": "false", "spark.executor.memory": "2g" } };
    expect(() => new Ec2Engine("insecure", args({ consumer }))).toThrow(/consumer\.sparkConf must not set spark\.authenticate:/);
    expect(() => new Ec2Engine("insecure2", args({ consumer: { ...consumer, sparkConf: { "spark.network.crypto.enabled": "false" } } }))).toThrow(/spark\.network\.crypto\.enabled/);
});
