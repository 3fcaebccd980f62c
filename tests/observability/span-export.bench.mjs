#!/usr/bin/env node
/**
 * CPU per span of the tracing pipeline the services run, without HTTP or a loaded machine in the
 * way: spans like an HTTP server span (18 attributes) are started and ended, go through the
 * BatchSpanProcessor and the OTLP/HTTP exporter (JSON or protobuf) to a receiver in another
 * process that discards them. Prints the process's CPU time per span for: recording only, JSON
 * export, protobuf export (issue 16: where the cost of tracing is).
 *
 *   node tests/observability/span-export.bench.mjs [spans=40000]
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import * as path from 'node:path';

const require = createRequire(path.resolve('packages/telemetry/package.json'));
const { BasicTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { OTLPTraceExporter: JsonExporter } = require('@opentelemetry/exporter-trace-otlp-http');
const { OTLPTraceExporter: ProtoExporter } = require('@opentelemetry/exporter-trace-otlp-proto');

const N = Number(process.argv[2] ?? 40_000);
const PORT = 28_000 + Math.floor(Math.random() * 900);
const sink = spawn(
  process.execPath,
  [
    '-e',
    `require('http').createServer((q,s)=>{q.resume();q.on('end',()=>{s.writeHead(200,{'content-type':q.headers['content-type']});s.end(q.headers['content-type']==='application/x-protobuf'?'':'{}')})}).listen(${PORT},'127.0.0.1')`,
  ],
  { stdio: 'ignore' },
);
await new Promise((r) => setTimeout(r, 500));

const attributes = {};
for (let i = 0; i < 18; i++) attributes[`http.attribute.${i}`] = i % 3 ? `value-${i}-abcdefgh` : i;

async function measure(name, exporter) {
  const provider = new BasicTracerProvider({
    spanProcessors: exporter
      ? [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 1000 })]
      : [],
  });
  const tracer = provider.getTracer('bench');
  const before = process.cpuUsage();
  // 500 spans, then let the processor export (as requests would arrive): nothing is dropped.
  for (let done = 0; done < N; done += 500) {
    for (let i = 0; i < 500; i++) tracer.startSpan('POST /api/pause', { attributes }).end();
    await new Promise((r) => setTimeout(r, 5));
  }
  await provider.forceFlush();
  const cpu = process.cpuUsage(before);
  await provider.shutdown();
  console.log(`${name.padEnd(22)} ${((cpu.user + cpu.system) / N).toFixed(1)} µs CPU per span`);
}

const url = `http://127.0.0.1:${PORT}/v1/traces`;
try {
  console.log(`${N} spans of 18 attributes each, Node ${process.version}`);
  for (let round = 0; round < 2; round++) {
    await measure('recorded, not exported', undefined);
    await measure('exported, OTLP/JSON', new JsonExporter({ url }));
    await measure('exported, OTLP/protobuf', new ProtoExporter({ url }));
  }
} finally {
  sink.kill();
}
