#!/usr/bin/env node
// The `jilian` command. Runs the TypeScript sources through tsx's loader (no build step needed).
import { register } from 'tsx/esm/api';

register();
await import('./cli.ts');
