/**
 * Address text: IPv4, CIDR, MAC, "host:port". Strict on purpose: a topology file is written by
 * hand and a lenient parser (leading zeros read as octal, MACs with dashes, missing octets) turns
 * typos into silently wrong networks. Every parser returns either a value or a message that says
 * what is wrong with the text.
 */

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = <T>(message: string): Parsed<T> => ({ ok: false, message });

/** Loose shapes for the JSON Schema (editors); the parsers below are the real check. */
export const IPV4_PATTERN = '^[0-9]{1,3}(\\.[0-9]{1,3}){3}$';
export const CIDR_PATTERN = '^[0-9]{1,3}(\\.[0-9]{1,3}){3}/[0-9]{1,2}$';
export const MAC_PATTERN = '^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$';
export const HOST_PORT_PATTERN = '^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9.-]+):[0-9]{1,5}$';

/** IPv4 dotted quad to a 32-bit unsigned number. */
export function parseIpv4(text: string): Parsed<number> {
  const parts = text.split('.');
  if (parts.length !== 4) return bad(`"${text}" is not an IPv4 address (expected 4 dotted decimal octets)`);
  let value = 0;
  for (const part of parts) {
    if (!/^[0-9]{1,3}$/.test(part)) return bad(`"${text}" is not an IPv4 address (octet "${part}" is not a decimal number)`);
    // "010" is octal to inet_aton but decimal to most people: refuse the ambiguity.
    if (part.length > 1 && part.startsWith('0')) return bad(`"${text}" is not an IPv4 address (octet "${part}" has a leading zero)`);
    const octet = Number(part);
    if (octet > 255) return bad(`"${text}" is not an IPv4 address (octet ${octet} is greater than 255)`);
    value = value * 256 + octet;
  }
  return ok(value);
}

export function formatIpv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff].join('.');
}

export interface Cidr {
  /** Network address, host bits zero. */
  network: number;
  prefixLength: number;
  /** `network/prefixLength` in canonical text. */
  text: string;
}

export function prefixMask(prefixLength: number): number {
  return prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
}

export function parseCidr(text: string): Parsed<Cidr> {
  const slash = text.indexOf('/');
  if (slash < 0) return bad(`"${text}" is not a CIDR block (expected address/prefix-length, e.g. 192.168.200.0/24)`);
  const addr = parseIpv4(text.slice(0, slash));
  if (!addr.ok) return bad(`"${text}" is not a CIDR block: ${addr.message}`);
  const lenText = text.slice(slash + 1);
  if (!/^[0-9]{1,2}$/.test(lenText) || Number(lenText) > 32) {
    return bad(`"${text}" is not a CIDR block (prefix length "${lenText}" must be 0 to 32)`);
  }
  const prefixLength = Number(lenText);
  const network = (addr.value & prefixMask(prefixLength)) >>> 0;
  if (network !== addr.value) {
    return bad(`"${text}" has host bits set (did you mean ${formatIpv4(network)}/${prefixLength}?)`);
  }
  return ok({ network, prefixLength, text: `${formatIpv4(network)}/${prefixLength}` });
}

export function cidrContains(cidr: Cidr, address: number): boolean {
  return ((address & prefixMask(cidr.prefixLength)) >>> 0) === cidr.network;
}

/**
 * Why `address` cannot be a unicast host address in `cidr`, or null when it can. The network
 * and broadcast addresses are refused for prefixes up to /30 (on /31 and /32 every address is
 * usable, RFC 3021).
 */
export function hostAddressProblem(cidr: Cidr, address: number): string | null {
  const text = formatIpv4(address);
  if (!cidrContains(cidr, address)) return `${text} is outside the overlay subnet ${cidr.text}`;
  if (cidr.prefixLength <= 30) {
    const broadcast = (cidr.network | (~prefixMask(cidr.prefixLength) >>> 0)) >>> 0;
    if (address === cidr.network) return `${text} is the network address of the overlay subnet ${cidr.text}`;
    if (address === broadcast) return `${text} is the broadcast address of the overlay subnet ${cidr.text}`;
  }
  return null;
}

/** MAC as six colon-separated hex octets; returns the lowercase canonical form. */
export function parseMac(text: string): Parsed<string> {
  if (!new RegExp(MAC_PATTERN).test(text)) {
    return bad(`"${text}" is not a MAC address (expected six colon-separated hex octets, e.g. 02:00:00:00:00:01)`);
  }
  const mac = text.toLowerCase();
  if (mac === '00:00:00:00:00:00') return bad(`"${text}" is the all-zero MAC address`);
  if ((parseInt(mac.slice(0, 2), 16) & 1) === 1) {
    return bad(`"${text}" is a multicast MAC address (the low bit of the first octet is set); a container needs a unicast one`);
  }
  return ok(mac);
}

export interface HostPort {
  /** IPv4 address, host name, or IPv6 address (without brackets). */
  host: string;
  port: number;
}

const HOSTNAME_LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** "host:port" where host is IPv4, a DNS name, or a bracketed IPv6 address. */
export function parseHostPort(text: string): Parsed<HostPort> {
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0 || text[close + 1] !== ':') return bad(`"${text}" is not host:port (bracketed IPv6 must be followed by :port)`);
    host = text.slice(1, close);
    portText = text.slice(close + 2);
    if (!/^[0-9A-Fa-f:.]+$/.test(host) || !host.includes(':')) return bad(`"${text}" is not host:port ("${host}" is not an IPv6 address)`);
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) return bad(`"${text}" is not host:port (missing ":port", e.g. 127.0.0.1:6633)`);
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host === '') return bad(`"${text}" is not host:port (empty host)`);
    if (/^[0-9.]+$/.test(host)) {
      const ip = parseIpv4(host);
      if (!ip.ok) return bad(`"${text}" is not host:port: ${ip.message}`);
    } else if (host.length > 253 || !host.split('.').every((label) => HOSTNAME_LABEL.test(label))) {
      return bad(`"${text}" is not host:port ("${host}" is neither an IPv4 address nor a host name)`);
    }
  }
  if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
    return bad(`"${text}" is not host:port (port "${portText}" must be 1 to 65535)`);
  }
  return ok({ host, port: Number(portText) });
}

/** OVS connection target for a controller address: tcp:IP:PORT, IPv6 in brackets. */
export function ovsTarget(addr: HostPort): string {
  return addr.host.includes(':') ? `tcp:[${addr.host}]:${addr.port}` : `tcp:${addr.host}:${addr.port}`;
}
