// Least-privilege IAM for the Spark hosts, as plain JSON (stable key order, so previews are diff-stable).
// Each role gets the bucket prefixes its processes touch, the data lake key, ECR pull for the one repository, and
// (from the Kafka component) the consumer's Kafka policy. SSM core is attached as a managed policy beside these.

/** The AWS managed policy that lets SSM reach a host (sessions, port forwarding, Run Command, associations). */
export const SSM_CORE_POLICY = "AmazonSSMManagedInstanceCore";

export interface HostPolicyInput {
    readonly bucketArn: string;
    readonly kmsKeyArn: string;
    readonly repositoryArn: string;
    /** The Secrets Manager secrets the host reads at every role start (Spark's secret, the UI TLS material). */
    readonly secretArns: string[];
    /** Prefixes the role reads and writes, each ending in `/` (e.g. `data/events/`). */
    readonly prefixes: string[];
}

function checkPrefixes(prefixes: string[]): void {
    if (prefixes.length === 0) {
        throw new Error("a consumer role needs at least one bucket prefix; an empty list would grant nothing it needs");
    }
    for (const p of prefixes) {
        if (p === "" || p === "/" || !p.endsWith("/") || p.includes("*")) {
            throw new Error(`bucket prefixes in consumer policies must be non-empty folders ending in "/" without wildcards (e.g. "data/events/"); got "${p}"`);
        }
    }
}

/**
 * The folders S3A may list for a prefix: the prefix itself and everything below it, plus each parent folder, which
 * S3A probes (a LIST of one key) before it creates a file, to make sure no parent is a file.
 */
export function listablePrefixes(prefixes: string[]): string[] {
    const out = new Set<string>();
    for (const p of prefixes) {
        const parts = p.split("/").filter((s) => s !== "");
        for (let i = 1; i <= parts.length; i++) {
            const folder = parts.slice(0, i).join("/");
            out.add(folder);
            out.add(`${folder}/`);
        }
        out.add(`${p}*`);
    }
    return [...out].sort();
}

/** Where a consumer's processes read and write: the bucket, its key and the prefixes, each ending in `/`. */
export interface DataAccessInput {
    readonly bucketArn: string;
    readonly kmsKeyArn: string;
    readonly prefixes: string[];
}

/**
 * The statements every engine's consumer gets for the data lake: list and use its own prefixes through S3A, and the
 * platform key that encrypts them. The ec2 hosts and the kubernetes engine's service account share them, so the two
 * cannot drift apart.
 */
export function dataAccessStatements(input: DataAccessInput): object[] {
    checkPrefixes(input.prefixes);
    const prefixes = [...input.prefixes].sort();
    return [
        {
            // S3A lists the role's own folders (and probes their parents before it creates a file).
            Sid: "ListOwnPrefixes",
            Effect: "Allow",
            Action: ["s3:ListBucket"],
            Resource: [input.bucketArn],
            Condition: { StringLike: { "s3:prefix": listablePrefixes(prefixes) } },
        },
        {
            // S3A lists pending multipart uploads (to abort stale ones); the action is bucket-level, scoped to this bucket.
            Sid: "MultipartUploads",
            Effect: "Allow",
            Action: ["s3:ListBucketMultipartUploads"],
            Resource: [input.bucketArn],
        },
        {
            // Data, dead letters, checkpoints (and event logs on the master): read, write, delete, multipart.
            Sid: "ReadWriteOwnPrefixes",
            Effect: "Allow",
            Action: ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:PutObject"],
            Resource: prefixes.map((p) => `${input.bucketArn}/${p}*`),
        },
        {
            // The data lake's objects and the Secrets Manager secrets are encrypted with the platform key.
            Sid: "DataLakeKey",
            Effect: "Allow",
            Action: ["kms:Decrypt", "kms:GenerateDataKey"],
            Resource: [input.kmsKeyArn],
        },
    ];
}

/** A policy that holds only the data-lake statements (a consumer that pulls no image and reads no Secrets Manager secret). */
export function dataAccessPolicyDocument(input: DataAccessInput): string {
    return JSON.stringify({ Version: "2012-10-17", Statement: dataAccessStatements(input) });
}

/** The inline policy of a Spark host role (master or worker). */
export function hostPolicyDocument(input: HostPolicyInput): string {
    if (input.secretArns.length === 0) {
        throw new Error("ec2 engine: a host role needs the ARNs of the secrets it reads (Spark's secret, the UI certificate)");
    }
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [
            ...dataAccessStatements(input),
            {
                // GetAuthorizationToken has no resource-level permissions: AWS only accepts "*" for it.
                Sid: "EcrLogin",
                Effect: "Allow",
                Action: ["ecr:GetAuthorizationToken"],
                Resource: ["*"],
            },
            {
                // Pull the consumer image from its one repository.
                Sid: "EcrPullConsumerImage",
                Effect: "Allow",
                Action: ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                Resource: [input.repositoryArn],
            },
            {
                // Spark's shared secret and the UI certificate, read by the runner at every role start.
                Sid: "ReadSparkSecrets",
                Effect: "Allow",
                Action: ["secretsmanager:GetSecretValue"],
                Resource: [...input.secretArns].sort(),
            },
        ],
    });
}
