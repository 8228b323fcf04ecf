#!/usr/bin/env node
// Prints what the ec2 engine declares for its hosts and the consumer, from the whole program run under Pulumi mocks
// with a shipped stack file (engine ec2), as JSON: the master's and a worker's user data, the SSM deploy command and
// the parameters the association hands it (the consumer's env and job flags decoded, as the command writes them), and
// the stack outputs. For the test that runs the consumer exactly as the master would
// (jobs/streaming-consumer/tests/test_ec2_consumer.py):
//   node scripts/render-ec2-consumer.js [stack]
// The TypeScript is transpiled on the fly (scripts/ts-require.js), nothing is built.
"use strict";
const path = require("path");
require("./ts-require");

const root = path.join(__dirname, "..");
process.chdir(root);
const { runProgram } = require(path.join(root, "test", "support", "program.ts"));
const { registered } = require(path.join(root, "test", "support", "mocks.ts"));
const userData = require(path.join(root, "components", "ec2", "userData.ts"));
const security = require(path.join(root, "components", "ec2", "sparkSecurity.ts"));
const { DEPLOY_PARAMETERS } = require(path.join(root, "components", "ec2", "deployCommand.ts"));

const decode = (b64) => Buffer.from(b64, "base64").toString("utf8");

async function main() {
    const stack = process.argv[2] || "dev";
    const outputs = await runProgram(stack, undefined, { "spark-streaming:engine": "ec2" });
    const only = (type) => {
        const found = registered.filter((r) => r.type === type);
        if (found.length !== 1) {
            throw new Error(`expected one ${type}, found ${found.length}`);
        }
        return found[0].inputs;
    };
    const params = only("aws:ssm/association:Association").parameters;
    const document = JSON.parse(only("aws:ssm/document:Document").content);
    process.stdout.write(
        JSON.stringify({
            masterUserData: only("aws:ec2/instance:Instance").userData,
            workerUserData: decode(only("aws:ec2/launchTemplate:LaunchTemplate").userData),
            deployScript: document.mainSteps[0].inputs.runCommand.join("\n"),
            deployParameters: {
                imageUri: params[DEPLOY_PARAMETERS.imageUri],
                securityRevision: params[DEPLOY_PARAMETERS.securityRevision],
                consumerEnv: decode(params[DEPLOY_PARAMETERS.consumerEnv]),
                consumerArgs: decode(params[DEPLOY_PARAMETERS.consumerArgs]),
            },
            confDir: userData.CONF_DIR,
            runner: userData.RUNNER,
            runDir: security.RUN_DIR,
            tlsUiPorts: security.TLS_UI_PORTS,
            outputs,
        }),
    );
}

main().catch((e) => {
    process.stderr.write(`${e.stack || e}\n`);
    process.exit(1);
});
