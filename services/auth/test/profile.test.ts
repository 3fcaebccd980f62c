/** The profile rules a schema cannot say, and the `user.updated` payload (no I/O). */
import { ValidationError } from '@cinema/errors';
import { checkProfile, isTimeZone, snapshot } from '../src/domain/auth.service';

describe('profile fields', () => {
  it.each(['en', 'ru', 'en-GB', 'pt-BR', 'sr-Latn-RS', 'es-419', 'fil'])(
    'accepts locale %s',
    (l) => {
      expect(() => checkProfile({ locale: l })).not.toThrow();
    },
  );
  it.each(['english', 'EN', 'en_GB', 'en-gb', 'e', ''])('refuses locale %p', (l) => {
    expect(() => checkProfile({ locale: l })).toThrow(ValidationError);
  });
  it('checks time zones against the runtime (IANA names)', () => {
    expect(isTimeZone('Europe/Moscow')).toBe(true);
    expect(isTimeZone('UTC')).toBe(true);
    expect(isTimeZone('Mars/Olympus')).toBe(false);
    expect(isTimeZone('')).toBe(false);
    expect(() => checkProfile({ timeZone: 'Nowhere/Land' })).toThrow(ValidationError);
  });
  it('lists every bad field at once; null clears and is fine', () => {
    try {
      checkProfile({ locale: 'xx_YY', timeZone: 'Nope/Nope' });
      throw new Error('no error');
    } catch (err) {
      expect(Object.keys((err as ValidationError).fields).sort()).toEqual([
        'body.locale',
        'body.timeZone',
      ]);
    }
    expect(() => checkProfile({ locale: null, timeZone: null })).not.toThrow();
  });
});

describe('user.updated payload', () => {
  it('is the whole account in the contract names, never a secret', () => {
    const at = new Date('2026-05-01T10:00:00Z');
    const user = {
      id: 'u1',
      email: 'a@example.test',
      firstName: 'Ann',
      lastName: null,
      isActive: true,
      emailVerified: true,
      roles: ['public_user'],
      locale: 'ru',
      timeZone: 'Europe/Moscow',
      createdAt: at,
      updatedAt: at,
      passwordHash: 'secret-hash',
    };
    expect(snapshot(user)).toEqual({
      user_id: 'u1',
      email: 'a@example.test',
      email_verified: true,
      first_name: 'Ann',
      last_name: null,
      locale: 'ru',
      time_zone: 'Europe/Moscow',
      roles: ['public_user'],
      is_active: true,
    });
  });
});
