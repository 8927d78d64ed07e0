/**
 * @module A supervised JetStream pull-consumer loop. It (re)creates its durable consumer, consumes,
 * acknowledges after the handler committed, and starts over when the stream or consumer disappears
 * (e.g. a wiped stream) or the link drops. Handlers must be idempotent: redelivery happens.
 */
import type { JsMsg } from '@nats-io/jetstream';
import { ensureConsumer } from './streams.ts';
import type { Logger } from './log.ts';
import type { NatsLink } from './nats-link.ts';

export interface ConsumerSpec {
  stream: string;
  durable: string;
  filterSubjects: string[];
  /** Process one message; resolve to acknowledge. Throwing asks for redelivery after a delay. */
  handle: (msg: JsMsg) => Promise<void> | void;
  /**
   * Bind to a consumer someone else created (with NATS permissions the hub creates each node's
   * consumer, because a node allowed to create one could choose any filter). Default false.
   */
  bindOnly?: boolean;
  /** Optional hook run before each (re)bind, e.g. the hub re-creating its streams. */
  beforeBind?: () => Promise<void>;
  /**
   * After this many failed deliveries a message is given up on: `onPoison` records it and it is
   * acknowledged, so one unprocessable message cannot stall the stream forever. Default 10.
   */
  maxDeliveries?: number;
  onPoison?: (msg: JsMsg, err: unknown) => void;
}

export class ConsumerLoop {
  private stopped = false;
  private running: Promise<void> | null = null;
  private abort: (() => void) | null = null;

  constructor(
    private readonly link: NatsLink,
    private readonly spec: ConsumerSpec,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort?.();
    this.wake();
    await this.running;
  }

  /** Resolves waits in the loop when stop() is called (so a stop while connecting does not wait for NATS). */
  private wake: () => void = () => {};
  private readonly stopping = new Promise<void>((r) => (this.wake = r));

  private async loop(): Promise<void> {
    while (!this.stopped) {
      try {
        await Promise.race([this.link.whenConnected(60_000), this.stopping]);
      } catch {
        continue;
      }
      if (this.stopped) break;
      try {
        await this.consumeOnce();
      } catch (err) {
        if (!this.stopped) this.log.warn({ event: 'consumer.restart', durable: this.spec.durable, err: String(err) }, 'consumer restarting');
      }
      if (!this.stopped) await Promise.race([new Promise((r) => setTimeout(r, 500)), this.stopping]);
    }
  }

  private async consumeOnce(): Promise<void> {
    const jsm = this.link.jsm;
    const js = this.link.js;
    if (!jsm || !js) return;
    await this.spec.beforeBind?.();
    if (!this.spec.bindOnly) await ensureConsumer(jsm, this.spec.stream, this.spec.durable, this.spec.filterSubjects);
    const consumer = await js.consumers.get(this.spec.stream, this.spec.durable);
    const messages = await consumer.consume({ max_messages: 512, abort_on_missing_resource: true });
    this.abort = () => void messages.close();
    // stop() may have run while binding, before there was anything to abort.
    if (this.stopped) void messages.close();
    // A lost link must end this iteration, so the loop re-binds after reconnect.
    const offConnect = this.link.onConnect(() => void messages.close());
    try {
      for await (const msg of messages) {
        if (this.stopped) break;
        try {
          await this.spec.handle(msg);
          msg.ack();
        } catch (err) {
          if (msg.info.deliveryCount >= (this.spec.maxDeliveries ?? 10)) {
            this.log.error({ event: 'consumer.poison', durable: this.spec.durable, subject: msg.subject, deliveries: msg.info.deliveryCount, err: String(err) }, 'giving up on message');
            this.spec.onPoison?.(msg, err);
            msg.ack();
          } else {
            this.log.error({ event: 'consumer.handler_failed', durable: this.spec.durable, subject: msg.subject, err: String(err) }, 'handler failed; redelivering');
            msg.nak(1_000);
          }
        }
      }
    } finally {
      offConnect();
      this.abort = null;
    }
  }
}
