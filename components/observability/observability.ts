import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ConsumerConfig, KafkaConfig } from "../config";
import { Ec2Engine } from "../ec2/engine";
import { EmrEngine } from "../emr/cluster";
import { KubernetesEngine } from "../kubernetes/engine";
import { ObservabilityConfig } from "../config/observability";
import { AlarmTopic } from "./alarmTopic";
import { alarmDefinitions, triggerSeconds } from "./alarms";
import { dashboardBody, dashboardUrl, HostsRef } from "./dashboard";

// AWS engines (emr, ec2, kubernetes): the stack's alarms, the SNS topic they notify and one CloudWatch dashboard.
// The consumer publishes its metrics itself (streaming_consumer/metrics.py, PutMetricData with its own role).

/** The dimensions the consumer sets on every metric (streaming_consumer.metrics.BASE_DIMENSIONS). */
export function consumerDimensions(stack: string, consumer: Pick<ConsumerConfig, "name">): Record<string, string> {
    return { Consumer: consumer.name, Stack: stack };
}

/** The MSK cluster's name from its ARN (arn:...:cluster/NAME/UUID): AWS/Kafka's "Cluster Name" dimension. */
export function mskClusterName(clusterArn: string): string {
    const m = /:cluster\/([^/]+)\//.exec(clusterArn);
    if (!m) {
        throw new Error(`"${clusterArn}" is not an MSK cluster ARN`);
    }
    return m[1];
}

/** CloudWatch dashboard and alarm names allow letters, digits, '-' and '_'. */
export function observabilityPrefix(project: string, stack: string, consumer: string): string {
    return `${project}-${stack}-${consumer}`.replace(/[^A-Za-z0-9_-]/g, "-");
}

/** The hosts an engine runs Spark on, for the dashboard's host-health widgets. */
export function hostsRef(spark: KubernetesEngine | Ec2Engine | EmrEngine): pulumi.Output<HostsRef> {
    if (spark instanceof KubernetesEngine) {
        return spark.clusterName.apply((clusterName) => ({ kind: "kubernetes" as const, clusterName }));
    }
    if (spark instanceof Ec2Engine) {
        return pulumi.all([spark.masterInstanceId, spark.workerGroupName]).apply(([masterInstanceId, workerGroupName]) => ({ kind: "ec2" as const, masterInstanceId, workerGroupName }));
    }
    return spark.clusterId.apply((clusterId) => ({ kind: "emr" as const, clusterId }));
}

/** MSK's identity for its metrics: the cluster ARN, and the broker count when provisioned; undefined for external Kafka. */
export function mskRef(config: KafkaConfig, kafka: { readonly clusterArn: pulumi.Output<string> | undefined }): ObservabilityArgs["msk"] {
    if (config.mode === "external" || kafka.clusterArn === undefined) {
        return undefined;
    }
    return { clusterArn: kafka.clusterArn, brokerCount: config.mode === "msk" ? config.brokerCount : undefined };
}

export interface ObservabilityArgs {
    readonly project: string;
    readonly stack: string;
    readonly region: string;
    readonly consumer: ConsumerConfig;
    readonly config: ObservabilityConfig;
    /** MSK: the cluster ARN and (provisioned) broker count; undefined for external Kafka. */
    readonly msk?: { readonly clusterArn: pulumi.Input<string>; readonly brokerCount?: number };
    /** The hosts Spark runs on, for the host-health widgets. */
    readonly hosts: pulumi.Input<HostsRef>;
}

export class Observability extends pulumi.ComponentResource {
    public readonly dashboardName: pulumi.Output<string>;
    public readonly dashboardUrl: pulumi.Output<string>;
    public readonly alarmTopicArn: pulumi.Output<string>;
    public readonly alarmNames: string[];

    constructor(name: string, args: ObservabilityArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("spark-streaming:observability:Observability", name, {}, opts);
        const { config, consumer } = args;
        const parent = { parent: this };
        const prefix = observabilityPrefix(args.project, args.stack, consumer.name);
        const dimensions = consumerDimensions(args.stack, consumer);
        const trigger = triggerSeconds(consumer.triggerInterval);

        // 1. Where alarms go.
        const topic = new AlarmTopic(`${name}-alarms`, { email: config.alarmEmail }, parent);

        // 2. The alarms, each notifying on alarm and on recovery.
        const definitions = alarmDefinitions({ prefix, namespace: config.namespace, dimensions, topic: consumer.topic, triggerSeconds: trigger, thresholds: config.alarms });
        const alarms = definitions.map(({ key, ...d }) => new aws.cloudwatch.MetricAlarm(`${name}-${key}`, { ...d, alarmActions: [topic.topicArn], okActions: [topic.topicArn] }, parent));
        this.alarmNames = definitions.map((d) => d.name);

        // 3. The dashboard.
        const msk = args.msk ? pulumi.output(args.msk.clusterArn).apply((arn) => ({ clusterName: mskClusterName(arn), brokerCount: args.msk!.brokerCount })) : pulumi.output(undefined);
        const body = pulumi.all([msk, args.hosts, pulumi.all(alarms.map((a) => a.arn))]).apply(([m, hosts, alarmArns]) =>
            JSON.stringify(dashboardBody({ region: args.region, namespace: config.namespace, dimensions, topic: consumer.topic, consumerGroup: config.consumerGroup, triggerSeconds: trigger, msk: m, hosts, alarmArns })),
        );
        const dashboard = new aws.cloudwatch.Dashboard(`${name}-dashboard`, { dashboardName: prefix, dashboardBody: body }, parent);

        this.dashboardName = dashboard.dashboardName;
        this.dashboardUrl = dashboard.dashboardName.apply((n) => dashboardUrl(args.region, n));
        this.alarmTopicArn = topic.topicArn;
        this.registerOutputs({ dashboardName: this.dashboardName, dashboardUrl: this.dashboardUrl, alarmTopicArn: this.alarmTopicArn });
    }
}
