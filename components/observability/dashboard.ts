import { metric } from "./catalog";

// The stack's CloudWatch dashboard body, built as a plain object (tests read it directly; observability.ts declares
// it): the consumer's own metrics first, then Kafka (MSK's broker health and disk, and the lag MSK computes from the
// consumer group the consumer commits to), then the hosts Spark runs on. Every consumer metric is named through the
// catalog, so a metric the consumer does not emit cannot reach the dashboard.

/** Where Spark runs, as far as host health goes. */
export type HostsRef =
    | { readonly kind: "emr"; readonly clusterId: string }
    | { readonly kind: "ec2"; readonly masterInstanceId: string; readonly workerGroupName: string }
    | { readonly kind: "kubernetes"; readonly clusterName: string };

export interface DashboardInput {
    readonly region: string;
    readonly namespace: string;
    /** The consumer's base dimensions (Stack, Consumer). */
    readonly dimensions: Readonly<Record<string, string>>;
    readonly topic: string;
    readonly consumerGroup: string;
    readonly triggerSeconds: number;
    /** MSK provisioned: its name and broker count (broker metrics); serverless: its name; external Kafka: undefined. */
    readonly msk?: { readonly clusterName: string; readonly brokerCount?: number };
    readonly hosts: HostsRef;
    /** The alarms' ARNs, shown as one status widget. */
    readonly alarmArns: readonly string[];
}

type MetricLine = Array<string | Record<string, unknown>>;

const WIDTH = 8;
const HEIGHT = 6;

function consumerLine(input: DashboardInput, name: string, options: Record<string, unknown> = {}): MetricLine {
    const m = metric(name);
    const values: Record<string, string> = { ...input.dimensions, Topic: input.topic };
    return [input.namespace, m.name, ...m.dimensions.flatMap((d) => [d, values[d]]), ...(Object.keys(options).length ? [options] : [])];
}

function widget(title: string, metrics: MetricLine[], extra: Record<string, unknown> = {}) {
    return { type: "metric", width: WIDTH, height: HEIGHT, properties: { title, region: "", metrics, view: "timeSeries", period: 60, ...extra } };
}

function text(markdown: string, width = 24) {
    return { type: "text", width, height: 2, properties: { markdown } };
}

function kafkaWidgets(input: DashboardInput) {
    if (input.msk === undefined) {
        return [text("### Kafka\nExternal Kafka: its broker metrics live where it runs. The consumer group `" + input.consumerGroup + "` shows the consumer's lag in any Kafka tool.")];
    }
    const cluster = input.msk.clusterName;
    const lag = widget("MSK: consumer-group lag (from the committed group offsets)", [
        ["AWS/Kafka", "SumOffsetLag", "Consumer Group", input.consumerGroup, "Cluster Name", cluster, "Topic", input.topic, { stat: "Maximum" }],
        ["AWS/Kafka", "EstimatedMaxTimeLag", "Consumer Group", input.consumerGroup, "Cluster Name", cluster, "Topic", input.topic, { stat: "Maximum", yAxis: "right" }],
    ]);
    if (input.msk.brokerCount === undefined) {
        return [text("### Kafka (MSK Serverless)\nServerless publishes no broker CPU or disk metrics; lag comes from the consumer group."), lag];
    }
    const brokers = Array.from({ length: input.msk.brokerCount }, (_, i) => String(i + 1));
    const perBroker = (name: string, stat = "Maximum") => brokers.map((b) => ["AWS/Kafka", name, "Cluster Name", cluster, "Broker ID", b, { stat, label: `broker ${b}` }]);
    return [
        text("### Kafka (MSK)"),
        widget("MSK: broker data disk used (%)", perBroker("KafkaDataLogsDiskUsed"), {
            yAxis: { left: { min: 0, max: 100 } },
            annotations: { horizontal: [{ label: "expand storage (kafka.maxEbsVolumeGb)", value: 85 }] },
        }),
        widget("MSK: broker CPU user (%)", perBroker("CpuUser")),
        widget("MSK: cluster health", [
            ["AWS/Kafka", "ActiveControllerCount", "Cluster Name", cluster, { stat: "Sum" }],
            ["AWS/Kafka", "OfflinePartitionsCount", "Cluster Name", cluster, { stat: "Maximum" }],
            ...brokers.map((b) => ["AWS/Kafka", "UnderReplicatedPartitions", "Cluster Name", cluster, "Broker ID", b, { stat: "Maximum", label: `under-replicated, broker ${b}` }]),
        ]),
        lag,
    ];
}

function hostWidgets(hosts: HostsRef) {
    switch (hosts.kind) {
        case "emr":
            return [
                text("### EMR cluster"),
                widget("EMR: YARN memory available (%) and pending containers", [
                    ["AWS/ElasticMapReduce", "YARNMemoryAvailablePercentage", "JobFlowId", hosts.clusterId],
                    ["AWS/ElasticMapReduce", "ContainerPending", "JobFlowId", hosts.clusterId, { yAxis: "right" }],
                ]),
                widget("EMR: nodes", [
                    ["AWS/ElasticMapReduce", "CoreNodesRunning", "JobFlowId", hosts.clusterId],
                    ["AWS/ElasticMapReduce", "MRUnhealthyNodes", "JobFlowId", hosts.clusterId],
                    ["AWS/ElasticMapReduce", "MRLostNodes", "JobFlowId", hosts.clusterId],
                ]),
                widget("EMR: HDFS used (%) and running apps", [
                    ["AWS/ElasticMapReduce", "HDFSUtilization", "JobFlowId", hosts.clusterId],
                    ["AWS/ElasticMapReduce", "AppsRunning", "JobFlowId", hosts.clusterId, { yAxis: "right" }],
                ]),
            ];
        case "ec2":
            return [
                text("### Spark hosts (EC2)"),
                widget("EC2: CPU (%)", [
                    ["AWS/EC2", "CPUUtilization", "InstanceId", hosts.masterInstanceId, { label: "master (driver)" }],
                    ["AWS/EC2", "CPUUtilization", "AutoScalingGroupName", hosts.workerGroupName, { label: "workers (average)" }],
                ]),
                widget("EC2: status checks failed", [
                    ["AWS/EC2", "StatusCheckFailed", "InstanceId", hosts.masterInstanceId, { stat: "Maximum", label: "master" }],
                    ["AWS/EC2", "StatusCheckFailed", "AutoScalingGroupName", hosts.workerGroupName, { stat: "Maximum", label: "workers" }],
                ]),
                widget("EC2: network in/out (bytes)", [
                    ["AWS/EC2", "NetworkIn", "InstanceId", hosts.masterInstanceId, { stat: "Sum", label: "master in" }],
                    ["AWS/EC2", "NetworkOut", "AutoScalingGroupName", hosts.workerGroupName, { stat: "Sum", label: "workers out" }],
                ]),
            ];
        case "kubernetes":
            return [
                text(
                    `### Kubernetes (${hosts.clusterName})\nNode and pod health come from the cluster's own monitoring (Container Insights or Prometheus; see README, Operating it). ` +
                        "The consumer's metrics above are published by its pod role (IRSA).",
                ),
            ];
    }
}

/** The dashboard body as CloudWatch's PutDashboard takes it (an object; serialize with JSON.stringify). */
export function dashboardBody(input: DashboardInput): { widgets: Array<Record<string, any>> } {
    const triggerMs = input.triggerSeconds * 1000;
    const consumer = [
        text(`## Consumer ${input.dimensions.Consumer ?? ""} on topic ${input.topic}\nAlarms and what to do: README.md, Operating it.`),
        { type: "alarm", width: 24, height: 3, properties: { title: "Alarms", alarms: [...input.alarmArns] } },
        widget("Throughput (rows/s)", [
            consumerLine(input, "InputRowsPerSecond", { label: "input" }),
            consumerLine(input, "ProcessedRowsPerSecond", { label: "processed" }),
        ]),
        widget("Records behind latest", [consumerLine(input, "RecordsBehindLatest", { stat: "Maximum" })]),
        widget("Batch duration vs trigger (ms)", [
            consumerLine(input, "BatchDurationMs", { stat: "Maximum", label: "longest batch" }),
            consumerLine(input, "TriggerOverrunMs", { stat: "Maximum", label: "overrun" }),
        ], { annotations: { horizontal: [{ label: "trigger interval", value: triggerMs }] } }),
        widget("Rows written (per minute)", [
            consumerLine(input, "ValidRows", { stat: "Sum", label: "valid" }),
            consumerLine(input, "DeadLetterRows", { stat: "Sum", label: "dead letter" }),
        ]),
        widget("Alive: heartbeats and driver up (per minute)", [
            consumerLine(input, "Heartbeat", { stat: "SampleCount", label: "triggers completed" }),
            consumerLine(input, "ConsumerUp", { stat: "SampleCount", label: "driver up" }),
        ]),
        widget("Input rows (per minute)", [consumerLine(input, "InputRows", { stat: "Sum" })]),
    ];
    const widgets = [...consumer, ...kafkaWidgets(input), ...hostWidgets(input.hosts)].map((w) =>
        w.type === "metric" ? { ...w, properties: { ...w.properties, region: input.region } } : w,
    );
    return { widgets };
}

/** The console URL of a dashboard. */
export function dashboardUrl(region: string, dashboardName: string): string {
    return `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards/dashboard/${encodeURIComponent(dashboardName)}`;
}
