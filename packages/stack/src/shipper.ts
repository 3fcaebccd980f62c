/**
 * Ships log files to Elasticsearch, the stack's part of "services log to stdout, the platform
 * collects" (Filebeat does it in the cluster). Every second it reads the lines appended to each
 * file since the saved offset, turns them into ECS documents (service lines are ECS already;
 * nginx's JSON access log is mapped; other lines become `message`), and sends them with the
 * client's bulk helper into daily indices `<prefix>-YYYY.MM.DD`; indices older than the
 * retention are deleted. Offsets are saved only after Elasticsearch took the lines, and every
 * document's `_id` is its file and byte offset (`create`, so a resend is a 409, not a duplicate):
 * an Elasticsearch outage delays lines, never loses or doubles them.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from '@elastic/elasticsearch';

export interface LogSource {
  file: string;
  /** `service.name` of lines that do not carry one. */
  service: string;
  /** `ecs`: JSON (ECS) lines of a service or server; `nginx`: the gateway's JSON access log. */
  format: 'ecs' | 'nginx';
}

export interface ShipperOptions {
  elasticsearchUrl: string;
  /** Where offsets are kept (JSON). */
  stateFile: string;
  sources: () => LogSource[];
  /** Daily indices `<prefix>-YYYY.MM.DD`; `logs-cinema` by default. */
  indexPrefix?: string;
  retentionDays?: number;
  intervalMs?: number;
  /** Bytes read per file and round; 4 MiB by default. */
  maxBytes?: number;
  onError?: (err: Error) => void;
}

type Doc = Record<string, unknown>;
interface Meta {
  index: string;
  id: string;
}

export interface ShipperStats {
  shipped: number;
  failed: number;
  rounds: number;
  lastError?: string;
  /** Why Elasticsearch refused the last refused line (a mapping conflict, ...). */
  lastDrop?: string;
}

function day(timestamp: unknown): string {
  const d = new Date(typeof timestamp === 'string' ? timestamp : Date.now());
  const t = Number.isNaN(d.getTime()) ? new Date() : d;
  return t.toISOString().slice(0, 10).replace(/-/g, '.');
}

/** One nginx access-log line (servers/nginx.ts `gateway_json`) in ECS. */
function fromNginx(line: Doc, service: string): Doc {
  const num = (v: unknown) => (v === '' || v === undefined ? undefined : Number(v));
  return {
    '@timestamp': line.time,
    'log.level': 'info',
    message: `${String(line.method)} ${String(line.path)} ${String(line.status)}`,
    'service.name': service,
    'event.dataset': 'nginx.access',
    'event.duration': Math.round((num(line.duration) ?? 0) * 1e9),
    'http.request.id': line.request_id,
    'http.request.method': line.method,
    'http.response.status_code': num(line.status),
    'http.response.body.bytes': num(line.bytes),
    'url.path': line.path,
    'url.query': line.query || undefined,
    'client.address': line.remote_addr,
    'user_agent.original': line.user_agent,
    'upstream.address': line.upstream || undefined,
  };
}

/** A line of a service or server log in ECS (pino's ECS lines pass through). */
function toEcs(text: string, source: LogSource): Doc {
  let parsed: unknown;
  if (text.startsWith('{')) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
  }
  if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
    const doc = parsed as Doc;
    if (source.format === 'nginx') return fromNginx(doc, source.service);
    // Pino's numeric time and level (a logger without the ECS format), the collector's `ts`.
    if (doc['@timestamp'] === undefined) {
      const t = doc.time ?? doc.timestamp ?? doc.ts;
      doc['@timestamp'] =
        typeof t === 'number'
          ? new Date(t > 1e12 ? t : t * 1000).toISOString()
          : (t ?? new Date().toISOString());
    }
    if (doc['log.level'] === undefined && typeof doc.level === 'string')
      doc['log.level'] = doc.level;
    if (doc['service.name'] === undefined && !(doc.service && typeof doc.service === 'object'))
      doc['service.name'] = source.service;
    delete doc.time;
    delete doc.level;
    return doc;
  }
  return {
    '@timestamp': new Date().toISOString(),
    'log.level': /\b(error|fatal|exception)\b/i.test(text) ? 'error' : 'info',
    message: text,
    'service.name': source.service,
  };
}

const CORE =
  /^(@timestamp|message|ecs\.version|log\.level|service\.name|trace\.id|span\.id|transaction\.id|http\.request\.id|event\.dataset|error\.(type|message|stack_trace))$/;

/** The core ECS fields of `doc` and the whole of it as `event.original` (same index and id). */
function core(doc: Doc, m: Meta, meta: Map<Doc, Meta>): Doc {
  const out: Doc = { 'event.original': JSON.stringify(doc) };
  for (const [k, v] of Object.entries(doc)) if (CORE.test(k) && typeof v !== 'object') out[k] = v;
  const err = doc.err ?? doc.error;
  if (err && typeof err === 'object') {
    const e = err as Doc;
    for (const f of ['type', 'message', 'stack_trace'])
      if (typeof e[f] === 'string') out[`error.${f}`] = e[f];
  }
  meta.set(out, m);
  return out;
}

export class LogShipper {
  private readonly client: Client;
  private readonly prefix: string;
  private offsets: Record<string, number> = {};
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;
  private stopped = false;
  private lastPrune = 0;
  private templated = false;
  readonly stats: ShipperStats = { shipped: 0, failed: 0, rounds: 0 };

  constructor(private readonly options: ShipperOptions) {
    this.client = new Client({
      node: options.elasticsearchUrl,
      requestTimeout: 10_000,
      maxRetries: 0,
    });
    this.prefix = options.indexPrefix ?? 'logs-cinema';
    try {
      this.offsets = JSON.parse(fs.readFileSync(options.stateFile, 'utf8')) as Record<
        string,
        number
      >;
    } catch {
      this.offsets = {};
    }
  }

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.running = this.round()
        .catch((err: Error) => {
          this.stats.lastError = err.message;
          this.options.onError?.(err);
          return 0;
        })
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.options.intervalMs ?? 1000);
        });
    };
    tick();
  }

  /** Stops after the round in progress and one last round (what was written until now). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
    await this.round().catch(() => undefined);
    await this.client.close();
  }

  private saveOffsets(): void {
    const tmp = `${this.options.stateFile}.${process.pid}.tmp`;
    fs.mkdirSync(path.dirname(this.options.stateFile), { recursive: true });
    fs.writeFileSync(tmp, JSON.stringify(this.offsets));
    fs.renameSync(tmp, this.options.stateFile);
  }

  /** Reads what is new in every source and ships it; resolves with the lines shipped. */
  async round(): Promise<number> {
    this.stats.rounds++;
    const docs: Doc[] = [];
    const meta = new Map<Doc, Meta>();
    const next: Record<string, number> = {};
    for (const source of this.options.sources()) {
      let size: number;
      try {
        size = fs.statSync(source.file).size;
      } catch {
        continue;
      }
      let offset = this.offsets[source.file] ?? 0;
      if (size < offset) offset = 0; // truncated or replaced: start over
      if (size === offset) continue;
      const length = Math.min(size - offset, this.options.maxBytes ?? 4 * 1024 * 1024);
      const buf = Buffer.alloc(length);
      const fd = fs.openSync(source.file, 'r');
      try {
        fs.readSync(fd, buf, 0, length, offset);
      } finally {
        fs.closeSync(fd);
      }
      const end = buf.lastIndexOf(0x0a);
      if (end < 0) continue; // no complete line yet
      let start = 0;
      while (start <= end) {
        const nl = buf.indexOf(0x0a, start);
        const text = buf.toString('utf8', start, nl).trim();
        if (text) {
          const doc = toEcs(text, source);
          const id = crypto
            .createHash('sha1')
            .update(`${source.file}:${offset + start}`)
            .digest('base64url');
          meta.set(doc, { index: `${this.prefix}-${day(doc['@timestamp'])}`, id });
          docs.push(doc);
        }
        start = nl + 1;
      }
      next[source.file] = offset + end + 1;
    }
    if (!docs.length) {
      if (Object.keys(next).length) {
        Object.assign(this.offsets, next);
        this.saveOffsets();
      }
      return 0;
    }
    // Throws when Elasticsearch cannot be reached: offsets stay, the lines are read again.
    await this.ensureTemplate();
    const refused = await this.send(docs, meta);
    // A line whose fields clash with the index's mapping (`host` a string here, an object
    // there) goes again with the core ECS fields and the whole line as `event.original`.
    const failed = refused.length
      ? (
          await this.send(
            refused.map(({ doc, m }) => core(doc, m, meta)),
            meta,
          )
        ).length
      : 0;
    this.stats.shipped += docs.length - failed;
    this.stats.failed += failed;
    Object.assign(this.offsets, next);
    this.saveOffsets();
    await this.prune();
    return docs.length;
  }

  /**
   * The daily indices' mapping, put once before the first lines: text only where people search
   * words (the message, error text, the original line), every other string a keyword (ids,
   * levels, names: what the ops pages filter on with `term`). Dynamic mapping would index every
   * string twice (text and a `.keyword` sub-field): about a quarter more of Elasticsearch's CPU
   * per line (tests/observability/backend-ingest.bench.mjs).
   */
  private async ensureTemplate(): Promise<void> {
    if (this.templated) return;
    await this.client.indices.putIndexTemplate({
      name: this.prefix,
      index_patterns: [`${this.prefix}-*`],
      // Above Elasticsearch's built-in `logs-*-*` template (100), which would make a data stream.
      priority: 200,
      template: {
        settings: { number_of_replicas: 0 },
        mappings: {
          dynamic_templates: [
            {
              words: {
                match_mapping_type: 'string',
                path_match: ['message', 'error.message', 'error.stack_trace', 'event.original'],
                mapping: { type: 'text' },
              },
            },
            {
              strings: {
                match_mapping_type: 'string',
                mapping: { type: 'keyword', ignore_above: 1024 },
              },
            },
          ],
          properties: { '@timestamp': { type: 'date' } },
        },
      },
    });
    this.templated = true;
  }

  /** Bulk-creates `docs`; resolves with the ones Elasticsearch refused (409 = already there). */
  private async send(docs: Doc[], meta: Map<Doc, Meta>): Promise<Array<{ doc: Doc; m: Meta }>> {
    const refused: Array<{ doc: Doc; m: Meta }> = [];
    const result = await this.client.helpers.bulk<Doc>({
      datasource: docs,
      onDocument: (doc) => {
        const m = meta.get(doc)!;
        return { create: { _index: m.index, _id: m.id } };
      },
      onDrop: (drop) => {
        // 409: shipped before (an earlier round died after Elasticsearch took it).
        if (drop.status === 409) return;
        const op = (drop.operation as { create: { _index: string; _id: string } }).create;
        refused.push({ doc: drop.document, m: { index: op._index, id: op._id } });
        this.stats.lastDrop = `${drop.status} ${drop.error?.type ?? ''}: ${drop.error?.reason ?? ''}`;
      },
      flushBytes: 2 * 1024 * 1024,
      concurrency: 2,
      retries: 3,
      wait: 500,
    });
    if (result.aborted) throw new Error('bulk aborted');
    return refused;
  }

  /** Deletes the daily indices older than the retention (hourly at most). */
  private async prune(): Promise<void> {
    if (Date.now() - this.lastPrune < 3_600_000) return;
    this.lastPrune = Date.now();
    const keep = this.options.retentionDays ?? 7;
    const cutoff = day(new Date(Date.now() - keep * 86_400_000).toISOString());
    const indices = (await this.client.cat.indices({
      index: `${this.prefix}-*`,
      format: 'json',
      h: 'index',
    })) as Array<{ index?: string }>;
    const old = indices
      .map((i) => i.index ?? '')
      .filter((name) => {
        const d = name.slice(this.prefix.length + 1);
        return /^\d{4}\.\d{2}\.\d{2}$/.test(d) && d < cutoff;
      });
    if (old.length) await this.client.indices.delete({ index: old });
  }
}
