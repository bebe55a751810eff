import type { Page } from 'puppeteer';

/**
 * Makes the page itself ask for a new QR when WhatsApp Web goes idle (`UNPAIRED_IDLE`).
 * whatsapp-web.js 1.34.7 means to do this in its `onAuthAppStateChangedEvent` handler, but that
 * runs in Node and calls `window.require`, which throws "window is not defined" there, so an
 * unpaired session would otherwise keep showing an expired QR. Idempotent per page load.
 */
export async function keepQrFresh(page: Page): Promise<void> {
  await page.evaluate(() => {
    const win = window as unknown as {
      __sessionManagerQrRefresh?: boolean;
      require(name: string): {
        Socket?: { on(event: string, fn: (model: unknown, state: string) => void): void };
        Cmd?: { refreshQR(): void };
      };
    };
    if (win.__sessionManagerQrRefresh) return;
    win.__sessionManagerQrRefresh = true;

    win.require('WAWebSocketModel').Socket?.on('change:state', (_model, state) => {
      if (state === 'UNPAIRED_IDLE') win.require('WAWebCmd').Cmd?.refreshQR();
    });
  });
}
