/**
 * @module Chinese-aware search tokens for SQLite FTS5.
 *
 * FTS5's unicode61 tokenizer treats a run of Han characters as one token and the trigram tokenizer
 * cannot match two-character terms such as 人口 or 社保. So we index overlapping bigrams of every Han
 * run (人口基础 → 人口 口基 基础, plus the single character for one-character runs) and lower-cased
 * Latin/digit words, and query with the same bigrams as an FTS5 phrase.
 */

const HAN = /\p{Script=Han}/u;
const TOKEN_RUN = /\p{Script=Han}+|[\p{L}\p{N}]+/gu;

/**
 * Space-separated tokens for the two FTS columns: `bi` (bigrams and Latin words, for phrases) and
 * `uni` (single Han characters, so a one-character query also matches the last character of a run).
 */
export function indexTokens(text: string): { bi: string; uni: string } {
  const bi: string[] = [];
  const uni = new Set<string>();
  for (const run of text.normalize('NFKC').match(TOKEN_RUN) ?? []) {
    if (HAN.test(run[0] ?? '')) {
      bi.push(...hanBigrams(run));
      for (const ch of run) uni.add(ch);
    } else bi.push(run.toLowerCase());
  }
  return { bi: bi.join(' '), uni: [...uni].join(' ') };
}

function hanBigrams(run: string): string[] {
  const chars = [...run];
  if (chars.length === 1) return chars;
  const grams: string[] = [];
  for (let i = 0; i + 1 < chars.length; i++) grams.push(chars[i]! + chars[i + 1]!);
  return grams;
}

/**
 * An FTS5 MATCH expression for a user query, or null when the query has no searchable token.
 * Each term must match (AND): a Han run as a phrase of its bigrams, a single Han character in the
 * `uni` column, a Latin/digit word as a prefix.
 */
export function matchExpression(query: string): string | null {
  const terms: string[] = [];
  for (const run of query.normalize('NFKC').match(TOKEN_RUN) ?? []) {
    if (HAN.test(run[0] ?? '')) {
      const chars = [...run];
      terms.push(chars.length === 1 ? `uni : ${quote(run)}` : `bi : ${quote(hanBigrams(run).join(' '))}`);
    } else {
      terms.push(`bi : ${quote(run.toLowerCase())}*`);
    }
  }
  return terms.length ? terms.join(' AND ') : null;
}

function quote(s: string): string {
  return `"${s.replaceAll('"', '""')}"`;
}
