export * from './app';
export * from './errors';
export * from './lifecycle';
export * from './docs';
export * from './request-log';
export * from './ioc';
export * from './service';
