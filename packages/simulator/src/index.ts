export * from './model';
export * from './runner';
export * from './soak';
export * from './accounts';
