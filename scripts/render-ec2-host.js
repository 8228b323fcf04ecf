#!/usr/bin/env node
// Prints the ec2 engine's rendered host scripts as JSON, for the tests that run them for real
// (jobs/streaming-consumer/tests/test_secure_cluster.py): `node scripts/render-ec2-host.js '<options json>'`.
// The options are those of renderMasterUserData and renderWorkerUserData (components/ec2/userData.ts); the
// TypeScript is transpiled on the fly (scripts/ts-require.js), nothing is built.
"use strict";
const path = require("path");
require("./ts-require");

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
