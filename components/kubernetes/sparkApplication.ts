import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";
import { CONSUMER_CONTEXT } from "../buildContext";
import { KubernetesConfig } from "../config";
import { ConsumerSpec, consumerStopTimeoutSeconds } from "../consumerArgs";
import { checkImagePinned } from "../ec2/userData";
import { SPARK_UID } from "../ec2/sparkSecurity";
import { driverMetricsPorts, driverScrapeAnnotations, metricsSparkConf } from "./metrics";

// The consumer as a Spark Operator application (sparkoperator.k8s.io/v1beta2), built as a plain object so tests
// validate it against the operator's own CRD schema and run what it implies.
//
// Pods: everything pod-level is in the driver and executor pod templates (a Kubernetes PodTemplateSpec each), which
// Spark itself merges into the pods it creates; with templates the operator needs no mutating webhook (it labels
// pods for mutation only when a template is missing), and the CRD's own pod fields (securityContext, volumes,
// env, terminationGracePeriodSeconds) would only be applied by that webhook.
//
// Exactly one consumer per checkpoint: any spec change (a new image digest, a setting) makes the operator mark the
// application Invalidating, delete the driver pod (graceful: SIGTERM, then this pod's terminationGracePeriodSeconds,
// which is the consumer's own stop timeout) and resubmit only once the driver pod is gone (PendingRerun checks the
// pod is NotFound). The driver's pod name is fixed, so the API server could not hold two drivers at once anyway;
// executors are owned by the driver pod and exit without it. The new driver resumes from the checkpoint.

export const SPARK_APPLICATION_API_VERSION = "sparkoperator.k8s.io/v1beta2";
/** The job's entry point inside the image (Dockerfile: COPY main.py /opt/streaming-consumer/). */
export const MAIN_APPLICATION_FILE = "local:///opt/streaming-consumer/main.py";
/** Container names Spark looks for in the templates (the operator passes them as podTemplateContainerName). */
export const DRIVER_CONTAINER = "spark-kubernetes-driver";
export const EXECUTOR_CONTAINER = "spark-kubernetes-executor";
/** Where the spark.authenticate secret is mounted, in driver and executors. */
export const AUTH_SECRET_DIR = "/etc/spark-auth";
export const AUTH_SECRET_KEY = "secret";
/** Writable scratch space on a read-only root filesystem. */
export const SCRATCH_MOUNTS = { tmp: "/tmp", workDir: "/opt/spark/work-dir", localDir: "/var/data/spark-local" } as const;
/** Seconds an executor gets to exit after the driver deletes it. */
export const EXECUTOR_GRACE_SECONDS = 60;
/** Operator retry intervals (seconds) after a failed run and after a failed submission. */
export const RETRY_INTERVALS = { onFailure: 30, onSubmissionFailure: 60 } as const;
/** Labels on the driver and executor pods (template metadata survives into Spark's pods); the UI Service selects on them. */
export const APP_LABEL = "app.kubernetes.io/instance";
export const COMPONENT_LABEL = "app.kubernetes.io/component";

/** The Spark version of the image: the tag of the Dockerfile's Spark base image (apache/spark:<version>-...). */
export function imageSparkVersion(dockerfile: string = path.join(CONSUMER_CONTEXT, "Dockerfile")): string {
    const m = /^ARG SPARK_IMAGE=apache\/spark:(\d+\.\d+\.\d+)-/m.exec(fs.readFileSync(dockerfile, "utf8"));
    if (!m) {
        throw new Error(`${dockerfile} has no "ARG SPARK_IMAGE=apache/spark:<version>-..." line; the SparkApplication's sparkVersion is read from it`);
    }
    return m[1];
}

/**
 * Spark's security settings on Kubernetes (sorted keys): every RPC and block transfer between driver and executors
 * authenticated with a shared secret (a Kubernetes secret mounted in both, never in the pod spec) and encrypted
 * (AES; the cipher stays Spark 3.5's default, as on ec2, see components/ec2/sparkSecurity.ts), no fallback to the
 * older SASL handshake, and shuffle and spill files encrypted on the pods' scratch disks.
 */
export function kubernetesSecurityConf(secretFile: string = `${AUTH_SECRET_DIR}/${AUTH_SECRET_KEY}`): Record<string, string> {
    return {
        "spark.authenticate": "true",
        "spark.authenticate.secret.driver.file": secretFile,
        "spark.authenticate.secret.executor.file": secretFile,
        "spark.io.encryption.enabled": "true",
        "spark.network.crypto.enabled": "true",
        "spark.network.crypto.saslFallback": "false",
    };
}

/**
 * The job's engine settings (they travel in its arguments, like the ec2 engine's): S3A talks to the bucket's region
 * with the IRSA web identity token as its only credentials, and checkpoints are written without S3's copy-and-delete
 * rename. The locations are given as s3a:// (kubernetesLocation): the rename-free checkpoint manager and the file
 * sink's log use Hadoop's FileContext, whose S3A binding serves only the s3a scheme (s3:// mapped to S3A fails there
 * with "No AbstractFileSystem configured for scheme: s3" or a scheme mismatch).
 */
export function kubernetesJobSparkConf(region: string): Record<string, string> {
    return {
        "spark.hadoop.fs.s3a.aws.credentials.provider": "com.amazonaws.auth.WebIdentityTokenCredentialsProvider",
        "spark.hadoop.fs.s3a.endpoint.region": region,
        "spark.sql.streaming.checkpointFileManagerClass": ABORTABLE_CHECKPOINT_MANAGER,
    };
}

/** The rename-free checkpoint manager (spark-hadoop-cloud, in the image). */
export const ABORTABLE_CHECKPOINT_MANAGER = "org.apache.spark.internal.io.cloud.AbortableStreamBasedCheckpointFileManager";

/** `s3a://bucket/prefix`: where the job on Kubernetes reads and writes (the same objects as the stack's s3:// outputs). */
export function kubernetesLocation(bucket: string, prefix: string): string {
    return `s3a://${bucket}/${prefix}`;
}

export interface SparkApplicationInput {
    readonly name: string;
    readonly namespace: string;
    readonly serviceAccount: string;
    /** `repository@sha256:...`: the only field a new image changes. */
    readonly image: string;
    /** The job's flags (consumerJobArgs). */
    readonly args: string[];
    /** The consumer; its telemetry (when set) gives the driver its metrics port and scrape annotations. */
    readonly consumer: ConsumerSpec;
    readonly config: KubernetesConfig;
    /** The Kubernetes secret holding spark.authenticate's secret. */
    readonly authSecretName: string;
    /** The driver's environment (KAFKA_TOPICS: the entrypoint creates missing topics before the query starts). */
    readonly driverEnv: Record<string, string>;
    readonly sparkVersion: string;
}

const POD_SECURITY_CONTEXT = {
    runAsNonRoot: true,
    runAsUser: SPARK_UID,
    runAsGroup: SPARK_UID,
    fsGroup: SPARK_UID,
    seccompProfile: { type: "RuntimeDefault" },
};

const CONTAINER_SECURITY_CONTEXT = {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    capabilities: { drop: ["ALL"] },
};

/** A driver or executor pod template: restricted pod security, read-only root with scratch volumes, the auth secret. */
export function podTemplate(role: "driver" | "executor", input: SparkApplicationInput): Record<string, any> {
    const env = role === "driver" ? Object.keys(input.driverEnv).sort().map((name) => ({ name, value: input.driverEnv[name] })) : [];
    // Observability (issue 14): the driver serves the consumer's metrics on a named port; annotated for a plain Prometheus.
    const telemetry = role === "driver" ? input.consumer.telemetry : undefined;
    const metricsPort = telemetry?.prometheusPort;
    const annotations = metricsPort !== undefined && telemetry?.scrape !== "podMonitor" ? { annotations: driverScrapeAnnotations(metricsPort) } : {};
    return {
        metadata: { labels: { [APP_LABEL]: input.name, [COMPONENT_LABEL]: role, "app.kubernetes.io/part-of": "spark-streaming" }, ...annotations },
        spec: {
            // The driver gets the consumer's whole stop timeout to commit or abandon its batch after SIGTERM.
            terminationGracePeriodSeconds: role === "driver" ? consumerStopTimeoutSeconds(input.consumer) : EXECUTOR_GRACE_SECONDS,
            securityContext: POD_SECURITY_CONTEXT,
            nodeSelector: { "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64" },
            enableServiceLinks: false,
            containers: [
                {
                    name: role === "driver" ? DRIVER_CONTAINER : EXECUTOR_CONTAINER,
                    workingDir: SCRATCH_MOUNTS.workDir,
                    ...(env.length > 0 ? { env } : {}),
                    ...(metricsPort !== undefined ? { ports: driverMetricsPorts(metricsPort) } : {}),
                    securityContext: CONTAINER_SECURITY_CONTEXT,
                    volumeMounts: [
                        { name: "tmp", mountPath: SCRATCH_MOUNTS.tmp },
                        { name: "work-dir", mountPath: SCRATCH_MOUNTS.workDir },
                        // Named spark-local-dir-*, Spark uses it as its local directory instead of adding its own.
                        { name: "spark-local-dir-1", mountPath: SCRATCH_MOUNTS.localDir },
                        { name: "spark-auth", mountPath: AUTH_SECRET_DIR, readOnly: true },
                    ],
                },
            ],
            volumes: [
                { name: "tmp", emptyDir: { sizeLimit: "1Gi" } },
                { name: "work-dir", emptyDir: { sizeLimit: "1Gi" } },
                { name: "spark-local-dir-1", emptyDir: { sizeLimit: "20Gi" } },
                // Readable by the Spark group only (fsGroup): 0440.
                { name: "spark-auth", secret: { secretName: input.authSecretName, defaultMode: 0o440, items: [{ key: AUTH_SECRET_KEY, path: AUTH_SECRET_KEY }] } },
            ],
        },
    };
}

/** The whole SparkApplication object. */
export function sparkApplicationManifest(input: SparkApplicationInput): Record<string, any> {
    const { config } = input;
    return {
        apiVersion: SPARK_APPLICATION_API_VERSION,
        kind: "SparkApplication",
        metadata: { name: input.name, namespace: input.namespace, labels: { [APP_LABEL]: input.name, "app.kubernetes.io/part-of": "spark-streaming" } },
        spec: {
            type: "Python",
            mode: "cluster",
            sparkVersion: input.sparkVersion,
            image: input.image,
            imagePullPolicy: "IfNotPresent",
            mainApplicationFile: MAIN_APPLICATION_FILE,
            arguments: input.args,
            sparkConf: { ...metricsSparkConf(), ...kubernetesSecurityConf() },
            // Always: a failed or finished driver is resubmitted (a streaming query never finishes on purpose).
            restartPolicy: { type: "Always", onFailureRetryInterval: RETRY_INTERVALS.onFailure, onSubmissionFailureRetryInterval: RETRY_INTERVALS.onSubmissionFailure },
            driver: {
                podName: `${input.name}-driver`,
                cores: config.driver.cores,
                memory: config.driver.memory,
                serviceAccount: input.serviceAccount,
                template: podTemplate("driver", input),
            },
            executor: {
                instances: config.executor.instances,
                cores: config.executor.cores,
                memory: config.executor.memory,
                serviceAccount: input.serviceAccount,
                deleteOnTermination: true,
                template: podTemplate("executor", input),
            },
        },
    };
}

export interface ConsumerApplicationArgs {
    readonly consumer: ConsumerSpec;
    readonly config: KubernetesConfig;
    /** `repository@sha256:...`. */
    readonly imageUri: pulumi.Input<string>;
    /** The job's flags (consumerJobArgs). */
    readonly args: pulumi.Input<string[]>;
    /** KAFKA_TOPICS for the driver. */
    readonly kafkaTopicsJson: pulumi.Input<string>;
    readonly authSecretName: string;
}

/** Declares the SparkApplication. The image is the only input a new build changes. */
export function consumerApplication(name: string, args: ConsumerApplicationArgs, opts: pulumi.CustomResourceOptions): k8s.apiextensions.CustomResource {
    const { consumer, config } = args;
    const sparkVersion = imageSparkVersion();
    const manifest = pulumi.all([args.imageUri, args.args, args.kafkaTopicsJson]).apply(([imageUri, jobArgs, topics]) =>
        sparkApplicationManifest({
            name: consumer.name,
            namespace: config.namespace,
            serviceAccount: config.serviceAccount,
            image: checkImagePinned(imageUri),
            args: jobArgs,
            consumer,
            config,
            authSecretName: args.authSecretName,
            driverEnv: { KAFKA_TOPICS: topics },
            sparkVersion,
        }),
    );
    return new k8s.apiextensions.CustomResource(
        name,
        { apiVersion: SPARK_APPLICATION_API_VERSION, kind: "SparkApplication", metadata: manifest.metadata, spec: manifest.spec },
        // The name is fixed (one application per checkpoint): a replacement deletes the old one first.
        { ...opts, deleteBeforeReplace: true },
    );
}
