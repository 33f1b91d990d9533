#!/usr/bin/env node
// The janua binary: run the CLI, exit with its code. The only process.exit in the code base.
import { run } from '../dist/src/cli/main.js';

const code = await run(process.argv.slice(2));
// Let piped stdout drain before leaving.
process.stdout.write('', () => process.exit(code));
