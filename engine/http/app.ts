/**
 * @module HTTP plumbing shared by node and hub: an access log, JSON errors mapped in one place (`toAppError`),
 * body limit (413), zod-validated JSON bodies, bearer-token authentication.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context, Hono, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { routePath } from 'hono/route';
import { ZodError, type z } from 'zod';
import { AppError, ERROR_STATUS, isDomainError, toAppError, type ErrorCode, type FieldIssue } from '../errors.ts';
import type { Logger } from '../log.ts';
import { validate } from '../validate.ts';

/** What every error response body looks like. */
export interface ErrorBody {
  error: { code: ErrorCode; message: { 'zh-CN': string; en: string }; fields: FieldIssue[] };
}

export function errorBody(err: AppError): ErrorBody {
  return { error: { code: err.code, message: { 'zh-CN': err.zh, en: err.en }, fields: err.fields } };
}

/**
 * The route pattern that answered (`/api/v1/catalog/entries/:id`), never the raw path or query, which
 * may carry ID numbers or names; null when no route matched (404).
 */
function routeOf(c: Context): string | null {
  for (const r of [routePath(c), routePath(c, -1)]) if (r && r !== '*' && r !== '/*') return r;
  return null;
}

/**
 * One JSON line per request (`http.access`): method, route pattern, status, duration, bytes sent.
 * Deliberately no headers (Authorization, cookies), no query string, no raw path, no client address:
 * none of it is needed to operate the service and all of it can carry tokens or personal data.
 * `bytes` counts what went onto the connection for this response (status line and headers included);
 * `aborted` marks a client that went away before the response was complete.
 */
export function accessLog(log: Logger): MiddlewareHandler {
  return async (c, next) => {
    const t0 = performance.now();
    const outgoing = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
    const socket = outgoing?.socket;
    const before = socket?.bytesWritten ?? 0;
    await next();
    const method = c.req.method;
    const route = routeOf(c);
    if (!outgoing) {
      const length = c.res.headers.get('content-length');
      log.info({ event: 'http.access', method, route, status: c.res.status, ms: Math.round(performance.now() - t0), bytes: length === null ? null : Number(length) }, 'http');
      return;
    }
    let done = false;
    const end = (aborted: boolean) => {
      if (done) return;
      done = true;
      const bytes = socket ? socket.bytesWritten - before : null;
      log.info({ event: 'http.access', method, route, status: outgoing.statusCode, ms: Math.round(performance.now() - t0), bytes, ...(aborted ? { aborted } : {}) }, 'http');
    };
    if (outgoing.writableFinished) return end(false);
    outgoing.once('finish', () => end(false));
    outgoing.once('close', () => end(!outgoing.writableFinished));
  };
}

/** Install the access log, error mapping, 404 handler and request body limit on an app. */
export function installErrorHandling(app: Hono<any>, log: Logger, maxBodyBytes: number, streamingPaths: readonly RegExp[] = []): void {
  app.use('*', accessLog(log));
  // Streaming uploads (front-end imports) read the body incrementally with flat memory, so the
  // JSON body limit does not apply to them.
  const tooLarge = async (c: Context) => {
    await drainRequest(c);
    // The upload may still be partly unread; never let the client reuse this connection.
    c.header('Connection', 'close');
    return c.json(errorBody(new AppError('PAYLOAD_TOO_LARGE', `请求体超过 ${maxBodyBytes} 字节上限`, `request body exceeds ${maxBodyBytes} bytes`)), 413);
  };
  const limit = bodyLimit({ maxSize: maxBodyBytes, onError: tooLarge });
  app.use('*', (c, next) => {
    if (streamingPaths.some((re) => re.test(c.req.path))) return next();
    // Decide from the headers when they suffice: hono's bodyLimit touches `request.body`, which makes
    // @hono/node-server build a full web Request and stream for every call (a fifth of a small
    // request's cost); reading the header keeps its direct body path. Chunked bodies still go through it.
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const length = c.req.header('content-length');
    if (length !== undefined && c.req.header('transfer-encoding') === undefined) {
      return Number.parseInt(length, 10) > maxBodyBytes ? tooLarge(c) : next();
    }
    return limit(c, next);
  });
  app.notFound((c) => c.json(errorBody(new AppError('NOT_FOUND', '未找到该资源', 'no such resource')), 404));
  app.onError((err, c) => {
    // Client input is validated with `validate` (an AppError); a ZodError reaching here is a server-side
    // parse that failed — a bug to log and answer 500, not the client's fault.
    const internal = !isDomainError(err) || err instanceof ZodError;
    if (internal) log.error({ event: 'http.unhandled', method: c.req.method, route: routeOf(c), err: String(err), stack: (err as Error).stack }, 'unhandled error');
    const e = internal ? toAppError(null) : toAppError(err);
    return c.json(errorBody(e), ERROR_STATUS[e.code]);
  });
}

/**
 * Read and discard the rest of an oversized upload (bounded) before answering 413: a client that is
 * still sending when the server replies and closes would otherwise see a reset instead of the error.
 */
async function drainRequest(c: Context, maxBytes = 64 * 1024 * 1024, maxMs = 10_000): Promise<void> {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (!incoming || incoming.complete || incoming.readableEnded) return;
  await new Promise<void>((resolve) => {
    let seen = 0;
    const done = () => (clearTimeout(timer), incoming.off('data', onData), resolve());
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > maxBytes) done();
    };
    const timer = setTimeout(done, maxMs);
    incoming.on('data', onData);
    incoming.once('end', done);
    incoming.once('error', done);
    incoming.resume();
  });
}

/** Parse and validate a JSON body; any failure becomes a 400 with field paths. */
export async function jsonBody<T extends z.ZodType>(c: Context, schema: T): Promise<z.infer<T>> {
  if (!(c.req.header('content-type') ?? '').includes('application/json')) {
    throw new AppError('UNSUPPORTED_MEDIA_TYPE', '请求体须为 application/json', 'request body must be application/json');
  }
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch {
    throw new AppError('INVALID_REQUEST', '请求体不是合法的 JSON', 'request body is not valid JSON');
  }
  return validate(schema, raw, 'INVALID_REQUEST');
}

/** SHA-256 hex of an API token: tokens are random 256-bit values, so a fast hash suffices at rest. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** The bearer token of a request, or an UNAUTHENTICATED error. */
export function bearerToken(c: Context): string {
  const m = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '');
  if (!m) throw new AppError('UNAUTHENTICATED', '缺少访问令牌（Authorization: Bearer …）', 'missing bearer token (Authorization: Bearer …)');
  return m[1]!;
}
