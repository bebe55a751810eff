import { z } from 'zod';

/** The states of a session, as the worker reports them and the HTTP API shows them. */
export const sessionStates = [
  'starting',
  'qr',
  'authenticated',
  'ready',
  'disconnected',
  'stopped',
  'failed',
] as const;
export const SessionState = z.enum(sessionStates);
export type SessionState = z.infer<typeof SessionState>;

export const Account = z.object({
  wid: z.string(),
  pushname: z.string().optional(),
  platform: z.string().optional(),
});
export type Account = z.infer<typeof Account>;

/** A phone number (digits, optional leading `+`) or a WhatsApp chat id. */
export const Recipient = z
  .string()
  .trim()
  .regex(
    /^(\+?\d{5,20}|\d{5,20}(-\d{5,20})?@(c\.us|g\.us))$/,
    'must be a phone number (digits, optional +) or a chat id ending in @c.us or @g.us',
  );

export const SendText = z.strictObject({
  to: Recipient,
  text: z.string().min(1, 'must not be empty').max(65_536, 'must be at most 65536 characters'),
});
export type SendText = z.infer<typeof SendText>;

export const SandboxIncoming = z.strictObject({
  from: Recipient,
  text: z.string().min(1, 'must not be empty').max(65_536),
});

export const SentMessage = z.object({ id: z.string(), timestamp: z.number() });
export type SentMessage = z.infer<typeof SentMessage>;

const requestBase = { id: z.number().int().nonnegative() };

// Supervisor → worker. Requests carry an `id` and get exactly one `reply`.
export const WorkerRequest = z.discriminatedUnion('type', [
  z.strictObject({ ...requestBase, type: z.literal('start') }),
  z.strictObject({ ...requestBase, type: z.literal('restart') }),
  z.strictObject({ ...requestBase, type: z.literal('logout') }),
  z.strictObject({ ...requestBase, type: z.literal('ping') }),
  z.strictObject({ ...requestBase, type: z.literal('send-text'), message: SendText }),
  z.strictObject({ ...requestBase, type: z.literal('sandbox-scan') }),
  z.strictObject({ ...requestBase, type: z.literal('sandbox-incoming'), message: SandboxIncoming }),
]);
export type WorkerRequest = z.infer<typeof WorkerRequest>;
export type WorkerRequestType = WorkerRequest['type'];

const StateResult = z.object({ state: SessionState });

/** What the worker's `reply` carries as `result` for each request, checked by the supervisor. */
export const RequestResults = {
  start: StateResult,
  restart: StateResult,
  logout: StateResult,
  ping: z.object({ uptimeMs: z.number(), state: SessionState }),
  'send-text': SentMessage,
  'sandbox-scan': StateResult,
  'sandbox-incoming': z.object({ delivered: z.literal(true) }),
} satisfies Record<WorkerRequestType, z.ZodType>;
export type RequestResult<T extends WorkerRequestType> = z.infer<(typeof RequestResults)[T]>;

/** Ends the client within `deadlineMs`; answered by a `stopped` message, then exit if asked. */
export const StopCommand = z.strictObject({
  type: z.literal('stop'),
  deadlineMs: z.number().int().positive(),
  exit: z.boolean(),
});
export type StopCommand = z.infer<typeof StopCommand>;

export const SupervisorToWorker = z.discriminatedUnion('type', [
  ...WorkerRequest.options,
  StopCommand,
]);
export type SupervisorToWorker = z.infer<typeof SupervisorToWorker>;

// Worker → supervisor.
export const ReplyError = z.object({ code: z.string(), message: z.string() });

export const Reply = z.discriminatedUnion('ok', [
  z.strictObject({
    type: z.literal('reply'),
    id: z.number(),
    ok: z.literal(true),
    result: z.unknown(),
  }),
  z.strictObject({
    type: z.literal('reply'),
    id: z.number(),
    ok: z.literal(false),
    error: ReplyError,
  }),
]);
export type Reply = z.infer<typeof Reply>;

export const StateReport = z.strictObject({
  type: z.literal('state'),
  state: SessionState,
  qr: z.string().optional(),
  account: Account.optional(),
  reason: z.string().optional(),
});
export type StateReport = z.infer<typeof StateReport>;

export const IncomingMessage = z.strictObject({
  type: z.literal('incoming'),
  id: z.string(),
  from: z.string(),
  to: z.string(),
  body: z.string(),
  timestamp: z.number(),
});
export type IncomingMessage = z.infer<typeof IncomingMessage>;

export const WorkerToSupervisor = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('ready-for-commands') }),
  StateReport,
  z.strictObject({ type: z.literal('browser'), pid: z.number().int().positive() }),
  z.strictObject({
    type: z.literal('stopped'),
    durationMs: z.number().nonnegative(),
    forced: z.boolean(),
  }),
  IncomingMessage,
  Reply,
]);
export type WorkerToSupervisor = z.infer<typeof WorkerToSupervisor>;

export type ParseResult<T> =
  { ok: true; message: T } | { ok: false; type: string; problem: string };

function parseWith<T>(schema: z.ZodType<T>, frame: unknown): ParseResult<T> {
  const parsed = schema.safeParse(frame);
  if (parsed.success) return { ok: true, message: parsed.data };

  const type =
    frame === null
      ? 'null'
      : Array.isArray(frame)
        ? 'array'
        : typeof frame === 'object' && 'type' in frame
          ? String((frame as { type: unknown }).type)
          : typeof frame;
  return { ok: false, type, problem: z.prettifyError(parsed.error) };
}

/** Parses a frame the worker received; never throws. */
export const parseSupervisorFrame = (frame: unknown) => parseWith(SupervisorToWorker, frame);

/** Parses a frame the supervisor received; never throws. */
export const parseWorkerFrame = (frame: unknown) => parseWith(WorkerToSupervisor, frame);
