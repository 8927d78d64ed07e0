/**
 * @module The nats-server configuration the hub generates (`jilian hub nats-config`): one nkey user
 * per active node, allowed to publish only under its own county and to use only its own durable
 * consumer, and to subscribe only to its own inbox prefix. Defence in depth: the hub still verifies
 * every envelope's signature and subject county (PROTOCOL.md §4, §12).
 */
import { ADMIN_CODE_RE, NODE_ID_RE, streamNames } from '../protocol/subjects.ts';
import { nodeInboxPrefix, USER_NKEY_RE } from '../engine/nats/auth.ts';

export interface NatsConfigNode {
  nodeId: string;
  county: string;
  /** The node's user public nkey ('U…'); null (registered without one): no user, cannot connect. */
  nkey: string | null;
  status: 'active' | 'revoked';
}

export interface NatsConfigInput {
  municipality: string;
  hub: { nkey: string };
  nodes: NatsConfigNode[];
  /** `host:port` for clients; omitted: nats-server's default (0.0.0.0:4222). */
  listen?: string;
  /** JetStream store directory; when given, a `jetstream` block with `sync_interval: always` is written. */
  storeDir?: string;
  /** Operator's own config text (TLS, limits, monitoring…), appended verbatim. */
  extra?: string;
  /**
   * Who creates each node's durable DOWN consumer. 'hub' (default): the hub provisions every
   * node's consumer with its filter subjects; a node may only look its own up, pull and acknowledge.
   * 'node' (a node without bindOnly, see engine/consumer.ts): the node may create/update its own consumer, but
   * subject permissions cannot inspect the request body, so such a node could widen its filter to
   * other counties' DOWN subjects. Use 'node' only until the hub provisions consumers.
   */
  consumerCreation?: 'node' | 'hub';
}

export interface UserPermissions {
  publish: string[];
  subscribe: string[];
  /** Let the user publish to the reply subject of a request it received (nats-server `allow_responses`). */
  allowResponses: boolean;
}

/**
 * What one county node needs, and nothing more. Each entry names the nats.js call that needs it.
 * JetStream delivers pull-consumer messages, publish acks and API replies to the requester's
 * reply subject, so a single subscribe permission on the node's inbox prefix covers all replies.
 */
export function nodePermissions(municipality: string, node: { nodeId: string; county: string }, consumerCreation: 'node' | 'hub' = 'hub'): UserPermissions {
  const down = streamNames(municipality).down;
  const id = node.nodeId;
  return {
    publish: [
      `jl.${municipality}.up.${node.county}.>`, // js.publish (OutboxPublisher)
      `jl.${municipality}.rpc.${node.county}.>`, // nc.request (AntiEntropyClient)
      `jl.${municipality}.pkg.${node.county}.>`, // js.publish of raw package chunks (PackageSender)
      // jsm.consumers.add with filter_subjects (ensureConsumer): nats.js uses the "durable" create API
      ...(consumerCreation === 'node' ? [`$JS.API.CONSUMER.DURABLE.CREATE.${down}.${id}`] : []),
      `$JS.API.CONSUMER.INFO.${down}.${id}`, // js.consumers.get; consume() after missed heartbeats
      `$JS.API.CONSUMER.MSG.NEXT.${down}.${id}`, // consume(): pull requests
      `$JS.ACK.${down}.${id}.>`, // msg.ack() / msg.nak()
    ],
    subscribe: [
      `${nodeInboxPrefix(id)}.>`, // every reply: PubAcks, API replies, pulled messages, RPC replies
      `jl.${municipality}.serve.${node.county}.>`, // cascaded access the hub routes to this provider (AccessServer)
    ],
    allowResponses: true, // msg.respond() to the hub's access.forward (only to the requester's reply subject)
  };
}

/** The hub administers the streams and every consumer, publishes DOWN, answers RPC requests. */
export function hubPermissions(municipality: string): UserPermissions {
  return {
    publish: [`jl.${municipality}.>`, '$JS.API.>', '$JS.ACK.>'],
    subscribe: [`jl.${municipality}.>`, '_INBOX.>'],
    allowResponses: true, // msg.respond() to a node's `_INBOX_<nodeId>.…` (SyncServer)
  };
}

/** Render a complete nats-server (≥ 2.10) configuration. Revoked nodes, and nodes without an nkey, get no user. */
export function renderNatsConfig(input: NatsConfigInput): string {
  const muni = input.municipality;
  if (!ADMIN_CODE_RE.test(muni)) throw new Error(`municipality "${muni}" must be a 6-digit administrative code`);
  const seen = new Set<string>();
  const checkKey = (nkey: string, who: string) => {
    if (!USER_NKEY_RE.test(nkey)) throw new Error(`${who}: "${nkey}" is not a user public nkey (U…)`);
    if (seen.has(nkey)) throw new Error(`${who}: nkey ${nkey} is used twice`);
    seen.add(nkey);
  };
  checkKey(input.hub.nkey, 'hub');
  const ids = new Set<string>();
  const active = input.nodes.filter((n): n is NatsConfigNode & { nkey: string } => n.status === 'active' && n.nkey !== null);
  for (const n of input.nodes) {
    if (!NODE_ID_RE.test(n.nodeId)) throw new Error(`node id "${n.nodeId}" must match ${NODE_ID_RE}`);
    if (!ADMIN_CODE_RE.test(n.county)) throw new Error(`node ${n.nodeId}: county "${n.county}" must be a 6-digit administrative code`);
    if (ids.has(n.nodeId)) throw new Error(`node ${n.nodeId} is listed twice`);
    ids.add(n.nodeId);
  }
  for (const n of active) checkKey(n.nkey, `node ${n.nodeId}`);
  if (input.listen !== undefined && !/^[A-Za-z0-9.:[\]-]+:[0-9]{1,5}$/.test(input.listen)) throw new Error(`listen "${input.listen}" must be host:port`);

  const q = JSON.stringify; // nats-server reads JSON-style quoted strings; quoting also keeps `$JS…` literal
  const list = (xs: string[]) => `[${xs.map((x) => q(x)).join(', ')}]`;
  const user = (nkey: string, p: UserPermissions) =>
    [
      `    {`,
      `      nkey: ${q(nkey)}`,
      `      permissions: {`,
      `        publish: { allow: ${list(p.publish)} }`,
      `        subscribe: { allow: ${list(p.subscribe)} }`,
      ...(p.allowResponses ? [`        allow_responses: true`] : []),
      `      }`,
      `    }`,
    ].join('\n');

  const revoked = input.nodes.filter((n) => n.status !== 'active').map((n) => n.nodeId);
  const keyless = input.nodes.filter((n) => n.status === 'active' && n.nkey === null).map((n) => n.nodeId);
  return [
    `# nats-server configuration for Jilian municipality ${muni}, generated by \`jilian hub nats-config\`.`,
    `# Do not edit by hand: re-generate after registering or revoking a node, then reload nats-server.`,
    ...(revoked.length ? [`# Revoked, no user: ${revoked.join(', ')}`] : []),
    ...(keyless.length ? [`# No NATS nkey registered, no user: ${keyless.join(', ')}`] : []),
    ...(input.listen !== undefined ? [`listen: ${q(input.listen)}`] : []),
    ...(input.storeDir !== undefined ? [`jetstream {`, `  store_dir: ${q(input.storeDir)}`, `  sync_interval: always`, `}`] : []),
    `authorization {`,
    `  users = [`,
    `    # hub`,
    user(input.hub.nkey, hubPermissions(muni)),
    ...active.flatMap((n) => [`    # ${n.nodeId} (county ${n.county})`, user(n.nkey, nodePermissions(muni, n, input.consumerCreation ?? 'hub'))]),
    `  ]`,
    `}`,
    ...(input.extra ? [input.extra] : []),
    '',
  ].join('\n');
}
