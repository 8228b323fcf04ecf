import { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { asList, describe, parseJsonDocument, plain, UNKNOWN } from "./support";
import { refersTo } from "./vpc";

// aws v7 splits a bucket's settings into sibling resources, which a per-resource policy cannot see together, so
// this is a stack policy: it pairs each bucket with its public access block, encryption configuration and
// bucket policy, by property dependency (what the engine records when `bucket: b.id` is passed) or by name.

export const BUCKET_TYPES = ["aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"];
export const PUBLIC_ACCESS_BLOCK_TYPE = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock";
export const ENCRYPTION_TYPES = [
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
];
export const BUCKET_POLICY_TYPE = "aws:s3/bucketPolicy:BucketPolicy";

const PUBLIC_ACCESS_FLAGS = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"] as const;
const SSE_ALGORITHMS = new Set(["aws:kms", "aws:kms:dsse", "AES256"]);

interface Node {
    readonly resource: PolicyResource;
    readonly props: Record<string, any>;
}

type Relation = "same" | "other" | "unknown";

/** Whether a sibling resource (its `bucket` property) configures `bucket`. */
function relation(sibling: Node, bucket: Node): Relation {
    const deps = sibling.resource.propertyDependencies?.bucket ?? [];
    if (deps.some((d) => d.urn === bucket.resource.urn)) {
        return "same";
    }
    const target = sibling.props.bucket;
    if (target === UNKNOWN) {
        // During a first preview the bucket's id is unknown; without a recorded dependency we cannot tell.
        return deps.length > 0 ? "other" : "unknown";
    }
    const identities = [bucket.props.bucket, bucket.props.id, bucket.props.arn].filter((v) => typeof v === "string");
    return identities.includes(target) ? "same" : "other";
}

/** The problems with a public access block, `[]` when all four flags are true, `UNKNOWN` when a flag is not known. */
export function publicAccessProblems(props: Record<string, any>): string[] | typeof UNKNOWN {
    if (PUBLIC_ACCESS_FLAGS.some((f) => props[f] === UNKNOWN)) {
        return UNKNOWN;
    }
    return PUBLIC_ACCESS_FLAGS.filter((f) => props[f] !== true).map((f) => `${f} is ${JSON.stringify(props[f] ?? "unset")}`);
}

/** Whether encryption rules set a default SSE algorithm: true, false, or `UNKNOWN`. */
export function encryptsByDefault(rules: unknown): boolean | typeof UNKNOWN {
    if (rules === UNKNOWN) {
        return UNKNOWN;
    }
    let unknown = false;
    for (const rule of asList(rules)) {
        if (rule === UNKNOWN) {
            unknown = true;
            continue;
        }
        const byDefault = (rule as any)?.applyServerSideEncryptionByDefault;
        const algorithm = byDefault === UNKNOWN ? UNKNOWN : byDefault?.sseAlgorithm;
        if (algorithm === UNKNOWN) {
            unknown = true;
        } else if (typeof algorithm === "string" && SSE_ALGORITHMS.has(algorithm)) {
            return true;
        }
    }
    return unknown ? UNKNOWN : false;
}

function isFalse(v: unknown): boolean {
    return v === false || v === "false" || (Array.isArray(v) && v.length > 0 && v.every((x) => x === false || x === "false"));
}

/** Whether a bucket policy document denies requests that do not use TLS: true, false, or `UNKNOWN`. */
export function deniesInsecureTransport(policy: unknown): boolean | typeof UNKNOWN {
    const parsed = parseJsonDocument(policy);
    if (parsed === UNKNOWN) {
        return UNKNOWN;
    }
    if (parsed === undefined || !parsed.ok) {
        return false;
    }
    const statements = asList(parsed.value?.Statement);
    let unknown = false;
    for (const s of statements) {
        if (s === UNKNOWN || s === null || typeof s !== "object") {
            unknown ||= s === UNKNOWN;
            continue;
        }
        const st = s as Record<string, any>;
        const secureTransport = st.Condition?.Bool?.["aws:SecureTransport"];
        if (secureTransport === UNKNOWN || st.Effect === UNKNOWN || st.Action === UNKNOWN || st.Principal === UNKNOWN) {
            unknown = true;
            continue;
        }
        const principal = st.Principal;
        const everyone = principal === "*" || asList(principal?.AWS).includes("*");
        const actions = asList(st.Action);
        const allActions = actions.includes("s3:*") || actions.includes("*");
        if (st.Effect === "Deny" && everyone && allActions && isFalse(secureTransport)) {
            return true;
        }
    }
    return unknown ? UNKNOWN : false;
}

/** Checks every bucket in `resources` and reports one violation per missing protection, against the bucket. */
export function checkBuckets(resources: PolicyResource[], report: (message: string, urn?: string) => void): void {
    const nodes: Node[] = resources.map((resource) => ({ resource, props: plain(resource.props) }));
    const buckets = nodes.filter((n) => BUCKET_TYPES.includes(n.resource.type));
    const blocks = nodes.filter((n) => n.resource.type === PUBLIC_ACCESS_BLOCK_TYPE);
    const encryptions = nodes.filter((n) => ENCRYPTION_TYPES.includes(n.resource.type));
    const policies = nodes.filter((n) => n.resource.type === BUCKET_POLICY_TYPE);

    for (const bucket of buckets) {
        const label = describe(bucket.resource.type, bucket.resource.name);
        const related = (candidates: Node[]) => {
            const rel = candidates.map((c) => ({ node: c, rel: relation(c, bucket) }));
            return {
                same: rel.filter((r) => r.rel === "same").map((r) => r.node),
                maybe: rel.some((r) => r.rel === "unknown"),
            };
        };

        // Public access: every flag of a block attached to this bucket must be true.
        const pab = related(blocks);
        const pabResults = pab.same.map((b) => publicAccessProblems(b.props));
        if (!pabResults.some((r) => r === UNKNOWN || r.length === 0)) {
            if (pab.same.length > 0) {
                const problems = pabResults.flatMap((r) => (r === UNKNOWN ? [] : r));
                report(`${label} has a public access block that does not block all public access (${problems.join(", ")}); set blockPublicAcls, blockPublicPolicy, ignorePublicAcls and restrictPublicBuckets to true.`, bucket.resource.urn);
            } else if (!pab.maybe) {
                report(`${label} has no public access block; add an aws.s3.BucketPublicAccessBlock for it with blockPublicAcls, blockPublicPolicy, ignorePublicAcls and restrictPublicBuckets set to true.`, bucket.resource.urn);
            }
        }

        // Encryption at rest: a default SSE rule, in a sibling configuration or (deprecated) inline on the bucket.
        const sse = related(encryptions);
        const inline = bucket.props.serverSideEncryptionConfiguration;
        const inlineRules = inline === UNKNOWN ? UNKNOWN : inline?.rule ?? inline?.rules;
        const sseResults = [...sse.same.map((e) => encryptsByDefault(e.props.rules)), ...(inline === undefined ? [] : [encryptsByDefault(inlineRules)])];
        if (!sseResults.some((r) => r !== false) && !sse.maybe) {
            report(`${label} has no default server-side encryption; add an aws.s3.BucketServerSideEncryptionConfiguration for it whose rule applies sseAlgorithm "aws:kms" (or "AES256").`, bucket.resource.urn);
        }

        // Encryption in transit: a bucket policy statement denying every request made without TLS.
        const bp = related(policies);
        const tlsResults = [...bp.same.map((p) => deniesInsecureTransport(p.props.policy)), ...(bucket.props.policy === undefined ? [] : [deniesInsecureTransport(bucket.props.policy)])];
        if (!tlsResults.some((r) => r !== false) && !bp.maybe) {
            report(`${label} does not deny non-TLS access; add a bucket policy statement with Effect "Deny", Principal "*", Action "s3:*" and Condition {"Bool": {"aws:SecureTransport": "false"}}.`, bucket.resource.urn);
        }
    }
}

/** S3 buckets block public access, are encrypted at rest by default, and deny requests that do not use TLS. */
export function s3BucketsSecured(): StackValidationPolicy {
    return {
        name: "s3-bucket-secured",
        description: "S3 buckets block all public access, encrypt objects by default, and deny requests that do not use TLS.",
        enforcementLevel: "mandatory",
        validateStack: (args, reportViolation) => checkBuckets(args.resources, reportViolation),
    };
}

export const BUCKET_LOGGING_TYPES = ["aws:s3/bucketLogging:BucketLogging", "aws:s3/bucketLoggingV2:BucketLoggingV2"];

/**
 * Every bucket is audited by S3 server access logging into another bucket, except the buckets that receive access
 * logs (a log bucket that logs to itself grows without end, and logging it elsewhere only moves the problem).
 */
export function checkAccessLogging(resources: PolicyResource[], report: (message: string, urn?: string) => void): void {
    const nodes: Node[] = resources.map((resource) => ({ resource, props: plain(resource.props) }));
    const buckets = nodes.filter((n) => BUCKET_TYPES.includes(n.resource.type));
    const loggings = nodes.filter((n) => BUCKET_LOGGING_TYPES.includes(n.resource.type));
    const points = (n: Node, prop: string, b: Node) => refersTo(n, prop, b);
    for (const bucket of buckets) {
        const label = describe(bucket.resource.type, bucket.resource.name);
        const own = loggings.map((l) => ({ l, rel: points(l, "bucket", bucket) }));
        const asTarget = loggings.map((l) => ({ l, rel: points(l, "targetBucket", bucket) }));
        for (const { l } of own.filter((o) => o.rel === "same")) {
            if (points(l, "targetBucket", bucket) === "same") {
                report(`${label} delivers its access logs to itself (${describe(l.resource.type, l.resource.name)}); send them to a separate, locked-down log bucket.`, bucket.resource.urn);
            }
        }
        const isLogTarget = asTarget.some((t) => t.rel === "same");
        const logged = own.some((o) => o.rel === "same");
        const unknown = own.some((o) => o.rel === "unknown") || asTarget.some((t) => t.rel === "unknown");
        if (!logged && !isLogTarget && !unknown) {
            report(`${label} has no S3 server access logging; add an aws.s3.BucketLogging that delivers its access logs to a separate log bucket (components/accessLogBucket.ts).`, bucket.resource.urn);
        }
    }
}

export function s3AccessLogging(): StackValidationPolicy {
    return {
        name: "s3-access-logging",
        description: "Every S3 bucket logs its requests (server access logging) to a separate log bucket; log buckets never log to themselves.",
        enforcementLevel: "mandatory",
        validateStack: (args, reportViolation) => checkAccessLogging(args.resources, reportViolation),
    };
}
