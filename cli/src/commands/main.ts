/**
 * The `maskunet` command line: dispatches subcommands and turns every failure into one line
 * on stderr, `maskunet: error <code>: <message>`, with exit code 2 for usage and 1 for refused
 * input or failed work. Stack traces are printed only with MASKUNET_DEBUG=1.
 */
import { bankDiff, bankInspect, bankPack, bankPatch, bankUnpack, type Print } from './bank-commands';
import { CliError, errorCode } from './cli-error';
import { generateCommand, layoutCommand, modelInitCommand, unetRunCommand } from './model-commands';
import { runnerCommand } from './runner-command';
import { trainBaseCommand, trainExportCommand } from './train-commands';

const USAGE = `usage: maskunet <command> ...

  bank pack --layout <layout.json|model.onnx> --masks <m.safetensors> [--masks ...]
            [--bucket-edges 0,500,1000] [--model-id ID] [--meta k=v ...] [--coders raw,golomb,arith]
            [--parent <bank>] --out <bank.mkb>
  bank unpack <bank> --out <masks.safetensors> [--bucket K] [--parent <bank>]
  bank inspect <bank> [--json]
  layout <model.onnx> [--json]
  unet run --model <unet.onnx> --inputs <in.safetensors> --out <out.safetensors>
           [--bank <bank> | --per-sample-banks <a>,<b>,...] [--backend cpu|webgpu|wasm]
  generate --model <model dir> [--bank <bank>] --prompt "..." [--seed N] [--steps N]
           [--sampler ddim|dpmpp2m|ddpm] [--guidance G] [--backend cpu|webgpu] [--upscale K] --out image.png
  model init --out <dir> [--seed N]
  runner --worker <url> --token <RUNNER_TOKEN> --model <model dir> [--backend cpu|webgpu] [--threads N]
  bank diff <old> <new> --out <delta>
  bank patch <old> <delta> --out <new>
  train base --run <dir> [--steps N] [--batch N] [--lr X] [--threads N] [--max-steps-this-run N] [--max-images N]
  train export --run <dir> --out <model dir> [--checkpoint latest|best] [--sampler S] [--steps N] [--guidance G]`;

type Command = (args: string[], print: Print) => Promise<void>;

const COMMANDS: Record<string, Command> = {
  'bank pack': bankPack,
  'bank unpack': bankUnpack,
  'bank inspect': bankInspect,
  'bank diff': bankDiff,
  'bank patch': bankPatch,
  layout: layoutCommand,
  'unet run': unetRunCommand,
  generate: generateCommand,
  'model init': modelInitCommand,
  runner: runnerCommand,
  'train base': trainBaseCommand,
  'train export': trainExportCommand,
};

/** Runs the CLI with `argv` (without node and script); returns the exit code. */
export async function main(
  argv: string[],
  print: Print = (line) => console.log(line),
  printError: Print = (line) => console.error(line),
): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === 'help') {
    print(USAGE);
    return argv.length === 0 ? 2 : 0;
  }
  const key = [argv[0], argv[1]].join(' ');
  const single = argv[0] ?? '';
  const command = COMMANDS[key] ?? COMMANDS[single];
  const rest = COMMANDS[key] !== undefined ? argv.slice(2) : argv.slice(1);
  try {
    if (command === undefined)
      throw new CliError('usage', `unknown command "${argv.slice(0, 2).join(' ')}"\n${USAGE}`);
    await command(rest, print);
    return 0;
  } catch (error) {
    const code = errorCode(error) ?? 'internal';
    const message =
      error instanceof Error ? error.message.replace(new RegExp(`^${code}: `), '') : String(error);
    printError(`maskunet: error ${code}: ${message}`);
    if (process.env.MASKUNET_DEBUG === '1' && error instanceof Error) printError(error.stack ?? '');
    return error instanceof CliError ? error.exitCode : 1;
  }
}
