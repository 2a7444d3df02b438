/** The SMTP mailer against a local SMTP server started by this file. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { alertMessageId, createSmtpMailer, describeSmtpUrl, smtpConfigFromEnv, type OutgoingMail } from '../../notify/email';
import { isNotifyError } from '../../notify/errors';
import { freePort } from '../../infra/postgres-server';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-server';

const mail: OutgoingMail = {
  to: ['ada@example.com', 'grace@example.com'],
  subject: 'AI credits running low',
  text: 'Plain, with a long line '.repeat(10),
  html: '<p>Hello</p>',
  messageId: '<acme=3A1.alert@example.com>',
  headers: { 'X-Credits-Alert-Id': 'acme:1' },
};

let smtp: TestSmtpServer;
beforeAll(async () => {
  smtp = await startSmtpServer();
});
afterAll(() => smtp?.close());
afterEach(() => smtp.refuse(null));

describe('SMTP mailer', () => {
  it('sends plain and HTML parts to every admin, logging in with the URL credentials', async () => {
    const mailer = createSmtpMailer({ url: smtp.url, from: 'AI Credits <credits@example.com>' });
    try {
      const sent = await mailer.send(mail);
      expect(sent.accepted).toEqual(mail.to);
      expect(sent.messageId).toBe(mail.messageId);
      const got = smtp.received.at(-1);
      expect(got?.envelopeTo).toEqual(mail.to);
      expect(got?.envelopeFrom).toBe('credits@example.com');
      expect(got?.headers.get('subject')).toBe(mail.subject);
      expect(got?.headers.get('message-id')).toBe(mail.messageId);
      expect(got?.headers.get('x-credits-alert-id')).toBe('acme:1');
      expect(got?.text).toBe(mail.text.trimEnd());
      expect(got?.html).toBe(mail.html);
      expect(smtp.logins).toContain('tester');
    } finally {
      mailer.close();
    }
  });

  it('reports a refusal with the server, the reply and no password', async () => {
    smtp.refuse({ code: 451, message: 'Mailbox store is full, try later' });
    const mailer = createSmtpMailer({ url: smtp.url, from: 'credits@example.com' });
    const err = await mailer.send(mail).catch((e: unknown) => e);
    mailer.close();
    expect(isNotifyError(err) && err.code).toBe('smtp_refused');
    expect(isNotifyError(err) && err.responseCode).toBe(451);
    const message = (err as Error).message;
    expect(message).toContain(`SMTP server smtp://127.0.0.1:${smtp.port} refused the alert e-mail`);
    expect(message).toContain('451 Mailbox store is full, try later');
    expect(message).toContain('the mail was not sent');
    expect(message).not.toContain('secret');
  });

  it('reports a server that is not there', async () => {
    const mailer = createSmtpMailer({ url: `smtp://127.0.0.1:${await freePort()}`, from: 'credits@example.com' }, { timeoutMs: 2000 });
    const err = await mailer.send(mail).catch((e: unknown) => e);
    mailer.close();
    expect(isNotifyError(err) && err.code).toBe('smtp_unreachable');
    expect((err as Error).message).toContain('could not be reached');
  });
});

describe('SMTP configuration', () => {
  it('is off without SMTP_URL and needs SMTP_FROM with it', () => {
    expect(smtpConfigFromEnv({})).toBeNull();
    expect(smtpConfigFromEnv({ SMTP_URL: 'smtp://mx:25', SMTP_FROM: 'a@b.c' })).toEqual({ url: 'smtp://mx:25', from: 'a@b.c' });
    const codeOf = (env: NodeJS.ProcessEnv): unknown => {
      try {
        smtpConfigFromEnv(env);
        return null;
      } catch (err) {
        return isNotifyError(err) ? err.code : err;
      }
    };
    expect(codeOf({ SMTP_URL: 'smtp://mx:25' })).toBe('invalid_config');
    expect(codeOf({ SMTP_URL: 'http://mx', SMTP_FROM: 'a@b.c' })).toBe('invalid_config');
    expect(describeSmtpUrl('smtps://u:p@mail.example.com')).toBe('smtps://mail.example.com:465');
  });

  it('derives a stable, valid Message-ID from the alert id', () => {
    expect(alertMessageId('acme:alert:3:warning', 'AI Credits <credits@example.com>')).toBe(
      '<acme=3Aalert=3A3=3Awarning.alert@example.com>',
    );
    expect(alertMessageId('a.b', 'x@y.z')).not.toBe(alertMessageId('a=2Eb', 'x@y.z'));
  });
});
