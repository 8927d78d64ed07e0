/** @module `jilian` command line: `jilian node …` for county administrators, `jilian hub …` for hub operators. */
import { Command } from 'commander';
import { registerHubCommands } from '../hub/cli.ts';
import { registerNodeCommands } from '../node/cli.ts';
import { loadSodium } from '../protocol/sodium.ts';
import { join } from 'node:path';
import { registerAuditCommands } from '../engine/audit/cli.ts';
import { dataDirRole, readConfig } from '../engine/cli/config-file.ts';
import { bilingualUsageError, formatCliError } from '../engine/cli/support.ts';
import { openDatabase } from '../engine/storage/db.ts';
import { HubConfig } from '../hub/config.ts';
import { HUB_MIGRATIONS } from '../hub/storage/migrations.ts';
import { NodeConfig } from '../node/config.ts';
import { NODE_MIGRATIONS } from '../node/storage/migrations.ts';

const program = new Command('jilian').description('级联 Jilian — 政务数据共享联邦节点 / federated edge nodes for government data sharing').showHelpAfterError().version('0.1.0');
// commander's own usage errors (unknown option, missing argument …) in zh-CN and English; subcommands inherit it.
program.configureOutput({ outputError: (text, write) => write(bilingualUsageError(text)) });

registerNodeCommands(program.command('node').description('县（区）节点 / county node: init, start, status, departments'));
registerHubCommands(program.command('hub').description('市级枢纽 / municipal hub: init, start, status, node registry, operators'));
// `jilian audit verify|export --dir <dir>` works on a node's or the hub's directory alike.
registerAuditCommands(program, (dir) => {
  if (dataDirRole(dir) === 'hub') return openDatabase(join(dir, readConfig(dir, HubConfig).database), HUB_MIGRATIONS);
  return openDatabase(join(dir, readConfig(dir, NodeConfig).database), NODE_MIGRATIONS);
});

// Many commands hash or sign (audit records, keys); load libsodium once before any of them runs.
await loadSodium();
program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(formatCliError(err)); // zh-CN, then English; the stack only with JILIAN_DEBUG set
  process.exit(1);
});
