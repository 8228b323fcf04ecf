import { z } from "zod";
import { cidr, cloudwatchRetention } from "./common";

/** The `network` key: a created VPC over AZs, or an existing one. */
export const networkSchema = z
    .strictObject({
        /** CIDR of the VPC the program creates. */
        cidr: cidr.default("10.0.0.0/16"),
        /** How many availability zones the created VPC spans (one public and one private subnet each). */
        azCount: z.number().int().min(2).max(6).default(3),
        /** NAT for the private subnets: one shared gateway (cheap), one per AZ (survives an AZ outage), or none. */
        natGateways: z.enum(["single", "perAz", "none"]).default("single"),
        /** Interface endpoints for SSM (ssm, ssmmessages, ec2messages) so private hosts are reachable without SSH or a bastion. */
        ssmEndpoints: z.boolean().default(true),
        /** Use an existing VPC instead of creating one: its id ... */
        vpcId: z.string().regex(/^vpc-[0-9a-f]+$/, { message: "must be a VPC id such as vpc-0abc123" }).optional(),
        /** ... its private subnets (hosts, brokers) ... */
        privateSubnetIds: z.array(z.string().regex(/^subnet-[0-9a-f]+$/, { message: "must be a subnet id such as subnet-0abc123" })).optional(),
        /** ... and the CIDR of the existing VPC, for the security group rules between the parts. */
        vpcCidr: cidr.optional(),
        /** Days the created VPC's flow logs are kept in CloudWatch Logs (encrypted with their own KMS key). */
        flowLogRetentionDays: cloudwatchRetention.default(90),
    })
    .superRefine((n, ctx) => {
        const existing = [n.vpcId, n.privateSubnetIds, n.vpcCidr].filter((v) => v !== undefined).length;
        if (existing > 0 && existing < 3) {
            ctx.addIssue({
                code: "custom",
                path: ["vpcId"],
                message: "an existing VPC needs all of vpcId, privateSubnetIds and vpcCidr",
            });
        }
        if (n.privateSubnetIds !== undefined && n.privateSubnetIds.length < 2) {
            ctx.addIssue({
                code: "custom",
                path: ["privateSubnetIds"],
                message: "must list at least 2 private subnets in different AZs",
            });
        }
    });

export type NetworkConfig = z.infer<typeof networkSchema>;

/** Private subnets the platform spreads over: the created AZs, or the existing subnets given. Known at preview. */
export function privateSubnetCount(network: NetworkConfig): number {
    return network.privateSubnetIds?.length ?? network.azCount;
}
