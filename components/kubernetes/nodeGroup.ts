import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { KubernetesConfig } from "../config";
import { METADATA_OPTIONS } from "../ec2/hosts";
import { assumeRolePolicy } from "../hostAccess";

// The EKS managed node group: x86_64 Amazon Linux 2023 nodes in the private subnets, from a launch template that
// requires IMDSv2 with hop limit 1 (pods are one network hop further, so they get no token and never the node
// role's credentials: the consumer's only AWS identity is its IRSA role), encrypted root volumes, and the nodes'
// own security group (so EKS attaches none of its own).

/** The AWS managed policies every EKS node role needs: join the cluster, pull images, run the VPC CNI. */
export const NODE_POLICIES = ["AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryPullOnly", "AmazonEKS_CNI_Policy"] as const;
/** EKS-optimized Amazon Linux 2023, x86_64: the consumer image is linux/amd64. */
export const NODE_AMI_TYPE = "AL2023_x86_64_STANDARD";
/** The root device of Amazon Linux 2023 AMIs. */
const ROOT_DEVICE = "/dev/xvda";

export interface NodeGroupArgs {
    readonly config: KubernetesConfig;
    readonly cluster: aws.eks.Cluster;
    readonly privateSubnetIds: pulumi.Input<string[]>;
    readonly securityGroupId: pulumi.Input<string>;
    /** The add-ons a node needs before it is Ready (the CNI, kube-proxy). */
    readonly dependsOn: pulumi.Resource[];
}

export function nodeGroup(name: string, args: NodeGroupArgs, opts: pulumi.CustomResourceOptions): aws.eks.NodeGroup {
    const { config } = args;
    const partition = aws.getPartitionOutput({}, opts).partition;
    const role = new aws.iam.Role(`${name}-node-role`, { assumeRolePolicy: assumeRolePolicy("ec2.amazonaws.com"), description: "EKS nodes of the kubernetes engine" }, opts);
    const attachments = NODE_POLICIES.map(
        (policy) => new aws.iam.RolePolicyAttachment(`${name}-node-${policy}`, { role: role.name, policyArn: pulumi.interpolate`arn:${partition}:iam::aws:policy/${policy}` }, opts),
    );
    const defaultTags = aws.getDefaultTagsOutput({}, opts);
    const launchTemplate = new aws.ec2.LaunchTemplate(
        `${name}-nodes`,
        {
            description: "EKS nodes: IMDSv2 with hop limit 1 (no node credentials for pods), encrypted root volume",
            metadataOptions: METADATA_OPTIONS,
            vpcSecurityGroupIds: [args.securityGroupId],
            blockDeviceMappings: [{ deviceName: ROOT_DEVICE, ebs: { volumeType: "gp3", volumeSize: config.nodeVolumeGb, encrypted: "true", deleteOnTermination: "true" } }],
            // The provider's default tags stop at the launch template; instances and volumes get them only here.
            tagSpecifications: ["instance", "volume"].map((resourceType) => ({ resourceType, tags: defaultTags.apply((d) => ({ ...d.tags, Name: `${name}-node` })) })),
        },
        opts,
    );
    return new aws.eks.NodeGroup(
        `${name}-nodes`,
        {
            clusterName: args.cluster.name,
            version: args.cluster.version,
            nodeRoleArn: role.arn,
            subnetIds: args.privateSubnetIds,
            amiType: NODE_AMI_TYPE,
            capacityType: "ON_DEMAND",
            instanceTypes: [config.nodeInstanceType],
            scalingConfig: { minSize: config.nodeMin, desiredSize: config.nodeDesired, maxSize: config.nodeMax },
            // A node at a time: the consumer's driver moves once per node replacement, never all executors at once.
            updateConfig: { maxUnavailable: 1 },
            launchTemplate: { id: launchTemplate.id, version: launchTemplate.latestVersion.apply(String) },
            labels: { "spark-streaming/pool": "spark" },
        },
        { ...opts, dependsOn: [...attachments, ...args.dependsOn] },
    );
}
