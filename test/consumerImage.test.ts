import { specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CONSUMER_CONTEXT, contextFiles, contextHash } from "../components/buildContext";
import { ConsumerImage, contextLocation, validateConsumerImage } from "../components/consumerImage";
import { ACCOUNT_ID, promiseOf, Registered, registered, REGION, settle, setupMocks } from "./support/mocks";

const KMS_KEY = `arn:aws:kms:${REGION}:${ACCOUNT_ID}:key/platform-key`;
const IMAGE = "docker-build:index:Image";

/** A throwaway build context: a Dockerfile, the job, a .dockerignore and something it ignores. */
function makeContext(files: Record<string, string> = {}): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "consumer-ctx-"));
    const all: Record<string, string> = {
        Dockerfile: "FROM python:3.11-slim\nCOPY streaming_consumer /app/streaming_consumer\n",
        ".dockerignore": "tests/\n**/__pycache__\n*.pyc\n",
        "streaming_consumer/main.py": "print('consume')\n",
        "tests/test_main.py": "def test_x():\n    pass\n",
        ...files,
    };
    for (const [rel, body] of Object.entries(all)) {
        fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
        fs.writeFileSync(path.join(dir, rel), body);
    }
    return dir;
}

const dirs: string[] = [];
function context(files: Record<string, string> = {}): string {
    const d = makeContext(files);
    dirs.push(d);
    return d;
}

function oneIn(name: string, type: string): Registered {
    const found = registered.filter((r) => r.name.startsWith(`${name}-`) && r.type === type);
    if (found.length !== 1) {
        throw new Error(`expected one ${type} under ${name}, found ${found.length}`);
    }
    return found[0];
}

const tagOf = (name: string): string => {
    const tags: string[] = oneIn(name, IMAGE).inputs.tags;
    expect(tags).toHaveLength(1);
    return tags[0].split(":").pop()!;
};

const images: Record<string, ConsumerImage> = {};

beforeAll(async () => {
    await setupMocks();
    const base = context();
    images.dev = new ConsumerImage("dev", { context: base, forceDelete: true, kmsKeyArn: KMS_KEY });
    images.prod = new ConsumerImage("prod", { context: base, forceDelete: false, keepImages: 25, kmsKeyArn: KMS_KEY });
    // The same job checked out elsewhere: identical content.
    images.copy = new ConsumerImage("copy", { context: context(), forceDelete: false, kmsKeyArn: KMS_KEY });
    // One byte of the job changed.
    images.changed = new ConsumerImage("changed", { context: context({ "streaming_consumer/main.py": "print('consumE')\n" }), forceDelete: false, kmsKeyArn: KMS_KEY });
    // Only files .dockerignore excludes changed or appeared.
    images.ignored = new ConsumerImage("ignored", {
        context: context({ "tests/test_main.py": "def test_y():\n    assert True\n", "streaming_consumer/__pycache__/main.cpython-311.pyc": "\u0000bytecode" }),
        forceDelete: false,
        kmsKeyArn: KMS_KEY,
    });
    await settle();
});

afterAll(() => {
    for (const d of dirs) {
        fs.rmSync(d, { recursive: true, force: true });
    }
});

describe("the image tag is the build context's content hash", () => {
    test("the same context gives the same tag (a preview with no change to the job shows no change)", () => {
        expect(tagOf("copy")).toBe(tagOf("dev"));
        expect(tagOf("dev")).toMatch(/^[0-9a-f]{16}$/);
        expect(images.copy.contentHash).toBe(images.dev.contentHash);
    });

    test("one changed byte in the job gives a new tag", () => {
        expect(tagOf("changed")).not.toBe(tagOf("dev"));
    });

    test("files ignored by .dockerignore do not count", () => {
        expect(tagOf("ignored")).toBe(tagOf("dev"));
    });

    test("the real job's context holds the JVM functions' sources and build script, so changing one gives a new tag", () => {
        // The Dockerfile builds the UDF jar from jvm/ with build-udfs.sh; .dockerignore must keep both in the context.
        const files = contextFiles(CONSUMER_CONTEXT);
        const java = files.filter((f) => f.startsWith("jvm/src/") && f.endsWith(".java"));
        expect(java).toEqual(expect.arrayContaining(["jvm/src/streamingconsumer/StrictScan.java", "jvm/src/streamingconsumer/IsoMicros.java"]));
        expect(files).toContain("build-udfs.sh");
        const copy = fs.mkdtempSync(path.join(os.tmpdir(), "consumer-real-ctx-"));
        dirs.push(copy);
        fs.cpSync(CONSUMER_CONTEXT, copy, { recursive: true });
        expect(contextHash(copy)).toBe(contextHash(CONSUMER_CONTEXT));
        fs.appendFileSync(path.join(copy, java[0]), "// changed\n");
        expect(contextHash(copy)).not.toBe(contextHash(CONSUMER_CONTEXT));
    });

    test("the tag is pushed to this component's repository", async () => {
        const url = await promiseOf(images.dev.repositoryUrl);
        expect(oneIn("dev", IMAGE).inputs.tags).toEqual([`${url}:${images.dev.contentHash}`]);
    });
});

describe("the ECR repository", () => {
    test("scans on push, refuses to overwrite a tag, and encrypts with the platform's KMS key", () => {
        const repo = oneIn("prod", "aws:ecr/repository:Repository").inputs;
        expect(repo.imageScanningConfiguration).toEqual({ scanOnPush: true });
        expect(repo.imageTagMutability).toBe("IMMUTABLE");
        expect(repo.encryptionConfigurations).toEqual([{ encryptionType: "KMS", kmsKey: KMS_KEY }]);
    });

    test("is force-deleted only on a disposable stack", () => {
        expect(oneIn("dev", "aws:ecr/repository:Repository").inputs.forceDelete).toBe(true);
        expect(oneIn("prod", "aws:ecr/repository:Repository").inputs.forceDelete).toBe(false);
    });

    test("keeps the newest N images (10 unless told) and expires the rest", () => {
        const policyOf = (name: string) => JSON.parse(oneIn(name, "aws:ecr/lifecyclePolicy:LifecyclePolicy").inputs.policy);
        expect(policyOf("dev").rules).toEqual([
            {
                rulePriority: 1,
                description: "Keep the newest 10 images",
                selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: 10 },
                action: { type: "expire" },
            },
        ]);
        expect(policyOf("prod").rules[0].selection.countNumber).toBe(25);
    });
});

describe("the build", () => {
    test("is for linux/amd64, pushed, and skipped in previews so they need no Docker engine", () => {
        const image = oneIn("dev", IMAGE).inputs;
        expect(image.platforms).toEqual(["linux/amd64"]);
        expect(image.push).toBe(true);
        expect(image.buildOnPreview).toBe(false);
    });

    test("pushes with ECR credentials obtained in the program, the password kept secret", () => {
        const registries = oneIn("dev", IMAGE).inputs.registries;
        // The engine receives the credentials wrapped as a secret, so they never reach the state in plain text.
        expect(registries[specialSigKey]).toBe(specialSecretSig);
        expect(registries.value).toEqual([{ address: `${ACCOUNT_ID}.dkr.ecr.${REGION}.amazonaws.com`, username: "AWS", password: "mock-password" }]);
    });

    test("stores the context relative to the project, so a laptop and CI see the same input", () => {
        expect(contextLocation("/work/repo/jobs/streaming-consumer", "/work/repo")).toBe("jobs/streaming-consumer");
        expect(contextLocation("/work/repo", "/work/repo")).toBe(".");
        expect(path.isAbsolute(oneIn("dev", IMAGE).inputs.context.location)).toBe(false);
    });

    test("imageUri pins the pushed image by digest", async () => {
        const url = await promiseOf(images.dev.repositoryUrl);
        const uri = await promiseOf(images.dev.imageUri);
        expect(uri).toMatch(new RegExp(`^${url.replace(/\./g, "\\.")}@sha256:[0-9a-f]{64}$`));
    });
});

describe("validation says what is wrong and how to fix it", () => {
    test("a build context without a Dockerfile", () => {
        const empty = fs.mkdtempSync(path.join(os.tmpdir(), "consumer-empty-"));
        dirs.push(empty);
        expect(() => validateConsumerImage(empty, 10)).toThrow(/has no Dockerfile/);
    });

    test("a lifecycle policy that would keep no image", () => {
        expect(() => validateConsumerImage(dirs[0], 0)).toThrow("keepImages must be a whole number of at least 1");
    });
});
