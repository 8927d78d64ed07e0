/** @module `jilian` command line: `jilian node …` for county administrators, `jilian hub …` for hub operators. */
import { Command } from 'commander';
import { registerHubCommands } from '../hub/cli.ts';
import { registerNodeCommands } from '../node/cli.ts';
import { loadSodium } from '../protocol/sodium.ts';

const program = new Command('jilian')
  .description('级联 Jilian — 政务数据共享联邦节点 / federated edge nodes for government data sharing')
  .showHelpAfterError()
  .version('0.1.0');

registerNodeCommands(program.command('node').description('县（区）节点 / county node: init, start, status, departments'));
registerHubCommands(program.command('hub').description('市级枢纽 / municipal hub: init, start, status, node registry, operators'));

// Many commands hash or sign (audit records, keys); load libsodium once before any of them runs.
await loadSodium();
program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(`错误 / error: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
