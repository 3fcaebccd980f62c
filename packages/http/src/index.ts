export * from './app';
export * from './errors';
export * from './lifecycle';
export * from './docs';
export * from './fast-path';
export * from './ioc';
export * from './service';
