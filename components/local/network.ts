import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { LocalSite } from "./container";

// The stack's own Docker network and named volumes. Containers reach each other only by the aliases on this
// user-defined network (Docker's embedded DNS), never through the host; the host reaches only the ports the parts
// publish on local.bindAddress.

export interface LocalNetworkArgs {
    /** Name prefix and labels of the stack's containers. */
    readonly prefix: string;
    /** Labels on the network and every volume. */
    readonly labels: Record<string, string>;
}

/** Docker labels as the provider takes them, sorted so an unchanged config renders unchanged. */
export function dockerLabels(labels: Record<string, string>): Array<{ label: string; value: string }> {
    return Object.keys(labels)
        .sort()
        .map((label) => ({ label, value: labels[label] }));
}

export class LocalNetwork extends pulumi.ComponentResource {
    /** The network's name, for containers' networksAdvanced. */
    public readonly networkName: pulumi.Output<string>;

    constructor(name: string, args: LocalNetworkArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("spark-streaming:local:Network", name, {}, opts);
        const network = new docker.Network(
            `${name}-bridge`,
            { name: args.prefix, driver: "bridge", labels: dockerLabels(args.labels) },
            // A fixed name cannot exist twice: a replacement removes the old network first.
            { parent: this, deleteBeforeReplace: true },
        );
        this.networkName = network.name;
        this.registerOutputs({ networkName: this.networkName });
    }
}

export interface NamedVolumeArgs {
    /** What the volume holds, e.g. `kafka-1-data`: the volume is `<prefix>-<role>`. */
    readonly role: string;
    /** Keep the volume (and its data) when the stack is destroyed, and refuse to delete it (dataLake.protect). */
    readonly protect: boolean;
}

/**
 * A named volume, so a redeploy or a replaced container keeps its data. With `protect` it also survives `pulumi
 * destroy`; the next `up` finds it by name and carries on with the same data.
 */
export function namedVolume(name: string, site: LocalSite, args: NamedVolumeArgs, parent: pulumi.Resource): docker.Volume {
    return new docker.Volume(
        `${name}-${args.role}`,
        { name: `${site.prefix}-${args.role}`, labels: dockerLabels(site.labels) },
        { parent, protect: args.protect, retainOnDelete: args.protect },
    );
}
