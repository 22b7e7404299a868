import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/service/config.js';

describe('the interest routing configuration', () => {
  it('binds per company by default, with a 30 s linger and at most 1,000 companies', () => {
    expect(parseConfig({}).interest).toEqual({ routing: 'tenant', lingerMs: 30_000, maxBindings: 1_000 });
  });

  it('takes INTEREST_ROUTING, INTEREST_LINGER_MS and INTEREST_MAX_BINDINGS', () => {
    const env = { INTEREST_ROUTING: 'all', INTEREST_LINGER_MS: '0', INTEREST_MAX_BINDINGS: '50' };
    expect(parseConfig(env).interest).toEqual({ routing: 'all', lingerMs: 0, maxBindings: 50 });
  });

  it('refuses what it cannot use, naming the variable', () => {
    expect(() => parseConfig({ INTEREST_ROUTING: 'some' })).toThrow(ConfigError);
    expect(() => parseConfig({ INTEREST_ROUTING: 'some' })).toThrow(/INTEREST_ROUTING to be tenant or all/);
    expect(() => parseConfig({ INTEREST_MAX_BINDINGS: '0' })).toThrow(/INTEREST_MAX_BINDINGS/);
    expect(() => parseConfig({ INTEREST_LINGER_MS: '-1' })).toThrow(/INTEREST_LINGER_MS/);
  });
});
