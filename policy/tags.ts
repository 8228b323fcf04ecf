import { ResourceValidationPolicy } from "@pulumi/policy";
import { UNKNOWN, validateTypes } from "./support";

/** The tags every taggable resource carries (components/tags.ts sets them as the provider's default tags). */
export const REQUIRED_TAGS = ["project", "stack"] as const;

/** The aws provider's default tags, from its inputs (an object, or the JSON string providers' inputs are sent as). */
export function providerDefaultTags(providerProps: Record<string, any> | undefined): Record<string, unknown> {
    let defaultTags = providerProps?.defaultTags;
    if (typeof defaultTags === "string") {
        try {
            defaultTags = JSON.parse(defaultTags);
        } catch {
            return {};
        }
    }
    const tags = defaultTags?.tags;
    return tags !== null && typeof tags === "object" && tags !== UNKNOWN ? tags : {};
}

/** Required tags that are neither set on the resource (tags, or tagsAll once the provider merged its defaults) nor defaulted by its provider. */
export function missingTags(props: Record<string, any>, providerProps?: Record<string, any>): string[] {
    const sources = [providerDefaultTags(providerProps), props.tagsAll, props.tags];
    if (sources.some((s) => s === UNKNOWN)) {
        return [];
    }
    const merged: Record<string, unknown> = Object.assign({}, ...sources.filter((s) => s !== null && typeof s === "object"));
    return REQUIRED_TAGS.filter((k) => merged[k] !== UNKNOWN && !(typeof merged[k] === "string" && (merged[k] as string).length > 0));
}

/**
 * Every taggable AWS resource carries the project and stack tags (advisory). A resource counts as taggable when
 * it has `tags` or `tagsAll`, or when its provider sets default tags (which only reach taggable resources). A
 * resource that shows neither is left alone: without the provider schema the pack cannot tell it is taggable.
 */
export function requiredTags(): ResourceValidationPolicy {
    return {
        name: "aws-required-tags",
        description: "Every taggable AWS resource carries the project and stack tags, set by its component's provider default tags.",
        enforcementLevel: "advisory",
        validateResource: (args, reportViolation) => {
            if (!args.type.startsWith("aws:")) {
                return;
            }
            validateTypes([args.type], (props, ctx, report) => {
                const taggable = "tags" in props || "tagsAll" in props || Object.keys(providerDefaultTags(ctx.providerProps)).length > 0;
                const missing = taggable ? missingTags(props, ctx.providerProps) : [];
                if (missing.length > 0) {
                    report(`${ctx.type.split(":").pop()} "${ctx.name}" is missing the ${missing.join(" and ")} tag(s); create it under a component whose aws provider comes from componentProvider() (components/tags.ts), which sets them as default tags.`);
                }
            })(args, reportViolation);
        },
    };
}
