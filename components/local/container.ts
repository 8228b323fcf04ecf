import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { dockerLabels } from "./network";

// What every container of engine local shares, so each part declares only what is its own: one user-defined network
// (reached by alias), host ports bound to one address, a restart policy, bounded logs, a health check the program
// waits on, and replacement that removes the old container first (fixed names and host ports cannot exist twice).

/** Where the containers of one stack live. */
export interface LocalSite {
    /** Container and volume names start with it: `<project>-<stack>`. */
    readonly prefix: string;
    /** The stack's user-defined network. */
    readonly networkName: pulumi.Input<string>;
    /** Host address every published port binds to (config local.bindAddress). */
    readonly bindAddress: string;
    /** Labels on every container and volume, so `docker ps --filter label=...` finds one stack's parts. */
    readonly labels: Record<string, string>;
}

/** Docker's restart policy for every long-running part: a crashed process comes back, `docker stop` is respected. */
export const RESTART_POLICY = "unless-stopped";
/** Container logs rotate, so a platform left running for weeks does not fill the disk. */
export const LOG_OPTIONS = { "max-size": "10m", "max-file": "3" };
/** How long `pulumi up` waits for a JVM service to report healthy before it fails, seconds. */
export const DEFAULT_WAIT_SECONDS = 300;

export interface PlatformContainerArgs {
    /** The role, e.g. `kafka-1`: the container is `<prefix>-<role>`, its hostname and first alias are the role. */
    readonly role: string;
    /** The image, by id (`docker.RemoteImage.imageId`): a new image id replaces the container. */
    readonly image: pulumi.Input<string>;
    /** Arguments to the image's entrypoint; unset runs the image's own command. */
    readonly command?: pulumi.Input<pulumi.Input<string>[]>;
    /** Environment; rendered as sorted `K=V` so an unchanged config renders unchanged. */
    readonly env: Record<string, pulumi.Input<string>>;
    /** More names the other containers reach this one by, beside the role. */
    readonly extraAliases?: string[];
    /** Ports published on the host (bound to the site's address). */
    readonly ports?: Array<{ readonly internal: number; readonly external: number }>;
    /** Named volumes and where they are mounted. */
    readonly volumes?: Array<{ readonly volumeName: pulumi.Input<string>; readonly containerPath: string }>;
    /** The health check `pulumi up` waits on before creating dependents; unset: only "running" is waited for. */
    readonly healthcheck?: docker.types.input.ContainerHealthcheck;
    /** Seconds `docker stop` (and a replacement) gives the process after SIGTERM before SIGKILL. */
    readonly stopGraceSeconds?: number;
    /** Created only once these are healthy (their own `wait`). */
    readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
    /** Files written into the container before it starts (configuration); a changed content replaces the container. */
    readonly uploads?: Array<{ readonly file: string; readonly content: string }>;
}

/** `K=V` lines, sorted by key. Values may be secrets; the whole list then is one. */
export function envList(env: Record<string, pulumi.Input<string>>): pulumi.Output<string[]> {
    const keys = Object.keys(env).sort();
    return pulumi.all(keys.map((k) => env[k])).apply((values) => keys.map((k, i) => `${k}=${values[i]}`));
}

/** The container's name: `<prefix>-<role>`. */
export function containerName(site: LocalSite, role: string): string {
    return `${site.prefix}-${role}`;
}

/** One long-running container of the platform: resource `<name>-<role>`, a child of `parent` (the component `name`). */
export function platformContainer(name: string, site: LocalSite, args: PlatformContainerArgs, parent: pulumi.Resource): docker.Container {
    const grace = args.stopGraceSeconds;
    return new docker.Container(
        `${name}-${args.role}`,
        {
            name: containerName(site, args.role),
            hostname: args.role,
            image: args.image,
            command: args.command,
            envs: envList(args.env),
            networksAdvanced: [{ name: site.networkName, aliases: [args.role, ...(args.extraAliases ?? [])] }],
            ports: (args.ports ?? []).map((p) => ({ internal: p.internal, external: p.external, ip: site.bindAddress, protocol: "tcp" })),
            volumes: (args.volumes ?? []).map((v) => ({ volumeName: v.volumeName, containerPath: v.containerPath })),
            healthcheck: args.healthcheck,
            uploads: args.uploads?.map((u) => ({ file: u.file, content: u.content })),
            wait: args.healthcheck !== undefined,
            waitTimeout: args.healthcheck !== undefined ? DEFAULT_WAIT_SECONDS : undefined,
            restart: RESTART_POLICY,
            logDriver: "json-file",
            logOpts: LOG_OPTIONS,
            labels: dockerLabels(site.labels),
            stopSignal: grace !== undefined ? "SIGTERM" : undefined,
            stopTimeout: grace,
            destroyGraceSeconds: grace,
        },
        { parent, dependsOn: args.dependsOn, deleteBeforeReplace: true },
    );
}
