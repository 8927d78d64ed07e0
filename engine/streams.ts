/** @module JetStream stream and consumer set-up (hub owns streams; each node owns its durable consumer). */
import { AckPolicy, DeliverPolicy, RetentionPolicy, StorageType, type JetStreamManager } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';

export interface StreamSpec {
  name: string;
  subjects: string[];
  /** How long messages stay; anti-entropy repairs anything older. */
  maxAgeMs: number;
  duplicateWindowMs: number;
  /** Package chunks: one message per subject, fetched by subject (direct get). */
  perSubjectOne?: boolean;
}

/** Create the stream if it is missing (idempotent). Returns true if it had to be created. */
export async function ensureStream(jsm: JetStreamManager, spec: StreamSpec): Promise<boolean> {
  try {
    await jsm.streams.info(spec.name);
    return false;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  await jsm.streams.add({
    name: spec.name,
    subjects: spec.subjects,
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    max_age: nanos(spec.maxAgeMs),
    duplicate_window: nanos(spec.duplicateWindowMs),
    num_replicas: 1,
    ...(spec.perSubjectOne ? { max_msgs_per_subject: 1, allow_direct: true, max_msg_size: 1024 * 1024 } : {}),
  });
  return true;
}

/** Create or update a durable, explicitly acknowledged pull consumer. */
export async function ensureConsumer(jsm: JetStreamManager, stream: string, durable: string, filterSubjects: string[]): Promise<void> {
  await jsm.consumers.add(stream, {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
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
