import { ResourceValidationPolicy } from "@pulumi/policy";
import { asList, hasUnknown, UNKNOWN, validateTypes } from "./support";

export const MSK_CLUSTER_TYPE = "aws:msk/cluster:Cluster";
export const MSK_SERVERLESS_TYPE = "aws:msk/serverlessCluster:ServerlessCluster";

/** The reasons an MSK provisioned cluster's transit encryption is not TLS-only (unset fields take AWS's TLS defaults). */
export function transitProblems(props: Record<string, any>): string[] {
    const transit = props.encryptionInfo === UNKNOWN ? UNKNOWN : props.encryptionInfo?.encryptionInTransit;
    if (transit === UNKNOWN || transit === undefined || transit === null) {
        return [];
    }
    const problems: string[] = [];
    if (transit.clientBroker !== undefined && transit.clientBroker !== UNKNOWN && transit.clientBroker !== "TLS") {
        problems.push(`encryptionInfo.encryptionInTransit.clientBroker is ${JSON.stringify(transit.clientBroker)} (must be "TLS")`);
    }
    if (transit.inCluster !== undefined && transit.inCluster !== UNKNOWN && transit.inCluster !== true) {
        problems.push(`encryptionInfo.encryptionInTransit.inCluster is ${JSON.stringify(transit.inCluster)} (must be true)`);
    }
    return problems;
}

/** The reasons an MSK provisioned cluster admits clients without authentication; `[]` if unknown. */
export function authProblems(props: Record<string, any>): string[] {
    const auth = props.clientAuthentication;
    if (hasUnknown(auth)) {
        return [];
    }
    const problems: string[] = [];
    if (auth?.unauthenticated === true) {
        problems.push("clientAuthentication.unauthenticated is true");
    }
    const mechanisms = [auth?.sasl?.iam === true, auth?.sasl?.scram === true, asList(auth?.tls?.certificateAuthorityArns).length > 0];
    if (!mechanisms.some(Boolean)) {
        problems.push("no client authentication mechanism is enabled (clientAuthentication.sasl.iam, sasl.scram or tls)");
    }
    return problems;
}

/** MSK clusters encrypt traffic in transit (client-broker and in-cluster) and authenticate every client. */
export function mskEncryptedAndAuthenticated(): ResourceValidationPolicy {
    return {
        name: "msk-encrypted-and-authenticated",
        description: "MSK clusters encrypt client-broker and in-cluster traffic with TLS and require client authentication (IAM, SCRAM or mTLS; never unauthenticated).",
        enforcementLevel: "mandatory",
        validateResource: validateTypes([MSK_CLUSTER_TYPE, MSK_SERVERLESS_TYPE], (props, ctx, report) => {
            if (ctx.type === MSK_SERVERLESS_TYPE) {
                const enabled = props.clientAuthentication === UNKNOWN ? UNKNOWN : props.clientAuthentication?.sasl?.iam?.enabled;
                if (enabled !== true && !hasUnknown(props.clientAuthentication)) {
                    report(`MSK serverless cluster "${ctx.name}" does not enable IAM client authentication; set clientAuthentication: { sasl: { iam: { enabled: true } } }.`);
                }
                return;
            }
            const transit = transitProblems(props);
            if (transit.length > 0) {
                report(`MSK cluster "${ctx.name}" does not encrypt all traffic in transit: ${transit.join("; ")}; set encryptionInfo.encryptionInTransit to { clientBroker: "TLS", inCluster: true }.`);
            }
            const auth = authProblems(props);
            if (auth.length > 0) {
                report(`MSK cluster "${ctx.name}" admits unauthenticated clients: ${auth.join("; ")}; set clientAuthentication: { sasl: { iam: true }, unauthenticated: false }.`);
            }
        }),
    };
}
