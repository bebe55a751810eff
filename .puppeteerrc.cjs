// Puppeteer's own browser download cannot work offline; the service uses a system Chromium.
module.exports = { skipDownload: true };
