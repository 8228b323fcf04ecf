import * as pulumi from "@pulumi/pulumi";
import { promiseOf, setupMocks, settleRegistrations, StateHook, useStackConfig } from "./mocks";

/** The stack outputs, resolved. */
export type StackOutputs = Record<string, any>;

/**
 * Runs the whole program (index.ts) under mocks with a shipped stack file's config, as `pulumi preview -s
 * <stack>` would, and resolves its exports. Each jest file has its own module registry, so a file runs one stack.
 */
export async function runProgram(stack: string, hook?: StateHook, overrides: Record<string, string> = {}, secrets: Record<string, string> = {}): Promise<StackOutputs> {
    await setupMocks({ stack, hook });
    useStackConfig(stack, overrides, secrets);
    const outputs: StackOutputs = {};
    try {
        const program = await import("../../index");
        for (const [key, value] of Object.entries(program)) {
            outputs[key] = pulumi.Output.isInstance(value) ? await promiseOf(value as pulumi.Output<unknown>) : value;
        }
    } finally {
        await settleRegistrations();
    }
    return outputs;
}
