/**
 * Child process for the group-commit crash test: appends numbered rows through GroupCommit as fast as it
 * can (64 in flight) and prints each number on stdout once its promise resolved (= acknowledged).
 * Usage: node --import tsx test/helpers/group-commits.ts <db>
 */
import { openDatabase } from '../../engine/storage/db.ts';
import { GroupCommit } from '../../engine/storage/group-commit.ts';

const db = openDatabase(process.argv[2]!, [{ version: 1, name: 'rows', sql: 'CREATE TABLE acked (n INTEGER PRIMARY KEY, body TEXT NOT NULL)' }]);
const commits = new GroupCommit(db);
const insert = db.prepare('INSERT INTO acked (n, body) VALUES (?, ?)');
let next = 1;
async function worker(): Promise<void> {
  for (;;) {
    const n = next++;
    await commits.run(() => void insert.run(n, 'x'.repeat(200)));
    process.stdout.write(`${n}\n`);
  }
}
for (let i = 0; i < 64; i++) void worker();
