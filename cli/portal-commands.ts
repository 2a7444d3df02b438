/**
 * `credits portal link ACCOUNT [--ttl 15m]`: mints a customer admin's signed link to their own
 * account's admin page, as a CRM would with the client library's `mintPortalLink`. The link is
 * signed with `CREDITS_PORTAL_SECRET`, which the admin server must share.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { DEFAULT_PORTAL_TTL_SECONDS, MAX_PORTAL_TTL_SECONDS, mintPortalLink, portalSecretFromEnv } from '../client';
import { runningMainJob } from '../infra/main-job-info';
import { CREDITS_ADMIN_PORT, CREDITS_PORTAL_SECRET } from '../infra/settings';
import { CliFailure, EXIT_CODES, type CliIo } from './io';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600 };

/**
 * `--ttl`: `90s`, `15m`, `1h` or plain seconds, from 1 second to 24 hours.
 *
 * @throws InvalidArgumentError for anything else.
 */
export function parseTtl(value: string): number {
  const match = /^(\d{1,6})([smh]?)$/.exec(value.trim());
  const seconds = match ? Number(match[1]) * (UNIT_SECONDS[match[2] || 's'] ?? 1) : Number.NaN;
  if (!(seconds >= 1 && seconds <= MAX_PORTAL_TTL_SECONDS)) {
    throw new InvalidArgumentError('expected a lifetime like 90s, 15m or 1h, from 1 second to 24 hours');
  }
  return seconds;
}

interface LinkOptions {
  ttl?: number;
  email?: string;
  baseUrl?: string;
  json?: boolean;
}

/** Registers `credits portal link` on the program. */
export function registerPortalCommands(program: Command, io: CliIo): void {
  const portal = program.command('portal').description("customer admins' signed links to their own account's admin page");
  portal
    .command('link')
    .description("print a short-lived signed link that opens one account's admin page (and only it), once")
    .argument('<account>', 'account id')
    .option('--ttl <lifetime>', `how long the link works: 90s, 15m, 1h (default ${DEFAULT_PORTAL_TTL_SECONDS / 60}m, at most 24h)`, parseTtl)
    .option('--email <address>', "the customer admin's e-mail, carried in the link for the page and the logs")
    .option('--base-url <url>', "the admin page's address (default: the running main job's, else http://127.0.0.1:$CREDITS_ADMIN_PORT)")
    .option('--json', 'print the link and its expiry as JSON')
    .action(async (account: string, options: LinkOptions) => {
      const secret = portalSecretFromEnv();
      if (secret === undefined) {
        throw new CliFailure(`set ${CREDITS_PORTAL_SECRET.name} to the admin server's portal secret to sign links`, EXIT_CODES.failure);
      }
      const baseUrl = options.baseUrl ?? runningMainJob()?.adminUrl ?? `http://127.0.0.1:${CREDITS_ADMIN_PORT.read()}`;
      let link;
      try {
        link = await mintPortalLink(account, { secret, baseUrl, ttlSeconds: options.ttl, adminEmail: options.email });
      } catch (err) {
        if (err instanceof RangeError) throw new CliFailure(err.message, EXIT_CODES.usage);
        throw err;
      }
      if (options.json === true) io.stdout(`${JSON.stringify({ url: link.url, expiresAt: link.expiresAt })}\n`);
      else {
        io.stdout(`${link.url}\n`);
        io.stderr(`opens ${account} only, once, until ${link.expiresAt}\n`);
      }
    });
}
