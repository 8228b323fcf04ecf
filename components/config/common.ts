import { z } from "zod";

// Validators shared by the config keys' schemas (one file per key in this folder; index.ts reads and checks them together).

/** Where Spark runs. */
export const ENGINES = ["emr", "ec2", "kubernetes", "local"] as const;
export type Engine = (typeof ENGINES)[number];

const cidrPattern = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

/** True for an IPv4 CIDR block such as `10.0.0.0/16` (each octet 0-255, prefix 0-32). */
export function isIpv4Cidr(value: string): boolean {
    const m = cidrPattern.exec(value);
    if (!m) {
        return false;
    }
    const octets = m.slice(1, 5).map(Number);
    return octets.every((o) => o >= 0 && o <= 255) && Number(m[5]) <= 32;
}

export const cidr = z.string().refine(isIpv4Cidr, { message: "must be an IPv4 CIDR block such as 10.0.0.0/16" });

/** A CIDR that admits a UI port. The whole internet is refused: UIs are private unless someone names who may reach them. */
export const allowedCidr = cidr.refine((c) => !c.endsWith("/0"), {
    message: "must not open the UIs to the whole internet (a /0 block); list your office or VPN ranges, or leave the list empty and use the SSM tunnels",
});

/** Kafka topic names as Kafka itself allows them. */
export const topicName = z
    .string()
    .regex(/^[a-zA-Z0-9._-]{1,249}$/, { message: "must be 1-249 characters of letters, digits, '.', '_' or '-'" });

/** Spark's own interval syntax for processing-time triggers, e.g. "30 seconds", "1 minute". */
export const triggerInterval = z
    .string()
    .regex(/^\d+ (second|seconds|minute|minutes|hour|hours)$/, {
        message: 'must be "<number> seconds|minutes|hours", e.g. "30 seconds"',
    });

/** Names that end up in S3 prefixes, DNS labels and resource names. */
export const dnsLabel = z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,30}[a-z0-9]$/, { message: "must be 2-32 lowercase letters, digits or '-', starting with a letter" });

/** The retention periods CloudWatch Logs accepts, days. */
export const CLOUDWATCH_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;

export const cloudwatchRetention = z
    .number()
    .int()
    .refine((d) => (CLOUDWATCH_RETENTION_DAYS as readonly number[]).includes(d), {
        message: `must be one of CloudWatch Logs' retention periods (${CLOUDWATCH_RETENTION_DAYS.join(", ")})`,
    });

export const instanceType = z.string().regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, { message: "must be an EC2 instance type such as m6i.large" });

/** The image is built for linux/amd64, so the hosts that run it must be x86 (no Graviton `g` families). */
export const amd64InstanceType = instanceType.refine((t) => !/^[a-z]+\d+[a-z]*g[a-z]*\./.test(t), {
    message: "must be an x86_64 type: the consumer image is built for linux/amd64 (Graviton 'g' types cannot run it)",
});
