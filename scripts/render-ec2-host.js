#!/usr/bin/env node
// Prints the ec2 engine's rendered host scripts as JSON, for the tests that run them for real
// (jobs/streaming-consumer/tests/test_secure_cluster.py): `node scripts/render-ec2-host.js '<options json>'`.
// The options are those of renderMasterUserData and renderWorkerUserData (components/ec2/userData.ts); the
// TypeScript is transpiled on the fly with the project's own compiler, nothing is built.
"use strict";
const fs = require("fs");
const path = require("path");
const ts = require("typescript");

require.extensions[".ts"] = (module, filename) => {
    const source = fs.readFileSync(filename, "utf8");
    const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true }, fileName: filename });
    module._compile(outputText, filename);
};

const userData = require(path.join(__dirname, "..", "components", "ec2", "userData.ts"));
const security = require(path.join(__dirname, "..", "components", "ec2", "sparkSecurity.ts"));
const options = JSON.parse(process.argv[2] || "{}");
process.stdout.write(
    JSON.stringify({
        masterUserData: userData.renderMasterUserData(options.master),
        workerUserData: userData.renderWorkerUserData(options.worker),
        confDir: userData.CONF_DIR,
        runner: userData.RUNNER,
        runDir: security.RUN_DIR,
        tlsUiPorts: security.TLS_UI_PORTS,
    }),
);
