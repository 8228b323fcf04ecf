import { z } from "zod";
import { allowedCidr } from "./common";

/** The `access` key: who may reach the UIs directly. */
export const accessSchema = z.strictObject({
    /** CIDRs allowed to reach the Spark/YARN/history UIs directly. Empty: UIs only through SSM port forwarding. */
    allowedCidrs: z.array(allowedCidr).default([]),
});

export type AccessConfig = z.infer<typeof accessSchema>;
