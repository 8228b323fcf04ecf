// The consumer role's right to publish its metrics. PutMetricData has no resource-level permissions (its resource is
// always "*"); the cloudwatch:namespace condition key is how AWS scopes it, so the role can write this namespace only.

/** The IAM policy the consumer role of every AWS engine gets for its metrics. */
export function metricsPolicyDocument(namespace: string): string {
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "PublishConsumerMetrics",
                Effect: "Allow",
                Action: ["cloudwatch:PutMetricData"],
                Resource: "*",
                Condition: { StringEquals: { "cloudwatch:namespace": namespace } },
            },
        ],
    });
}
