/**
 * @module The NATS side of cascaded access at the provider: subscribes to
 * `jl.<muni>.serve.<county>.access` and replies with what the access server
 * (node/sharing/access-server.ts) answers. No decisions here.
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { serveSubject } from '../../protocol/subjects.ts';
import type { Logger } from '../../engine/log.ts';

/** What the transport needs of the access server. */
export interface ForwardHandler {
  answer(bytes: Uint8Array): Promise<Uint8Array>;
}

export class AccessServerTransport {
  private sub: Subscription | null = null;

  constructor(
    private readonly server: ForwardHandler,
    private readonly municipality: string,
    private readonly county: string,
    private readonly log: Logger,
  ) {}

  listen(nc: NatsConnection): void {
    if (this.sub) return;
    this.sub = nc.subscribe(serveSubject(this.municipality, this.county, 'access'), {
      callback: (err, msg) => {
        if (!err) this.onForward(msg);
      },
    });
  }

  close(): void {
    this.sub?.unsubscribe();
    this.sub = null;
  }

  private onForward(msg: Msg): void {
    void this.server
      .answer(msg.data)
      .then((reply) => {
        if (msg.reply) msg.respond(reply);
      })
      .catch((err) => this.log.error({ event: 'access.error', err: String(err) }, 'access answer failed'));
  }
}
