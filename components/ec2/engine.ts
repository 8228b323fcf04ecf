import * as pulumi from "@pulumi/pulumi";
import { Ec2Config, SecurityConfig } from "../config";
import { checkSecuritySettingsKept, consumerJobArgs, consumerStopTimeoutSeconds } from "../consumerArgs";
import { ssmTunnelCommand } from "../hostAccess";
import { checkpointPrefix, deadLetterPrefix, outputPrefix, s3Uri, SPARK_EVENTS_PREFIX } from "../locations";
import { EngineBaseArgs, ImageRefs } from "../refs";
import { consumerDeploy } from "./consumerDeploy";
import { masterHost, workerGroup } from "./hosts";
import { hostRole } from "./iam";
import { secretStores, sparkSecrets } from "./secrets";
import { hostSecurityGroups, uiIngressCidrs } from "./securityGroups";
import { TLS_UI_PORTS } from "./sparkSecurity";
import { SPARK_PORTS } from "./userData";

export { AL2023_AMI_PARAMETER, IMDS_HOP_LIMIT } from "./hosts";
export { uiIngressCidrs } from "./securityGroups";

// Engine `ec2`: Spark standalone on plain EC2 hosts, every process from the consumer image. One master host
// (master, history server, the consumer driver in client mode) and an auto-scaled worker group, all private and
// reached through SSM. The consumer's image and settings reach the master through an SSM association, so a new
// image restarts the driver in place instead of replacing the host. Every Spark connection is authenticated and
// encrypted and every UI is HTTPS (sparkSecurity.ts); the pieces are in securityGroups.ts, iam.ts, secrets.ts,
// hosts.ts and consumerDeploy.ts.

/** The host name of the master in the private hosted zone. */
export const MASTER_HOST_LABEL = "spark-master";

export interface Ec2EngineArgs extends EngineBaseArgs {
    /** Instance types, worker group bounds, CPU target, root volume size and the private domain (validated config). */
    readonly config: Ec2Config;
    /** The consumer image, pinned by digest, and its repository (for ECR pull rights). */
    readonly image: ImageRefs;
    /** Certificate validity and the rotation counters of the Spark secret and the UI certificate. */
    readonly security: SecurityConfig;
}

/** Throws unless min <= desired <= max: an impossible group would fail only at `pulumi up`, half-built. */
export function checkWorkerBounds(config: Ec2Config): void {
    if (!(config.workerMin <= config.workerDesired && config.workerDesired <= config.workerMax)) {
        throw new Error(
            `ec2.workerDesired must satisfy workerMin <= workerDesired <= workerMax; got ${config.workerMin} <= ${config.workerDesired} <= ${config.workerMax}`,
        );
    }
}

/** The master's stable DNS name: workers and the driver use it, so a replaced master does not strand them. */
export function masterDnsName(config: Ec2Config): string {
    return `${MASTER_HOST_LABEL}.${config.privateDomain}`;
}

/**
 * Spark reaches the bucket through S3A by its own scheme on plain EC2 (EMR's S3 connector is not here). Mapping
 * s3:// to S3A (`fs.s3.impl`) is not enough: the rename-free checkpoint manager and the file sink's log use Hadoop's
 * FileContext, whose S3A binding serves only s3a:// ("No AbstractFileSystem for scheme: s3", or a scheme mismatch).
 * The stack's location outputs stay s3:// for people and the AWS CLI; they name the same objects.
 */
export const EC2_URI_SCHEME = "s3a";

/**
 * Spark settings the consumer needs on plain EC2: checkpoints are written without S3's copy-and-delete rename, and
 * S3A talks to the bucket's region (credentials: the default chain, which ends at the instance profile).
 */
export function ec2SparkConf(region: string): Record<string, string> {
    return {
        "spark.hadoop.fs.s3a.endpoint.region": region,
        "spark.sql.streaming.checkpointFileManagerClass": "org.apache.spark.internal.io.cloud.AbortableStreamBasedCheckpointFileManager",
    };
}

/** The UIs on the master and their HTTPS ports, in output order (each HTTP port only redirects to these). */
export const MASTER_UIS = {
    sparkMaster: TLS_UI_PORTS.masterUi,
    consumerApp: TLS_UI_PORTS.appUi,
    sparkHistory: TLS_UI_PORTS.historyUi,
} as const;

export class Ec2Engine extends pulumi.ComponentResource {
    /** Where each master UI is (HTTPS): the master's private DNS name, or its private address when `access.allowedCidrs` admits networks outside the VPC. */
    public readonly uiUrls: pulumi.Output<Record<string, string>>;
    /** For each master UI, the SSM port-forwarding command that serves it on https://localhost:<port>. */
    public readonly uiTunnels: pulumi.Output<Record<string, string>>;
    public readonly masterInstanceId: pulumi.Output<string>;
    public readonly masterPrivateIp: pulumi.Output<string>;
    /** `spark://spark-master.<domain>:7077`. */
    public readonly masterUrl: string;
    public readonly workerGroupName: pulumi.Output<string>;
    public readonly masterSecurityGroupId: pulumi.Output<string>;
    public readonly workerSecurityGroupId: pulumi.Output<string>;
    /** The consumer's job flags as the master runs them. */
    public readonly consumerArgs: pulumi.Output<string[]>;
    /** The CA that issued the UIs' certificate (public): trust it to browse the UIs without a warning. */
    public readonly uiCaCertificate: pulumi.Output<string>;

    constructor(name: string, args: Ec2EngineArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("spark-streaming:ec2:Ec2Engine", name, {}, opts);
        const { config, consumer, network, dataLake, kafka, image, region } = args;
        checkWorkerBounds(config);
        checkSecuritySettingsKept(args.consumer);
        const uiCidrs = uiIngressCidrs(args.access);
        const dnsName = masterDnsName(config);
        this.masterUrl = `spark://${dnsName}:${SPARK_PORTS.master}`;
        const parent = { parent: this };

        const groups = hostSecurityGroups(name, { vpcId: network.vpcId, access: args.access, kafka }, parent);
        const stores = secretStores(name, dataLake.kmsKeyArn, parent);

        // Each host role gets the prefixes its processes touch: the driver commits batches, writes the sink log and
        // event logs; executors write the data files and state; the history server reads event logs.
        const dataPrefixes = [outputPrefix(consumer.topic), deadLetterPrefix(consumer.topic), checkpointPrefix(consumer.name)];
        const role = (kind: "master" | "worker", prefixes: string[], metricsPolicyJson?: pulumi.Input<string>) =>
            hostRole(name, kind, {
                bucketArn: dataLake.bucketArn,
                kmsKeyArn: dataLake.kmsKeyArn,
                repositoryArn: image.repositoryArn,
                secretArns: [stores.auth.arn, stores.tls.arn],
                prefixes,
                kafkaPolicyJson: kafka.consumerPolicyJson,
                metricsPolicyJson,
            }, parent);
        const masterProfile = role("master", [...dataPrefixes, SPARK_EVENTS_PREFIX], args.metricsPolicyJson);
        const workerProfile = role("worker", dataPrefixes);

        const master = masterHost(name, {
            config,
            region,
            vpcId: network.vpcId,
            subnetId: network.privateSubnetIds.apply((ids) => ids[0]),
            securityGroupId: groups.master.id,
            instanceProfileName: masterProfile.name,
            bucketName: dataLake.bucketName,
            eventLogPrefix: SPARK_EVENTS_PREFIX,
            masterDnsName: dnsName,
            authSecretArn: stores.auth.arn,
            tlsSecretArn: stores.tls.arn,
        }, parent);
        // The UI certificate names the master's address, so it is issued once the master exists.
        const secrets = sparkSecrets(name, stores, { security: args.security, masterDnsName: dnsName, masterPrivateIp: master.privateIp, region }, parent);

        this.consumerArgs = consumerJobArgs(consumer, {
            bootstrapServers: kafka.bootstrapBrokers,
            kafkaAuth: kafka.authMode,
            output: s3Uri(dataLake.bucketName, outputPrefix(consumer.topic), EC2_URI_SCHEME),
            deadLetter: s3Uri(dataLake.bucketName, deadLetterPrefix(consumer.topic), EC2_URI_SCHEME),
            checkpoint: s3Uri(dataLake.bucketName, checkpointPrefix(consumer.name), EC2_URI_SCHEME),
            engineSparkConf: ec2SparkConf(region),
        });
        consumerDeploy(name, {
            masterInstanceId: master.id,
            imageUri: image.imageUri,
            env: pulumi.all([dataLake.bucketName, args.kafkaTopicsJson]).apply(([bucket, topics]) => ({ KAFKA_TOPICS: topics, SPARK_EVENT_LOG_DIR: `${EC2_URI_SCHEME}://${bucket}/${SPARK_EVENTS_PREFIX}` })),
            args: this.consumerArgs,
            securityRevision: secrets.revision,
            stopTimeoutSeconds: consumerStopTimeoutSeconds(consumer),
        }, { ...parent, dependsOn: secrets.versions });

        const group = workerGroup(name, {
            config,
            region,
            subnetIds: network.privateSubnetIds,
            securityGroupId: groups.worker.id,
            instanceProfileArn: workerProfile.arn,
            imageUri: image.imageUri,
            masterDnsName: dnsName,
            security: pulumi.all([secrets.authSecretArn, secrets.tlsSecretArn]).apply(([authSecretArn, tlsSecretArn]) => ({ authSecretArn, tlsSecretArn })),
            securityRevision: secrets.revision,
        }, { ...parent, dependsOn: secrets.versions });

        // Hosts are private: with no allowed CIDRs the UIs are reached through the SSM tunnels (the DNS name works
        // from inside the VPC); allowed CIDRs (VPN, peered networks) reach the master's private address, since the
        // private zone usually does not resolve there. Both names are in the UI certificate.
        const uiHost: pulumi.Output<string> = uiCidrs.length > 0 ? master.privateIp : pulumi.output(dnsName);
        this.uiUrls = uiHost.apply((host) => Object.fromEntries(Object.entries(MASTER_UIS).map(([ui, port]) => [ui, `https://${host}:${port}`])));
        this.uiTunnels = master.id.apply((id) => Object.fromEntries(Object.entries(MASTER_UIS).map(([ui, port]) => [ui, ssmTunnelCommand(region, id, port)])));
        this.uiCaCertificate = secrets.caCertPem;
        this.masterInstanceId = master.id;
        this.masterPrivateIp = master.privateIp;
        this.workerGroupName = group.name;
        this.masterSecurityGroupId = groups.master.id;
        this.workerSecurityGroupId = groups.worker.id;

        this.registerOutputs({
            uiUrls: this.uiUrls,
            uiTunnels: this.uiTunnels,
            uiCaCertificate: this.uiCaCertificate,
            masterInstanceId: this.masterInstanceId,
            masterPrivateIp: this.masterPrivateIp,
            masterUrl: this.masterUrl,
            workerGroupName: this.workerGroupName,
            masterSecurityGroupId: this.masterSecurityGroupId,
            workerSecurityGroupId: this.workerSecurityGroupId,
            consumerArgs: this.consumerArgs,
        });
    }
}
