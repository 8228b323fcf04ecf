import { z } from "zod";
import { instanceType } from "./common";

/** Spark 3.5 ships with EMR 7.x; the job is pinned to that line. */
export const emrSchema = z.strictObject({
    /** EMR release; a 7.x release (Spark 3.5). */
    releaseLabel: z.string().regex(/^emr-7\.\d+\.\d+$/, { message: 'must be an EMR 7.x release such as "emr-7.12.0" (Spark 3.5)' }).default("emr-7.12.0"),
    masterInstanceType: instanceType.default("m7g.xlarge"),
    coreInstanceType: instanceType.default("m7g.xlarge"),
    coreInstanceCount: z.number().int().min(1).max(50).default(2),
    /** Task group on spot; 0 = no task group. */
    taskInstanceCount: z.number().int().min(0).max(100).default(0),
    taskInstanceType: instanceType.default("m7g.xlarge"),
    /** Spot bid for each task instance, USD per hour (e.g. "0.20"); required when taskInstanceCount > 0 (EMR instance groups go on spot only with a bid). */
    taskBidPrice: z.string().regex(/^\d+(\.\d{1,4})?$/, { message: 'must be a price in USD per hour such as "0.20"' }).optional(),
    /** EBS gp3 volume per instance, GiB. */
    ebsVolumeGb: z.number().int().min(32).max(2048).default(64),
    /** Managed scaling bounds, in instances. */
    minCapacity: z.number().int().min(1).default(2),
    maxCapacity: z.number().int().min(1).default(6),
    /** Steps that may run at once; above 1 so the never-ending consumer step does not block others. */
    stepConcurrency: z.number().int().min(2).max(256).default(5),
    /** Termination protection; default on where the data lake is protected. */
    terminationProtection: z.boolean().optional(),
    /** YARN attempts for the consumer driver before the step fails, within `driverAttemptsValidity`. */
    driverMaxAttempts: z.number().int().min(1).max(20).default(4),
    /** Window in which driver failures count towards `driverMaxAttempts`, e.g. "1h". */
    driverAttemptsValidity: z.string().regex(/^\d+[smh]$/, { message: 'must be a duration such as "1h" or "30m"' }).default("1h"),
});

export type EmrConfig = Omit<z.infer<typeof emrSchema>, "terminationProtection"> & { terminationProtection: boolean };
