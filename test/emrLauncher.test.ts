import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LAUNCHER_SCRIPT, launcherStepArgs } from "../components/emr/cluster";
import { shellcheckFile } from "./support/shellcheck";

// The EMR step's launcher (components/emr/run-consumer.sh) run for real by bash, against a stand-in YARN whose
// state is a file (`yarn application -list` reads it, `-kill` marks an application to die after a few more
// listings, as a real kill takes a while) and a stand-in spark-submit that registers a RUNNING application under
// its --name and lives until YARN kills it. Every call lands in a log, in order.

const NAME = "events-consumer";
const OLD = "application_1700000000000_0001";
/** Every wait in this file ends by then; a hung launcher fails the test instead of hanging the run. */
const BOUND_MS = 20_000;

const FAKE_YARN = `#!/bin/bash
set -euo pipefail
state=$FAKE_YARN_STATE
exec 9>"$state.lock"
flock 9
case "$1 $2" in
"application -list")
    echo "INFO client.DefaultNoHARMFailoverProxyProvider: Connecting to ResourceManager at fake:8032" >&2
    # A kill takes effect after FAKE_KILL_LAG listings: the caller has to poll, not trust the kill.
    tmp=$(mktemp "$state.XXXXXX")
    awk -F'\\t' -v OFS='\\t' -v calllog="$FAKE_CALL_LOG" '
        $3 == "KILLING" { if ($4 <= 1) { $3 = "KILLED"; $4 = 0; print "gone " $1 >> calllog } else { $4 = $4 - 1 } }
        { print }' "$state" > "$tmp"
    mv "$tmp" "$state"
    echo "list $4" >> "$FAKE_CALL_LOG"
    echo "Total number of applications (application-types: [], states: [$4] and tags: []):?"
    printf '%30s\\t%20s\\t%20s\\t%10s\\t%10s\\t%18s\\t%18s\\t%15s\\t%35s\\n' Application-Id Application-Name Application-Type User Queue State Final-State Progress Tracking-URL
    while IFS=$'\\t' read -r id name st _; do
        shown=$st
        [ "$st" = KILLING ] && shown=RUNNING
        case ",$4," in
        *",$shown,"*) printf '%30s\\t%20s\\t%20s\\t%10s\\t%10s\\t%18s\\t%18s\\t%15s\\t%35s\\n' "$id" "$name" SPARK hadoop default "$shown" UNDEFINED 10% "http://ip-10-0-1-20:20888/proxy/$id/" ;;
        esac
    done < "$state"
    ;;
"application -kill")
    echo "kill $3" >> "$FAKE_CALL_LOG"
    if [ "\${FAKE_YARN_IGNORE_KILL:-0}" = 1 ]; then
        exit 0
    fi
    tmp=$(mktemp "$state.XXXXXX")
    awk -F'\\t' -v OFS='\\t' -v id="$3" -v lag="\${FAKE_KILL_LAG:-2}" '
        $1 == id && $3 ~ /^(NEW|NEW_SAVING|SUBMITTED|ACCEPTED|RUNNING)$/ { $3 = "KILLING"; $4 = lag }
        { print }' "$state" > "$tmp"
    mv "$tmp" "$state"
    ;;
*)
    echo "fake yarn: unexpected $*" >&2
    exit 64
    ;;
esac
`;

const FAKE_SPARK_SUBMIT = `#!/bin/bash
set -euo pipefail
printf '%s\\0' "$@" > "$FAKE_SUBMIT_ARGS"
name=""
while [ "$#" -gt 0 ]; do
    if [ "$1" = --name ]; then name=$2; shift; fi
    shift
done
state=$FAKE_YARN_STATE
exec 9>"$state.lock"
flock 9
live=$(awk -F'\\t' -v n="$name" '$2 == n && $3 != "KILLED" && $3 != "FINISHED" && $3 != "FAILED" { print $1 }' "$state" | paste -sd, -)
echo "spark-submit name=$name live-at-start=$live" >> "$FAKE_CALL_LOG"
if [ -n "\${FAKE_SUBMIT_EXIT:-}" ]; then
    exit "$FAKE_SUBMIT_EXIT"
fi
id=$(printf 'application_1700000000001_%04d' "$(( $(wc -l < "$state") + 1 ))")
printf '%s\\t%s\\tRUNNING\\t0\\n' "$id" "$name" >> "$state"
flock -u 9
echo "submitted $id" >> "$FAKE_CALL_LOG"
# Like spark-submit with waitAppCompletion: it returns when the application ends (bounded here).
for _ in $(seq 300); do
    awk -F'\\t' -v id="$id" '$1 == id && ($3 == "RUNNING" || $3 == "KILLING") { found = 1 } END { exit !found }' "$state" || {
        echo "spark-submit saw $id end" >> "$FAKE_CALL_LOG"
        exit 1
    }
    sleep 0.1
done
exit 99
`;

/** `aws s3 cp [--only-show-errors] s3://bucket/key dest` from a local folder standing in for S3. */
const FAKE_AWS = `#!/bin/bash
set -euo pipefail
[ "$1 $2" = "s3 cp" ] || { echo "fake aws: unexpected $*" >&2; exit 64; }
shift 2
[ "$1" = --only-show-errors ] && shift
echo "aws s3 cp $1" >> "$FAKE_CALL_LOG"
cp "$FAKE_S3_ROOT/\${1#s3://}" "$2"
`;

interface App {
    id: string;
    name: string;
    state: string;
}

interface Sandbox {
    dir: string;
    env: NodeJS.ProcessEnv;
    /** The call log, one line per call, in order. */
    calls(): string[];
    /** The stand-in YARN's applications now. */
    apps(): App[];
    /** The arguments the stand-in spark-submit received. */
    submitArgs(): string[];
}

const sandboxes: string[] = [];
const children: ChildProcess[] = [];

afterEach(() => {
    for (const c of children.splice(0)) {
        if (c.exitCode === null && c.signalCode === null) {
            c.kill("SIGKILL");
        }
    }
});

afterAll(() => {
    // A stand-in spark-submit orphaned by a failed test exits once its state file is gone.
    for (const dir of sandboxes) {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

function sandbox(apps: App[], env: Record<string, string> = {}): Sandbox {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "emr-launcher-"));
    sandboxes.push(dir);
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    for (const [file, body] of [["yarn", FAKE_YARN], ["spark-submit", FAKE_SPARK_SUBMIT], ["aws", FAKE_AWS]]) {
        fs.writeFileSync(path.join(bin, file), body, { mode: 0o755 });
    }
    const state = path.join(dir, "yarn-state.tsv");
    fs.writeFileSync(state, apps.map((a) => `${a.id}\t${a.name}\t${a.state}\t0\n`).join(""));
    const log = path.join(dir, "calls.log");
    fs.writeFileSync(log, "");
    const submitArgs = path.join(dir, "submit-args");
    return {
        dir,
        env: {
            PATH: `${bin}:${process.env.PATH}`,
            TMPDIR: dir,
            YARN_BIN: path.join(bin, "yarn"),
            SPARK_SUBMIT_BIN: path.join(bin, "spark-submit"),
            POLL_SECONDS: "0.1",
            STOP_TIMEOUT_SECONDS: "10",
            KILL_TIMEOUT_SECONDS: "5",
            FAKE_YARN_STATE: state,
            FAKE_CALL_LOG: log,
            FAKE_SUBMIT_ARGS: submitArgs,
            FAKE_S3_ROOT: path.join(dir, "s3"),
            ...env,
        },
        calls: () => fs.readFileSync(log, "utf8").split("\n").filter((l) => l !== ""),
        apps: () =>
            fs
                .readFileSync(state, "utf8")
                .split("\n")
                .filter((l) => l !== "")
                .map((l) => {
                    const [id, name, st] = l.split("\t");
                    return { id, name, state: st };
                }),
        submitArgs: () => (fs.existsSync(submitArgs) ? fs.readFileSync(submitArgs, "utf8").split("\0").slice(0, -1) : []),
    };
}

interface Exit {
    code: number | null;
    signal: NodeJS.Signals | null;
    stderr: string;
    /** The stand-in YARN's applications at the moment the process exited. */
    appsAtExit: App[];
}

interface Running {
    child: ChildProcess;
    exited: Promise<Exit>;
}

/** Starts `bash <args>` in the sandbox; `exited` rejects if it is still running after BOUND_MS. */
function start(box: Sandbox, args: string[]): Running {
    const child = spawn("bash", args, { env: box.env, stdio: ["ignore", "ignore", "pipe"] });
    children.push(child);
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += d));
    const exited = new Promise<Exit>((resolve, reject) => {
        const timer = setTimeout(() => {
            child.kill("SIGKILL");
            reject(new Error(`still running after ${BOUND_MS} ms; calls so far:\n${box.calls().join("\n")}\nstderr:\n${stderr}`));
        }, BOUND_MS);
        child.on("exit", (code, signal) => {
            clearTimeout(timer);
            const appsAtExit = box.apps();
            // stderr may still be draining; 'close' follows 'exit' once it has.
            child.on("close", () => resolve({ code, signal, stderr, appsAtExit }));
        });
    });
    return { child, exited };
}

function launch(box: Sandbox, submitArgs: string[] = ["--deploy-mode", "cluster", "s3://b/main.py"]): Running {
    return start(box, [LAUNCHER_SCRIPT, NAME, ...submitArgs]);
}

/** Polls until the call log has a line matching `re`, bounded. */
async function waitForCall(box: Sandbox, re: RegExp): Promise<string> {
    const deadline = Date.now() + BOUND_MS;
    for (;;) {
        const hit = box.calls().find((l) => re.test(l));
        if (hit !== undefined) {
            return hit;
        }
        if (Date.now() > deadline) {
            throw new Error(`no call matching ${re} within ${BOUND_MS} ms; calls:\n${box.calls().join("\n")}`);
        }
        await new Promise((r) => setTimeout(r, 50));
    }
}

const indexOf = (calls: string[], re: RegExp): number => calls.findIndex((l) => re.test(l));

describe("run-consumer.sh", () => {
    test("passes shellcheck", () => {
        expect(shellcheckFile(LAUNCHER_SCRIPT)).toEqual({ status: 0, output: "" });
    });

    test("kills the applications already running or queued under the name, and submits only once they are gone", async () => {
        const queued = "application_1700000000000_0002";
        const box = sandbox(
            [
                { id: OLD, name: NAME, state: "RUNNING" },
                { id: queued, name: NAME, state: "ACCEPTED" },
            ],
            { FAKE_SUBMIT_EXIT: "0" },
        );
        const result = await launch(box).exited;
        expect(result.code).toBe(0);

        const calls = box.calls();
        const submitAt = indexOf(calls, /^spark-submit /);
        expect(submitAt).toBeGreaterThan(0);
        for (const id of [OLD, queued]) {
            expect(indexOf(calls, new RegExp(`^kill ${id}$`))).toBeGreaterThanOrEqual(0);
            // The kill took a few listings to take effect; the launcher waited for it.
            expect(indexOf(calls, new RegExp(`^gone ${id}$`))).toBeGreaterThan(indexOf(calls, new RegExp(`^kill ${id}$`)));
            expect(indexOf(calls, new RegExp(`^gone ${id}$`))).toBeLessThan(submitAt);
        }
        expect(calls[submitAt]).toBe(`spark-submit name=${NAME} live-at-start=`);
        expect(calls.filter((l) => l.startsWith("list "))).toContain("list NEW,NEW_SAVING,SUBMITTED,ACCEPTED,RUNNING");
    });

    test("SIGTERM kills the YARN application and exits non-zero only once the application is gone", async () => {
        const box = sandbox([]);
        const run = launch(box);
        const submitted = await waitForCall(box, /^submitted /);
        const id = submitted.split(" ")[1];

        run.child.kill("SIGTERM");
        const result = await run.exited;

        expect(result.code).toBe(143);
        expect(box.calls()).toContain(`kill ${id}`);
        // KILLING turns into KILLED only when someone lists again: the launcher polled until it saw it gone.
        expect(result.appsAtExit).toEqual([{ id, name: NAME, state: "KILLED" }]);
        expect(result.stderr).toMatch(new RegExp(`received SIGTERM[\\s\\S]*killing YARN application ${id}[\\s\\S]*is gone; exiting`));
    });

    test("SIGINT stops the application the same way", async () => {
        const box = sandbox([]);
        const run = launch(box);
        const id = (await waitForCall(box, /^submitted /)).split(" ")[1];
        run.child.kill("SIGINT");
        const result = await run.exited;
        expect(result.code).toBe(130);
        expect(result.appsAtExit).toEqual([{ id, name: NAME, state: "KILLED" }]);
    });

    test("applications with other names, or the same name only as a prefix, are never touched", async () => {
        const others: App[] = [
            { id: "application_1700000000000_0003", name: "other-app", state: "RUNNING" },
            { id: "application_1700000000000_0004", name: `${NAME}-2`, state: "RUNNING" },
            { id: "application_1700000000000_0005", name: "events", state: "ACCEPTED" },
        ];
        const box = sandbox([{ id: OLD, name: NAME, state: "RUNNING" }, ...others]);
        const run = launch(box);
        const id = (await waitForCall(box, /^submitted /)).split(" ")[1];
        run.child.kill("SIGTERM");
        const result = await run.exited;

        expect(result.code).toBe(143);
        // A kill is repeated while the application lingers; only ever for these two.
        expect([...new Set(box.calls().filter((l) => l.startsWith("kill ")))].sort()).toEqual([`kill ${OLD}`, `kill ${id}`].sort());
        for (const other of others) {
            expect(result.appsAtExit).toContainEqual(other);
        }
    });

    test("a kill that never takes effect fails the launcher after the timeout, naming the application, without submitting", async () => {
        const box = sandbox([{ id: OLD, name: NAME, state: "RUNNING" }], { FAKE_YARN_IGNORE_KILL: "1", STOP_TIMEOUT_SECONDS: "1" });
        const started = Date.now();
        const result = await launch(box).exited;

        expect(result.code).toBe(1);
        expect(result.stderr).toContain(`error: YARN application(s) ${OLD} named ${NAME} still live 1s after being killed`);
        expect(box.calls()).toContain(`kill ${OLD}`);
        expect(indexOf(box.calls(), /^spark-submit /)).toBe(-1);
        expect(Date.now() - started).toBeLessThan(10_000);
    });

    test("even with no time left, the launcher asks YARN to kill before it gives up", async () => {
        const box = sandbox([{ id: OLD, name: NAME, state: "RUNNING" }], { FAKE_YARN_IGNORE_KILL: "1", STOP_TIMEOUT_SECONDS: "0" });
        const result = await launch(box).exited;
        expect(result.code).toBe(1);
        expect(box.calls().slice(0, 2)).toEqual(["list NEW,NEW_SAVING,SUBMITTED,ACCEPTED,RUNNING", `kill ${OLD}`]);
    });

    test("hands spark-submit the name, waitAppCompletion and every argument verbatim, and exits with its status", async () => {
        const box = sandbox([], { FAKE_SUBMIT_EXIT: "7" });
        const args = ["--deploy-mode", "cluster", "s3://b/main.py", "--trigger-interval", "30 seconds", "--ensure-topics", '[{"name":"events","partitions":6}]'];
        const result = await launch(box, args).exited;
        expect(result.code).toBe(7);
        expect(box.submitArgs()).toEqual(["--name", NAME, "--conf", "spark.yarn.submit.waitAppCompletion=true", ...args]);
    });

    test("refuses to run without an application name and spark-submit arguments", async () => {
        const box = sandbox([]);
        const result = await start(box, [LAUNCHER_SCRIPT, NAME]).exited;
        expect(result.code).toBe(2);
        expect(result.stderr).toContain("usage:");
        expect(box.calls()).toEqual([]);
    });
});

describe("the step's command (command-runner.jar bash -c ...)", () => {
    test("fetches the launcher from S3 and execs it, so EMR's SIGTERM to the step's process reaches its trap", async () => {
        const box = sandbox([]);
        const key = "lake/artifacts/streaming-consumer/0123456789abcdef/run-consumer.sh";
        fs.mkdirSync(path.dirname(path.join(box.env.FAKE_S3_ROOT!, key)), { recursive: true });
        fs.copyFileSync(LAUNCHER_SCRIPT, path.join(box.env.FAKE_S3_ROOT!, key));
        // The stand-ins are found on PATH under their real names, as on the master.
        delete box.env.YARN_BIN;
        delete box.env.SPARK_SUBMIT_BIN;

        const stepArgs = launcherStepArgs(`s3://${key}`, NAME, ["--deploy-mode", "cluster", "s3://b/main.py", "--topic", "a b"], 180);
        expect(stepArgs[0]).toBe("bash");
        const run = start(box, stepArgs.slice(1));
        const id = (await waitForCall(box, /^submitted /)).split(" ")[1];
        expect(box.calls()[0]).toBe(`aws s3 cp s3://${key}`);
        expect(box.submitArgs()).toEqual(["--name", NAME, "--conf", "spark.yarn.submit.waitAppCompletion=true", "--deploy-mode", "cluster", "s3://b/main.py", "--topic", "a b"]);

        // The pid command-runner started is the one EMR signals.
        run.child.kill("SIGTERM");
        const result = await run.exited;
        expect(result.code).toBe(143);
        expect(result.appsAtExit).toEqual([{ id, name: NAME, state: "KILLED" }]);
    });

    test("hands the launcher the consumer's stop timeout as its wait for the cancelled application", async () => {
        const box = sandbox([{ id: OLD, name: NAME, state: "RUNNING" }], { FAKE_YARN_IGNORE_KILL: "1" });
        const key = "lake/artifacts/streaming-consumer/0123456789abcdef/run-consumer.sh";
        fs.mkdirSync(path.dirname(path.join(box.env.FAKE_S3_ROOT!, key)), { recursive: true });
        fs.copyFileSync(LAUNCHER_SCRIPT, path.join(box.env.FAKE_S3_ROOT!, key));
        delete box.env.STOP_TIMEOUT_SECONDS;
        // An application that ignores the kill: the launcher gives up only after the stop timeout it was given.
        const result = await start(box, launcherStepArgs(`s3://${key}`, NAME, ["s3://b/main.py"], 2).slice(1)).exited;
        expect(result.code).toBe(1);
        expect(result.stderr).toContain("still live 2s after being killed");
        expect(() => launcherStepArgs(`s3://${key}`, NAME, [], 0)).toThrow(/positive whole number of seconds/);
    });

    test("fails the step when the launcher cannot be fetched, without submitting anything", async () => {
        const box = sandbox([]);
        const result = await start(box, launcherStepArgs("s3://lake/missing/run-consumer.sh", NAME, ["s3://b/main.py"], 180).slice(1)).exited;
        expect(result.code).not.toBe(0);
        expect(indexOf(box.calls(), /^spark-submit /)).toBe(-1);
    });
});
