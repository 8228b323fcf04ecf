import { packPolicies } from "./pack";
import { UNKNOWN_STRING, violations } from "./testing";

const pack = packPolicies();
const BUCKET = "aws:s3/bucket:Bucket";
const awsProvider = (defaultTags?: unknown) => ({ type: "pulumi:providers:aws", name: "aws-dataLake", props: defaultTags === undefined ? { region: "eu-west-1" } : { region: "eu-west-1", defaultTags } });
const check = async (props: Record<string, any>, provider?: ReturnType<typeof awsProvider>) =>
    (await violations(pack, BUCKET, props, { name: "lake", provider })).filter((v) => v.policy === "aws-required-tags");

describe("aws-required-tags", () => {
    test("tags from the component provider's default tags pass (as an object or the JSON string providers receive)", async () => {
        const tags = { tags: { project: "spark-streaming", stack: "dev", component: "dataLake" } };
        expect(await check({}, awsProvider(tags))).toEqual([]);
        expect(await check({}, awsProvider(JSON.stringify(tags)))).toEqual([]);
    });

    test("tags set on the resource, or merged into tagsAll by the provider, pass", async () => {
        expect(await check({ tags: { project: "spark-streaming", stack: "prod" } })).toEqual([]);
        expect(await check({ tagsAll: { project: "spark-streaming", stack: "prod", component: "dataLake" } })).toEqual([]);
    });

    test("a taggable resource without the stack tag is an advisory violation naming it", async () => {
        expect(await check({ tags: { project: "spark-streaming" } })).toEqual([expect.objectContaining({ enforcementLevel: "advisory", message: expect.stringContaining("missing the stack tag") })]);
        expect(await check({ tags: {} }, awsProvider({ tags: { component: "dataLake" } }))).toEqual([
            expect.objectContaining({ message: expect.stringContaining("missing the project and stack tag(s)") }),
        ]);
    });

    test("unknown tags are not reported, nor a resource that shows no sign of being taggable", async () => {
        expect(await check({ tags: UNKNOWN_STRING })).toEqual([]);
        expect(await check({ bucket: "lake-bucket" })).toEqual([]);
    });
});
