/**
 * @module The address a login is throttled by. It is the TCP peer's address; `X-Forwarded-For` is read
 * only when that peer is a configured trusted proxy (config `login.trustedProxies`: addresses or
 * CIDR ranges), and then the right-most entry that is not itself a trusted proxy is the client. A
 * client that talks to the service directly cannot pick its own throttle key by sending the header.
 */
import { BlockList, isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
import { z } from 'zod';

/** `10.0.0.7`, `::1`, `10.0.0.0/8`, `fd00::/8`. */
export function isAddressOrSubnet(s: string): boolean {
  const [addr, bits, extra] = s.split('/');
  if (extra !== undefined || !addr) return false;
  const family = isIP(addr);
  if (family === 0) return false;
  if (bits === undefined) return true;
  if (!/^(0|[1-9][0-9]{0,2})$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

/** The login section of node and hub configuration (all optional). */
export const LoginConfig = z
  .object({
    /** Reverse proxies whose `X-Forwarded-For` is believed (addresses or CIDR ranges); default none. */
    trustedProxies: z.array(z.string().refine(isAddressOrSubnet, 'IP address or CIDR range')).default([]),
    /** Password hashes run at once, process-wide (default: half the cores, below the libuv pool size). */
    hashConcurrency: z.number().int().min(1).max(64).optional(),
    /** Logins waiting for a hash slot before further ones get 429 at once (default 32). */
    hashQueue: z.number().int().min(0).max(10_000).optional(),
  })
  .strict();
export type LoginConfig = z.input<typeof LoginConfig>;

/** `::ffff:10.0.0.1` → `10.0.0.1`, so an IPv4 peer on a dual-stack socket matches IPv4 rules. */
function normalize(addr: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(addr);
  return m ? m[1]! : addr.toLowerCase();
}

export class TrustedProxies {
  private readonly list = new BlockList();
  readonly empty: boolean;

  constructor(entries: readonly string[] = []) {
    for (const e of entries) {
      if (!isAddressOrSubnet(e)) throw new Error(`trustedProxies: not an IP address or CIDR range: ${e}`);
      const [raw, bits] = e.split('/') as [string, string | undefined];
      const addr = bits === undefined ? normalize(raw) : raw;
      const family = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
      if (bits === undefined) this.list.addAddress(addr, family);
      else this.list.addSubnet(addr, Number(bits), family);
    }
    this.empty = entries.length === 0;
  }

  has(addr: string): boolean {
    if (this.empty) return false;
    const a = normalize(addr);
    const family = isIP(a);
    return family !== 0 && this.list.check(a, family === 6 ? 'ipv6' : 'ipv4');
  }

  /** The client address of a request: the socket peer, or (behind a trusted proxy) the forwarded one. */
  clientAddress(c: Context): string {
    const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
    const peer = incoming?.socket?.remoteAddress;
    if (!peer) return 'unknown';
    let client = normalize(peer);
    if (!this.has(client)) return client;
    const forwarded = (c.req.header('x-forwarded-for') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    // Walk from the nearest hop outwards; every hop a trusted proxy added is believed.
    for (let i = forwarded.length - 1; i >= 0; i--) {
      const hop = normalize(forwarded[i]!);
      if (isIP(hop) === 0) break; // garbage from beyond the trusted chain: keep the last trusted answer
      client = hop;
      if (!this.has(hop)) break;
    }
    return client;
  }
}
