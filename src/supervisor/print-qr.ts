import QRCode from 'qrcode';

/** Prints a QR to stderr for whoever runs the service in a terminal (or reads `pm2 logs`). */
export async function printQrToTerminal(qr: string): Promise<void> {
  const drawing = await QRCode.toString(qr, { type: 'terminal', small: true });
  process.stderr.write(
    `\nScan this QR with WhatsApp (Linked devices → Link a device):\n${drawing}\n`,
  );
}

export function renderQrPng(qr: string): Promise<Buffer> {
  return QRCode.toBuffer(qr, { type: 'png', width: 320, margin: 2 });
}
