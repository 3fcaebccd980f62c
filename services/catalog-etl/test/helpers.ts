/**
 * catalog-etl's own test helpers (the generic ones, ports, waits and names, come from
 * @cinema/testing): a database of its own on the stack's PostgreSQL (other files and engineers
 * share the server), the content schema from catalog-admin's migrations (SQL files, read as
 * data), generated catalog rows, and a TCP proxy to simulate outages.
 */
import { randomUUID } from 'node:crypto';
import * as net from 'node:net';
import * as path from 'node:path';
import { createPool, migrate, type Pool } from '@cinema/pg';
import { freePort, suffix } from '@cinema/testing';

export const CONTENT_MIGRATIONS = path.resolve(__dirname, '../../catalog-admin/migrations');

export interface TestDatabase {
  name: string;
  url: string;
  pool: Pool;
  drop(): Promise<void>;
}

/** CREATE DATABASE <prefix>_<random> on the stack's server, with the content schema applied. */
export async function createTestDatabase(prefix: string): Promise<TestDatabase> {
  const adminUrl = process.env.DATABASE_URL!;
  const name = `${prefix}_${suffix()}`;
  const admin = createPool(adminUrl, { max: 1 });
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  const pool = createPool(url, { max: 5 });
  // The drop below ends connections WITH (FORCE); an idle client of this pool that the server
  // closes first (a busy machine) is an expected 57P01, not a reason to crash the test file.
  pool.on('error', (err: Error & { code?: string }) => {
    if (err.code !== '57P01') throw err;
  });
  await migrate(pool, { dir: CONTENT_MIGRATIONS, schema: 'content' });
  return {
    name,
    url,
    pool,
    async drop() {
      await pool.end();
      const a = createPool(adminUrl, { max: 1 });
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}

export interface Catalog {
  films: Array<{ id: string; title: string; rating: number; description: string }>;
  genres: Array<{ id: string; name: string }>;
  persons: Array<{ id: string; full_name: string }>;
  /** film id -> genre ids */
  filmGenres: Map<string, string[]>;
  /** film id -> [person id, role] */
  filmPersons: Map<string, Array<[string, string]>>;
}

const WORDS = [
  'star',
  'wars',
  'galaxy',
  'empire',
  'return',
  'night',
  'river',
  'shadow',
  'crown',
  'winter',
  'garden',
  'silent',
  'ocean',
  'machine',
  'dragon',
  'thunder',
  'forest',
  'city',
  'glass',
  'storm',
];
const NAMES = ['Anna', 'Boris', 'Clara', 'Dmitri', 'Elena', 'Fyodor', 'Greta', 'Hugo', 'Irina'];
const SURNAMES = ['Ivanova', 'Petrov', 'Smith', 'Kowalski', 'Rossi', 'Novak', 'Berg', 'Lund'];

/**
 * Generates `films` films with genres and persons and inserts them in one go. With `modified`,
 * every row gets that same timestamp (triggers off for the session, as a bulk loader does), so
 * keyset ties on `modified` are exercised; otherwise the triggers run.
 */
export async function seedCatalog(
  pool: Pool,
  options: {
    films: number;
    genres?: number;
    persons?: number;
    linksPerFilm?: number;
    modified?: string;
    titles?: string[];
  },
): Promise<Catalog> {
  const genres = Array.from({ length: options.genres ?? 0 }, (_, i) => ({
    id: randomUUID(),
    name: `Genre ${i} ${suffix()}`,
  }));
  const persons = Array.from({ length: options.persons ?? 0 }, (_, i) => ({
    id: randomUUID(),
    full_name: `${NAMES[i % NAMES.length]} ${SURNAMES[(i * 7) % SURNAMES.length]} ${i}`,
  }));
  const films = Array.from({ length: options.films }, (_, i) => ({
    id: randomUUID(),
    title:
      options.titles?.[i] ?? `${WORDS[i % WORDS.length]} ${WORDS[(i * 3 + 1) % WORDS.length]} ${i}`,
    rating: Math.round(((i * 37) % 100) + 1) / 10,
    description: `A film about the ${WORDS[(i * 5 + 2) % WORDS.length]} number ${i}`,
  }));
  const filmGenres = new Map<string, string[]>();
  const filmPersons = new Map<string, Array<[string, string]>>();
  const roles = ['actor', 'director', 'writer'];
  films.forEach((f, i) => {
    if (genres.length) {
      const g = [genres[i % genres.length]!.id];
      if (genres.length > 1 && i % 2 === 0) g.push(genres[(i + 1) % genres.length]!.id);
      filmGenres.set(f.id, g);
    }
    if (persons.length) {
      const links: Array<[string, string]> = [];
      const n = Math.min(options.linksPerFilm ?? 3, persons.length);
      for (let k = 0; k < n; k++) {
        links.push([persons[(i + k * 7) % persons.length]!.id, roles[k % roles.length]!]);
      }
      filmPersons.set(f.id, links);
    }
  });

  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const ts = options.modified ?? null;
    if (ts) await client.query(`SET LOCAL session_replication_role = replica`);
    const chunk = 2000;
    for (let i = 0; i < genres.length; i += chunk) {
      const part = genres.slice(i, i + chunk);
      await client.query(
        `INSERT INTO content.genre (id, name, created, modified)
         SELECT id, name, COALESCE($3::timestamptz, now()), COALESCE($3::timestamptz, now())
           FROM unnest($1::uuid[], $2::text[]) AS t(id, name)`,
        [part.map((g) => g.id), part.map((g) => g.name), ts],
      );
    }
    for (let i = 0; i < persons.length; i += chunk) {
      const part = persons.slice(i, i + chunk);
      await client.query(
        `INSERT INTO content.person (id, full_name, created, modified)
         SELECT id, n, COALESCE($3::timestamptz, now()), COALESCE($3::timestamptz, now())
           FROM unnest($1::uuid[], $2::text[]) AS t(id, n)`,
        [part.map((p) => p.id), part.map((p) => p.full_name), ts],
      );
    }
    for (let i = 0; i < films.length; i += chunk) {
      const part = films.slice(i, i + chunk);
      await client.query(
        `INSERT INTO content.film_work (id, title, description, rating, type, creation_date,
                                        created, modified)
         SELECT id, title, d, r, 'movie', DATE '2000-01-01',
                COALESCE($5::timestamptz, now()), COALESCE($5::timestamptz, now())
           FROM unnest($1::uuid[], $2::text[], $3::text[], $4::float8[]) AS t(id, title, d, r)`,
        [
          part.map((f) => f.id),
          part.map((f) => f.title),
          part.map((f) => f.description),
          part.map((f) => f.rating),
          ts,
        ],
      );
      const gl = part.flatMap((f) => (filmGenres.get(f.id) ?? []).map((g) => [f.id, g]));
      if (gl.length) {
        await client.query(
          `INSERT INTO content.genre_film_work (id, film_work_id, genre_id)
           SELECT gen_random_uuid(), f, g FROM unnest($1::uuid[], $2::uuid[]) AS t(f, g)`,
          [gl.map((l) => l[0]), gl.map((l) => l[1])],
        );
      }
      const pl = part.flatMap((f) => (filmPersons.get(f.id) ?? []).map(([p, r]) => [f.id, p, r]));
      if (pl.length) {
        await client.query(
          `INSERT INTO content.person_film_work (id, film_work_id, person_id, role)
           SELECT gen_random_uuid(), f, p, r FROM unnest($1::uuid[], $2::uuid[], $3::text[])
             AS t(f, p, r)`,
          [pl.map((l) => l[0]), pl.map((l) => l[1]), pl.map((l) => l[2])],
        );
      }
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  } finally {
    client.release();
  }
  return { films, genres, persons, filmGenres, filmPersons };
}

/** A TCP proxy to a server that can be taken down (connection refused) and brought back. */
export class OutageProxy {
  private server?: net.Server;
  private sockets = new Set<net.Socket>();
  constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  static async create(target: { host: string; port: number }): Promise<OutageProxy> {
    return new OutageProxy(await freePort(), target);
  }

  async up(): Promise<void> {
    if (this.server) return;
    this.server = net.createServer((socket) => {
      const upstream = net.connect(this.target.port, this.target.host);
      this.sockets.add(socket).add(upstream);
      const close = () => {
        socket.destroy();
        upstream.destroy();
        this.sockets.delete(socket);
        this.sockets.delete(upstream);
      };
      socket.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
      socket.pipe(upstream).pipe(socket);
    });
    await new Promise<void>((r) => this.server!.listen(this.port, '127.0.0.1', r));
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }
}
