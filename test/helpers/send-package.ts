/**
 * Child process for crash tests: start a county node from its directory and send one package of
 * `rows` generated rows with small chunks, slowly enough to be killed in the middle.
 * Usage: node --import tsx test/helpers/send-package.ts <dir> <resource> <rows> <version>
 */
import { startNode } from '../../node/app.ts';
import { createLogger } from '../../engine/log.ts';

const [dir, resource, rows, version] = process.argv.slice(2) as [string, string, string, string];
const node = await startNode(dir, { httpPort: 0, log: createLogger('send-package', { level: 'warn' }) });
await node.link.whenConnected(10_000);
function* generate(n: number) {
  for (let i = 0; i < n; i++) yield { id: i, name: `行${i}`, note: 'x'.repeat(200) };
}
const sent = await node.packages!.send(generate(Number(rows)), {
  resource,
  resourceCode: null,
  schemaHash: 'cd'.repeat(32),
  kind: 'snapshot',
  baseVersion: null,
  newVersion: Number(version),
  chunkSize: 4 * 1024,
});
console.log(JSON.stringify(sent));
await node.close();
