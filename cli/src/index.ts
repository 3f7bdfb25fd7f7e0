/**
 * Public surface of the cli package (Node only): the `maskunet` command, runnable in-process
 * (tests run it this way), and the bank description it prints. The local stack is the
 * `@maskunet/cli/local` subpath.
 */
export { main as runCli } from './commands/main';
export { describeBank } from './commands/bank-commands';
