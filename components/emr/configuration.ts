import { SPARK_EVENTS_PREFIX } from "../locations";

// The EMR cluster's configurations and security configuration, as canonical JSON (sorted keys) so an unchanged
// config previews as no change.

/** JSON with object keys sorted at every level: the same value always renders to the same string. */
export function canonicalJson(value: unknown): string {
    const sort = (v: unknown): unknown => {
        if (Array.isArray(v)) {
            return v.map(sort);
        }
        if (v !== null && typeof v === "object") {
            return Object.fromEntries(
                Object.keys(v as object)
                    .sort()
                    .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
            );
        }
        return v;
    };
    return JSON.stringify(sort(value));
}

/**
 * The cluster's `configurations` JSON. Event logs go to S3 (rolling, so a never-ending streaming application's
 * finished parts reach S3 while it runs) and the history server reads them there, so finished applications
 * outlive the cluster. Nothing here touches Spark's security settings: with in-transit encryption on, EMR sets
 * spark.authenticate, Spark's AES-based RPC encryption and the UIs' TLS itself, and an override here would undo it.
 */
export function emrConfigurations(bucket: string): string {
    const events = `s3://${bucket}/${SPARK_EVENTS_PREFIX}`;
    return canonicalJson([
        {
            Classification: "spark-defaults",
            Properties: {
                "spark.eventLog.dir": events,
                "spark.eventLog.enabled": "true",
                "spark.eventLog.rolling.enabled": "true",
                "spark.eventLog.rolling.maxFileSize": "128m",
                "spark.history.fs.logDirectory": events,
            },
        },
    ]);
}

/**
 * The security configuration: at-rest encryption of EMRFS (S3, SSE-KMS) and of local disks and EBS volumes with the
 * platform key; in-transit encryption with the stack's PEM bundle (EMR distributes it to every node: TLS for the
 * Spark and YARN web endpoints and Hadoop's, spark.authenticate with AES-based RPC encryption for Spark); IMDSv2
 * required with hop limit 1 (YARN containers are host processes, not Docker).
 */
export function securityConfigurationJson(kmsKeyArn: string, tlsBundleUri: string): string {
    if (!/^s3:\/\/[^/]+\/.+\.zip$/.test(tlsBundleUri)) {
        throw new Error(`emr engine: the in-transit TLS bundle must be a .zip object in S3 (s3://bucket/key.zip); got "${tlsBundleUri}"`);
    }
    return canonicalJson({
        EncryptionConfiguration: {
            AtRestEncryptionConfiguration: {
                LocalDiskEncryptionConfiguration: { AwsKmsKey: kmsKeyArn, EnableEbsEncryption: true, EncryptionKeyProviderType: "AwsKms" },
                S3EncryptionConfiguration: { AwsKmsKey: kmsKeyArn, EncryptionMode: "SSE-KMS" },
            },
            EnableAtRestEncryption: true,
            EnableInTransitEncryption: true,
            InTransitEncryptionConfiguration: {
                TLSCertificateConfiguration: { CertificateProviderType: "PEM", S3Object: tlsBundleUri },
            },
        },
        InstanceMetadataServiceConfiguration: { HttpPutResponseHopLimit: 1, MinimumInstanceMetadataServiceVersion: 2 },
    });
}
