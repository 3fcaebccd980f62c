/**
 * ES_BULK_CONCURRENCY reaches the indexer: the SearchIndex that wiring builds from the config
 * writes a batch in that many parallel bulk requests (a stand-in client records them; no I/O).
 */
import type { Client } from '@elastic/elasticsearch';
import { readConfig } from '../src/config';
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
