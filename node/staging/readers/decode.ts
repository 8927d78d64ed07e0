/**
 * @module Bytes → text for CSV and NDJSON, detecting the encoding: a UTF-8 BOM means UTF-8; otherwise the
 * bytes up to the first non-ASCII ones (bounded) are tried as strict UTF-8, and GB18030 (a superset of GBK
 * and GB2312, what Chinese Excel saves as "CSV") is used when they are not. UTF-8 stays strict to the end:
 * a file that turns out not to be UTF-8 later is refused, never silently filled with U+FFFD. Decoders are
 * streaming, so a character cut by a chunk boundary is completed by the next chunk.
 */
import { isUtf8 } from 'node:buffer';
import iconv from 'iconv-lite';
import { AppError } from '../../../engine/errors.ts';

export type TextEncodingName = 'utf8' | 'gb18030';

/** Look at most this far for a non-ASCII byte before settling on UTF-8. */
const SNIFF_LIMIT = 4 * 1024 * 1024;
/** …and at least this much once one is seen, so a few odd bytes are judged in context. */
const SNIFF_MIN = 64 * 1024;

export interface DecodeOptions {
  /** Only UTF-8 is acceptable (NDJSON, RFC 8259 §8.1). */
  utf8Only?: boolean;
  /** Told the detected encoding before the first text is produced. */
  onEncoding?: (encoding: TextEncodingName) => void;
}

export interface Detected {
  encoding: TextEncodingName;
  /** The input's bytes from the start, BOM removed; for UTF-8, checked chunk by chunk as they pass. */
  bytes: AsyncGenerator<Buffer>;
}

function notUtf8(offset: number): AppError {
  return new AppError('INVALID_REQUEST', `文件不是有效的 UTF-8 编码（约第 ${offset} 字节处）`, `the file is not valid UTF-8 (near byte ${offset})`);
}

const asBuffer = (u: Uint8Array): Buffer => (Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength));

/** Bytes at the end of `buf` that start a UTF-8 sequence not complete within `buf` (0–3). */
export function incompleteTail(buf: Uint8Array): number {
  for (let back = 1; back <= Math.min(3, buf.length); back++) {
    const b = buf[buf.length - back]!;
    if ((b & 0xc0) === 0x80) continue; // continuation byte: keep looking for the lead
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return need > back ? back : 0;
  }
  return 0;
}

/** Sniff the encoding of `input` (reading a bounded prefix) and hand back all of its bytes. */
export async function detectEncoding(input: AsyncIterable<Uint8Array>, opts: DecodeOptions = {}): Promise<Detected> {
  const it = input[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let size = 0;
  let nonAscii = -1;
  let done = false;
  try {
    while (size < SNIFF_LIMIT && (nonAscii < 0 || size < nonAscii + SNIFF_MIN)) {
      const r = await it.next();
      if (r.done) {
        done = true;
        break;
      }
      const chunk = asBuffer(r.value);
      if (nonAscii < 0) {
        for (let i = 0; i < chunk.length; i++) {
          if (chunk[i]! >= 0x80) {
            nonAscii = size + i;
            break;
          }
        }
      }
      head.push(chunk);
      size += chunk.length;
    }
  } catch (err) {
    await it.return?.();
    throw err;
  }
  let first = Buffer.concat(head);
  if (first.length >= 2 && ((first[0] === 0xff && first[1] === 0xfe) || (first[0] === 0xfe && first[1] === 0xff))) {
    await it.return?.();
    throw new AppError('INVALID_REQUEST', '不支持 UTF-16 编码的文件，请另存为 UTF-8 或 GB18030 的 CSV', 'UTF-16 files are not supported; save as CSV in UTF-8 or GB18030');
  }
  const bom = first.length >= 3 && first[0] === 0xef && first[1] === 0xbb && first[2] === 0xbf;
  if (bom) first = first.subarray(3);
  // An incomplete character at the end of the prefix is judged with the next chunk, not here.
  const utf8 = isUtf8(first.subarray(0, first.length - incompleteTail(first)));
  if (!utf8 && (bom || opts.utf8Only)) {
    await it.return?.();
    throw notUtf8(nonAscii);
  }
  const encoding: TextEncodingName = utf8 ? 'utf8' : 'gb18030';
  opts.onEncoding?.(encoding);
  return { encoding, bytes: rest(first, done ? undefined : it, encoding === 'utf8', bom ? 3 : 0) };
}

async function* rest(first: Buffer, it: AsyncIterator<Uint8Array> | undefined, checkUtf8: boolean, offset0: number): AsyncGenerator<Buffer> {
  let carry: Buffer = Buffer.alloc(0);
  let offset = offset0;
  const check = (chunk: Buffer, last: boolean): void => {
    if (!checkUtf8) return;
    const all = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
    const tail = last ? 0 : incompleteTail(all);
    if (!isUtf8(all.subarray(0, all.length - tail))) throw notUtf8(offset - carry.length);
    carry = tail > 0 ? Buffer.from(all.subarray(all.length - tail)) : Buffer.alloc(0);
    offset += chunk.length;
  };
  try {
    check(first, it === undefined);
    if (first.length > 0) yield first;
    if (it === undefined) return;
    for (;;) {
      const r = await it.next();
      if (r.done) break;
      const chunk = asBuffer(r.value);
      check(chunk, false);
      yield chunk;
    }
    check(Buffer.alloc(0), true);
  } finally {
    await it?.return?.();
  }
}

/** Decode `input` into text chunks. Throws AppError on undecodable input. */
export async function* decodeText(input: AsyncIterable<Uint8Array>, opts: DecodeOptions = {}): AsyncGenerator<string> {
  const { encoding, bytes } = await detectEncoding(input, opts);
  const decoder = encoding === 'utf8' ? new TextDecoder('utf-8') : undefined;
  const gb = encoding === 'gb18030' ? iconv.getDecoder('gb18030') : undefined;
  for await (const chunk of bytes) {
    const text = decoder ? decoder.decode(chunk, { stream: true }) : gb!.write(chunk);
    if (text !== '') yield text;
  }
  const end = decoder ? decoder.decode() : (gb!.end() ?? '');
  if (end !== '') yield end;
}
