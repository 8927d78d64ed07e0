/**
 * @module The schemas engine/ tests run against. engine/ owns no migrations (each side's storage/
 * does), so its tests borrow the county node's, through this helper rather than importing node/.
 */
export { NODE_MIGRATIONS as ENGINE_TEST_MIGRATIONS } from '../../node/storage/migrations.ts';
