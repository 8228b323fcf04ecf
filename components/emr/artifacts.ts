import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { contextFiles, contextHash } from "../buildContext";
import { PREFIXES, s3Uri } from "../locations";
import { BuiltJar, jarKey, LockedJar, verifiedJarPaths } from "./jars";

// What the consumer step runs, uploaded to the bucket under content hashes: the job package and entry point, the
// launcher (run-consumer.sh), the locked jars and the job's UDF jar (jars.ts). Amazon documents Docker on YARN only for EMR 6.x, so on
// EMR 7 the consumer runs from the same build as the image, submitted with spark-submit in cluster mode.

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
 * (bash's positional parameters), so JSON and spaces in the job's flags need no quoting. `stopTimeoutSeconds` is how
 * long the launcher waits, once cancelled, for the consumer's YARN application to end (`consumerStopTimeoutSeconds`).
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
    const packageFiles = contextFiles(jobDir).filter((f) => f.startsWith("streaming_consumer/") && !f.includes("__pycache__/") && !f.endsWith(".pyc"));
    return { entryPoint, packageFiles };
}

export interface JobArtifactsArgs {
    readonly bucketName: pulumi.Input<string>;
    readonly kmsKeyArn: pulumi.Input<string>;
    readonly jobDir: string;
    readonly jars: readonly LockedJar[];
    /** Where the locked jars are on this machine (scripts/fetch-emr-jars.sh). */
    readonly jarsDir?: string;
    /** The job's JVM functions (jars.ts `builtUdfJar`), shipped after the locked jars. */
    readonly udfJar: BuiltJar;
}

export interface JobArtifacts {
    /** s3://.../artifacts/streaming-consumer/<hash>/ of the job build. */
    readonly uri: pulumi.Output<string>;
    /** The S3 URIs of the locked jars and the UDF jar, for --jars. */
    readonly jarUris: pulumi.Output<string[]>;
    /** The objects the step must not start before. */
    readonly objects: aws.s3.BucketObjectv2[];
}

/** Uploads the job's package, entry point, launcher and jars, all encrypted with the platform key. */
export function jobArtifacts(name: string, args: JobArtifactsArgs, opts: pulumi.CustomResourceOptions): JobArtifacts {
    const { entryPoint, packageFiles } = jobFiles(args.jobDir);
    const jarPaths = verifiedJarPaths(args.jars, args.jarsDir);
    const prefix = artifactsPrefix(artifactsHash(args.jobDir));
    const upload = (resource: string, key: string, source: pulumi.asset.Asset | pulumi.asset.Archive) =>
        new aws.s3.BucketObjectv2(resource, { bucket: args.bucketName, key, source, serverSideEncryption: "aws:kms", kmsKeyId: args.kmsKeyArn }, opts);
    const objects = [
        upload(
            `${name}-artifact-package`,
            `${prefix}streaming_consumer.zip`,
            new pulumi.asset.AssetArchive(Object.fromEntries(packageFiles.map((f) => [f, new pulumi.asset.FileAsset(path.join(args.jobDir, f))]))),
        ),
        upload(`${name}-artifact-main`, `${prefix}main.py`, new pulumi.asset.FileAsset(entryPoint)),
        upload(`${name}-artifact-launcher`, `${prefix}run-consumer.sh`, new pulumi.asset.FileAsset(LAUNCHER_SCRIPT)),
    ];
    const shipped = [...args.jars, args.udfJar];
    const paths = [...jarPaths, args.udfJar.path];
    const jars = shipped.map((jar, i) => upload(`${name}-jar-${jar.file.replace(/\.jar$/, "")}`, jarKey(jar), new pulumi.asset.FileAsset(paths[i])));
    return {
        uri: s3Uri(args.bucketName, prefix),
        jarUris: pulumi.all(shipped.map((jar) => s3Uri(args.bucketName, jarKey(jar)))),
        objects: [...objects, ...jars],
    };
}
