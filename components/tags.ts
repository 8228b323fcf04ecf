import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** The tags every resource carries, so cost reports and the policy pack can tell stacks and parts apart. */
export function platformTags(project: string, stack: string, component: string): Record<string, string> {
    return { project, stack, component };
}

/**
 * An AWS provider whose default tags name the project, the stack and the component. Each component is built
 * with its own, so every child it creates is tagged without repeating `tags:` on each resource.
 */
export function componentProvider(project: string, stack: string, component: string, region: pulumi.Input<string>): aws.Provider {
    return new aws.Provider(`aws-${component}`, {
        region: region as pulumi.Input<aws.Region>,
        defaultTags: { tags: platformTags(project, stack, component) },
    });
}
