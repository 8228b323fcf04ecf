import { ResourceValidationPolicy } from "@pulumi/policy";
import { UNKNOWN, validateTypes } from "./support";

export const SNS_TOPIC_TYPE = "aws:sns/topic:Topic";

/** The AWS-managed SNS key: CloudWatch alarms (and other AWS services) cannot publish to a topic encrypted with it. */
export const AWS_MANAGED_SNS_KEY = "alias/aws/sns";

/**
 * SNS topics are encrypted at rest with a customer-managed KMS key. Not the AWS-managed alias/aws/sns: its key
 * policy cannot admit CloudWatch, so alarm notifications to such a topic are silently dropped.
 */
export function snsTopicsEncrypted(): ResourceValidationPolicy {
    return {
        name: "sns-topics-encrypted-with-customer-key",
        description: "SNS topics are encrypted with a customer-managed KMS key (kmsMasterKeyId), not alias/aws/sns, which AWS services such as CloudWatch alarms cannot publish with.",
        enforcementLevel: "mandatory",
        validateResource: validateTypes([SNS_TOPIC_TYPE], (props, ctx, report) => {
            const key = props.kmsMasterKeyId;
            if (key === UNKNOWN) {
                return;
            }
            if (typeof key !== "string" || key === "") {
                report(`SNS topic "${ctx.name}" is not encrypted at rest; set kmsMasterKeyId to a customer-managed KMS key whose policy lets the publishing services use it.`);
            } else if (key === AWS_MANAGED_SNS_KEY || key.endsWith(`:${AWS_MANAGED_SNS_KEY}`)) {
                report(`SNS topic "${ctx.name}" uses the AWS-managed key ${AWS_MANAGED_SNS_KEY}, which CloudWatch alarms cannot publish with; use a customer-managed KMS key.`);
            }
        }),
    };
}
