import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { LocalConfig } from "../config";
import { SPARK_EVENTS_PREFIX } from "../locations";
import { S3Bucket } from "./bucket";
import { LocalSite, platformContainer } from "./container";
import { namedVolume } from "./network";

// The data lake of engine local: an S3-compatible store and the stack's bucket in it. By default a SeaweedFS
// container (`weed mini`: master, volume server, filer, S3 API and admin console in one process) whose data lives in
// a named volume; or an existing S3-compatible endpoint from config. Either way the stack creates the bucket (and the
// event-log folder Spark needs) through the S3 API, with credentials from the stack's secrets.

/** Ports inside the SeaweedFS container. */
export const OBJECT_STORE_PORTS = { s3: 8333, console: 23646 } as const;
/** The alias the containers reach the store by. */
export const OBJECT_STORE_ALIAS = "object-store";
/** Where SeaweedFS keeps everything (the image's data volume). */
export const OBJECT_STORE_DATA_DIR = "/data";
/** The console's login user; its password is the S3 secret key. */
export const CONSOLE_USER = "admin";

/** `weed mini` arguments: the image's entrypoint adds `-dir=/data`. */
export function objectStoreCommand(): string[] {
    return [
        "mini",
        `-s3.port=${OBJECT_STORE_PORTS.s3}`,
        `-admin.port=${OBJECT_STORE_PORTS.console}`,
        // A misspelt bucket must fail, not appear: the stack creates the one bucket it uses.
        "-s3.autoCreateBucket=false",
        "-webdav=false",
    ];
}

/** Ready = the S3 API answers its health endpoint. */
export function objectStoreHealthcheck(): docker.types.input.ContainerHealthcheck {
    return {
        tests: ["CMD", "curl", "-fsS", "-o", "/dev/null", `http://127.0.0.1:${OBJECT_STORE_PORTS.s3}/healthz`],
        interval: "30s",
        timeout: "10s",
        retries: 5,
        startPeriod: "60s",
        startInterval: "2s",
    };
}

export interface LocalObjectStoreArgs {
    readonly config: LocalConfig["objectStore"];
    readonly site: LocalSite;
    /** The SeaweedFS image id; unused for an external endpoint. */
    readonly image: pulumi.Input<string> | undefined;
    /** Host ports of the S3 API and the console (container mode). */
    readonly ports: { readonly s3: number; readonly console: number };
    /** The host name in URLs for this machine (localhost, or local.bindAddress when that is a real address). */
    readonly hostName: string;
    /** Keep the data volume on destroy (dataLake.protect). */
    readonly protectData: boolean;
}

export class LocalObjectStore extends pulumi.ComponentResource {
    /** The S3 endpoint as the containers reach it. */
    public readonly endpoint: string;
    /** The S3 endpoint as this machine reaches it (aws --endpoint-url ...). */
    public readonly hostEndpoint: string;
    /** The console's URL (container mode). */
    public readonly consoleUrl: string | undefined;
    public readonly region: string;
    public readonly accessKeyId: string;
    /** The S3 secret key (and console password): the secret config, or one generated for the stack. */
    public readonly secretAccessKey: pulumi.Output<string>;
    /** The stack's bucket, once created; Spark's containers depend on it. */
    public readonly bucket: S3Bucket;
    public readonly bucketName: pulumi.Output<string>;
    /** The store container (container mode). */
    public readonly container: docker.Container | undefined;

    constructor(name: string, args: LocalObjectStoreArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("spark-streaming:local:ObjectStore", name, {}, opts);
        const { config, site } = args;
        this.region = config.region;
        this.accessKeyId = config.accessKeyId;
        // Generated once when not configured, kept in the state (encrypted), the same on every later run. Wrapped as a
        // secret either way, so every input it flows into (container environment, the bucket) is stored encrypted.
        this.secretAccessKey = pulumi.secret(
            config.secretKey ?? new random.RandomPassword(`${name}-secret-key`, { length: 40, special: false }, { parent: this }).result,
        );

        let bucketEndpoint: string;
        if (config.mode === "external") {
            this.endpoint = config.endpoint!;
            this.hostEndpoint = config.hostEndpoint ?? config.endpoint!;
            this.consoleUrl = undefined;
            this.container = undefined;
            bucketEndpoint = this.hostEndpoint;
        } else {
            if (args.image === undefined) {
                throw new Error("the container object store needs its image");
            }
            const volume = namedVolume(name, site, { role: "object-store-data", protect: args.protectData }, this);
            this.container = platformContainer(
                name,
                site,
                {
                    role: OBJECT_STORE_ALIAS,
                    image: args.image,
                    command: objectStoreCommand(),
                    env: {
                        // SeaweedFS makes these an admin identity of its S3 API; every request must be signed with them.
                        AWS_ACCESS_KEY_ID: config.accessKeyId,
                        AWS_SECRET_ACCESS_KEY: this.secretAccessKey,
                        WEED_ADMIN_USER: CONSOLE_USER,
                        WEED_ADMIN_PASSWORD: this.secretAccessKey,
                    },
                    ports: [
                        { internal: OBJECT_STORE_PORTS.s3, external: args.ports.s3 },
                        { internal: OBJECT_STORE_PORTS.console, external: args.ports.console },
                    ],
                    volumes: [{ volumeName: volume.name, containerPath: OBJECT_STORE_DATA_DIR }],
                    healthcheck: objectStoreHealthcheck(),
                    stopGraceSeconds: 30,
                },
                this,
            );
            this.endpoint = `http://${OBJECT_STORE_ALIAS}:${OBJECT_STORE_PORTS.s3}`;
            this.hostEndpoint = `http://${args.hostName}:${args.ports.s3}`;
            this.consoleUrl = `http://${args.hostName}:${args.ports.console}`;
            // The published port on the address it is bound to; 0.0.0.0 is reached through loopback.
            bucketEndpoint = `http://${site.bindAddress === "0.0.0.0" ? "127.0.0.1" : site.bindAddress}:${args.ports.s3}`;
        }

        this.bucket = new S3Bucket(
            `${name}-bucket`,
            {
                endpoint: bucketEndpoint,
                region: config.region,
                accessKeyId: config.accessKeyId,
                secretAccessKey: this.secretAccessKey,
                bucket: config.bucket,
                markers: [SPARK_EVENTS_PREFIX],
            },
            { parent: this, dependsOn: this.container ? [this.container] : [] },
        );
        this.bucketName = this.bucket.bucket;
        this.registerOutputs({ endpoint: this.endpoint, hostEndpoint: this.hostEndpoint, bucketName: this.bucketName });
    }
}
