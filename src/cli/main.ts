import type { CliCommand } from './cliUtil';
import { renderCommand } from './commands/render';
import { runCommand } from './commands/run';
import { explainCommand } from './commands/explain';

/** Every subcommand; a feature adds its command here. */
const COMMANDS: readonly CliCommand[] = [renderCommand, runCommand, explainCommand];

function usage(): string {
  return 'Usage:\n' + COMMANDS.map((c) => '  ' + c.usage).join('\n\n') + '\n';
}

/** Exit codes: 0 ok; 1 the command ran and found a failure; 2 usage or I/O problem. */
export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`ml-notes: unknown command '${name}'\n${usage()}`);
    return 2;
  }
  return command.run(rest);
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`ml-notes: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(2);
    },
  );
}
