import * as policySdk from "@pulumi/policy";
import { EnforcementLevel, Policies, PolicyResource, ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";

// Runs the pack's policies as the analyzer would, without the CLI: the same validate functions, props wrapped in
// the SDK's unknown-checking proxy, an unknown value that escapes a policy turned into an advisory "can't run"
// note (as the analyzer does), and every reportViolation collected. Used by policy/*.test.ts and by the
// program-wide test (test/policyProgram.test.ts).

export interface Violation {
    readonly policy: string;
    readonly enforcementLevel: EnforcementLevel;
    readonly message: string;
    readonly urn?: string;
}

export interface RunOptions {
    /** Policy pack config as in policy-config.<stack>.json: `{ "<policy>": { ...properties } }`. */
    readonly config?: Record<string, Record<string, unknown>>;
    /** The resource's provider (e.g. `{ type: "pulumi:providers:aws", props: { defaultTags: {...} } }`). */
    readonly provider?: { type: string; name?: string; urn?: string; props: Record<string, any> };
    readonly name?: string;
    readonly urn?: string;
}

const proxyProps: (props: Record<string, any>) => Record<string, any> = (policySdk as any).unknownCheckingProxy ?? ((p: Record<string, any>) => p);
const UnknownValueError: (new (...a: any[]) => Error) | undefined = (policySdk as any).UnknownValueError;

/** The engine's wire value for an unknown string (what a preview sends for e.g. the id of a bucket to be created). */
export const UNKNOWN_STRING: string = (() => {
    try {
        return require("@pulumi/policy/proxy").unknownStringValue;
    } catch {
        return "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
    }
})();

function levelOf(policy: { enforcementLevel?: EnforcementLevel; name: string }, config: RunOptions["config"]): EnforcementLevel {
    const configured = (config?.[policy.name] as { enforcementLevel?: EnforcementLevel } | undefined)?.enforcementLevel;
    return configured ?? policy.enforcementLevel ?? "mandatory";
}

/** A policy's config as the engine hands it over: schema defaults overlaid with the given config. */
function configFor(policy: { name: string; configSchema?: policySdk.PolicyConfigSchema }, config: RunOptions["config"]): any {
    const defaults: Record<string, unknown> = {};
    for (const [key, schema] of Object.entries(policy.configSchema?.properties ?? {})) {
        if ((schema as { default?: unknown }).default !== undefined) {
            defaults[key] = (schema as { default?: unknown }).default;
        }
    }
    const { enforcementLevel: _ignored, ...given } = (config?.[policy.name] ?? {}) as Record<string, unknown>;
    return { ...defaults, ...given };
}

function isResourcePolicy(p: Policies[number]): p is ResourceValidationPolicy {
    return "validateResource" in p && p.validateResource !== undefined;
}

function isStackPolicy(p: Policies[number]): p is StackValidationPolicy {
    return "validateStack" in p;
}

async function guard(policy: { name: string }, out: Violation[], run: () => Promise<void> | void): Promise<void> {
    try {
        await run();
    } catch (e) {
        if ((UnknownValueError && e instanceof UnknownValueError) || (e as Error)?.constructor?.name === "UnknownValueError") {
            out.push({ policy: policy.name, enforcementLevel: "advisory", message: `can't run policy '${policy.name}' during preview: ${(e as Error).message}` });
            return;
        }
        throw e;
    }
}

/** Every violation the pack's resource policies report for one resource of `type` with inputs `props`. */
export async function violations(pack: Policies, type: string, props: Record<string, any>, opts: RunOptions = {}): Promise<Violation[]> {
    const out: Violation[] = [];
    const name = opts.name ?? "subject";
    const urn = opts.urn ?? `urn:pulumi:test::spark-streaming::${type}::${name}`;
    for (const policy of pack.filter(isResourcePolicy)) {
        const level = levelOf(policy, opts.config);
        if (level === "disabled") {
            continue;
        }
        const validations = Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource!];
        for (const validate of validations) {
            const args: ResourceValidationArgs = {
                type,
                props: proxyProps(props),
                urn,
                name,
                opts: { protect: false, ignoreChanges: [], aliases: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 }, additionalSecretOutputs: [] },
                provider: opts.provider ? { type: opts.provider.type, name: opts.provider.name ?? "provider", urn: opts.provider.urn ?? "", props: proxyProps(opts.provider.props) } : undefined,
                stackTags: new Map(),
                isType: () => false,
                asType: () => undefined,
                getConfig: <T extends object>() => configFor(policy, opts.config) as T,
                notApplicable: (reason?: string): never => {
                    throw new Error(`notApplicable is not supported by this test runner (${reason ?? "no reason"})`);
                },
            };
            await guard(policy, out, () => validate(args, (message, u) => out.push({ policy: policy.name, enforcementLevel: level, message, urn: u ?? urn })));
        }
    }
    return out;
}

/** A stack resource for `stackViolations`, built from a type, a name and props (outputs, or inputs under mocks). */
export interface StackResourceSpec {
    readonly type: string;
    readonly name: string;
    readonly props: Record<string, any>;
    readonly urn?: string;
    /** URNs each input property depends on, as the engine records them (`bucket: ["urn:...Bucket::b"]`). */
    readonly propertyDependencies?: Record<string, string[]>;
    readonly provider?: RunOptions["provider"];
}

export function urnOf(type: string, name: string): string {
    return `urn:pulumi:test::spark-streaming::${type}::${name}`;
}

/** Every violation the pack's stack policies report over `resources`. */
export async function stackViolations(pack: Policies, resources: StackResourceSpec[], opts: Pick<RunOptions, "config"> = {}): Promise<Violation[]> {
    const built: PolicyResource[] = resources.map((r) => ({
        type: r.type,
        name: r.name,
        urn: r.urn ?? urnOf(r.type, r.name),
        props: proxyProps(r.props),
        opts: { protect: false, ignoreChanges: [], aliases: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 }, additionalSecretOutputs: [] },
        provider: r.provider ? { type: r.provider.type, name: r.provider.name ?? "provider", urn: r.provider.urn ?? "", props: r.provider.props } : undefined,
        dependencies: [],
        propertyDependencies: {},
        isType: () => false,
        asType: () => undefined,
    }));
    const byUrn = new Map(built.map((b) => [b.urn, b]));
    resources.forEach((r, i) => {
        for (const [key, urns] of Object.entries(r.propertyDependencies ?? {})) {
            built[i].propertyDependencies[key] = urns.map((u) => byUrn.get(u)).filter((x): x is PolicyResource => x !== undefined);
        }
        built[i].dependencies = [...new Set(Object.values(built[i].propertyDependencies).flat())];
    });
    const out: Violation[] = [];
    for (const policy of pack.filter(isStackPolicy)) {
        const level = levelOf(policy, opts.config);
        if (level === "disabled") {
            continue;
        }
        await guard(policy, out, () =>
            policy.validateStack(
                {
                    resources: built,
                    stackTags: new Map(),
                    getConfig: <T extends object>() => configFor(policy, opts.config) as T,
                    notApplicable: (reason?: string): never => {
                        throw new Error(`notApplicable is not supported by this test runner (${reason ?? "no reason"})`);
                    },
                },
                (message, urn) => out.push({ policy: policy.name, enforcementLevel: level, message, urn }),
            ),
        );
    }
    return out;
}

/** Only the violations that would block a preview. */
export function mandatory(found: Violation[]): Violation[] {
    return found.filter((v) => v.enforcementLevel === "mandatory");
}
