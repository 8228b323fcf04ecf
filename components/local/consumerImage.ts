import * as docker from "@pulumi/docker";
import * as dockerBuild from "@pulumi/docker-build";
import * as pulumi from "@pulumi/pulumi";
import { CONSUMER_CONTEXT } from "../buildContext";
import { consumerBuild } from "../consumerImage";
import { LOCAL_CONSUMER_REPOSITORY } from "./images";

// The consumer image for engine local: the same build definition as the AWS engines (components/consumerImage.ts:
// context, content-hash tag, no build in previews), loaded into the local Docker engine instead of pushed. No
// platform is forced: the engine builds for its own (arm64 on Apple silicon, amd64 elsewhere), from base images that
// publish both. A change to the job gives a new tag, hence a new image id, hence new Spark containers.

export interface LocalConsumerImageArgs {
    /** The build context. Default: jobs/streaming-consumer. */
    readonly context?: string;
}

export class LocalConsumerImage extends pulumi.ComponentResource {
    /** The build context's content hash (the tag). Known at preview. */
    public readonly contentHash: string;
    /** `spark-streaming-consumer:<hash>`. */
    public readonly ref: string;
    /** The image id on the local engine; containers run it, so a new build replaces them. */
    public readonly imageId: pulumi.Output<string>;

    constructor(name: string, args: LocalConsumerImageArgs = {}, opts: pulumi.ComponentResourceOptions = {}) {
        super("spark-streaming:local:ConsumerImage", name, {}, opts);
        const build = consumerBuild(args.context ?? CONSUMER_CONTEXT);
        this.contentHash = build.contentHash;
        this.ref = `${LOCAL_CONSUMER_REPOSITORY}:${build.contentHash}`;
        const image = new dockerBuild.Image(
            `${name}-build`,
            {
                ...build.args,
                tags: [this.ref],
                // Into the local engine's image store; no registry, no push.
                push: false,
                load: true,
            },
            { parent: this },
        );
        // The built tag as an image id (what containers take, so they follow the build rather than a name).
        const local = new docker.RemoteImage(`${name}-local`, { name: this.ref, keepLocally: true }, { parent: this, dependsOn: [image] });
        this.imageId = local.imageId;
        this.registerOutputs({ ref: this.ref, imageId: this.imageId });
    }
}
