import { EMR_CLUSTER_TYPE, EMR_SECURITY_CONFIGURATION_TYPE } from "./emr";
import { packPolicies } from "./pack";
import { UNKNOWN_STRING, violations } from "./testing";

const pack = packPolicies();
const check = async (props: Record<string, any>) => (await violations(pack, EMR_CLUSTER_TYPE, props, { name: "spark" })).filter((v) => v.policy === "emr-logging-and-security-configuration");

const cluster = {
    releaseLabel: "emr-7.12.0",
    applications: ["Spark"],
    serviceRole: "arn:aws:iam::123456789012:role/emr-service",
    logUri: "s3://lake-bucket/logs/emr/",
    securityConfiguration: "spark-streaming-prod",
    masterInstanceGroup: { instanceType: "m7g.xlarge" },
    coreInstanceGroup: { instanceType: "m7g.2xlarge", instanceCount: 3 },
};

describe("emr-logging-and-security-configuration", () => {
    test("a cluster logging to S3 with a security configuration passes", async () => {
        expect(await check(cluster)).toEqual([]);
    });

    test("a cluster without logUri, or logging elsewhere than S3, is reported", async () => {
        const { logUri: _none, ...noLogs } = cluster;
        expect(await check(noLogs)).toEqual([expect.objectContaining({ enforcementLevel: "mandatory", message: expect.stringContaining("does not log to S3") })]);
        expect(await check({ ...cluster, logUri: "hdfs:///logs" })).toEqual([expect.objectContaining({ message: expect.stringContaining('"hdfs:///logs"') })]);
    });

    test("a cluster without a security configuration is reported", async () => {
        const { securityConfiguration: _none, ...noSecurity } = cluster;
        expect(await check(noSecurity)).toEqual([expect.objectContaining({ message: expect.stringContaining("has no security configuration") })]);
    });

    test("unknown values (a bucket or configuration still to be created) are not reported", async () => {
        expect(await check({ ...cluster, logUri: UNKNOWN_STRING, securityConfiguration: UNKNOWN_STRING })).toEqual([]);
    });
});

describe("emr-encryption-in-transit-and-at-rest", () => {
    const checkConf = async (configuration: unknown) =>
        (await violations(pack, EMR_SECURITY_CONFIGURATION_TYPE, { configuration: typeof configuration === "string" ? configuration : JSON.stringify(configuration) }, { name: "sec" })).filter(
            (v) => v.policy === "emr-encryption-in-transit-and-at-rest",
        );
    const good = {
        EncryptionConfiguration: {
            EnableAtRestEncryption: true,
            EnableInTransitEncryption: true,
            InTransitEncryptionConfiguration: { TLSCertificateConfiguration: { CertificateProviderType: "PEM", S3Object: "s3://lake/artifacts/emr-tls/abc/certs.zip" } },
            AtRestEncryptionConfiguration: { S3EncryptionConfiguration: { EncryptionMode: "SSE-KMS", AwsKmsKey: "arn:aws:kms:eu-west-1:1:key/k" } },
        },
        InstanceMetadataServiceConfiguration: { MinimumInstanceMetadataServiceVersion: 2, HttpPutResponseHopLimit: 1 },
    };

    test("in transit (with a certificate provider), at rest and IMDSv2 pass", async () => {
        expect(await checkConf(good)).toEqual([]);
    });

    test("in-transit encryption off is a mandatory violation; so is on without a certificate", async () => {
        const off = { ...good, EncryptionConfiguration: { ...good.EncryptionConfiguration, EnableInTransitEncryption: false } };
        expect(await checkConf(off)).toEqual([expect.objectContaining({ enforcementLevel: "mandatory", message: expect.stringContaining("EnableInTransitEncryption is not true") })]);
        const { InTransitEncryptionConfiguration: _none, ...noCert } = good.EncryptionConfiguration;
        expect(await checkConf({ ...good, EncryptionConfiguration: noCert })).toEqual([expect.objectContaining({ message: expect.stringContaining("no TLSCertificateConfiguration") })]);
    });

    test("IMDSv1 allowed, or at rest off, is reported", async () => {
        expect(await checkConf({ ...good, InstanceMetadataServiceConfiguration: { MinimumInstanceMetadataServiceVersion: 1 } })).toEqual([expect.objectContaining({ message: expect.stringContaining("not 2") })]);
        expect(await checkConf({ ...good, EncryptionConfiguration: { ...good.EncryptionConfiguration, EnableAtRestEncryption: false } })).toEqual([
            expect.objectContaining({ message: expect.stringContaining("EnableAtRestEncryption is not true") }),
        ]);
    });

    test("an unknown configuration is not reported", async () => {
        expect(await checkConf(UNKNOWN_STRING)).toEqual([]);
    });
});
