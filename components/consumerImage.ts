import * as aws from "@pulumi/aws";
import * as dockerBuild from "@pulumi/docker-build";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";
import { CONSUMER_CONTEXT, contextHash } from "./buildContext";
import { ImageRefs } from "./refs";

// The consumer image: one ECR repository and the image built from jobs/streaming-consumer for linux/amd64.
// The tag is the content hash of the build context (what .dockerignore lets through), so a preview with no
// change to the job shows no change, and any change to the job shows exactly one image update. Previews never
// build (no Docker engine needed); `pulumi up` builds and pushes, and the image is pinned by its digest.

/** Images the lifecycle policy keeps, newest first, so a rollback to a recent build still finds its image. */
export const DEFAULT_KEEP_IMAGES = 10;

export interface ConsumerImageArgs {
    /** The build context (with its Dockerfile and .dockerignore). Default: jobs/streaming-consumer. */
    readonly context?: string;
    /** Let `pulumi destroy` delete the repository with its images. Only for disposable stacks (dataLake.forceDestroy). */
    readonly forceDelete: boolean;
    /** How many images the repository keeps; older ones expire. Default 10. */
    readonly keepImages?: number;
    /** The platform's KMS key; the repository encrypts its images with it. */
    readonly kmsKeyArn: pulumi.Input<string>;
}

/** Throws if the image cannot be built from `context` or the retention makes no sense; says what to fix. */
export function validateConsumerImage(context: string, keepImages: number): void {
    if (!Number.isInteger(keepImages) || keepImages < 1) {
        throw new Error(`keepImages must be a whole number of at least 1 (the running image must survive the lifecycle policy); got ${keepImages}`);
    }
    if (!fs.existsSync(path.join(context, "Dockerfile"))) {
        throw new Error(`the consumer image's build context ${context} has no Dockerfile; add one or point the context at the job's folder`);
    }
}

/** ECR lifecycle policy JSON: expire every image beyond the newest `keepImages`. */
export function lifecyclePolicy(keepImages: number): string {
    return JSON.stringify({
        rules: [
            {
                rulePriority: 1,
                description: `Keep the newest ${keepImages} images`,
                selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: keepImages },
                action: { type: "expire" },
            },
        ],
    });
}

/**
 * The context as docker-build stores it: relative to the project folder (where Pulumi runs the program), with
 * '/' separators. An absolute path would differ between a laptop and CI and show an image change on every run.
 */
export function contextLocation(context: string, cwd: string = process.cwd()): string {
    const rel = path.relative(cwd, path.resolve(context)).split(path.sep).join("/");
    return rel === "" ? "." : rel;
}

/**
 * What every build of the consumer image shares, whichever engine runs it: the context (Dockerfile and
 * .dockerignore in it), the content-hash tag and no build during previews (they need no Docker engine; the build,
 * and any Dockerfile error, happens on `pulumi up`). Engines add where the image goes: ECR (push) or the local
 * Docker engine (load).
 */
export function consumerBuild(context: string = CONSUMER_CONTEXT): {
    readonly contentHash: string;
    readonly args: { context: { location: string }; buildOnPreview: false };
} {
    validateConsumerImage(context, DEFAULT_KEEP_IMAGES);
    return { contentHash: contextHash(context), args: { context: { location: contextLocation(context) }, buildOnPreview: false } };
}

export class ConsumerImage extends pulumi.ComponentResource implements ImageRefs {
    /** Content hash of the build context; the image's tag. Known at preview. */
    public readonly contentHash: string;
    /** `<repositoryUrl>@sha256:...`: the pushed image, pinned by digest (unknown in a preview that changes the job). */
    public readonly imageUri: pulumi.Output<string>;
    public readonly repositoryArn: pulumi.Output<string>;
    public readonly repositoryUrl: pulumi.Output<string>;

    constructor(name: string, args: ConsumerImageArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("spark-streaming:image:ConsumerImage", name, {}, opts);
        const context = args.context ?? CONSUMER_CONTEXT;
        const keepImages = args.keepImages ?? DEFAULT_KEEP_IMAGES;
        validateConsumerImage(context, keepImages);
        const build = consumerBuild(context);
        this.contentHash = build.contentHash;

        const repo = new aws.ecr.Repository(
            `${name}-repo`,
            {
                imageTagMutability: "IMMUTABLE",
                imageScanningConfiguration: { scanOnPush: true },
                encryptionConfigurations: [{ encryptionType: "KMS", kmsKey: args.kmsKeyArn }],
                forceDelete: args.forceDelete,
            },
            { parent: this },
        );
        new aws.ecr.LifecyclePolicy(`${name}-lifecycle`, { repository: repo.name, policy: lifecyclePolicy(keepImages) }, { parent: this });

        // A fresh token on every run; docker-build ignores registry password changes in its diff, so this does not
        // show as a change. Obtained through this component's provider (same account and region as the repo).
        const token = aws.ecr.getAuthorizationTokenOutput({ registryId: repo.registryId }, { parent: this });
        const image = new dockerBuild.Image(
            `${name}-image`,
            {
                ...build.args,
                platforms: [dockerBuild.Platform.Linux_amd64],
                push: true,
                tags: [pulumi.interpolate`${repo.repositoryUrl}:${this.contentHash}`],
                registries: [
                    {
                        address: repo.repositoryUrl.apply((url) => url.split("/")[0]),
                        username: token.userName,
                        password: pulumi.secret(token.password),
                    },
                ],
            },
            { parent: this },
        );

        this.repositoryArn = repo.arn;
        this.repositoryUrl = repo.repositoryUrl;
        this.imageUri = pulumi.interpolate`${repo.repositoryUrl}@${image.digest}`;
        this.registerOutputs({ contentHash: this.contentHash, imageUri: this.imageUri, repositoryArn: this.repositoryArn, repositoryUrl: this.repositoryUrl });
    }
}
