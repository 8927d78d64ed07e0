/**
 * @module Bind the HTTP listener before anything else starts: a port already in use is then a clear
 * PORT_IN_USE error before the database is opened or written, not a crash after start-up writes.
 * Requests arriving while the process is still starting wait until the app is attached.
 */
import { createAdaptorServer, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { StartupError } from '../storage/data-dir-lock.ts';

type Fetch = (request: Request, env: any) => Response | Promise<Response>;

export interface HttpListener {
  server: ServerType;
  url: string;
  /** Start answering requests with `fetch` (queued requests are answered too). */
  attach(fetch: Fetch): void;
  close(): Promise<void>;
}

export async function listenHttp(host: string, port: number): Promise<HttpListener> {
  let handler: Fetch | null = null;
  let ready!: () => void;
  const attached = new Promise<void>((r) => (ready = r));
  // Once attached, the app's own result is returned as is (a synchronous Response keeps the adapter's fast path).
  const server = createAdaptorServer({ fetch: (req, env) => (handler ? handler(req, env) : attached.then(() => handler!(req, env))) });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      reject(listenError(err, host, port));
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
  const address = server.address() as AddressInfo;
  return {
    server,
    url: `http://${host}:${address.port}`,
    attach(fetch) {
      handler = fetch;
      ready();
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  };
}

function listenError(err: NodeJS.ErrnoException, host: string, port: number): Error {
  const where = `${host}:${port}`;
  if (err.code === 'EADDRINUSE') {
    return new StartupError(
      'PORT_IN_USE',
      `HTTP 地址 ${where} 已被占用（另一个进程正在监听）；请停止该进程，或在配置中或用 --http-port 换一个端口`,
      `HTTP address ${where} is already in use (another process is listening on it); stop that process or choose another port in the config or with --http-port`,
    );
  }
  if (err.code === 'EACCES' || err.code === 'EADDRNOTAVAIL') {
    return new StartupError(
      'HTTP_LISTEN_FAILED',
      `无法在 ${where} 上监听（${err.code}）；请检查配置中的 http.host 与端口`,
      `cannot listen on ${where} (${err.code}); check http.host and the port in the config`,
    );
  }
  return err;
}
