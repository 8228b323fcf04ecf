import ignore from "@balena/dockerignore";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";

// The consumer's build context (jobs/streaming-consumer) is identified by a hash of what Docker would send:
// every file not excluded by .dockerignore, by relative path and content. The image tag and the EMR artifact
// prefix are both this hash, so a preview with no change to the job shows no change, and any change to the
// job shows exactly one new image and one new set of artifacts.

/** Where the consumer job and its Dockerfile live. */
export const CONSUMER_CONTEXT = path.resolve(__dirname, "..", "jobs", "streaming-consumer");

/** The files Docker would send for `dir`, as sorted POSIX paths relative to it. */
export function contextFiles(dir: string): string[] {
    const ignoreFile = path.join(dir, ".dockerignore");
    const rules = fs.existsSync(ignoreFile) ? fs.readFileSync(ignoreFile, "utf8") : "";
    const ig = ignore().add(rules.split(/\r?\n/));
    const out: string[] = [];
    const walk = (rel: string): void => {
        for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
            const child = rel ? `${rel}/${entry.name}` : entry.name;
            if (ig.ignores(child)) {
                continue;
            }
            if (entry.isDirectory()) {
                walk(child);
            } else if (entry.isFile()) {
                out.push(child);
            }
        }
    };
    walk("");
    return out.sort();
}

/** A short content hash of the build context: stable across machines and checkouts, new on any byte change. */
export function contextHash(dir: string = CONSUMER_CONTEXT): string {
    const hash = crypto.createHash("sha256");
    for (const file of contextFiles(dir)) {
        // Length-prefixed path and content, so moving bytes between a name and a body cannot collide.
        const body = fs.readFileSync(path.join(dir, file));
        hash.update(`${file.length}:${file}:${body.length}:`);
        hash.update(body);
    }
    return hash.digest("hex").slice(0, 16);
}

/** One JVM dependency of the job, as listed in jvm-dependencies.txt. */
export interface JvmDependency {
    /** `group:artifact:version`. */
    readonly coordinate: string;
    /** Tagged `not-on-emr`: EMR 7 has its own S3 connector (EMRFS), so the S3A stack stays off the cluster. */
    readonly notOnEmr: boolean;
}

/** The one list of JVM dependencies the Dockerfile, the tests and the EMR engine all use. */
export function jvmDependencies(dir: string = CONSUMER_CONTEXT): JvmDependency[] {
    const file = path.join(dir, "jvm-dependencies.txt");
    return fs
        .readFileSync(file, "utf8")
        .split(/\r?\n/)
        .map((line) => line.replace(/#.*$/, "").trim())
        .filter((line) => line.length > 0)
        .map((line) => {
            const [coordinate, ...tags] = line.split(/\s+/);
            if (!/^[\w.-]+:[\w.-]+:[\w.-]+$/.test(coordinate)) {
                throw new Error(`${file}: "${coordinate}" is not a Maven coordinate group:artifact:version`);
            }
            return { coordinate, notOnEmr: tags.includes("not-on-emr") };
        });
}
