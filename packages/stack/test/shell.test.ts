import { shellExports, shellQuote } from '../src/shell';

describe('stack env quoting', () => {
  it('prints export lines with single-quoted values', () => {
    expect(shellExports({ DATABASE_URL: 'postgres://u:p@127.0.0.1:1/db', EMPTY: '' })).toBe(
      "export DATABASE_URL='postgres://u:p@127.0.0.1:1/db'\nexport EMPTY=''\n",
    );
  });

  it("quotes what a shell would expand or split: ', $, `, \\, spaces, newlines", () => {
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(shellQuote('$HOME `id` \\ a b\nc')).toBe(`'$HOME \`id\` \\ a b\nc'`);
  });

  it('refuses keys that are not shell identifiers', () => {
    expect(() => shellExports({ 'A-B': 'x' })).toThrow(/not a shell variable name/);
    expect(() => shellExports({ 'A=$(id)': 'x' })).toThrow(/not a shell variable name/);
  });
});
