import * as fs from "fs";
import * as path from "path";
import { packPolicies } from "./pack";

const pack = packPolicies();

describe("the policy pack", () => {
    test("policy names are unique", () => {
        const names = pack.map((p) => p.name);
        expect(new Set(names).size).toBe(names.length);
    });

    test("only the tags and instance-type policies are advisory", () => {
        expect(pack.filter((p) => p.enforcementLevel !== "mandatory").map((p) => p.name).sort()).toEqual(["aws-required-tags", "instance-types-allowed"]);
    });

    test.each(["dev", "prod"])("policy-config.%s.json configures only existing policies and properties of their schema", (stack) => {
        const config = JSON.parse(fs.readFileSync(path.join(__dirname, `policy-config.${stack}.json`), "utf8"));
        for (const [policyName, value] of Object.entries<Record<string, unknown>>(config)) {
            const policy = pack.find((p) => p.name === policyName);
            expect(policy).toBeDefined();
            const allowed = Object.keys(policy!.configSchema?.properties ?? {}).concat("enforcementLevel");
            expect(Object.keys(value).filter((k) => !allowed.includes(k))).toEqual([]);
        }
    });

    test("the pack's package.json has the version the SDK requires to start", () => {
        const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, "package.json"), "utf8"));
        expect(pkg.version).toMatch(/^\d+\.\d+\.\d+/);
    });
});
