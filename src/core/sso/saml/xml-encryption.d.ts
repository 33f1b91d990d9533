// @authenio/xml-encryption ships no types; the two functions we use (samlify uses the same library).
declare module '@authenio/xml-encryption' {
  interface Options {
    key?: string;
    rsa_pub?: string;
    pem?: string;
    encryptionAlgorithm?: string;
    keyEncryptionAlgorithm?: string;
    disallowDecryptionWithInsecureAlgorithm?: boolean;
    disallowEncryptionWithInsecureAlgorithm?: boolean;
    warnInsecureAlgorithm?: boolean;
  }
  export function decrypt(xml: string, options: Options, cb: (err: Error | null, out?: string) => void): void;
  export function encrypt(
    content: string,
    options: Options,
    cb: (err: Error | null, out?: string) => void,
  ): void;
}
