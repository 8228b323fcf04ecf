// How hosts get their roles and how operators reach them: shared by both engines so they cannot drift.

/**
 * A trust policy that lets one AWS service (e.g. `ec2.amazonaws.com`) assume a role, and nothing else. `condition`
 * narrows it further (e.g. `aws:SourceAccount`/`aws:SourceArn`, so another account's resources cannot use the role
 * through the same service: the confused-deputy guard).
 */
export function assumeRolePolicy(service: string, condition?: Record<string, Record<string, string>>): string {
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole", ...(condition ? { Condition: condition } : {}) }],
    });
}

/** The `aws ssm start-session` port-forwarding command that puts a host's UI port on localhost:<port>. */
export function ssmTunnelCommand(region: string, instanceId: string, port: number): string {
    const parameters = JSON.stringify({ portNumber: [String(port)], localPortNumber: [String(port)] });
    return `aws ssm start-session --region ${region} --target ${instanceId} --document-name AWS-StartPortForwardingSession --parameters '${parameters}'`;
}
