import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { NetworkConfig } from "../config";
import { azName, subnetCidrs } from "./cidr";

// The created VPC: a private and a public subnet per AZ, route tables and NAT. Hosts and brokers go in the private
// subnets; the public ones only hold NAT gateways. Every resource keeps the name it had when this lived in
// network.ts, so splitting the file moved no resource.

/** What the rest of the network (endpoints, flow logs) and the Network component need from the VPC. */
export interface CreatedVpc {
    readonly vpc: aws.ec2.Vpc;
    readonly publicSubnets: aws.ec2.Subnet[];
    readonly privateSubnets: aws.ec2.Subnet[];
    /** One per private subnet, in subnet order: gateway endpoints attach to these. */
    readonly privateRouteTables: aws.ec2.RouteTable[];
}

function subnets(name: string, kind: "public" | "private", cidrs: string[], vpc: aws.ec2.Vpc, azs: pulumi.Output<string[]>, opts: pulumi.CustomResourceOptions): aws.ec2.Subnet[] {
    return cidrs.map(
        (cidrBlock, i) =>
            new aws.ec2.Subnet(
                `${name}-${kind}-${i}`,
                {
                    vpcId: vpc.id,
                    cidrBlock,
                    availabilityZone: azs.apply((names) => azName(names, i, cidrs.length)),
                    // Public subnets only hold NAT gateways; an instance launched there by mistake stays unreachable.
                    mapPublicIpOnLaunch: false,
                },
                opts,
            ),
    );
}

/** Declares the VPC, its subnets, route tables, internet gateway and NAT gateways. */
export function createVpc(name: string, config: NetworkConfig, opts: pulumi.CustomResourceOptions): CreatedVpc {
    const cidrs = subnetCidrs(config.cidr, config.azCount);
    const azs = aws.getAvailabilityZonesOutput({ state: "available" }, opts).names;

    const vpc = new aws.ec2.Vpc(`${name}-vpc`, { cidrBlock: config.cidr, enableDnsHostnames: true, enableDnsSupport: true }, opts);
    // The default security group admits everything from its own members; emptying it means nothing lands in an
    // open group by accident.
    new aws.ec2.DefaultSecurityGroup(`${name}-default-sg`, { vpcId: vpc.id }, opts);
    const igw = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: vpc.id }, opts);

    const publicSubnets = subnets(name, "public", cidrs.public, vpc, azs, opts);
    const privateSubnets = subnets(name, "private", cidrs.private, vpc, azs, opts);

    const publicRouteTable = new aws.ec2.RouteTable(`${name}-public`, { vpcId: vpc.id }, opts);
    new aws.ec2.Route(`${name}-public-internet`, { routeTableId: publicRouteTable.id, destinationCidrBlock: "0.0.0.0/0", gatewayId: igw.id }, opts);
    publicSubnets.forEach((subnet, i) => new aws.ec2.RouteTableAssociation(`${name}-public-${i}`, { subnetId: subnet.id, routeTableId: publicRouteTable.id }, opts));

    // One route table per private subnet in every mode, so switching NAT modes only changes routes.
    const privateRouteTables = privateSubnets.map((subnet, i) => {
        const table = new aws.ec2.RouteTable(`${name}-private-${i}`, { vpcId: vpc.id }, opts);
        new aws.ec2.RouteTableAssociation(`${name}-private-${i}`, { subnetId: subnet.id, routeTableId: table.id }, opts);
        return table;
    });
    natRoutes(name, config, publicSubnets, privateRouteTables, igw, opts);
    return { vpc, publicSubnets, privateSubnets, privateRouteTables };
}

/** NAT gateways (none, one shared, or one per AZ) and the private subnets' default routes through them. */
function natRoutes(
    name: string,
    config: NetworkConfig,
    publicSubnets: aws.ec2.Subnet[],
    privateRouteTables: aws.ec2.RouteTable[],
    igw: aws.ec2.InternetGateway,
    opts: pulumi.CustomResourceOptions,
): void {
    const natCount = config.natGateways === "perAz" ? config.azCount : config.natGateways === "single" ? 1 : 0;
    const natGateways = Array.from({ length: natCount }, (_, i) => {
        const eip = new aws.ec2.Eip(`${name}-nat-${i}`, { domain: "vpc" }, { ...opts, dependsOn: [igw] });
        return new aws.ec2.NatGateway(
            `${name}-nat-${i}`,
            { allocationId: eip.allocationId, subnetId: publicSubnets[i].id, connectivityType: "public" },
            { ...opts, dependsOn: [igw] },
        );
    });
    if (natGateways.length === 0) {
        return;
    }
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
                opts,
            ),
    );
}
