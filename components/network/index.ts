import * as pulumi from "@pulumi/pulumi";
import { NetworkConfig } from "../config";
import { NetworkRefs } from "../refs";
import { vpcEndpoints } from "./endpoints";
import { VpcFlowLogs } from "./flowLogs";
import { createVpc } from "./vpc";

export { azName, cidrSubnet, parseCidr, subnetCidrs } from "./cidr";
export { SSM_ENDPOINT_SERVICES } from "./endpoints";
export { HTTPS_PORT, httpsEgress, peerEgress } from "./egress";
export { VpcFlowLogs } from "./flowLogs";

// The network, as named steps: the VPC (vpc.ts), its endpoints (endpoints.ts) and its flow logs (flowLogs.ts), or an
// existing VPC passed through. egress.ts holds the least-egress rules the engines put on their hosts' groups.

export interface NetworkArgs {
    /** The stack's validated network config: create a VPC (no `vpcId`), or use the existing one it names. */
    readonly config: NetworkConfig;
    /** Keep the flow logs' key and log group when the stack is destroyed. Default false (true where the data lake is protected). */
    readonly retainAuditLogs?: boolean;
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
    /** The created VPC's flow logs; undefined for an existing VPC. */
    public readonly flowLogs: VpcFlowLogs | undefined;

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
            this.flowLogs = undefined;
            this.registerOutputs({ vpcId: this.vpcId, vpcCidr: this.vpcCidr, privateSubnetIds: this.privateSubnetIds, publicSubnetIds: this.publicSubnetIds });
            return;
        }

        const parent = { parent: this };
        const { vpc, publicSubnets, privateSubnets, privateRouteTables } = createVpc(name, config, parent);
        vpcEndpoints(
            name,
            {
                vpcId: vpc.id,
                vpcCidr: vpc.cidrBlock,
                privateSubnetIds: privateSubnets.map((s) => s.id),
                privateRouteTableIds: privateRouteTables.map((t) => t.id),
                ssm: config.ssmEndpoints,
            },
            parent,
        );
        // Audit trail of every accepted and rejected connection in the VPC the platform owns (an existing VPC's
        // flow logs are its owner's business).
        this.flowLogs = new VpcFlowLogs(`${name}-flow-logs`, { vpcId: vpc.id, retentionInDays: config.flowLogRetentionDays, retain: args.retainAuditLogs ?? false }, parent);

        this.vpcId = vpc.id;
        this.vpcCidr = vpc.cidrBlock;
        this.privateSubnetIds = pulumi.all(privateSubnets.map((s) => s.id));
        this.publicSubnetIds = pulumi.all(publicSubnets.map((s) => s.id));
        this.privateSubnetCount = config.azCount;
        this.registerOutputs({ vpcId: this.vpcId, vpcCidr: this.vpcCidr, privateSubnetIds: this.privateSubnetIds, publicSubnetIds: this.publicSubnetIds });
    }
}
