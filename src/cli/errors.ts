/** An error in the user's input or environment: printed as one line, exit code 1, no stack trace. */
export class CliError extends Error {}

/** "line 3, column 2 ('b')": where a cell is, as every message about a cell says it. */
export const at = (line: number, column: number, name: string) => `line ${line}, column ${column + 1} ('${name}')`;
