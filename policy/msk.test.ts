import { MSK_CLUSTER_TYPE, MSK_SERVERLESS_TYPE } from "./msk";
import { packPolicies } from "./pack";
import { UNKNOWN_STRING, violations } from "./testing";

const pack = packPolicies();
const check = async (type: string, props: Record<string, any>) => (await violations(pack, type, props, { name: "kafka" })).filter((v) => v.policy === "msk-encrypted-and-authenticated");

const cluster = {
    kafkaVersion: "3.8.x",
    numberOfBrokerNodes: 3,
    brokerNodeGroupInfo: { instanceType: "kafka.m7g.large", clientSubnets: ["s-1", "s-2", "s-3"], securityGroups: ["sg-1"] },
    encryptionInfo: { encryptionAtRestKmsKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/k", encryptionInTransit: { clientBroker: "TLS", inCluster: true } },
    clientAuthentication: { sasl: { iam: true }, unauthenticated: false },
};

describe("msk-encrypted-and-authenticated", () => {
    test("a TLS-only cluster with IAM authentication passes", async () => {
        expect(await check(MSK_CLUSTER_TYPE, cluster)).toEqual([]);
    });

    test("TLS_PLAINTEXT between clients and brokers is reported", async () => {
        const props = { ...cluster, encryptionInfo: { encryptionInTransit: { clientBroker: "TLS_PLAINTEXT", inCluster: true } } };
        expect(await check(MSK_CLUSTER_TYPE, props)).toEqual([expect.objectContaining({ enforcementLevel: "mandatory", message: expect.stringContaining('clientBroker is "TLS_PLAINTEXT"') })]);
    });

    test("plaintext between brokers is reported", async () => {
        const props = { ...cluster, encryptionInfo: { encryptionInTransit: { clientBroker: "TLS", inCluster: false } } };
        expect(await check(MSK_CLUSTER_TYPE, props)).toEqual([expect.objectContaining({ message: expect.stringContaining("inCluster is false") })]);
    });

    test("a cluster with no client authentication, or with unauthenticated access on, is reported", async () => {
        const { clientAuthentication: _none, ...noAuth } = cluster;
        expect(await check(MSK_CLUSTER_TYPE, noAuth)).toEqual([expect.objectContaining({ message: expect.stringContaining("no client authentication mechanism") })]);
        const open = { ...cluster, clientAuthentication: { sasl: { iam: true }, unauthenticated: true } };
        expect(await check(MSK_CLUSTER_TYPE, open)).toEqual([expect.objectContaining({ message: expect.stringContaining("unauthenticated is true") })]);
    });

    test("unknown authentication settings are not reported", async () => {
        expect(await check(MSK_CLUSTER_TYPE, { ...cluster, clientAuthentication: { sasl: { iam: UNKNOWN_STRING } } })).toEqual([]);
    });

    test("a serverless cluster needs IAM authentication enabled", async () => {
        const serverless = { vpcConfigs: [{ subnetIds: ["s-1"] }], clientAuthentication: { sasl: { iam: { enabled: true } } } };
        expect(await check(MSK_SERVERLESS_TYPE, serverless)).toEqual([]);
        expect(await check(MSK_SERVERLESS_TYPE, { ...serverless, clientAuthentication: { sasl: { iam: { enabled: false } } } })).toEqual([
            expect.objectContaining({ message: expect.stringContaining("does not enable IAM client authentication") }),
        ]);
    });
});
