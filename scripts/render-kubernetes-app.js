#!/usr/bin/env node
// Prints what the kubernetes engine declares for the consumer, from the whole program run under Pulumi mocks with a
// shipped stack file and engine kubernetes, as JSON: the SparkApplication and the driver UI Service (their inputs as
// the engine receives them) and the stack outputs. For the test that runs the job the way the SparkApplication
// describes it (jobs/streaming-consumer/tests/test_kubernetes_app.py):
//   node scripts/render-kubernetes-app.js [stack]
// The TypeScript is transpiled on the fly (scripts/ts-require.js), nothing is built.
"use strict";
const path = require("path");
require("./ts-require");

const root = path.join(__dirname, "..");
process.chdir(root);
const { runProgram } = require(path.join(root, "test", "support", "program.ts"));
const { registered } = require(path.join(root, "test", "support", "mocks.ts"));

async function main() {
    const stack = process.argv[2] || "dev";
    const outputs = await runProgram(stack, undefined, { "spark-streaming:engine": "kubernetes" });
    const only = (type) => {
        const found = registered.filter((r) => r.type === type);
        if (found.length !== 1) {
            throw new Error(`expected one ${type}, found ${found.length}`);
        }
        return found[0].inputs;
    };
    const plainOutputs = {};
    for (const [k, v] of Object.entries(outputs)) {
        if (k !== "kubeconfig") {
            plainOutputs[k] = v;
        }
    }
    process.stdout.write(
        JSON.stringify({
            sparkApplication: only("kubernetes:sparkoperator.k8s.io/v1beta2:SparkApplication"),
            uiService: registered.find((r) => r.type === "kubernetes:core/v1:Service").inputs,
            outputs: plainOutputs,
        }),
    );
}

main().catch((e) => {
    process.stderr.write(`${e.stack || e}\n`);
    process.exit(1);
});
