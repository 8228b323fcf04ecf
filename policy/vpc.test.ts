import { packPolicies } from "./pack";
import { StackResourceSpec, stackViolations, UNKNOWN_STRING, urnOf } from "./testing";
import { FLOW_LOG_TYPE, VPC_TYPE } from "./vpc";

const pack = packPolicies();
const vpc: StackResourceSpec = { type: VPC_TYPE, name: "net", props: { id: "vpc-1", cidrBlock: "10.0.0.0/16" } };
const flowLog = (props: Record<string, unknown>): StackResourceSpec => ({ type: FLOW_LOG_TYPE, name: "net-flow", props: { logDestinationType: "cloud-watch-logs", ...props } });
const check = async (resources: StackResourceSpec[]) => (await stackViolations(pack, resources)).filter((v) => v.policy === "vpc-flow-logs-enabled");

describe("vpc-flow-logs-enabled", () => {
    test("a VPC with a flow log of ALL traffic passes (by id, or by property dependency)", async () => {
        expect(await check([vpc, flowLog({ vpcId: "vpc-1", trafficType: "ALL" })])).toEqual([]);
        const byDependency: StackResourceSpec = { ...flowLog({ vpcId: UNKNOWN_STRING, trafficType: "ALL" }), propertyDependencies: { vpcId: [urnOf(VPC_TYPE, "net")] } };
        expect(await check([{ ...vpc, props: { cidrBlock: "10.0.0.0/16" } }, byDependency])).toEqual([]);
    });

    test("a VPC without flow logs is a mandatory violation against the VPC", async () => {
        expect(await check([vpc])).toEqual([expect.objectContaining({ enforcementLevel: "mandatory", urn: urnOf(VPC_TYPE, "net"), message: expect.stringContaining("has no flow log") })]);
        expect(await check([vpc, flowLog({ vpcId: "vpc-other", trafficType: "ALL" })])).toHaveLength(1);
    });

    test("a flow log of only REJECT traffic is not enough", async () => {
        expect(await check([vpc, flowLog({ vpcId: "vpc-1", trafficType: "REJECT" })])).toEqual([expect.objectContaining({ message: expect.stringContaining("do not record ALL traffic (REJECT)") })]);
    });

    test("a flow log whose VPC is not known yet is not reported", async () => {
        expect(await check([vpc, flowLog({ vpcId: UNKNOWN_STRING, trafficType: "ALL" })])).toEqual([]);
    });
});
