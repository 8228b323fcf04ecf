import { packPolicies } from "./pack";
import { SNS_TOPIC_TYPE } from "./sns";
import { UNKNOWN_STRING, violations } from "./testing";

const pack = packPolicies();
const check = async (props: Record<string, any>) => (await violations(pack, SNS_TOPIC_TYPE, props, { name: "alarms" })).filter((v) => v.policy === "sns-topics-encrypted-with-customer-key");

describe("sns-topics-encrypted-with-customer-key", () => {
    test("a topic with a customer-managed key passes", async () => {
        expect(await check({ kmsMasterKeyId: "arn:aws:kms:eu-west-1:123456789012:key/abcd" })).toEqual([]);
    });
    test("an unencrypted topic is reported", async () => {
        expect(await check({})).toEqual([expect.objectContaining({ enforcementLevel: "mandatory", message: expect.stringContaining('SNS topic "alarms" is not encrypted at rest') })]);
    });
    test("the AWS-managed SNS key is reported", async () => {
        expect(await check({ kmsMasterKeyId: "alias/aws/sns" })).toEqual([expect.objectContaining({ message: expect.stringContaining("CloudWatch alarms cannot publish with") })]);
    });
    test("a key unknown during a first preview is not reported", async () => {
        expect(await check({ kmsMasterKeyId: UNKNOWN_STRING })).toEqual([]);
    });
});
