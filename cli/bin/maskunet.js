#!/usr/bin/env node
// The `maskunet` command. The project ships TypeScript sources without a build step, so the
// launcher registers tsx's loader and then runs the CLI's entry module.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/commands/main.ts');
process.exitCode = await main(process.argv.slice(2));
