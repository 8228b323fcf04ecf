import { NetworkConfig } from "../components/config";
import { azName, cidrSubnet, Network, networkMode, parseCidr, subnetCidrs } from "../components/network";
import { promiseOf, Registered, registered, REGION, settle, setupMocks } from "./support/mocks";

const base: NetworkConfig = { cidr: "10.20.0.0/16", azCount: 3, natGateways: "single", ssmEndpoints: true, flowLogRetentionDays: 90 };

/** Every resource registered under one component instance (its children are named `${name}-...`). */
function childrenOf(name: string): Registered[] {
    return registered.filter((r) => r.name.startsWith(`${name}-`) && r.custom);
}

function ofTypeIn(name: string, type: string): Registered[] {
    return childrenOf(name).filter((r) => r.type === type);
}

function range(cidr: string): [number, number] {
    const { base: start, prefix } = parseCidr(cidr);
    return [start, start + 2 ** (32 - prefix) - 1];
}

const networks: Record<string, Network> = {};

beforeAll(async () => {
    // EIPs get their allocation id from AWS; give each its own so the test can tell which NAT uses which.
    await setupMocks({ hook: (a) => (a.type === "aws:ec2/eip:Eip" ? { allocationId: `${a.name}-alloc` } : undefined) });
    networks.single = new Network("single", { config: { ...base, natGateways: "single" } });
    networks.perAz = new Network("perAz", { config: { ...base, natGateways: "perAz" } });
    networks.noNat = new Network("noNat", { config: { ...base, azCount: 2, natGateways: "none", ssmEndpoints: false } });
    networks.retained = new Network("retained", { config: { ...base, flowLogRetentionDays: 365 }, retainAuditLogs: true });
    networks.existing = new Network("existing", {
        config: { ...base, vpcId: "vpc-0abc", privateSubnetIds: ["subnet-01", "subnet-02"], vpcCidr: "10.1.0.0/16" },
    });
    await settle();
});

describe("subnet layout", () => {
    test("carves equal blocks of the VPC by index, like cidrsubnet", () => {
        expect(cidrSubnet("10.20.0.0/16", 20, 0)).toBe("10.20.0.0/20");
        expect(cidrSubnet("10.20.0.0/16", 20, 9)).toBe("10.20.144.0/20");
        expect(cidrSubnet("192.168.4.0/24", 28, 15)).toBe("192.168.4.240/28");
    });

    test("subnets of every AZ count fit inside the VPC and never overlap", () => {
        for (const azCount of [2, 3, 4, 6]) {
            const { private: priv, public: pub } = subnetCidrs("10.20.0.0/16", azCount);
            const all = [...priv, ...pub];
            expect(all).toHaveLength(2 * azCount);
            const [vpcStart, vpcEnd] = range("10.20.0.0/16");
            const ranges = all.map(range).sort((a, b) => a[0] - b[0]);
            for (const [start, end] of ranges) {
                expect(start).toBeGreaterThanOrEqual(vpcStart);
                expect(end).toBeLessThanOrEqual(vpcEnd);
            }
            for (let i = 1; i < ranges.length; i++) {
                expect(ranges[i][0]).toBeGreaterThan(ranges[i - 1][1]);
            }
        }
    });

    test("adding an AZ keeps every existing subnet's CIDR", () => {
        const two = subnetCidrs("10.20.0.0/16", 2);
        const three = subnetCidrs("10.20.0.0/16", 3);
        expect(three.private.slice(0, 2)).toEqual(two.private);
        expect(three.public.slice(0, 2)).toEqual(two.public);
    });

    test("a VPC CIDR with host bits set is refused with the aligned block to use", () => {
        expect(() => subnetCidrs("10.20.1.0/16", 3)).toThrow(/host bits set; use 10\.20\.0\.0\/16/);
    });

    test("a VPC larger than /16 is refused", () => {
        expect(() => subnetCidrs("10.0.0.0/15", 3)).toThrow(/network\.cidr must be between \/16 .* got "10\.0\.0\.0\/15"/);
    });

    test("a VPC too small for /28 subnet blocks is refused", () => {
        expect(() => subnetCidrs("10.0.0.0/25", 3)).toThrow(/network\.cidr must be between \/16 .* and \/24 .*; got "10\.0\.0\.0\/25"/);
    });

    test("more AZs than the layout has slots is refused", () => {
        expect(() => subnetCidrs("10.0.0.0/16", 9)).toThrow(/network\.azCount must be between 1 and 8 .*; got 9/);
    });

    test("a block index outside the VPC is refused", () => {
        expect(() => cidrSubnet("10.0.0.0/16", 20, 16)).toThrow(/holds 16 \/20 blocks \(0-15\); block 16 does not exist/);
    });

    test("a region with fewer AZs than azCount fails with the fix", () => {
        expect(azName(["a", "b", "c"], 1, 3)).toBe("b");
        expect(() => azName(["a", "b"], 0, 3)).toThrow(/azCount is 3 but the region has only 2 available AZs .* lower network\.azCount/);
    });
});

describe("network mode", () => {
    test("half an existing VPC is refused", () => {
        expect(() => networkMode({ ...base, vpcId: "vpc-0abc" })).toThrow(/needs all of vpcId, privateSubnetIds and vpcCidr/);
    });

    test("an existing VPC with one private subnet is refused", () => {
        expect(() => networkMode({ ...base, vpcId: "vpc-0abc", privateSubnetIds: ["subnet-01"], vpcCidr: "10.1.0.0/16" })).toThrow(
            /at least 2 private subnets.*got 1/,
        );
    });
});

describe("created VPC", () => {
    test("the VPC has DNS hostnames and DNS support on", () => {
        const vpcs = ofTypeIn("single", "aws:ec2/vpc:Vpc");
        expect(vpcs).toHaveLength(1);
        expect(vpcs[0].inputs).toMatchObject({ cidrBlock: "10.20.0.0/16", enableDnsHostnames: true, enableDnsSupport: true });
    });

    test("one public and one private subnet per AZ, in distinct AZs, with the computed CIDRs", () => {
        const subnets = ofTypeIn("single", "aws:ec2/subnet:Subnet");
        const priv = subnets.filter((s) => /-private-\d$/.test(s.name));
        const pub = subnets.filter((s) => /-public-\d$/.test(s.name));
        expect(priv).toHaveLength(3);
        expect(pub).toHaveLength(3);
        const expected = subnetCidrs("10.20.0.0/16", 3);
        expect(priv.map((s) => s.inputs.cidrBlock)).toEqual(expected.private);
        expect(pub.map((s) => s.inputs.cidrBlock)).toEqual(expected.public);
        expect(new Set(priv.map((s) => s.inputs.availabilityZone))).toEqual(new Set([`${REGION}a`, `${REGION}b`, `${REGION}c`]));
        expect(networks.single.privateSubnetCount).toBe(3);
        expect(ofTypeIn("noNat", "aws:ec2/subnet:Subnet")).toHaveLength(4);
    });

    test("no subnet maps public IPs on launch", () => {
        const subnets = childrenOf("single").filter((r) => r.type === "aws:ec2/subnet:Subnet");
        expect(subnets.length).toBeGreaterThan(0);
        for (const s of subnets) {
            expect(s.inputs.mapPublicIpOnLaunch).toBe(false);
        }
    });

    test("the public route table sends 0.0.0.0/0 to the internet gateway and serves every public subnet", () => {
        const igw = ofTypeIn("single", "aws:ec2/internetGateway:InternetGateway");
        expect(igw).toHaveLength(1);
        const route = ofTypeIn("single", "aws:ec2/route:Route").find((r) => r.inputs.routeTableId === "single-public-id");
        expect(route?.inputs).toMatchObject({ destinationCidrBlock: "0.0.0.0/0", gatewayId: "single-igw-id" });
        const assoc = ofTypeIn("single", "aws:ec2/routeTableAssociation:RouteTableAssociation").filter((a) => a.inputs.routeTableId === "single-public-id");
        expect(assoc.map((a) => a.inputs.subnetId).sort()).toEqual(["single-public-0-id", "single-public-1-id", "single-public-2-id"]);
    });

    test("each private subnet has its own route table", () => {
        const assoc = ofTypeIn("single", "aws:ec2/routeTableAssociation:RouteTableAssociation").filter((a) => /private/.test(a.inputs.subnetId));
        expect(assoc.map((a) => [a.inputs.subnetId, a.inputs.routeTableId])).toEqual([0, 1, 2].map((i) => [`single-private-${i}-id`, `single-private-${i}-id`]));
    });

    test("the default security group is emptied", () => {
        const sg = ofTypeIn("single", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup");
        expect(sg).toHaveLength(1);
        expect(sg[0].inputs.ingress ?? []).toEqual([]);
        expect(sg[0].inputs.egress ?? []).toEqual([]);
    });

    test("exposes the VPC, its CIDR and the subnet ids", async () => {
        expect(await promiseOf(networks.single.vpcId)).toBe("single-vpc-id");
        expect(await promiseOf(networks.single.vpcCidr)).toBe("10.20.0.0/16");
        expect(await promiseOf(networks.single.privateSubnetIds)).toEqual(["single-private-0-id", "single-private-1-id", "single-private-2-id"]);
        expect(await promiseOf(networks.single.publicSubnetIds)).toEqual(["single-public-0-id", "single-public-1-id", "single-public-2-id"]);
    });
});

describe("NAT gateways", () => {
    const privateDefaultRoutes = (name: string) =>
        ofTypeIn(name, "aws:ec2/route:Route").filter((r) => /-private-\d-id$/.test(r.inputs.routeTableId) && r.inputs.destinationCidrBlock === "0.0.0.0/0");

    test("single: one NAT in the first public subnet, shared by every private route table", () => {
        const nats = ofTypeIn("single", "aws:ec2/natGateway:NatGateway");
        expect(nats).toHaveLength(1);
        expect(nats[0].inputs.subnetId).toBe("single-public-0-id");
        const routes = privateDefaultRoutes("single");
        expect(routes.map((r) => r.inputs.routeTableId)).toEqual(["single-private-0-id", "single-private-1-id", "single-private-2-id"]);
        expect(new Set(routes.map((r) => r.inputs.natGatewayId))).toEqual(new Set([nats[0].name + "-id"]));
    });

    test("perAz: one NAT with its own EIP per AZ, each private table routed through its own AZ's NAT", () => {
        const nats = ofTypeIn("perAz", "aws:ec2/natGateway:NatGateway");
        const eips = ofTypeIn("perAz", "aws:ec2/eip:Eip");
        expect(nats).toHaveLength(3);
        expect(eips).toHaveLength(3);
        expect(new Set(nats.map((n) => n.inputs.subnetId))).toEqual(new Set(["perAz-public-0-id", "perAz-public-1-id", "perAz-public-2-id"]));
        expect(new Set(nats.map((n) => n.inputs.allocationId)).size).toBe(3);
        for (const route of privateDefaultRoutes("perAz")) {
            const az = /-private-(\d)-id$/.exec(route.inputs.routeTableId)![1];
            const nat = nats.find((n) => `${n.name}-id` === route.inputs.natGatewayId)!;
            expect(nat.inputs.subnetId).toBe(`perAz-public-${az}-id`);
        }
        expect(privateDefaultRoutes("perAz")).toHaveLength(3);
    });

    test("none: no NAT, no EIP and no default route on the private tables", () => {
        expect(ofTypeIn("noNat", "aws:ec2/natGateway:NatGateway")).toHaveLength(0);
        expect(ofTypeIn("noNat", "aws:ec2/eip:Eip")).toHaveLength(0);
        expect(privateDefaultRoutes("noNat")).toHaveLength(0);
        const inline = ofTypeIn("noNat", "aws:ec2/routeTable:RouteTable").flatMap((t) => t.inputs.routes ?? []);
        expect(inline).toEqual([]);
    });
});

describe("endpoints", () => {
    test("the S3 gateway endpoint is attached to every private route table and no public one", () => {
        const s3 = ofTypeIn("single", "aws:ec2/vpcEndpoint:VpcEndpoint").filter((e) => e.inputs.vpcEndpointType === "Gateway");
        expect(s3).toHaveLength(1);
        expect(s3[0].inputs.serviceName).toBe(`com.amazonaws.${REGION}.s3`);
        expect(s3[0].inputs.routeTableIds).toEqual(["single-private-0-id", "single-private-1-id", "single-private-2-id"]);
    });

    test("SSM, SSM messages and EC2 messages interface endpoints with private DNS in the private subnets", () => {
        const interfaces = ofTypeIn("single", "aws:ec2/vpcEndpoint:VpcEndpoint").filter((e) => e.inputs.vpcEndpointType === "Interface");
        expect(interfaces.map((e) => e.inputs.serviceName).sort()).toEqual(
            ["ec2messages", "ssm", "ssmmessages"].map((s) => `com.amazonaws.${REGION}.${s}`),
        );
        const sg = ofTypeIn("single", "aws:ec2/securityGroup:SecurityGroup");
        expect(sg).toHaveLength(1);
        for (const e of interfaces) {
            expect(e.inputs.privateDnsEnabled).toBe(true);
            expect(e.inputs.subnetIds).toEqual(["single-private-0-id", "single-private-1-id", "single-private-2-id"]);
            expect(e.inputs.securityGroupIds).toEqual([`${sg[0].name}-id`]);
        }
    });

    test("the endpoints' security group admits only 443 from the VPC CIDR, never the internet", () => {
        const sg = ofTypeIn("single", "aws:ec2/securityGroup:SecurityGroup")[0];
        expect(sg.inputs.ingress ?? []).toEqual([]);
        expect(sg.inputs.egress ?? []).toEqual([]);
        const rules = ofTypeIn("single", "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule");
        expect(rules.map((r) => r.inputs)).toEqual([
            expect.objectContaining({ securityGroupId: `${sg.name}-id`, ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIpv4: "10.20.0.0/16" }),
        ]);
        const anywhere = childrenOf("single").filter((r) => r.type.includes("ecurityGroup") && JSON.stringify(r.inputs).match(/0\.0\.0\.0\/0|::\/0/));
        expect(anywhere).toEqual([]);
    });

    test("ssmEndpoints off creates no interface endpoints and no endpoint security group", () => {
        expect(ofTypeIn("noNat", "aws:ec2/vpcEndpoint:VpcEndpoint").map((e) => e.inputs.vpcEndpointType)).toEqual(["Gateway"]);
        expect(ofTypeIn("noNat", "aws:ec2/securityGroup:SecurityGroup")).toHaveLength(0);
    });
});

describe("existing VPC", () => {
    test("creates no resources", () => {
        expect(childrenOf("existing")).toEqual([]);
    });

    test("passes the given ids through", async () => {
        const n = networks.existing;
        expect(await promiseOf(n.vpcId)).toBe("vpc-0abc");
        expect(await promiseOf(n.vpcCidr)).toBe("10.1.0.0/16");
        expect(await promiseOf(n.privateSubnetIds)).toEqual(["subnet-01", "subnet-02"]);
        expect(await promiseOf(n.publicSubnetIds)).toEqual([]);
        expect(n.privateSubnetCount).toBe(2);
    });
});

test("every child is parented to its component (the flow logs' children to the flow-log component inside it)", () => {
    for (const name of ["single", "perAz", "noNat"]) {
        const component = registered.find((r) => r.type === "spark-streaming:network:Network" && r.name === name)!;
        const flowLogs = registered.find((r) => r.type === "spark-streaming:network:VpcFlowLogs" && r.name === `${name}-flow-logs`)!;
        expect(flowLogs.parent).toBe(component.urn);
        const children = childrenOf(name);
        expect(children.length).toBeGreaterThan(10);
        for (const child of children) {
            const expected = child.name.startsWith(`${name}-flow-logs-`) ? `urn:pulumi:test::spark-streaming::spark-streaming:network:Network$spark-streaming:network:VpcFlowLogs::${name}-flow-logs` : component.urn;
            expect({ child: child.name, parent: child.parent }).toEqual({ child: child.name, parent: expected });
        }
    }
});

describe("flow logs", () => {
    const one = (name: string, type: string) => {
        const found = ofTypeIn(name, type);
        expect(found).toHaveLength(1);
        return found[0];
    };

    test("log every accepted and rejected connection of the created VPC to CloudWatch Logs", () => {
        const flowLog = one("single", "aws:ec2/flowLog:FlowLog").inputs;
        expect(flowLog).toMatchObject({ trafficType: "ALL", logDestinationType: "cloud-watch-logs", vpcId: one("single", "aws:ec2/vpc:Vpc").inputs.name ?? "single-vpc-id" });
        expect(flowLog.logDestination).toBe(one("single", "aws:cloudwatch/logGroup:LogGroup").inputs.arn ?? flowLog.logDestination);
        expect(flowLog.iamRoleArn).toMatch(/flow-logs-role/);
    });

    test("go to a log group encrypted with its own key, kept for network.flowLogRetentionDays", () => {
        const group = one("single", "aws:cloudwatch/logGroup:LogGroup").inputs;
        expect(group.retentionInDays).toBe(90);
        expect(group.kmsKeyId).toMatch(/flow-logs-key/);
        expect(group.name).toBe("/aws/vpc-flow-logs/spark-streaming-test-single-flow-logs");
        expect(one("single", "aws:kms/key:Key").inputs.enableKeyRotation).toBe(true);
    });

    test("the key lets CloudWatch Logs use it for this log group only", () => {
        const policy = JSON.parse(one("single", "aws:kms/key:Key").inputs.policy);
        const logs = policy.Statement.find((s: any) => s.Principal?.Service === `logs.${REGION}.amazonaws.com`);
        expect(logs.Condition).toEqual({
            ArnEquals: { "kms:EncryptionContext:aws:logs:arn": `arn:aws:logs:${REGION}:123456789012:log-group:/aws/vpc-flow-logs/spark-streaming-test-single-flow-logs` },
        });
        expect(logs.Action).toEqual(expect.arrayContaining(["kms:Encrypt*", "kms:GenerateDataKey*", "kms:Decrypt*"]));
    });

    test("the flow-log role is assumable only by this account's flow logs and writes only to its group", () => {
        const trust = JSON.parse(one("single", "aws:iam/role:Role").inputs.assumeRolePolicy);
        expect(trust.Statement[0]).toMatchObject({
            Principal: { Service: "vpc-flow-logs.amazonaws.com" },
            Condition: { StringEquals: { "aws:SourceAccount": "123456789012" }, ArnLike: { "aws:SourceArn": `arn:aws:ec2:${REGION}:123456789012:vpc-flow-log/*` } },
        });
        const policy = JSON.parse(one("single", "aws:iam/rolePolicy:RolePolicy").inputs.policy);
        for (const st of policy.Statement) {
            expect(st.Resource).not.toContain("*");
            for (const r of st.Resource) {
                expect(r).toMatch(/:log-group:\/aws\/vpc-flow-logs\/spark-streaming-test-single-flow-logs(:\*)?$/);
            }
        }
    });

    test("a retained (protected) stack keeps the key and the log group on destroy; an existing VPC gets none", () => {
        expect(one("single", "aws:kms/key:Key").retainOnDelete).toBe(false);
        expect(one("retained", "aws:kms/key:Key").retainOnDelete).toBe(true);
        expect(one("retained", "aws:cloudwatch/logGroup:LogGroup").retainOnDelete).toBe(true);
        expect(networks.existing.flowLogs).toBeUndefined();
    });
});
