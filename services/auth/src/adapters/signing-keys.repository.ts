/**
 * Access-token signing keys in PostgreSQL, with rotation. The newest unretired key signs; the
 * JWKS publishes it and every retired key until it expires (retirement + the access-token
 * lifetime + a margin), so tokens signed just before a rotation still verify everywhere.
 * Private keys are encrypted with AES-256-GCM when a key-encryption secret is configured, and
 * never logged.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, randomUUID } from 'node:crypto';
import {
  exportJWK,
  exportPKCS8,
  generateKeyPair,
  importPKCS8,
  SignJWT,
  type JSONWebKeySet,
  type JWK,
  type KeyLike,
} from 'jose';
import type { Pool } from '@cinema/pg';
import type { AccessClaims, AccessTokenSigner } from '../domain/model';

export interface KeyStoreOptions {
  alg: 'RS256' | 'ES256';
  issuer: string;
  audience: string;
  accessTokenTtlSeconds: number;
  rotationDays: number;
  encryptionSecret?: string;
}

interface LoadedKey {
  kid: string;
  publicJwk: JWK;
  privateKey: KeyLike;
  createdAt: Date;
  retiredAt: Date | null;
}

export class KeyStore implements AccessTokenSigner {
  private current?: LoadedKey;
  private published: JWK[] = [];
  private listeners: Array<(jwks: JSONWebKeySet) => void> = [];

  constructor(
    private readonly pool: Pool,
    private readonly options: KeyStoreOptions,
  ) {}

  /** Loads the keys; creates the first one, or a new one when the current is due to rotate. */
  async init(): Promise<void> {
    await this.load();
    const due =
      !this.current ||
      Date.now() - this.current.createdAt.getTime() > this.options.rotationDays * 86_400_000;
    if (due) await this.rotate();
  }

  /** Makes a new signing key and retires the previous one (under a lock: one per rotation). */
  async rotate(): Promise<string> {
    const client = await this.pool.connect();
    const kid = randomUUID();
    try {
      await client.query('BEGIN');
      await client.query(`LOCK TABLE signing_keys IN EXCLUSIVE MODE`);
      const { publicKey, privateKey } = await generateKeyPair(this.options.alg, {
        extractable: true,
        ...(this.options.alg === 'RS256' ? { modulusLength: 2048 } : {}),
      });
      const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: this.options.alg, use: 'sig' };
      const pem = await exportPKCS8(privateKey);
      const stored = this.options.encryptionSecret ? this.encrypt(pem) : pem;
      const keep = (this.options.accessTokenTtlSeconds + 3600) * 1000;
      await client.query(
        `UPDATE signing_keys SET retired_at = now(), expires_at = now() + $1 * interval '1 millisecond'
         WHERE retired_at IS NULL`,
        [keep],
      );
      await client.query(
        `INSERT INTO signing_keys (kid, alg, public_jwk, private_key, encrypted)
         VALUES ($1, $2, $3, $4, $5)`,
        [kid, this.options.alg, publicJwk, stored, Boolean(this.options.encryptionSecret)],
      );
      await client.query(`DELETE FROM signing_keys WHERE expires_at < now()`);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
    await this.load();
    return kid;
  }

  /** Re-reads the keys (another replica may have rotated). */
  async load(): Promise<void> {
    const res = await this.pool.query<{
      kid: string;
      alg: string;
      public_jwk: JWK;
      private_key: string;
      encrypted: boolean;
      created_at: Date;
      retired_at: Date | null;
    }>(
      `SELECT kid, alg, public_jwk, private_key, encrypted, created_at, retired_at
       FROM signing_keys WHERE expires_at IS NULL OR expires_at > now()
       ORDER BY created_at DESC`,
    );
    const active = res.rows.find((r) => !r.retired_at && r.alg === this.options.alg);
    if (active && active.kid !== this.current?.kid) {
      const pem = active.encrypted ? this.decrypt(active.private_key) : active.private_key;
      this.current = {
        kid: active.kid,
        publicJwk: active.public_jwk,
        privateKey: await importPKCS8(pem, active.alg),
        createdAt: active.created_at,
        retiredAt: null,
      };
    }
    const published = res.rows.map((r) => r.public_jwk);
    const changed = JSON.stringify(published) !== JSON.stringify(this.published);
    this.published = published;
    if (changed) for (const l of this.listeners) l(this.jwks());
  }

  jwks(): JSONWebKeySet {
    return { keys: this.published.map((k) => ({ ...k })) };
  }

  get currentKid(): string | undefined {
    return this.current?.kid;
  }

  onChange(listener: (jwks: JSONWebKeySet) => void): void {
    this.listeners.push(listener);
    listener(this.jwks());
  }

  async sign(claims: AccessClaims): Promise<string> {
    const key = this.current;
    if (!key) throw new Error('no signing key loaded');
    return new SignJWT({
      roles: claims.roles,
      sid: claims.sid,
      email: claims.email,
      email_verified: claims.email_verified,
      typ: 'access',
    })
      .setProtectedHeader({ alg: this.options.alg, kid: key.kid, typ: 'JWT' })
      .setSubject(claims.sub)
      .setIssuer(this.options.issuer)
      .setAudience(this.options.audience)
      .setIssuedAt()
      .setJti(randomUUID())
      .setExpirationTime(`${this.options.accessTokenTtlSeconds}s`)
      .sign(key.privateKey);
  }

  private kek(): Buffer {
    return createHash('sha256').update(this.options.encryptionSecret!).digest();
  }

  private encrypt(text: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.kek(), iv);
    const data = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
    return ['v1', iv, cipher.getAuthTag(), data]
      .map((p) => (typeof p === 'string' ? p : p.toString('base64')))
      .join('.');
  }

  private decrypt(stored: string): string {
    if (!this.options.encryptionSecret) {
      throw new Error('signing keys are encrypted: set JWT_KEY_ENCRYPTION_SECRET');
    }
    const [, iv, tag, data] = stored.split('.');
    const decipher = createDecipheriv('aes-256-gcm', this.kek(), Buffer.from(iv!, 'base64'));
    decipher.setAuthTag(Buffer.from(tag!, 'base64'));
    return Buffer.concat([
      decipher.update(Buffer.from(data!, 'base64')),
      decipher.final(),
    ]).toString('utf8');
  }
}
