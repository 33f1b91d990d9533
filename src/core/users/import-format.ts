/**
 * Reads user-import input as a stream: a JSON array (`[{…}, {…}]`) or NDJSON (one JSON value per line),
 * told apart by the first non-blank character. Records are yielded one by one without holding the file in
 * memory; a record that is not valid JSON is yielded as an error and reading goes on.
 */

export interface ImportRecord {
  /** 1-based position of the record in the input. */
  index: number;
  value?: unknown;
  /** Set when the record could not be parsed. */
  error?: string;
}

function parse(text: string, index: number, where: string): ImportRecord {
  try {
    return { index, value: JSON.parse(text) };
  } catch (err) {
    return { index, error: `invalid JSON ${where}: ${(err as Error).message}` };
  }
}

async function* ndjson(first: string, rest: AsyncIterator<string>): AsyncGenerator<ImportRecord> {
  let buf = first;
  let line = 0;
  let index = 0;
  const lines = function* (final: boolean) {
    let nl = buf.indexOf('\n');
    while (nl >= 0 || (final && buf.length)) {
      const text = nl >= 0 ? buf.slice(0, nl) : buf;
      buf = nl >= 0 ? buf.slice(nl + 1) : '';
      line++;
      if (text.trim()) yield parse(text, ++index, `on line ${line}`);
      nl = buf.indexOf('\n');
    }
  };
  yield* lines(false);
  for (let r = await rest.next(); !r.done; r = await rest.next()) {
    buf += r.value;
    yield* lines(false);
  }
  yield* lines(true);
}

/** Splits a top-level JSON array into its elements by scanning brackets and strings; parses each alone. */
async function* jsonArray(first: string, rest: AsyncIterator<string>): AsyncGenerator<ImportRecord> {
  let depth = 0;
  let inString = false;
  let escaped = false;
  let done = false;
  let elem = '';
  let index = 0;
  const out: ImportRecord[] = [];
  const scan = (chunk: string) => {
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (done) {
        if (c > 32) {
          out.push({ index: ++index, error: 'unexpected text after the end of the JSON array' });
          done = false;
          depth = -1; // report once, then ignore the rest
        }
        continue;
      }
      if (depth < 0) continue;
      if (inString) {
        if (escaped) escaped = false;
        else if (c === 92 /* \ */) escaped = true;
        else if (c === 34 /* " */) inString = false;
        continue;
      }
      if (c === 34) inString = true;
      else if (c === 91 /* [ */ || c === 123 /* { */) {
        depth++;
        if (depth === 1) start = i + 1;
      } else if (c === 93 /* ] */ || (c === 125 /* } */ && depth > 1)) {
        if (depth === 1 && c === 93) {
          const text = (elem + chunk.slice(start, i)).trim();
          if (text || index > 0)
            out.push(text ? parse(text, ++index, `in record ${index}`) : emptyRecord(++index));
          elem = '';
          done = true;
        }
        depth--;
      } else if (c === 44 /* , */ && depth === 1) {
        const text = (elem + chunk.slice(start, i)).trim();
        out.push(text ? parse(text, ++index, `in record ${index}`) : emptyRecord(++index));
        elem = '';
        start = i + 1;
      }
    }
    if (depth >= 1 && !done) elem += chunk.slice(start);
  };
  const emptyRecord = (i: number): ImportRecord => ({
    index: i,
    error: 'empty record (two commas in a row?)',
  });
  scan(first);
  yield* out.splice(0);
  for (let r = await rest.next(); !r.done; r = await rest.next()) {
    scan(r.value);
    yield* out.splice(0);
  }
  if (depth > 0) yield { index: ++index, error: 'the JSON array is not closed (truncated file?)' };
}

/** Yields the records of a JSON array or NDJSON text arriving in chunks (e.g. a file stream in utf8). */
export async function* readImportRecords(chunks: AsyncIterable<string>): AsyncGenerator<ImportRecord> {
  const it = chunks[Symbol.asyncIterator]();
  let first = '';
  for (let r = await it.next(); !r.done; r = await it.next()) {
    first += r.value;
    if (first.trim()) break;
  }
  if (first.charCodeAt(0) === 0xfeff) first = first.slice(1);
  const head = first.trimStart();
  if (!head) return;
  yield* head.startsWith('[') ? jsonArray(head, it) : ndjson(first, it);
}
