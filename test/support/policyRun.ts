import * as pulumi from "@pulumi/pulumi";
import { promiseOf, Registered, registered, settleRegistrations, setupMocks, StateHook, useStackConfig } from "./mocks";

// Runs the whole program (index.ts) under mocks with a shipped stack file's config and returns what it
// registered in the shape the policy pack's stack runner takes: real URNs, inputs as props, each resource's
// provider (for default tags) and the per-property dependencies the engine would hand a stack policy (how the
// S3 policy pairs a bucket with its public access block when the bucket's id is not known yet).
//
// Load this module inside `jest.isolateModulesAsync` to run the program more than once in one test file: each
// isolated registry has its own @pulumi/pulumi runtime, mocks and index.ts.

/** One registered resource, with what the engine knows about it beyond its inputs. */
export interface ProgramResource extends Registered {
    /** The URN the mock engine assigned (includes the parent type chain). */
    readonly realUrn: string;
    /** Input property name → URNs of the resources it depends on. */
    readonly propertyDependencies: Record<string, string[]>;
    /** URNs of every resource it depends on (its inputs' and its dependsOn), as the engine orders them. */
    readonly dependencies: string[];
    /** The explicit provider resource this resource was registered with, if any. */
    readonly providerResource?: { type: string; name: string; urn: string; props: Record<string, any> };
}

/** Provider references are `<urn>::<id>`. */
function providerUrn(ref: string): string {
    const cut = ref.lastIndexOf("::");
    return cut > 0 ? ref.slice(0, cut) : ref;
}

export async function registerProgram(
    stack: string,
    programPath = "../../index",
    overrides: Record<string, string> = {},
    secrets: Record<string, string> = {},
    hook?: StateHook,
): Promise<ProgramResource[]> {
    await setupMocks({ stack, hook });
    const extra = new Map<string, { urn: string; deps: Record<string, string[]>; all: string[] }>();
    const key = (parent: string, type: string, name: string) => `${parent}|${type}|${name}`;
    const monitor = (pulumi.runtime as any).getMonitor();
    const inner = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, callback: any) => {
        const deps: Record<string, string[]> = {};
        req.getPropertydependenciesMap().forEach((value: any, prop: string) => {
            deps[prop] = value.getUrnsList();
        });
        return inner(req, (err: any, resp: any) => {
            if (!err && resp) {
                extra.set(key(req.getParent(), req.getType(), req.getName()), { urn: resp.getUrn(), deps, all: req.getDependenciesList() });
            }
            callback(err, resp);
        });
    };
    useStackConfig(stack, overrides, secrets);
    try {
        const program = await import(programPath);
        // Resolving the exports drives every output chain.
        for (const value of Object.values(program)) {
            if (pulumi.Output.isInstance(value)) {
                await promiseOf(value);
            }
        }
    } finally {
        await settleRegistrations();
    }

    const withExtra = registered.map((r) => {
        const found = extra.get(key(r.parent, r.type, r.name));
        return { r, urn: found?.urn ?? r.urn, deps: found?.deps ?? {}, all: found?.all ?? [] };
    });
    const byUrn = new Map(withExtra.map((x) => [x.urn, x.r]));
    return withExtra.map(({ r, urn, deps, all }) => {
        const provider = r.provider ? byUrn.get(providerUrn(r.provider)) : undefined;
        return {
            ...r,
            realUrn: urn,
            propertyDependencies: deps,
            dependencies: all,
            providerResource: provider ? { type: provider.type, name: provider.name, urn: providerUrn(r.provider), props: provider.inputs } : undefined,
        };
    });
}
