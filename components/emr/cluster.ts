import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { CONSUMER_CONTEXT } from "../buildContext";
import { ConsumerConfig, EmrConfig, SecurityConfig } from "../config";
import { checkSecuritySettingsKept, consumerJobArgs, consumerStopTimeoutSeconds } from "../consumerArgs";
import { ssmTunnelCommand } from "../hostAccess";
import { checkpointPrefix, deadLetterPrefix, outputPrefix, PREFIXES, s3Uri } from "../locations";
import { EngineBaseArgs } from "../refs";
import { jobArtifacts, launcherStepArgs } from "./artifacts";
import { emrConfigurations, securityConfigurationJson } from "./configuration";
import { emrRoles } from "./iam";
import { builtUdfJar, checkLockCurrent, lockedJars, readJarLock } from "./jars";
import { EMR_MANAGED_POLICY_TAG, emrSecurityGroups, UI_PORTS } from "./securityGroups";
import { emrSparkVersion } from "./sparkVersions";
import { EmrStep } from "./step";
import { DEFAULT_TIMEOUT_MS } from "./stepProvider";
import { tlsBundle } from "./tls";

export { artifactsHash, artifactsPrefix, jobFiles, LAUNCHER_SCRIPT, launcherStepArgs } from "./artifacts";
export { canonicalJson, emrConfigurations, securityConfigurationJson } from "./configuration";
export { instanceRolePolicy, serviceRolePolicy } from "./iam";
export { EMR_MANAGED_POLICY_TAG, UI_PORTS } from "./securityGroups";

// Engine `emr`: an EMR 7 cluster (Spark 3.5 on YARN) in the private subnets, and the consumer as an EMR step, as
// named steps: security groups (securityGroups.ts), IAM (iam.ts), the in-transit TLS bundle (tls.ts), the
// security configuration and configurations (configuration.ts), the job's artifacts and locked jars (artifacts.ts,
// jars.ts). The launcher run-consumer.sh owns the YARN application, so a cancelled step never leaves a driver
// behind. The job's hash flows only into the artifacts and the step, never into the cluster's inputs: a new job or
// launcher restarts the step, never the cluster.

/** What the step provider adds to the launcher's wait: its own kill calls (60 s each), polling, EMR's state updates. */
export const STEP_CANCEL_MARGIN_SECONDS = 600;

/** How long an update or delete waits for the cancelled consumer step to stop: never less than the launcher waits. */
export function emrStepStopTimeoutMs(consumer: Pick<ConsumerConfig, "stopGracePeriodSeconds">): number {
    return Math.max(DEFAULT_TIMEOUT_MS, (consumerStopTimeoutSeconds(consumer) + STEP_CANCEL_MARGIN_SECONDS) * 1000);
}

/** Where EMR pushes its logs. */
export const EMR_LOGS_PREFIX = `${PREFIXES.logs}emr/`;

export interface EmrEngineArgs extends EngineBaseArgs {
    /** Validated emr config: release, instance groups, scaling, step concurrency, termination protection. */
    readonly config: EmrConfig;
    /** Certificate validity and rotation of the in-transit TLS bundle. */
    readonly security: SecurityConfig;
    /** The job's build context. Default jobs/streaming-consumer; tests point it at a copy to change the job's hash. */
    readonly jobDir?: string;
    /** Where the locked jars and the job's UDF jar are (scripts/fetch-emr-jars.sh). Default .cache/emr-jars. */
    readonly jarsDir?: string;
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

export class EmrEngine extends pulumi.ComponentResource {
    public readonly clusterId: pulumi.Output<string>;
    /** The master's DNS name; in private subnets EMR reports the private name here. */
    public readonly masterPrivateDns: pulumi.Output<string>;
    /** EC2 instance id of the master (SSM target). */
    public readonly masterInstanceId: pulumi.Output<string>;
    /** yarn, sparkHistory (HTTPS), console. The first two resolve inside the VPC (or through `uiTunnels` on localhost). */
    public readonly uiUrls: pulumi.Output<Record<string, string>>;
    /** `aws ssm start-session` port forwarding per UI; then open the URL's scheme on localhost:<port>. */
    public readonly uiTunnels: pulumi.Output<Record<string, string>>;
    /** The CA of the cluster's in-transit TLS certificate (public): trust it to browse the HTTPS UIs. */
    public readonly uiCaCertificate: pulumi.Output<string>;
    /** When the in-transit certificate expires: renew before (security.certificateRotation, README). */
    public readonly certificateExpiry: pulumi.Output<string>;
    /** The step currently running the consumer. */
    public readonly stepId: pulumi.Output<string>;
    /** s3://.../artifacts/streaming-consumer/<hash>/ of the job build the step runs. */
    public readonly artifactsUri: pulumi.Output<string>;
    /** The Spark version whose locked connector jars the step ships (the cluster's, or the nearest locked one below it). */
    public readonly jarsSparkVersion: string;

    constructor(name: string, args: EmrEngineArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("spark-streaming:emr:EmrEngine", name, {}, opts);
        const { config, dataLake, network, kafka, region } = args;
        validateEmrConfig(config);
        checkSecuritySettingsKept(args.consumer);
        const lock = readJarLock();
        checkLockCurrent(lock);
        const jars = lockedJars(lock, emrSparkVersion(config.releaseLabel));
        const jobDir = args.jobDir ?? CONSUMER_CONTEXT;
        const udfJar = builtUdfJar(jobDir, args.jarsDir);
        this.jarsSparkVersion = jars.find((j) => j.coordinate.startsWith("org.apache.spark:spark-sql-kafka"))?.coordinate.split(":")[2] ?? "";
        const parent = { parent: this };
        const subnetId = network.privateSubnetIds.apply((ids) => ids[0]);

        const groups = emrSecurityGroups(name, { vpcId: network.vpcId, access: args.access, kafka }, parent);
        const roles = emrRoles(name, { subnetId, bucketArn: dataLake.bucketArn, kmsKeyArn: dataLake.kmsKeyArn, consumer: args.consumer, kafkaPolicyJson: kafka.consumerPolicyJson, metricsPolicyJson: args.metricsPolicyJson }, parent);
        const tls = tlsBundle(name, { bucketName: dataLake.bucketName, kmsKeyArn: dataLake.kmsKeyArn, region, security: args.security }, parent);
        const securityConfiguration = new aws.emr.SecurityConfiguration(
            `${name}-security`,
            { configuration: pulumi.all([dataLake.kmsKeyArn, tls.uri]).apply(([key, uri]) => securityConfigurationJson(key, uri)) },
            { ...parent, dependsOn: [tls.object] },
        );
        const cluster = this.cluster(name, args, { subnetId, groups, roles, securityConfiguration: securityConfiguration.name });
        this.scaling(name, config, cluster.id);

        const artifacts = jobArtifacts(name, { bucketName: dataLake.bucketName, kmsKeyArn: dataLake.kmsKeyArn, jobDir, jars, jarsDir: args.jarsDir, udfJar }, parent);
        const jobArgs = consumerJobArgs(args.consumer, {
            bootstrapServers: kafka.bootstrapBrokers,
            kafkaAuth: kafka.authMode,
            output: s3Uri(dataLake.bucketName, outputPrefix(args.consumer.topic)),
            deadLetter: s3Uri(dataLake.bucketName, deadLetterPrefix(args.consumer.topic)),
            checkpoint: s3Uri(dataLake.bucketName, checkpointPrefix(args.consumer.name)),
        });
        // The launcher adds `--name <consumer>` (the YARN application name it kills by) and waits for the application.
        const stepArgs = pulumi.all([artifacts.uri, artifacts.jarUris, jobArgs, args.kafkaTopicsJson]).apply(([uri, jarUris, job, topics]) =>
            launcherStepArgs(`${uri}run-consumer.sh`, args.consumer.name, [
                "--deploy-mode", "cluster",
                "--master", "yarn",
                // YARN restarts a failed driver; failures older than the window are forgiven, so a long-lived
                // query is not killed by a few failures spread over weeks.
                "--conf", `spark.yarn.maxAppAttempts=${config.driverMaxAttempts}`,
                "--conf", `spark.yarn.am.attemptFailuresValidityInterval=${config.driverAttemptsValidity}`,
                // The locked jars and the job's UDF jar, from the bucket: nothing is downloaded from a public Maven
                // repository at submit.
                "--jars", jarUris.join(","),
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
            { clusterId: cluster.id, stepName: args.consumer.name, args: stepArgs, actionOnFailure: "CONTINUE", region, timeoutMs: emrStepStopTimeoutMs(args.consumer) },
            { parent: this, dependsOn: artifacts.objects },
        );

        const masterInstanceId = this.masterInstance(cluster.id);
        this.clusterId = cluster.id;
        this.masterPrivateDns = cluster.masterPublicDns;
        this.masterInstanceId = masterInstanceId;
        this.uiUrls = pulumi.all([cluster.id, cluster.masterPublicDns]).apply(([id, dns]): Record<string, string> => ({
            yarn: `http://${dns}:${UI_PORTS.yarn}`,
            sparkHistory: `https://${dns}:${UI_PORTS.sparkHistory}`,
            console: `https://${region}.console.aws.amazon.com/emr/home?region=${region}#/clusterDetails/${id}`,
        }));
        this.uiTunnels = masterInstanceId.apply((id): Record<string, string> => ({
            yarn: ssmTunnelCommand(region, id, UI_PORTS.yarn),
            sparkHistory: ssmTunnelCommand(region, id, UI_PORTS.sparkHistory),
        }));
        this.uiCaCertificate = tls.caCertPem;
        this.certificateExpiry = tls.validityEndTime;
        this.stepId = step.stepId;
        this.artifactsUri = artifacts.uri;
        this.registerOutputs({
            clusterId: this.clusterId,
            masterPrivateDns: this.masterPrivateDns,
            uiUrls: this.uiUrls,
            uiTunnels: this.uiTunnels,
            uiCaCertificate: this.uiCaCertificate,
            certificateExpiry: this.certificateExpiry,
            stepId: this.stepId,
            artifactsUri: this.artifactsUri,
        });
    }

    private cluster(
        name: string,
        args: EmrEngineArgs,
        deps: { subnetId: pulumi.Output<string>; groups: ReturnType<typeof emrSecurityGroups>; roles: ReturnType<typeof emrRoles>; securityConfiguration: pulumi.Output<string> },
    ): aws.emr.Cluster {
        const { config, dataLake } = args;
        const ebs = [{ size: config.ebsVolumeGb, type: "gp3", volumesPerInstance: 1 }];
        const cluster = new aws.emr.Cluster(
            `${name}-cluster`,
            {
                name: `${pulumi.getProject()}-${pulumi.getStack()}`,
                releaseLabel: config.releaseLabel,
                applications: ["Hadoop", "Spark"],
                serviceRole: deps.roles.serviceRole.arn,
                ec2Attributes: {
                    subnetId: deps.subnetId,
                    instanceProfile: deps.roles.instanceProfile.arn,
                    emrManagedMasterSecurityGroup: deps.groups.master.id,
                    emrManagedSlaveSecurityGroup: deps.groups.core.id,
                    serviceAccessSecurityGroup: deps.groups.serviceAccess.id,
                },
                masterInstanceGroup: { name: "master", instanceType: config.masterInstanceType, instanceCount: 1, ebsConfigs: ebs },
                coreInstanceGroup: { name: "core", instanceType: config.coreInstanceType, instanceCount: config.coreInstanceCount, ebsConfigs: ebs },
                securityConfiguration: deps.securityConfiguration,
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
                dependsOn: [...deps.roles.policies, ...deps.groups.rules],
                // Managed scaling owns the core count once the cluster runs; reverting it would fight the scaler.
                ignoreChanges: ["coreInstanceGroup.instanceCount"],
            },
        );
        if (config.taskInstanceCount > 0) {
            new aws.emr.InstanceGroup(
                `${name}-task`,
                { clusterId: cluster.id, name: "task", instanceType: config.taskInstanceType, instanceCount: config.taskInstanceCount, bidPrice: config.taskBidPrice, ebsConfigs: ebs },
                { parent: this, ignoreChanges: ["instanceCount"] },
            );
        }
        return cluster;
    }

    /** Managed scaling: with a spot task group, growth beyond the core count goes to spot; without one, core grows. */
    private scaling(name: string, config: EmrConfig, clusterId: pulumi.Output<string>): void {
        const coreCeiling = Math.max(config.coreInstanceCount, config.minCapacity);
        new aws.emr.ManagedScalingPolicy(
            `${name}-scaling`,
            {
                clusterId,
                computeLimits: [
                    {
                        unitType: "Instances",
                        minimumCapacityUnits: config.minCapacity,
                        maximumCapacityUnits: config.maxCapacity,
                        ...(config.taskInstanceCount > 0 ? { maximumCoreCapacityUnits: coreCeiling, maximumOndemandCapacityUnits: coreCeiling } : {}),
                    },
                ],
            },
            { parent: this },
        );
    }

    /**
     * The master's instance id is not an attribute of the cluster; EMR tags its instances with the cluster id and
     * the group role, which is how SSM finds the target for the tunnels.
     */
    private masterInstance(clusterId: pulumi.Output<string>): pulumi.Output<string> {
        return aws.ec2
            .getInstancesOutput(
                {
                    filters: [
                        { name: "tag:aws:elasticmapreduce:job-flow-id", values: [clusterId] },
                        { name: "tag:aws:elasticmapreduce:instance-group-role", values: ["MASTER"] },
                    ],
                    instanceStateNames: ["running"],
                },
                { parent: this },
            )
            .apply((r) => r.ids[0] ?? "<master not running>");
    }
}
