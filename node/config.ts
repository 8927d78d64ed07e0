/** @module County node configuration (`jilian.json` written by `jilian node init`). */
import { z } from 'zod';
import { NODE_ID_RE } from '../protocol/envelope.ts';
import { countyCode } from '../protocol/messages.ts';
import { LoginConfig } from '../engine/accounts/client-address.ts';

export const NodeConfig = z
  .object({
    role: z.literal('node'),
    nodeId: z.string().regex(NODE_ID_RE),
    county: countyCode,
    countyName: z.string().min(1),
    municipality: countyCode,
    nats: z.array(z.string().min(1)).min(1),
    http: z.object({ host: z.string().default('127.0.0.1'), port: z.number().int().min(0).max(65535) }),
    hub: z.object({ nodeId: z.string().regex(NODE_ID_RE), publicKey: z.string().min(1), encryptionKey: z.string().min(1).optional() }),
    /** NATS user nkey seed written by `enroll` (relative to the data directory); absent = no NATS auth. */
    natsSeedFile: z.string().optional(),
    /** Relative to the data directory. */
    database: z.string().default('jilian.db'),
    keyFile: z.string().default('keys/signing.json'),
    encryptionKeyFile: z.string().default('keys/encryption.json'),
    /** Yjs client id of this replica; unique per node, never reused (see ARCHITECTURE.md). */
    yjsClientId: z.number().int().min(1).max(0x7fffffff),
    antiEntropyMs: z.number().int().min(500).default(30_000),
    maxBodyBytes: z
      .number()
      .int()
      .min(1024)
      .default(1024 * 1024),
    /** Regulation preset (jincheng, yaohai, jiyuan, hebi, jiaozuo) and overrides: deadlines, retention … (protocol/policy.ts). */
    policy: z.string().default('jincheng'),
    policyOverrides: z.unknown().optional(),
    /** How often a signed audit checkpoint goes to the hub (only when the log grew). */
    auditCheckpointMinutes: z.number().min(0.01).default(10),
    /** Import and migration rejects are kept this many days after their import finished (node/frontend/rejects-retention.ts). */
    rejectsRetentionDays: z.number().int().min(1).default(30),
    /** How often the update-cycle package schedule is evaluated (node/packages/schedule.ts). */
    packageScheduleSeconds: z.number().min(0.05).default(60),
    /** A batch grant's shaped snapshot (node/sharing/grant-packages.ts) is rebuilt at most this often. */
    grantPackageMinSeconds: z.number().min(0).default(300),
    logFile: z.string().optional(),
    /** Password login: trusted reverse proxies (X-Forwarded-For), hashing concurrency and queue (engine/accounts/client-address.ts). */
    login: LoginConfig.optional(),
  })
  .strict();
export type NodeConfig = z.infer<typeof NodeConfig>;
