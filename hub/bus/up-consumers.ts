/**
 * @module The hub reads the UP stream through one durable consumer per county (filter
 * `jl.<muni>.up.<county>.>`), served round-robin (engine/consumer.ts FairTurns): a county that floods
 * its subjects only lengthens its own queue, and every other county's next message is handled within
 * a turn. Order within a county is kept (one consumer, one message at a time).
 *
 * Consumers exist for every county in the registry (revoked nodes' messages are still refused and
 * recorded). A message on the subject of a county no node was ever registered for is not read; it
 * ages out of the stream (nats-server permissions let no node publish there).
 *
 * Hubs before this read the stream through one consumer named after the hub over `jl.<muni>.up.>`:
 * on the first start, the per-county consumers begin after its acknowledged floor, and it is deleted.
 */
import type { JetStreamManager, JsMsg } from '@nats-io/jetstream';
import { ConsumerLoop, FairTurns } from '../../engine/nats/consumer.ts';
import { ensureConsumer, isNotFound } from '../../engine/nats/streams.ts';
import type { Logger } from '../../engine/log.ts';
import type { NatsLink } from '../../engine/nats/link.ts';

export interface UpConsumersDeps {
  link: NatsLink;
  log: Logger;
  municipality: string;
  /** The UP stream's name. */
  stream: string;
  /** The hub's node id: consumers are `<hubId>-up-<county>`; the pre-fairness consumer was `<hubId>`. */
  hubId: string;
  /** Counties that have (or had) a registered node. */
  counties: () => string[];
  handle: (msg: JsMsg) => Promise<void> | void;
  onPoison: (msg: JsMsg, err: unknown) => void;
  /** Run before a consumer (re)binds: the hub ensures its streams and these consumers. */
  beforeBind: () => Promise<void>;
}

/** A county's backlog is asked of JetStream at most this often (anti-entropy asks once a round). */
const BACKLOG_CACHE_MS = 1_000;

export function upConsumerName(hubId: string, county: string): string {
  return `${hubId}-up-${county}`;
}

export class UpConsumers {
  private readonly turns = new FairTurns();
  private readonly loops = new Map<string, ConsumerLoop>();
  private readonly backlogs = new Map<string, { at: number; n: number }>();
  private stopped = false;

  constructor(private readonly d: UpConsumersDeps) {}

  /**
   * Make sure every county has its durable consumer on the stream (re-created after a wiped stream)
   * and a running loop. Called whenever the hub ensures its streams.
   */
  async ensure(jsm: JetStreamManager): Promise<void> {
    const counties = [...new Set(this.d.counties())].sort();
    let legacyFloor: number | undefined;
    let legacy = false;
    try {
      const info = await jsm.consumers.info(this.d.stream, this.d.hubId);
      legacy = true;
      legacyFloor = info.ack_floor.stream_seq;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    for (const county of counties) {
      const durable = upConsumerName(this.d.hubId, county);
      try {
        await jsm.consumers.info(this.d.stream, durable);
      } catch (err) {
        if (!isNotFound(err)) throw err;
        await ensureConsumer(jsm, this.d.stream, durable, [`jl.${this.d.municipality}.up.${county}.>`], legacy ? { startSeq: legacyFloor! + 1 } : {});
      }
    }
    if (legacy) {
      await jsm.consumers.delete(this.d.stream, this.d.hubId).catch((err) => {
        if (!isNotFound(err)) throw err;
      });
      this.d.log.info({ event: 'consumer.migrated', from: this.d.hubId, after: legacyFloor, counties: counties.length }, 'UP stream now read per county');
    }
    if (this.stopped) return;
    for (const county of counties) {
      if (this.loops.has(county)) continue;
      const loop = new ConsumerLoop(
        this.d.link,
        {
          stream: this.d.stream,
          durable: upConsumerName(this.d.hubId, county),
          filterSubjects: [`jl.${this.d.municipality}.up.${county}.>`],
          bindOnly: true,
          handle: this.d.handle,
          beforeBind: this.d.beforeBind,
          onPoison: this.d.onPoison,
          turns: this.turns,
        },
        this.d.log,
      );
      this.loops.set(county, loop);
      loop.start();
    }
  }

  /**
   * Messages from `county` on the UP stream not yet applied (its consumer's pending and unacknowledged
   * ones): while there are, the county's anti-entropy would see as missing what is merely queued
   * (hub/sync/sync-server.ts).
   */
  async backlog(county: string): Promise<number> {
    const jsm = this.d.link.jsm;
    if (!jsm || !this.loops.has(county)) return 0;
    const cached = this.backlogs.get(county);
    if (cached && Date.now() - cached.at < BACKLOG_CACHE_MS) return cached.n;
    try {
      const info = await jsm.consumers.info(this.d.stream, upConsumerName(this.d.hubId, county));
      // Not yet delivered, and delivered but not yet acknowledged (buffered here or being handled).
      const n = info.num_pending + info.num_ack_pending;
      this.backlogs.set(county, { at: Date.now(), n });
      return n;
    } catch {
      return 0; // unknown: let anti-entropy compare
    }
  }

  /** Counties being read. */
  get counties(): string[] {
    return [...this.loops.keys()];
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.loops.values()].map((l) => l.stop()));
    this.loops.clear();
  }
}
