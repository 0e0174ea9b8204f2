// What an address or URL host is, as far as connecting to it goes: loopback, public, or a range no
// one should be sent to (private networks, link-local cloud metadata, reserved). The service's
// outbound guard and the policy pack's endpoint rule both judge hosts with it.
import { BlockList, isIP } from "node:net";

export type AddressVerdict = { kind: "public" } | { kind: "loopback" } | { kind: "forbidden"; reason: string };

function subnets(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [network, prefix] = entry.split("/") as [string, string];
    list.addSubnet(network, Number(prefix), isIP(network) === 6 ? "ipv6" : "ipv4");
  }
  return list;
}

const LOOPBACK = subnets(["127.0.0.0/8", "::1/128"]);
// Checked in this order; the first list holding the address names the reason.
const FORBIDDEN_RANGES: readonly (readonly [string, BlockList])[] = [
  ["unspecified address", subnets(["0.0.0.0/8", "::/128"])],
  ["private address", subnets(["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7", "fec0::/10", "64:ff9b:1::/48"])],
  ["shared address space (carrier-grade NAT)", subnets(["100.64.0.0/10"])],
  ["link-local address (where cloud metadata endpoints live)", subnets(["169.254.0.0/16", "fe80::/10"])],
  ["multicast address", subnets(["224.0.0.0/4", "ff00::/8"])],
  [
    "reserved address",
    subnets([
      "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "240.0.0.0/4",
      "100::/64", "2001::/23", "2001:db8::/32", "3fff::/20",
    ]),
  ],
];
// IPv6 outside global unicast (2000::/3) is reserved or special-purpose; nothing the service needs.
const IPV6_GLOBAL_UNICAST = subnets(["2000::/3"]);

/** The eight 16-bit words of an IPv6 address (zone id dropped), or undefined if it is not one. */
function ipv6Words(address: string): number[] | undefined {
  let canonical: string;
  try {
    // The URL parser already knows every IPv6 spelling (embedded dotted quads included) and
    // answers in a compressed, hex-only form, which leaves only "::" to expand.
    canonical = new URL(`http://[${address.replace(/%.*$/, "")}]`).hostname.slice(1, -1);
  } catch {
    return undefined;
  }
  const words = (part: string) => (part === "" ? [] : part.split(":").map((word) => Number.parseInt(word, 16)));
  const [head, tail] = canonical.split("::") as [string, string | undefined];
  if (tail === undefined) return words(head);
  const [before, after] = [words(head), words(tail)];
  return [...before, ...new Array<number>(8 - before.length - after.length).fill(0), ...after];
}

const dottedQuad = (high: number, low: number) => `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;

/** The IPv4 address an IPv6 address carries, for the forms that route to it. */
function embeddedIpv4(words: readonly number[]): { ipv4: string; form: string } | undefined {
  const w = (i: number) => words[i] ?? 0;
  const zeroes = (from: number, to: number) => words.slice(from, to).every((word) => word === 0);
  if (zeroes(0, 5) && w(5) === 0xffff) return { ipv4: dottedQuad(w(6), w(7)), form: "IPv4-mapped" };
  if (zeroes(0, 4) && w(4) === 0xffff && w(5) === 0) return { ipv4: dottedQuad(w(6), w(7)), form: "IPv4-translated" };
  if (zeroes(0, 6) && !(w(6) === 0 && w(7) <= 1)) return { ipv4: dottedQuad(w(6), w(7)), form: "IPv4-compatible" };
  if (w(0) === 0x64 && w(1) === 0xff9b && zeroes(2, 6)) return { ipv4: dottedQuad(w(6), w(7)), form: "NAT64" };
  if (w(0) === 0x2002) return { ipv4: dottedQuad(w(1), w(2)), form: "6to4" };
  return undefined;
}

function classifyIpv4(address: string): AddressVerdict {
  if (LOOPBACK.check(address, "ipv4")) return { kind: "loopback" };
  for (const [reason, ranges] of FORBIDDEN_RANGES) if (ranges.check(address, "ipv4")) return { kind: "forbidden", reason };
  return { kind: "public" };
}

/** What an IP address (v4 or v6, without brackets) is, as far as connecting to it goes. */
export function classifyAddress(address: string): AddressVerdict {
  const family = isIP(address.replace(/%.*$/, ""));
  if (family === 4) return classifyIpv4(address);
  const words = family === 6 ? ipv6Words(address) : undefined;
  if (!words || words.length !== 8) return { kind: "forbidden", reason: "not an IP address" };
  const embedded = embeddedIpv4(words);
  if (embedded) {
    const inner = classifyIpv4(embedded.ipv4);
    // An IPv6 spelling of a loopback address is never a development convenience, only a disguise.
    if (inner.kind !== "public") {
      const what = inner.kind === "loopback" ? "loopback address" : inner.reason;
      return { kind: "forbidden", reason: `${what} (${embedded.ipv4} in ${embedded.form} IPv6 form)` };
    }
    if (embedded.form === "IPv4-compatible") return { kind: "forbidden", reason: "reserved address (deprecated IPv4-compatible IPv6 form)" };
    return inner;
  }
  const canonical = words.map((word) => word.toString(16)).join(":");
  if (LOOPBACK.check(canonical, "ipv6")) return { kind: "loopback" };
  for (const [reason, ranges] of FORBIDDEN_RANGES) if (ranges.check(canonical, "ipv6")) return { kind: "forbidden", reason };
  if (!IPV6_GLOBAL_UNICAST.check(canonical, "ipv6")) return { kind: "forbidden", reason: "reserved address (not global unicast)" };
  return { kind: "public" };
}

export const withoutBrackets = (host: string) => (host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host);
// RFC 6761: localhost and every name under it are loopback.
export const isLoopbackName = (host: string) => host === "localhost" || host.endsWith(".localhost");

/**
 * Whether a URL's host is certainly this machine: `localhost` (every hosts file maps it) or a
 * loopback address. Names under `.localhost` and `localhost.` are loopback by RFC 6761, but a
 * resolver that does not know that asks DNS for them, so they do not count here.
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = withoutBrackets(hostname.toLowerCase());
  return isIP(host.replace(/%.*$/, "")) !== 0 ? classifyAddress(host).kind === "loopback" : host === "localhost";
}
