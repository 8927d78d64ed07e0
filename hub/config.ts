/** @module Municipal hub configuration (`jilian.json` written by `jilian hub init`). */
import { z } from 'zod';
import { NODE_ID_RE } from '../protocol/envelope.ts';
import { countyCode } from '../protocol/messages.ts';
import { LoginConfig } from '../engine/accounts/client-address.ts';
import { DEFAULT_CODE_TEMPLATE } from './catalog/code-template.ts';

export const HubConfig = z
  .object({
    role: z.literal('hub'),
    nodeId: z.string().regex(NODE_ID_RE),
    municipality: countyCode,
    municipalityName: z.string().min(1),
    nats: z.array(z.string().min(1)).min(1),
    http: z.object({ host: z.string().default('127.0.0.1'), port: z.number().int().min(0).max(65535) }),
    database: z.string().default('hub.db'),
    keyFile: z.string().default('keys/signing.json'),
    encryptionKeyFile: z.string().default('keys/encryption.json'),
    /** The hub's NATS user nkey seed (written by init); absent = connect without NATS auth. */
    natsSeedFile: z.string().optional(),
    /** Authorization file the hub keeps current (nats-server.conf includes it); absent = operator runs `jilian hub nats-config`. */
    natsAuthFile: z.string().optional(),
    /** Command that makes nats-server reload its configuration after the file changed. */
    natsReloadCommand: z.array(z.string()).optional(),
    /** NATS addresses handed to enrolling nodes (default: the hub's own `nats`). */
    publicNats: z.array(z.string().min(1)).optional(),
    yjsClientId: z.number().int().min(1).max(0x7fffffff),
    /** Unified resource code template (Jincheng §13); see hub/catalog/code-template.ts. */
    codeTemplate: z.string().default(DEFAULT_CODE_TEMPLATE),
    /** How often the hub checks its streams exist (re-creating a wiped one). */
    streamCheckMs: z.number().int().min(200).default(5_000),
    streamMaxAgeDays: z.number().int().min(1).default(7),
    /**
     * Stream size limits (-1 = unlimited). nats-server reserves `max_bytes` in its file store when a
     * stream is created, so the sum must fit the server's `max_file_store`. Past a limit the oldest
     * messages go (discard old), per subject first: a county flooding its own UP subjects evicts its
     * own old messages, not other counties'. What is evicted before it was read is catalog state
     * anti-entropy repairs, or a package chunk the hub asks for again.
     */
    upStreamMaxBytes: z
      .number()
      .int()
      .min(-1)
      .default(1024 ** 3),
    upStreamMaxMsgsPerSubject: z.number().int().min(-1).default(200_000),
    downStreamMaxBytes: z
      .number()
      .int()
      .min(-1)
      .default(2 * 1024 ** 3),
    downStreamMaxMsgsPerSubject: z.number().int().min(-1).default(-1),
    pkgStreamMaxBytes: z.number().int().min(-1).default(-1),
    /** After a node rotates its signing key, its old key is still accepted this long (messages in flight). */
    keyGraceHours: z.number().min(0).default(72),
    maxBodyBytes: z
      .number()
      .int()
      .min(1024)
      .default(1024 * 1024),
    /** Password login: trusted reverse proxies (X-Forwarded-For), hashing concurrency and queue (engine/accounts/client-address.ts). */
    login: LoginConfig.optional(),
    /** Regulation preset (jincheng, yaohai, jiyuan, hebi, jiaozuo) and overrides (protocol/policy.ts). */
    policy: z.string().default('jincheng'),
    policyOverrides: z.unknown().optional(),
    /** Operator-edited statutory holidays for years the calendar library lacks (engine/calendar/overrides.ts), relative to the data directory. */
    calendarOverridesFile: z.string().optional(),
    /** How often sharing deadlines, silent consent and unused grants are checked. */
    sharingTickSeconds: z.number().min(0.05).default(60),
    /** How often stored packages are re-sealed and sent to batch grantees. */
    batchDistributeSeconds: z.number().min(0.05).default(5),
    /** How long a provider node has to answer a cascaded access before it counts as offline. */
    accessForwardTimeoutMs: z.number().int().min(100).default(5_000),
    /** Cross-verification rate per grant and minute written into new grants. */
    verifyRatePerMinute: z.number().int().min(1).max(100_000).default(600),
    logFile: z.string().optional(),
  })
  .strict();
export type HubConfig = z.infer<typeof HubConfig>;
