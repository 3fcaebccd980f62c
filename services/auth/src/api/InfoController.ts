import { Controller, Get, Route, Tags } from '@tsoa/runtime';

export interface ServiceInfo {
  service: string;
  version: string;
}

@Route('api/v1/auth/info')
@Tags('Meta')
export class InfoController extends Controller {
  /** Name and version of the running service. */
  @Get()
  public async info(): Promise<ServiceInfo> {
    return { service: 'auth', version: process.env.npm_package_version ?? '0.1.0' };
  }
}
