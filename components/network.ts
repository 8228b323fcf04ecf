import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { isIpv4Cidr, NetworkConfig } from "./config";
import { NetworkRefs } from "./refs";

/** Subnets are carved as 16 equal blocks of the VPC: private subnets take slots 0-7, public ones slots 8-15. */
const SUBNET_BITS = 4;
const PUBLIC_SLOT_OFFSET = 8;
/** AWS allows subnets no smaller than /28. */
const SMALLEST_SUBNET_PREFIX = 28;

export interface NetworkArgs {
    /** The stack's validated network config: create a VPC (no `vpcId`), or use the existing one it names. */
    readonly config: NetworkConfig;
}

/** `create` builds a VPC; `existing` exposes the VPC and subnets the config names and creates nothing. */
export type NetworkMode = "create" | "existing";

/** Which mode the config asks for. An existing VPC must be described completely, or the other parts cannot wire into it. */
export function networkMode(config: NetworkConfig): NetworkMode {
    const given = [config.vpcId, config.privateSubnetIds, config.vpcCidr].filter((v) => v !== undefined).length;
    if (given === 0) {
        return "create";
    }
    if (given < 3) {
        throw new Error("network: an existing VPC needs all of vpcId, privateSubnetIds and vpcCidr; set all three, or none to create a VPC");
    }
    if (config.privateSubnetIds!.length < 2) {
        throw new Error(`network.privateSubnetIds must list at least 2 private subnets in different AZs; got ${config.privateSubnetIds!.length}`);
    }
    return "existing";
}

function ipToNumber(ip: string): number {
    return ip.split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

function numberToIp(n: number): string {
    return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".");
}

/** Parses `a.b.c.d/p` into its base address (as a number) and prefix length. */
export function parseCidr(cidr: string): { base: number; prefix: number } {
    if (!isIpv4Cidr(cidr)) {
        throw new Error(`"${cidr}" is not an IPv4 CIDR block such as 10.0.0.0/16`);
    }
    const [ip, prefix] = cidr.split("/");
    return { base: ipToNumber(ip), prefix: Number(prefix) };
}

/**
 * The `index`-th block of prefix length `newPrefix` inside `cidr` (like Terraform's `cidrsubnet`). Pure and
 * deterministic, so a subnet's CIDR never changes between previews and adding an AZ never moves an existing one.
 */
export function cidrSubnet(cidr: string, newPrefix: number, index: number): string {
    const { base, prefix } = parseCidr(cidr);
    const size = 2 ** (32 - prefix);
    if (base % size !== 0) {
        throw new Error(`"${cidr}" has host bits set; use ${numberToIp(base - (base % size))}/${prefix}`);
    }
    if (newPrefix < prefix || newPrefix > 32) {
        throw new Error(`cannot carve /${newPrefix} blocks out of "${cidr}": the new prefix must be between /${prefix} and /32`);
    }
    const count = 2 ** (newPrefix - prefix);
    if (!Number.isInteger(index) || index < 0 || index >= count) {
        throw new Error(`"${cidr}" holds ${count} /${newPrefix} blocks (0-${count - 1}); block ${index} does not exist`);
    }
    return `${numberToIp(base + index * 2 ** (32 - newPrefix))}/${newPrefix}`;
}

/**
 * The private and public subnet CIDRs for `azCount` AZs: each 1/16 of the VPC, private at slots 0.., public at
 * slots 8... Fixed slots keep existing subnets in place when `azCount` grows.
 */
export function subnetCidrs(vpcCidr: string, azCount: number): { private: string[]; public: string[] } {
    const { prefix } = parseCidr(vpcCidr);
    if (prefix < 16 || prefix + SUBNET_BITS > SMALLEST_SUBNET_PREFIX) {
        throw new Error(
            `network.cidr must be between /16 (the largest VPC AWS allows) and /${SMALLEST_SUBNET_PREFIX - SUBNET_BITS} (so each of its 16 subnet blocks is at least a /${SMALLEST_SUBNET_PREFIX}); got "${vpcCidr}"`,
        );
    }
    if (!Number.isInteger(azCount) || azCount < 1 || azCount > PUBLIC_SLOT_OFFSET) {
        throw new Error(`network.azCount must be between 1 and ${PUBLIC_SLOT_OFFSET} for the subnet layout; got ${azCount}`);
    }
    const newPrefix = prefix + SUBNET_BITS;
    const slots = Array.from({ length: azCount }, (_, i) => i);
    return {
        private: slots.map((i) => cidrSubnet(vpcCidr, newPrefix, i)),
        public: slots.map((i) => cidrSubnet(vpcCidr, newPrefix, PUBLIC_SLOT_OFFSET + i)),
    };
}

/** The AZ for subnet `index`; fails the deployment, naming the fix, when the region has fewer AZs than asked for. */
export function azName(available: string[], index: number, azCount: number): string {
    if (available.length < azCount) {
        throw new Error(
            `network.azCount is ${azCount} but the region has only ${available.length} available AZs (${available.join(", ")}); lower network.azCount`,
        );
    }
    return available[index];
}

/** Interface endpoints SSM Session Manager needs to reach hosts in private subnets without SSH, a bastion or the internet. */
export const SSM_ENDPOINT_SERVICES = ["ssm", "ssmmessages", "ec2messages"] as const;

/**
 * The VPC the platform runs in. Creates a VPC with a private and a public subnet per AZ (hosts and brokers go in
 * the private ones; the public ones only hold NAT gateways), or passes through an existing VPC. Security groups
 * for hosts and brokers belong to the components that own those hosts.
 */
export class Network extends pulumi.ComponentResource implements NetworkRefs {
    public readonly vpcId: pulumi.Output<string>;
    public readonly vpcCidr: pulumi.Output<string>;
    public readonly privateSubnetIds: pulumi.Output<string[]>;
    /** Empty for an existing VPC: nothing in the platform needs them. */
    public readonly publicSubnetIds: pulumi.Output<string[]>;
    public readonly privateSubnetCount: number;
    public readonly mode: NetworkMode;

    constructor(name: string, args: NetworkArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("spark-streaming:network:Network", name, {}, opts);
        const config = args.config;
        this.mode = networkMode(config);

        if (this.mode === "existing") {
            this.vpcId = pulumi.output(config.vpcId!);
            this.vpcCidr = pulumi.output(config.vpcCidr!);
            this.privateSubnetIds = pulumi.output([...config.privateSubnetIds!]);
            this.publicSubnetIds = pulumi.output<string[]>([]);
            this.privateSubnetCount = config.privateSubnetIds!.length;
            this.registerOutputs({ vpcId: this.vpcId, vpcCidr: this.vpcCidr, privateSubnetIds: this.privateSubnetIds, publicSubnetIds: this.publicSubnetIds });
            return;
        }

        const azCount = config.azCount;
        const cidrs = subnetCidrs(config.cidr, azCount);
        const parent = { parent: this };
        const azs = aws.getAvailabilityZonesOutput({ state: "available" }, parent);
        const region = aws.getRegionOutput({}, parent).region;

        const vpc = new aws.ec2.Vpc(`${name}-vpc`, { cidrBlock: config.cidr, enableDnsHostnames: true, enableDnsSupport: true }, parent);

        // The default security group admits everything from its own members; emptying it means nothing lands in an
        // open group by accident.
        new aws.ec2.DefaultSecurityGroup(`${name}-default-sg`, { vpcId: vpc.id }, parent);

        const igw = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: vpc.id }, parent);

        const publicSubnets = cidrs.public.map(
            (cidrBlock, i) =>
                new aws.ec2.Subnet(
                    `${name}-public-${i}`,
                    {
                        vpcId: vpc.id,
                        cidrBlock,
                        availabilityZone: azs.names.apply((names) => azName(names, i, azCount)),
                        // Only NAT gateways live here; an instance launched here by mistake stays unreachable.
                        mapPublicIpOnLaunch: false,
                    },
                    parent,
                ),
        );
        const privateSubnets = cidrs.private.map(
            (cidrBlock, i) =>
                new aws.ec2.Subnet(
                    `${name}-private-${i}`,
                    {
                        vpcId: vpc.id,
                        cidrBlock,
                        availabilityZone: azs.names.apply((names) => azName(names, i, azCount)),
                        mapPublicIpOnLaunch: false,
                    },
                    parent,
                ),
        );

        const publicRouteTable = new aws.ec2.RouteTable(`${name}-public`, { vpcId: vpc.id }, parent);
        new aws.ec2.Route(
            `${name}-public-internet`,
            { routeTableId: publicRouteTable.id, destinationCidrBlock: "0.0.0.0/0", gatewayId: igw.id },
            parent,
        );
        publicSubnets.forEach(
            (subnet, i) =>
                new aws.ec2.RouteTableAssociation(`${name}-public-${i}`, { subnetId: subnet.id, routeTableId: publicRouteTable.id }, parent),
        );

        // One route table per private subnet in every mode, so switching NAT modes only changes routes.
        const privateRouteTables = privateSubnets.map((subnet, i) => {
            const table = new aws.ec2.RouteTable(`${name}-private-${i}`, { vpcId: vpc.id }, parent);
            new aws.ec2.RouteTableAssociation(`${name}-private-${i}`, { subnetId: subnet.id, routeTableId: table.id }, parent);
            return table;
        });

        const natCount = config.natGateways === "perAz" ? azCount : config.natGateways === "single" ? 1 : 0;
        const natGateways = Array.from({ length: natCount }, (_, i) => {
            const eip = new aws.ec2.Eip(`${name}-nat-${i}`, { domain: "vpc" }, { ...parent, dependsOn: [igw] });
            return new aws.ec2.NatGateway(
                `${name}-nat-${i}`,
                { allocationId: eip.allocationId, subnetId: publicSubnets[i].id, connectivityType: "public" },
                { ...parent, dependsOn: [igw] },
            );
        });
        if (natGateways.length > 0) {
            privateRouteTables.forEach(
                (table, i) =>
                    new aws.ec2.Route(
                        `${name}-private-${i}-nat`,
                        {
                            routeTableId: table.id,
                            destinationCidrBlock: "0.0.0.0/0",
                            // perAz: each AZ egresses through its own NAT, so losing one AZ leaves the others online.
                            natGatewayId: natGateways[natGateways.length === 1 ? 0 : i].id,
                        },
                        parent,
                    ),
            );
        }

        // S3 traffic (the data lake, checkpoints, EMR logs) stays on the AWS network and off the NAT's per-GB bill.
        new aws.ec2.VpcEndpoint(
            `${name}-s3`,
            {
                vpcId: vpc.id,
                serviceName: pulumi.interpolate`com.amazonaws.${region}.s3`,
                vpcEndpointType: "Gateway",
                routeTableIds: privateRouteTables.map((t) => t.id),
            },
            parent,
        );

        if (config.ssmEndpoints) {
            const endpointSg = new aws.ec2.SecurityGroup(
                `${name}-ssm-endpoints`,
                { vpcId: vpc.id, description: "SSM interface endpoints: HTTPS from inside the VPC only" },
                parent,
            );
            new aws.vpc.SecurityGroupIngressRule(
                `${name}-ssm-endpoints-https`,
                {
                    securityGroupId: endpointSg.id,
                    ipProtocol: "tcp",
                    fromPort: 443,
                    toPort: 443,
                    cidrIpv4: vpc.cidrBlock,
                    description: "HTTPS from hosts in the VPC",
                },
                parent,
            );
            for (const service of SSM_ENDPOINT_SERVICES) {
                new aws.ec2.VpcEndpoint(
                    `${name}-${service}`,
                    {
                        vpcId: vpc.id,
                        serviceName: pulumi.interpolate`com.amazonaws.${region}.${service}`,
                        vpcEndpointType: "Interface",
                        privateDnsEnabled: true,
                        subnetIds: privateSubnets.map((s) => s.id),
                        securityGroupIds: [endpointSg.id],
                    },
                    parent,
                );
            }
        }

        this.vpcId = vpc.id;
        this.vpcCidr = vpc.cidrBlock;
        this.privateSubnetIds = pulumi.all(privateSubnets.map((s) => s.id));
        this.publicSubnetIds = pulumi.all(publicSubnets.map((s) => s.id));
        this.privateSubnetCount = azCount;
        this.registerOutputs({ vpcId: this.vpcId, vpcCidr: this.vpcCidr, privateSubnetIds: this.privateSubnetIds, publicSubnetIds: this.publicSubnetIds });
    }
}
