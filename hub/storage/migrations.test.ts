import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { assertLiteral, assertPinned, type MigrationPin } from '../../test/helpers/migration-pins.ts';
import { HUB_MIGRATIONS } from './migrations.ts';

/** Released hub migrations: never edit a line; append the next one's pin (the failure message prints it). */
const RELEASED: readonly MigrationPin[] = [
  [1, '102fca57890cffbaede0bd16e420862c21a05e628163cca1b80dc4da5628c163'], // total catalog, outbox, inbox, nodes, operators, rejections, code counters
  [2, 'ee43d17048c7137aab414a69699a9a320beef158515f5fc8ac245eef0243e737'], // enrollment: join tokens, node keys
  [3, '046bf8416075d880fb6edbe927781e83017a58ff6f1ad74175c4985a1374e92e'], // accounts and API tokens
  [4, '975d67be818d8a298f5de6f8cb16b2bec1825cb56256a259076ce50721998f1e'], // audit log and audit checkpoints
  [5, 'a7688214604676c2c227cdd1ea17e63d8eba6713582954b8d3e75f114edd5f36'], // packages received from county nodes
  [6, 'b46de15a5a4f0c8657ae0990ed0c4bcc3c3643cb798be40f936383a1679ef6b8'], // package recipients (re-sealed keys)
  [7, '3a16231942b446b8462ad33f0c0608d63b8d495d9320da64d6722f2b946317eb'], // sharing applications, grants, revocation lists
  [8, 'e87f0025b7f6680198819c1a31a228d688ab7809441502eb255d6422c09e1ee1'], // packages sent to batch grantees
  [9, '57c0234051a58bc2fbd3a6ae54ae1190e8b2aa22f577710e4f43b53d4d268eb4'], // grant packages
  [10, '3582bec80c917d0aff963529a34913979610d9e4b1e64a3922c4ec8a5244b9da'], // audit seal
  [11, 'e424b6e5d59fbadd214f4095e6d003c969aa8210eb539fea6b84f950fa9eea6d'], // audit checkpoints: purge anchor
];

test('released hub migrations are unchanged and every migration is pinned', () => {
  assertPinned(HUB_MIGRATIONS, RELEASED, 'hub/storage/migrations.test.ts');
});

test('hub migrations are frozen literal SQL', () => {
  assertLiteral(fileURLToPath(new URL('./migrations.ts', import.meta.url)));
});
