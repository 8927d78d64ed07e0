import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { assertLiteral, assertPinned, type MigrationPin } from '../../test/helpers/migration-pins.ts';
import { NODE_MIGRATIONS } from './migrations.ts';

/** Released node migrations: never edit a line; append the next one's pin (the failure message prints it). */
const RELEASED: readonly MigrationPin[] = [
  [1, '8a66063d783a8f05162fd8257bb1d54f3b4f1fe980b87ec08fe840d2490b591a'], // catalog replica, outbox, inbox, departments
  [2, 'a828c34848612ddae67fb126f0519e475b4b779a0cae16a10726b2bd431a1d43'], // accounts and API tokens
  [3, 'cba1a2e1227c82816bf26a59b6f2f0a6f0011d83647852517c7b75dc6e325db7'], // tamper-evident audit log
  [4, '8d35123826ebadfe823c18b45ba3336472cc7551414333e0cc669edde110bcb2'], // data package spool
  [5, '9daed450ad78a486b0fe89b64403b7e380391654ec36c33516d7e096bf3fbd70'], // front-end repositories
  [6, '1bd0b929ccaf85cd815e789b379858a6a722abee15231ed4babc23cc408953ce'], // snapshot/delta bookkeeping, forced-package requests
  [7, 'bd1828cc83d665bd40c1e7611ac017ce0fa44b4893855ab3d8a48b114c4baf2c'], // sharing: applications, grants, revocation list
  [8, 'f0a296cc7f9be24d3ef5084199f03eaec801e476cdfb34eb64cec8647857ac3b'], // packages received under batch grants
  [9, '01fa83da87cfdd705dfb9675d78345386009eb38f68b07426fb4f00890c30943'], // grant packages
  [10, '3582bec80c917d0aff963529a34913979610d9e4b1e64a3922c4ec8a5244b9da'], // audit seal
];

test('released node migrations are unchanged and every migration is pinned', () => {
  assertPinned(NODE_MIGRATIONS, RELEASED, 'node/storage/migrations.test.ts');
});

test('node migrations are frozen literal SQL', () => {
  assertLiteral(fileURLToPath(new URL('./migrations.ts', import.meta.url)));
});
