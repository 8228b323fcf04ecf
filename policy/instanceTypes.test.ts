import * as fs from "fs";
import * as path from "path";
import { DEFAULT_ALLOWED_INSTANCE_TYPES, INSTANCE_TYPES_POLICY, isAllowedType } from "./instanceTypes";
import { packPolicies } from "./pack";
import { UNKNOWN_STRING, violations } from "./testing";

const pack = packPolicies();
const stackConfig = (stack: string) => JSON.parse(fs.readFileSync(path.join(__dirname, `policy-config.${stack}.json`), "utf8"));
const check = async (type: string, props: Record<string, any>, config?: Record<string, Record<string, unknown>>) =>
    (await violations(pack, type, props, { name: "subject", config })).filter((v) => v.policy === INSTANCE_TYPES_POLICY);

describe("instance-types-allowed", () => {
    test("exact entries and family wildcards match only what they name", () => {
        expect(isAllowedType("m7g.2xlarge", ["m7g.*"])).toBe(true);
        expect(isAllowedType("m7gd.2xlarge", ["m7g.*"])).toBe(false);
        expect(isAllowedType("m6i.large", ["m6i.large"])).toBe(true);
        expect(isAllowedType("m6i.xlarge", ["m6i.large"])).toBe(false);
    });

    test("with no config the schema default applies", async () => {
        expect(await check("aws:ec2/instance:Instance", { instanceType: "m6i.large" })).toEqual([]);
        expect(DEFAULT_ALLOWED_INSTANCE_TYPES).not.toContain("p5.48xlarge");
        expect(await check("aws:ec2/instance:Instance", { instanceType: "p5.48xlarge" })).toEqual([expect.objectContaining({ enforcementLevel: "advisory", message: expect.stringContaining("p5.48xlarge") })]);
    });

    test("the dev config allows dev's sizes and flags a prod-sized EMR core group", async () => {
        const dev = stackConfig("dev");
        expect(await check("aws:ec2/launchTemplate:LaunchTemplate", { instanceType: "m6i.large" }, dev)).toEqual([]);
        expect(await check("aws:msk/cluster:Cluster", { brokerNodeGroupInfo: { instanceType: "kafka.t3.small" } }, dev)).toEqual([]);
        const emr = { masterInstanceGroup: { instanceType: "m7g.xlarge" }, coreInstanceGroup: { instanceType: "m7g.2xlarge" } };
        expect(await check("aws:emr/cluster:Cluster", emr, dev)).toEqual([expect.objectContaining({ message: expect.stringContaining("coreInstanceGroup.instanceType m7g.2xlarge") })]);
    });

    test("the prod config flags a burstable broker and allows prod's EMR sizes", async () => {
        const prod = stackConfig("prod");
        expect(await check("aws:msk/cluster:Cluster", { brokerNodeGroupInfo: { instanceType: "kafka.t3.small" } }, prod)).toHaveLength(1);
        const emr = { masterInstanceGroup: { instanceType: "m7g.xlarge" }, coreInstanceGroup: { instanceType: "m7g.2xlarge" } };
        expect(await check("aws:emr/cluster:Cluster", emr, prod)).toEqual([]);
    });

    test("EMR fleets and separate instance groups are checked; unknown types are not", async () => {
        const prod = stackConfig("prod");
        expect(await check("aws:emr/instanceFleet:InstanceFleet", { cluster: "j-1", instanceTypeConfigs: [{ instanceType: "m7g.xlarge" }, { instanceType: "c5.24xlarge" }] }, prod)).toEqual([
            expect.objectContaining({ message: expect.stringContaining("instanceTypeConfigs[1].instanceType c5.24xlarge") }),
        ]);
        expect(await check("aws:emr/instanceGroup:InstanceGroup", { clusterId: "j-1", instanceType: UNKNOWN_STRING }, prod)).toEqual([]);
    });
});
