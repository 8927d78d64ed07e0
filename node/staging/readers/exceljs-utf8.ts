/**
 * @module exceljs with its streaming XML decoding fixed. exceljs 4.4's `lib/utils/parse-sax.js` decodes every
 * chunk of a sheet's (inflated) XML on its own, so a Chinese character whose UTF-8 bytes straddle two chunks
 * becomes two U+FFFD — in a 1M-row sheet, a few hundred corrupted names and addresses, silently. The fix
 * decodes with one streaming TextDecoder per XML part. It replaces parse-sax in the require cache before
 * exceljs's modules capture it; if exceljs was already loaded unpatched (a caller imported it to write
 * sheets), its modules are dropped from the cache and loaded again, patched.
 */
import { createRequire } from 'node:module';
import { dirname, sep } from 'node:path';

type ExcelJsModule = typeof import('exceljs');

const requireHere = createRequire(import.meta.url);
let loaded: ExcelJsModule | undefined;

interface SaxEvent {
  eventType: 'opentag' | 'text' | 'closetag';
  value: unknown;
}

export function loadExcelJs(): ExcelJsModule {
  if (loaded) return loaded;
  const pkg = requireHere.resolve('exceljs/package.json');
  const root = dirname(pkg) + sep;
  const fromExceljs = createRequire(pkg);
  const parseSaxPath = fromExceljs.resolve('./lib/utils/parse-sax.js');
  const cache = requireHere.cache;
  if (cache[parseSaxPath] && !(cache[parseSaxPath]!.exports as { fixed?: boolean }).fixed) {
    for (const key of Object.keys(cache)) if (key.startsWith(root)) delete cache[key];
  }
  const { SaxesParser } = fromExceljs('saxes') as { SaxesParser: new () => { on(ev: string, cb: (v: unknown) => void): void; write(s: string): void } };
  const { PassThrough } = fromExceljs('readable-stream') as { PassThrough: new () => NodeJS.ReadWriteStream };

  async function* parseSax(iterable: AsyncIterable<Uint8Array | string> & { pipe?: unknown }): AsyncGenerator<SaxEvent[]> {
    let source: AsyncIterable<Uint8Array | string> = iterable;
    if (typeof iterable.pipe === 'function' && !(Symbol.asyncIterator in iterable)) {
      source = (iterable as unknown as NodeJS.ReadableStream).pipe(new PassThrough()) as unknown as AsyncIterable<Uint8Array>;
    }
    const parser = new SaxesParser();
    const decoder = new TextDecoder('utf-8');
    let error: unknown;
    let events: SaxEvent[] = [];
    parser.on('error', (err) => (error = err));
    parser.on('opentag', (value) => events.push({ eventType: 'opentag', value }));
    parser.on('text', (value) => events.push({ eventType: 'text', value }));
    parser.on('closetag', (value) => events.push({ eventType: 'closetag', value }));
    for await (const chunk of source) {
      // stream: true keeps a character cut at the end of this chunk for the next one.
      parser.write(typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }));
      if (error) throw error;
      yield events;
      events = [];
    }
    const rest = decoder.decode();
    if (rest !== '') {
      parser.write(rest);
      if (error) throw error;
      yield events;
    }
  }
  (parseSax as unknown as { fixed: boolean }).fixed = true;
  fromExceljs(parseSaxPath);
  cache[parseSaxPath]!.exports = parseSax;
  loaded = fromExceljs('./excel.js') as ExcelJsModule;
  return loaded;
}
