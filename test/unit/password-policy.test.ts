/** Password policy: each rule, the 72-byte bcrypt limit, and Unicode letters, digits and symbols. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkPasswordPolicy,
  isBcryptHash,
  MAX_PASSWORD_BYTES,
  type PasswordPolicy,
} from '../../src/core/auth/passwords.js';
import { isJanuaError } from '../../src/core/errors.js';

const DEFAULT: PasswordPolicy = {
  passwordMinLength: 12,
  passwordRequireUppercase: true,
  passwordRequireLowercase: true,
  passwordRequireDigit: true,
  passwordRequireSymbol: true,
};
const NONE: PasswordPolicy = {
  passwordMinLength: 8,
  passwordRequireUppercase: false,
  passwordRequireLowercase: false,
  passwordRequireDigit: false,
  passwordRequireSymbol: false,
};

function rejects(policy: PasswordPolicy, password: string, ...patterns: RegExp[]): void {
  assert.throws(
    () => checkPasswordPolicy(policy, password),
    (err: unknown) => {
      assert.ok(isJanuaError(err), String(err));
      assert.equal(err.code, 'VALIDATION_ERROR');
      assert.ok(err.fields?.['password'], 'the error names the password field');
      for (const p of patterns) assert.match(err.message, p);
      return true;
    },
  );
}

describe('password policy', () => {
  it('accepts a password meeting every rule', () => {
    checkPasswordPolicy(DEFAULT, 'SecurePass123!x');
  });

  it('names each rule that is missed', () => {
    rejects(DEFAULT, 'Sh0rt!', /at least 12 characters/);
    rejects(DEFAULT, 'securepass123!x', /an uppercase letter/);
    rejects(DEFAULT, 'SECUREPASS123!X', /a lowercase letter/);
    rejects(DEFAULT, 'SecurePassword!x', /a digit/);
    rejects(DEFAULT, 'SecurePass123xx', /a symbol/);
    rejects(DEFAULT, 'abc', /at least 12 characters/, /an uppercase letter/, /a digit/, /a symbol/);
  });

  it('each rule can be turned off', () => {
    checkPasswordPolicy(NONE, 'aaaaaaaa');
    rejects(NONE, 'aaaaaaa', /at least 8 characters/);
    checkPasswordPolicy({ ...NONE, passwordRequireUppercase: true }, 'Aaaaaaaa');
    rejects({ ...NONE, passwordRequireUppercase: true }, 'aaaaaaaa', /uppercase/);
    checkPasswordPolicy({ ...NONE, passwordRequireLowercase: true }, 'AAAAAAAa');
    rejects({ ...NONE, passwordRequireLowercase: true }, 'AAAAAAAA', /lowercase/);
    checkPasswordPolicy({ ...NONE, passwordRequireDigit: true }, 'aaaaaaa1');
    rejects({ ...NONE, passwordRequireDigit: true }, 'aaaaaaaa', /digit/);
    checkPasswordPolicy({ ...NONE, passwordRequireSymbol: true }, 'aaaaaaa-');
    checkPasswordPolicy({ ...NONE, passwordRequireSymbol: true }, 'aaaa aaa');
    rejects({ ...NONE, passwordRequireSymbol: true }, 'aaaaaaa1', /symbol/);
  });

  it('refuses control characters (the API refuses them at sign-in, so such a password could not be used)', () => {
    for (const c of ['\u0000', '\u0001', '\t', '\n', '\r', '\u001b', '\u007f', '\u0085'])
      rejects(DEFAULT, `SecurePass123!${c}`, /password must not contain control characters/);
    checkPasswordPolicy(DEFAULT, 'Secure Pass 123! émoji 🔑');
  });

  it('refuses more than 72 bytes instead of letting bcrypt truncate, counting UTF-8 bytes', () => {
    assert.equal(MAX_PASSWORD_BYTES, 72);
    const ascii72 = `Aa1!${'x'.repeat(68)}`;
    assert.equal(Buffer.byteLength(ascii72), 72);
    checkPasswordPolicy(DEFAULT, ascii72);
    rejects(DEFAULT, `${ascii72}x`, /at most 72 bytes/);
    // 24 three-byte characters are 72 bytes; one more ASCII byte is too many, though only 25 characters.
    const cjk = `Aa1!${'漢'.repeat(22)}`; // 4 + 66 = 70 bytes
    checkPasswordPolicy(DEFAULT, cjk);
    rejects(DEFAULT, `${cjk}漢`, /at most 72 bytes/);
    const emoji = `Aa1!${'🔑'.repeat(17)}`; // 4 + 68 = 72 bytes
    checkPasswordPolicy(DEFAULT, emoji);
    rejects(DEFAULT, `${emoji}x`, /72 bytes/);
  });

  it('counts length in characters (code points), not UTF-16 units or bytes', () => {
    // 11 characters: 7 emoji (2 UTF-16 units each) + 'Aa1' + '!' would be 18 UTF-16 units.
    rejects(DEFAULT, `Aa1${'🔑'.repeat(8)}`, /at least 12 characters/);
    checkPasswordPolicy(DEFAULT, `Aa1${'🔑'.repeat(9)}`);
  });

  it('understands Unicode upper- and lowercase letters and digits', () => {
    checkPasswordPolicy(DEFAULT, 'ÄÖÜäöüß12345!'); // uppercase umlauts
    checkPasswordPolicy(DEFAULT, 'ΣΦΨσφψ123456-'); // Greek
    checkPasswordPolicy(DEFAULT, 'ЖжЖжЖж٣٤٥٦٧٨#'); // Cyrillic letters, Arabic-Indic digits
    rejects(DEFAULT, 'ääääääää1234!', /uppercase/);
    rejects(DEFAULT, 'ÄÄÄÄÄÄÄÄ1234!', /lowercase/);
    rejects(DEFAULT, '漢字漢字漢字漢字Aa1x', /symbol/); // CJK ideographs are letters, not symbols
  });

  it('recognises bcrypt hashes of every imported prefix', () => {
    const body = '$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW';
    for (const p of ['$2a', '$2b', '$2y']) assert.ok(isBcryptHash(`${p}${body}`), p);
    assert.ok(!isBcryptHash(`$2x${body}`));
    assert.ok(!isBcryptHash('plaintext'));
    assert.ok(!isBcryptHash(`$2b${body}x`));
  });
});
