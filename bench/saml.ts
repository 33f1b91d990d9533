/**
 * `npm run bench:saml`: the ACS's SAML validation (src/core/sso/saml) of a signed ~5 KB response — every
 * check of a real sign-in: decode, DOCTYPE/comment guards, parse, structure, the signature with the configured
 * certificate, the XSD schema (xmllint in WebAssembly), conditions, subject confirmation, InResponseTo.
 * Baseline, same run: bare RSA-SHA256 verifications of the same bytes with node:crypto (the floor of any
 * signature check). Then RSS over 10,000 validations, which must stay flat (issue 16: the first xmllint
 * binding tried leaked 16 MiB a validation).
 * Env: BENCH_SAML_N (validations timed, 2000), BENCH_SAML_RSS_N (10000), BENCH_SAML_CONCURRENCY (4).
 */
import { createSign, createVerify } from 'node:crypto';
import { generateSpKeyPair } from '../src/core/sso/saml/keys.js';
import { validateSamlResponse } from '../src/core/sso/saml/validate.js';
import { createTestIdp } from '../test/helpers/saml-idp.js';

const N = Number(process.env['BENCH_SAML_N'] ?? 2000);
const RSS_N = Number(process.env['BENCH_SAML_RSS_N'] ?? 10_000);
const CONCURRENCY = Number(process.env['BENCH_SAML_CONCURRENCY'] ?? 4);
const mib = () => Math.round((process.memoryUsage().rss / 1048576) * 10) / 10;

async function main(): Promise<void> {
  const idp = await createTestIdp();
  const k = await generateSpKeyPair('bench sp');
  const sp = {
    entityId: 'https://janua.bench/api/v1/sso/metadata/c',
    acsUrl: 'https://janua.bench/api/v1/sso/acs/c',
    decryptionKeys: [k.privateKeyPem],
    signingKey: k.privateKeyPem,
    signingCert: k.certificatePem,
  };
  const attributes: Record<string, string[]> = {
    email: ['jane@acme.bench'],
    firstName: ['Jane'],
    lastName: ['Doe'],
    groups: Array.from({ length: 12 }, (_, i) => `engineering-team-${i}`),
  };
  const response = await idp.signResponse({
    sp,
    requestId: '_bench',
    nameId: 'jane@acme.bench',
    attributes,
    notOnOrAfterSeconds: 3600,
  });
  const bytes = Buffer.from(response, 'base64').length;
  const opts = {
    samlResponse: response,
    sp,
    idp: idp.config,
    expectedRequestId: '_bench',
    skewSeconds: 120,
    maxBytes: 256 * 1024,
  };
  const once = () => validateSamlResponse({ ...opts, now: new Date() });
  await once();

  // Baseline: RSA-SHA256 verify of the same bytes.
  const xml = Buffer.from(response, 'base64');
  const sig = createSign('RSA-SHA256').update(xml).sign(idp.keyPem);
  let t = performance.now();
  for (let i = 0; i < N; i++) createVerify('RSA-SHA256').update(xml).verify(idp.certPem, sig);
  const verifyPerS = N / ((performance.now() - t) / 1000);

  t = performance.now();
  for (let i = 0; i < N; i++) await once();
  const sequential = N / ((performance.now() - t) / 1000);

  t = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < N) await once();
    }),
  );
  const concurrent = N / ((performance.now() - t) / 1000);

  const rss: Array<[number, number]> = [[0, mib()]];
  for (let i = 1; i <= RSS_N; i++) {
    await once();
    if (i % (RSS_N / 4) === 0) {
      global.gc?.();
      rss.push([i, mib()]);
    }
  }
  const r = (x: number) => Math.round(x);
  console.log(`SAML ACS validation of a signed ${(bytes / 1024).toFixed(1)} KiB response (2 cores):`);
  console.log(`  baseline: bare RSA-SHA256 verify of the same bytes   ${r(verifyPerS)}/s`);
  console.log(
    `  full validation, one at a time                       ${r(sequential)}/s  (${(sequential / verifyPerS).toFixed(3)}× the baseline)`,
  );
  console.log(
    `  full validation, ${CONCURRENCY} in flight                         ${r(concurrent)}/s  (${(concurrent / verifyPerS).toFixed(3)}× the baseline)`,
  );
  console.log(`  RSS over ${RSS_N} validations (MiB): ${rss.map(([i, m]) => `${i}: ${m}`).join(', ')}`);
  const growth = (rss.at(-1)?.[1] ?? 0) - (rss[1]?.[1] ?? 0);
  console.log(
    `  growth from ${rss[1]?.[0]} to ${RSS_N}: ${growth.toFixed(1)} MiB (${growth < 32 ? 'flat' : 'GROWING'})`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
