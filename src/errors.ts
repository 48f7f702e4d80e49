/**
 * Errors caused by the user's input (a profile, a dump, a scenario, an ELF file, a command line).
 * The CLI prints them as `file:place: message` without a stack trace; anything else is a bug.
 */
export class InputError extends Error {
  constructor(
    /** The file (or `<command line>`) the bad input came from. */
    readonly file: string,
    /** Where in it: `line 12`, `line 3, column 5`, a JSON pointer such as `/cpuid/0000000d.00`. */
    readonly place: string | undefined,
    /** What was wrong and what was expected. */
    readonly detail: string,
  ) {
    super(place ? `${file}: ${place}: ${detail}` : `${file}: ${detail}`);
    this.name = 'InputError';
  }
}
