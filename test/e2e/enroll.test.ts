/** Enrollment with one-time join tokens: a node joins with the CLI, replicates, and tokens cannot be reused, expire, and are bound to a county. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { type EnrollRequest, signEnrollProof } from '../../protocol/enrollment.ts';
import { generateSigningKeyPair, encodePublicKey } from '../../protocol/keys.ts';
import { loadSodium, toBase64 } from '../../protocol/sodium.ts';
import { enrollNode } from '../../node/enroll.ts';
import { startNode } from '../../node/app.ts';
import { DepartmentStore } from '../../node/storage/departments.ts';
import { api, Cluster, deptOf, waitFor } from '../helpers/cluster.ts';
import { sampleFor } from '../helpers/entries.ts';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../../bin/jilian.mjs', import.meta.url));
const A = '410802';

describe('enrollment with join tokens', () => {
  let c: Cluster;
  const root = mkdtempSync(join(tmpdir(), 'jilian-enroll-'));
  before(async () => {
    await loadSodium();
    c = await Cluster.start([]);
  });
  after(async () => {
    await c.stop();
  });

  it('jilian hub token create + jilian node enroll: the node joins, its keys are private, and its entries replicate', async () => {
    const { stdout: tokenOut } = await run(process.execPath, [BIN, 'hub', 'token', 'create', '--dir', c.hubDir, '--county', A, '--ttl', '1h']);
    const token = tokenOut.trim();
    assert.match(token, /^jlj_/);
    const dir = join(root, 'a');
    const { stdout } = await run(process.execPath, [BIN, 'node', 'enroll', c.hub!.url, token, '--dir', dir, '--county', A, '--county-name', '测试区', '--http-port', '0']);
    assert.match(stdout, /enrolled: county-410802 → hub-410800/);
    for (const f of ['keys/signing.json', 'keys/encryption.json', 'keys/nats.seed']) assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600, f);
    const registered = c.hub!.registry.list().find((n) => n.nodeId === `county-${A}`);
    assert.ok(registered);
    assert.equal(registered.county, A);

    const node = await startNode(dir, { log: c.log.child({ side: 'enrolled' }), httpPort: 0 });
    try {
      const token2 = new DepartmentStore(node.db).issue(deptOf(A), '公安', new Date());
      const created = await api(node.url, token2, 'POST', '/api/v1/catalog/entries', sampleFor(deptOf(A), 0));
      assert.equal(created.status, 201);
      await waitFor('entry from the enrolled node at the hub', () => c.snapshot('hub').has(created.body.id));
    } finally {
      await node.close();
    }

    // The same token again: refused with a clear error, and nothing is left behind.
    const again = join(root, 'again');
    await assert.rejects(
      run(process.execPath, [BIN, 'node', 'enroll', c.hub!.url, token, '--dir', again, '--county', A, '--county-name', '测试区', '--node-id', 'county-410802-b']),
      (err: { stderr: string }) => /TOKEN_USED/.test(err.stderr) && /只能使用一次/.test(err.stderr),
    );
    assert.equal(existsSync(join(again, 'keys/signing.json')), false);
  });

  it('an expired token, a token for another county and a forged proof are refused', async () => {
    const expired = c.hub!.joinTokens.create('410803', 0).token;
    await assert.rejects(enrollNode(join(root, 'b'), { hubUrl: c.hub!.url, token: expired, county: '410803', countyName: 'B', httpPort: 0 }), /TOKEN_EXPIRED/);
    const forB = c.hub!.joinTokens.create('410803', 3_600_000).token;
    await assert.rejects(enrollNode(join(root, 'c'), { hubUrl: c.hub!.url, token: forB, county: '410804', countyName: 'C', httpPort: 0 }), /TOKEN_WRONG_COUNTY/);

    // A request whose proof was made with a different key than the one it registers.
    const kp = generateSigningKeyPair();
    const other = generateSigningKeyPair();
    const req: EnrollRequest = {
      token: forB,
      nodeId: 'county-410803',
      county: '410803',
      countyName: 'B',
      signingKey: encodePublicKey(kp.publicKey),
      encryptionKey: encodePublicKey(kp.publicKey),
      natsNkey: `U${'A'.repeat(55)}`,
      proof: toBase64(signEnrollProof({ token: forB, nodeId: 'county-410803', county: '410803', encryptionKey: encodePublicKey(kp.publicKey), natsNkey: `U${'A'.repeat(55)}` }, other.secretKey)),
    };
    const res = await api(c.hub!.url, '', 'POST', '/api/v1/enroll', req);
    assert.equal(res.status, 401);
    assert.equal(res.body.error.code, 'PROOF_INVALID');
    // The token survived the failed attempt and still works for its county.
    await enrollNode(join(root, 'd'), { hubUrl: c.hub!.url, token: forB, county: '410803', countyName: 'B', httpPort: 0 });
    assert.ok(c.hub!.registry.get('county-410803'));
  });
});
