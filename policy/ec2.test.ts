import { INSTANCE_TYPE, LAUNCH_TEMPLATE_TYPE, SECURITY_GROUP_RULE_TYPE, SECURITY_GROUP_TYPE, VPC_EGRESS_RULE_TYPE, VPC_INGRESS_RULE_TYPE } from "./ec2";
import { packPolicies } from "./pack";
import { UNKNOWN_STRING, violations } from "./testing";

const pack = packPolicies();
const of = (policy: string) => async (type: string, props: Record<string, any>) =>
    (await violations(pack, type, props, { name: "subject" })).filter((v) => v.policy === policy);

describe("security-group-no-public-ingress", () => {
    const check = of("security-group-no-public-ingress");

    test("inline ingress from a listed CIDR or another group passes", async () => {
        const sg = { vpcId: "vpc-1", ingress: [{ protocol: "tcp", fromPort: 8080, toPort: 8080, cidrBlocks: ["203.0.113.0/24"] }, { protocol: "tcp", fromPort: 7077, toPort: 7077, securityGroups: ["sg-1"] }] };
        expect(await check(SECURITY_GROUP_TYPE, sg)).toEqual([]);
    });

    test("inline ingress open to 0.0.0.0/0 is a mandatory violation naming the port", async () => {
        const sg = { vpcId: "vpc-1", ingress: [{ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["10.0.0.0/8", "0.0.0.0/0"] }] };
        expect(await check(SECURITY_GROUP_TYPE, sg)).toEqual([expect.objectContaining({ enforcementLevel: "mandatory", message: expect.stringMatching(/port 22 open to 0\.0\.0\.0\/0/) })]);
    });

    test("open egress is not ingress and passes", async () => {
        expect(await check(SECURITY_GROUP_TYPE, { egress: [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }] })).toEqual([]);
    });

    test("a SecurityGroupRule of type ingress open to ::/0 is reported, an egress one is not", async () => {
        const rule = { type: "ingress", protocol: "tcp", fromPort: 443, toPort: 443, securityGroupId: "sg-1", ipv6CidrBlocks: ["::/0"] };
        expect(await check(SECURITY_GROUP_RULE_TYPE, rule)).toEqual([expect.objectContaining({ message: expect.stringContaining("::/0") })]);
        expect(await check(SECURITY_GROUP_RULE_TYPE, { ...rule, type: "egress" })).toEqual([]);
        expect(await check(SECURITY_GROUP_RULE_TYPE, { ...rule, ipv6CidrBlocks: undefined, cidrBlocks: ["10.20.0.0/16"] })).toEqual([]);
    });

    test("a vpc SecurityGroupIngressRule with cidrIpv4 0.0.0.0/0 is reported, one with a private CIDR is not", async () => {
        const rule = { securityGroupId: "sg-1", ipProtocol: "tcp", fromPort: 18080, toPort: 18080, cidrIpv4: "0.0.0.0/0" };
        expect(await check(VPC_INGRESS_RULE_TYPE, rule)).toEqual([expect.objectContaining({ message: expect.stringContaining("port 18080") })]);
        expect(await check(VPC_INGRESS_RULE_TYPE, { ...rule, cidrIpv4: "10.30.0.0/16" })).toEqual([]);
    });

    test("an unknown CIDR is not reported", async () => {
        expect(await check(VPC_INGRESS_RULE_TYPE, { securityGroupId: "sg-1", ipProtocol: "tcp", fromPort: 80, toPort: 80, cidrIpv4: UNKNOWN_STRING })).toEqual([]);
    });
});

describe("ec2-imdsv2-required", () => {
    const check = of("ec2-imdsv2-required");

    test.each([INSTANCE_TYPE, LAUNCH_TEMPLATE_TYPE])("%s with httpTokens required passes", async (type) => {
        expect(await check(type, { instanceType: "m6i.large", metadataOptions: { httpTokens: "required", httpEndpoint: "enabled", httpPutResponseHopLimit: 2 } })).toEqual([]);
    });

    test.each([INSTANCE_TYPE, LAUNCH_TEMPLATE_TYPE])("%s without metadataOptions, or with httpTokens optional, is reported", async (type) => {
        expect(await check(type, { instanceType: "m6i.large" })).toEqual([expect.objectContaining({ enforcementLevel: "mandatory", message: expect.stringContaining('httpTokens: "required"') })]);
        expect(await check(type, { instanceType: "m6i.large", metadataOptions: { httpTokens: "optional" } })).toHaveLength(1);
    });

    test("unknown metadata options are not reported", async () => {
        expect(await check(LAUNCH_TEMPLATE_TYPE, { metadataOptions: { httpTokens: UNKNOWN_STRING } })).toEqual([]);
    });
});

describe("security-group-no-all-protocol-world-egress", () => {
    const check = of("security-group-no-all-protocol-world-egress");

    test("HTTPS to the world, and every protocol to another group, pass", async () => {
        expect(await check(VPC_EGRESS_RULE_TYPE, { securityGroupId: "sg-1", ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIpv4: "0.0.0.0/0" })).toEqual([]);
        expect(await check(VPC_EGRESS_RULE_TYPE, { securityGroupId: "sg-1", ipProtocol: "-1", referencedSecurityGroupId: "sg-2" })).toEqual([]);
        expect(await check(SECURITY_GROUP_TYPE, { egress: [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["10.0.0.0/16"] }] })).toEqual([]);
    });

    test("every protocol to 0.0.0.0/0 or ::/0 is a mandatory violation, in each form a rule can take", async () => {
        expect(await check(VPC_EGRESS_RULE_TYPE, { securityGroupId: "sg-1", ipProtocol: "-1", cidrIpv4: "0.0.0.0/0" })).toEqual([
            expect.objectContaining({ enforcementLevel: "mandatory", message: expect.stringContaining("allows every protocol out to 0.0.0.0/0") }),
        ]);
        expect(await check(VPC_EGRESS_RULE_TYPE, { securityGroupId: "sg-1", ipProtocol: "-1", cidrIpv6: "::/0" })).toHaveLength(1);
        expect(await check(SECURITY_GROUP_TYPE, { egress: [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }] })).toHaveLength(1);
        expect(await check(SECURITY_GROUP_RULE_TYPE, { type: "egress", protocol: "all", fromPort: 0, toPort: 0, securityGroupId: "sg-1", cidrBlocks: ["0.0.0.0/0"] })).toHaveLength(1);
        expect(await check(SECURITY_GROUP_RULE_TYPE, { type: "ingress", protocol: "-1", fromPort: 0, toPort: 0, securityGroupId: "sg-1", cidrBlocks: ["10.0.0.0/8"] })).toEqual([]);
    });

    test("an unknown CIDR is not reported", async () => {
        expect(await check(VPC_EGRESS_RULE_TYPE, { securityGroupId: "sg-1", ipProtocol: "-1", cidrIpv4: UNKNOWN_STRING })).toEqual([]);
    });
});

describe("ec2-imds-hop-limit", () => {
    const check = of("ec2-imds-hop-limit");

    test.each([INSTANCE_TYPE, LAUNCH_TEMPLATE_TYPE])("%s with hop limit 1 passes", async (type) => {
        expect(await check(type, { metadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 1 } })).toEqual([]);
    });

    test.each([INSTANCE_TYPE, LAUNCH_TEMPLATE_TYPE])("%s with hop limit 2, or none set, is a mandatory violation", async (type) => {
        expect(await check(type, { metadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 2 } })).toEqual([
            expect.objectContaining({ enforcementLevel: "mandatory", message: expect.stringContaining("hop limit 2, above 1") }),
        ]);
        expect(await check(type, { metadataOptions: { httpTokens: "required" } })).toEqual([expect.objectContaining({ message: expect.stringContaining("leaves the metadata hop limit to the AMI") })]);
    });

    test("the maximum is configurable (a future engine whose pods need a hop), and unknown values are not reported", async () => {
        const lt = { metadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 2 } };
        expect((await violations(pack, LAUNCH_TEMPLATE_TYPE, lt, { config: { "ec2-imds-hop-limit": { maxHopLimit: 2 } } })).filter((v) => v.policy === "ec2-imds-hop-limit")).toEqual([]);
        expect(await check(LAUNCH_TEMPLATE_TYPE, { metadataOptions: { httpPutResponseHopLimit: UNKNOWN_STRING } })).toEqual([]);
    });
});
