/** kill -9 of a node during a package transfer: nothing half-sent is stored, nothing is duplicated, and the next package goes through. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { loadSodium } from '../../protocol/sodium.ts';
import { Cluster, waitFor } from '../helpers/cluster.ts';

const A = '410802';
const RESOURCE = `${A}-0190a5e2-7c4b-7def-8123-456789abcdef`;
const SCRIPT = fileURLToPath(new URL('../helpers/send-package.ts', import.meta.url));

describe('crash during a package transfer', () => {
  let c: Cluster;
  before(async () => {
    await loadSodium();
    c = await Cluster.start([]);
  });
  after(async () => {
    await c.stop();
  });

  it('a node killed mid-build abandons the package on restart; the hub stores only complete packages, once', async () => {
    const a = await c.addNode(A);
    const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, a.dir, RESOURCE, '300000', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise((r) => child.once('exit', r));
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    const spooled = () => {
      const db = new Database(join(a.dir, 'jilian.db'), { readonly: true, fileMustExist: true });
      try {
        return (db.prepare('SELECT COUNT(*) AS n FROM package_spool').get() as { n: number }).n;
      } catch {
        return 0;
      } finally {
        db.close();
      }
    };
    await waitFor(`chunks spooled by the child${err ? `: ${err}` : ''}`, () => spooled() >= 5, 30_000);
    child.kill('SIGKILL');
    await exited;

    const node = await c.startNode(a);
    const states = node.db.prepare('SELECT state FROM packages_sent').all() as { state: string }[];
    assert.deepEqual(
      states.map((s) => s.state),
      ['abandoned'],
    );
    assert.equal(spooled(), 0, 'the spool of the abandoned package is gone');
    assert.equal((c.hub!.db.prepare('SELECT COUNT(*) AS n FROM packages').get() as { n: number }).n, 0, 'the hub has nothing of it');

    const { packageId } = await node.packages!.send(
      Array.from({ length: 2_000 }, (_, i) => ({ id: i })),
      { resource: RESOURCE, resourceCode: null, schemaHash: 'cd'.repeat(32), kind: 'snapshot', baseVersion: null, newVersion: 1, chunkSize: 4 * 1024 },
    );
    await waitFor('the next package is stored', () => node.packages!.state(packageId)?.state === 'stored', 20_000);
    const stored = c.hub!.db.prepare("SELECT package_id AS id FROM packages WHERE state = 'stored'").all() as { id: string }[];
    assert.deepEqual(
      stored.map((s) => s.id),
      [packageId],
    );
  });

  it('a hub restarted in the middle of fetching chunks finishes the package', async () => {
    const node = c.node(A).running!;
    await c.hub!.close();
    c.hub = null;
    const { packageId } = await node.packages!.send(
      Array.from({ length: 20_000 }, (_, i) => ({ id: i, text: `第${i}行` })),
      { resource: RESOURCE, resourceCode: null, schemaHash: 'cd'.repeat(32), kind: 'snapshot', baseVersion: null, newVersion: 2, chunkSize: 4 * 1024 },
    );
    await c.startHub();
    await waitFor('hub began storing chunks', () => (c.hub!.db.prepare('SELECT COUNT(*) AS n FROM package_chunks WHERE package_id = ?').get(packageId) as { n: number }).n > 0, 20_000);
    await c.hub!.close();
    c.hub = null;
    await c.startHub();
    await waitFor('package stored after the hub restart', () => node.packages!.state(packageId)?.state === 'stored', 30_000);
  });
});
