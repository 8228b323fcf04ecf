import Ajv, { ValidateFunction } from "ajv";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { OPERATOR_CHART_DIR } from "../../components/kubernetes/operator";
import { isSecret } from "./mocks";

// Kubernetes objects the program declares, checked against their real schemas with unknown fields as errors (the API
// server drops unknown fields silently, so a validator that ignored them would prove nothing):
//  - custom resources against the operator's own CRD (structural-schema semantics: every object without
//    x-kubernetes-preserve-unknown-fields rejects properties it does not declare), with ajv;
//  - core objects (and the pod templates, which the CRD leaves unchecked) against Kubernetes' OpenAPI schemas, strict
//    variants, through kubernetes-validate in the project's venv (scripts/validate-k8s.py).

const ROOT = path.resolve(__dirname, "..", "..");

/**
 * A CRD's openAPIV3Schema as a JSON schema with structural semantics: objects that declare properties (or nothing at
 * all) refuse undeclared ones unless marked x-kubernetes-preserve-unknown-fields; maps keep their additionalProperties;
 * int-or-string fields take either. The root's metadata is left open here: the API server checks it as ObjectMeta,
 * and so do the tests, through the core validator.
 */
export function structuralSchema(schema: any, root = true): any {
    if (schema === null || typeof schema !== "object") {
        return schema;
    }
    if (Array.isArray(schema)) {
        return schema.map((s) => structuralSchema(s, false));
    }
    const out: any = {};
    for (const [k, v] of Object.entries(schema)) {
        if (k === "properties") {
            out.properties = Object.fromEntries(Object.entries(v as object).map(([name, s]) => [name, root && name === "metadata" ? { type: "object" } : structuralSchema(s, false)]));
        } else if (["items", "additionalProperties", "not"].includes(k) || ["allOf", "anyOf", "oneOf"].includes(k)) {
            out[k] = structuralSchema(v, false);
        } else if (!k.startsWith("x-kubernetes-")) {
            out[k] = v;
        }
    }
    if (schema["x-kubernetes-int-or-string"] === true) {
        delete out.type;
        out.anyOf = [...(out.anyOf ?? []), { type: "integer" }, { type: "string" }];
    }
    const isObject = schema.type === "object" || schema.properties !== undefined;
    if (isObject && schema["x-kubernetes-preserve-unknown-fields"] !== true && schema.additionalProperties === undefined) {
        out.additionalProperties = false;
    }
    return out;
}

/** The chart's CRD of `plural` (e.g. "sparkapplications"), its served version `version`, as a strict validator. */
export function crdValidator(plural: string, version: string): ValidateFunction {
    const crd = parseYaml(fs.readFileSync(path.join(OPERATOR_CHART_DIR, "crds", `sparkoperator.k8s.io_${plural}.yaml`), "utf8"));
    const served = crd.spec.versions.find((v: any) => v.name === version && v.served);
    if (!served) {
        throw new Error(`the ${plural} CRD serves no version ${version}`);
    }
    // Formats (int32, int64, quantity...) are Kubernetes' own; types and structure are what is checked here.
    const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
    return ajv.compile(structuralSchema(served.schema.openAPIV3Schema));
}

/** ajv's errors as "<path>: <message> (<detail>)" lines. */
export function ajvErrors(validate: ValidateFunction): string[] {
    return (validate.errors ?? []).map((e) => `${e.instancePath || "(root)"}: ${e.message}${e.params && "additionalProperty" in e.params ? ` (${(e.params as any).additionalProperty})` : ""}`);
}

/** Pulumi's secret wrappers replaced by their values, recursively (the validators see the object the cluster gets). */
export function unwrapSecrets(value: any): any {
    if (isSecret(value)) {
        return unwrapSecrets(value.value);
    }
    if (Array.isArray(value)) {
        return value.map(unwrapSecrets);
    }
    if (value !== null && typeof value === "object") {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v)]));
    }
    return value;
}

export interface CoreResult {
    readonly object: string;
    readonly errors: string[];
}

/** Validates core objects with the venv's kubernetes-validate (strict) for Kubernetes `version`; one result per object. */
export function validateCore(objects: object[], version: string): CoreResult[] {
    const python = path.join(ROOT, ".venv", "bin", "python");
    if (!fs.existsSync(python)) {
        throw new Error(`${python} is missing: run scripts/setup-python.sh (npm test does) to create the venv with kubernetes-validate`);
    }
    const run = spawnSync(python, [path.join(ROOT, "scripts", "validate-k8s.py"), version], { input: JSON.stringify(objects), encoding: "utf8", timeout: 120_000 });
    if (run.status !== 0) {
        throw new Error(`scripts/validate-k8s.py failed (${run.status}): ${run.stderr}`);
    }
    return JSON.parse(run.stdout);
}

/** A pod template as the core validator takes it: inside a v1 PodTemplate, Kubernetes' own kind for one. */
export function asPodTemplate(name: string, template: object): object {
    return { apiVersion: "v1", kind: "PodTemplate", metadata: { name }, template };
}
