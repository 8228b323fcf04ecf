import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { assumeRolePolicy } from "../hostAccess";
import { hostPolicyDocument, SSM_CORE_POLICY } from "./policies";

// One role (and instance profile) per kind of Spark host. Each gets the bucket prefixes its processes touch, the data
// lake key, pull rights on the one image repository, the secrets it reads at start, the consumer's Kafka policy, and
// SSM core (sessions, port forwarding, the deploy command).

export interface HostRoleArgs {
    readonly bucketArn: pulumi.Input<string>;
    readonly kmsKeyArn: pulumi.Input<string>;
    readonly repositoryArn: pulumi.Input<string>;
    readonly secretArns: pulumi.Input<string>[];
    /** Bucket prefixes the host's processes read and write. */
    readonly prefixes: string[];
    /** The consumer's Kafka policy (MSK IAM), when Kafka uses IAM. */
    readonly kafkaPolicyJson: pulumi.Input<string> | undefined;
    /** The consumer driver's right to publish metrics (master only: the driver runs there). */
    readonly metricsPolicyJson?: pulumi.Input<string>;
}

/** Declares the role of `role` hosts with its policies and returns its instance profile. */
export function hostRole(name: string, role: "master" | "worker", args: HostRoleArgs, opts: pulumi.CustomResourceOptions): aws.iam.InstanceProfile {
    const partition = aws.getPartitionOutput({}, opts).partition;
    const iamRole = new aws.iam.Role(`${name}-${role}`, { assumeRolePolicy: assumeRolePolicy("ec2.amazonaws.com"), description: `Spark ${role} hosts of the ec2 engine` }, opts);
    new aws.iam.RolePolicy(
        `${name}-${role}-access`,
        {
            role: iamRole.id,
            policy: pulumi
                .all([args.bucketArn, args.kmsKeyArn, args.repositoryArn, pulumi.all(args.secretArns)])
                .apply(([bucketArn, kmsKeyArn, repositoryArn, secretArns]) => hostPolicyDocument({ bucketArn, kmsKeyArn, repositoryArn, secretArns, prefixes: args.prefixes })),
        },
        opts,
    );
    if (args.kafkaPolicyJson !== undefined) {
        new aws.iam.RolePolicy(`${name}-${role}-kafka`, { role: iamRole.id, policy: args.kafkaPolicyJson }, opts);
    }
    if (args.metricsPolicyJson !== undefined) {
        new aws.iam.RolePolicy(`${name}-${role}-metrics`, { role: iamRole.id, policy: args.metricsPolicyJson }, opts);
    }
    // AWS's managed policy for the SSM agent: its actions (ssm:UpdateInstanceInformation, ssmmessages:*, ...) have no
    // resource-level permissions, which is why it is the managed one and not ours.
    new aws.iam.RolePolicyAttachment(`${name}-${role}-ssm`, { role: iamRole.name, policyArn: pulumi.interpolate`arn:${partition}:iam::aws:policy/${SSM_CORE_POLICY}` }, opts);
    return new aws.iam.InstanceProfile(`${name}-${role}`, { role: iamRole.name }, opts);
}
