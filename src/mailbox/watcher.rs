//! The watcher across sessions: what it remembers from one session to the next, the
//! reconnect loop with jittered backoff, and the small helpers the session uses.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_imap::types::UnsolicitedResponse;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_rustls::rustls::ClientConfig;

use otklik_core::config::ImapConfig;

use super::stream::{ServerCaps, prepare_tls};
use super::{BACKOFF_MAX, BACKOFF_MIN, HEARTBEAT_EVERY, MailboxError, MailboxState, MessageSink};
use crate::tls::TlsOptions;

pub(super) fn is_new_mail(resp: &UnsolicitedResponse) -> bool {
    matches!(
        resp,
        UnsolicitedResponse::Exists(_) | UnsolicitedResponse::Recent(_)
    )
}

pub(super) fn no_session() -> MailboxError {
    MailboxError::Protocol("session lost".into())
}

pub(super) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub(super) fn beat(heartbeat: &AtomicU64) {
    heartbeat.store(unix_now(), Ordering::Relaxed);
}

/// The backoff before reconnect attempt `attempt` (1-based): 2 s doubling to 80 s,
/// scaled by `jitter` (expected in 0.8..1.2) and clamped to [2 s, 80 s].
pub fn backoff_delay(attempt: u32, jitter: f64) -> Duration {
    let exp = attempt.saturating_sub(1).min(16);
    let base = BACKOFF_MIN.as_secs_f64() * f64::from(1u32 << exp);
    let capped = base.min(BACKOFF_MAX.as_secs_f64());
    let jittered = capped * jitter.clamp(0.5, 1.5);
    Duration::from_secs_f64(jittered.clamp(BACKOFF_MIN.as_secs_f64(), BACKOFF_MAX.as_secs_f64()))
}

pub(super) fn jitter() -> f64 {
    use rand::Rng;
    rand::rng().random_range(0.8..1.2)
}

/// True once shutdown was requested (or its sender is gone).
pub(super) fn shutdown_requested(rx: &watch::Receiver<bool>) -> bool {
    *rx.borrow() || rx.has_changed().is_err()
}

/// Resolves when shutdown is requested (or the sender is dropped).
pub(super) async fn wait_shutdown(rx: &mut watch::Receiver<bool>) {
    loop {
        if *rx.borrow_and_update() {
            return;
        }
        if rx.changed().await.is_err() {
            return;
        }
    }
}

/// Sleeps `dur`, bumping the heartbeat; true if shutdown came first.
pub(super) async fn sleep_or_shutdown(
    dur: Duration,
    shutdown: &mut watch::Receiver<bool>,
    heartbeat: &AtomicU64,
) -> bool {
    let deadline = Instant::now() + dur;
    let stop = wait_shutdown(shutdown);
    tokio::pin!(stop);
    let mut tick = tokio::time::interval(HEARTBEAT_EVERY);
    loop {
        tokio::select! {
            _ = &mut stop => return true,
            _ = tokio::time::sleep_until(deadline) => return false,
            _ = tick.tick() => beat(heartbeat),
        }
    }
}

/// Which server extensions the watcher may use (all it finds, by default). Turning one
/// off exercises the fallback — polling instead of IDLE, COPY + EXPUNGE instead of MOVE
/// — against a server that has the extension, and works around a server whose
/// implementation is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchOptions {
    /// Wait in IDLE when the server offers it (else poll).
    pub use_idle: bool,
    /// Move with MOVE when the server offers it (else copy and expunge).
    pub use_move: bool,
    /// Use UIDPLUS's UID EXPUNGE when the server offers it.
    pub use_uidplus: bool,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            use_idle: true,
            use_move: true,
            use_uidplus: true,
        }
    }
}

impl WatchOptions {
    pub(super) fn mask(&self, caps: ServerCaps) -> ServerCaps {
        ServerCaps {
            idle: caps.idle && self.use_idle,
            move_: caps.move_ && self.use_move,
            uidplus: caps.uidplus && self.use_uidplus,
            namespace: caps.namespace,
        }
    }
}

/// Watches the intake mailbox until shutdown. Returns Ok on shutdown; Err only for
/// configuration errors no reconnect can fix (bad CA file, plain IMAP to a remote host).
/// Login failures are retried with backoff and logged as errors.
pub async fn watch<H: MessageSink>(
    cfg: ImapConfig,
    tls: TlsOptions,
    sink: Arc<H>,
    shutdown: watch::Receiver<bool>,
    state: watch::Sender<MailboxState>,
    heartbeat: Arc<AtomicU64>,
) -> Result<(), MailboxError> {
    watch_with(
        cfg,
        tls,
        WatchOptions::default(),
        sink,
        shutdown,
        state,
        heartbeat,
    )
    .await
}

/// [`watch`] with explicit [`WatchOptions`].
pub async fn watch_with<H: MessageSink>(
    cfg: ImapConfig,
    tls: TlsOptions,
    options: WatchOptions,
    sink: Arc<H>,
    shutdown: watch::Receiver<bool>,
    state: watch::Sender<MailboxState>,
    heartbeat: Arc<AtomicU64>,
) -> Result<(), MailboxError> {
    let tls_config = prepare_tls(&cfg, &tls)?;
    let watcher = Watcher {
        cfg,
        options,
        sink,
        shutdown,
        state,
        heartbeat,
        attempt: 0,
        last_validity: None,
        fetch_failures: HashMap::new(),
        reported_oversized: HashSet::new(),
        unexpunged: HashSet::new(),
        keywords: false,
    };
    watcher.watch(tls_config).await
}

impl<H: MessageSink> Watcher<H> {
    /// Session after session until shutdown (Ok) or an error no reconnect mends (Err).
    async fn watch(mut self, tls_config: Option<Arc<ClientConfig>>) -> Result<(), MailboxError> {
        loop {
            beat(&self.heartbeat);
            if shutdown_requested(&self.shutdown) {
                return Ok(());
            }
            self.state.send_replace(MailboxState::Connecting);
            self.keywords = false;
            let result = self.run(tls_config.clone()).await;
            match result {
                Ok(()) => return Ok(()),
                Err(e) if e.is_permanent() => {
                    tracing::error!(error = %e, "imap: giving up");
                    return Err(e);
                }
                Err(e) => {
                    self.attempt = self.attempt.saturating_add(1);
                    let delay = backoff_delay(self.attempt, jitter());
                    match &e {
                        MailboxError::Login { .. } | MailboxError::Handshake { .. } => {
                            tracing::error!(error = %e, attempt = self.attempt, retry_in = ?delay, "imap: cannot log in")
                        }
                        _ => {
                            tracing::warn!(error = %e, attempt = self.attempt, retry_in = ?delay, "imap: session failed")
                        }
                    }
                    self.state.send_replace(MailboxState::Backoff {
                        attempt: self.attempt,
                    });
                    if sleep_or_shutdown(delay, &mut self.shutdown, &self.heartbeat).await {
                        return Ok(());
                    }
                }
            }
        }
    }
}

/// The watcher: its settings, its channels, and what it remembers from one session to
/// the next, in one owner that each session borrows (`session.rs`).
pub(super) struct Watcher<H> {
    pub(super) cfg: ImapConfig,
    pub(super) options: WatchOptions,
    pub(super) sink: Arc<H>,
    pub(super) shutdown: watch::Receiver<bool>,
    pub(super) state: watch::Sender<MailboxState>,
    pub(super) heartbeat: Arc<AtomicU64>,
    /// Reconnect attempts since the last whole scan.
    pub(super) attempt: u32,
    /// The intake mailbox's UIDVALIDITY in the last session.
    pub(super) last_validity: Option<u32>,
    /// (UIDVALIDITY, UID) → FETCH responses that could not be parsed, in a row.
    pub(super) fetch_failures: HashMap<(u32, u32), u32>,
    /// (UIDVALIDITY, UID) of oversized messages the sink was told about, not yet moved.
    pub(super) reported_oversized: HashSet<(u32, u32)>,
    /// (UIDVALIDITY, UID) we copied and flagged \Deleted but did not expunge (no UIDPLUS,
    /// and others' \Deleted messages were there).
    pub(super) unexpunged: HashSet<(u32, u32)>,
    /// The selected mailbox takes new keywords (PERMANENTFLAGS has `\*`).
    pub(super) keywords: bool,
}

pub(super) enum Wake {
    /// Something may have changed: scan again.
    Rescan,
    Shutdown,
}
