import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml } from "yaml";

// Shared by every jest file: Pulumi mocks that record what the program registers (by real type token, with the
// resource options the engine would see), a `promiseOf` for outputs, and a loader that turns a shipped stack
// file into the config the CLI would hand the program.

/** One resource as the engine would have received it. */
export interface Registered {
    readonly type: string;
    readonly name: string;
    /** The URN the engine assigned (with the parent type chain); a constructed one until registration completes. */
    readonly urn: string;
    readonly inputs: Record<string, any>;
    readonly parent: string;
    readonly provider: string;
    readonly protect: boolean;
    readonly retainOnDelete: boolean;
    readonly ignoreChanges: string[];
    readonly replaceOnChanges: string[];
    readonly deleteBeforeReplace: boolean;
    readonly custom: boolean;
    /** URNs of the resources this one explicitly depends on (`dependsOn`). */
    readonly dependencies: string[];
    /** Output properties the engine must keep secret (`additionalSecretOutputs`). */
    readonly additionalSecretOutputs: string[];
}

export const ACCOUNT_ID = "123456789012";
/** What a mocked random.RandomPassword yields: tests look for it in places a secret must never be. */
/**
 * The value the mocks give a random.RandomPassword: letters and digits like the real one (special: false), and
 * recognisable, so tests can look for it in plain inputs.
 */
export function mockGeneratedSecret(name: string, length = 32): string {
    return `MOCKSECRET${name.replace(/[^A-Za-z0-9]/g, "")}`.padEnd(length, "x");
}
export const REGION = "eu-west-1";

/** The id the mocks give a docker.RemoteImage: it follows the name (and so the pinned digest), as a real pull would. */
export function mockImageId(name: string): string {
    return `sha256:${require("crypto").createHash("sha256").update(name).digest("hex")}`;
}

/** Extra computed state a test wants a type to return (e.g. a cluster's bootstrap brokers). */
export type StateHook = (args: pulumi.runtime.MockResourceArgs) => Record<string, any> | undefined;

function defaultState(args: pulumi.runtime.MockResourceArgs): Record<string, any> {
    const [pkg, mod] = args.type.split(":");
    const service = (mod ?? "").split("/")[0];
    const state: Record<string, any> = {
        ...args.inputs,
        arn: args.inputs.arn ?? `arn:aws:${service}:${REGION}:${ACCOUNT_ID}:${args.name}`,
    };
    switch (args.type) {
        case "aws:s3/bucket:Bucket":
        case "aws:s3/bucketV2:BucketV2":
            state.bucket = args.inputs.bucket ?? `${args.name}-${ACCOUNT_ID}`;
            state.arn = `arn:aws:s3:::${state.bucket}`;
            break;
        case "aws:ec2/vpc:Vpc":
            state.cidrBlock = args.inputs.cidrBlock;
            break;
        case "aws:ec2/instance:Instance":
            state.privateDns = `ip-10-0-1-10.${REGION}.compute.internal`;
            state.privateIp = "10.0.1.10";
            break;
        case "aws:emr/cluster:Cluster":
            state.masterPublicDns = `ip-10-0-1-20.${REGION}.compute.internal`;
            state.clusterState = "WAITING";
            break;
        case "aws:kms/key:Key":
            state.keyId = `${args.name}-key-id`;
            break;
        case "aws:cloudwatch/logGroup:LogGroup":
            state.name = args.inputs.name ?? `${args.name}-abc1234`;
            state.arn = `arn:aws:logs:${REGION}:${ACCOUNT_ID}:log-group:${state.name}`;
            break;
        case "aws:emr/securityConfiguration:SecurityConfiguration":
            // Auto-named like the provider does, so a cluster's securityConfiguration (= its name) is set under mocks.
            state.name = args.inputs.name ?? `${args.name}-abc1234`;
            break;
        case "aws:msk/cluster:Cluster":
        case "aws:msk/serverlessCluster:ServerlessCluster": {
            const clusterName = args.inputs.clusterName ?? `${args.name}-abc1234`;
            state.clusterName = clusterName;
            state.clusterUuid = `${args.name}-uuid-1`;
            state.arn = `arn:aws:kafka:${REGION}:${ACCOUNT_ID}:cluster/${clusterName}/${state.clusterUuid}`;
            state.bootstrapBrokersSaslIam = `b-1.${clusterName}.kafka.${REGION}.amazonaws.com:9098,b-2.${clusterName}.kafka.${REGION}.amazonaws.com:9098`;
            break;
        }
        case "aws:msk/configuration:Configuration":
            state.arn = `arn:aws:kafka:${REGION}:${ACCOUNT_ID}:configuration/${args.inputs.name ?? args.name}/${args.name}-uuid-1`;
            state.latestRevision = 1;
            break;
        case "aws:ecr/repository:Repository":
            state.name = args.inputs.name ?? `${args.name}-abc1234`;
            state.registryId = ACCOUNT_ID;
            state.repositoryUrl = `${ACCOUNT_ID}.dkr.ecr.${REGION}.amazonaws.com/${state.name}`;
            state.arn = `arn:aws:ecr:${REGION}:${ACCOUNT_ID}:repository/${state.name}`;
            break;
        case "docker:index/remoteImage:RemoteImage":
            // An image id that follows the name (and so the pinned digest), as a real pull would.
            state.imageId = mockImageId(String(args.inputs.name));
            break;
        case "random:index/randomPassword:RandomPassword":
            // Letters and digits like the real one (special: false), and recognisable: tests look for it in plain inputs.
            state.result = mockGeneratedSecret(args.name, args.inputs.length);
            break;
        case "tls:index/privateKey:PrivateKey":
            state.privateKeyPem = `-----BEGIN RSA PRIVATE KEY-----\nMOCKPRIVATEKEY-${args.name}\n-----END RSA PRIVATE KEY-----\n`;
            state.publicKeyPem = `-----BEGIN PUBLIC KEY-----\nMOCKPUBLICKEY-${args.name}\n-----END PUBLIC KEY-----\n`;
            break;
        case "tls:index/selfSignedCert:SelfSignedCert":
        case "tls:index/locallySignedCert:LocallySignedCert":
            state.certPem = `-----BEGIN CERTIFICATE-----\nMOCKCERT-${args.name}\n-----END CERTIFICATE-----\n`;
            // Recorded once at creation by the real provider; a fixed value here.
            state.validityEndTime = "2027-01-01T00:00:00Z";
            break;
        case "tls:index/certRequest:CertRequest":
            state.certRequestPem = `-----BEGIN CERTIFICATE REQUEST-----\nMOCKCSR-${args.name}\n-----END CERTIFICATE REQUEST-----\n`;
            break;
        case "aws:secretsmanager/secret:Secret":
            state.arn = `arn:aws:secretsmanager:${REGION}:${ACCOUNT_ID}:secret:${args.name}-AbCdEf`;
            break;
        case "aws:secretsmanager/secretVersion:SecretVersion":
            // AWS's version ids are UUIDs; one per content, as a new value gets a new version.
            state.versionId = require("crypto").createHash("sha256").update(JSON.stringify(args.inputs)).digest("hex").slice(0, 32);
            break;
        case "aws:eks/cluster:Cluster": {
            // What EKS reports for a cluster: its endpoint, CA and OIDC issuer (IRSA trust policies name the issuer).
            const clusterName = args.inputs.name ?? `${args.name}-abc1234`;
            state.name = clusterName;
            state.arn = `arn:aws:eks:${REGION}:${ACCOUNT_ID}:cluster/${clusterName}`;
            state.endpoint = `https://MOCKENDPOINT.gr7.${REGION}.eks.amazonaws.com`;
            state.certificateAuthority = { data: Buffer.from(`MOCKCA-${clusterName}`).toString("base64") };
            state.identities = [{ oidcs: [{ issuer: `https://oidc.eks.${REGION}.amazonaws.com/id/MOCKOIDC${clusterName.replace(/[^A-Za-z0-9]/g, "").toUpperCase()}` }] }];
            break;
        }
        case "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
            state.arn = `arn:aws:iam::${ACCOUNT_ID}:oidc-provider/${String(args.inputs.url).replace(/^https:\/\//, "")}`;
            break;
        case "aws:iam/role:Role":
            state.name = args.inputs.name ?? `${args.name}-abc1234`;
            state.arn = `arn:aws:iam::${ACCOUNT_ID}:role/${state.name}`;
            break;
        case "aws:ec2/launchTemplate:LaunchTemplate":
            state.latestVersion = 1;
            break;
        case "docker-build:index:Image":
            // A registry digest that follows the tags, as a real push of a different build would.
            state.digest = `sha256:${require("crypto").createHash("sha256").update(JSON.stringify(args.inputs.tags ?? [])).digest("hex")}`;
            break;
        default:
            break;
    }
    if (pkg === "aws" && state.tags && !state.tagsAll) {
        state.tagsAll = state.tags;
    }
    return state;
}

/** Outputs of data sources (invokes) the program calls. */
function invokeResult(args: pulumi.runtime.MockCallArgs): Record<string, any> {
    switch (args.token) {
        case "aws:index/getAvailabilityZones:getAvailabilityZones":
            return { names: [`${REGION}a`, `${REGION}b`, `${REGION}c`], zoneIds: ["euw1-az1", "euw1-az2", "euw1-az3"] };
        case "aws:index/getCallerIdentity:getCallerIdentity":
            return { accountId: ACCOUNT_ID, arn: `arn:aws:iam::${ACCOUNT_ID}:user/test`, userId: "test" };
        case "aws:index/getRegion:getRegion":
            return { name: REGION, region: REGION, id: REGION };
        case "aws:index/getPartition:getPartition":
            return { partition: "aws", dnsSuffix: "amazonaws.com" };
        case "aws:ec2/getAmi:getAmi":
            return { id: "ami-0123456789abcdef0", imageId: "ami-0123456789abcdef0", architecture: "x86_64" };
        case "aws:ssm/getParameter:getParameter":
            return { value: "ami-0123456789abcdef0", name: args.inputs.name, type: "String" };
        case "aws:ec2/getInstances:getInstances":
            return { ids: ["i-0123456789abcdef0"], privateIps: ["10.0.1.20"], publicIps: [] };
        case "aws:index/getDefaultTags:getDefaultTags":
            // What a component's provider carries (components/tags.ts); the mocks cannot see the real provider.
            return { id: "default-tags", tags: { project: "spark-streaming", stack: "test", component: "mock" } };
        case "aws:ecr/getAuthorizationToken:getAuthorizationToken":
            return { userName: "AWS", password: "mock-password", proxyEndpoint: `https://${ACCOUNT_ID}.dkr.ecr.${REGION}.amazonaws.com` };
        default:
            return args.inputs;
    }
}

/** What the mocks have seen so far, in registration order. */
export const registered: Registered[] = [];
/** The data sources (invokes) the program called, by token. */
export const invoked: string[] = [];

/**
 * Installs the mocks and starts recording. Call in `beforeAll` (or at the top of a file) before importing the
 * code under test. `hook` adds computed state for types a test cares about.
 */
export async function setupMocks(opts: { stack?: string; project?: string; preview?: boolean; hook?: StateHook } = {}): Promise<void> {
    registered.length = 0;
    invoked.length = 0;
    await pulumi.runtime.setMocks(
        {
            newResource(args) {
                const extra = opts.hook?.(args) ?? {};
                return { id: args.inputs.name ?? `${args.name}-id`, state: { ...defaultState(args), ...extra } };
            },
            call(args) {
                invoked.push(args.token);
                return invokeResult(args);
            },
        },
        opts.project ?? "spark-streaming",
        opts.stack ?? "test",
        opts.preview ?? false,
    );
    // The mock monitor hides resource options from `newResource`; wrap it to record what the engine would see
    // (protect, retainOnDelete, parent, provider) so tests can assert destroy behaviour and parenting.
    const monitor = (pulumi.runtime as any).getMonitor();
    const original = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, callback: any) => {
        const { deserializeProperties } = require("@pulumi/pulumi/runtime/rpc");
        const entry: { -readonly [K in keyof Registered]: Registered[K] } = {
            type: req.getType(),
            name: req.getName(),
            urn: `urn:pulumi:${opts.stack ?? "test"}::${opts.project ?? "spark-streaming"}::${req.getType()}::${req.getName()}`,
            inputs: deserializeProperties(req.getObject()),
            parent: req.getParent(),
            provider: req.getProvider(),
            protect: req.getProtect(),
            retainOnDelete: req.getRetainondelete(),
            ignoreChanges: req.getIgnorechangesList(),
            replaceOnChanges: req.getReplaceonchangesList(),
            deleteBeforeReplace: req.getDeletebeforereplace(),
            custom: req.getCustom(),
            dependencies: req.getDependenciesList(),
            additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
        };
        registered.push(entry);
        return original(req, (err: any, resp: any) => {
            // The URN the engine assigns (with the parent type chain): what `dependencies` and `parent` refer to.
            if (!err && resp) {
                entry.urn = resp.getUrn();
            }
            callback(err, resp);
        });
    };
}

/** Every recorded resource of one type token, e.g. `aws:s3/bucket:Bucket`. */
export function ofType(type: string): Registered[] {
    return registered.filter((r) => r.type === type);
}

/** The one recorded resource of a type (optionally whose name ends with `suffix`); fails if there is not exactly one. */
export function one(type: string, suffix?: string): Registered {
    const found = ofType(type).filter((r) => suffix === undefined || r.name.endsWith(suffix));
    if (found.length !== 1) {
        throw new Error(`expected exactly one ${type}${suffix ? ` named *${suffix}` : ""}, found ${found.length}: ${found.map((r) => r.name).join(", ")}`);
    }
    return found[0];
}

/** Awaits an Output's value (undefined while unknown). */
export function promiseOf<T>(output: pulumi.Output<T> | pulumi.Input<T>): Promise<T> {
    return new Promise((resolve) => pulumi.output(output).apply((v) => resolve(v as T)));
}

/** Waits until every resource registration started so far has reached the mock monitor. */
export async function settle(): Promise<void> {
    for (let i = 0; i < 5; i++) {
        await new Promise((r) => setImmediate(r));
        await new Promise((r) => setTimeout(r, 10));
    }
}

/**
 * Waits until registrations stop arriving, even when the program failed: resources declared late (after an
 * invoke) belong in the list, and one arriving after the test file ends crashes jest instead of failing it.
 */
export async function settleRegistrations(): Promise<void> {
    for (let stable = 0, seen = -1, round = 0; stable < 3 && round < 100; round++) {
        await settle();
        stable = registered.length === seen ? stable + 1 : 0;
        seen = registered.length;
    }
}

const ROOT = path.resolve(__dirname, "..", "..");

/**
 * The config the CLI hands the program for a shipped stack: Pulumi.yaml's declared defaults, overridden by
 * `Pulumi.<stack>.yaml`, keys namespaced by project, objects as JSON strings.
 */
export function stackConfig(stack: string): Record<string, string> {
    const project = parseYaml(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"));
    const stackFile = path.join(ROOT, `Pulumi.${stack}.yaml`);
    const stackYaml = parseYaml(fs.readFileSync(stackFile, "utf8")) ?? {};
    const qualify = (key: string) => (key.includes(":") ? key : `${project.name}:${key}`);
    const out: Record<string, string> = {};
    for (const [key, decl] of Object.entries<any>(project.config ?? {})) {
        const value = decl !== null && typeof decl === "object" ? (decl.default ?? decl.value) : decl;
        if (value !== undefined) {
            out[qualify(key)] = typeof value === "string" ? value : JSON.stringify(value);
        }
    }
    for (const [key, value] of Object.entries<any>(stackYaml.config ?? {})) {
        if (value !== null && typeof value === "object" && "secure" in value) {
            throw new Error(`${stackFile}: ${key} is a secret; program tests run without the stack's secrets provider`);
        }
        out[qualify(key)] = typeof value === "string" ? value : JSON.stringify(value);
    }
    return out;
}

/**
 * Loads a shipped stack file as the program's config (call before importing index.ts). `overrides` replaces keys
 * (project-qualified, e.g. `spark-streaming:engine`), to run a stack with the other engine.
 */
export function useStackConfig(stack: string, overrides: Record<string, string> = {}, secrets: Record<string, string> = {}): void {
    // The CLI decrypts secrets into the same map and lists their keys separately (PULUMI_CONFIG_SECRET_KEYS), which is
    // how getSecret/requireSecret know to wrap them: `secrets` are handed over exactly that way.
    pulumi.runtime.setAllConfig({ ...stackConfig(stack), ...overrides, ...secrets }, Object.keys(secrets));
}

/** Whether a recorded input is a Pulumi secret (the engine's wire form of `pulumi.secret(...)`). */
export function isSecret(value: unknown): value is { value: unknown } {
    return value !== null && typeof value === "object" && (value as Record<string, unknown>)["4dabf18193072939515e22adb298388d"] === "1b47061264138c4ac30d75fd1eb44270";
}
