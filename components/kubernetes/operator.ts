import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { OPERATOR_METRICS_PORT } from "./metrics";

// The Kubeflow Spark Operator from its Helm chart 2.5.2, vendored in spark-operator-chart/ (see VENDORED.md), watching
// only the consumer's namespace.
//
// The CRDs are declared here as CustomResourceDefinition resources from the chart's own crds/ folder, and the
// release skips them. That handles the known problem of a custom resource whose CRD comes with a chart in the same
// program (pulumi-kubernetes issues #1712, #3035, #3247: "no matches for kind" when the kind is resolved before the
// chart has installed its CRDs), on an empty cluster or one that does not exist yet:
//  - preview: the CRDs are plain creates, and the provider records every CRD it checks (its CRD cache, PR #2904),
//    so nothing that resolves kinds fails; the SparkApplication, a plain CustomResource, previews as a create too:
//    Check does not reject a kind the cluster lacks (rejectUnknownResources is off) and Create skips the server-side
//    dry run while the kind is not registered (provider.go: skipPreview when !gvkExists);
//  - up: the SparkApplication waits (dependsOn) for the CRDs and for the release (the operator running); the
//    provider retries "no matches for kind" while its discovery cache catches up with the new CRDs.
// It also puts the CRDs under Pulumi: Helm installs crds/ once and never upgrades them, so a chart upgrade would
// otherwise leave the old schema in place.
//
// Values: the webhook is off. The consumer's pods come from pod templates, which Spark applies itself; the operator
// only asks its webhook to mutate pods of applications without templates, and every field the webhook would default
// is set explicitly on the SparkApplication. Without a webhook, no admission call can block pods or applications
// while the operator restarts. The operator's own UI service is off too: the program's driver UI Service has a
// stable name (workload.ts).

/** The chart, as shipped with the program. */
export const OPERATOR_CHART_DIR = path.join(__dirname, "spark-operator-chart");
export const OPERATOR_CHART_VERSION = "2.5.2";
/** The release's name; the controller's resources are named after it (spark-operator-controller). */
export const OPERATOR_RELEASE = "spark-operator";

/** The chart's CRDs (crds/*.yaml, sorted by file name). */
export function operatorCrds(chartDir: string = OPERATOR_CHART_DIR): Record<string, any>[] {
    const dir = path.join(chartDir, "crds");
    return fs
        .readdirSync(dir)
        .filter((f) => f.endsWith(".yaml"))
        .sort()
        .map((f) => parseYaml(fs.readFileSync(path.join(dir, f), "utf8")));
}

/** The chart path as the release stores it: relative to the project folder, so laptops and CI render the same input. */
export function chartLocation(cwd: string = process.cwd()): string {
    return path.relative(cwd, OPERATOR_CHART_DIR).split(path.sep).join("/");
}

export interface OperatorValuesInput {
    /** The only namespace the operator watches and gets rights in. */
    readonly jobNamespace: string;
    /** The consumer's service account (created by the program; the chart creates none). */
    readonly serviceAccount: string;
}

/** The chart values the program passes (the helm template test renders the chart with exactly these). */
export function operatorValues(input: OperatorValuesInput): Record<string, any> {
    return {
        controller: {
            replicas: 1,
            uiService: { enable: false },
            resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "1Gi" } },
            nodeSelector: { "kubernetes.io/os": "linux" },
        },
        webhook: { enable: false },
        spark: {
            jobNamespaces: [input.jobNamespace],
            // The program creates the consumer's service account (with its IRSA role) and the driver's Role.
            serviceAccount: { create: false, name: input.serviceAccount },
            rbac: { create: false },
        },
        prometheus: { metrics: { enable: true, port: OPERATOR_METRICS_PORT } },
    };
}

export interface SparkOperatorArgs extends OperatorValuesInput {
    readonly namespace: string;
    /** What must exist first (the namespaces). */
    readonly dependsOn: pulumi.Resource[];
}

export interface SparkOperator {
    readonly crds: k8s.apiextensions.v1.CustomResourceDefinition[];
    readonly release: k8s.helm.v3.Release;
}

export function sparkOperator(name: string, args: SparkOperatorArgs, opts: pulumi.CustomResourceOptions): SparkOperator {
    const crds = operatorCrds().map(
        (crd) => new k8s.apiextensions.v1.CustomResourceDefinition(`${name}-crd-${crd.spec.names.plural}`, { metadata: crd.metadata, spec: crd.spec }, opts),
    );
    const release = new k8s.helm.v3.Release(
        `${name}-operator`,
        {
            name: OPERATOR_RELEASE,
            chart: chartLocation(),
            namespace: args.namespace,
            skipCrds: true,
            values: operatorValues(args),
            // A failed upgrade rolls back instead of leaving a half-updated operator.
            atomic: true,
            cleanupOnFail: true,
            maxHistory: 10,
            timeout: 600,
        },
        { ...opts, dependsOn: [...crds, ...args.dependsOn] },
    );
    return { crds, release };
}
