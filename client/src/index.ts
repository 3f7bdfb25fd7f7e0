/**
 * Public surface of the client package. The SDK and the bank cache arrive with the client
 * issue; for now it exposes the CLI entry so other tools can run it in-process.
 */
export { main as runCli } from './cli/main';
export { describeBank } from './cli/bank-commands';
