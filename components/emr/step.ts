import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_POLL_INTERVAL_MS, DEFAULT_TIMEOUT_MS, EmrStepProvider } from "./stepProvider";

export interface EmrStepArgs {
    /** The cluster (`j-...`) the step runs on; a new cluster replaces the step (the old one is cancelled first). */
    readonly clusterId: pulumi.Input<string>;
    /** The step's display name. Default: the resource name. */
    readonly stepName?: pulumi.Input<string>;
    /** command-runner.jar arguments; a change cancels the running step, waits for it, then adds the new one. */
    readonly args: pulumi.Input<pulumi.Input<string>[]>;
    /** What EMR does if the step fails. Default CONTINUE: the cluster and its other steps keep running. */
    readonly actionOnFailure?: pulumi.Input<"CONTINUE" | "CANCEL_AND_WAIT" | "TERMINATE_CLUSTER">;
    /** AWS region of the cluster. */
    readonly region: pulumi.Input<string>;
    /** EMR API endpoint override, for tests against moto only. Leave unset in stacks. */
    readonly endpoint?: pulumi.Input<string>;
    /** Poll interval of the wait loops, ms. Default 10 s. */
    readonly pollIntervalMs?: pulumi.Input<number>;
    /** How long an update or delete waits for the old step to stop, ms. Default 20 min. */
    readonly timeoutMs?: pulumi.Input<number>;
}

/**
 * One EMR step with a real lifecycle (see stepProvider.ts). Its id is the first step's id; `stepId` is the step
 * currently carrying the work, which changes on every update.
 */
export class EmrStep extends pulumi.dynamic.Resource {
    // `declare`: with ES2022 class fields, a plain field would reset the outputs the base constructor just set.
    declare public readonly stepId: pulumi.Output<string>;
    declare public readonly state: pulumi.Output<string>;
    declare public readonly clusterId: pulumi.Output<string>;

    constructor(name: string, args: EmrStepArgs, opts: pulumi.CustomResourceOptions = {}) {
        super(
            new EmrStepProvider(),
            name,
            {
                clusterId: args.clusterId,
                name: args.stepName ?? name,
                args: args.args,
                actionOnFailure: args.actionOnFailure ?? "CONTINUE",
                region: args.region,
                // Absent (not "") in real stacks, so the SDK uses the regional endpoint.
                ...(args.endpoint !== undefined ? { endpoint: args.endpoint } : {}),
                pollIntervalMs: args.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
                timeoutMs: args.timeoutMs ?? DEFAULT_TIMEOUT_MS,
                stepId: undefined,
                state: undefined,
            },
            // Two consumers must never share the checkpoint: on a new cluster the old step goes before the new one starts.
            { deleteBeforeReplace: true, ...opts },
            "emr",
            "EmrStep",
        );
    }
}
