/**
 * @module The WAN link: one NATS connection that is allowed to be down. Start-up never waits for
 * it; nats.js reconnects by itself, and we only observe its status to know when to re-sync.
 */
import { connect, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from '../log.ts';

export interface LinkState {
  connected: boolean;
  /** Last time the connection was (re)established, ISO; null if never. */
  connectedAt: string | null;
  /** Last time a message from the other side was received, ISO; set by the owner via `touch()`. */
  lastContactAt: string | null;
}

export class NatsLink {
  private nc: NatsConnection | null = null;
  private jsClient: JetStreamClient | null = null;
  private jsmClient: JetStreamManager | null = null;
  private readonly connectListeners = new Set<() => void>();
  private closed = false;
  readonly state: LinkState = { connected: false, connectedAt: null, lastContactAt: null };

  constructor(
    private readonly servers: string[],
    private readonly name: string,
    private readonly log: Logger,
    /** nkey login and reply-inbox prefix (engine/nats-auth.ts); none when the server has no authorization. */
    private readonly auth: Pick<ConnectionOptions, 'authenticator' | 'inboxPrefix'> = {},
  ) {}

  /** Begin connecting in the background; resolves immediately. */
  start(): void {
    void this.run();
  }

  private async run(): Promise<void> {
    try {
      const nc = await connect({
        servers: this.servers,
        name: this.name,
        waitOnFirstConnect: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
        reconnectJitter: 100,
        pingInterval: 5_000,
        maxPingOut: 2,
        // Keep retrying after authorization errors: a fixed server config must not need every node restarted.
        ignoreAuthErrorAbort: true,
        // An Error (with a captured stack) per request only to improve a timeout's trace: measurable on
        // the cascaded-query path, and our timeouts are reported by subject anyway.
        noAsyncTraces: true,
        ...this.auth,
      });
      if (this.closed) return void (await nc.close());
      this.nc = nc;
      this.jsClient = jetstream(nc, { timeout: 5_000 });
      this.jsmClient = await jetstreamManager(nc, { timeout: 5_000, checkAPI: false });
      this.markConnected();
      for await (const s of nc.status()) {
        if (s.type === 'disconnect') {
          this.state.connected = false;
          this.log.warn({ event: 'nats.disconnected' }, 'NATS link down');
        } else if (s.type === 'reconnect') {
          this.markConnected();
        }
      }
    } catch (err) {
      if (!this.closed) this.log.error({ event: 'nats.link_failed', err }, 'NATS link failed');
    }
  }

  private markConnected(): void {
    this.state.connected = true;
    this.state.connectedAt = new Date().toISOString();
    this.log.info({ event: 'nats.connected', server: this.nc?.getServer() }, 'NATS link up');
    for (const l of this.connectListeners) l();
  }

  /** Called on the first connect and on every reconnect. */
  onConnect(listener: () => void): () => void {
    this.connectListeners.add(listener);
    return () => this.connectListeners.delete(listener);
  }

  touch(): void {
    this.state.lastContactAt = new Date().toISOString();
  }

  get connection(): NatsConnection | null {
    return this.state.connected ? this.nc : null;
  }

  get js(): JetStreamClient | null {
    return this.state.connected ? this.jsClient : null;
  }

  get jsm(): JetStreamManager | null {
    return this.state.connected ? this.jsmClient : null;
  }

  /** Resolves once connected, or rejects after `ms`. */
  async whenConnected(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.state.connected) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => (off(), reject(new Error('NATS not connected'))), ms);
      const off = this.onConnect(() => (clearTimeout(timer), off(), resolve()));
      signal?.addEventListener('abort', () => (clearTimeout(timer), off(), reject(new Error('aborted'))), { once: true });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.state.connected = false;
    const nc = this.nc;
    this.nc = null;
    if (nc && !nc.isClosed()) await nc.drain().catch(() => nc.close());
  }
}
