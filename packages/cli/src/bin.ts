#!/usr/bin/env node
import { main } from './main.js'

const code = await main(process.argv.slice(2))
// Exit explicitly (a stray handle must not keep a finished command alive), once what was
// written to stdout and stderr has been handed to the OS.
await Promise.all([process.stdout, process.stderr].map(stream => new Promise<void>(resolve => stream.write('', () => resolve()))))
process.exit(code)
