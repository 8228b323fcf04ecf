import type * as pulumi from "@pulumi/pulumi";
import type { EMRClient, StepState } from "@aws-sdk/client-emr";

// A Pulumi dynamic provider for one EMR step. The aws provider has no step resource, and `steps` on the
// cluster force a new cluster, so the consumer step gets its own lifecycle here, written against the AWS SDK v3.
//
// Pulumi serializes these functions into the checkpoint and runs them in a fresh process on every later
// operation, so this module is self-contained: the SDK is `require`d inside the functions (type imports only
// at the top), nothing reaches outside this file, and nothing here may capture a module-level `const`.

/** The step's inputs as the provider receives them (every Input resolved). */
export interface EmrStepInputs {
    /** The cluster (`j-...`) the step runs on. A new cluster means a new step (replace, old one deleted first). */
    readonly clusterId: string;
    /** The step's display name. */
    readonly name: string;
    /** command-runner.jar arguments, e.g. `["spark-submit", "--deploy-mode", "cluster", ...]`. */
    readonly args: string[];
    /** What EMR does when the step fails: CONTINUE keeps the cluster (and other steps) running. */
    readonly actionOnFailure: string;
    /** AWS region of the cluster. */
    readonly region: string;
    /** An EMR API endpoint override (tests point it at moto). Absent in real stacks. */
    readonly endpoint?: string;
    /** How often the wait loops poll DescribeStep, in milliseconds. */
    readonly pollIntervalMs: number;
    /** How long an update or a delete waits for the old step to stop before it fails, in milliseconds. */
    readonly timeoutMs: number;
}

/** What the provider records: the inputs, the current step's id and its last known state. */
export interface EmrStepOutputs extends EmrStepInputs {
    /** The step now carrying the consumer; after an update it differs from the resource id (the first step). */
    readonly stepId: string;
    /** PENDING, RUNNING, COMPLETED, CANCEL_PENDING, CANCELLED, FAILED or INTERRUPTED. */
    readonly state: string;
}

/** Default poll interval of the wait loops. */
export const DEFAULT_POLL_INTERVAL_MS = 10_000;
/** Default bound of the wait loops: a streaming query finishing its micro-batch on SIGTERM can take minutes. */
export const DEFAULT_TIMEOUT_MS = 20 * 60_000;

function emrClient(inputs: { region: string; endpoint?: string }): EMRClient {
    const sdk = require("@aws-sdk/client-emr") as typeof import("@aws-sdk/client-emr");
    return new sdk.EMRClient({ region: inputs.region, ...(inputs.endpoint ? { endpoint: inputs.endpoint } : {}) });
}

/** States after which the step's process is gone: nothing of it can still write to the checkpoint. */
function isStopped(state: string | undefined): boolean {
    return state === "COMPLETED" || state === "CANCELLED" || state === "FAILED" || state === "INTERRUPTED";
}

/** Every AWS error leaves here naming the step, the cluster and AWS's own message. */
function stepError(stepId: string | undefined, clusterId: string, err: unknown): Error {
    const e = err as { name?: string; message?: string };
    const reason = e?.message || e?.name || String(err);
    const prefix = `EMR step ${stepId ?? "(not yet added)"} on cluster ${clusterId}: `;
    return new Error(reason.startsWith(prefix) ? reason : prefix + reason);
}

async function describeState(client: EMRClient, clusterId: string, stepId: string): Promise<StepState | string> {
    const sdk = require("@aws-sdk/client-emr") as typeof import("@aws-sdk/client-emr");
    try {
        const out = await client.send(new sdk.DescribeStepCommand({ ClusterId: clusterId, StepId: stepId }));
        const state = out.Step?.Status?.State;
        if (!state) {
            throw new Error("DescribeStep returned no state for the step");
        }
        return state;
    } catch (err) {
        throw stepError(stepId, clusterId, err);
    }
}

async function addStep(client: EMRClient, inputs: EmrStepInputs): Promise<string> {
    const sdk = require("@aws-sdk/client-emr") as typeof import("@aws-sdk/client-emr");
    try {
        const out = await client.send(
            new sdk.AddJobFlowStepsCommand({
                JobFlowId: inputs.clusterId,
                Steps: [
                    {
                        Name: inputs.name,
                        ActionOnFailure: inputs.actionOnFailure as import("@aws-sdk/client-emr").ActionOnFailure,
                        HadoopJarStep: { Jar: "command-runner.jar", Args: [...inputs.args] },
                    },
                ],
            }),
        );
        const id = out.StepIds?.[0];
        if (!id) {
            throw new Error("AddJobFlowSteps returned no step id");
        }
        return id;
    } catch (err) {
        throw stepError(undefined, inputs.clusterId, err);
    }
}

/**
 * Cancels a step (SIGTERM to its process, so the query can end its batch) and waits until it has stopped.
 * A step that already stopped is left alone. Bounded by `timeoutMs`.
 */
async function cancelAndWait(client: EMRClient, props: EmrStepOutputs): Promise<string> {
    const sdk = require("@aws-sdk/client-emr") as typeof import("@aws-sdk/client-emr");
    const { clusterId, stepId } = props;
    let state = await describeState(client, clusterId, stepId);
    if (isStopped(state)) {
        return state;
    }
    try {
        const out = await client.send(
            new sdk.CancelStepsCommand({ ClusterId: clusterId, StepIds: [stepId], StepCancellationOption: "SEND_INTERRUPT" }),
        );
        const info = (out.CancelStepsInfoList ?? []).find((i) => i.StepId === stepId) ?? out.CancelStepsInfoList?.[0];
        if (info?.Status === "FAILED") {
            // A step can finish between DescribeStep and CancelSteps; then there is nothing left to stop.
            const now = await describeState(client, clusterId, stepId);
            if (!isStopped(now)) {
                throw new Error(`CancelSteps failed: ${info.Reason ?? "no reason given"}`);
            }
        }
    } catch (err) {
        throw stepError(stepId, clusterId, err);
    }
    const deadline = Date.now() + props.timeoutMs;
    for (;;) {
        state = await describeState(client, clusterId, stepId);
        if (isStopped(state)) {
            return state;
        }
        if (Date.now() >= deadline) {
            throw new Error(
                `EMR step ${stepId} on cluster ${clusterId}: still ${state} ${Math.round(props.timeoutMs / 1000)}s after it was cancelled; ` +
                    "check the step's stderr in the cluster's logs, stop it by hand, then run the update again",
            );
        }
        await new Promise((resolve) => setTimeout(resolve, props.pollIntervalMs));
    }
}

/** Fields whose change means a new step on the same cluster (an update). */
function changedFields(olds: EmrStepInputs, news: EmrStepInputs): string[] {
    const out: string[] = [];
    if (olds.name !== news.name) out.push("name");
    if (JSON.stringify(olds.args) !== JSON.stringify(news.args)) out.push("args");
    if (olds.actionOnFailure !== news.actionOnFailure) out.push("actionOnFailure");
    return out;
}

/**
 * The provider. create adds the step; update cancels the running step, waits until it stopped, then adds the
 * new one, so two consumers never share the checkpoint; delete cancels it; read reports its state. A new
 * cluster replaces the step, deleting the old one first.
 */
export class EmrStepProvider implements pulumi.dynamic.ResourceProvider {
    async diff(_id: string, olds: EmrStepOutputs, news: EmrStepInputs): Promise<pulumi.dynamic.DiffResult> {
        const replaces = olds.clusterId !== news.clusterId ? ["clusterId"] : [];
        const changes = changedFields(olds, news);
        // Region, endpoint and the wait settings steer the provider, not the step: they never restart the consumer.
        return { changes: replaces.length + changes.length > 0, replaces, deleteBeforeReplace: true };
    }

    async create(inputs: EmrStepInputs): Promise<pulumi.dynamic.CreateResult<EmrStepOutputs>> {
        const client = emrClient(inputs);
        const stepId = await addStep(client, inputs);
        const state = await describeState(client, inputs.clusterId, stepId);
        return { id: stepId, outs: { ...inputs, stepId, state } };
    }

    async read(id: string, props: EmrStepOutputs): Promise<pulumi.dynamic.ReadResult<EmrStepOutputs>> {
        const stepId = props.stepId ?? id;
        const state = await describeState(emrClient(props), props.clusterId, stepId);
        return { id, props: { ...props, stepId, state } };
    }

    async update(_id: string, olds: EmrStepOutputs, news: EmrStepInputs): Promise<pulumi.dynamic.UpdateResult<EmrStepOutputs>> {
        const client = emrClient(news);
        if (changedFields(olds, news).length === 0) {
            // Only provider settings changed: the running step stays.
            return { outs: { ...news, stepId: olds.stepId, state: olds.state } };
        }
        await cancelAndWait(client, { ...olds, pollIntervalMs: news.pollIntervalMs, timeoutMs: news.timeoutMs, region: news.region, endpoint: news.endpoint });
        const stepId = await addStep(client, news);
        const state = await describeState(client, news.clusterId, stepId);
        return { outs: { ...news, stepId, state } };
    }

    async delete(id: string, props: EmrStepOutputs): Promise<void> {
        await cancelAndWait(emrClient(props), { ...props, stepId: props.stepId ?? id });
    }
}
