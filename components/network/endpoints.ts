import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

// VPC endpoints: the S3 gateway endpoint (data lake, checkpoints and logs stay on the AWS network and off the NAT
// bill) and, optionally, the interface endpoints SSM Session Manager needs to reach private hosts without SSH, a
// bastion or the internet.

/** Interface endpoints SSM Session Manager needs to reach hosts in private subnets without SSH, a bastion or the internet. */
export const SSM_ENDPOINT_SERVICES = ["ssm", "ssmmessages", "ec2messages"] as const;

export interface EndpointsArgs {
    readonly vpcId: pulumi.Input<string>;
    readonly vpcCidr: pulumi.Input<string>;
    readonly privateSubnetIds: pulumi.Input<string>[];
    readonly privateRouteTableIds: pulumi.Input<string>[];
    /** Also create the SSM interface endpoints (network.ssmEndpoints). */
    readonly ssm: boolean;
}

/** Declares the endpoints. The interface endpoints' group admits HTTPS from the VPC and has no egress rule at all. */
export function vpcEndpoints(name: string, args: EndpointsArgs, opts: pulumi.CustomResourceOptions): void {
    const region = aws.getRegionOutput({}, opts).region;
    new aws.ec2.VpcEndpoint(
        `${name}-s3`,
        {
            vpcId: args.vpcId,
            serviceName: pulumi.interpolate`com.amazonaws.${region}.s3`,
            vpcEndpointType: "Gateway",
            routeTableIds: args.privateRouteTableIds,
        },
        opts,
    );
    if (!args.ssm) {
        return;
    }
    const endpointSg = new aws.ec2.SecurityGroup(`${name}-ssm-endpoints`, { vpcId: args.vpcId, description: "SSM interface endpoints: HTTPS from inside the VPC only" }, opts);
    new aws.vpc.SecurityGroupIngressRule(
        `${name}-ssm-endpoints-https`,
        { securityGroupId: endpointSg.id, ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIpv4: args.vpcCidr, description: "HTTPS from hosts in the VPC" },
        opts,
    );
    for (const service of SSM_ENDPOINT_SERVICES) {
        new aws.ec2.VpcEndpoint(
            `${name}-${service}`,
            {
                vpcId: args.vpcId,
                serviceName: pulumi.interpolate`com.amazonaws.${region}.${service}`,
                vpcEndpointType: "Interface",
                privateDnsEnabled: true,
                subnetIds: args.privateSubnetIds,
                securityGroupIds: [endpointSg.id],
            },
            opts,
        );
    }
}
