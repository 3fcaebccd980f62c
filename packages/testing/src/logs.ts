/**
 * Services' log lines in Elasticsearch, shipped the way the stack ships them: each service's
 * output in a log file of its own (as the stack's process runner writes it), sent by the stack's
 * LogShipper to indices of the test's own, then read back by trace id.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface ShippedLogs {
  /** The log lines (ECS documents) whose `trace.id` is `traceId`, at most `size`. */
  byTrace(traceId: string, size?: number): Promise<Array<Record<string, unknown>>>;
  /** Deletes the indices and the log files. */
  close(): Promise<void>;
}

/**
 * Ships `outputs` (service name -> what it wrote to stdout, ECS JSON lines) to the stack's
 * Elasticsearch (`ELASTICSEARCH_URL`) under indices `<indexPrefix>-*`, refreshed, so that they
 * can be searched at once. `@cinema/stack` is loaded on first use.
 */
export async function shipServiceLogs(
  outputs: Record<string, string>,
  indexPrefix: string,
): Promise<ShippedLogs> {
  const { LogShipper } = await import('@cinema/stack');
  const es = process.env.ELASTICSEARCH_URL!;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cinema-service-logs-'));
  const close = async () => {
    const res = await fetch(`${es}/_cat/indices/${indexPrefix}-*?format=json&h=index`);
    const names = ((await res.json()) as Array<{ index: string }>).map((i) => i.index);
    if (names.length) await fetch(`${es}/${names.join(',')}`, { method: 'DELETE' });
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const shipper = new LogShipper({
    elasticsearchUrl: es,
    stateFile: path.join(dir, 'offsets.json'),
    indexPrefix,
    sources: () =>
      Object.entries(outputs).map(([name, output]) => {
        const file = path.join(dir, `service-${name}.log`);
        fs.writeFileSync(file, output);
        return { file, service: name, format: 'ecs' as const };
      }),
  });
  try {
    await shipper.round();
    await shipper.stop();
    await fetch(`${es}/${indexPrefix}-*/_refresh`, { method: 'POST' });
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
  return {
    async byTrace(traceId, size = 100) {
      const res = await fetch(`${es}/${indexPrefix}-*/_search`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: { term: { 'trace.id': traceId } }, size }),
      });
      if (!res.ok) throw new Error(`log search: ${res.status} ${await res.text()}`);
      const body = (await res.json()) as {
        hits: { hits: Array<{ _source: Record<string, unknown> }> };
      };
      return body.hits.hits.map((h) => h._source);
    },
    close,
  };
}
