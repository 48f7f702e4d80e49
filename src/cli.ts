#!/usr/bin/env node
/**
 * The xstate-lab command line (src/cli-main.ts). `exec` runs from the exec bundle through V8's
 * code cache when the bundle is current (src/exec-bundle.ts), every other command from the
 * modules, which load only what the command needs (README "Speed").
 */
import type { CliMain } from './exec-bundle.js';

const bundled: CliMain | undefined = process.argv[2] === 'exec' ? (await import('./exec-bundle.js')).loadExecBundle() : undefined;
await (bundled ?? await import('./cli-main.js')).main();
