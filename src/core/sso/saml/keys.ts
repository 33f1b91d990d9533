/** An SP key pair per connection: RSA 2048 with a 10-year self-signed certificate (SAML trusts the key). */
import { X509Certificate } from 'node:crypto';
import { generate } from 'selfsigned';

export async function generateSpKeyPair(
  commonName: string,
): Promise<{ privateKeyPem: string; certificatePem: string; notAfter: Date }> {
  const r = await generate([{ name: 'commonName', value: commonName.slice(0, 64) }], {
    keySize: 2048,
    notAfterDate: new Date(Date.now() + 3650 * 86_400_000),
    algorithm: 'sha256',
  });
  return {
    privateKeyPem: r.private,
    certificatePem: r.cert,
    notAfter: new Date(new X509Certificate(r.cert).validTo),
  };
}
