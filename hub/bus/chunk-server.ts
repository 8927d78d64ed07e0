/**
 * @module The NATS side of batch-grant chunk serving: subscribes to `jl.<muni>.rpc.*.package.chunk`
 * (queue `hub`) and replies with what the distributor (hub/sharing/batch-grants.ts) serves, the chunk
 * index in the `Jl-Chunk` header. No decisions here.
 */
import { headers as natsHeaders, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import type { Logger } from '../../engine/log.ts';
import type { ChunkReply } from '../sharing/batch-grants.ts';

/** What the transport needs of the distributor. */
export interface ChunkHandler {
  serveChunk(subject: string, bytes: Uint8Array): ChunkReply;
}

export class ChunkServer {
  private sub: Subscription | null = null;

  constructor(
    private readonly handler: ChunkHandler,
    private readonly municipality: string,
    private readonly log: Logger,
  ) {}

  /** Serve chunks to the nodes packages were sealed to, while their grant is usable. */
  listen(nc: NatsConnection): void {
    if (this.sub) return;
    this.sub = nc.subscribe(`jl.${this.municipality}.rpc.*.package.chunk`, {
      queue: 'hub',
      callback: (err, msg) => {
        if (!err) this.serve(msg);
      },
    });
  }

  close(): void {
    this.sub?.unsubscribe();
    this.sub = null;
  }

  private serve(msg: Msg): void {
    try {
      const reply = this.handler.serveChunk(msg.subject, msg.data);
      if (reply.chunkIndex === undefined) return void msg.respond(reply.data);
      const h = natsHeaders();
      h.set('Jl-Chunk', String(reply.chunkIndex));
      msg.respond(reply.data, { headers: h });
    } catch (err) {
      this.log.warn({ event: 'package.chunk_reply_failed', err: String(err) }, 'could not answer a chunk request');
    }
  }
}
