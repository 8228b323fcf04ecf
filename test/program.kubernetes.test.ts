import { isDeepStrictEqual } from "util";
import { consumerStopTimeoutSeconds } from "../components/consumerArgs";
import { clusterResourceArn } from "../components/kafka";
import { metricsPolicyDocument } from "../components/observability/metricsPolicy";
import { dataAccessStatements } from "../components/ec2/policies";
import { CONTROL_PLANE_LOG_TYPES } from "../components/kubernetes/eks";
import { KUBERNETES_VERSIONS } from "../components/kubernetes/versions";
import { checkpointPrefix, deadLetterPrefix, outputPrefix } from "../components/locations";
import { isSecret, promiseOf } from "./support/mocks";
import { EXISTING_NODE_GROUP, EXISTING_OIDC_PROVIDER, KUBECONFIG, KUBERNETES_CASES, KubernetesCase } from "./support/kubernetesStacks";
import { describeObservability } from "./support/observabilityAssertions";
import type { ProgramResource } from "./support/policyRun";

// The whole program under mocks with engine kubernetes, for each shipped stack, on an EKS cluster of its own and on
// an existing cluster, with MSK and with external Kafka: the resource graph, the consumer's IAM role for its service
// account, pod security, no world-open ingress, the outputs; and a new image digest changes the SparkApplication only.

const APP = "kubernetes:sparkoperator.k8s.io/v1beta2:SparkApplication";
const DEV_ALARMS = { lagGrowingPeriods: 10, deadLetterRowsThreshold: 1000, batchDurationMs: 30_000, noProgressPeriods: 3, consumerDownPeriods: 3 };
const PROD_ALARMS = { lagGrowingPeriods: 5, deadLetterRowsThreshold: 100, batchDurationMs: 30_000, noProgressPeriods: 3, consumerDownPeriods: 3 };

interface ProgramRun {
    readonly resources: ProgramResource[];
    readonly outputs: Record<string, any>;
}

async function run(c: KubernetesCase, overrides: Record<string, string> = {}, digest?: string): Promise<ProgramRun> {
    let resources: ProgramResource[] = [];
    const outputs: Record<string, any> = {};
    await jest.isolateModulesAsync(async () => {
        const { registerProgram } = await import("./support/policyRun");
        const hook = digest === undefined ? undefined : (args: any) => (args.type === "docker-build:index:Image" ? { digest } : undefined);
        resources = await registerProgram(c.stack, undefined, { ...c.overrides, ...overrides }, c.secrets, hook);
        const program = await import("../index");
        for (const [k, v] of Object.entries(program)) {
            outputs[k] = v !== undefined && typeof (v as any).apply === "function" ? await promiseOf(v as any) : v;
        }
    });
    return { resources: resources.filter((r) => r.custom || r.type.startsWith("pulumi:providers:")), outputs };
}

describe.each(KUBERNETES_CASES)("$label", (c) => {
    let resources: ProgramResource[];
    let outputs: Record<string, any>;
    const ofType = (type: string) => resources.filter((r) => r.type === type);
    const one = (type: string, name?: string) => {
        const found = ofType(type).filter((r) => name === undefined || r.name === name);
        expect(found.map((r) => r.name)).toHaveLength(1);
        return found[0];
    };
    const app = () => one(APP).inputs;

    // Observability (issue 14): the CloudWatch path on EKS (pod role) and the Prometheus scrape annotations on the driver.
    describeObservability(
        {
            stack: c.stack,
            engine: "kubernetes",
            thresholds: c.stack === "dev" ? DEV_ALARMS : PROD_ALARMS,
            brokers: c.kafka === "msk" ? (c.stack === "dev" ? 2 : 3) : undefined,
        },
        () => ({ outputs, registered: resources }),
        () => app().spec.arguments,
    );

    test("the driver pod is annotated for Prometheus and names its metrics port; no PodMonitor without the operator's CRDs", () => {
        const driver = app().spec.driver.template;
        expect(driver.metadata.annotations).toEqual({ "prometheus.io/scrape": "true", "prometheus.io/port": "9464", "prometheus.io/path": "/metrics" });
        expect(driver.spec.containers[0].ports).toEqual([{ name: "consumer-metrics", containerPort: 9464, protocol: "TCP" }]);
        expect(app().spec.executor.template.metadata.annotations).toBeUndefined();
        expect(app().spec.sparkConf).toMatchObject({ "spark.sql.streaming.metricsEnabled": "true" });
        expect(ofType("kubernetes:monitoring.coreos.com/v1:PodMonitor")).toEqual([]);
    });

    beforeAll(async () => {
        ({ resources, outputs } = await run(c));
    });

    test("exports the standard outputs, the cluster's name and a secret kubeconfig", () => {
        expect(outputs.engine).toBe("kubernetes");
        expect(outputs.checkpointLocation).toBe(`s3://${outputs.bucketName}/${checkpointPrefix("events-consumer")}`);
        expect(outputs.imageUri).toMatch(/^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com\/[a-z0-9._/-]+@sha256:[a-f0-9]{64}$/);
        expect(outputs.clusterName).toBe(c.cluster === "eks" ? `spark-streaming-${c.stack}` : "platform");
        const provider = one("pulumi:providers:kubernetes");
        expect(isSecret(provider.inputs.kubeconfig)).toBe(true);
        if (c.cluster === "existing") {
            expect(provider.inputs.kubeconfig.value).toBe(KUBECONFIG);
            expect(outputs.kubeconfigCommand).toBeUndefined();
        } else {
            expect(JSON.parse(provider.inputs.kubeconfig.value).users[0].user.exec).toMatchObject({ command: "aws", args: expect.arrayContaining(["get-token", `spark-streaming-${c.stack}`]) });
            expect(outputs.kubeconfigCommand).toBe(`aws eks update-kubeconfig --region eu-west-1 --name spark-streaming-${c.stack} --alias spark-streaming-${c.stack}`);
        }
        expect(provider.inputs.context).toBe(outputs.clusterName);
    });

    test("the UIs are kubectl port-forward commands through the cluster's context, each with the local URL it opens", () => {
        expect(Object.keys(outputs.uiTunnels).sort()).toEqual(c.cluster === "eks" ? ["consumerApp", "operatorMetrics"] : ["consumerApp"]);
        for (const [ui, command] of Object.entries<string>(outputs.uiTunnels)) {
            const m = /^kubectl --context (\S+) --namespace (\S+) port-forward (service|deployment)\/(\S+) (\d+):(\d+)$/.exec(command);
            expect(m).not.toBeNull();
            expect(m![1]).toBe(outputs.clusterName);
            expect(new URL(outputs.uiUrls[ui]).port).toBe(m![5]);
            expect(new URL(outputs.uiUrls[ui]).hostname).toBe("localhost");
        }
        // The consumer's tunnel goes to the program's driver UI Service, which targets the port the driver serves.
        const service = one("kubernetes:core/v1:Service").inputs;
        expect(outputs.uiTunnels.consumerApp).toContain(`--namespace ${service.metadata.namespace} port-forward service/${service.metadata.name} `);
        expect(String(service.spec.ports[0].targetPort)).toBe(app().spec.sparkConf["spark.ui.port"]);
        expect(service.spec.selector).toEqual(app().spec.driver.template.metadata.labels["app.kubernetes.io/component"] === "driver" ? { "app.kubernetes.io/instance": "events-consumer", "app.kubernetes.io/component": "driver" } : {});
        expect(service.spec.type).toBe("ClusterIP");
        expect(outputs.uiUrls.consumerMetrics).toBe(`http://localhost:4040${app().spec.sparkConf["spark.metrics.conf.*.sink.prometheusServlet.path"]}`);
    });

    test("the consumer runs the pushed image by digest with the same job flags as the other engines, s3a:// for S3A", () => {
        const spec = app().spec;
        expect(spec.image).toBe(outputs.imageUri);
        expect(spec).toMatchObject({ type: "Python", mode: "cluster", mainApplicationFile: "local:///opt/streaming-consumer/main.py", sparkVersion: "3.5.7" });
        const args: string[] = spec.arguments;
        const flag = (name: string) => args[args.indexOf(name) + 1];
        const s3a = (uri: string) => uri.replace(/^s3:/, "s3a:");
        expect(flag("--bootstrap-servers")).toBe(outputs.kafkaBootstrapBrokers);
        expect(flag("--topic")).toBe("events");
        expect(flag("--output")).toBe(s3a(outputs.outputLocation));
        expect(flag("--dead-letter")).toBe(s3a(outputs.deadLetterLocation));
        expect(flag("--checkpoint")).toBe(s3a(outputs.checkpointLocation));
        expect(flag("--kafka-auth")).toBe("iam");
        expect(args).toContain("spark.hadoop.fs.s3a.aws.credentials.provider=com.amazonaws.auth.WebIdentityTokenCredentialsProvider");
        expect(args).toContain("spark.hadoop.fs.s3a.endpoint.region=eu-west-1");
        // The topics the entrypoint ensures, in the driver's environment.
        const env = spec.driver.template.spec.containers[0].env;
        expect(JSON.parse(env.find((e: any) => e.name === "KAFKA_TOPICS").value)).toEqual([expect.objectContaining({ name: "events" })]);
    });

    test("restarted by the operator, with a driver grace period of the consumer's whole stop timeout", () => {
        const spec = app().spec;
        expect(spec.restartPolicy).toEqual({ type: "Always", onFailureRetryInterval: expect.any(Number), onSubmissionFailureRetryInterval: expect.any(Number) });
        expect(spec.driver.template.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(consumerStopTimeoutSeconds({ stopGracePeriodSeconds: 120 }));
        expect(spec.driver.podName).toBe("events-consumer-driver");
        expect(one(APP).deleteBeforeReplace).toBe(true);
    });

    test("driver and executor pods are restricted: non-root 185, no privilege escalation, no capabilities, seccomp, read-only root", () => {
        const spec = app().spec;
        for (const role of ["driver", "executor"]) {
            const pod = spec[role].template.spec;
            expect(pod.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 185, runAsGroup: 185, fsGroup: 185, seccompProfile: { type: "RuntimeDefault" } });
            expect(pod.containers).toHaveLength(1);
            expect(pod.containers[0].name).toBe(`spark-kubernetes-${role}`);
            expect(pod.containers[0].securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ["ALL"] } });
            expect(pod.nodeSelector).toEqual({ "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64" });
            // Only scratch space and the auth secret: nothing from the node.
            expect(pod.volumes.map((v: any) => Object.keys(v).filter((k) => k !== "name")[0]).sort()).toEqual(["emptyDir", "emptyDir", "emptyDir", "secret"]);
            const mounts = Object.fromEntries(pod.containers[0].volumeMounts.map((m: any) => [m.mountPath, m.name]));
            expect(mounts).toMatchObject({ "/tmp": "tmp", "/opt/spark/work-dir": "work-dir" });
            expect(Object.values(mounts)).toContain("spark-local-dir-1");
            expect(spec[role].serviceAccount).toBe("streaming-consumer");
        }
        for (const ns of ofType("kubernetes:core/v1:Namespace")) {
            expect(ns.inputs.metadata.labels).toMatchObject({ "pod-security.kubernetes.io/enforce": "restricted" });
        }
    });

    test("Spark's RPC is authenticated with a secret mounted from Kubernetes and encrypted, and local I/O is encrypted", () => {
        const spec = app().spec;
        expect(spec.sparkConf).toMatchObject({ "spark.authenticate": "true", "spark.network.crypto.enabled": "true", "spark.network.crypto.saslFallback": "false", "spark.io.encryption.enabled": "true" });
        const secret = one("kubernetes:core/v1:Secret").inputs;
        expect(isSecret(secret.stringData)).toBe(true);
        for (const role of ["driver", "executor"]) {
            const pod = spec[role].template.spec;
            const volume = pod.volumes.find((v: any) => v.secret !== undefined);
            expect(volume.secret.secretName).toBe(secret.metadata.name);
            const mount = pod.containers[0].volumeMounts.find((m: any) => m.name === volume.name);
            expect(mount.readOnly).toBe(true);
            expect(spec.sparkConf[`spark.authenticate.secret.${role}.file`]).toBe(`${mount.mountPath}/${volume.secret.items[0].path}`);
        }
    });

    test("the consumer's IAM role trusts exactly its service account in its namespace, for STS, on this cluster's OIDC issuer", () => {
        const role = one("aws:iam/role:Role", "kubernetes-consumer-role");
        const trust = JSON.parse(role.inputs.assumeRolePolicy);
        const provider = c.cluster === "eks" ? `arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/MOCKOIDCSPARKSTREAMING${c.stack.toUpperCase()}` : EXISTING_OIDC_PROVIDER;
        const issuer = provider.split("oidc-provider/")[1];
        expect(trust.Statement).toEqual([
            {
                Sid: "ConsumerServiceAccountOnly",
                Effect: "Allow",
                Principal: { Federated: provider },
                Action: "sts:AssumeRoleWithWebIdentity",
                Condition: { StringEquals: { [`${issuer}:aud`]: "sts.amazonaws.com", [`${issuer}:sub`]: "system:serviceaccount:spark-streaming:streaming-consumer" } },
            },
        ]);
        const account = one("kubernetes:core/v1:ServiceAccount").inputs;
        expect(account.metadata).toMatchObject({ name: "streaming-consumer", namespace: "spark-streaming", annotations: { "eks.amazonaws.com/role-arn": `arn:aws:iam::123456789012:role/${role.name}-abc1234` } });
    });

    test("the consumer's IAM role holds exactly the other engines' consumer permissions: its prefixes, the data lake key, its Kafka topics and groups", () => {
        const policies = ofType("aws:iam/rolePolicy:RolePolicy").filter((p) => p.name.startsWith("kubernetes-consumer-"));
        expect(policies.map((p) => p.name).sort()).toEqual(["kubernetes-consumer-data", "kubernetes-consumer-kafka", "kubernetes-consumer-metrics"]);
        expect(JSON.parse(policies.find((p) => p.name === "kubernetes-consumer-metrics")!.inputs.policy)).toEqual(JSON.parse(metricsPolicyDocument("SparkStreaming/Consumer")));
        const data = JSON.parse(policies.find((p) => p.name === "kubernetes-consumer-data")!.inputs.policy);
        const bucketArn = `arn:aws:s3:::${outputs.bucketName}`;
        const kmsKeyArn = `arn:aws:kms:eu-west-1:123456789012:data-lake-key`;
        expect(data.Statement).toEqual(dataAccessStatements({ bucketArn, kmsKeyArn, prefixes: [outputPrefix("events"), deadLetterPrefix("events"), checkpointPrefix("events-consumer")] }));
        const kafka = JSON.parse(policies.find((p) => p.name === "kubernetes-consumer-kafka")!.inputs.policy);
        expect(kafka.Statement.map((s: any) => s.Sid)).toEqual(["ConnectToCluster", "ReadAndCreateConfiguredTopics", "UseSparkConsumerGroups", "CommitProgressToMonitoringGroup"]);
        expect(kafka.Statement[3].Resource).toEqual([clusterResourceArn(c.kafka === "msk" ? outputs.kafkaClusterArn : "arn:aws:kafka:eu-west-1:123456789012:cluster/shared/abcd-1234", "group", "events-consumer")]);
        const clusterArn = c.kafka === "msk" ? outputs.kafkaClusterArn : "arn:aws:kafka:eu-west-1:123456789012:cluster/shared/abcd-1234";
        expect(kafka.Statement[0].Resource).toEqual([clusterArn]);
        // Nothing else reaches the pods: the node role stays out of reach (IMDS hop limit 1) and holds no data access.
        expect(ofType("aws:iam/rolePolicy:RolePolicy").filter((p) => p.name.startsWith("kubernetes-node")).map((p) => p.name)).toEqual([]);
    });

    test("no security group admits the whole internet, and none sends every protocol to it", () => {
        const world = (cidr: unknown) => cidr === "0.0.0.0/0" || cidr === "::/0";
        const ingress = ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").filter((r) => world(r.inputs.cidrIpv4) || world(r.inputs.cidrIpv6));
        expect(ingress.map((r) => r.name)).toEqual([]);
        const allOut = ofType("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule").filter((r) => r.inputs.ipProtocol === "-1" && (world(r.inputs.cidrIpv4) || world(r.inputs.cidrIpv6)));
        expect(allOut.map((r) => r.name)).toEqual([]);
        for (const sg of ofType("aws:ec2/securityGroup:SecurityGroup")) {
            expect({ name: sg.name, ingress: sg.inputs.ingress ?? [], egress: sg.inputs.egress ?? [] }).toEqual({ name: sg.name, ingress: [], egress: [] });
        }
    });

    test("every resource belongs to a component", () => {
        expect(resources.filter((r) => r.custom && !r.type.startsWith("pulumi:providers:") && !r.parent.includes("spark-streaming:")).map((r) => r.name)).toEqual([]);
    });

    if (c.kafka === "msk") {
        test("MSK admits the cluster's nodes on its client port, and only them besides the brokers", () => {
            const fromClients = ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").filter((r) => r.name.startsWith("kubernetes-kafka-from"));
            expect(fromClients).toHaveLength(1);
            expect(fromClients[0].inputs).toMatchObject({ ipProtocol: "tcp", fromPort: 9098, toPort: 9098 });
            if (c.cluster === "existing") {
                expect(fromClients[0].inputs.referencedSecurityGroupId).toBe(EXISTING_NODE_GROUP);
            } else {
                expect(fromClients[0].propertyDependencies.referencedSecurityGroupId).toEqual([one("aws:ec2/securityGroup:SecurityGroup", "kubernetes-nodes").realUrn]);
            }
        });
    }

    if (c.cluster === "eks") {
        test("EKS: private endpoint, secrets envelope-encrypted with its own rotating key, every control-plane log kept, access entries only", () => {
            const cluster = one("aws:eks/cluster:Cluster").inputs;
            expect(cluster.vpcConfig).toMatchObject({ endpointPrivateAccess: true, endpointPublicAccess: false });
            expect(cluster.vpcConfig.publicAccessCidrs).toBeUndefined();
            expect(cluster.encryptionConfig.resources).toEqual(["secrets"]);
            const key = one("aws:kms/key:Key", "kubernetes-secrets-key");
            expect(key.inputs.enableKeyRotation).toBe(true);
            expect(one("aws:eks/cluster:Cluster").propertyDependencies.encryptionConfig).toEqual([key.realUrn]);
            expect(cluster.enabledClusterLogTypes).toEqual([...CONTROL_PLANE_LOG_TYPES]);
            const logs = one("aws:cloudwatch/logGroup:LogGroup", "kubernetes-control-plane-logs").inputs;
            expect(logs).toEqual(expect.objectContaining({ name: `/aws/eks/spark-streaming-${c.stack}/cluster`, retentionInDays: c.stack === "prod" ? 365 : 14 }));
            expect(cluster.accessConfig).toEqual({ authenticationMode: "API", bootstrapClusterCreatorAdminPermissions: true });
            expect(cluster.vpcConfig.subnetIds).toEqual(expect.arrayContaining([expect.stringMatching(/^network-private-/)]));
            expect(cluster.deletionProtection).toBe(c.stack === "prod");
            expect(key.retainOnDelete).toBe(c.stack === "prod");
        });

        test("EKS: the node group runs x86 AL2023 in the private subnets from a launch template with IMDSv2, hop limit 1, encrypted volumes and its own group", () => {
            const group = one("aws:eks/nodeGroup:NodeGroup").inputs;
            expect(group).toMatchObject({ amiType: "AL2023_x86_64_STANDARD", instanceTypes: ["m6i.xlarge"], scalingConfig: { minSize: 2, desiredSize: 2, maxSize: 4 } });
            expect(group.remoteAccess).toBeUndefined();
            const template = one("aws:ec2/launchTemplate:LaunchTemplate", "kubernetes-nodes");
            expect(one("aws:eks/nodeGroup:NodeGroup").propertyDependencies.launchTemplate).toEqual([template.realUrn]);
            expect(template.inputs.metadataOptions).toMatchObject({ httpTokens: "required", httpPutResponseHopLimit: 1, httpEndpoint: "enabled" });
            expect(template.inputs.blockDeviceMappings[0].ebs).toMatchObject({ encrypted: "true" });
            expect(template.propertyDependencies.vpcSecurityGroupIds).toEqual([one("aws:ec2/securityGroup:SecurityGroup", "kubernetes-nodes").realUrn]);
        });

        test("EKS: the core add-ons are pinned to the cluster's version; CoreDNS waits for the nodes, the nodes for the network add-ons", () => {
            const version = one("aws:eks/cluster:Cluster").inputs.version;
            const addons: Record<string, ProgramResource> = Object.fromEntries(ofType("aws:eks/addon:Addon").map((a) => [a.inputs.addonName, a]));
            expect(Object.keys(addons).sort()).toEqual(["coredns", "kube-proxy", "vpc-cni"]);
            for (const [name, addon] of Object.entries(addons)) {
                expect(addon.inputs.addonVersion).toBe((KUBERNETES_VERSIONS[version] as any)[name]);
            }
            const nodes = one("aws:eks/nodeGroup:NodeGroup");
            expect(addons.coredns.dependencies).toContain(nodes.realUrn);
            expect(nodes.dependencies).toEqual(expect.arrayContaining([addons["vpc-cni"].realUrn, addons["kube-proxy"].realUrn]));
            expect(one("aws:eks/cluster:Cluster").inputs.bootstrapSelfManagedAddons).toBe(false);
        });

        test("EKS: the OIDC provider is the cluster's issuer, for STS only; the operator is installed", () => {
            const oidc = one("aws:iam/openIdConnectProvider:OpenIdConnectProvider");
            expect(oidc.inputs.clientIdLists).toEqual(["sts.amazonaws.com"]);
            expect(oidc.propertyDependencies.url).toEqual([one("aws:eks/cluster:Cluster").realUrn]);
            expect(ofType("kubernetes:helm.sh/v3:Release")).toHaveLength(1);
        });
    } else {
        test("existing cluster: nothing of EKS is created, nor the operator (the cluster brings its own)", () => {
            expect(resources.filter((r) => r.type.startsWith("aws:eks/") || r.type === "aws:iam/openIdConnectProvider:OpenIdConnectProvider").map((r) => r.type)).toEqual([]);
            expect(ofType("kubernetes:helm.sh/v3:Release")).toEqual([]);
            expect(ofType("kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition")).toEqual([]);
            expect(ofType("kubernetes:core/v1:Namespace").map((n) => n.inputs.metadata.name)).toEqual(["spark-streaming"]);
        });
    }
});

describe("a new image digest", () => {
    const c = KUBERNETES_CASES[0];
    let first: ProgramRun;
    let second: ProgramRun;
    beforeAll(async () => {
        first = await run(c, {}, `sha256:${"1".repeat(64)}`);
        second = await run(c, {}, `sha256:${"2".repeat(64)}`);
    });

    test("changes exactly the SparkApplication's image, and nothing else in the preview", () => {
        const byUrn = (r: ProgramRun) => new Map(r.resources.map((x) => [x.realUrn, { inputs: x.inputs, deps: x.dependencies }]));
        const a = byUrn(first);
        const b = byUrn(second);
        expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
        const changed = [...a.keys()].filter((urn) => !isDeepStrictEqual(a.get(urn), b.get(urn)));
        expect(changed.map((urn) => urn.split("::").slice(-2).join("::"))).toEqual([`spark-streaming:kubernetes:KubernetesEngine$${APP}::kubernetes-consumer`]);
        const [urn] = changed;
        expect(a.get(urn)!.inputs.spec.image).toMatch(/@sha256:1{64}$/);
        expect(b.get(urn)!.inputs.spec.image).toMatch(/@sha256:2{64}$/);
        expect({ ...b.get(urn)!.inputs.spec, image: "" }).toEqual({ ...a.get(urn)!.inputs.spec, image: "" });
    });
});
