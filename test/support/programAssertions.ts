import { ofType, registered, Registered } from "./mocks";
import { StackOutputs } from "./program";

// Assertions every shipped stack must pass, shared by the per-stack program tests.

/** Security group ingress that admits the whole internet, wherever the program declares it. */
export function openIngress(): Registered[] {
    const open = (cidrs: unknown) => Array.isArray(cidrs) && cidrs.some((c) => c === "0.0.0.0/0" || c === "::/0");
    return registered.filter((r) => {
        switch (r.type) {
            case "aws:ec2/securityGroup:SecurityGroup":
                return (r.inputs.ingress ?? []).some((i: any) => open(i.cidrBlocks) || open(i.ipv6CidrBlocks));
            case "aws:ec2/securityGroupRule:SecurityGroupRule":
                return r.inputs.type === "ingress" && (open(r.inputs.cidrBlocks) || open(r.inputs.ipv6CidrBlocks));
            case "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
                return open([r.inputs.cidrIpv4, r.inputs.cidrIpv6]);
            default:
                return false;
        }
    });
}

/** Every custom resource the program declares has a parent component (nothing hangs off the stack root). */
export function orphans(): Registered[] {
    return registered.filter((r) => r.custom && !r.type.startsWith("pulumi:providers:") && !r.parent.includes("spark-streaming:"));
}

export function s3UriPattern(prefix: string): RegExp {
    return new RegExp(`^s3://[a-z0-9.-]+/${prefix.replace(/[/]/g, "\\/")}$`);
}

export function expectStandardOutputs(outputs: StackOutputs, consumer: string, topic: string): void {
    expect(outputs.bucketName).toMatch(/^[a-z0-9][a-z0-9.-]{2,62}$/);
    expect(outputs.checkpointLocation).toBe(`s3://${outputs.bucketName}/checkpoints/${consumer}/`);
    expect(outputs.outputLocation).toBe(`s3://${outputs.bucketName}/data/${topic}/`);
    expect(outputs.deadLetterLocation).toBe(`s3://${outputs.bucketName}/dead-letter/${topic}/`);
    expect(outputs.vpcId).toEqual(expect.any(String));
}

export { ofType };
