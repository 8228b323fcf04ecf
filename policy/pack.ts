import { Policies } from "@pulumi/policy";
import { noPublicIngress, requireImdsV2 } from "./ec2";
import { emrLogsAndSecurityConfiguration } from "./emr";
import { iamNoFullAccessPolicies, iamNoWildcardAdmin } from "./iam";
import { instanceTypesAllowed } from "./instanceTypes";
import { mskEncryptedAndAuthenticated } from "./msk";
import { s3BucketsSecured } from "./s3";
import { requiredTags } from "./tags";

// The pack's contents, apart from index.ts (which starts the analyzer server when loaded), so tests can run the
// very same policies as plain functions.

export const PACK_NAME = "spark-streaming";

/** Every policy of the pack; mandatory unless the policy says advisory. */
export function packPolicies(): Policies {
    return [
        s3BucketsSecured(),
        noPublicIngress(),
        requireImdsV2(),
        mskEncryptedAndAuthenticated(),
        emrLogsAndSecurityConfiguration(),
        iamNoWildcardAdmin(),
        iamNoFullAccessPolicies(),
        requiredTags(),
        instanceTypesAllowed(),
    ];
}
