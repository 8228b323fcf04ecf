import * as policySdk from "@pulumi/policy";

// Shared by the policies: reading resource properties that may be unknown during a preview, and the small
// parsing helpers more than one service needs. A policy never reports a violation on a value it cannot see yet.

/** Stands for a property whose value is not known until the update runs (e.g. an id of a resource to be created). */
export const UNKNOWN: unique symbol = Symbol("unknown");
export type Unknown = typeof UNKNOWN;

// The SDK exports these at runtime but not in its typings; the sentinels are the engine's wire values for
// "unknown", which reach a policy as plain strings when props are not wrapped in the SDK's checking proxy.
const UnknownValueError: (new (...args: any[]) => Error) | undefined = (policySdk as any).UnknownValueError;
const SENTINELS: ReadonlySet<string> = (() => {
    try {
        const proxy = require("@pulumi/policy/proxy");
        return new Set<string>(
            ["unknownBooleanValue", "unknownNumberValue", "unknownStringValue", "unknownArrayValue", "unknownAssetValue", "unknownArchiveValue", "unknownObjectValue"]
                .map((k) => proxy[k])
                .filter((v: unknown): v is string => typeof v === "string"),
        );
    } catch {
        return new Set<string>(["04da6b54-80e4-46f7-96ec-b56ff0331ba9"]);
    }
})();

function isUnknownError(e: unknown): boolean {
    return (UnknownValueError !== undefined && e instanceof UnknownValueError) || (e instanceof Error && e.constructor.name === "UnknownValueError");
}

/**
 * A plain copy of resource properties in which every value the engine does not know yet is `UNKNOWN`. The
 * engine hands policies a proxy that throws on unknown values; copying first lets a policy check the known parts
 * of a resource (one open CIDR among several unknown ones is still a violation) instead of giving up on all of it.
 */
export function plain(value: unknown): any {
    if (typeof value === "string") {
        return SENTINELS.has(value) ? UNKNOWN : value;
    }
    if (value === null || typeof value !== "object") {
        return value;
    }
    const read = (key: string | number): unknown => {
        try {
            return plain((value as any)[key]);
        } catch (e) {
            if (isUnknownError(e)) {
                return UNKNOWN;
            }
            throw e;
        }
    };
    if (Array.isArray(value)) {
        return Array.from({ length: value.length }, (_, i) => read(i));
    }
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
        out[key] = read(key);
    }
    return out;
}

/** True when any part of `value` is not known yet. */
export function hasUnknown(value: unknown): boolean {
    if (value === UNKNOWN) {
        return true;
    }
    if (value !== null && typeof value === "object") {
        return Object.values(value).some(hasUnknown);
    }
    return false;
}

/** A value that is a string or a list of strings (IAM's Action/Resource, CIDR lists) as a list; unknowns kept. */
export function asList(value: unknown): unknown[] {
    if (value === undefined || value === null) {
        return [];
    }
    return Array.isArray(value) ? value : [value];
}

/** Parses a JSON document given as a string or already as an object; `UNKNOWN` if not known yet, `undefined` if absent. */
export function parseJsonDocument(doc: unknown): { ok: true; value: any } | { ok: false; error: string } | Unknown | undefined {
    if (doc === UNKNOWN) {
        return UNKNOWN;
    }
    if (doc === undefined || doc === null || doc === "") {
        return undefined;
    }
    if (typeof doc === "string") {
        try {
            return { ok: true, value: plain(JSON.parse(doc)) };
        } catch (e) {
            return { ok: false, error: (e as Error).message };
        }
    }
    return { ok: true, value: doc };
}

/** A resource's display name in violation messages. */
export function describe(type: string, name: string | undefined): string {
    const short = type.split(":").pop() ?? type;
    return name ? `${short} "${name}"` : short;
}

/** What a resource check sees: its known-or-UNKNOWN properties and where it came from. */
export interface ResourceContext {
    readonly type: string;
    readonly name: string;
    /** The resource's explicit provider's properties (e.g. the aws provider's defaultTags), when it has one. */
    readonly providerProps?: Record<string, any>;
    readonly getConfig: <T extends object>() => T;
}

export type ResourceCheck = (props: Record<string, any>, ctx: ResourceContext, report: (message: string) => void) => void;

/**
 * A `validateResource` that runs `check` only on the given type tokens, with props copied by `plain` (unknown
 * values become `UNKNOWN` instead of throwing).
 */
export function validateTypes(types: readonly string[], check: ResourceCheck): policySdk.ResourceValidation {
    const wanted = new Set(types);
    return (args, reportViolation) => {
        if (!wanted.has(args.type)) {
            return;
        }
        check(
            plain(args.props),
            {
                type: args.type,
                name: args.name,
                providerProps: args.provider ? plain(args.provider.props) : undefined,
                getConfig: args.getConfig,
            },
            (message) => reportViolation(message),
        );
    };
}
