import { z } from "zod";

/**
 * Keys, certificates and secrets the stack generates (Spark's shared secret on ec2, the TLS certificates of both
 * engines). They live in the stack's state as secrets and never change on their own: a preview a year later shows
 * no change. Renewing is a config change: bump a rotation counter.
 */
export const securitySchema = z.strictObject({
    /** Validity of the generated certificates (EMR in-transit TLS, the ec2 engine's UI TLS), days. */
    certificateValidityDays: z.number().int().min(30).max(3650).default(365),
    /** Bump to issue new TLS keys and certificates. On emr this replaces the security configuration and the cluster. */
    certificateRotation: z.number().int().min(0).default(0),
    /** Bump to generate a new spark.authenticate secret (ec2): every Spark process restarts with it. */
    sparkSecretRotation: z.number().int().min(0).default(0),
});

export type SecurityConfig = z.infer<typeof securitySchema>;
