/**
 * @module What node/sharing needs to ask the hub something and wait for the answer (core NATS
 * request/reply, implemented in node/bus/hub-rpc.ts): the domain never holds the NATS connection.
 */

/** One reply: its bytes and, if it has any, its headers. */
export interface HubReply {
  data: Uint8Array;
  headers?: { get(key: string): string } | undefined;
}

/** Request/reply over the link while it is up; rejects when nobody answers within `timeout` ms. */
export interface HubRequester {
  request(subject: string, data: Uint8Array, opts: { timeout: number }): Promise<HubReply>;
}

/** The link to the hub: a requester while connected, null while the link is down. */
export interface HubLink {
  readonly connection: HubRequester | null;
}
