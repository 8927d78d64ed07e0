/**
 * @module A supervised JetStream pull-consumer loop. It (re)creates its durable consumer, consumes,
 * acknowledges after the handler committed, and starts over when the stream or consumer disappears
 * (e.g. a wiped stream) or the link drops. Handlers must be idempotent: redelivery happens.
 */
import type { JsMsg } from '@nats-io/jetstream';
import { ensureConsumer } from './streams.ts';
import type { Logger } from '../log.ts';
import type { NatsLink } from './link.ts';

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
  /**
   * Loops sharing one `FairTurns` handle their messages one at a time, in turn (round-robin), so a
   * consumer with a deep backlog cannot hold back another whose message just arrived.
   */
  turns?: FairTurns;
}

/**
 * Round-robin turns between consumer loops ("lanes"). A lane asks for the turn before handling one
 * message and gives it back after; the next turn goes to the next waiting lane after the one served
 * last. Turns are handed out from a `setImmediate`, so messages that arrived on the socket meanwhile
 * reach their lane (and it joins the queue) before the next lane is chosen.
 */
export class FairTurns {
  private readonly ring: string[] = [];
  private readonly waiting = new Map<string, () => void>();
  private last = -1;
  private busy = false;
  private scheduled = false;

  /** Resolves when `lane` may handle one message; call `release()` after. One waiter per lane. */
  take(lane: string): Promise<void> {
    if (!this.ring.includes(lane)) this.ring.push(lane);
    return new Promise<void>((resolve) => {
      this.waiting.set(lane, resolve);
      this.schedule();
    });
  }

  release(): void {
    this.busy = false;
    this.schedule();
  }

  private schedule(): void {
    if (this.busy || this.scheduled || this.waiting.size === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.dispatch();
    });
  }

  private dispatch(): void {
    if (this.busy || this.waiting.size === 0) return;
    for (let k = 1; k <= this.ring.length; k++) {
      const i = (this.last + k) % this.ring.length;
      const lane = this.ring[i]!;
      const resolve = this.waiting.get(lane);
      if (!resolve) continue;
      this.waiting.delete(lane);
      this.last = i;
      this.busy = true;
      resolve();
      return;
    }
  }
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
      const turns = this.spec.turns;
      for await (const msg of messages) {
        if (this.stopped) break;
        if (turns) await turns.take(this.spec.durable);
        try {
          // Stopped while waiting for the turn: leave the message to be redelivered.
          if (this.stopped) break;
          await this.handleOne(msg);
        } finally {
          turns?.release();
        }
      }
    } finally {
      offConnect();
      this.abort = null;
    }
  }

  private async handleOne(msg: JsMsg): Promise<void> {
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
}
