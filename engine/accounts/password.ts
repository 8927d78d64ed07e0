/**
 * @module Password hashing with scrypt (node:crypto; libsodium's argon2 is only in the sumo build).
 * Format: `scrypt$N$r$p$salt_b64$hash_b64`, so parameters can be raised later without breaking old hashes.
 *
 * scrypt runs on libuv's thread pool (4 threads unless UV_THREADPOOL_SIZE says otherwise), which file
 * I/O shares. Unbounded, a login flood fills the pool and everything else queues behind tens of
 * seconds of hashing. So every hash — verifying a login, the dummy hash for unknown names, setting a
 * password — passes one process-wide gate: at most `concurrency` hashes run at once (by default half
 * the cores, and always fewer than the pool's threads), at most `queue` wait, and beyond that the
 * caller is refused at once with {@link HashingBusy} (429 with Retry-After). The gate does not look
 * at the name, so a known and an unknown name still cost the same.
 */
import { availableParallelism } from 'node:os';
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { AppError } from '../errors.ts';

const N = 1 << 15;
const R = 8;
const P = 1;
const KEYLEN = 32;

/** Refused because too many hashes are running and waiting; try again after `retryAfterSeconds`. */
export class HashingBusy extends AppError {
  readonly retryAfterSeconds = 1;
  constructor() {
    super('TOO_MANY_ATTEMPTS', '登录请求过多，服务器正忙，请稍后再试', 'too many logins in progress; try again shortly');
  }
}

/** A counting semaphore with a bounded wait queue. */
export class HashGate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  /** Most hashes seen running at once since the last {@link resetPeak} (tests, status). */
  peak = 0;

  constructor(
    private concurrency: number,
    private maxQueue: number,
  ) {}

  configure(opts: { concurrency?: number; queue?: number }): void {
    if (opts.concurrency !== undefined) this.concurrency = Math.max(1, Math.floor(opts.concurrency));
    if (opts.queue !== undefined) this.maxQueue = Math.max(0, Math.floor(opts.queue));
    while (this.running < this.concurrency && this.waiting.length) {
      this.running++;
      this.waiting.shift()!();
    }
  }

  stats(): { running: number; waiting: number; concurrency: number; queue: number; peak: number } {
    return { running: this.running, waiting: this.waiting.length, concurrency: this.concurrency, queue: this.maxQueue, peak: this.peak };
  }

  resetPeak(): void {
    this.peak = this.running;
  }

  /** Run `task` once a slot is free; throws {@link HashingBusy} at once when the queue is full. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) {
      if (this.waiting.length >= this.maxQueue) throw new HashingBusy();
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    // A released slot is handed over directly (running stays counted), so no newcomer can overtake the queue.
    this.peak = Math.max(this.peak, this.running);
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next && this.running <= this.concurrency) next();
      else this.running--;
    }
  }
}

/** Default: half the cores (1 on a 2-core box), and at least one pool thread always left for file I/O. */
export function defaultHashConcurrency(): number {
  const pool = Number.parseInt(process.env['UV_THREADPOOL_SIZE'] ?? '', 10) || 4;
  return Math.max(1, Math.min(Math.floor(availableParallelism() / 2), pool - 1));
}

/** The process-wide gate every scrypt call passes (the thread pool is process-wide too). */
export const hashGate = new HashGate(defaultHashConcurrency(), 32);

/** Set the gate's limits (config `login.hashConcurrency` / `login.hashQueue`); absent values keep the current ones. */
export function configurePasswordHashing(opts: { concurrency?: number | undefined; queue?: number | undefined }): void {
  hashGate.configure({ ...(opts.concurrency !== undefined ? { concurrency: opts.concurrency } : {}), ...(opts.queue !== undefined ? { queue: opts.queue } : {}) });
}

function scrypt(password: string, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return hashGate.run(() => new Promise((resolve, reject) => scryptCb(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key)))));
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, KEYLEN, { N, r: R, p: P, maxmem: 128 * N * R * 2 });
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${key.toString('base64')}`;
}

const PARAM_RE = /^[1-9][0-9]{0,7}$/;

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [alg, n, r, p, salt, hash] = stored.split('$');
  if (alg !== 'scrypt' || !salt || !hash || !PARAM_RE.test(n ?? '') || !PARAM_RE.test(r ?? '') || !PARAM_RE.test(p ?? '')) return false;
  const expected = Buffer.from(hash, 'base64');
  const [cost, block, par] = [Number(n), Number(r), Number(p)];
  const key = await scrypt(password, Buffer.from(salt, 'base64'), expected.length, { N: cost, r: block, p: par, maxmem: 128 * cost * block * 2 });
  return timingSafeEqual(key, expected);
}
