import * as pulumi from "@pulumi/pulumi";
import { parsePlatformConfig, PlatformConfig, RawConfig } from "../components/config";
import { clusterName, endpointAccess } from "../components/kubernetes/eks";
import { checkKubernetesArgs, portForwardCommand } from "../components/kubernetes/engine";
import { irsaTrustPolicy, oidcIssuerFromProviderArn, serviceAccountSubject } from "../components/kubernetes/iam";
import { metricsSparkConf, METRICS_PATHS } from "../components/kubernetes/metrics";
import { chartLocation, operatorValues } from "../components/kubernetes/operator";
import { eksKubeconfig } from "../components/kubernetes/provider";
import { imageSparkVersion, kubernetesJobSparkConf, kubernetesLocation, kubernetesSecurityConf, sparkApplicationManifest, SparkApplicationInput } from "../components/kubernetes/sparkApplication";
import { addonVersions, DEFAULT_KUBERNETES_VERSION, KUBERNETES_VERSIONS } from "../components/kubernetes/versions";
import { authSecretName, DRIVER_RULES, podSecurityLabels } from "../components/kubernetes/workload";
import { SECURITY_SETTING_PREFIXES } from "../components/consumerArgs";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { setupMocks } from "./support/mocks";

// The kubernetes engine's pieces on their own: config validation, the version table, the IRSA trust policy, the
// kubeconfig, the operator's values and the SparkApplication builder.

const parse = (raw: RawConfig): PlatformConfig => parsePlatformConfig(raw, "spark-streaming", "test");
const EXISTING = { context: "platform", oidcProviderArn: "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/X", nodeSecurityGroupId: "sg-0abc" };

describe("config", () => {
    test("engine kubernetes with defaults: an EKS cluster of the newest pinned version, the operator installed, audit logs kept as long as flow logs", () => {
        const c = parse({ engine: "kubernetes", network: { flowLogRetentionDays: 365 } });
        expect(c.engine).toBe("kubernetes");
        expect(c.kubernetes).toMatchObject({ cluster: "eks", version: DEFAULT_KUBERNETES_VERSION, namespace: "spark-streaming", serviceAccount: "streaming-consumer", installOperator: true, logRetentionDays: 365, nodeInstanceType: "m6i.xlarge" });
        expect(c.kubernetes.driver).toEqual({ cores: 1, memory: "2g" });
        expect(c.kubernetes.executor).toEqual({ instances: 2, cores: 2, memory: "4g" });
    });

    test("an existing cluster does not get the operator unless asked, and needs the kubeconfig as a secret", () => {
        const c = parse({ engine: "kubernetes", kubernetes: { cluster: "existing", existing: EXISTING }, kubeconfig: "secret" });
        expect(c.kubernetes.installOperator).toBe(false);
        expect(parse({ engine: "kubernetes", kubernetes: { cluster: "existing", existing: EXISTING, installOperator: true }, kubeconfig: "secret" }).kubernetes.installOperator).toBe(true);
    });

    const cases: Array<[string, RawConfig, RegExp]> = [
        ["a version without pinned add-ons", { kubernetes: { version: "1.29" } }, /kubernetes\.version must be one of 1\.31, 1\.32, 1\.33 .*got "1\.29"/],
        ["a Graviton node type", { kubernetes: { nodeInstanceType: "m7g.xlarge" } }, /kubernetes\.nodeInstanceType must be an x86_64 type.*got "m7g\.xlarge"/],
        ["impossible node bounds", { kubernetes: { nodeMin: 3, nodeDesired: 2 } }, /kubernetes\.nodeDesired must satisfy nodeMin <= nodeDesired <= nodeMax; got 3 <= 2 <= 4/],
        ["a bad namespace", { kubernetes: { namespace: "Spark_Streaming" } }, /kubernetes\.namespace must be a Kubernetes name.*got "Spark_Streaming"/],
        ["a bad Spark memory size", { kubernetes: { executor: { memory: "4GB" } } }, /kubernetes\.executor\.memory must be a Spark memory size.*got "4GB"/],
        ["an unknown key", { kubernetes: { nodeType: "m6i.large" } }, /kubernetes: unknown key\(s\) "nodeType"/],
        ["existing without its block", { kubernetes: { cluster: "existing" } }, /kubernetes\.existing is required when kubernetes\.cluster is existing/],
        ["eks with an existing block", { kubernetes: { existing: EXISTING } }, /kubernetes\.existing is only for kubernetes\.cluster existing/],
        ["a bad OIDC provider ARN", { kubernetes: { cluster: "existing", existing: { ...EXISTING, oidcProviderArn: "arn:aws:iam::123456789012:role/x" } } }, /kubernetes\.existing\.oidcProviderArn must be an IAM OIDC provider ARN/],
        ["an admin that is not an IAM principal", { kubernetes: { adminPrincipalArns: ["alice"] } }, /kubernetes\.adminPrincipalArns\.0 must be an IAM role or user ARN/],
        ["existing without a kubeconfig", { engine: "kubernetes", kubernetes: { cluster: "existing", existing: EXISTING } }, /kubeconfig is required when kubernetes\.cluster is existing: pulumi config set --secret kubeconfig/],
        ["a kubeconfig in plain config", { engine: "kubernetes", kubernetes: { cluster: "existing", existing: EXISTING }, kubeconfig: "plain" }, /kubeconfig must be a secret/],
        ["a kubeconfig nobody reads", { engine: "kubernetes", kubeconfig: "secret" }, /kubeconfig is only read for engine kubernetes with kubernetes\.cluster existing; this stack has engine kubernetes and cluster eks/],
        ["existing with MSK but no node group", { engine: "kubernetes", kubernetes: { cluster: "existing", existing: { context: "c", oidcProviderArn: EXISTING.oidcProviderArn } }, kubeconfig: "secret" }, /kubernetes\.existing\.nodeSecurityGroupId is required with kafka\.mode msk/],
    ];
    test.each(cases)("refuses %s, naming the key", (_name, raw, message) => {
        expect(() => parse(raw)).toThrow(message);
    });

    test("the loader hands the kubeconfig over as a secret only for an existing cluster, and refuses a plain one", async () => {
        // Under mocks, so the program has its project name (config keys are project-qualified) as with the CLI.
        await setupMocks();
        const { loadPlatformConfig } = await import("../components/config");
        const base = { "spark-streaming:engine": "kubernetes", "spark-streaming:kubernetes": JSON.stringify({ cluster: "existing", existing: EXISTING }) };
        pulumi.runtime.setAllConfig({ ...base, "spark-streaming:kubeconfig": "apiVersion: v1" }, ["spark-streaming:kubeconfig"]);
        const cfg = loadPlatformConfig();
        expect(pulumi.Output.isInstance(cfg.kubeconfig)).toBe(true);
        expect(await (cfg.kubeconfig as any).isSecret).toBe(true);
        pulumi.runtime.setAllConfig({ ...base, "spark-streaming:kubeconfig": "apiVersion: v1" }, []);
        expect(() => loadPlatformConfig()).toThrow(/kubeconfig must be a secret/);
        pulumi.runtime.setAllConfig({}, []);
        expect(loadPlatformConfig().kubeconfig).toBeUndefined();
    });
});

describe("versions", () => {
    test("every supported version pins all three core add-ons to builds of its own minor version where the add-on follows Kubernetes", () => {
        expect(Object.keys(KUBERNETES_VERSIONS)).toContain(DEFAULT_KUBERNETES_VERSION);
        for (const [version, addons] of Object.entries(KUBERNETES_VERSIONS)) {
            expect(addons["kube-proxy"]).toMatch(new RegExp(`^v${version.replace(".", "\\.")}\\.\\d+-eksbuild\\.\\d+$`));
            expect(addons["vpc-cni"]).toMatch(/^v1\.\d+\.\d+-eksbuild\.\d+$/);
            expect(addons.coredns).toMatch(/^v1\.\d+\.\d+-eksbuild\.\d+$/);
        }
        expect(() => addonVersions("1.40")).toThrow(/kubernetes\.version must be one of .*got "1\.40"/);
    });
});

describe("EKS", () => {
    test("the API endpoint is private; a public one only for the listed ranges; the whole internet never", () => {
        expect(endpointAccess({ allowedCidrs: [] })).toEqual({ endpointPrivateAccess: true, endpointPublicAccess: false });
        expect(endpointAccess({ allowedCidrs: ["203.0.113.0/24", "198.51.100.0/24"] })).toEqual({ endpointPrivateAccess: true, endpointPublicAccess: true, publicAccessCidrs: ["198.51.100.0/24", "203.0.113.0/24"] });
        expect(() => endpointAccess({ allowedCidrs: ["0.0.0.0/0"] })).toThrow(/whole internet/);
    });

    test("the cluster's name is fixed per project and stack, and a valid EKS name", () => {
        expect(clusterName("spark-streaming", "dev")).toBe("spark-streaming-dev");
        expect(clusterName("spark streaming", "team/prod")).toMatch(/^[0-9A-Za-z][0-9A-Za-z-]*$/);
    });

    test("the kubeconfig asks the AWS CLI for short-lived tokens and holds no credential", () => {
        const kc = JSON.parse(eksKubeconfig("c1", "https://x.eks.amazonaws.com", "Q0E=", "eu-west-1"));
        expect(kc["current-context"]).toBe("c1");
        expect(kc.clusters[0].cluster).toEqual({ server: "https://x.eks.amazonaws.com", "certificate-authority-data": "Q0E=" });
        expect(kc.users[0].user).toEqual({ exec: { apiVersion: "client.authentication.k8s.io/v1beta1", command: "aws", args: ["eks", "get-token", "--cluster-name", "c1", "--region", "eu-west-1", "--output", "json"], interactiveMode: "Never" } });
    });
});

describe("IRSA", () => {
    test("the trust policy names the provider, the audience and exactly one service account", () => {
        const arn = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC";
        expect(oidcIssuerFromProviderArn(arn)).toBe("oidc.eks.eu-west-1.amazonaws.com/id/ABC");
        expect(serviceAccountSubject("ns", "sa")).toBe("system:serviceaccount:ns:sa");
        const policy = JSON.parse(irsaTrustPolicy(arn, "ns", "sa"));
        expect(policy.Statement).toHaveLength(1);
        expect(policy.Statement[0].Condition).toEqual({ StringEquals: { "oidc.eks.eu-west-1.amazonaws.com/id/ABC:aud": "sts.amazonaws.com", "oidc.eks.eu-west-1.amazonaws.com/id/ABC:sub": "system:serviceaccount:ns:sa" } });
        expect(() => irsaTrustPolicy("arn:aws:iam::123456789012:role/x", "ns", "sa")).toThrow(/not an IAM OIDC provider ARN/);
    });
});

describe("the operator", () => {
    test("watches exactly one namespace, creates no service account or RBAC for Spark, runs no webhook", () => {
        const v = operatorValues({ jobNamespace: "team-a", serviceAccount: "consumer" });
        expect(v.spark).toEqual({ jobNamespaces: ["team-a"], serviceAccount: { create: false, name: "consumer" }, rbac: { create: false } });
        expect(v.webhook).toEqual({ enable: false });
        expect(v.controller.uiService).toEqual({ enable: false });
    });

    test("the chart's path is relative to the project, so laptops and CI pass the same input", () => {
        expect(chartLocation(path.resolve(__dirname, ".."))).toBe("components/kubernetes/spark-operator-chart");
        expect(chartLocation(path.resolve(__dirname, "..", "components"))).toBe("kubernetes/spark-operator-chart");
    });
});

describe("the SparkApplication", () => {
    const input = (over: Partial<SparkApplicationInput> = {}): SparkApplicationInput => ({
        name: "c1",
        namespace: "ns",
        serviceAccount: "sa",
        image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/r@sha256:" + "a".repeat(64),
        args: ["--topic", "t"],
        consumer: parse({}).consumer,
        config: parse({ engine: "kubernetes" }).kubernetes,
        authSecretName: authSecretName("c1", 3),
        driverEnv: { KAFKA_TOPICS: "[]" },
        sparkVersion: "3.5.7",
        ...over,
    });

    test("the driver's grace period follows consumer.stopGracePeriodSeconds", () => {
        const consumer = { ...parse({}).consumer, stopGracePeriodSeconds: 600 };
        expect(sparkApplicationManifest(input({ consumer })).spec.driver.template.spec.terminationGracePeriodSeconds).toBe(660);
    });

    test("the resources come from kubernetes.driver and kubernetes.executor", () => {
        const config = parse({ engine: "kubernetes", kubernetes: { driver: { cores: 2, memory: "3g" }, executor: { instances: 5, cores: 4, memory: "8g" } } }).kubernetes;
        const spec = sparkApplicationManifest(input({ config })).spec;
        expect(spec.driver).toMatchObject({ cores: 2, memory: "3g" });
        expect(spec.executor).toMatchObject({ instances: 5, cores: 4, memory: "8g" });
    });

    test("a rotation names a new secret, which the pods mount", () => {
        const spec = sparkApplicationManifest(input()).spec;
        expect(spec.driver.template.spec.volumes.find((v: any) => v.secret).secret.secretName).toBe("c1-spark-auth-3");
        expect(spec.executor.template.spec.volumes.find((v: any) => v.secret).secret.secretName).toBe("c1-spark-auth-3");
    });

    test("the security settings are those a consumer's own sparkConf may not override", () => {
        for (const key of Object.keys(kubernetesSecurityConf())) {
            expect(SECURITY_SETTING_PREFIXES.some((p) => key === p || key.startsWith(`${p}.`))).toBe(true);
        }
    });

    test("metrics are on the UI port, with the streaming query's", () => {
        expect(metricsSparkConf()).toMatchObject({ "spark.ui.port": "4040", "spark.sql.streaming.metricsEnabled": "true", "spark.metrics.conf.*.sink.prometheusServlet.path": METRICS_PATHS.driver });
    });

    test("the job reads and writes s3a:// with IRSA credentials", () => {
        expect(kubernetesLocation("b", "data/t/")).toBe("s3a://b/data/t/");
        expect(kubernetesJobSparkConf("eu-west-1")).toEqual({
            "spark.hadoop.fs.s3a.aws.credentials.provider": "com.amazonaws.auth.WebIdentityTokenCredentialsProvider",
            "spark.hadoop.fs.s3a.endpoint.region": "eu-west-1",
            "spark.sql.streaming.checkpointFileManagerClass": "org.apache.spark.internal.io.cloud.AbortableStreamBasedCheckpointFileManager",
        });
    });

    test("sparkVersion is the image's Spark: the Dockerfile's base image tag", () => {
        expect(imageSparkVersion()).toMatch(/^3\.5\.\d+$/);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dockerfile-"));
        fs.writeFileSync(path.join(dir, "Dockerfile"), "FROM python:3.11\n");
        expect(() => imageSparkVersion(path.join(dir, "Dockerfile"))).toThrow(/ARG SPARK_IMAGE=apache\/spark/);
        fs.rmSync(dir, { recursive: true, force: true });
    });
});

describe("the namespace objects and outputs", () => {
    test("namespaces enforce, audit and warn at restricted; the driver may manage only pods, config maps and services", () => {
        expect(podSecurityLabels()).toEqual({ "pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/audit": "restricted", "pod-security.kubernetes.io/warn": "restricted" });
        expect(DRIVER_RULES.flatMap((r) => r.resources).sort()).toEqual(["configmaps", "pods", "services"]);
    });

    test("a port-forward command is ready to run", () => {
        expect(portForwardCommand("ctx", "ns", "service/ui", 4040)).toBe("kubectl --context ctx --namespace ns port-forward service/ui 4040:4040");
    });

    test("an existing cluster needs its block and the kubeconfig", () => {
        const config = parse({ engine: "kubernetes", kubernetes: { cluster: "existing", existing: EXISTING }, kubeconfig: "secret" }).kubernetes;
        expect(() => checkKubernetesArgs(config, undefined)).toThrow(/pulumi config set --secret kubeconfig/);
        expect(() => checkKubernetesArgs(config, pulumi.output("x"))).not.toThrow();
    });
});
