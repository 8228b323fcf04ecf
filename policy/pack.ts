import { Policies } from "@pulumi/policy";
import { imdsHopLimit, noPublicIngress, noWorldEgressAllProtocols, requireImdsV2 } from "./ec2";
import { eksAccessEntries, eksControlPlaneLogs, eksNodeGroupHardened, eksPrivateEndpoint, eksSecretsEncrypted, irsaTrustScoped } from "./eks";
import { emrEncryptionAndImdsV2, emrLogsAndSecurityConfiguration } from "./emr";
import { iamNoFullAccessPolicies, iamNoWildcardAdmin, iamNoWildcardResourceForScopableActions } from "./iam";
import { instanceTypesAllowed } from "./instanceTypes";
import { kubernetesNamespacesRestricted, kubernetesPodsRestricted, kubernetesServicesInternal } from "./kubernetes";
import { mskEncryptedAndAuthenticated } from "./msk";
import { s3AccessLogging, s3BucketsSecured } from "./s3";
import { snsTopicsEncrypted } from "./sns";
import { requiredTags } from "./tags";
import { vpcFlowLogsEnabled } from "./vpc";

// The pack's contents, apart from index.ts (which starts the analyzer server when loaded), so tests can run the
// very same policies as plain functions.

export const PACK_NAME = "spark-streaming";

/** Every policy of the pack; mandatory unless the policy says advisory. */
export function packPolicies(): Policies {
    return [
        s3BucketsSecured(),
        s3AccessLogging(),
        noPublicIngress(),
        noWorldEgressAllProtocols(),
        requireImdsV2(),
        imdsHopLimit(),
        vpcFlowLogsEnabled(),
        mskEncryptedAndAuthenticated(),
        snsTopicsEncrypted(),
        emrLogsAndSecurityConfiguration(),
        emrEncryptionAndImdsV2(),
        eksPrivateEndpoint(),
        eksSecretsEncrypted(),
        eksControlPlaneLogs(),
        eksAccessEntries(),
        eksNodeGroupHardened(),
        irsaTrustScoped(),
        kubernetesPodsRestricted(),
        kubernetesNamespacesRestricted(),
        kubernetesServicesInternal(),
        iamNoWildcardAdmin(),
        iamNoWildcardResourceForScopableActions(),
        iamNoFullAccessPolicies(),
        requiredTags(),
        instanceTypesAllowed(),
    ];
}
