import { ResourceValidationPolicy } from "@pulumi/policy";
import { parseJsonDocument, UNKNOWN, validateTypes } from "./support";

export const EMR_CLUSTER_TYPE = "aws:emr/cluster:Cluster";

/** EMR clusters write their logs to S3 and run with a security configuration (encryption, authentication). */
export function emrLogsAndSecurityConfiguration(): ResourceValidationPolicy {
    return {
        name: "emr-logging-and-security-configuration",
        description: "EMR clusters log to S3 (logUri s3://...) and use a security configuration.",
        enforcementLevel: "mandatory",
        validateResource: validateTypes([EMR_CLUSTER_TYPE], (props, ctx, report) => {
            const logUri = props.logUri;
            if (logUri !== UNKNOWN && !(typeof logUri === "string" && logUri.startsWith("s3://") && logUri.length > "s3://".length)) {
                report(`EMR cluster "${ctx.name}" does not log to S3 (logUri is ${JSON.stringify(logUri ?? "unset")}); set logUri to an s3:// location in the data lake bucket so step and daemon logs outlive the cluster.`);
            }
            const securityConfiguration = props.securityConfiguration;
            if (securityConfiguration !== UNKNOWN && !(typeof securityConfiguration === "string" && securityConfiguration.length > 0)) {
                report(`EMR cluster "${ctx.name}" has no security configuration; create an aws.emr.SecurityConfiguration (at-rest and in-transit encryption) and pass its name as securityConfiguration.`);
            }
        }),
    };
}

export const EMR_SECURITY_CONFIGURATION_TYPE = "aws:emr/securityConfiguration:SecurityConfiguration";

/** EMR security configurations encrypt at rest and in transit, and require IMDSv2. */
export function emrEncryptionAndImdsV2(): ResourceValidationPolicy {
    return {
        name: "emr-encryption-in-transit-and-at-rest",
        description: "EMR security configurations enable in-transit encryption (with a TLS certificate provider) and at-rest encryption, and require IMDSv2 on the cluster's instances.",
        enforcementLevel: "mandatory",
        validateResource: validateTypes([EMR_SECURITY_CONFIGURATION_TYPE], (props, ctx, report) => {
            const parsed = parseJsonDocument(props.configuration);
            if (parsed === UNKNOWN) {
                return;
            }
            if (parsed === undefined || !parsed.ok) {
                report(`EMR security configuration "${ctx.name}" has no readable configuration JSON${parsed === undefined ? "" : ` (${parsed.error})`}.`);
                return;
            }
            const enc = parsed.value?.EncryptionConfiguration ?? {};
            const problems: string[] = [];
            if (enc.EnableInTransitEncryption !== true && enc.EnableInTransitEncryption !== UNKNOWN) {
                problems.push("EnableInTransitEncryption is not true");
            } else if (enc.EnableInTransitEncryption === true && enc.InTransitEncryptionConfiguration?.TLSCertificateConfiguration === undefined) {
                problems.push("in-transit encryption has no TLSCertificateConfiguration");
            }
            if (enc.EnableAtRestEncryption !== true && enc.EnableAtRestEncryption !== UNKNOWN) {
                problems.push("EnableAtRestEncryption is not true");
            }
            const imds = parsed.value?.InstanceMetadataServiceConfiguration?.MinimumInstanceMetadataServiceVersion;
            if (imds !== 2 && imds !== UNKNOWN) {
                problems.push(`InstanceMetadataServiceConfiguration.MinimumInstanceMetadataServiceVersion is ${JSON.stringify(imds ?? "unset")}, not 2`);
            }
            if (problems.length > 0) {
                report(`EMR security configuration "${ctx.name}": ${problems.join("; ")}; enable in-transit encryption with a PEM bundle or certificate provider, at-rest encryption, and IMDSv2.`);
            }
        }),
    };
}
