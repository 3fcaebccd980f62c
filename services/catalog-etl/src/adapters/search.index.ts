/**
 * The Elasticsearch side: index names, explicit mappings (created when missing), idempotent bulk
 * writes (document id = row id) and deletes.
 */
import { Client, errors } from '@elastic/elasticsearch';
import type { estypes } from '@elastic/elasticsearch';
import type { IndexName, SearchSink } from '../domain/etl';

export const INDEX_NAMES: readonly IndexName[] = ['films', 'genres', 'persons'];

export function indexName(prefix: string, name: IndexName): string {
  return `${prefix}${name}`;
}

/**
 * Analysis every index is created with: only what a bare Elasticsearch has (no analysis-common
 * module, no language plugins), so a `lowercase` normalizer for whole-value matches. Language
 * analyzers (`ES_ANALYZER`, a chart value) apply to the text fields where the cluster has them.
 */
export const ANALYSIS: estypes.IndicesIndexSettingsAnalysis = {
  normalizer: { lowercase: { type: 'custom', filter: ['lowercase'] } },
};

/**
 * Explicit mappings: keyword + text subfields, nested genres and persons, numeric rating. Titles
 * and names also have `exact` (the whole value, lower-cased: an exact title outranks one that
 * only contains the words) and film titles `suggest` (a completion field for the search box).
 */
export function mappings(analyzer: string): Record<IndexName, estypes.MappingTypeMapping> {
  const text = { type: 'text' as const, analyzer };
  const keywordWithText = { type: 'keyword' as const, fields: { text } };
  const raw = { type: 'keyword' as const, ignore_above: 512 };
  const exact = { type: 'keyword' as const, ignore_above: 512, normalizer: 'lowercase' };
  const textWithRaw = { ...text, fields: { raw, exact } };
  return {
    films: {
      dynamic: 'strict',
      properties: {
        id: { type: 'keyword' },
        title: {
          ...text,
          fields: {
            raw,
            exact,
            // `standard`, whatever the text analyzer: a suggestion matches what was typed.
            suggest: { type: 'completion', analyzer: 'standard', max_input_length: 100 },
          },
        },
        description: text,
        creation_date: { type: 'date' },
        rating: { type: 'float' },
        type: { type: 'keyword' },
        file_path: { type: 'keyword', index: false },
        genres: {
          type: 'nested',
          properties: { id: { type: 'keyword' }, name: keywordWithText },
        },
        persons: {
          type: 'nested',
          properties: {
            id: { type: 'keyword' },
            full_name: textWithRaw,
            role: { type: 'keyword' },
          },
        },
        person_names: text,
        modified: { type: 'date' },
      },
    },
    genres: {
      dynamic: 'strict',
      properties: {
        id: { type: 'keyword' },
        name: keywordWithText,
        description: text,
        modified: { type: 'date' },
      },
    },
    persons: {
      dynamic: 'strict',
      properties: {
        id: { type: 'keyword' },
        full_name: textWithRaw,
        birth_date: { type: 'date' },
        modified: { type: 'date' },
      },
    },
  };
}

export class BulkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BulkError';
  }
}

export class SearchIndex implements SearchSink {
  constructor(
    private readonly client: Client,
    private readonly prefix: string,
    private readonly analyzer: string,
    /**
     * The indices' automatic refresh (`-1`: none). The ETL refreshes after every pass itself,
     * so automatic refreshes only cost indexing speed during big loads.
     */
    private readonly refreshInterval = '-1',
    private readonly concurrency = 2,
  ) {}

  name(index: IndexName): string {
    return indexName(this.prefix, index);
  }

  /** Creates the indices that are missing, with their mappings. */
  async ensureIndices(): Promise<string[]> {
    const created: string[] = [];
    const all = mappings(this.analyzer);
    for (const index of INDEX_NAMES) {
      const name = this.name(index);
      if (await this.client.indices.exists({ index: name })) {
        await this.client.indices.putSettings({
          index: name,
          settings: { refresh_interval: this.refreshInterval },
        });
        continue;
      }
      try {
        await this.client.indices.create({
          index: name,
          settings: {
            number_of_shards: 1,
            number_of_replicas: 0,
            refresh_interval: this.refreshInterval,
            analysis: ANALYSIS,
          },
          mappings: all[index],
        });
        created.push(name);
      } catch (err) {
        // Another replica created it first.
        if (
          err instanceof errors.ResponseError &&
          err.body?.error?.type === 'resource_already_exists_exception'
        )
          continue;
        throw err;
      }
    }
    return created;
  }

  /**
   * Writes the documents in `concurrency` parallel bulk requests (a bulk to one shard is indexed
   * by one thread; parallel ones use more cores).
   */
  async upsert(index: IndexName, docs: Array<{ id: string }>): Promise<void> {
    if (!docs.length) return;
    const name = this.name(index);
    const size = Math.ceil(docs.length / Math.max(1, this.concurrency));
    const parts: Array<Array<{ id: string }>> = [];
    for (let i = 0; i < docs.length; i += size) parts.push(docs.slice(i, i + size));
    const responses = await Promise.all(
      parts.map((part) =>
        this.client.bulk({
          operations: part.flatMap((doc) => [{ index: { _index: name, _id: doc.id } }, doc]),
          refresh: false,
        }),
      ),
    );
    for (const response of responses) this.check(response);
  }

  async remove(index: IndexName, ids: string[]): Promise<void> {
    if (!ids.length) return;
    const name = this.name(index);
    const operations = ids.map((id) => ({ delete: { _index: name, _id: id } }));
    this.check(await this.client.bulk({ operations, refresh: false }));
  }

  async refresh(indices: IndexName[]): Promise<void> {
    await this.client.indices.refresh({ index: indices.map((i) => this.name(i)) });
  }

  async ping(): Promise<void> {
    await this.client.cluster.health({ timeout: '2s' });
  }

  private check(response: estypes.BulkResponse): void {
    if (!response.errors) return;
    // A delete of a document that is not there is what we wanted.
    const failed = response.items
      .map((item) => Object.values(item)[0]!)
      .filter(
        (r) => r.error && !(r.status === 404 && r.error.type !== 'index_not_found_exception'),
      );
    if (!failed.length) return;
    const first = failed[0]!;
    throw new BulkError(
      `${failed.length} bulk item(s) failed, first: ${first.status} ${first.error?.type}: ${first.error?.reason}`,
    );
  }
}
