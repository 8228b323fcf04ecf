import { PolicyPack } from "@pulumi/policy";
import { PACK_NAME, packPolicies } from "./pack";

// Entry point the Pulumi CLI loads for `--policy-pack policy`; it starts the analyzer server, so only the CLI
// imports this file (tests import ./pack).
new PolicyPack(PACK_NAME, {
    description: "Guards for the spark-streaming platform: private, encrypted, least-privilege, tagged and right-sized.",
    enforcementLevel: "mandatory",
    policies: packPolicies(),
});
