/**
 * Supervision of what `stack up` and `npm start` started: a process that exits without being
 * asked to is started again after a backoff (1 s, 2 s, 4 s ... 30 s; back to 1 s once it stayed
 * up a minute), with its exit and the tail of its log shown; the others keep running.
 *
 * Each supervisor publishes its units in `<stack home>/supervisors/<pid>.json` (read by
 * `stack status`) and takes restart requests as files `<stack home>/control/<name>.restart`
 * (written by `stack restart <name>`). A hand-written loop rather than p-retry: this is not
 * one call retried until it succeeds but a process kept alive for as long as the platform runs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ensureDir, isAlive, logTail, spawnedProcess, stackHome } from './core';

export interface UnitProcess {
  pid: number;
  logFile?: string;
  /** How the process ended, once it has (a child of ours); otherwise its pid is polled. */
  exited?: () => string | undefined;
}

export interface UnitSpec {
  name: string;
  kind: 'service' | 'server';
  /** Starts a new process (a server: resolves once it is ready). */
  start(): Promise<UnitProcess>;
  /** Polled after start until true (a service's /healthz); without it, up once started. */
  ready?(): Promise<boolean>;
  /** Stops the process for a requested restart or at the end. */
  stop(proc: UnitProcess): Promise<void>;
}

export type UnitState = 'starting' | 'up' | 'crashed' | 'restarting' | 'stopped';

export interface UnitStatus {
  name: string;
  kind: 'service' | 'server';
  state: UnitState;
  pid?: number;
  restarts: number;
  /** How the last process ended, and when. */
  lastExit?: string;
  lastExitAt?: string;
  /** When the current process started. */
  since?: string;
  logFile?: string;
}

export interface SupervisorFile {
  pid: number;
  startedAt: string;
  units: UnitStatus[];
}

/** Delay before the `attempt`-th restart in a row: min, 2·min, 4·min ... capped at max. */
export function backoffDelay(attempt: number, minMs = 1000, maxMs = 30_000): number {
  return Math.min(maxMs, minMs * 2 ** Math.max(0, attempt - 1));
}

export function supervisorsDir(home = stackHome()): string {
  return ensureDir(path.join(home, 'supervisors'));
}

export function controlDir(home = stackHome()): string {
  return ensureDir(path.join(home, 'control'));
}

/** The supervisors that run now (files of dead ones are removed). */
export function readSupervisors(home = stackHome()): SupervisorFile[] {
  const dir = supervisorsDir(home);
  return fs.readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    if (!/^\d+\.json$/.test(name)) return [];
    try {
      const sup = JSON.parse(fs.readFileSync(file, 'utf8')) as SupervisorFile;
      if (isAlive(sup.pid)) return [sup];
      fs.rmSync(file, { force: true });
    } catch {
      /* being written */
    }
    return [];
  });
}

/** Asks the supervisor that owns `name` to restart it; false when no running supervisor owns it. */
export function requestRestart(name: string, home = stackHome()): boolean {
  if (!readSupervisors(home).some((s) => s.units.some((u) => u.name === name))) return false;
  fs.writeFileSync(path.join(controlDir(home), `${name}.restart`), new Date().toISOString());
  return true;
}

interface Unit {
  spec: UnitSpec;
  proc?: UnitProcess;
  status: UnitStatus;
  /** Crashes in a row (reset once a process stayed up `stableMs`). */
  crashes: number;
  startedAt: number;
  busy: boolean;
  timer?: NodeJS.Timeout;
}

export interface SupervisorOptions {
  home?: string;
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Up this long, a process's next crash counts as the first again. */
  stableMs?: number;
  pollMs?: number;
  /** Lines of the log shown with a crash. */
  tailLines?: number;
  /** Where crash reports go (stderr by default). */
  report?: (text: string) => void;
  /** Time allowed to a restarted process to become ready. */
  readyTimeoutMs?: number;
}

export class Supervisor {
  private readonly units: Unit[] = [];
  private readonly home: string;
  private readonly options: Required<Omit<SupervisorOptions, 'home'>>;
  private readonly file: string;
  private readonly timer: NodeJS.Timeout;
  private stopping = false;
  private readonly startedAt = new Date().toISOString();

  constructor(options: SupervisorOptions = {}) {
    this.home = options.home ?? stackHome();
    this.options = {
      minDelayMs: options.minDelayMs ?? 1000,
      maxDelayMs: options.maxDelayMs ?? 30_000,
      stableMs: options.stableMs ?? 60_000,
      pollMs: options.pollMs ?? 500,
      tailLines: options.tailLines ?? 20,
      report: options.report ?? ((text) => process.stderr.write(`${text}\n`)),
      readyTimeoutMs: options.readyTimeoutMs ?? 90_000,
    };
    this.file = path.join(supervisorsDir(this.home), `${process.pid}.json`);
    this.timer = setInterval(() => this.tick(), this.options.pollMs);
    this.timer.unref();
    this.save();
  }

  /** Supervises `spec`: adopts `running` when given, else starts it now. */
  add(spec: UnitSpec, running?: UnitProcess): void {
    if (this.units.some((u) => u.spec.name === spec.name)) {
      throw new Error(`${spec.name} is supervised already`);
    }
    const unit: Unit = {
      spec,
      crashes: 0,
      startedAt: Date.now(),
      busy: false,
      status: { name: spec.name, kind: spec.kind, state: 'starting', restarts: 0 },
    };
    this.units.push(unit);
    if (running) {
      this.adopt(unit, running);
      unit.status.state = 'up';
      this.save();
    } else {
      void this.launch(unit);
    }
  }

  status(): UnitStatus[] {
    return this.units.map((u) => ({ ...u.status }));
  }

  /** Resolves once every named unit (all by default) is up; throws after `timeoutMs`. */
  async waitUp(names?: string[], timeoutMs = 90_000): Promise<void> {
    const wanted = this.units.filter((u) => !names || names.includes(u.spec.name));
    const deadline = Date.now() + timeoutMs;
    while (wanted.some((u) => u.status.state !== 'up')) {
      if (Date.now() > deadline) {
        const late = wanted.filter((u) => u.status.state !== 'up');
        throw new Error(
          late
            .map(
              (u) =>
                `${u.spec.name} not up within ${Math.round(timeoutMs / 1000)} s (${u.status.state}${u.status.lastExit ? `, last: ${u.status.lastExit}` : ''})` +
                (u.status.logFile
                  ? `\n--- last lines of ${u.status.logFile} ---\n${logTail(u.status.logFile, this.options.tailLines)}`
                  : ''),
            )
            .join('\n'),
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Stops and starts one unit at once (no backoff); counted as a restart. */
  async restart(name: string): Promise<void> {
    const unit = this.units.find((u) => u.spec.name === name);
    if (!unit) throw new Error(`${name} is not supervised here`);
    if (unit.busy || this.stopping) return;
    clearTimeout(unit.timer);
    unit.busy = true;
    unit.status.state = 'restarting';
    this.save();
    this.options.report(`[supervisor] restarting ${name} (asked)`);
    try {
      if (unit.proc && isAlive(unit.proc.pid)) await unit.spec.stop(unit.proc);
    } finally {
      unit.busy = false;
    }
    unit.status.lastExit = 'stopped for a restart';
    unit.status.lastExitAt = new Date().toISOString();
    unit.status.restarts += 1;
    unit.crashes = 0;
    await this.launch(unit);
  }

  /** Stops supervising; stops the units of `kind` (services by default) in reverse order. */
  async stop(kinds: Array<UnitSpec['kind']> = ['service']): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    for (const unit of this.units) clearTimeout(unit.timer);
    for (const unit of [...this.units].reverse()) {
      if (!kinds.includes(unit.spec.kind) || !unit.proc) continue;
      await unit.spec.stop(unit.proc).catch(() => undefined);
      unit.status.state = 'stopped';
    }
    fs.rmSync(this.file, { force: true });
  }

  private adopt(unit: Unit, proc: UnitProcess): void {
    unit.proc = proc;
    unit.startedAt = Date.now();
    unit.status.pid = proc.pid;
    unit.status.logFile = proc.logFile;
    unit.status.since = new Date().toISOString();
  }

  private async launch(unit: Unit): Promise<void> {
    if (this.stopping) return;
    unit.busy = true;
    unit.startedAt = Date.now();
    unit.status.state = 'starting';
    this.save();
    try {
      const proc = await unit.spec.start();
      this.adopt(unit, proc);
      if (this.stopping) {
        await unit.spec.stop(proc).catch(() => undefined);
        return;
      }
    } catch (err) {
      unit.busy = false;
      this.crashed(unit, `failed to start: ${(err as Error).message.split('\n')[0]}`);
      return;
    }
    unit.busy = false;
    this.save();
    void this.awaitReady(unit, unit.proc!);
  }

  private async awaitReady(unit: Unit, proc: UnitProcess): Promise<void> {
    const deadline = Date.now() + this.options.readyTimeoutMs;
    while (unit.proc === proc && unit.status.state === 'starting' && !this.stopping) {
      let ok = !unit.spec.ready;
      try {
        ok = ok || (await unit.spec.ready!());
      } catch {
        /* not yet */
      }
      if (unit.proc !== proc || unit.status.state !== 'starting') return;
      if (ok) {
        unit.status.state = 'up';
        if (unit.status.restarts > 0) {
          this.options.report(
            `[supervisor] ${unit.spec.name} is up again (pid ${proc.pid}, restart ${unit.status.restarts})`,
          );
        }
        this.save();
        return;
      }
      if (Date.now() > deadline) {
        // Not ready in time: stop it; the poll sees the exit and restarts it with backoff.
        this.options.report(`[supervisor] ${unit.spec.name} not ready in time; stopping it`);
        await unit.spec.stop(proc).catch(() => undefined);
        return;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  private tick(): void {
    if (this.stopping) return;
    for (const unit of this.units) {
      const { proc } = unit;
      if (unit.busy || !proc || !['up', 'starting'].includes(unit.status.state)) continue;
      const how =
        proc.exited?.() ??
        spawnedProcess(proc.pid)?.exited ??
        (isAlive(proc.pid) ? undefined : 'is gone');
      if (how) this.crashed(unit, how);
    }
    this.takeRequests();
  }

  private crashed(unit: Unit, how: string): void {
    const upFor = Date.now() - unit.startedAt;
    unit.crashes = upFor >= this.options.stableMs ? 1 : unit.crashes + 1;
    const delay = backoffDelay(unit.crashes, this.options.minDelayMs, this.options.maxDelayMs);
    unit.status.state = 'crashed';
    unit.status.lastExit = how;
    unit.status.lastExitAt = new Date().toISOString();
    const log = unit.status.logFile;
    this.options.report(
      `[supervisor] ${unit.spec.name} (pid ${unit.proc?.pid ?? '-'}) ${how} after ${(upFor / 1000).toFixed(1)} s; ` +
        `restarting in ${(delay / 1000).toFixed(1)} s (restart ${unit.status.restarts + 1}); the rest keeps running` +
        (log ? `\n--- last lines of ${log} ---\n${logTail(log, this.options.tailLines)}` : ''),
    );
    this.save();
    unit.timer = setTimeout(() => {
      unit.status.restarts += 1;
      void this.launch(unit);
    }, delay);
  }

  private takeRequests(): void {
    let names: string[];
    try {
      names = fs.readdirSync(controlDir(this.home));
    } catch {
      return;
    }
    for (const entry of names) {
      const name = entry.replace(/\.restart$/, '');
      if (entry === name || !this.units.some((u) => u.spec.name === name)) continue;
      // Claim the request (one supervisor takes it even when several look).
      const claimed = path.join(controlDir(this.home), `${entry}.${process.pid}`);
      try {
        fs.renameSync(path.join(controlDir(this.home), entry), claimed);
      } catch {
        continue;
      }
      fs.rmSync(claimed, { force: true });
      void this.restart(name).catch((err: Error) =>
        this.options.report(`[supervisor] restart of ${name} failed: ${err.message}`),
      );
    }
  }

  private save(): void {
    if (this.stopping) return;
    const file: SupervisorFile = {
      pid: process.pid,
      startedAt: this.startedAt,
      units: this.status(),
    };
    const tmp = `${this.file}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(file, null, 2));
    fs.renameSync(tmp, this.file);
  }
}
