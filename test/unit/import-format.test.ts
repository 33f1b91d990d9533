/** The streaming reader of `janua users import`: JSON arrays and NDJSON, split anywhere across chunks. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ImportRecord, readImportRecords } from '../../src/core/users/import-format.js';

async function read(text: string, chunkSize: number): Promise<ImportRecord[]> {
  async function* chunks() {
    for (let i = 0; i < text.length; i += chunkSize) yield text.slice(i, i + chunkSize);
  }
  const out: ImportRecord[] = [];
  for await (const r of readImportRecords(chunks())) out.push(r);
  return out;
}

const RECORDS = [
  {
    email: 'a@example.com',
    user_metadata: { note: 'brackets ] } [ { and "quotes" and \\ backslash, commas' },
  },
  { email: 'b@example.com', first_name: 'Zoë', user_metadata: { list: [1, [2, { x: ']' }]] } },
  { email: 'c@example.com' },
];

test('a JSON array yields its elements, however the input is chunked', async () => {
  const text = `\uFEFF  \n${JSON.stringify(RECORDS, null, 2)}\n`;
  for (const size of [1, 2, 3, 7, 64, text.length]) {
    const got = await read(text, size);
    assert.deepEqual(
      got,
      RECORDS.map((value, i) => ({ index: i + 1, value })),
      `chunk size ${size}`,
    );
  }
});

test('NDJSON yields one record per non-empty line, with line numbers in errors', async () => {
  const text = `${JSON.stringify(RECORDS[0])}\r\n\n${JSON.stringify(RECORDS[1])}\n{nope\n${JSON.stringify(RECORDS[2])}`;
  for (const size of [1, 5, text.length]) {
    const got = await read(text, size);
    assert.equal(got.length, 4);
    assert.deepEqual(got[0], { index: 1, value: RECORDS[0] });
    assert.deepEqual(got[1], { index: 2, value: RECORDS[1] });
    assert.equal(got[2]!.index, 3);
    assert.match(got[2]!.error!, /invalid JSON on line 4/);
    assert.deepEqual(got[3], { index: 4, value: RECORDS[2] });
  }
});

test('bad arrays: broken elements, empty slots, truncation and trailing text are reported, not fatal', async () => {
  const got = await read('[{"email":"a@x.io"}, {bad}, , {"email":"b@x.io"}] trailing', 4);
  assert.deepEqual(
    got.map((r) => (r.error ? `error: ${r.error.split(':')[0]}` : (r.value as { email: string }).email)),
    [
      'a@x.io',
      'error: invalid JSON in record 2',
      'error: empty record (two commas in a row?)',
      'b@x.io',
      'error: unexpected text after the end of the JSON array',
    ],
  );
  const cut = await read('[{"email":"a@x.io"},{"email":"b@', 3);
  assert.equal(cut.length, 2);
  assert.match(cut[1]!.error!, /not closed/);
  assert.deepEqual(await read('   ', 1), []);
  assert.deepEqual(await read('[]', 1), []);
});
