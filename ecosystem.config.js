// PM2 runs the supervisor in fork mode; the supervisor forks the worker, which launches Chromium.
// Keep kill_timeout above SHUTDOWN_TIMEOUT_MS: PM2's SIGKILL must never cut the service's own
// ordered shutdown short. Both are derived from the same variable here.
const shutdownBudgetMs = Number(process.env.SHUTDOWN_TIMEOUT_MS || 4000);
const killMarginMs = 2000;

module.exports = {
  apps: [
    {
      name: 'session-manager',
      script: 'dist/supervisor/main.js',
      cwd: __dirname,
      exec_mode: 'fork',
      instances: 1,
      // start/restart completes when the supervisor listens and sends 'ready'.
      wait_ready: true,
      listen_timeout: 10_000,
      // Stop with the IPC message 'shutdown' and signal nobody else: the supervisor stops the
      // worker and Chromium in order. (With signals, PM2's treekill would SIGINT Chromium too.)
      shutdown_with_message: true,
      treekill: false,
      // No PM2 metrics agent (pm2-io) in the app: once the daemon is gone it calls process.exit(1)
      // on its next report, within a second, cutting the supervisor's 'parent-gone' shutdown short.
      pmx: false,
      kill_timeout: shutdownBudgetMs + killMarginMs,
      kill_retry_time: 50,
      // A crash loop (port held by a stranger, bad config) backs off instead of spinning.
      autorestart: true,
      exp_backoff_restart_delay: 250,
      min_uptime: 5000,
      max_restarts: 15,
      stop_exit_codes: [2],
      // PM2 passes its own environment through; these are the defaults made explicit.
      env: {
        NODE_ENV: 'production',
      },
    },
  ],
};
