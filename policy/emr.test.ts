import { EMR_CLUSTER_TYPE } from "./emr";
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
