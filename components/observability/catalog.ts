import * as fs from "fs";
import * as path from "path";
import { CONSUMER_CONTEXT } from "../buildContext";

// The consumer's metrics as it emits them: jobs/streaming-consumer/metrics-catalog.json, generated from
// streaming_consumer/metrics.py and kept equal to it by the job's tests. Dashboards, alarms and the Grafana dashboard
// name metrics only through `metric()`/`promMetric()`, which refuse a name the consumer does not emit, so a renamed
// metric fails a test instead of leaving a dashboard empty.

export const METRICS_CATALOG = path.join(CONSUMER_CONTEXT, "metrics-catalog.json");

export interface CatalogMetric {
    readonly name: string;
    /** CloudWatch unit, e.g. `Count/Second`. */
    readonly unit: string;
    /** Every dimension the consumer sets on it (base dimensions, plus Topic for per-topic metrics). */
    readonly dimensions: readonly string[];
}

export interface MetricsCatalog {
    readonly cloudwatch: { readonly namespace: string; readonly metrics: readonly CatalogMetric[] };
    readonly prometheus: { readonly labels: readonly string[]; readonly metrics: readonly string[] };
}

let cached: MetricsCatalog | undefined;

export function readCatalog(): MetricsCatalog {
    cached ??= JSON.parse(fs.readFileSync(METRICS_CATALOG, "utf8")) as MetricsCatalog;
    return cached;
}

/** A CloudWatch metric the consumer emits; throws naming the catalog for any other name. */
export function metric(name: string): CatalogMetric {
    const m = readCatalog().cloudwatch.metrics.find((x) => x.name === name);
    if (m === undefined) {
        throw new Error(`the consumer emits no CloudWatch metric "${name}" (see ${METRICS_CATALOG})`);
    }
    return m;
}

/** A Prometheus metric the consumer emits; throws naming the catalog for any other name. */
export function promMetric(name: string): string {
    if (!readCatalog().prometheus.metrics.includes(name)) {
        throw new Error(`the consumer emits no Prometheus metric "${name}" (see ${METRICS_CATALOG})`);
    }
    return name;
}
