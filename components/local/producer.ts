import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { LocalConfig } from "../config";
import { LocalSite, platformContainer } from "./container";

// The demo producer of engine local: the consumer image's `producer` role (jobs/streaming-consumer/demo_producer)
// sends schema-valid events to the topic at a steady rate, and a share of malformed ones, so Parquet files and
// dead letters appear within a minute of `local:up`. It waits for the topic the consumer creates.

export const PRODUCER_ALIAS = "demo-producer";

/** The producer's flags (after the role). */
export function producerArgs(config: LocalConfig["producer"], bootstrapServers: string, topic: string): string[] {
    return [
        "--bootstrap-servers", bootstrapServers,
        "--topic", topic,
        "--events-per-second", String(config.eventsPerSecond),
        "--malformed-percent", String(config.malformedPercent),
    ];
}

export interface LocalProducerArgs {
    readonly config: LocalConfig["producer"];
    readonly site: LocalSite;
    /** The consumer image id (the producer is one of its roles). */
    readonly image: pulumi.Input<string>;
    readonly bootstrapServers: string;
    readonly topic: string;
    /** Started after these (the consumer, which creates the topic). */
    readonly dependsOn: pulumi.Input<pulumi.Resource>[];
}

export class LocalProducer extends pulumi.ComponentResource {
    public readonly container: docker.Container;

    constructor(name: string, args: LocalProducerArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("spark-streaming:local:Producer", name, {}, opts);
        this.container = platformContainer(
            name,
            args.site,
            {
                role: PRODUCER_ALIAS,
                image: args.image,
                command: ["producer", ...producerArgs(args.config, args.bootstrapServers, args.topic)],
                env: {},
                stopGraceSeconds: 10,
                dependsOn: args.dependsOn,
            },
            this,
        );
        this.registerOutputs({});
    }
}
