/**
 * @module Drains the outbox into JetStream: sign each row, publish with message id `<node>:<seq>`
 * (JetStream drops a re-send inside its duplicate window; the receiver's inbox drops it after),
 * delete the row only once acknowledged. Publishes are pipelined in windows, and only the
 * acknowledged prefix of a window is deleted, so a failure keeps the stream in outbox order.
 */
import type { Identity } from '../identity.ts';
import type { Logger } from '../log.ts';
import type { NatsLink } from './link.ts';
import type { Outbox, OutboxRow } from '../storage/outbox.ts';
import type { MessageType } from '../../protocol/messages.ts';

export interface PublisherOptions {
  window?: number;
  retryMs?: number;
  /**
   * Resolves once publishing makes sense (the hub: its streams exist since the last connect); a
   * rejection means "not yet": retried after `retryMs` without a warning.
   */
  ready?: () => Promise<void>;
}

export class OutboxPublisher {
  private wake: (() => void) | null = null;
  private stopped = false;
  private running: Promise<void> | null = null;
  lastAckAt: string | null = null;
  published = 0;

  constructor(
    private readonly outbox: Outbox,
    private readonly link: NatsLink,
    private readonly identity: Identity,
    private readonly log: Logger,
    private readonly options: PublisherOptions = {},
  ) {}

  start(): void {
    const poke = () => this.wake?.();
    this.outbox.onAdd(poke);
    this.link.onConnect(poke);
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.running;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  private async loop(): Promise<void> {
    const window = this.options.window ?? 128;
    const retryMs = this.options.retryMs ?? 1_000;
    while (!this.stopped) {
      const js = this.link.js;
      const rows = js ? this.outbox.peek(0, window) : [];
      if (!js || rows.length === 0) {
        // Rows may also be queued by another process on the same database (the CLI), so poll too.
        await this.sleep(js ? 1_000 : retryMs);
        continue;
      }
      if (this.options.ready) {
        try {
          await this.options.ready();
        } catch (err) {
          this.log.debug({ event: 'outbox.not_ready', err: String(err) }, 'not publishing yet');
          await this.sleep(retryMs);
          continue;
        }
      }
      const results = await Promise.allSettled(rows.map((row) => this.publishOne(row)));
      let failed = false;
      for (let i = 0; i < rows.length; i++) {
        const r = results[i]!;
        if (r.status === 'rejected') {
          failed = true;
          this.log.warn({ event: 'outbox.publish_failed', seq: rows[i]!.seq, subject: rows[i]!.subject, err: String(r.reason) }, 'publish failed; will retry');
          break;
        }
        this.outbox.remove(rows[i]!.seq);
        this.published++;
        this.lastAckAt = new Date().toISOString();
      }
      if (failed) await this.sleep(retryMs);
    }
  }

  private async publishOne(row: OutboxRow): Promise<void> {
    const js = this.link.js;
    if (!js) throw new Error('NATS not connected');
    const bytes = this.identity.seal(row.type as MessageType, row.seq, row.payload as never, new Date(row.createdAt));
    await js.publish(row.subject, bytes, { msgID: `${this.identity.nodeId}:${row.seq}`, timeout: 5_000 });
  }
}
