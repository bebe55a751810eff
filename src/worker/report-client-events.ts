import type { Client, Message } from 'whatsapp-web.js';
import type { Logger } from '../shared/logger';
import { describeError } from '../shared/errors';
import type { Account, StateReport } from '../shared/protocol';
import { keepQrFresh } from './keep-qr-fresh';
import { reportToSupervisor } from './report-to-supervisor';

function accountOf(client: Client): Account | undefined {
  const info = client.info as Client['info'] | undefined;
  if (!info?.wid) return undefined;
  return { wid: info.wid._serialized, pushname: info.pushname, platform: info.platform };
}

/**
 * Turns a Client's events into state reports and incoming messages for the supervisor, as long as
 * `isCurrent()` says this client is still the session's (a stopped one's late events are dropped).
 */
export function reportClientEvents(
  client: Client,
  options: {
    isCurrent: () => boolean;
    report: (update: Omit<StateReport, 'type'>) => void;
    onReady: () => void;
    log: Logger;
  },
): void {
  const { isCurrent, report, log } = options;
  const when =
    <A extends unknown[]>(handler: (...args: A) => void) =>
    (...args: A) => {
      if (isCurrent()) handler(...args);
    };

  client.on(
    'qr',
    when((qr: string) => {
      report({ state: 'qr', qr });
      if (!client.pupPage) return;
      keepQrFresh(client.pupPage).catch((error: unknown) => {
        log.debug({ err: describeError(error) }, 'could not install the qr refresh');
      });
    }),
  );
  client.on(
    'authenticated',
    when(() => report({ state: 'authenticated' })),
  );
  client.on(
    'ready',
    when(() => {
      options.onReady();
      report({ state: 'ready', account: accountOf(client) });
    }),
  );
  client.on(
    'auth_failure',
    when((message: string) =>
      report({ state: 'failed', reason: `authentication failed: ${message}` }),
    ),
  );
  client.on(
    'disconnected',
    when((reason: unknown) => report({ state: 'disconnected', reason: describeError(reason) })),
  );
  client.on(
    'message',
    when((message: Message) => {
      void reportToSupervisor({
        type: 'incoming',
        id: message.id._serialized,
        from: message.from,
        to: message.to,
        body: message.body,
        timestamp: message.timestamp,
      });
    }),
  );
}
