/**
 * @module The node's package chunks onto the PKG stream (PACKAGES.md §11) with nats.js: a JetStream
 * publish per chunk, deduplicated by message id. The sender (node/packages/sender.ts) sees only the
 * `PackageChunkSink` interface.
 */
import type { NatsLink } from '../../engine/nats/link.ts';
import type { PackageChunkSink } from '../packages/sender.ts';

/** How long one chunk publish waits for the stream's ack. */
const PUBLISH_TIMEOUT_MS = 10_000;

export class JetStreamChunkSink implements PackageChunkSink {
  constructor(private readonly link: NatsLink) {}

  async putChunk(subject: string, bytes: Uint8Array, msgId: string): Promise<void> {
    const js = this.link.js;
    if (!js) return;
    await js.publish(subject, bytes, { msgID: msgId, timeout: PUBLISH_TIMEOUT_MS });
  }
}
