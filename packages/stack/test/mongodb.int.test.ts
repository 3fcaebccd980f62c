/**
 * The stack's MongoDB (FerretDB v1 on SQLite) through the official driver: inserts, a unique
 * index refusing a duplicate with code 11000, and finds.
 */
import { MongoClient, MongoServerError, type Db } from 'mongodb';

describe('mongodb (FerretDB)', () => {
  let client: MongoClient;
  let db: Db;
  const dbName = `stack_test_${process.pid}_${Date.now()}`;

  beforeAll(async () => {
    const url = process.env.MONGODB_URL;
    if (!url)
      throw new Error(
        'MONGODB_URL is not set; run with the integration project (STACK_SERVERS=mongodb)',
      );
    client = await new MongoClient(url, { serverSelectionTimeoutMS: 10_000 }).connect();
    db = client.db(dbName);
  });

  afterAll(async () => {
    await db?.dropDatabase().catch(() => undefined);
    await client?.close();
  });

  it('answers ping and buildInfo', async () => {
    expect(await db.command({ ping: 1 })).toMatchObject({ ok: 1 });
    const info = await db.admin().command({ buildInfo: 1 });
    expect(info.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(info.ferretdbVersion).toMatch(/^v1\./);
  });

  it('inserts, enforces a unique index and finds documents', async () => {
    const movies = db.collection<{ slug: string; title: string; year: number; genres: string[] }>(
      'movies',
    );
    await movies.insertMany([
      { slug: 'metropolis', title: 'Metropolis', year: 1927, genres: ['sci-fi', 'drama'] },
      { slug: 'alien', title: 'Alien', year: 1979, genres: ['sci-fi', 'horror'] },
      { slug: 'l-atalante', title: "L'Atalante", year: 1934, genres: ['drama'] },
    ]);
    await movies.createIndex({ slug: 1 }, { unique: true, name: 'slug_unique' });
    const indexes = await movies.indexes();
    expect(indexes.find((i) => i.name === 'slug_unique')).toMatchObject({
      unique: true,
      key: { slug: 1 },
    });

    const duplicate = movies.insertOne({
      slug: 'alien',
      title: 'Alien again',
      year: 1986,
      genres: [],
    });
    await expect(duplicate).rejects.toBeInstanceOf(MongoServerError);
    await expect(duplicate).rejects.toMatchObject({ code: 11000 });

    const sciFi = await movies
      .find({ genres: 'sci-fi' }, { projection: { _id: 0, slug: 1, year: 1 } })
      .sort({ year: 1 })
      .toArray();
    expect(sciFi).toEqual([
      { slug: 'metropolis', year: 1927 },
      { slug: 'alien', year: 1979 },
    ]);

    expect(
      await movies.findOne(
        { year: { $gt: 1930, $lt: 1940 } },
        { projection: { _id: 0, title: 1 } },
      ),
    ).toEqual({
      title: "L'Atalante",
    });
    expect(await movies.countDocuments()).toBe(3);

    const updated = await movies.updateOne({ slug: 'alien' }, { $push: { genres: 'classic' } });
    expect(updated.modifiedCount).toBe(1);
    expect((await movies.findOne({ slug: 'alien' }))?.genres).toEqual([
      'sci-fi',
      'horror',
      'classic',
    ]);
  });
});
