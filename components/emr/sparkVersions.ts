import { JvmDependency } from "../buildContext";

// The Spark each EMR 7 release ships (Amazon EMR Release Guide, "Spark release history", and the EMR Serverless
// release pages for 7.0-7.7, which list the same Spark). The job's jvm-dependencies.txt pins Spark jars for the image's pip pyspark; on
// EMR the Kafka connector must match the cluster's Spark instead, or its internal APIs may not line up.
// A release not listed (7.2: not verified) is refused rather than guessed.

/** EMR 7 release (major.minor) -> Apache Spark version it ships. */
export const EMR_SPARK_VERSIONS: Readonly<Record<string, string>> = {
    "7.0": "3.5.0",
    "7.1": "3.5.0",
    "7.3": "3.5.1",
    "7.4": "3.5.2",
    "7.5": "3.5.2",
    "7.6": "3.5.3",
    "7.7": "3.5.3",
    "7.8": "3.5.4",
    "7.9": "3.5.5",
    "7.10": "3.5.5",
    "7.11": "3.5.6",
    "7.12": "3.5.6",
    "7.13": "3.5.6",
};

/** The Spark version of an EMR release label such as "emr-7.12.0". Throws, naming the known releases, for any other. */
export function emrSparkVersion(releaseLabel: string): string {
    const minor = /^emr-(\d+\.\d+)\.\d+$/.exec(releaseLabel)?.[1];
    const version = minor === undefined ? undefined : EMR_SPARK_VERSIONS[minor];
    if (version === undefined) {
        const known = Object.keys(EMR_SPARK_VERSIONS)
            .map((m) => `emr-${m}.x`)
            .join(", ");
        throw new Error(
            `emr.releaseLabel ${releaseLabel} has no known Spark version, so the consumer's Spark jars cannot be matched to the cluster; use one of ${known}, or add the release to EMR_SPARK_VERSIONS in components/emr/sparkVersions.ts`,
        );
    }
    return version;
}

/** The dependencies with every org.apache.spark artifact moved to `sparkVersion`; everything else unchanged. */
export function alignSparkVersion(deps: readonly JvmDependency[], sparkVersion: string): JvmDependency[] {
    return deps.map((d) => {
        const [group, artifact, version, ...rest] = d.coordinate.split(":");
        if (group !== "org.apache.spark" || version === undefined || rest.length > 0) {
            return d;
        }
        return { ...d, coordinate: `${group}:${artifact}:${sparkVersion}` };
    });
}
