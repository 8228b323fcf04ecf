import { ResourceValidationPolicy } from "@pulumi/policy";
import { UNKNOWN, validateTypes } from "./support";

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
