import { IAM_POLICY_TYPE, ROLE_POLICY_ATTACHMENT_TYPE, ROLE_POLICY_TYPE, ROLE_TYPE } from "./iam";
import { packPolicies } from "./pack";
import { UNKNOWN_STRING, violations } from "./testing";

const pack = packPolicies();
const of = (policy: string) => async (type: string, props: Record<string, any>) => (await violations(pack, type, props, { name: "consumer" })).filter((v) => v.policy === policy);
const doc = (statement: unknown) => JSON.stringify({ Version: "2012-10-17", Statement: statement });

describe("iam-no-wildcard-action-on-wildcard-resource", () => {
    const check = of("iam-no-wildcard-action-on-wildcard-resource");

    test("scoped actions on scoped resources pass, and so do scoped actions on every resource", async () => {
        const scoped = doc([
            { Effect: "Allow", Action: ["s3:GetObject", "s3:PutObject"], Resource: "arn:aws:s3:::lake-bucket/*" },
            { Effect: "Allow", Action: "kafka-cluster:Connect", Resource: "*" },
        ]);
        expect(await check(IAM_POLICY_TYPE, { policy: scoped })).toEqual([]);
        expect(await check(ROLE_POLICY_TYPE, { role: "r", policy: scoped })).toEqual([]);
    });

    test('"*" on "*" (Statement as a single object, Action as a string) is a mandatory violation', async () => {
        expect(await check(IAM_POLICY_TYPE, { policy: doc({ Effect: "Allow", Action: "*", Resource: "*" }) })).toEqual([
            expect.objectContaining({ enforcementLevel: "mandatory", message: expect.stringContaining('statement 1 allows Action "*" on Resource "*"') }),
        ]);
    });

    test("NotAction on every resource counts as a wildcard; a Deny never does", async () => {
        expect(await check(ROLE_POLICY_TYPE, { role: "r", policy: doc([{ Sid: "Broad", Effect: "Allow", NotAction: "iam:*", Resource: ["*"] }]) })).toEqual([
            expect.objectContaining({ message: expect.stringContaining('statement "Broad" allows NotAction on Resource "*"') }),
        ]);
        expect(await check(ROLE_POLICY_TYPE, { role: "r", policy: doc([{ Effect: "Deny", Action: "*", Resource: "*" }]) })).toEqual([]);
    });

    test("a policy given as an object, and a role's inline policies, are checked too", async () => {
        expect(await check(IAM_POLICY_TYPE, { policy: { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ["*"], Resource: "*" }] } })).toHaveLength(1);
        const role = { assumeRolePolicy: doc([]), inlinePolicies: [{ name: "ok", policy: doc([{ Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::b/*" }]) }, { name: "admin", policy: doc([{ Effect: "Allow", Action: "*:*", Resource: "*" }]) }] };
        expect(await check(ROLE_TYPE, role)).toEqual([expect.objectContaining({ message: expect.stringContaining('inline policy "admin"') })]);
    });

    test("a document that is not JSON is reported; an unknown one is not", async () => {
        expect(await check(IAM_POLICY_TYPE, { policy: "{not json" })).toEqual([expect.objectContaining({ message: expect.stringContaining("not valid JSON") })]);
        expect(await check(IAM_POLICY_TYPE, { policy: UNKNOWN_STRING })).toEqual([]);
    });
});

describe("iam-no-full-access-managed-policies", () => {
    const check = of("iam-no-full-access-managed-policies");

    test("a least-privilege managed policy attachment passes", async () => {
        expect(await check(ROLE_POLICY_ATTACHMENT_TYPE, { role: "r", policyArn: "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore" })).toEqual([]);
        expect(await check(ROLE_TYPE, { assumeRolePolicy: doc([]), managedPolicyArns: ["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"] })).toEqual([]);
    });

    test("attaching a *FullAccess policy is a mandatory violation", async () => {
        expect(await check(ROLE_POLICY_ATTACHMENT_TYPE, { role: "r", policyArn: "arn:aws:iam::aws:policy/AmazonS3FullAccess" })).toEqual([
            expect.objectContaining({ enforcementLevel: "mandatory", message: expect.stringContaining("AmazonS3FullAccess") }),
        ]);
    });

    test("a role listing AdministratorAccess or a *FullAccess policy in managedPolicyArns is reported once per policy", async () => {
        const role = { assumeRolePolicy: doc([]), managedPolicyArns: ["arn:aws:iam::aws:policy/AdministratorAccess", "arn:aws:iam::aws:policy/AmazonMSKFullAccess", UNKNOWN_STRING] };
        expect((await check(ROLE_TYPE, role)).map((v) => v.message)).toEqual([expect.stringContaining("AdministratorAccess"), expect.stringContaining("AmazonMSKFullAccess")]);
    });
});

describe("iam-no-wildcard-resource-for-scopable-actions", () => {
    const check = of("iam-no-wildcard-resource-for-scopable-actions");

    test("actions on named ARNs pass, and so do actions AWS only authorizes on *", async () => {
        const policy = doc([
            { Effect: "Allow", Action: ["s3:ListBucketMultipartUploads"], Resource: ["arn:aws:s3:::lake-bucket"] },
            { Effect: "Allow", Action: ["ecr:GetAuthorizationToken"], Resource: ["*"] },
            { Effect: "Deny", Action: "s3:*", Resource: "*" },
        ]);
        expect(await check(ROLE_POLICY_TYPE, { role: "r", policy })).toEqual([]);
    });

    test("a scopable action on * is a mandatory violation naming the action", async () => {
        const policy = doc([{ Sid: "Multipart", Effect: "Allow", Action: ["s3:ListBucketMultipartUploads", "ecr:GetAuthorizationToken"], Resource: "*" }]);
        expect(await check(ROLE_POLICY_TYPE, { role: "r", policy })).toEqual([
            expect.objectContaining({ enforcementLevel: "mandatory", message: expect.stringContaining("grants s3:ListBucketMultipartUploads on every resource") }),
        ]);
        expect(await check(IAM_POLICY_TYPE, { policy: doc([{ Effect: "Allow", NotAction: "iam:*", Resource: "*" }]) })).toEqual([expect.objectContaining({ message: expect.stringContaining("NotAction") })]);
    });

    test("the list of unscopable actions can be extended in config, and unknown documents are not reported", async () => {
        const policy = doc([{ Effect: "Allow", Action: ["cloudwatch:PutMetricData"], Resource: "*" }]);
        const found = await violations(pack, ROLE_POLICY_TYPE, { role: "r", policy }, { config: { "iam-no-wildcard-resource-for-scopable-actions": { unscopableActions: ["cloudwatch:PutMetricData"] } } });
        expect(found.filter((v) => v.policy === "iam-no-wildcard-resource-for-scopable-actions")).toEqual([]);
        expect(await check(IAM_POLICY_TYPE, { policy: UNKNOWN_STRING })).toEqual([]);
    });
});
