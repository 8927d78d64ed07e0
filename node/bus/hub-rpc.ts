/**
 * @module The node's request/reply to the hub with nats.js, behind node/sharing/hub-rpc.ts's `HubLink`:
 * only `request` of the link's current connection, and null while the link is down.
 */
import type { NatsLink } from '../../engine/nats/link.ts';
import type { HubLink, HubRequester } from '../sharing/hub-rpc.ts';

export function natsHubLink(link: NatsLink): HubLink {
  return {
    get connection(): HubRequester | null {
      const nc = link.connection;
      return nc ? { request: (subject, data, opts) => nc.request(subject, data, opts) } : null;
    },
  };
}
