import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { dataAccessPolicyDocument } from "../ec2/policies";
import { IRSA_AUDIENCE } from "./eks";

// The consumer's AWS identity on Kubernetes: an IAM role for its service account (IRSA). Only pods running as that
// one service account, in that one namespace, of this cluster, can assume it; it holds exactly what the other
// engines' consumers hold (the data lake's prefixes and key, built by the same function, and the Kafka component's
// consumer policy). IRSA rather than EKS Pod Identity: the MSK IAM auth library has had credential-chain problems
// with Pod Identity, and IRSA works on any cluster with a registered OIDC issuer.

/** `system:serviceaccount:<namespace>:<name>`: the subject of a service account's projected token. */
export function serviceAccountSubject(namespace: string, serviceAccount: string): string {
    return `system:serviceaccount:${namespace}:${serviceAccount}`;
}

/** The issuer's host and path as IAM names it in condition keys (`oidc.eks.<region>.amazonaws.com/id/<ID>`). */
export function oidcIssuerFromProviderArn(providerArn: string): string {
    const m = /^arn:aws[a-z-]*:iam::\d{12}:oidc-provider\/(.+)$/.exec(providerArn);
    if (!m) {
        throw new Error(`"${providerArn}" is not an IAM OIDC provider ARN (arn:aws:iam::ACCOUNT:oidc-provider/ISSUER)`);
    }
    return m[1];
}

/** The trust policy: web identity tokens of exactly this service account, for STS, from this cluster's issuer. */
export function irsaTrustPolicy(oidcProviderArn: string, namespace: string, serviceAccount: string): string {
    const issuer = oidcIssuerFromProviderArn(oidcProviderArn);
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "ConsumerServiceAccountOnly",
                Effect: "Allow",
                Principal: { Federated: oidcProviderArn },
                Action: "sts:AssumeRoleWithWebIdentity",
                // StringEquals, not StringLike: no other service account or namespace, and no other audience.
                Condition: { StringEquals: { [`${issuer}:aud`]: IRSA_AUDIENCE, [`${issuer}:sub`]: serviceAccountSubject(namespace, serviceAccount) } },
            },
        ],
    });
}

export interface ConsumerRoleArgs {
    readonly oidcProviderArn: pulumi.Input<string>;
    readonly namespace: string;
    readonly serviceAccount: string;
    readonly bucketArn: pulumi.Input<string>;
    readonly kmsKeyArn: pulumi.Input<string>;
    /** The consumer's prefixes (data, dead letters, checkpoint), as the other engines grant them. */
    readonly prefixes: string[];
    /** The consumer's Kafka policy (MSK IAM), when Kafka uses IAM. */
    readonly kafkaPolicyJson: pulumi.Input<string> | undefined;
    /** The right to publish the consumer's metrics (observability). */
    readonly metricsPolicyJson?: pulumi.Input<string>;
}

/** Declares the role and its policies; returns the role (its ARN goes on the service account) and the policies. */
export function consumerRole(name: string, args: ConsumerRoleArgs, opts: pulumi.CustomResourceOptions): { role: aws.iam.Role; policies: pulumi.Resource[] } {
    const role = new aws.iam.Role(
        `${name}-consumer-role`,
        {
            description: `The streaming consumer's pods (service account ${args.namespace}/${args.serviceAccount}) on the kubernetes engine`,
            assumeRolePolicy: pulumi.output(args.oidcProviderArn).apply((arn) => irsaTrustPolicy(arn, args.namespace, args.serviceAccount)),
        },
        opts,
    );
    const policies: pulumi.Resource[] = [
        new aws.iam.RolePolicy(
            `${name}-consumer-data`,
            { role: role.id, policy: pulumi.all([args.bucketArn, args.kmsKeyArn]).apply(([bucketArn, kmsKeyArn]) => dataAccessPolicyDocument({ bucketArn, kmsKeyArn, prefixes: args.prefixes })) },
            opts,
        ),
    ];
    if (args.kafkaPolicyJson !== undefined) {
        policies.push(new aws.iam.RolePolicy(`${name}-consumer-kafka`, { role: role.id, policy: args.kafkaPolicyJson }, opts));
    }
    if (args.metricsPolicyJson !== undefined) {
        policies.push(new aws.iam.RolePolicy(`${name}-consumer-metrics`, { role: role.id, policy: args.metricsPolicyJson }, opts));
    }
    return { role, policies };
}
