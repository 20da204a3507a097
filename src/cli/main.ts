/**
 * The command line (build/cli.js, `npx softmax-ce-wasm`): train a softmax-regression
 * classifier on a CSV, TSV or JSON file of any size, and predict with the model it writes.
 *
 *   softmax-ce-wasm train --data iris.csv --label species [--out model.json] …
 *   softmax-ce-wasm predict --model model.json --data new.csv [--out predictions.csv]
 *
 * The data path, one file per step:
 *   read/open.ts    the file: spreadsheets refused, encoding found, text streamed in chunks
 *   read/csv.ts     CSV/TSV records (csv-parse's stream API); read/json.ts: JSON records
 *   read/table.ts   rows with their line numbers; cells → float32 numbers, checked
 *   ingest.ts       train's one pass: classes, split.ts (stratified split, Welford stats),
 *                   cache.ts (rows as float32 in a binary file)
 *   blocks.ts       epochs read the cache in blocks: shuffled batches, evaluation scans
 *   train.ts        partialFit steps, stopping on a plateau, scores, the model file
 *   predict.ts      rows in, predictions out, in chunks
 *   model.ts        the model file, checked when read
 *   write.ts        no output over an input; temporary file + rename; stdout and EPIPE
 *   report.ts, progress.ts   what the user sees
 * Bad input ends with one line on stderr naming the file, line and column, exit code 1 and
 * no stack trace (SCE_DEBUG=1 shows one). Exit code 0 means every row was valid and every
 * output was written.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { parse as parseCsv } from 'csv-parse/sync';
import { ArgumentError } from '../index.js';
import { CliError } from './errors.js';
import { predict, type PredictOptions } from './predict.js';
import { train, type TrainOptions } from './train.js';
import { ClosedPipe, removePending } from './write.js';

declare const PACKAGE_VERSION: string; // esbuild's define (scripts/build.mjs)

const NUMBER = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;
const number = (value: string, what: string) => {
  if (!NUMBER.test(value)) throw new InvalidArgumentError(`expected ${what}, got '${value}'.`);
  return Number(value);
};
const integer = (min: number) => (value: string) => {
  const v = number(value, `an integer ≥ ${min}`);
  if (!Number.isInteger(v) || v < min || v > 2 ** 31 - 1) throw new InvalidArgumentError(`expected an integer ≥ ${min}, got '${value}'.`);
  return v;
};
const seed = (value: string) => {
  const v = number(value, 'an integer in [0, 2^32)');
  if (!Number.isInteger(v) || v < 0 || v >= 2 ** 32) throw new InvalidArgumentError(`expected an integer in [0, 2^32), got '${value}'.`);
  return v;
};
const positive = (value: string) => {
  const v = number(value, 'a positive number');
  if (!(v > 0 && v < Infinity)) throw new InvalidArgumentError(`expected a positive finite number, got '${value}'.`);
  return v;
};
const fraction = (value: string) => {
  const v = number(value, 'a number in [0, 1)');
  if (!(v >= 0 && v < 1)) throw new InvalidArgumentError(`expected a number in [0, 1), got '${value}'.`);
  return v;
};
const nonNegative = (value: string) => {
  const v = number(value, 'a number ≥ 0');
  if (!(v >= 0 && v < Infinity)) throw new InvalidArgumentError(`expected a finite number ≥ 0, got '${value}'.`);
  return v;
};
const decay = (value: string) => (value.trim() === 'auto' ? 'auto' : nonNegative(value));
const delimiter = (value: string) => {
  const v = value === '\\t' || value.toLowerCase() === 'tab' ? '\t' : value;
  if (v.length !== 1 || v === '"' || v === '\n' || v === '\r') throw new InvalidArgumentError(`expected one character (or 'tab'), got '${value}'.`);
  return v;
};
/**
 * --features: a CSV line of names (quote a name that holds a comma: '"a,b",c'); the option
 * may be repeated, each time with one name or a list, and the names add up.
 */
const featureList = (value: string, previous: string[] | undefined) => {
  let names: string[];
  try {
    names = (parseCsv(value, { relax_quotes: false, trim: true }) as string[][])[0] ?? [];
  } catch (error) {
    throw new InvalidArgumentError(`not a list of column names: ${(error as Error).message}`);
  }
  names = names.filter((s) => s !== '');
  if (names.length === 0) throw new InvalidArgumentError('expected at least one column name.');
  return [...(previous ?? []), ...names];
};

export async function main(argv: string[]): Promise<number> {
  const out = (line: string) => process.stdout.write(line + '\n');
  const err = (line: string) => process.stderr.write(line + '\n');
  // A reader that went away (`… | head`) is not an error of ours: write.ts stops quietly.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') err(`softmax-ce-wasm: error: writing to stdout: ${error.message}`);
  });
  const program = new Command('softmax-ce-wasm')
    .description('Train and run softmax-regression classifiers (WebAssembly) on CSV or JSON data of any size.')
    .version(typeof PACKAGE_VERSION === 'string' ? PACKAGE_VERSION : 'dev')
    .exitOverride()
    .showHelpAfterError('(add --help for usage)');
  const common = (cmd: Command) => cmd
    .option('--delimiter <char>', "CSV separator (default: ',' — or a tab for .tsv, or sniffed from the header line)", delimiter)
    .option('--encoding <name>', 'text encoding, e.g. latin1 (default: UTF-8; UTF-16 is recognised by its byte-order mark)')
    .option('--quiet', 'no progress bars (shown on stderr only when stdout and stderr are terminals)', false);

  common(program.command('train')
    .description('train on a CSV/TSV (header row), a JSON array of objects or JSON lines; writes a model file and prints a report')
    .requiredOption('--data <file>', "training data: .csv, .tsv, .json or .jsonl ('-': standard input)")
    .requiredOption('--label <column>', 'the column holding the class (any strings or numbers)')
    .option('--features <columns>', 'feature columns, comma-separated (quote names with commas: \'"a,b",c\'); repeatable (default: every column but the label)', featureList)
    .option('--epochs <n>', 'at most this many passes over the training rows', integer(1), 1000)
    .option('--patience <n>', 'epochs without improvement before the learning rate halves (6 halvings, then stop); 0: run every epoch', integer(0), 5)
    .option('--tol <t>', 'an improvement smaller than this (relative) does not count', nonNegative, 1e-4)
    .option('--batch-size <n>', 'rows per step', integer(1), 32)
    .option('--lr <rate>', 'learning rate (default 0.01; 0.1 for sgd)', positive)
    .addOption(new Option('--optimizer <name>', 'optimizer').choices(['adam', 'adamw', 'sgd', 'momentum']).default('adam'))
    .option('--weight-decay <w>', "L2 on the weights (decoupled for adamw); 'auto' = 1/training rows, scikit-learn's C = 1", decay, 'auto')
    .option('--test-split <fraction>', 'fraction of each class held out for the report', fraction, 0.2)
    .option('--seed <n>', 'seed of the split, the initial weights and the shuffles', seed, 1)
    .option('--no-normalize', 'do not standardise the features (mean 0, std 1 from the training rows)')
    .option('--out <file>', 'where to write the model', 'model.json')
    .option('--cache <file>', 'where to keep the rows as float32 (default: a temporary file, removed at the end)'))
    .action(async (o: TrainOptions) => train(o, out, err));

  common(program.command('predict')
    .description('predict the class of every row of a data file; writes CSV (prediction, then class probabilities)')
    .requiredOption('--model <file>', "a model file written by 'softmax-ce-wasm train'")
    .requiredOption('--data <file>', "rows to classify (.csv, .tsv, .json or .jsonl; '-': standard input) with the model's feature columns")
    .option('--out <file>', "write the predictions CSV here instead of stdout ('-': stdout)"))
    .action(async (o: PredictOptions) => predict(o, err));

  const interrupted = () => {
    removePending();
    process.exit(130);
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    // Commander has already printed its own messages (help, version, bad options).
    if (error instanceof CommanderError) return error.exitCode;
    if (error instanceof ClosedPipe) return 0;
    removePending();
    if (error instanceof CliError || error instanceof ArgumentError) {
      err(`softmax-ce-wasm: error: ${error.message.replace(/^softmax-ce-wasm: /, '')}`);
    } else {
      err(`softmax-ce-wasm: unexpected error: ${(error as Error)?.message ?? error}`);
    }
    if (process.env.SCE_DEBUG) err(String((error as Error)?.stack));
    return 1;
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    // A diagnostic for the tests and the bench: the peak resident memory of this process.
    if (process.env.SCE_REPORT_RSS) err(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(1)} MiB`);
  }
}

process.exitCode = await main(process.argv.slice(2));
