import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as crypto from "crypto";
import { zipSync } from "fflate";
import { StackCertificate } from "../certificates";
import { SecurityConfig } from "../config";
import { PREFIXES } from "../locations";

// EMR's in-transit encryption with the PEM certificate provider: a zip in S3 holding privateKey.pem,
// certificateChain.pem and trustedCertificates.pem, which EMR downloads to every node. The stack generates the CA
// and the certificate (certificates.ts). The zip holds the private key, so its content is a Pulumi secret
// (encrypted in the state) and the object is encrypted with the platform key in S3.

/** Where the bundles live: artifacts/emr-tls/<certificate hash>/certs.zip. */
export const TLS_PREFIX = `${PREFIXES.artifacts}emr-tls/`;

/**
 * The names EMR nodes have: their private DNS names, `*.ec2.internal` in us-east-1 and
 * `*.<region>.compute.internal` elsewhere. Hostname verification checks them.
 */
export function clusterHostNames(region: string): string[] {
    return region === "us-east-1" ? ["*.ec2.internal"] : [`*.${region}.compute.internal`];
}

/** A fixed time for the zip entries, so the same PEMs always give the same bytes (DOS time starts in 1980). */
const ZIP_TIME = new Date(Date.UTC(1980, 0, 1));

/** The zip EMR expects, byte for byte the same for the same PEMs. */
export function pemBundle(privateKeyPem: string, certPem: string, caCertPem: string): Uint8Array {
    const entry = (text: string): [Uint8Array, { mtime: Date; level: 6 }] => [new TextEncoder().encode(text.trim() + "\n"), { mtime: ZIP_TIME, level: 6 }];
    return zipSync({
        "certificateChain.pem": entry(`${certPem.trim()}\n${caCertPem.trim()}`),
        "privateKey.pem": entry(privateKeyPem),
        "trustedCertificates.pem": entry(caCertPem),
    });
}

/** The bundle's key: a hash of the (public) certificate, so a renewed certificate is a new object and a new security configuration. */
export function bundleKey(certPem: string): string {
    return `${TLS_PREFIX}${crypto.createHash("sha256").update(certPem).digest("hex").slice(0, 16)}/certs.zip`;
}

export interface TlsBundleArgs {
    readonly bucketName: pulumi.Input<string>;
    readonly kmsKeyArn: pulumi.Input<string>;
    readonly region: string;
    readonly security: SecurityConfig;
}

export interface TlsBundle {
    /** `s3://bucket/artifacts/emr-tls/<hash>/certs.zip`, for the security configuration. */
    readonly uri: pulumi.Output<string>;
    readonly object: aws.s3.BucketObjectv2;
    readonly caCertPem: pulumi.Output<string>;
    readonly validityEndTime: pulumi.Output<string>;
}

/** Generates the certificate and uploads the bundle. */
export function tlsBundle(name: string, args: TlsBundleArgs, opts: pulumi.CustomResourceOptions): TlsBundle {
    const names = clusterHostNames(args.region);
    const certificate = new StackCertificate(
        `${name}-tls`,
        { commonName: names[0], dnsNames: names, validityDays: args.security.certificateValidityDays, rotation: args.security.certificateRotation },
        opts,
    );
    const key = certificate.certPem.apply(bundleKey);
    const object = new aws.s3.BucketObjectv2(
        `${name}-tls-bundle`,
        {
            bucket: args.bucketName,
            key,
            contentBase64: pulumi.secret(
                pulumi.all([certificate.privateKeyPem, certificate.certPem, certificate.caCertPem]).apply(([k, c, ca]) => Buffer.from(pemBundle(k, c, ca)).toString("base64")),
            ),
            contentType: "application/zip",
            serverSideEncryption: "aws:kms",
            kmsKeyId: args.kmsKeyArn,
        },
        { ...opts, additionalSecretOutputs: ["content", "contentBase64"] },
    );
    return {
        uri: pulumi.interpolate`s3://${args.bucketName}/${key}`,
        object,
        caCertPem: certificate.caCertPem,
        validityEndTime: certificate.validityEndTime,
    };
}
