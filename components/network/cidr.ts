import { isIpv4Cidr } from "../config";

// Pure CIDR arithmetic for the created VPC's subnet layout: deterministic, so a subnet's CIDR never changes between
// previews and adding an AZ never moves an existing subnet.

/** Subnets are carved as 16 equal blocks of the VPC: private subnets take slots 0-7, public ones slots 8-15. */
const SUBNET_BITS = 4;
const PUBLIC_SLOT_OFFSET = 8;
/** AWS allows subnets no smaller than /28. */
const SMALLEST_SUBNET_PREFIX = 28;

function ipToNumber(ip: string): number {
    return ip.split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

function numberToIp(n: number): string {
    return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".");
}

/** Parses `a.b.c.d/p` into its base address (as a number) and prefix length. */
export function parseCidr(cidr: string): { base: number; prefix: number } {
    if (!isIpv4Cidr(cidr)) {
        throw new Error(`"${cidr}" is not an IPv4 CIDR block such as 10.0.0.0/16`);
    }
    const [ip, prefix] = cidr.split("/");
    return { base: ipToNumber(ip), prefix: Number(prefix) };
}

/**
 * The `index`-th block of prefix length `newPrefix` inside `cidr` (like Terraform's `cidrsubnet`). Pure and
 * deterministic, so a subnet's CIDR never changes between previews and adding an AZ never moves an existing one.
 */
export function cidrSubnet(cidr: string, newPrefix: number, index: number): string {
    const { base, prefix } = parseCidr(cidr);
    const size = 2 ** (32 - prefix);
    if (base % size !== 0) {
        throw new Error(`"${cidr}" has host bits set; use ${numberToIp(base - (base % size))}/${prefix}`);
    }
    if (newPrefix < prefix || newPrefix > 32) {
        throw new Error(`cannot carve /${newPrefix} blocks out of "${cidr}": the new prefix must be between /${prefix} and /32`);
    }
    const count = 2 ** (newPrefix - prefix);
    if (!Number.isInteger(index) || index < 0 || index >= count) {
        throw new Error(`"${cidr}" holds ${count} /${newPrefix} blocks (0-${count - 1}); block ${index} does not exist`);
    }
    return `${numberToIp(base + index * 2 ** (32 - newPrefix))}/${newPrefix}`;
}

/**
 * The private and public subnet CIDRs for `azCount` AZs: each 1/16 of the VPC, private at slots 0.., public at
 * slots 8... Fixed slots keep existing subnets in place when `azCount` grows.
 */
export function subnetCidrs(vpcCidr: string, azCount: number): { private: string[]; public: string[] } {
    const { prefix } = parseCidr(vpcCidr);
    if (prefix < 16 || prefix + SUBNET_BITS > SMALLEST_SUBNET_PREFIX) {
        throw new Error(
            `network.cidr must be between /16 (the largest VPC AWS allows) and /${SMALLEST_SUBNET_PREFIX - SUBNET_BITS} (so each of its 16 subnet blocks is at least a /${SMALLEST_SUBNET_PREFIX}); got "${vpcCidr}"`,
        );
    }
    if (!Number.isInteger(azCount) || azCount < 1 || azCount > PUBLIC_SLOT_OFFSET) {
        throw new Error(`network.azCount must be between 1 and ${PUBLIC_SLOT_OFFSET} for the subnet layout; got ${azCount}`);
    }
    const newPrefix = prefix + SUBNET_BITS;
    const slots = Array.from({ length: azCount }, (_, i) => i);
    return {
        private: slots.map((i) => cidrSubnet(vpcCidr, newPrefix, i)),
        public: slots.map((i) => cidrSubnet(vpcCidr, newPrefix, PUBLIC_SLOT_OFFSET + i)),
    };
}

/** The AZ for subnet `index`; fails the deployment, naming the fix, when the region has fewer AZs than asked for. */
export function azName(available: string[], index: number, azCount: number): string {
    if (available.length < azCount) {
        throw new Error(
            `network.azCount is ${azCount} but the region has only ${available.length} available AZs (${available.join(", ")}); lower network.azCount`,
        );
    }
    return available[index];
}
