/**
 * After an outage, anti-entropy must not queue again what already waits in the outbox: the entries
 * created while NATS was down go out once each (not once from the outbox and once more as an
 * anti-entropy push), and everything still converges.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { api, Cluster, deptOf, waitFor } from '../helpers/cluster.ts';
import { sampleFor } from '../helpers/entries.ts';

const A = '410802';
const B = '410803';
const EDITS = 150;

describe('anti-entropy after an outage', () => {
  let c: Cluster;
  before(async () => {
    c = await Cluster.start([A, B], { antiEntropyMs: 1_000 });
  });
  after(async () => {
    await c.stop();
  });

  it('does not re-queue entries whose update is still in the outbox', { timeout: 120_000 }, async () => {
    const a = c.node(A).running!;
    const token = c.node(A).token;
    const depth = () => (a.db.prepare("SELECT COUNT(*) AS n FROM outbox WHERE type = 'catalog.update'").get() as { n: number }).n;
    await waitFor('A outbox empty', () => depth() === 0);

    await c.nats.stop();
    await waitFor('A notices the link is down', () => !a.link.state.connected);
    const ids: string[] = [];
    for (let i = 0; i < EDITS; i++) {
      const r = await api(a.url, token, 'POST', '/api/v1/catalog/entries', sampleFor(deptOf(A), i));
      assert.equal(r.status, 201, JSON.stringify(r.body));
      ids.push(r.body.id);
    }
    assert.equal(depth(), EDITS);

    // Count every catalog.update row queued from here on (the outbox's seq only grows).
    const firstSeq = (a.db.prepare('SELECT MIN(seq) AS s FROM outbox').get() as { s: number }).s;
    let maxDepth = depth();
    const sampler = setInterval(() => (maxDepth = Math.max(maxDepth, depth())), 5);
    try {
      await c.nats.restart();
      await waitFor('converged', () => c.converged() && ids.every((id) => c.snapshot('hub').has(id) && c.snapshot(B).has(id)), 60_000);
      await waitFor('A outbox drained', () => depth() === 0, 60_000);
      // A round after everything drained finds nothing to push.
      const settled = a.antiEntropy.lastReport?.at;
      const report = await waitFor('a later anti-entropy round', () => (a.antiEntropy.lastReport && a.antiEntropy.lastReport.at !== settled ? a.antiEntropy.lastReport : undefined), 10_000);
      assert.equal(report.pushed, 0);
    } finally {
      clearInterval(sampler);
    }
    // Rows of any type queued since the outage began (audit checkpoints too): the outbox seq is AUTOINCREMENT.
    const queued = (a.db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").get() as { seq: number }).seq - firstSeq + 1;
    assert.ok(maxDepth <= EDITS, `outbox grew to ${maxDepth} catalog updates for ${EDITS} edits`);
    assert.ok(queued <= EDITS + 5, `${queued} rows queued for ${EDITS} edits`);
  });
});
