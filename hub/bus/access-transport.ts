/**
 * @module The NATS side of cascaded access on the hub: subscribes to `jl.<muni>.rpc.*.access` (queue
 * `hub`), hands each request to the router (hub/sharing/access-router.ts) and replies with what it
 * returns; forwards to providers with core NATS request/reply (`NatsForwarder`). No decisions here.
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from '../../engine/log.ts';
import type { Forwarder } from '../sharing/access-routing.ts';

/** What the transport needs of the router. */
export interface AccessHandler {
  handle(subject: string, bytes: Uint8Array): Promise<Uint8Array>;
}

export class AccessTransport {
  private sub: Subscription | null = null;

  constructor(
    private readonly router: AccessHandler,
    /** The router's forwarder: it requests on the connection this transport listens on. */
    private readonly forwarder: NatsForwarder,
    private readonly municipality: string,
    private readonly log: Logger,
  ) {}

  listen(nc: NatsConnection): void {
    if (this.sub) return;
    this.forwarder.use(nc);
    this.sub = nc.subscribe(`jl.${this.municipality}.rpc.*.access`, {
      queue: 'hub',
      callback: (err, msg) => {
        if (!err) void this.onRequest(msg);
      },
    });
  }

  close(): void {
    this.sub?.unsubscribe();
    this.sub = null;
  }

  private async onRequest(msg: Msg): Promise<void> {
    const reply = await this.router.handle(msg.subject, msg.data);
    respond(msg, reply, this.log);
  }
}

/** Request/reply on the connection the transport listens on; before it listens, no answer. */
export class NatsForwarder implements Forwarder {
  private nc: NatsConnection | null = null;

  use(nc: NatsConnection): void {
    this.nc = nc;
  }

  async forward(subject: string, bytes: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    const nc = this.nc;
    if (!nc) throw new Error('NATS not connected');
    const reply = await nc.request(subject, bytes, { timeout: timeoutMs });
    return reply.data;
  }
}

/** Reply if the requester waits; a closed or draining connection must not become an unhandled rejection. */
function respond(msg: Msg, data: Uint8Array, log: Logger): void {
  if (!msg.reply) return;
  try {
    msg.respond(data);
  } catch (err) {
    log.warn({ event: 'access.reply_failed', err: String(err) }, 'could not send the answer');
  }
}
