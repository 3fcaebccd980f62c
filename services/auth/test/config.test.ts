/** Settings of the hardening (issue 13) parsed as the service reads them; no I/O. */
import { readConfig } from '../src/config';
import { linksOf } from '../src/wiring';

const required = {
  DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/db',
  REDIS_URL: 'redis://127.0.0.1:6379',
  AMQP_URL: 'amqp://127.0.0.1:5672',
};

describe('TRUSTED_PROXIES', () => {
  it('defaults to loopback (the local gateway); takes a hop count or CIDR list; refuses nonsense', () => {
    expect(readConfig(required).TRUSTED_PROXIES).toEqual(['loopback']);
    expect(readConfig({ ...required, TRUSTED_PROXIES: '1' }).TRUSTED_PROXIES).toBe(1);
    expect(readConfig({ ...required, TRUSTED_PROXIES: '0' }).TRUSTED_PROXIES).toBe(0);
    expect(
      readConfig({ ...required, TRUSTED_PROXIES: '10.0.0.0/8, fd00::/8,loopback' }).TRUSTED_PROXIES,
    ).toEqual(['10.0.0.0/8', 'fd00::/8', 'loopback']);
    for (const bad of ['everyone', '10.0.0.0/33', '10.0.0.1/8/2', 'true', '*', ',']) {
      expect(() => readConfig({ ...required, TRUSTED_PROXIES: bad })).toThrow(/TRUSTED_PROXIES/);
    }
  });
});

describe('account mail settings', () => {
  it('AUTH_MAIL is smtp or off; links carry the token in the fragment only', () => {
    expect(readConfig(required).AUTH_MAIL).toBeUndefined(); // wiring: smtp iff SMTP_URL is set
    expect(() => readConfig({ ...required, AUTH_MAIL: 'sendmail' })).toThrow(/AUTH_MAIL/);
    const links = linksOf({ ACCOUNT_LINKS_BASE_URL: 'https://cinema.example/account/' });
    const link = new URL(links.confirmEmailChange('abc-DEF_123'));
    expect(`${link.origin}${link.pathname}`).toBe('https://cinema.example/account/confirm-email');
    expect(link.search).toBe(''); // nothing a server would log
    expect(link.hash).toBe('#token=abc-DEF_123');
    expect(links.verifyEmail('t')).toMatch(/\/verify-email#token=t$/);
    expect(links.resetPassword('t')).toMatch(/\/reset-password#token=t$/);
  });
});
