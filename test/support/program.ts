import * as pulumi from "@pulumi/pulumi";
import { promiseOf, Registered, setupMocks, settleRegistrations, stackConfig, StateHook, useStackConfig } from "./mocks";

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

/** A resolved program run: its exports and what the mocks saw. */
export interface ProgramRun {
    readonly outputs: StackOutputs;
    readonly registered: Registered[];
    /** Tokens of the data sources (invokes) the program called. */
    readonly invoked: string[];
}

function isObject(v: unknown): v is Record<string, unknown> {
    return v !== null && typeof v === "object" && !Array.isArray(v);
}

function deepMerge(base: unknown, over: unknown): unknown {
    if (!isObject(base) || !isObject(over)) {
        return over;
    }
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(over)) {
        out[k] = deepMerge(base[k], v);
    }
    return out;
}

/**
 * A shipped stack file's config with some keys changed, as `pulumi config set --path` would leave it: object keys
 * merge into the file's objects, scalars replace. Keys without a namespace are the project's.
 */
export function variantConfig(stack: string, overrides: Record<string, unknown>): Record<string, string> {
    const config = stackConfig(stack);
    for (const [key, value] of Object.entries(overrides)) {
        const qualified = key.includes(":") ? key : `spark-streaming:${key}`;
        const existing = config[qualified];
        let base: unknown;
        try {
            base = existing !== undefined ? JSON.parse(existing) : undefined;
        } catch {
            base = existing;
        }
        const merged = deepMerge(base, value);
        config[qualified] = typeof merged === "string" ? merged : JSON.stringify(merged);
    }
    return config;
}

/**
 * Runs the whole program under mocks with a stack file's config changed by `overrides`, in a module registry of its
 * own, so one jest file can run several variants. Returns the exports and the registrations.
 */
export async function runVariant(stack: string, overrides: Record<string, unknown> = {}, hook?: StateHook): Promise<ProgramRun> {
    let run: ProgramRun | undefined;
    await jest.isolateModulesAsync(async () => {
        const pulumiIsolated = await import("@pulumi/pulumi");
        const mocks = await import("./mocks");
        await mocks.setupMocks({ stack, hook });
        pulumiIsolated.runtime.setAllConfig(variantConfig(stack, overrides));
        const outputs: StackOutputs = {};
        try {
            const program = await import("../../index");
            for (const [key, value] of Object.entries(program)) {
                outputs[key] = pulumiIsolated.Output.isInstance(value) ? await mocks.promiseOf(value as pulumi.Output<unknown>) : value;
            }
        } finally {
            await mocks.settleRegistrations();
        }
        run = { outputs, registered: [...mocks.registered], invoked: [...mocks.invoked] };
    });
    return run!;
}
