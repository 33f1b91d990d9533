/**
 * `janua sso …`: SAML connections of organizations, as a platform admin (the operator) — the same core
 * functions as /api/v1/sso. `janua sso setup` (./sso-setup.ts) walks an admin through a new connection.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { type Command, InvalidArgumentError } from 'commander';
import { CLI_CONTEXT } from '../../core/events/events.js';
import { findOrganization } from '../../core/orgs/service.js';
import { CLI_ACTOR } from '../../core/rbac/access.js';
import {
  type ConnectionInput,
  createConnection,
  deleteConnection,
  findConnection,
  listConnections,
  PROVIDERS,
  rotateSpKey,
  spMetadataOf,
  updateConnection,
} from '../../core/sso/connections.js';
import {
  addDomain,
  claimDomains,
  listDomains,
  removeDomain,
  txtRecordName,
  verifyDomain,
} from '../../core/sso/domains.js';
import { describeConnection, type PublicConnection, presentDomain } from '../../core/sso/present.js';
import { testConnection } from '../../core/sso/test-connection.js';
import { confirmDestructive } from '../confirm.js';
import { type GlobalOptions, withContainer } from '../context.js';
import { EXIT, ExitWith } from '../exit-codes.js';
import { emitResult, type Io, table } from '../output.js';
import { registerSsoSetup } from './sso-setup.js';

type Json = { json?: boolean };

export interface ConnectionFlags extends Json {
  name?: string;
  provider?: string;
  metadataUrl?: string;
  metadataFile?: string;
  entityId?: string;
  ssoUrl?: string;
  certificateFile?: string[];
  emailAttribute?: string;
  firstNameAttribute?: string;
  lastNameAttribute?: string;
  groupsAttribute?: string;
  groupRole?: Record<string, string>;
  defaultRole?: string;
  jit?: boolean;
  allowIdpInitiated?: boolean;
  disabled?: boolean;
  enable?: boolean;
  domain?: string[];
}

const collect = (v: string, acc: string[] = []) => [...acc, v];
function groupRole(v: string, acc: Record<string, string> = {}): Record<string, string> {
  const i = v.lastIndexOf('=');
  if (i <= 0 || i === v.length - 1) throw new InvalidArgumentError('expected GROUP=ROLE');
  return { ...acc, [v.slice(0, i)]: v.slice(i + 1) };
}
function provider(v: string): string {
  if (!(PROVIDERS as readonly string[]).includes(v))
    throw new InvalidArgumentError(`one of ${PROVIDERS.join(', ')}`);
  return v;
}

function readFileArg(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ExitWith(EXIT.USAGE, `error: cannot read ${what} ${path}: ${(err as Error).message}`);
  }
}

/** The flags onto core's input; refuses two IdP sources (exit 2). */
export function connectionInput(o: ConnectionFlags): ConnectionInput {
  const sources = [o.metadataUrl, o.metadataFile, o.entityId ?? o.ssoUrl ?? o.certificateFile].filter(
    (v) => v !== undefined,
  );
  if (sources.length > 1)
    throw new ExitWith(
      EXIT.USAGE,
      'error: give one of --metadata-url, --metadata-file, or --entity-id with --sso-url and --certificate-file',
    );
  const mapping = {
    ...(o.emailAttribute ? { email: o.emailAttribute } : {}),
    ...(o.firstNameAttribute ? { first_name: o.firstNameAttribute } : {}),
    ...(o.lastNameAttribute ? { last_name: o.lastNameAttribute } : {}),
    ...(o.groupsAttribute ? { groups: o.groupsAttribute } : {}),
  };
  return {
    name: o.name,
    provider: o.provider,
    enabled: o.disabled ? false : o.enable ? true : undefined,
    metadataUrl: o.metadataUrl,
    metadataXml: o.metadataFile !== undefined ? readFileArg(o.metadataFile, 'metadata file') : undefined,
    idpEntityId: o.entityId,
    idpSsoUrl: o.ssoUrl,
    idpCertificates: o.certificateFile?.map((f) => readFileArg(f, 'certificate file')),
    attributeMapping: Object.keys(mapping).length ? mapping : undefined,
    groupRoles: o.groupRole,
    defaultRole: o.defaultRole,
    jitProvisioning: o.jit,
    allowIdpInitiated: o.allowIdpInitiated,
  };
}

/** The options create, update and setup share. */
export function connectionOptions(cmd: Command): Command {
  return cmd
    .option('--name <name>', 'a label')
    .option(
      '--provider <p>',
      `the IdP product: ${PROVIDERS.join(', ')} (sets the default attribute mapping)`,
      provider,
    )
    .option('--metadata-url <url>', "the IdP's metadata URL (fetched now and by sso.metadata-refresh)")
    .option('--metadata-file <file>', "the IdP's metadata XML")
    .option('--entity-id <id>', "without metadata: the IdP's entity id")
    .option('--sso-url <url>', "without metadata: the IdP's SSO URL (HTTP-Redirect)")
    .option(
      '--certificate-file <file>',
      "without metadata: the IdP's signing certificate (PEM; repeatable)",
      collect,
    )
    .option('--email-attribute <name>', 'SAML attribute holding the email (default: the NameID)')
    .option('--first-name-attribute <name>')
    .option('--last-name-attribute <name>')
    .option('--groups-attribute <name>', 'SAML attribute listing the groups')
    .option('--group-role <group=role>', 'map an IdP group to an organization role (repeatable)', groupRole)
    .option('--default-role <role>', 'role of members no group maps (default member)')
    .option('--no-jit', 'do not create accounts on first sign-in')
    .option('--allow-idp-initiated', 'accept sign-ins started at the IdP (unsolicited responses)')
    .option('--disabled', 'create or set it disabled')
    .option(
      '--domain <domain>',
      'claim an email domain for discovery (repeatable; verified at once: the operator answers for it)',
      collect,
    )
    .option('--json', 'print one JSON document: the connection');
}

export function connectionText(c: PublicConnection): string {
  return (
    `${c.id}  ${c.provider}  ${c.status}  organization ${c.organization_id}\n` +
    `IdP entity id:    ${c.saml_entity_id}\nIdP SSO URL:      ${c.saml_sso_url}\n` +
    `IdP certificates: ${c.saml_certificates.map((x) => `${x.sha256_fingerprint.slice(0, 23)}… (until ${x.not_after})`).join(', ')}\n` +
    `${c.metadata_error ? `metadata error:   ${c.metadata_error}\n` : ''}` +
    `mapping:          ${JSON.stringify(c.attribute_mapping)}  groups→roles ${JSON.stringify(c.group_roles)}  default ${c.default_role}\n` +
    `domains:          ${c.domains.map((d) => `${d.domain}${d.verified ? '' : ' (unverified)'}`).join(', ') || '-'}\n\n` +
    'Give the IdP:\n' +
    `  SP entity id (Audience):  ${c.sp_entity_id}\n  ACS URL (HTTP-POST):      ${c.saml_acs_url}\n  SP metadata URL:          ${c.sp_metadata_url}\n`
  );
}

export function registerSso(program: Command, io: Io): Command {
  const run = <T>(cmd: Command, fn: Parameters<typeof withContainer<T>>[3]) =>
    withContainer(io, cmd.optsWithGlobals<GlobalOptions>(), {}, fn);
  const sso = program.command('sso').description('SAML single sign-on connections of organizations');

  sso
    .command('list')
    .description('Connections (of one organization, or all)')
    .option('--org <org>', 'organization id or slug')
    .option('--json', 'print one JSON document: {items, total}')
    .action(async (o: Json & { org?: string }, cmd: Command) =>
      run(cmd, async (c) => {
        const organizationId = o.org ? (await findOrganization(c, o.org)).id : undefined;
        const r = await listConnections(c, CLI_ACTOR, { organizationId, limit: 100, offset: 0 });
        const items = await Promise.all(r.items.map((x) => describeConnection(c, x)));
        emitResult(io, o.json, { items, total: r.total }, (d) =>
          d.items.length
            ? table(d.items, [
                'id',
                'organization_id',
                'provider',
                'status',
                'saml_entity_id',
                'metadata_refreshed_at',
              ])
            : 'no SSO connections\n',
        );
      }),
    );

  sso
    .command('get <ref>')
    .description('One connection (by its id, or by organization id or slug)')
    .option('--json', 'print one JSON document')
    .action(async (ref: string, o: Json, cmd: Command) =>
      run(cmd, async (c) =>
        emitResult(
          io,
          o.json,
          await describeConnection(c, await findConnection(c, CLI_ACTOR, ref, 'sso:read')),
          connectionText,
        ),
      ),
    );

  connectionOptions(sso.command('create').description('Create a connection for an organization'))
    .requiredOption('--org <org>', 'organization id or slug')
    .action(async (o: ConnectionFlags & { org: string }, cmd: Command) => {
      const input = connectionInput(o);
      if (!input.metadataUrl && !input.metadataXml && !input.idpEntityId)
        throw new ExitWith(
          EXIT.USAGE,
          'error: give --metadata-url, --metadata-file, or --entity-id with --sso-url and --certificate-file',
        );
      await run(cmd, async (c) => {
        const org = await findOrganization(c, o.org);
        const made = await createConnection(c, CLI_ACTOR, org.id, input, CLI_CONTEXT);
        if (o.domain) await claimDomains(c, CLI_ACTOR, org.id, o.domain, CLI_CONTEXT);
        emitResult(
          io,
          o.json,
          await describeConnection(c, made),
          (d) => `created SSO connection ${connectionText(d)}`,
        );
      });
    });

  connectionOptions(sso.command('update <ref>').description('Change a connection'))
    .option('--enable', 'enable it')
    .action(async (ref: string, o: ConnectionFlags, cmd: Command) => {
      const input = connectionInput(o);
      await run(cmd, async (c) => {
        const conn = await findConnection(c, CLI_ACTOR, ref, 'sso:write');
        const updated = await updateConnection(c, CLI_ACTOR, conn.id, input, CLI_CONTEXT);
        if (o.domain) await claimDomains(c, CLI_ACTOR, conn.organizationId, o.domain, CLI_CONTEXT);
        emitResult(io, o.json, await describeConnection(c, updated), connectionText);
      });
    });

  sso
    .command('delete <ref>')
    .description('Delete a connection (its members keep their accounts)')
    .option('-y, --yes', 'do not ask for confirmation (required without a terminal)')
    .option('--json', 'print one JSON document')
    .action(async (ref: string, o: Json & { yes?: boolean }, cmd: Command) =>
      run(cmd, async (c) => {
        const conn = await findConnection(c, CLI_ACTOR, ref, 'sso:write');
        await confirmDestructive(o.yes, `delete SSO connection ${conn.id} (${conn.idpEntityId})`);
        await deleteConnection(c, CLI_ACTOR, conn.id, CLI_CONTEXT);
        emitResult(io, o.json, { deleted: true, id: conn.id }, (d) => `deleted SSO connection ${d.id}\n`);
      }),
    );

  sso
    .command('rotate-key <ref>')
    .description(
      'A new SP key pair; the previous one still decrypts and stays in the SP metadata until the next rotation',
    )
    .option('--json', 'print one JSON document')
    .action(async (ref: string, o: Json, cmd: Command) =>
      run(cmd, async (c) => {
        const conn = await findConnection(c, CLI_ACTOR, ref, 'sso:write');
        const r = await describeConnection(c, await rotateSpKey(c, CLI_ACTOR, conn.id, CLI_CONTEXT));
        emitResult(
          io,
          o.json,
          r,
          (d) =>
            `rotated the SP key of ${d.id}; new certificate until ${d.sp_certificate_info.not_after}\nGive the IdP the metadata again: ${d.sp_metadata_url}\n`,
        );
      }),
    );

  sso
    .command('metadata <ref>')
    .description('Our SP metadata XML for the IdP admin')
    .option('--out <file>', 'write it to a file instead of stdout')
    .action(async (ref: string, o: { out?: string }, cmd: Command) =>
      run(cmd, async (c) => {
        const xml = spMetadataOf(c, await findConnection(c, CLI_ACTOR, ref, 'sso:read'));
        if (o.out) {
          await writeFile(o.out, xml);
          io.err(`wrote ${o.out}\n`);
        } else io.out(`${xml}\n`);
      }),
    );

  sso
    .command('test <ref>')
    .description(
      'Check a connection; with --response, explain whether a captured SAMLResponse would be accepted',
    )
    .option(
      '--response <file>',
      'a SAMLResponse captured from the browser (the base64 form field, or the XML)',
    )
    .option('--json', 'print one JSON document')
    .action(async (ref: string, o: Json & { response?: string }, cmd: Command) => {
      let samlResponse: string | undefined;
      if (o.response !== undefined) {
        const raw = readFileArg(o.response, 'response file').trim();
        samlResponse = raw.startsWith('<')
          ? Buffer.from(raw).toString('base64')
          : decodeURIComponent(raw.replace(/^SAMLResponse=/, ''));
      }
      const report = await run(cmd, async (c) => {
        const conn = await findConnection(c, CLI_ACTOR, ref, 'sso:read');
        return testConnection(c, CLI_ACTOR, conn.id, { samlResponse });
      });
      emitResult(io, o.json, report, testText);
      if (!report.success)
        throw new ExitWith(EXIT.FAILURE, 'error: the connection check found problems (listed above)');
    });

  const domains = sso.command('domains').description('Email domains an organization claims for discovery');
  domains
    .command('list')
    .requiredOption('--org <org>', 'organization id or slug')
    .option('--json', 'print one JSON document: {items}')
    .action(async (o: Json & { org: string }, cmd: Command) =>
      run(cmd, async (c) => {
        const org = await findOrganization(c, o.org);
        const items = (await listDomains(c, CLI_ACTOR, org.id)).map(presentDomain);
        emitResult(io, o.json, { items }, (d) =>
          d.items.length ? table(d.items, ['domain', 'verified', 'verified_at']) : 'no domains\n',
        );
      }),
    );
  domains
    .command('add <domain>')
    .requiredOption('--org <org>', 'organization id or slug')
    .option('--verified', 'mark it verified without DNS (the operator answers for it)')
    .option('--json', 'print one JSON document')
    .action(async (domain: string, o: Json & { org: string; verified?: boolean }, cmd: Command) =>
      run(cmd, async (c) => {
        const org = await findOrganization(c, o.org);
        const d = presentDomain(
          await addDomain(c, CLI_ACTOR, org.id, domain, { verified: o.verified }, CLI_CONTEXT),
        );
        emitResult(io, o.json, d, (x) =>
          x.verified
            ? `claimed ${x.domain} (verified)\n`
            : `claimed ${x.domain}; publish this DNS record, then run janua sso domains verify --org ${o.org} ${x.domain}:\n  ${x.dns_record.name} TXT "${x.dns_record.value}"\n`,
        );
      }),
    );
  domains
    .command('verify <domain>')
    .requiredOption('--org <org>', 'organization id or slug')
    .option('--json', 'print one JSON document')
    .action(async (domain: string, o: Json & { org: string }, cmd: Command) =>
      run(cmd, async (c) => {
        const org = await findOrganization(c, o.org);
        const d = presentDomain(await verifyDomain(c, CLI_ACTOR, org.id, domain, CLI_CONTEXT));
        emitResult(io, o.json, d, (x) => `${x.domain} is verified (${txtRecordName(x.domain)})\n`);
      }),
    );
  domains
    .command('remove <domain>')
    .requiredOption('--org <org>', 'organization id or slug')
    .action(async (domain: string, o: { org: string }, cmd: Command) =>
      run(cmd, async (c) => {
        const org = await findOrganization(c, o.org);
        await removeDomain(c, CLI_ACTOR, org.id, domain, CLI_CONTEXT);
        io.out(`released ${domain}\n`);
      }),
    );

  registerSsoSetup(sso, io);
  return sso;
}

function testText(r: Awaited<ReturnType<typeof testConnection>>): string {
  const lines = [
    `${r.success ? 'OK' : 'PROBLEMS FOUND'}: ${r.provider} connection, status ${r.connection_status}${r.metadata_valid === null ? '' : `, metadata ${r.metadata_valid ? 'reachable and valid' : 'NOT usable'}`}`,
    '',
    'To try a sign-in, open this AuthnRequest URL (the response will be refused: no browser started it here):',
    `  ${r.details.authn_request_url}`,
  ];
  if (r.details.response) {
    lines.push(
      '',
      r.details.response.accepted ? 'The response would be accepted.' : 'The response would be refused:',
    );
    r.details.response.failures.forEach((f, i) => {
      lines.push(`  ${i + 1}. [${f.check}] ${f.message}`);
    });
    if (
      r.details.response.failures.some((f) =>
        ['structure', 'signature', 'xml', 'doctype', 'comment', 'decryption', 'size', 'encoding'].includes(
          f.check,
        ),
      )
    )
      lines.push(
        '  (the other checks were not run: nothing in a message that fails this check can be trusted)',
      );
    if (r.details.response.name_id) lines.push(`  NameID: ${r.details.response.name_id}`);
  }
  const others = r.details.problems.filter((p) => !r.details.response?.failures.some((f) => f.message === p));
  if (others.length) lines.push('', ...others.map((p) => `  - ${p}`));
  return `${lines.join('\n')}\n`;
}
