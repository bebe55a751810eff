import type QRCodeModule from 'qrcode';

// Loaded on the first QR, not at boot: it is off the path from start to a listening port.
let qrcode: typeof QRCodeModule | undefined;
function loadQrcode(): typeof QRCodeModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  qrcode ??= require('qrcode') as typeof QRCodeModule;
  return qrcode;
}

/** Prints a QR to stderr for whoever runs the service in a terminal (or reads `pm2 logs`). */
export async function printQrToTerminal(qr: string): Promise<void> {
  const drawing = await loadQrcode().toString(qr, { type: 'terminal', small: true });
  process.stderr.write(
    `\nScan this QR with WhatsApp (Linked devices → Link a device):\n${drawing}\n`,
  );
}

export function renderQrPng(qr: string): Promise<Buffer> {
  return loadQrcode().toBuffer(qr, { type: 'png', width: 320, margin: 2 });
}
