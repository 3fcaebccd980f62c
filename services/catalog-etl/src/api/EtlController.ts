import { Controller, Get, Route, Tags } from '@tsoa/runtime';
import type { EtlStatus } from '../domain/runner';
import type { Dependencies } from '../wiring';

/** The loader's own state, for operators: what the last pass did and whether it is failing. */
@Route('api/v1/etl')
@Tags('ETL')
export class EtlController extends Controller {
  constructor(private readonly deps: Dependencies) {
    super();
  }

  /** The last pass (when, how long, documents indexed and deleted per index) and the last failure. */
  @Get('status')
  public async status(): Promise<EtlStatus> {
    return this.deps.runner.status();
  }
}
