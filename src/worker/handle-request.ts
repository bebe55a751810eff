import type { WorkerRequest } from '../shared/protocol';
import { toChatId, type Session } from './session';

const startedAt = Date.now();

/** Runs one supervisor request against the session and returns its result. */
export async function handleRequest(session: Session, request: WorkerRequest): Promise<unknown> {
  switch (request.type) {
    case 'start':
      session.start();
      return { state: session.state };
    case 'restart':
      await session.restart();
      return { state: session.state };
    case 'logout':
      await session.logout();
      return { state: session.state };
    case 'ping':
      return { uptimeMs: Date.now() - startedAt, state: session.state };
    case 'send-text':
      return session.sendText(request.message);
    case 'sandbox-scan':
      await session.inSandboxPage('window.__sandbox.scan()');
      return { state: session.state };
    case 'sandbox-incoming': {
      const { from, text } = request.message;
      const args = [toChatId(from), text].map((value) => JSON.stringify(value)).join(', ');
      const call = `window.__sandbox.incoming(${args})`;
      await session.inSandboxPage(call);
      return { delivered: true };
    }
  }
}
