import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { StackCertificate } from "../certificates";
import { SecurityConfig } from "../config";

// The ec2 engine's secrets, in Secrets Manager encrypted with the platform key: Spark's shared secret
// (spark.authenticate) and the UIs' TLS key and certificate chain. The hosts read them at every role start
// (sparkSecurity.ts); they are never in user data, the image or plain state (both values are Pulumi secrets).

/** The two secrets, before they have values: hosts are told where to read them before the UI certificate exists. */
export interface SecretStores {
    readonly auth: aws.secretsmanager.Secret;
    readonly tls: aws.secretsmanager.Secret;
}

/** Declares the Secrets Manager secrets, encrypted with the platform key (the hosts' roles may decrypt with it). */
export function secretStores(name: string, kmsKeyArn: pulumi.Input<string>, opts: pulumi.CustomResourceOptions): SecretStores {
    const secret = (role: string, description: string) => new aws.secretsmanager.Secret(`${name}-${role}`, { description, kmsKeyId: kmsKeyArn, recoveryWindowInDays: 7 }, opts);
    return {
        auth: secret("spark-auth", "spark.authenticate shared secret of the Spark standalone cluster (ec2 engine)"),
        tls: secret("ui-tls", "TLS key and certificate chain of the Spark UIs (ec2 engine), PEM"),
    };
}

export interface SparkSecretsArgs {
    readonly security: SecurityConfig;
    /** The master's stable name: the UI certificate is valid for it. */
    readonly masterDnsName: string;
    /** The master's private address (allowed CIDRs browse to it): the UI certificate is valid for it too. */
    readonly masterPrivateIp: pulumi.Input<string>;
    /** The region, for the hosts' private DNS names (`*.<region>.compute.internal`, worker UIs). */
    readonly region: string;
}

/** The names the UI certificate covers: the master's name, every host's private name, and localhost (SSM tunnels). */
export function uiCertificateNames(masterDnsName: string, region: string): string[] {
    const hosts = region === "us-east-1" ? "*.ec2.internal" : `*.${region}.compute.internal`;
    return [masterDnsName, hosts, "localhost"];
}

export interface SparkSecrets {
    readonly authSecretArn: pulumi.Output<string>;
    readonly tlsSecretArn: pulumi.Output<string>;
    /** The CA of the UI certificate (public): trust it to browse the UIs without a warning. */
    readonly caCertPem: pulumi.Output<string>;
    /** Both secrets' version ids: a new one restarts every Spark process (workers roll, the master's roles restart). */
    readonly revision: pulumi.Output<string>;
    /** The secret versions, which hosts must not start before. */
    readonly versions: aws.secretsmanager.SecretVersion[];
}

/** Generates the Spark secret and the UI certificate and stores both in their secrets. */
export function sparkSecrets(name: string, stores: SecretStores, args: SparkSecretsArgs, opts: pulumi.CustomResourceOptions): SparkSecrets {
    // Letters and digits only: the runner writes it into a properties file, where nothing needs escaping.
    const password = new random.RandomPassword(`${name}-spark-secret`, { length: 64, special: false, keepers: { rotation: String(args.security.sparkSecretRotation) } }, opts);
    const authVersion = new aws.secretsmanager.SecretVersion(`${name}-spark-auth-value`, { secretId: stores.auth.id, secretString: pulumi.secret(password.result) }, opts);

    const certificate = new StackCertificate(
        `${name}-ui-tls`,
        {
            commonName: args.masterDnsName,
            dnsNames: uiCertificateNames(args.masterDnsName, args.region),
            ipAddresses: [pulumi.output(args.masterPrivateIp), "127.0.0.1"],
            validityDays: args.security.certificateValidityDays,
            rotation: args.security.certificateRotation,
        },
        opts,
    );
    const tlsVersion = new aws.secretsmanager.SecretVersion(
        `${name}-ui-tls-value`,
        {
            secretId: stores.tls.id,
            secretString: pulumi.secret(pulumi.all([certificate.privateKeyPem, certificate.certPem, certificate.caCertPem]).apply((pems) => pems.map((p) => p.trim()).join("\n") + "\n")),
        },
        opts,
    );
    return {
        authSecretArn: stores.auth.arn,
        tlsSecretArn: stores.tls.arn,
        caCertPem: certificate.caCertPem,
        revision: pulumi.all([authVersion.versionId, tlsVersion.versionId]).apply((ids) => ids.join(".")),
        versions: [authVersion, tlsVersion],
    };
}
