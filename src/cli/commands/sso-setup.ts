/**
 * `janua sso setup`: a new SAML connection, step by step — organization, IdP product (which sets the attribute
 * mapping), the IdP's metadata (URL or file), the default role — then what to paste into the IdP and the
 * command that tests it. On a terminal it asks (Ink); every answer is also a flag, and with all of them (or
 * without a terminal) it asks nothing: `janua sso setup --org acme --provider okta --metadata-url URL --yes`.
 */
import type { Command } from 'commander';
import { CLI_CONTEXT } from '../../core/events/events.js';
import { findOrganization } from '../../core/orgs/service.js';
import { CLI_ACTOR } from '../../core/rbac/access.js';
import { createConnection, PROVIDERS } from '../../core/sso/connections.js';
import { describeConnection } from '../../core/sso/present.js';
import { PROVIDER_DEFAULTS } from '../../core/sso/providers.js';
import { type GlobalOptions, withContainer } from '../context.js';
import { EXIT, ExitWith } from '../exit-codes.js';
import { emitResult, type Io } from '../output.js';
import type { Question } from '../sso-wizard.js';
import { type ConnectionFlags, connectionInput, connectionText } from './sso.js';

type SetupFlags = ConnectionFlags & { org?: string; yes?: boolean };

const questions = (o: SetupFlags): Question[] => [
  ...(o.org
    ? []
    : [
        {
          key: 'org',
          label: 'Organization (slug or id)',
          check: (a: string) => (a ? undefined : 'required'),
        },
      ]),
  ...(o.provider
    ? []
    : [
        {
          key: 'provider',
          label: 'Identity provider',
          choices: PROVIDERS.map((p) => ({ value: p, label: PROVIDER_DEFAULTS[p]?.label ?? p })),
        },
      ]),
  ...(o.metadataUrl || o.metadataFile || o.entityId
    ? []
    : [
        {
          key: 'metadata',
          label: "The IdP's metadata URL, or the path of its metadata XML file",
          help: 'Okta: Sign On tab → "Metadata URL"; Entra ID: "App Federation Metadata Url"; Google: download the IdP metadata',
          check: (a: string) => (a ? undefined : 'required'),
        },
      ]),
  ...(o.defaultRole ? [] : [{ key: 'role', label: 'Role of new members', default: 'member' }]),
];

export function registerSsoSetup(sso: Command, io: Io): void {
  sso
    .command('setup')
    .description('Set up a connection step by step (asks on a terminal; every step is also a flag)')
    .option('--org <org>', 'organization id or slug')
    .option('--provider <p>', `the IdP product: ${PROVIDERS.join(', ')}`)
    .option('--metadata-url <url>', "the IdP's metadata URL")
    .option('--metadata-file <file>', "the IdP's metadata XML")
    .option('--default-role <role>', 'role of new members (default member)')
    .option('--allow-idp-initiated', 'accept sign-ins started at the IdP')
    .option('-y, --yes', 'ask nothing: every missing answer is an error')
    .option('--json', 'print one JSON document: the connection')
    .action(async (o: SetupFlags, cmd: Command) => {
      const open = questions(o);
      const interactive = open.length > 0 && !o.yes && process.stdin.isTTY && process.stderr.isTTY;
      if (open.length && !interactive)
        throw new ExitWith(
          EXIT.USAGE,
          `error: missing ${open.map((q) => ({ org: '--org', provider: '--provider', metadata: '--metadata-url or --metadata-file', role: '--default-role' })[q.key as 'org']).join(', ')} (no terminal to ask on)`,
        );
      let answers: Record<string, string> = {};
      if (interactive) {
        const { ask } = await import('../sso-wizard.js');
        try {
          answers = await ask(open, process.stderr);
        } catch {
          throw new ExitWith(EXIT.USAGE, 'aborted');
        }
      }
      const metadata = answers['metadata'];
      const flags: SetupFlags = {
        ...o,
        org: o.org ?? answers['org'],
        provider: o.provider ?? answers['provider'] ?? 'saml',
        defaultRole: o.defaultRole ?? answers['role'] ?? 'member',
        ...(metadata
          ? /^https?:\/\//.test(metadata)
            ? { metadataUrl: metadata }
            : { metadataFile: metadata }
          : {}),
      };
      if (!(PROVIDERS as readonly string[]).includes(flags.provider as string))
        throw new ExitWith(EXIT.USAGE, `error: --provider must be one of ${PROVIDERS.join(', ')}`);
      const input = connectionInput(flags);
      await withContainer(io, cmd.optsWithGlobals<GlobalOptions>(), {}, async (c) => {
        const org = await findOrganization(c, flags.org as string);
        const made = await describeConnection(
          c,
          await createConnection(c, CLI_ACTOR, org.id, input, CLI_CONTEXT),
        );
        emitResult(
          io,
          o.json,
          made,
          (d) =>
            `created SSO connection ${connectionText(d)}\nNext: in the IdP, create a SAML app with the values above (or import the SP metadata URL),\n` +
            `assign users, then check it: janua sso test ${d.id}\nApps start sign-ins at: /api/v1/sso/initiate?org=${org.slug}&redirect_uri=…\n`,
        );
      });
    });
}
