#!/usr/bin/env node
// The `aregula` executable: registers tsx so that Node can load the TypeScript sources directly,
// then runs the command line. The exit code is set, not forced, so that piped output is flushed.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
