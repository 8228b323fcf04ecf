import { EKS_CLUSTER_TYPE, EKS_NODE_GROUP_TYPE, IAM_ROLE_TYPE } from "./eks";
import { packPolicies } from "./pack";
import { UNKNOWN_STRING, violations } from "./testing";

const pack = packPolicies();
const of = (policy: string) => async (type: string, props: Record<string, any>) => (await violations(pack, type, props, { name: "subject" })).filter((v) => v.policy === policy);

const cluster = {
    name: "spark-streaming-dev",
    roleArn: "arn:aws:iam::123456789012:role/eks",
    vpcConfig: { subnetIds: ["subnet-1", "subnet-2"], endpointPrivateAccess: true, endpointPublicAccess: false },
    encryptionConfig: { provider: { keyArn: "arn:aws:kms:eu-west-1:123456789012:key/k" }, resources: ["secrets"] },
    enabledClusterLogTypes: ["api", "audit", "authenticator", "controllerManager", "scheduler"],
    accessConfig: { authenticationMode: "API", bootstrapClusterCreatorAdminPermissions: true },
};

describe("eks-private-endpoint", () => {
    const check = of("eks-private-endpoint");
    test("a private-only endpoint passes, and so does a public one limited to listed ranges", async () => {
        expect(await check(EKS_CLUSTER_TYPE, cluster)).toEqual([]);
        expect(await check(EKS_CLUSTER_TYPE, { ...cluster, vpcConfig: { ...cluster.vpcConfig, endpointPublicAccess: true, publicAccessCidrs: ["203.0.113.0/24"] } })).toEqual([]);
    });
    test("a public endpoint open to the world, or left to EKS's default, is a mandatory violation", async () => {
        const open = await check(EKS_CLUSTER_TYPE, { ...cluster, vpcConfig: { ...cluster.vpcConfig, endpointPublicAccess: true, publicAccessCidrs: ["0.0.0.0/0"] } });
        expect(open).toEqual([expect.objectContaining({ enforcementLevel: "mandatory", message: expect.stringContaining("open to 0.0.0.0/0") })]);
        const unset = await check(EKS_CLUSTER_TYPE, { ...cluster, vpcConfig: { subnetIds: ["subnet-1"], endpointPrivateAccess: true } });
        expect(unset).toEqual([expect.objectContaining({ message: expect.stringContaining("no publicAccessCidrs") })]);
    });
    test("no private endpoint is reported; unknown settings are not", async () => {
        expect(await check(EKS_CLUSTER_TYPE, { ...cluster, vpcConfig: { ...cluster.vpcConfig, endpointPrivateAccess: false } })).toEqual([expect.objectContaining({ message: expect.stringContaining("no private API endpoint") })]);
        expect(await check(EKS_CLUSTER_TYPE, { ...cluster, vpcConfig: { ...cluster.vpcConfig, endpointPublicAccess: UNKNOWN_STRING } })).toEqual([]);
    });
});

describe("eks-secrets-encryption, eks-control-plane-logs, eks-access-entries", () => {
    test("the hardened cluster passes all three", async () => {
        for (const policy of ["eks-secrets-encryption", "eks-control-plane-logs", "eks-access-entries"]) {
            expect(await of(policy)(EKS_CLUSTER_TYPE, cluster)).toEqual([]);
        }
    });
    test("a cluster without secrets encryption is reported", async () => {
        const { encryptionConfig: _e, ...plain } = cluster;
        expect(await of("eks-secrets-encryption")(EKS_CLUSTER_TYPE, plain)).toEqual([expect.objectContaining({ message: expect.stringContaining('resources: ["secrets"]') })]);
    });
    test("a cluster without the audit log is reported, naming what is missing", async () => {
        expect(await of("eks-control-plane-logs")(EKS_CLUSTER_TYPE, { ...cluster, enabledClusterLogTypes: ["api"] })).toEqual([expect.objectContaining({ message: expect.stringContaining("does not log audit, authenticator") })]);
    });
    test("the aws-auth ConfigMap (or no mode at all) is reported", async () => {
        expect(await of("eks-access-entries")(EKS_CLUSTER_TYPE, { ...cluster, accessConfig: { authenticationMode: "API_AND_CONFIG_MAP" } })).toHaveLength(1);
        const { accessConfig: _a, ...noMode } = cluster;
        expect(await of("eks-access-entries")(EKS_CLUSTER_TYPE, noMode)).toEqual([expect.objectContaining({ message: expect.stringContaining("CONFIG_MAP") })]);
    });
});

describe("eks-node-group-hardened", () => {
    const check = of("eks-node-group-hardened");
    const group = { clusterName: "c", nodeRoleArn: "arn:aws:iam::123456789012:role/n", subnetIds: ["subnet-1"], scalingConfig: { minSize: 1, maxSize: 2, desiredSize: 1 }, launchTemplate: { id: "lt-1", version: "1" } };
    test("a node group from a launch template without SSH passes", async () => {
        expect(await check(EKS_NODE_GROUP_TYPE, group)).toEqual([]);
    });
    test("one without a launch template, or with SSH, is reported", async () => {
        const { launchTemplate: _l, ...bare } = group;
        expect(await check(EKS_NODE_GROUP_TYPE, bare)).toEqual([expect.objectContaining({ message: expect.stringContaining("hop limit 2") })]);
        expect(await check(EKS_NODE_GROUP_TYPE, { ...group, remoteAccess: { ec2SshKey: "k" } })).toEqual([expect.objectContaining({ message: expect.stringContaining("SSH") })]);
    });
});

describe("iam-web-identity-trust-scoped", () => {
    const check = of("iam-web-identity-trust-scoped");
    const issuer = "oidc.eks.eu-west-1.amazonaws.com/id/ABC";
    const trust = (condition: any) =>
        JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Federated: `arn:aws:iam::123456789012:oidc-provider/${issuer}` }, Action: "sts:AssumeRoleWithWebIdentity", ...(condition ? { Condition: condition } : {}) }] });
    test("a trust on one exact service account and the STS audience passes; roles for AWS services are not concerned", async () => {
        expect(await check(IAM_ROLE_TYPE, { assumeRolePolicy: trust({ StringEquals: { [`${issuer}:sub`]: "system:serviceaccount:ns:sa", [`${issuer}:aud`]: "sts.amazonaws.com" } }) })).toEqual([]);
        expect(await check(IAM_ROLE_TYPE, { assumeRolePolicy: JSON.stringify({ Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }] }) })).toEqual([]);
    });
    test("no condition, a wildcard subject (StringLike), or no audience is reported", async () => {
        expect(await check(IAM_ROLE_TYPE, { assumeRolePolicy: trust(undefined) })).toHaveLength(1);
        expect(await check(IAM_ROLE_TYPE, { assumeRolePolicy: trust({ StringLike: { [`${issuer}:sub`]: "system:serviceaccount:*" } }) })).toHaveLength(1);
        expect(await check(IAM_ROLE_TYPE, { assumeRolePolicy: trust({ StringEquals: { [`${issuer}:sub`]: "system:serviceaccount:ns:sa" } }) })).toEqual([expect.objectContaining({ enforcementLevel: "mandatory" })]);
    });
});
