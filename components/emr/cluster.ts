import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { CONSUMER_CONTEXT, contextFiles, contextHash, jvmDependencies, JvmDependency } from "../buildContext";
import { ConsumerConfig, EmrConfig } from "../config";
import { consumerJobArgs, consumerStopTimeoutSeconds } from "../consumerArgs";
import { kafkaClientIngress } from "../kafka";
import { checkpointPrefix, deadLetterPrefix, outputPrefix, PREFIXES, s3Uri, SPARK_EVENTS_PREFIX } from "../locations";
import { assumeRolePolicy, ssmTunnelCommand } from "../hostAccess";
import { EngineBaseArgs } from "../refs";
import { alignSparkVersion, emrSparkVersion } from "./sparkVersions";
import { EmrStep } from "./step";
import { DEFAULT_TIMEOUT_MS } from "./stepProvider";

// Engine `emr`: an EMR 7 cluster (Spark 3.5 on YARN) in the private subnets, and the consumer as an EMR step.
//
// Amazon documents Docker on YARN only for EMR 6.x, so on EMR 7 the consumer runs from the same build as the
// image: the job package goes to s3://<bucket>/artifacts/streaming-consumer/<content hash>/ and is submitted
// with spark-submit in cluster mode, through the launcher run-consumer.sh (see there: it owns the YARN application,
// so a cancelled step never leaves a driver behind). The hash flows only into the artifacts and the step, never
// into the cluster's inputs: a new job or launcher restarts the step, never the cluster.

/** EMR's v2 managed service policy acts only on resources carrying this tag (EMR docs, "Tagging resources to use managed policies"). */
export const EMR_MANAGED_POLICY_TAG = { "for-use-with-amazon-emr-managed-policies": "true" } as const;

/** UIs on the master: YARN ResourceManager, Spark history server, and YARN's web proxy (running Spark UIs). */
export const UI_PORTS = { yarn: 8088, sparkHistory: 18080, yarnProxy: 20888 } as const;

/** Where EMR pushes its logs. */
export const EMR_LOGS_PREFIX = `${PREFIXES.logs}emr/`;

/** The consumer's artifacts for one build of the job. */
export function artifactsPrefix(hash: string): string {
    return `${PREFIXES.artifacts}streaming-consumer/${hash}/`;
}

/** The step's launcher: kills the consumer's YARN application before submitting and when the step is cancelled. */
export const LAUNCHER_SCRIPT = path.join(__dirname, "run-consumer.sh");

/**
 * The content hash of what the step runs: the job's build context and the launcher. Either changing gives new
 * artifact keys and new step args, so the step restarts on the new build and never runs a mix of two.
 */
export function artifactsHash(jobDir: string, launcher: string = LAUNCHER_SCRIPT): string {
    return crypto
        .createHash("sha256")
        .update(`job ${contextHash(jobDir)}\n`)
        .update("launcher ")
        .update(fs.readFileSync(launcher))
        .digest("hex")
        .slice(0, 16);
}

/**
 * The command-runner.jar arguments that fetch the launcher from S3 and run it. command-runner.jar (on every EMR 7
 * node, documented for running scripts as steps) rather than script-runner.jar: EMR's SEND_INTERRUPT signals the
 * step's child process, and with `exec` that process *is* the launcher, so its SIGTERM trap runs; script-runner
 * puts its own wrapper in between and is fetched from a regional S3 bucket. Every value is a separate argv entry
 * (bash's positional parameters), so JSON and spaces in the job's flags need no quoting. `stopTimeoutSeconds` is how long
 * the launcher waits, once cancelled, for the consumer's YARN application to end (`consumerStopTimeoutSeconds`).
 */
export function launcherStepArgs(launcherUri: string, appName: string, sparkSubmitArgs: readonly string[], stopTimeoutSeconds: number): string[] {
    if (!Number.isInteger(stopTimeoutSeconds) || stopTimeoutSeconds < 1) {
        throw new Error(`the launcher's stop timeout must be a positive whole number of seconds; got ${stopTimeoutSeconds}`);
    }
    return [
        "bash",
        "-c",
        `set -euo pipefail; f=$(mktemp -t run-consumer.XXXXXX); aws s3 cp --only-show-errors "$1" "$f"; shift; STOP_TIMEOUT_SECONDS=${stopTimeoutSeconds} exec bash "$f" "$@"`,
        "run-consumer",
        launcherUri,
        appName,
        ...sparkSubmitArgs,
    ];
}

/** What the step provider adds to the launcher's wait: its own kill calls (60 s each), polling, EMR's state updates. */
export const STEP_CANCEL_MARGIN_SECONDS = 600;

/** How long an update or delete waits for the cancelled consumer step to stop: never less than the launcher waits. */
export function emrStepStopTimeoutMs(consumer: ConsumerConfig): number {
    return Math.max(DEFAULT_TIMEOUT_MS, (consumerStopTimeoutSeconds(consumer) + STEP_CANCEL_MARGIN_SECONDS) * 1000);
}

export interface EmrEngineArgs extends EngineBaseArgs {
    /** Validated emr config: release, instance groups, scaling, step concurrency, termination protection. */
    readonly config: EmrConfig;
    /** The job's build context. Default jobs/streaming-consumer; tests point it at a copy to change the job's hash. */
    readonly jobDir?: string;
}

/** Validates the EMR settings that only make sense together. Throws an Error that says how to fix the config. */
export function validateEmrConfig(config: EmrConfig): void {
    if (config.taskInstanceCount > 0 && config.taskBidPrice === undefined) {
        throw new Error(
            `emr.taskBidPrice is required when emr.taskInstanceCount is ${config.taskInstanceCount}: the task group runs on spot and EMR instance groups need a bid; set it (e.g. "0.20") or set taskInstanceCount to 0`,
        );
    }
    const initial = config.coreInstanceCount + config.taskInstanceCount;
    if (initial > config.maxCapacity) {
        throw new Error(
            `emr.coreInstanceCount + emr.taskInstanceCount (${initial}) must not exceed emr.maxCapacity (${config.maxCapacity}), or managed scaling shrinks the cluster right after it starts; raise maxCapacity or lower the counts`,
        );
    }
    // The step's Spark jars follow the release's Spark version, so the release must be one we know.
    emrSparkVersion(config.releaseLabel);
}

/**
 * The job's spark-submit entry point (main.py beside the package; the package's own main.py uses relative
 * imports and cannot run as a script) and the package's files. The entry point must exist, or spark-submit would
 * fail long after `pulumi up` returned.
 */
export function jobFiles(jobDir: string): { entryPoint: string; packageFiles: string[] } {
    const entryPoint = path.join(jobDir, "main.py");
    if (!fs.existsSync(entryPoint)) {
        throw new Error(`${entryPoint} is missing: the EMR engine submits the job's top-level main.py with spark-submit; restore it or point jobDir at the job`);
    }
    const packageFiles = contextFiles(jobDir).filter(
        (f) => f.startsWith("streaming_consumer/") && !f.includes("__pycache__/") && !f.endsWith(".pyc"),
    );
    return { entryPoint, packageFiles };
}

/**
 * The `--packages` of the step: every JVM dependency EMR does not already ship, in file order, with the Spark
 * artifacts at the cluster's Spark version (the file pins the image's). EMR 7 brings its own S3 stack (EMRFS), so
 * the S3A jars stay out, and so does spark-hadoop-cloud: the job picks its AbortableStreamBasedCheckpointFileManager
 * only for checkpoints that go through S3A, and its transitive Hadoop 3.3 cloud modules would sit beside EMR's 3.4. spark-submit resolves these from Maven Central on the master (through the NAT gateway) at each
 * submit; the alternative, uploading the resolved jars next to the job and passing `--jars`, avoids that network
 * dependency but needs a Maven resolve at `pulumi up`.
 */
export function emrPackages(deps: readonly JvmDependency[], sparkVersion: string): string {
    return alignSparkVersion(
        deps.filter((d) => !d.notOnEmr),
        sparkVersion,
    )
        .map((d) => d.coordinate)
        .join(",");
}

/** JSON with object keys sorted at every level: the same value always renders to the same string. */
export function canonicalJson(value: unknown): string {
    const sort = (v: unknown): unknown => {
        if (Array.isArray(v)) {
            return v.map(sort);
        }
        if (v !== null && typeof v === "object") {
            return Object.fromEntries(
                Object.keys(v as object)
                    .sort()
                    .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
            );
        }
        return v;
    };
    return JSON.stringify(sort(value));
}

/**
 * The cluster's `configurations` JSON. Event logs go to S3 (rolling, so a never-ending streaming application's
 * finished parts reach S3 while it runs) and the history server reads them there, so finished applications
 * outlive the cluster. Canonical (sorted keys, no empty `Configurations`) so an unchanged config previews as no change.
 */
export function emrConfigurations(bucket: string): string {
    const events = `s3://${bucket}/${SPARK_EVENTS_PREFIX}`;
    return canonicalJson([
        {
            Classification: "spark-defaults",
            Properties: {
                "spark.eventLog.dir": events,
                "spark.eventLog.enabled": "true",
                "spark.eventLog.rolling.enabled": "true",
                "spark.eventLog.rolling.maxFileSize": "128m",
                "spark.history.fs.logDirectory": events,
            },
        },
    ]);
}

/**
 * The security configuration: at-rest encryption of EMRFS (S3, SSE-KMS) and of local disks and EBS volumes
 * with the platform key, and IMDSv2 required (hop limit 1: YARN containers are host processes, not Docker).
 * In-transit TLS needs a certificate bundle (PEM zip in S3 or a custom provider); this platform has none yet,
 * so it is off, and traffic stays inside the private subnets.
 */
export function securityConfigurationJson(kmsKeyArn: string): string {
    return canonicalJson({
        EncryptionConfiguration: {
            AtRestEncryptionConfiguration: {
                LocalDiskEncryptionConfiguration: { AwsKmsKey: kmsKeyArn, EnableEbsEncryption: true, EncryptionKeyProviderType: "AwsKms" },
                S3EncryptionConfiguration: { AwsKmsKey: kmsKeyArn, EncryptionMode: "SSE-KMS" },
            },
            EnableAtRestEncryption: true,
            EnableInTransitEncryption: false,
        },
        InstanceMetadataServiceConfiguration: { HttpPutResponseHopLimit: 1, MinimumInstanceMetadataServiceVersion: 2 },
    });
}

/** What the cluster's hosts may do in the bucket: write only the consumer's own prefixes and logs, read the artifacts. */
export function instanceRolePolicy(bucketArn: string, kmsKeyArn: string, consumer: ConsumerConfig): string {
    const writable = [outputPrefix(consumer.topic), deadLetterPrefix(consumer.topic), checkpointPrefix(consumer.name), PREFIXES.logs];
    const readable = [...writable, `${PREFIXES.artifacts}streaming-consumer/`];
    return canonicalJson({
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "ListOwnPrefixes",
                Effect: "Allow",
                Action: ["s3:ListBucket"],
                Resource: [bucketArn],
                Condition: { StringLike: { "s3:prefix": readable.flatMap((p) => [p, `${p}*`]) } },
            },
            { Sid: "LocateBucket", Effect: "Allow", Action: ["s3:GetBucketLocation"], Resource: [bucketArn] },
            {
                Sid: "WriteOwnPrefixes",
                Effect: "Allow",
                Action: ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:PutObject"],
                Resource: writable.map((p) => `${bucketArn}/${p}*`),
            },
            { Sid: "ReadArtifacts", Effect: "Allow", Action: ["s3:GetObject"], Resource: [`${bucketArn}/${PREFIXES.artifacts}streaming-consumer/*`] },
            {
                Sid: "UsePlatformKey",
                Effect: "Allow",
                Action: ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo"],
                Resource: [kmsKeyArn],
            },
        ],
    });
}

/**
 * What the EMR service role needs beyond AmazonEMRServicePolicy_v2: to pass our (non-default-named) instance
 * role to EC2, to launch into our subnet (the managed policy wants the subnet tagged; we name it instead of
 * tagging a subnet another component owns), and to encrypt EBS volumes with the platform key.
 */
export function serviceRolePolicy(instanceRoleArn: string, subnetId: string, kmsKeyArn: string): string {
    return canonicalJson({
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "PassInstanceRole",
                Effect: "Allow",
                Action: ["iam:PassRole"],
                Resource: [instanceRoleArn],
                Condition: { StringLike: { "iam:PassedToService": "ec2.amazonaws.com*" } },
            },
            {
                Sid: "LaunchInClusterSubnet",
                Effect: "Allow",
                Action: ["ec2:CreateFleet", "ec2:CreateLaunchTemplate", "ec2:CreateLaunchTemplateVersion", "ec2:CreateNetworkInterface", "ec2:RunInstances"],
                Resource: [`arn:aws:ec2:*:*:subnet/${subnetId}`],
            },
            {
                Sid: "EncryptVolumes",
                Effect: "Allow",
                Action: ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo"],
                Resource: [kmsKeyArn],
            },
            {
                Sid: "GrantVolumesTheKey",
                Effect: "Allow",
                Action: ["kms:CreateGrant"],
                Resource: [kmsKeyArn],
                Condition: { Bool: { "kms:GrantIsForAWSResource": "true" } },
            },
        ],
    });
}

export class EmrEngine extends pulumi.ComponentResource {
    public readonly clusterId: pulumi.Output<string>;
    /** The master's DNS name; in private subnets EMR reports the private name here. */
    public readonly masterPrivateDns: pulumi.Output<string>;
    /** EC2 instance id of the master (SSM target). */
    public readonly masterInstanceId: pulumi.Output<string>;
    /** yarn, sparkHistory, console. The first two resolve inside the VPC (or through `uiTunnels` on localhost). */
    public readonly uiUrls: pulumi.Output<Record<string, string>>;
    /** `aws ssm start-session` port forwarding per UI; then open http://localhost:<port>. */
    public readonly uiTunnels: pulumi.Output<Record<string, string>>;
    /** The step currently running the consumer. */
    public readonly stepId: pulumi.Output<string>;
    /** s3://.../artifacts/streaming-consumer/<hash>/ of the job build the step runs. */
    public readonly artifactsUri: pulumi.Output<string>;

    constructor(name: string, args: EmrEngineArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("spark-streaming:emr:EmrEngine", name, {}, opts);
        validateEmrConfig(args.config);
        const sparkVersion = emrSparkVersion(args.config.releaseLabel);
        const jobDir = args.jobDir ?? CONSUMER_CONTEXT;
        const { entryPoint, packageFiles } = jobFiles(jobDir);
        const hash = artifactsHash(jobDir);
        const packages = emrPackages(jvmDependencies(jobDir), sparkVersion);

        const { config, dataLake, network, kafka } = args;
        const parent = { parent: this };
        const subnetId = network.privateSubnetIds.apply((ids) => ids[0]);

        // --- Security groups. EMR adds the rules between its managed groups itself; they reference each other,
        // so `revokeRulesOnDelete` lets destroy remove them. No inline rules: EMR's rules are not drift.
        const sg = (role: string, description: string) =>
            new aws.ec2.SecurityGroup(
                `${name}-${role}-sg`,
                { vpcId: network.vpcId, description, revokeRulesOnDelete: true, tags: { ...EMR_MANAGED_POLICY_TAG } },
                parent,
            );
        const masterSg = sg("master", "EMR-managed: master");
        const coreSg = sg("core", "EMR-managed: core and task");
        const serviceSg = sg("service-access", "EMR-managed: service access (private subnets)");

        for (const [role, group] of [["master", masterSg], ["core", coreSg]] as const) {
            // Outbound: S3, KMS, SSM and the EMR control plane through endpoints/NAT, Maven Central for --packages.
            new aws.vpc.SecurityGroupEgressRule(
                `${name}-${role}-egress`,
                { securityGroupId: group.id, ipProtocol: "-1", cidrIpv4: "0.0.0.0/0", description: "outbound through NAT and VPC endpoints" },
                parent,
            );
            kafkaClientIngress(`${name}-kafka-from-${role}`, kafka, group.id, parent);
        }
        const serviceIngress = new aws.vpc.SecurityGroupIngressRule(
            `${name}-service-from-master`,
            { securityGroupId: serviceSg.id, referencedSecurityGroupId: masterSg.id, ipProtocol: "tcp", fromPort: 9443, toPort: 9443, description: "EMR service access from the master" },
            parent,
        );
        const serviceEgress = [["master", masterSg], ["core", coreSg]].map(
            ([role, group]) =>
                new aws.vpc.SecurityGroupEgressRule(
                    `${name}-service-to-${role}`,
                    {
                        securityGroupId: serviceSg.id,
                        referencedSecurityGroupId: (group as aws.ec2.SecurityGroup).id,
                        ipProtocol: "tcp",
                        fromPort: 8443,
                        toPort: 8443,
                        description: `EMR service access to the ${role} group`,
                    },
                    parent,
                ),
        );
        // UIs stay private unless the stack names who may reach them (config refuses /0 blocks).
        args.access.allowedCidrs.forEach((cidr, i) => {
            for (const [ui, port] of Object.entries(UI_PORTS)) {
                new aws.vpc.SecurityGroupIngressRule(
                    `${name}-ui-${ui}-${i}`,
                    { securityGroupId: masterSg.id, cidrIpv4: cidr, ipProtocol: "tcp", fromPort: port, toPort: port, description: `${ui} UI from ${cidr}` },
                    parent,
                );
            }
        });

        // --- IAM: the service role runs EMR's control plane; the instance role is what Spark on the hosts may do.
        const serviceRole = new aws.iam.Role(`${name}-service-role`, { assumeRolePolicy: assumeRolePolicy("elasticmapreduce.amazonaws.com") }, parent);
        const serviceManaged = new aws.iam.RolePolicyAttachment(
            `${name}-service-managed`,
            { role: serviceRole.name, policyArn: "arn:aws:iam::aws:policy/service-role/AmazonEMRServicePolicy_v2" },
            parent,
        );
        const instanceRole = new aws.iam.Role(`${name}-instance-role`, { assumeRolePolicy: assumeRolePolicy("ec2.amazonaws.com") }, parent);
        const serviceInline = new aws.iam.RolePolicy(
            `${name}-service-policy`,
            {
                role: serviceRole.id,
                policy: pulumi.all([instanceRole.arn, subnetId, dataLake.kmsKeyArn]).apply(([roleArn, subnet, key]) => serviceRolePolicy(roleArn, subnet, key)),
            },
            parent,
        );
        const instancePolicies: pulumi.Resource[] = [
            new aws.iam.RolePolicy(
                `${name}-instance-data`,
                {
                    role: instanceRole.id,
                    policy: pulumi.all([dataLake.bucketArn, dataLake.kmsKeyArn]).apply(([bucket, key]) => instanceRolePolicy(bucket, key, args.consumer)),
                },
                parent,
            ),
            // SSM Session Manager is how people reach the UIs (uiTunnels) and the hosts; no SSH, no key pair.
            new aws.iam.RolePolicyAttachment(
                `${name}-instance-ssm`,
                { role: instanceRole.name, policyArn: "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore" },
                parent,
            ),
        ];
        if (kafka.consumerPolicyJson !== undefined) {
            instancePolicies.push(new aws.iam.RolePolicy(`${name}-instance-kafka`, { role: instanceRole.id, policy: kafka.consumerPolicyJson }, parent));
        }
        const instanceProfile = new aws.iam.InstanceProfile(`${name}-instance-profile`, { role: instanceRole.name }, parent);

        const securityConfiguration = new aws.emr.SecurityConfiguration(
            `${name}-security`,
            { configuration: pulumi.output(dataLake.kmsKeyArn).apply(securityConfigurationJson) },
            parent,
        );

        const ebs = [{ size: config.ebsVolumeGb, type: "gp3", volumesPerInstance: 1 }];
        const cluster = new aws.emr.Cluster(
            `${name}-cluster`,
            {
                name: `${pulumi.getProject()}-${pulumi.getStack()}`,
                releaseLabel: config.releaseLabel,
                applications: ["Hadoop", "Spark"],
                serviceRole: serviceRole.arn,
                ec2Attributes: {
                    subnetId,
                    instanceProfile: instanceProfile.arn,
                    emrManagedMasterSecurityGroup: masterSg.id,
                    emrManagedSlaveSecurityGroup: coreSg.id,
                    serviceAccessSecurityGroup: serviceSg.id,
                },
                masterInstanceGroup: { name: "master", instanceType: config.masterInstanceType, instanceCount: 1, ebsConfigs: ebs },
                coreInstanceGroup: { name: "core", instanceType: config.coreInstanceType, instanceCount: config.coreInstanceCount, ebsConfigs: ebs },
                securityConfiguration: securityConfiguration.name,
                logUri: s3Uri(dataLake.bucketName, EMR_LOGS_PREFIX),
                logEncryptionKmsKeyId: dataLake.kmsKeyArn,
                configurationsJson: pulumi.output(dataLake.bucketName).apply(emrConfigurations),
                // Above 1, so the never-ending consumer step does not block other steps.
                stepConcurrencyLevel: config.stepConcurrency,
                terminationProtection: config.terminationProtection,
                // The cluster is long-lived: it idles between steps instead of terminating.
                keepJobFlowAliveWhenNoSteps: true,
                unhealthyNodeReplacement: true,
                scaleDownBehavior: "TERMINATE_AT_TASK_COMPLETION",
                tags: { ...EMR_MANAGED_POLICY_TAG },
            },
            {
                parent: this,
                dependsOn: [serviceManaged, serviceInline, serviceIngress, ...serviceEgress, ...instancePolicies],
                // Managed scaling owns the core count once the cluster runs; reverting it would fight the scaler.
                ignoreChanges: ["coreInstanceGroup.instanceCount"],
            },
        );

        if (config.taskInstanceCount > 0) {
            new aws.emr.InstanceGroup(
                `${name}-task`,
                {
                    clusterId: cluster.id,
                    name: "task",
                    instanceType: config.taskInstanceType,
                    instanceCount: config.taskInstanceCount,
                    bidPrice: config.taskBidPrice,
                    ebsConfigs: ebs,
                },
                { parent: this, ignoreChanges: ["instanceCount"] },
            );
        }
        // With a spot task group, growth beyond the core count goes to spot; without one, core grows.
        const coreCeiling = Math.max(config.coreInstanceCount, config.minCapacity);
        new aws.emr.ManagedScalingPolicy(
            `${name}-scaling`,
            {
                clusterId: cluster.id,
                computeLimits: [
                    {
                        unitType: "Instances",
                        minimumCapacityUnits: config.minCapacity,
                        maximumCapacityUnits: config.maxCapacity,
                        ...(config.taskInstanceCount > 0 ? { maximumCoreCapacityUnits: coreCeiling, maximumOndemandCapacityUnits: coreCeiling } : {}),
                    },
                ],
            },
            parent,
        );

        // --- The consumer's artifacts, under the job's content hash.
        const prefix = artifactsPrefix(hash);
        const upload = (file: string, source: pulumi.asset.Asset | pulumi.asset.Archive, role: string) =>
            new aws.s3.BucketObjectv2(
                `${name}-artifact-${role}`,
                { bucket: dataLake.bucketName, key: `${prefix}${file}`, source, serverSideEncryption: "aws:kms", kmsKeyId: dataLake.kmsKeyArn },
                parent,
            );
        const zip = upload(
            "streaming_consumer.zip",
            new pulumi.asset.AssetArchive(Object.fromEntries(packageFiles.map((f) => [f, new pulumi.asset.FileAsset(path.join(jobDir, f))]))),
            "package",
        );
        const main = upload("main.py", new pulumi.asset.FileAsset(entryPoint), "main");
        const launcher = upload("run-consumer.sh", new pulumi.asset.FileAsset(LAUNCHER_SCRIPT), "launcher");
        const artifactsUri = s3Uri(dataLake.bucketName, prefix);

        const jobArgs = consumerJobArgs(args.consumer, {
            bootstrapServers: kafka.bootstrapBrokers,
            kafkaAuth: kafka.authMode,
            output: s3Uri(dataLake.bucketName, outputPrefix(args.consumer.topic)),
            deadLetter: s3Uri(dataLake.bucketName, deadLetterPrefix(args.consumer.topic)),
            checkpoint: s3Uri(dataLake.bucketName, checkpointPrefix(args.consumer.name)),
        });
        // The launcher adds `--name <consumer>` (the YARN application name it kills by) and waits for the application.
        const stepArgs = pulumi
            .all([artifactsUri, jobArgs, args.kafkaTopicsJson, zip.key, main.key, launcher.key])
            .apply(([uri, job, topics]) =>
                launcherStepArgs(`${uri}run-consumer.sh`, args.consumer.name, [
                    "--deploy-mode", "cluster",
                    "--master", "yarn",
                    // YARN restarts a failed driver; failures older than the window are forgiven, so a long-lived
                    // query is not killed by a few failures spread over weeks.
                    "--conf", `spark.yarn.maxAppAttempts=${config.driverMaxAttempts}`,
                    "--conf", `spark.yarn.am.attemptFailuresValidityInterval=${config.driverAttemptsValidity}`,
                    ...(packages ? ["--packages", packages] : []),
                    "--py-files", `${uri}streaming_consumer.zip`,
                    `${uri}main.py`,
                    ...job,
                    // No image entrypoint on EMR to read KAFKA_TOPICS: the job creates the missing topics itself.
                    "--ensure-topics", topics,
                ], consumerStopTimeoutSeconds(args.consumer)),
            );
        // The step provider cancels with SEND_INTERRUPT (SIGTERM), which the launcher traps to kill the YARN
        // application; TERMINATE_PROCESS (SIGKILL) would skip the trap and leave the driver running.
        const step = new EmrStep(
            `${name}-consumer`,
            {
                clusterId: cluster.id,
                stepName: args.consumer.name,
                args: stepArgs,
                actionOnFailure: "CONTINUE",
                region: args.region,
                timeoutMs: emrStepStopTimeoutMs(args.consumer),
            },
            { parent: this, dependsOn: [zip, main, launcher] },
        );

        // The master's instance id is not an attribute of the cluster; EMR tags its instances with the cluster
        // id and the group role, which is how SSM finds the target for the tunnels.
        const masterInstanceId = aws.ec2
            .getInstancesOutput(
                {
                    filters: [
                        { name: "tag:aws:elasticmapreduce:job-flow-id", values: [cluster.id] },
                        { name: "tag:aws:elasticmapreduce:instance-group-role", values: ["MASTER"] },
                    ],
                    instanceStateNames: ["running"],
                },
                { parent: this },
            )
            .apply((r) => r.ids[0] ?? "<master not running>");

        this.clusterId = cluster.id;
        this.masterPrivateDns = cluster.masterPublicDns;
        this.masterInstanceId = masterInstanceId;
        this.uiUrls = pulumi.all([cluster.id, cluster.masterPublicDns]).apply(([id, dns]): Record<string, string> => ({
            yarn: `http://${dns}:${UI_PORTS.yarn}`,
            sparkHistory: `http://${dns}:${UI_PORTS.sparkHistory}`,
            console: `https://${args.region}.console.aws.amazon.com/emr/home?region=${args.region}#/clusterDetails/${id}`,
        }));
        this.uiTunnels = masterInstanceId.apply((id): Record<string, string> => ({
            yarn: ssmTunnelCommand(args.region, id, UI_PORTS.yarn),
            sparkHistory: ssmTunnelCommand(args.region, id, UI_PORTS.sparkHistory),
        }));
        this.stepId = step.stepId;
        this.artifactsUri = artifactsUri;
        this.registerOutputs({
            clusterId: this.clusterId,
            masterPrivateDns: this.masterPrivateDns,
            uiUrls: this.uiUrls,
            uiTunnels: this.uiTunnels,
            stepId: this.stepId,
            artifactsUri: this.artifactsUri,
        });
    }
}
