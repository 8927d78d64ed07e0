// Types for ensure-nats.mjs (kept as plain .mjs so it runs before node_modules exists).

/** Minimum nats-server version Jilian needs ("2.10.23"). */
export declare const MIN_NATS_VERSION: string;

/** `<bin> --version` parsed to "x.y.z", or null if not runnable / unparsable. */
export declare function natsServerVersion(bin: string): Promise<string | null>;

/**
 * Absolute path of a nats-server >= MIN_NATS_VERSION: $JILIAN_NATS_SERVER,
 * else tools/nats/nats-server, else PATH, else installed into tools/nats/.
 * Rejects with an actionable message if none can be found or installed.
 */
export declare function ensureNatsServer(): Promise<string>;
