import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as path from "path";

// moto's server on 127.0.0.1, for tests that talk to a real AWS API over HTTP. Missing moto is a failure, not
// a skip: CI installs it into the project's venv (.venv), and a silently skipped API test proves nothing.

const ROOT = path.resolve(__dirname, "..", "..");

/** `moto_server` from the project's venv first, then from PATH. Throws, saying how to install it, if neither has one. */
export function findMotoServer(): string {
    const venv = path.join(ROOT, ".venv", "bin", "moto_server");
    if (fs.existsSync(venv)) {
        return venv;
    }
    for (const dir of (process.env.PATH ?? "").split(path.delimiter).filter(Boolean)) {
        const candidate = path.join(dir, "moto_server");
        if (fs.existsSync(candidate)) {
            return candidate;
        }
    }
    throw new Error(
        `moto_server was found neither in ${path.dirname(venv)} nor on PATH; install it with ` +
            `\`.venv/bin/pip install 'moto[server]'\` (or \`pip install 'moto[server]'\`) and run the tests again`,
    );
}

function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.unref();
        srv.on("error", reject);
        srv.listen(0, "127.0.0.1", () => {
            const port = (srv.address() as net.AddressInfo).port;
            srv.close(() => resolve(port));
        });
    });
}

function ping(url: string): Promise<boolean> {
    return new Promise((resolve) => {
        const req = http.get(url, (res) => {
            res.resume();
            resolve(true);
        });
        req.on("error", () => resolve(false));
        req.setTimeout(1000, () => {
            req.destroy();
            resolve(false);
        });
    });
}

export interface MotoServer {
    /** `http://127.0.0.1:<port>`, for an SDK client's `endpoint`. */
    readonly endpoint: string;
    /** Stops this server (only the process this helper started). */
    stop(): Promise<void>;
}

/** Starts moto's server on a free local port and waits until it answers. */
export async function startMotoServer(timeoutMs = 30_000): Promise<MotoServer> {
    const bin = findMotoServer();
    const port = await freePort();
    const endpoint = `http://127.0.0.1:${port}`;
    const child: ChildProcess = spawn(bin, ["-H", "127.0.0.1", "-p", String(port)], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr?.on("data", (d) => (stderr = (stderr + d.toString()).slice(-4000)));
    let exited = false;
    child.on("exit", () => (exited = true));

    const deadline = Date.now() + timeoutMs;
    while (!(await ping(`${endpoint}/moto-api/`))) {
        if (exited || Date.now() > deadline) {
            child.kill("SIGTERM");
            throw new Error(`moto_server (${bin}) did not come up on ${endpoint} within ${timeoutMs / 1000}s:\n${stderr}`);
        }
        await new Promise((r) => setTimeout(r, 200));
    }
    return {
        endpoint,
        stop: () =>
            new Promise<void>((resolve) => {
                if (exited) {
                    resolve();
                    return;
                }
                child.once("exit", () => resolve());
                child.kill("SIGTERM");
            }),
    };
}
