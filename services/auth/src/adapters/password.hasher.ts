/** argon2id password hashing (OWASP parameters by default, configurable). */
import * as argon2 from 'argon2';
import type { PasswordHasher } from '../domain/model';

export function createPasswordHasher(opts: {
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}): PasswordHasher {
  const params = { type: argon2.argon2id as 2, ...opts };
  // A real hash of a random secret: verifying against it costs what a real verify costs.
  let dummy: Promise<string> | undefined;
  return {
    hash: (password) => argon2.hash(password, params),
    async verify(hash, password) {
      try {
        return await argon2.verify(hash, password);
      } catch {
        return false;
      }
    },
    async verifyDummy(password) {
      dummy ??= argon2.hash(`dummy-${Math.random()}`, params);
      await argon2.verify(await dummy, password).catch(() => false);
    },
  };
}
