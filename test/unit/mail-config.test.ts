/** Mail settings, the SMTP mailer's construction and error scrubbing, and the templates, without a database. */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig, redactConfig } from '../../src/core/config/load.js';
import { createMailer, scrubError } from '../../src/core/mail/mailer.js';
import { MAIL_TEMPLATES, render } from '../../src/core/mail/templates.js';
import { tempDir } from '../helpers/db.js';
import { startSmtpSink } from '../helpers/smtp.js';

const base = { DATABASE_URL: 'sqlite::memory:', JANUA_DATA_DIR: '/tmp/janua-unused' };

describe('mail settings and mailer', () => {
  it('defaults: no SMTP, product name Janua, a sender derived from JANUA_BASE_URL', () => {
    const cfg = loadConfig({ env: { ...base, JANUA_BASE_URL: 'https://id.example.com/auth' } });
    assert.equal(cfg.productName, 'Janua');
    assert.equal(cfg.mailFrom, '"Janua" <no-reply@id.example.com>');
    assert.equal(cfg.mailRetentionDays, 7);
    assert.equal(createMailer(cfg), null, 'no SMTP configured: messages are kept');
    const local = loadConfig({ env: { ...base, PRODUCT_NAME: 'Acme "ID"' } });
    assert.equal(local.mailFrom, '"Acme ID" <no-reply@127.0.0.1.invalid>', 'an IP is no mail domain');
    assert.equal(loadConfig({ env: { ...base, MAIL_FROM: 'a@b.example' } }).mailFrom, 'a@b.example');
  });

  it('SMTP credentials are redacted from the effective configuration', () => {
    const cfg = loadConfig({
      env: { ...base, SMTP_URL: 'smtp://u:url-secret@mail.example.com:587', SMTP_PASSWORD: 'pw-secret' },
    });
    const shown = JSON.stringify(redactConfig(cfg));
    assert.ok(!shown.includes('url-secret') && !shown.includes('pw-secret'), shown);
  });

  it('refuses a bad SMTP_URL and an unreadable password file, naming the setting', () => {
    assert.throws(
      () => createMailer(loadConfig({ env: { ...base, SMTP_URL: 'http://mail.example.com' } })),
      /SMTP_URL must start with smtp/,
    );
    assert.throws(
      () =>
        createMailer(
          loadConfig({
            env: {
              ...base,
              SMTP_HOST: 'mail.example.com',
              SMTP_USER: 'u',
              SMTP_PASSWORD_FILE: '/nonexistent/pw',
            },
          }),
        ),
      (e: Error & { code?: string }) => e.code === 'VALIDATION_ERROR' && /SMTP_PASSWORD_FILE/.test(e.message),
    );
  });

  it('logs in with the password from SMTP_PASSWORD_FILE', async () => {
    const sink = await startSmtpSink({ auth: { user: 'janua', password: 'from-a-file' } });
    const dir = tempDir();
    try {
      const file = join(dir.path, 'smtp-password');
      writeFileSync(file, 'from-a-file\n');
      const mailer = createMailer(
        loadConfig({
          env: {
            ...base,
            SMTP_HOST: '127.0.0.1',
            SMTP_PORT: String(sink.port),
            SMTP_USER: 'janua',
            SMTP_PASSWORD_FILE: file,
          },
        }),
      )!;
      assert.equal(mailer.target, `127.0.0.1:${sink.port}`);
      await mailer.send({
        from: 'a@janua.test',
        to: 'b@example.com',
        subject: 'hi',
        text: 'hello',
        html: '<p>hello</p>',
        messageId: 'm1@janua.test',
      });
      const got = await sink.waitFor((m) => m.to.includes('b@example.com'));
      assert.equal(got.messageId, '<m1@janua.test>');
    } finally {
      dir.remove();
      await sink.close();
    }
  });

  it('scrubs secrets and URL credentials from SMTP errors', () => {
    const text = scrubError(new Error('failed for smtp://u:hunter22@mail: auth hunter22 refused'), [
      'hunter22',
    ]);
    assert.ok(!text.includes('hunter22'), text);
    assert.ok(scrubError(new Error('x'.repeat(2000)), []).length <= 500);
  });

  it('every template renders a text and an HTML part; subjects stay one header line', () => {
    for (const template of MAIL_TEMPLATES) {
      const r = render(template, {
        product_name: 'Evil\r\nBcc: x@evil.test',
        link: 'https://app.example.com/x?token=t',
        new_email: 'new@example.com',
      });
      assert.ok(r.text.length > 0 && r.html.startsWith('<!doctype html>'), template);
      assert.ok(!/[\r\n]/.test(r.subject), `${template}: ${r.subject}`);
    }
  });
});
