import { z } from "zod";

/** The `dataLake` key: the bucket's protection and lifecycle. */
export const dataLakeSchema = z
    .strictObject({
        /** Let `pulumi destroy` delete a non-empty bucket. Only for disposable (dev) stacks. */
        forceDestroy: z.boolean().default(false),
        /** Protect the bucket and its key from deletion and retain them on destroy. On unless the stack is disposable. */
        protect: z.boolean().optional(),
        /** Days after which overwritten or deleted object versions expire. */
        noncurrentVersionExpirationDays: z.number().int().min(1).default(30),
        /** Days after which incomplete multipart uploads are aborted. */
        abortIncompleteMultipartUploadDays: z.number().int().min(1).default(7),
        /** Move `data/` to a colder storage class after this many days; unset keeps it in STANDARD. */
        dataTransitionDays: z.number().int().min(30).optional(),
        /** The colder storage class for `data/`. */
        dataTransitionStorageClass: z.enum(["STANDARD_IA", "INTELLIGENT_TIERING", "GLACIER_IR"]).default("INTELLIGENT_TIERING"),
        /** Days the dead letters are kept. Unset: kept until someone deals with them. */
        deadLetterExpirationDays: z.number().int().min(1).optional(),
        /** Days the EMR and Spark logs under `logs/` are kept. */
        logExpirationDays: z.number().int().min(1).default(90),
        /** Days the S3 server access logs of the bucket are kept in the separate access-log bucket. */
        accessLogExpirationDays: z.number().int().min(1).default(365),
    })
    .transform((d) => ({ ...d, protect: d.protect ?? !d.forceDestroy }))
    .superRefine((d, ctx) => {
        if (d.forceDestroy && d.protect) {
            ctx.addIssue({
                code: "custom",
                path: ["protect"],
                message: "cannot be true together with dataLake.forceDestroy: a protected bucket is never deleted; pick one",
            });
        }
    });

export type DataLakeConfig = z.infer<typeof dataLakeSchema>;
