/**
 * The visibility query built from `credits account list` / ops view filters: every filter's
 * term, and hostile values (quotes, backslashes, query syntax, control characters) refused
 * before anything reaches the server, so no value can leave its quotes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AccountListFilterError, accountListQuery, quoteQueryValue, searchAttributeCreateCommand } from '../../client/account-list';
import { searchAttributeArgs } from '../../infra/dev-server';
import { ACCOUNT_SEARCH_ATTRIBUTE_KEYS } from '../../workflows/search-attributes';

const BASE = "WorkflowType = 'accountCredits' AND ExecutionStatus = 'Running'";

describe('accountListQuery', () => {
  it('lists running account workflows with no filter', () => {
    expect(accountListQuery()).toBe(BASE);
  });

  it('ANDs every filter, with `none` meaning the wire contract\'s ok', () => {
    expect(
      accountListQuery({ alert: 'exhausted', tier: 'tier-5', plan: 'growth', tag: 'chloe-beta', parked: true, trial: false, idPrefix: 'acme' }),
    ).toBe(
      `${BASE} AND CreditsAlert = 'exhausted' AND CreditsPlan = 'growth' AND CreditsTier = 'tier-5' AND CreditsTags = 'chloe-beta'` +
        " AND CreditsParkedEffects > 0 AND CreditsTrial = false AND WorkflowId STARTS_WITH 'ai-credits:acme'",
    );
    expect(accountListQuery({ alert: 'none' })).toBe(`${BASE} AND CreditsAlert = 'ok'`);
    expect(accountListQuery({ trial: true, parked: false })).toBe(`${BASE} AND CreditsTrial = true`);
  });

  it.each([
    ["o'brien"],
    ["x' OR WorkflowType = 'other"],
    ['say "hi"'],
    ['back\\slash'],
    ['tick`'],
    ['new\nline'],
    ['tab\there'],
    ['caf\u00e9'],
    ['\u0000'],
    [''],
    ['x'.repeat(201)],
  ])('refuses the tag %j instead of quoting it', (tag) => {
    expect(() => accountListQuery({ tag })).toThrow(AccountListFilterError);
    expect(() => accountListQuery({ tier: tag })).toThrow(AccountListFilterError);
  });

  it('refuses an unknown alert state', () => {
    expect(() => accountListQuery({ alert: 'red' as never })).toThrow(/alert must be one of ok, none, warning, exhausted/);
  });

  it('keeps any accepted value inside its quotes (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (value) => {
        let quoted: string;
        try {
          quoted = quoteQueryValue('tag', value);
        } catch (err) {
          expect(err).toBeInstanceOf(AccountListFilterError);
          return;
        }
        expect(quoted).toBe(`'${value}'`);
        // Nothing inside can close the literal or escape its closing quote.
        expect(value).not.toMatch(/['"\\`]/);
        expect(value).toMatch(/^[\x20-\x7e]+$/);
      }),
    );
  });
});

describe('registration', () => {
  it('names every attribute with its type for the dev server and the operator command', () => {
    expect(searchAttributeArgs(ACCOUNT_SEARCH_ATTRIBUTE_KEYS)).toEqual([
      '--search-attribute', 'CreditsPlan=Keyword',
      '--search-attribute', 'CreditsTier=Keyword',
      '--search-attribute', 'CreditsTrial=Bool',
      '--search-attribute', 'CreditsAlert=Keyword',
      '--search-attribute', 'CreditsAvailable=Int',
      '--search-attribute', 'CreditsCycleEnd=Datetime',
      '--search-attribute', 'CreditsTags=KeywordList',
      '--search-attribute', 'CreditsParkedEffects=Int',
    ]);
    expect(searchAttributeCreateCommand('default')).toBe(
      'temporal operator search-attribute create --namespace default --name CreditsPlan --type Keyword --name CreditsTier --type Keyword' +
        ' --name CreditsTrial --type Bool --name CreditsAlert --type Keyword --name CreditsAvailable --type Int' +
        ' --name CreditsCycleEnd --type Datetime --name CreditsTags --type KeywordList --name CreditsParkedEffects --type Int',
    );
  });

  it('refuses an unknown type', () => {
    expect(() => searchAttributeArgs([{ name: 'X', type: 'BLOB' }])).toThrow(/unknown search attribute type BLOB for X/);
  });
});
