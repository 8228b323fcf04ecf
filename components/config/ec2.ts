import { z } from "zod";
import { amd64InstanceType } from "./common";

/** Engine `ec2`: the master and the worker group. */
export const ec2Schema = z
    .strictObject({
        masterInstanceType: amd64InstanceType.default("m6i.large"),
        workerInstanceType: amd64InstanceType.default("m6i.xlarge"),
        workerMin: z.number().int().min(0).max(100).default(1),
        workerDesired: z.number().int().min(0).max(100).default(2),
        workerMax: z.number().int().min(1).max(100).default(4),
        /** Average CPU the worker group's target tracking aims for, percent. */
        cpuTargetPercent: z.number().min(10).max(90).default(60),
        rootVolumeGb: z.number().int().min(20).max(1024).default(50),
        /** Private hosted zone in which the master gets a stable name. */
        privateDomain: z
            .string()
            .regex(/^[a-z0-9-]+(\.[a-z0-9-]+)*$/, { message: 'must be a DNS domain such as "spark.internal"' })
            .default("spark.internal"),
    })
    .superRefine((e, ctx) => {
        if (!(e.workerMin <= e.workerDesired && e.workerDesired <= e.workerMax)) {
            ctx.addIssue({
                code: "custom",
                path: ["workerDesired"],
                message: `must satisfy workerMin <= workerDesired <= workerMax; got ${e.workerMin} <= ${e.workerDesired} <= ${e.workerMax}`,
            });
        }
    });

export type Ec2Config = z.infer<typeof ec2Schema>;
