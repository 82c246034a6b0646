/**
 * Line-oriented input for commands that take many messages (a day's trace piped through):
 * yields one line at a time with its number, and never holds more than `line_length_max`
 * characters of one line — a longer line is reported as such and skipped, not buffered.
 */
export interface InputLine {
  readonly number: number;
  readonly text: string;
  /** Set when the line was longer than allowed; `text` is then empty. */
  readonly tooLong: boolean;
}

export async function* readLines(input: AsyncIterable<string | Buffer> | Iterable<string> | NodeJS.ReadableStream, line_length_max: number): AsyncGenerator<InputLine> {
  let partial = '';
  let skipping = false;
  let number = 0;
  for await (const chunk of input) {
    const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    let start = 0;
    for (let newline = text.indexOf('\n'); newline >= 0; newline = text.indexOf('\n', start)) {
      number += 1;
      const piece = partial + text.slice(start, newline);
      const tooLong = skipping || piece.length > line_length_max;
      yield { number, text: tooLong ? '' : piece.replace(/\r$/, ''), tooLong };
      partial = '';
      skipping = false;
      start = newline + 1;
    }
    if (!skipping) {
      partial += text.slice(start);
      if (partial.length > line_length_max) {
        skipping = true;
        partial = '';
      }
    }
  }
  if (partial.length > 0 || skipping) yield { number: number + 1, text: skipping ? '' : partial.replace(/\r$/, ''), tooLong: skipping };
}
