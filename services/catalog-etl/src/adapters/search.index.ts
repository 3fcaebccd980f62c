/**
 * The Elasticsearch side: the indices of @cinema/catalog-index created when missing (with their
 * analysis and mappings), idempotent bulk writes (document id = row id) and deletes.
 */
import { Client, errors } from '@elastic/elasticsearch';
import type { estypes } from '@elastic/elasticsearch';
import {
  ANALYSIS,
  INDEX_NAMES,
  indexName,
  mappings,
  type FilmDocument,
  type GenreDocument,
  type PersonDocument,
} from '@cinema/catalog-index';
import type { FilmDoc, GenreDoc, PersonDoc } from '../domain/documents';
import type { IndexName, SearchSink } from '../domain/etl';

/** Names, analysis and mappings live in @cinema/catalog-index (catalog-api's tests use them). */
export { ANALYSIS, INDEX_NAMES, indexName, mappings };

type Holds<T extends true> = T;
/** The documents the ETL writes have the shapes the package describes (checked when compiling). */
export type WrittenAsDescribed = Holds<
  FilmDoc extends FilmDocument
    ? GenreDoc extends GenreDocument
      ? PersonDoc extends PersonDocument
        ? true
        : false
      : false
    : false
>;

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
