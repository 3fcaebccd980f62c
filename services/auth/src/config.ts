import { baseShape, loadConfig, port, z } from '@cinema/config';

export const configSchema = z.object({
  ...baseShape,
  PORT: port(8001),
  SERVICE_NAME: z.string().default('auth'),
  DATABASE_URL: z.string().url(),
  REDIS_URL: z.string().url(),
  AMQP_URL: z.string().url(),
});

export type Config = z.infer<typeof configSchema>;

export const readConfig = (env: NodeJS.ProcessEnv = process.env): Readonly<Config> =>
  loadConfig(configSchema, env);
