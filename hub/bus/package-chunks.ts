/**
 * @module The hub's chunk fetches from the PKG stream (PACKAGES.md §11) with nats.js: a JetStream
 * direct get of the last message on the chunk's subject. The receiver (hub/packages/receiver.ts) sees
 * only the `PackageChunkSource` interface.
 */
import { streamNames } from '../../protocol/subjects.ts';
import type { NatsLink } from '../../engine/nats/link.ts';
import type { PackageChunkSource } from '../packages/receiver.ts';

export class JetStreamChunkSource implements PackageChunkSource {
  private readonly stream: string;

  constructor(
    private readonly link: NatsLink,
    municipality: string,
  ) {
    this.stream = streamNames(municipality).pkg;
  }

  ready(): boolean {
    return this.link.jsm !== null;
  }

  async fetchChunk(subject: string): Promise<Uint8Array | null> {
    const jsm = this.link.jsm;
    if (!jsm) return null;
    const msg = await jsm.direct.getMessage(this.stream, { last_by_subj: subject });
    return msg ? msg.data : null;
  }
}
