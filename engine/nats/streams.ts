/** @module JetStream stream and consumer set-up (hub owns streams; each node owns its durable consumer). */
import { AckPolicy, DeliverPolicy, DiscardPolicy, RetentionPolicy, StorageType, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';

/**
 * Size limits of a stream. `discard: 'new'` refuses a publish once a limit is reached (the sender
 * keeps the message in its outbox and retries); with `perSubject` that refusal applies per subject,
 * so one county filling its own subjects is held back without affecting any other county.
 * `discard: 'old'` drops the oldest messages instead (anti-entropy repairs catalog state).
 */
export interface StreamLimits {
  /** Total bytes the stream may hold; -1 = unlimited. */
  maxBytes: number;
  /** Messages kept per subject; -1 = unlimited. */
  maxMsgsPerSubject: number;
  discard: 'old' | 'new';
  /** With discard 'new': refuse per subject (needs maxMsgsPerSubject). */
  discardNewPerSubject?: boolean;
}

export interface StreamSpec {
  name: string;
  subjects: string[];
  /** How long messages stay; anti-entropy repairs anything older. */
  maxAgeMs: number;
  duplicateWindowMs: number;
  /** Package chunks: one message per subject, fetched by subject (direct get). */
  perSubjectOne?: boolean;
  limits?: StreamLimits;
}

/** The stream configuration `ensureStream` creates for a spec. */
export function streamConfig(spec: StreamSpec): Partial<StreamConfig> & { name: string } {
  const limits = spec.limits;
  return {
    name: spec.name,
    subjects: spec.subjects,
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    max_age: nanos(spec.maxAgeMs),
    duplicate_window: nanos(spec.duplicateWindowMs),
    num_replicas: 1,
    ...(limits
      ? {
          max_bytes: limits.maxBytes,
          max_msgs_per_subject: limits.maxMsgsPerSubject,
          discard: limits.discard === 'new' ? DiscardPolicy.New : DiscardPolicy.Old,
          discard_new_per_subject: limits.discard === 'new' && !!limits.discardNewPerSubject && limits.maxMsgsPerSubject > 0,
        }
      : {}),
    ...(spec.perSubjectOne ? { max_msgs_per_subject: 1, allow_direct: true, max_msg_size: 1024 * 1024 } : {}),
  };
}

/** The limit fields compared with a live stream (changed limits are applied to an existing stream). */
const LIMIT_FIELDS = ['max_bytes', 'max_msgs_per_subject', 'discard', 'discard_new_per_subject'] as const;

/**
 * Create the stream if it is missing (idempotent); an existing stream whose limits differ from the
 * spec gets them (e.g. limits introduced after the stream was first created; `onUpdated` hears of it).
 * Returns true if the stream had to be created.
 */
export async function ensureStream(jsm: JetStreamManager, spec: StreamSpec, onUpdated?: (fields: string[]) => void): Promise<boolean> {
  const want = streamConfig(spec);
  let current: StreamConfig;
  try {
    current = (await jsm.streams.info(spec.name)).config;
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await jsm.streams.add(want);
    return true;
  }
  const differs = LIMIT_FIELDS.filter((k) => want[k] !== undefined && normalise(current[k]) !== normalise(want[k]));
  if (differs.length === 0) return false;
  const patch: Partial<StreamConfig> = {};
  for (const k of differs) (patch as Record<string, unknown>)[k] = want[k];
  await jsm.streams.update(spec.name, patch);
  onUpdated?.([...differs]);
  return false;
}

/** nats-server leaves false booleans out of a stream's config. */
function normalise(v: unknown): unknown {
  return v === undefined ? false : v;
}

export interface ConsumerOptions {
  /** Start at this stream sequence instead of the stream's first message. */
  startSeq?: number;
}

/** Create or update a durable, explicitly acknowledged pull consumer. */
export async function ensureConsumer(jsm: JetStreamManager, stream: string, durable: string, filterSubjects: string[], options: ConsumerOptions = {}): Promise<void> {
  await jsm.consumers.add(stream, {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    ...(options.startSeq !== undefined ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: options.startSeq } : { deliver_policy: DeliverPolicy.All }),
    filter_subjects: filterSubjects,
    ack_wait: nanos(30_000),
    max_ack_pending: 2_000,
    max_deliver: -1,
  });
}

export function isNotFound(err: unknown): boolean {
  const e = err as { code?: unknown; api_error?: { err_code?: number }; message?: string };
  return e?.api_error?.err_code === 10059 || e?.api_error?.err_code === 10014 || e?.code === '404' || /not found/i.test(String(e?.message));
}
