/**
 * The index mappings and settings the ETL creates, and ES_BULK_CONCURRENCY reaching the
 * indexer: the SearchIndex that wiring builds from the config writes a batch in that many
 * parallel bulk requests (a stand-in client records them; no I/O).
 */
import type { Client } from '@elastic/elasticsearch';
import { readConfig } from '../src/config';
import { ANALYSIS, mappings, SearchIndex } from '../src/adapters/search.index';
import { searchIndexOf } from '../src/wiring';

/** A client whose bulk requests wait a little, recording how many were in flight at once. */
function recordingClient() {
  const bulks: number[] = [];
  let inFlight = 0;
  let peak = 0;
  const client = {
    bulk: async ({ operations }: { operations: unknown[] }) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      bulks.push(operations.length / 2);
      await new Promise((r) => setTimeout(r, 20));
      inFlight--;
      return { errors: false, items: [], took: 1 };
    },
  } as unknown as Client;
  return { client, bulks, peak: () => peak };
}

const docs = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `d${i}` }));
const env = {
  DATABASE_URL: 'postgres://u@localhost/db',
  ELASTICSEARCH_URL: 'http://localhost:9200',
};

describe('ES_BULK_CONCURRENCY', () => {
  it.each([1, 3, 4])('%i: the batch goes out in that many parallel bulk requests', async (n) => {
    const config = readConfig({ ...env, ES_BULK_CONCURRENCY: String(n) }, []);
    expect(config.ES_BULK_CONCURRENCY).toBe(n);
    const { client, bulks, peak } = recordingClient();
    await searchIndexOf(client, config).upsert('films', docs(12));
    expect(bulks).toHaveLength(n);
    expect(bulks.reduce((a, b) => a + b, 0)).toBe(12);
    expect(peak()).toBe(n);
  });

  it('defaults to 2', async () => {
    const config = readConfig(env, []);
    const { client, bulks, peak } = recordingClient();
    await searchIndexOf(client, config).upsert('films', docs(10));
    expect(bulks).toEqual([5, 5]);
    expect(peak()).toBe(2);
  });
});

describe('mappings', () => {
  it('give titles and names a lower-cased whole-value field and film titles a completion field', () => {
    const m = mappings('english');
    const title = m.films.properties!.title as {
      analyzer: string;
      fields: Record<string, { type: string; normalizer?: string; analyzer?: string }>;
    };
    expect(title.analyzer).toBe('english');
    expect(title.fields.exact).toMatchObject({ type: 'keyword', normalizer: 'lowercase' });
    // The suggestion matches what was typed, whatever the language analyzer.
    expect(title.fields.suggest).toMatchObject({ type: 'completion', analyzer: 'standard' });
    const name = m.persons.properties!.full_name as { fields: Record<string, unknown> };
    expect(name.fields.exact).toMatchObject({ normalizer: 'lowercase' });
    // The normalizer is only built-in parts (no analysis plugin or module needed).
    expect(ANALYSIS.normalizer).toEqual({ lowercase: { type: 'custom', filter: ['lowercase'] } });
  });

  it('are created with the analysis settings', async () => {
    const created: Array<{ index: string; settings: { analysis?: unknown } }> = [];
    const client = {
      indices: {
        exists: async () => false,
        create: async (req: { index: string; settings: { analysis?: unknown } }) => {
          created.push(req);
          return {};
        },
      },
    } as unknown as Client;
    await new SearchIndex(client, 'p_', 'standard').ensureIndices();
    expect(created.map((c) => c.index)).toEqual(['p_films', 'p_genres', 'p_persons']);
    for (const c of created) expect(c.settings.analysis).toEqual(ANALYSIS);
  });
});
