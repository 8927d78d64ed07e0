/**
 * @module Keeps the nats-server authorization file in step with the node registry: after a node is
 * enrolled, registered or revoked (by API or CLI), the next check rewrites the file and runs the
 * configured reload command, so a revoked node loses its NATS access within `streamCheckMs`.
 * The file holds only the `authorization` block; the operator's nats-server.conf includes it.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Logger } from '../engine/log.ts';
import { renderNatsConfig } from './nats-config.ts';
import type { NodeRegistry } from './storage/registry.ts';

export interface NatsConfigSyncDeps {
  registry: NodeRegistry;
  municipality: string;
  hubNkey: string;
  file: string;
  /** e.g. ["nats-server", "--signal", "reload=/var/run/nats-server.pid"]; none = write only. */
  reloadCommand?: string[];
  log: Logger;
}

export class NatsConfigSync {
  constructor(private readonly d: NatsConfigSyncDeps) {}

  /** Rewrite the file if the registry changed it, then reload nats-server. Returns whether it changed. */
  async sync(): Promise<boolean> {
    const text = renderNatsConfig({
      municipality: this.d.municipality,
      hub: { nkey: this.d.hubNkey },
      nodes: this.d.registry.list().map((n) => ({ nodeId: n.nodeId, county: n.county, nkey: n.natsNkey, status: n.status })),
    });
    if (existsSync(this.d.file) && readFileSync(this.d.file, 'utf8') === text) return false;
    // Write then rename, so nats-server never reads a half-written file.
    writeFileSync(`${this.d.file}.tmp`, text, { mode: 0o640 });
    renameSync(`${this.d.file}.tmp`, this.d.file);
    this.d.log.info({ event: 'nats.config_written', file: this.d.file }, 'NATS authorization updated');
    const cmd = this.d.reloadCommand;
    if (cmd?.length) {
      await new Promise<void>((resolve, reject) =>
        execFile(cmd[0]!, cmd.slice(1), { timeout: 10_000 }, (err, _out, stderr) => (err ? reject(new Error(`${cmd.join(' ')} failed: ${stderr || err.message}`)) : resolve())),
      );
      this.d.log.info({ event: 'nats.reloaded' }, 'nats-server reloaded');
    }
    return true;
  }
}
