import path from 'node:path';
import { z } from 'zod';

const booleanFlag = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.enum(['0', '1', 'true', 'false', 'yes', 'no', ''], { error: 'must be 1 or 0' }))
  .transform((value) => value === '1' || value === 'true' || value === 'yes');

// Digits only: no '', no 0x1F90, no 1e3 (z.coerce would read those as 0, 8080 and 1000).
const integer = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `must be a whole number from ${min} to ${max}`)
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

/** Every environment variable the service reads, with its default. The README lists the same. */
const envSchema = z.object({
  PORT: integer(0, 65535).default(3001),
  HOST: z.string().min(1, 'must not be empty').default('127.0.0.1'),
  DATA_DIR: z.string().min(1, 'must not be empty').default('./data'),
  CHROME_PATH: z.string().optional(),
  WA_SANDBOX: booleanFlag.default(false),
  WA_SANDBOX_QR_ROTATE_MS: integer(100, 600_000).default(20_000),
  SHUTDOWN_TIMEOUT_MS: integer(500, 120_000).default(4000),
  REQUEST_TIMEOUT_MS: integer(100, 600_000).default(30_000),
  LIVENESS_INTERVAL_MS: integer(100, 600_000).default(5000),
  PARENT_DEATH_SIGNAL: booleanFlag.default(true),
  WORKER_SCRIPT: z.string().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Config = Omit<
  z.output<typeof envSchema>,
  'DATA_DIR' | 'CHROME_PATH' | 'WORKER_SCRIPT'
> & {
  DATA_DIR: string;
  CHROME_PATH: string | undefined;
  /** The worker program to fork; only tests and debugging set it. */
  WORKER_SCRIPT: string | undefined;
};

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Reads and validates the environment; a bad value throws a ConfigError naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  const known = Object.fromEntries(
    Object.keys(envSchema.shape)
      .filter((key) => env[key] !== undefined)
      .map((key) => [key, env[key]]),
  );
  const parsed = envSchema.safeParse(known);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? 'environment');
      return `${name}=${JSON.stringify(env[name] ?? '')}: ${issue.message}`;
    });
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }

  return {
    ...parsed.data,
    DATA_DIR: path.resolve(cwd, parsed.data.DATA_DIR),
    CHROME_PATH: parsed.data.CHROME_PATH || undefined,
    WORKER_SCRIPT: parsed.data.WORKER_SCRIPT
      ? path.resolve(cwd, parsed.data.WORKER_SCRIPT)
      : undefined,
  };
}
