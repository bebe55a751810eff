import { describe, expect, it } from 'vitest';
import {
  Recipient,
  RequestResults,
  WorkerRequest,
  parseSupervisorFrame,
  parseWorkerFrame,
  sessionStates,
  type ParseResult,
} from '../src/shared/protocol';

// What child_process IPC (serialization 'json') does to a frame on its way to the other process.
const overIpc = (frame: unknown): unknown => JSON.parse(JSON.stringify(frame)) as unknown;

const sendText = { to: '+15551234567', text: 'hello' };

const supervisorFrames: Record<string, object> = {
  start: { type: 'start', id: 1 },
  restart: { type: 'restart', id: 2 },
  logout: { type: 'logout', id: 3 },
  ping: { type: 'ping', id: 0 },
  'send-text': { type: 'send-text', id: 4, message: sendText },
  'sandbox-scan': { type: 'sandbox-scan', id: 5 },
  'sandbox-incoming': {
    type: 'sandbox-incoming',
    id: 6,
    message: { from: '15551234567@c.us', text: 'hi there' },
  },
  stop: { type: 'stop', deadlineMs: 4000, exit: true },
};

const workerFrames: Record<string, object> = {
  'ready-for-commands': { type: 'ready-for-commands' },
  state: {
    type: 'state',
    state: 'ready',
    account: { wid: '15551234567@c.us', pushname: 'Sandbox', platform: 'android' },
  },
  'state with qr': { type: 'state', state: 'qr', qr: '2@abc,def,ghi' },
  'state with reason': { type: 'state', state: 'failed', reason: 'chromium crashed' },
  browser: { type: 'browser', pid: 4242 },
  stopped: { type: 'stopped', durationMs: 812.5, forced: false },
  incoming: {
    type: 'incoming',
    id: 'false_15551234567@c.us_ABC',
    from: '15551234567@c.us',
    to: '15550000000@c.us',
    body: 'hi',
    timestamp: 1_700_000_000,
  },
  'reply ok': { type: 'reply', id: 7, ok: true, result: { id: 'm1', timestamp: 1 } },
  'reply error': {
    type: 'reply',
    id: 8,
    ok: false,
    error: { code: 'session_not_ready', message: 'not ready' },
  },
};

function expectRejected<T>(result: ParseResult<T>, type: string): string {
  expect(result.ok).toBe(false);
  if (result.ok) throw new Error('unreachable');
  expect(result.type).toBe(type);
  expect(result.problem).toEqual(expect.any(String));
  expect(result.problem.length).toBeGreaterThan(0);
  return result.problem;
}

describe('frames the supervisor sends to the worker', () => {
  it.each(Object.entries(supervisorFrames))(
    'a valid %s frame parses to an equal object',
    (_, frame) => {
      expect(parseSupervisorFrame(overIpc(frame))).toEqual({ ok: true, message: frame });
    },
  );

  it('every request type is covered by a round-trip case', () => {
    const types = Object.values(supervisorFrames).map((frame) => (frame as { type: string }).type);
    expect(new Set(types).size).toBe(Object.keys(supervisorFrames).length);
  });

  it.each(Object.entries(workerFrames))('a %s frame from the worker is rejected', (_, frame) => {
    expectRejected(parseSupervisorFrame(frame), (frame as { type: string }).type);
  });
});

describe('frames the worker sends to the supervisor', () => {
  it.each(Object.entries(workerFrames))(
    'a valid %s frame parses to an equal object',
    (_, frame) => {
      expect(parseWorkerFrame(overIpc(frame))).toEqual({ ok: true, message: frame });
    },
  );

  it.each(sessionStates)('a state report of %s parses', (state) => {
    const frame = { type: 'state', state };
    expect(parseWorkerFrame(overIpc(frame))).toEqual({ ok: true, message: frame });
  });

  it('a successful reply with a null result round-trips', () => {
    const frame = { type: 'reply', id: 9, ok: true, result: null };
    expect(parseWorkerFrame(overIpc(frame))).toEqual({ ok: true, message: frame });
  });

  // IPC drops an undefined result, and the parser then rejects the reply: the worker sends null.
  it('a successful reply whose result was lost in IPC is rejected', () => {
    const frame = { type: 'reply', id: 9, ok: true, result: undefined };
    expectRejected(parseWorkerFrame(overIpc(frame)), 'reply');
  });

  it.each(Object.entries(supervisorFrames))(
    'a %s frame from the supervisor is rejected',
    (_, frame) => {
      expectRejected(parseWorkerFrame(frame), (frame as { type: string }).type);
    },
  );
});

describe('frames that are not messages at all', () => {
  const garbage: [string, unknown, string][] = [
    ['a string', 'start', 'string'],
    ['an empty string', '', 'string'],
    ['a number', 42, 'number'],
    ['NaN', Number.NaN, 'number'],
    ['a boolean', true, 'boolean'],
    ['undefined', undefined, 'undefined'],
    ['null', null, 'null'],
    ['an empty array', [], 'array'],
    ['an array holding a valid frame', [{ type: 'ping', id: 1 }], 'array'],
    ['an empty object', {}, 'object'],
  ];

  it.each(garbage)('%s is rejected by both parsers without throwing', (_, frame, type) => {
    expect(() => parseSupervisorFrame(frame)).not.toThrow();
    expect(() => parseWorkerFrame(frame)).not.toThrow();
    expectRejected(parseSupervisorFrame(frame), type);
    expectRejected(parseWorkerFrame(frame), type);
  });
});

describe('frames with a known shape but bad content', () => {
  it('an unknown type is rejected by both parsers and named in the result', () => {
    expectRejected(parseSupervisorFrame({ type: 'reboot', id: 1 }), 'reboot');
    expectRejected(parseWorkerFrame({ type: 'reboot' }), 'reboot');
  });

  it('a non-string type is named as its string form', () => {
    expectRejected(parseSupervisorFrame({ type: 7, id: 1 }), '7');
  });

  it.each(['start', 'restart', 'logout', 'ping', 'sandbox-scan'])(
    'a %s request without an id is rejected',
    (type) => {
      expectRejected(parseSupervisorFrame({ type }), type);
    },
  );

  it('a send-text request without an id is rejected', () => {
    expectRejected(parseSupervisorFrame({ type: 'send-text', message: sendText }), 'send-text');
  });

  it.each([
    ['a negative id', -1],
    ['a fractional id', 1.5],
    ['a string id', '1'],
    ['a null id', null],
  ])('a request with %s is rejected', (_, id) => {
    expectRejected(parseSupervisorFrame({ type: 'ping', id }), 'ping');
  });

  it.each([
    ['a request', { type: 'ping', id: 1, extra: 1 }],
    ['a stop command', { type: 'stop', deadlineMs: 1000, exit: false, force: true }],
    ['the message of a send-text', { type: 'send-text', id: 1, message: { ...sendText, x: 1 } }],
  ])('an extra field on %s is rejected', (_, frame) => {
    expectRejected(parseSupervisorFrame(frame), frame.type);
  });

  it.each([
    ['ready-for-commands', { type: 'ready-for-commands', id: 1 }],
    ['browser', { type: 'browser', pid: 1, ppid: 1 }],
    ['reply', { type: 'reply', id: 1, ok: true, result: 1, error: { code: 'x', message: 'y' } }],
    ['state', { type: 'state', state: 'ready', extra: true }],
  ])('an extra field on a %s frame from the worker is rejected', (type, frame) => {
    expectRejected(parseWorkerFrame(frame), type);
  });

  it.each([
    ['a string deadline', { type: 'stop', deadlineMs: '1000', exit: true }],
    ['a zero deadline', { type: 'stop', deadlineMs: 0, exit: true }],
    ['a string exit flag', { type: 'stop', deadlineMs: 1000, exit: 'yes' }],
    ['a message that is a string', { type: 'send-text', id: 1, message: 'hi' }],
    ['a numeric recipient', { type: 'send-text', id: 1, message: { to: 15551234567, text: 'x' } }],
    ['a boolean text', { type: 'send-text', id: 1, message: { to: '15551234567', text: true } }],
  ])('a supervisor frame with %s is rejected', (_, frame) => {
    expectRejected(parseSupervisorFrame(frame), frame.type);
  });

  it.each([
    ['an unknown state', { type: 'state', state: 'sleeping' }],
    ['a numeric qr', { type: 'state', state: 'qr', qr: 1 }],
    ['an account without wid', { type: 'state', state: 'ready', account: { pushname: 'x' } }],
    ['a zero browser pid', { type: 'browser', pid: 0 }],
    ['a fractional browser pid', { type: 'browser', pid: 1.5 }],
    ['a negative stop duration', { type: 'stopped', durationMs: -1, forced: false }],
    ['a string forced flag', { type: 'stopped', durationMs: 1, forced: 'no' }],
    [
      'a string timestamp',
      { type: 'incoming', id: 'a', from: 'b', to: 'c', body: 'd', timestamp: '1' },
    ],
    ['a string ok flag', { type: 'reply', id: 1, ok: 'true', result: 1 }],
    ['a failed reply without error', { type: 'reply', id: 1, ok: false }],
    ['a failed reply with a string error', { type: 'reply', id: 1, ok: false, error: 'boom' }],
    ['a reply without an id', { type: 'reply', ok: true, result: 1 }],
  ])('a worker frame with %s is rejected', (_, frame) => {
    expectRejected(parseWorkerFrame(frame), frame.type);
  });
});

describe('the problem of a rejected frame', () => {
  // The supervisor logs `problem` when it drops a frame: "Invalid input" alone says nothing.
  it.each([
    ['ping without an id', () => parseSupervisorFrame({ type: 'ping' }), 'id'],
    [
      'stop with a string deadline',
      () => parseSupervisorFrame({ type: 'stop', deadlineMs: '1', exit: true }),
      'deadlineMs',
    ],
    [
      'state with an unknown state',
      () => parseWorkerFrame({ type: 'state', state: 'sleeping' }),
      'state',
    ],
    ['browser with a string pid', () => parseWorkerFrame({ type: 'browser', pid: 'x' }), 'pid'],
    [
      'failed reply with a numeric code',
      () => parseWorkerFrame({ type: 'reply', id: 1, ok: false, error: { code: 1, message: 'x' } }),
      'error.code',
    ],
  ])('the problem of %s names the field', (_, parse, field) => {
    const result = parse();
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.problem).toContain(`→ at ${field}`);
  });

  it('the problem of a bad send-text names message.to', () => {
    const frame = { type: 'send-text', id: 1, message: { to: 'hello', text: 'hi' } };
    expect(expectRejected(parseSupervisorFrame(frame), 'send-text')).toContain('→ at message.to');
  });
});

describe('send-text recipients and text', () => {
  const withMessage = (message: object) => ({ type: 'send-text', id: 1, message });

  it.each([
    ['letters', 'hello'],
    ['too few digits', '12'],
    ['four digits', '1234'],
    ['a non-WhatsApp domain', 'x@s.whatsapp.net'],
    ['digits on a non-WhatsApp domain', '15551234567@s.whatsapp.net'],
    ['a plus on a chat id', '+15551234567@c.us'],
    ['an email-like address', 'a@b.c'],
    ['an empty string', ''],
    ['spaces inside the number', '+1 555 123 4567'],
  ])('a recipient of %s is rejected, and the problem names message.to', (_, to) => {
    const problem = expectRejected(
      parseSupervisorFrame(withMessage({ to, text: 'hi' })),
      'send-text',
    );
    expect(problem).toContain('message.to');
  });

  it('an empty text is rejected, and the problem names message.text', () => {
    const problem = expectRejected(
      parseSupervisorFrame(withMessage({ to: '15551234567', text: '' })),
      'send-text',
    );
    expect(problem).toContain('message.text');
    expect(problem).toContain('must not be empty');
  });

  it('a text over 65536 characters is rejected', () => {
    expectRejected(
      parseSupervisorFrame(withMessage({ to: '15551234567', text: 'x'.repeat(65_537) })),
      'send-text',
    );
  });

  it('a text of exactly 65536 characters is accepted', () => {
    const message = { to: '15551234567', text: 'x'.repeat(65_536) };
    expect(parseSupervisorFrame(withMessage(message)).ok).toBe(true);
  });

  it.each(['+15551234567', '15551234567', '15551234567@c.us', '120363000000000000@g.us'])(
    'the recipient %s is accepted unchanged',
    (to) => {
      expect(Recipient.safeParse(to)).toEqual({ success: true, data: to });
      expect(parseSupervisorFrame(withMessage({ to, text: 'hi' }))).toEqual({
        ok: true,
        message: withMessage({ to, text: 'hi' }),
      });
    },
  );

  it('a recipient with surrounding spaces is accepted and trimmed', () => {
    expect(Recipient.safeParse('  +15551234567 ')).toEqual({ success: true, data: '+15551234567' });
  });

  it('a sandbox-incoming with a bad sender is rejected, and the problem names message.from', () => {
    const frame = { type: 'sandbox-incoming', id: 1, message: { from: 'hello', text: 'hi' } };
    expect(expectRejected(parseSupervisorFrame(frame), 'sandbox-incoming')).toContain(
      'message.from',
    );
  });
});

describe('the result each request is answered with', () => {
  it('has a schema for every request type', () => {
    expect(Object.keys(RequestResults).sort()).toEqual(
      WorkerRequest.options.map((option) => option.shape.type.value).sort(),
    );
  });

  it.each([
    ['send-text', { id: 'true_15551234567@c.us_3EB0', timestamp: 1796322996 }],
    ['restart', { state: 'starting' }],
    ['ping', { uptimeMs: 12, state: 'ready' }],
    ['sandbox-incoming', { delivered: true }],
  ] as const)('accepts a %s result of the right shape', (type, result) => {
    expect(RequestResults[type].safeParse(result).success).toBe(true);
  });

  it.each([
    ['send-text', { id: 42 }],
    ['restart', { state: 'sleeping' }],
    ['ping', null],
    ['sandbox-incoming', {}],
  ] as const)('rejects a %s result of another shape', (type, result) => {
    expect(RequestResults[type].safeParse(result).success).toBe(false);
  });
});
