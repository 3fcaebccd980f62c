import { Client } from '@elastic/elasticsearch';

describe('elasticsearch (local stack)', () => {
  const client = new Client({ node: process.env.ELASTICSEARCH_URL! });
  const index = `stack-test-${process.pid}-${Date.now()}`;

  afterAll(async () => {
    await client.indices.delete({ index }, { ignore: [404] });
    await client.close();
  });

  it('answers with its version', async () => {
    const info = await client.info();
    expect(info.version.number).toMatch(/^8\./);
  });

  it('creates an index with a mapping, indexes and searches documents', async () => {
    await client.indices.create({
      index,
      settings: { number_of_shards: 1, number_of_replicas: 0 },
      mappings: {
        properties: {
          title: { type: 'text', analyzer: 'standard' },
          genre: { type: 'keyword' },
          year: { type: 'integer' },
        },
      },
    });
    const mapping = await client.indices.getMapping({ index });
    expect(mapping[index]!.mappings.properties!.genre).toEqual({ type: 'keyword' });

    const movies = [
      { title: 'The Great Popcorn Heist', genre: 'comedy', year: 2019 },
      { title: 'Midnight Popcorn', genre: 'horror', year: 2021 },
      { title: 'Silent River', genre: 'drama', year: 2020 },
    ];
    for (const [i, movie] of movies.entries()) {
      await client.index({ index, id: String(i + 1), document: movie, refresh: true });
    }

    const result = await client.search<{ title: string; genre: string; year: number }>({
      index,
      query: { match: { title: 'popcorn' } },
      sort: [{ year: 'asc' }],
    });
    expect(result.hits.total).toEqual({ value: 2, relation: 'eq' });
    expect(result.hits.hits.map((h) => h._source!.title)).toEqual([
      'The Great Popcorn Heist',
      'Midnight Popcorn',
    ]);

    const filtered = await client.search({
      index,
      query: { bool: { filter: [{ term: { genre: 'drama' } }] } },
    });
    expect(filtered.hits.hits.map((h) => h._id)).toEqual(['3']);
  });
});
