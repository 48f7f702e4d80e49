/**
 * The message on one line, whatever the input held: line breaks and other control characters
 * (from a key, a vendor string, a file name) are shown escaped, as JSON writes them.
 */
function oneLine(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => {
    const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
    return named[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

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
    super(oneLine(place ? `${file}: ${place}: ${detail}` : `${file}: ${detail}`));
    this.name = 'InputError';
  }
}
