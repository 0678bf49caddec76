//! The service (`otklik run`): starts the tasks around the pure core, owns reload and
//! shutdown, talks to systemd. Tests start it in-process with [`run`].

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{Notify, watch};

use crate::auth::Secret;
use crate::config::{self, Config, SecretCheck};
use crate::escalation;
use crate::handler::{Handler, Origin};
use crate::mailbox::{
    self, Disposition as BoxDisposition, Fetched, MailboxState, NotCommitted, Oversized,
};
use crate::notify::{self, notify};
use crate::outbox;
use crate::smtp::Smtp;
use crate::store::{Disposition, Store, StoreError};
use crate::tls::TlsOptions;

/// Errors that stop the service from starting: the admin must act (exit status 1).
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("state_dir {path}: {source}")]
    StateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("secret {path}: {source}")]
    Secret {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "secret {path}: too short ({len} bytes); it must hold at least 32 random bytes (64 hex digits). Move it away and start again: a new one is made (mails sent before then can no longer be answered by reply; action codes change)"
    )]
    WeakSecret { path: String, len: usize },
    #[error("{0} (is another otklik running with this state_dir?)")]
    Store(StoreError),
    /// The store is of a newer format than this version reads: nothing was written to it.
    #[error("{0}")]
    StoreFormat(StoreError),
    #[error("smtp: {0}")]
    Smtp(#[from] crate::smtp::SmtpSetupError),
    #[error("tls: {0}")]
    Tls(#[from] crate::tls::TlsError),
    #[error("control socket {path}: {source}")]
    Socket {
        path: String,
        source: std::io::Error,
    },
    #[error("archive of earlier answers: {0}")]
    Archive(String),
}

impl From<StoreError> for StartError {
    fn from(e: StoreError) -> StartError {
        match e {
            StoreError::NewerFormat { .. } => StartError::StoreFormat(e),
            e => StartError::Store(e),
        }
    }
}

/// Why a running service stopped on its own (anything but a shutdown asked for), or could
/// not start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Start(#[from] StartError),
    /// The IMAP watcher gave up on an error no retry can mend (a wrong password, say).
    #[error("imap: {0}")]
    Intake(#[from] crate::mailbox::MailboxError),
    #[error(
        "the store cannot be written (is the disk of state_dir full?); stopping for a restart, which reopens it"
    )]
    StoreUnwritable,
}

/// What fails while starting fails the start.
macro_rules! start_errors {
    ($($t:ty),*) => {$(
        impl From<$t> for RunError {
            fn from(e: $t) -> RunError {
                RunError::Start(e.into())
            }
        }
    )*};
}
start_errors!(
    StoreError,
    crate::smtp::SmtpSetupError,
    crate::tls::TlsError
);

impl RunError {
    /// The process exit status: 75 (EX_TEMPFAIL) where a restart can help — the unit's
    /// `RestartPreventExitStatus=1` keeps systemd from retrying everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            RunError::StoreUnwritable => 75,
            _ => 1,
        }
    }
}

/// How the outside world steers a running service.
pub struct Controls {
    /// `true` asks the service to stop.
    pub shutdown: watch::Receiver<bool>,
    /// Each notification asks it to re-read its config file.
    pub reload: Arc<Notify>,
}

/// Loads the service secret from `state_dir/secret`, creating it (0600) on first start.
/// The HMAC key must be at least this many random bytes: every proof of a reply rests on it.
pub const MIN_SECRET_BYTES: usize = 32;

pub fn load_secret(state_dir: &Path) -> Result<Secret, StartError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let path = state_dir.join("secret");
    let err = |source| StartError::Secret {
        path: path.display().to_string(),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let key = text.trim().as_bytes();
            // Hex (as written here) carries 4 bits a character; anything else 8 at most.
            let hex = !key.is_empty() && key.iter().all(u8::is_ascii_hexdigit);
            let strength = if hex { key.len() / 2 } else { key.len() };
            if strength < MIN_SECRET_BYTES {
                return Err(StartError::WeakSecret {
                    path: path.display().to_string(),
                    len: strength,
                });
            }
            Ok(Secret::new(key.to_vec()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            use rand::RngCore;
            let mut bytes = [0u8; 32];
            rand::rng().fill_bytes(&mut bytes);
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .map_err(err)?;
            f.write_all(hex.as_bytes()).map_err(err)?;
            f.sync_all().map_err(err)?;
            Ok(Secret::new(hex.into_bytes()))
        }
        Err(e) => Err(err(e)),
    }
}

/// TLS trust for a protocol: the built-in roots plus the config's `ca_file`, if any.
pub fn tls_options(ca_file: Option<&Path>) -> Result<TlsOptions, StartError> {
    Ok(match ca_file {
        Some(p) => TlsOptions::from_ca_file(p)?,
        None => TlsOptions::default(),
    })
}

/// The handler the IMAP watcher calls for each message.
struct MailHandler {
    handler: Arc<Handler>,
    config: watch::Receiver<Arc<Config>>,
    outbox_wake: Arc<Notify>,
    timer_wake: Arc<Notify>,
    /// Messages in a row that could not be committed (a full disk).
    failures: Arc<std::sync::atomic::AtomicU32>,
}

/// How long the service waits at start for a store another process holds.
const STORE_LOCK_PATIENCE: Duration = Duration::from_secs(30);

/// How often the bookkeeping older than `service.retention` is swept.
const SWEEP_EVERY: Duration = Duration::from_secs(24 * 3600);

/// After this many commits in a row failed (about a minute of the watcher's backoff), the
/// service stops for a restart: sled keeps its first write error (ENOSPC) until the store
/// is opened again.
const STORE_FAILURES_BEFORE_RESTART: u32 = 5;

impl mailbox::Handler for MailHandler {
    async fn handle(&self, msg: Fetched) -> Result<BoxDisposition, NotCommitted> {
        let config = self.config.borrow().clone();
        let handler = self.handler.clone();
        let uid = msg.uid;
        let origin = Origin {
            mailbox: config.imap.mailbox.clone(),
            uid_validity: msg.uid_validity,
            uid,
        };
        let result = tokio::task::spawn_blocking(move || {
            handler.handle_from(&config, &msg.raw, msg.arrival, Utc::now(), Some(&origin))
        })
        .await
        .map_err(|e| NotCommitted(format!("handler task failed: {e}")))?;
        match result {
            Ok(handled) => {
                if handled.replay {
                    tracing::info!(uid, case = %handled.case.as_deref().unwrap_or("-"), note = %handled.note, "message seen before; moving it on");
                } else {
                    tracing::info!(uid, case = %handled.case.as_deref().unwrap_or("-"), disposition = ?handled.disposition, note = %handled.note, "message handled");
                }
                self.failures.store(0, Ordering::Relaxed);
                Ok(match handled.disposition {
                    Disposition::Processed => BoxDisposition::Processed,
                    Disposition::Rejected => BoxDisposition::Rejected,
                })
            }
            Err(e) => {
                self.failures.fetch_add(1, Ordering::Relaxed);
                tracing::error!(uid, error = %e, "could not commit a message; it stays in the mailbox and is retried");
                Err(NotCommitted(e.to_string()))
            }
        }
    }

    async fn durable(&self) -> Result<(), NotCommitted> {
        let handler = self.handler.clone();
        let result = tokio::task::spawn_blocking(move || handler.durable())
            .await
            .map_err(|e| NotCommitted(format!("handler task failed: {e}")))?;
        match result {
            Ok(()) => {
                // The batch's mails and due steps are on disk: the sender and the timer go.
                self.outbox_wake.notify_one();
                self.timer_wake.notify_one();
                Ok(())
            }
            Err(e) => {
                self.failures.fetch_add(1, Ordering::Relaxed);
                tracing::error!(error = %e, "could not make a batch of messages durable; they stay in the mailbox and are retried");
                Err(NotCommitted(e.to_string()))
            }
        }
    }

    async fn oversized(&self, msg: Oversized) -> Result<(), NotCommitted> {
        let config = self.config.borrow().clone();
        let handler = self.handler.clone();
        let (uid, size) = (msg.uid, msg.size);
        let result = tokio::task::spawn_blocking(move || {
            handler.oversized(&config, &msg.header, msg.size, Utc::now())
        })
        .await
        .map_err(|e| NotCommitted(format!("handler task failed: {e}")))?;
        match result {
            Ok(handled) => {
                tracing::warn!(uid, size, replay = handled.replay, note = %handled.note, "message too large; set aside unread");
                self.failures.store(0, Ordering::Relaxed);
                self.outbox_wake.notify_one();
                Ok(())
            }
            Err(e) => {
                self.failures.fetch_add(1, Ordering::Relaxed);
                tracing::error!(uid, error = %e, "could not record a too large message; it stays in the mailbox and is retried");
                Err(NotCommitted(e.to_string()))
            }
        }
    }
}

/// Runs the service until `controls.shutdown` turns true.
pub async fn run(config: Config, controls: Controls) -> Result<(), RunError> {
    let Controls {
        mut shutdown,
        reload,
    } = controls;
    let state_dir = config.service.state_dir.clone();
    let live = Arc::new(crate::status::Live::new(Utc::now()));
    std::fs::create_dir_all(&state_dir).map_err(|source| StartError::StateDir {
        path: state_dir.display().to_string(),
        source,
    })?;
    let secret = load_secret(&state_dir)?;
    // An `otklik show` or `cases` run while the service (re)starts may hold the store for
    // a moment: wait for it rather than fail the start.
    let dir = state_dir.clone();
    let store = tokio::task::spawn_blocking(move || Store::open_waiting(&dir, STORE_LOCK_PATIENCE))
        .await
        .map_err(|e| {
            StartError::Store(StoreError::Sled(sled::Error::ReportableBug(e.to_string())))
        })??;
    // Rebuilding every open case's schedule after a ladder change takes a while with many
    // cases: off the async threads.
    let (store2, config2) = (store.clone(), config.clone());
    let rescheduled =
        tokio::task::spawn_blocking(move || escalation::reschedule_if_changed(&store2, &config2))
            .await
            .map_err(|e| {
                StartError::Store(StoreError::Sled(sled::Error::ReportableBug(e.to_string())))
            })??;
    // A message still marked "in progress" was in hand when the last run ended.
    let crashed = crate::crashflag::take(&state_dir);
    let store2 = store.clone();
    let left = tokio::task::spawn_blocking(move || store2.note_restart(crashed))
        .await
        .map_err(|e| {
            StartError::Store(StoreError::Sled(sled::Error::ReportableBug(e.to_string())))
        })??;
    if let Some(mark) = left {
        let next = if mark.crashed || mark.restarts >= 2 {
            "it is set aside unread"
        } else {
            "it is tried once more"
        };
        tracing::warn!(uid = mark.uid, uid_validity = mark.uid_validity, mailbox = %mark.mailbox, crashed = mark.crashed, restarts = mark.restarts, "the last run ended while it handled a message; {next}");
    } else if crashed {
        tracing::warn!("the last run crashed");
    }
    if rescheduled > 0 {
        tracing::info!(
            cases = rescheduled,
            "escalation schedule rebuilt for the current config"
        );
    }
    let config = Arc::new(config);
    let (config_tx, config_rx) = watch::channel(config.clone());

    // The tasks stop when the service does — asked from outside, or on a fatal error.
    let (tasks_stop, tasks_stop_rx) = watch::channel(false);

    // Outbox sender.
    let smtp = Arc::new(Smtp::new(
        &config.smtp,
        &tls_options(config.smtp.ca_file.as_deref())?,
    )?);
    let (smtp_tx, smtp) = watch::channel(smtp);
    let outbox_wake = Arc::new(Notify::new());
    let outbox_beat = Arc::new(AtomicU64::new(now_secs()));
    let outbox_task = tokio::spawn(outbox::run(
        store.clone(),
        smtp,
        outbox_wake.clone(),
        tasks_stop_rx.clone(),
        outbox_beat.clone(),
        Some(outbox::Gathering {
            config: config_rx.clone(),
            secret: secret.clone(),
        }),
    ));

    // Escalation timer.
    let timer_wake = Arc::new(Notify::new());
    let timer_beat = Arc::new(AtomicU64::new(now_secs()));
    let timer_task = tokio::spawn(timer(
        store.clone(),
        secret.clone(),
        config_rx.clone(),
        timer_wake.clone(),
        outbox_wake.clone(),
        tasks_stop_rx.clone(),
        timer_beat.clone(),
    ));

    // Retention of the bookkeeping.
    let sweep_task = tokio::spawn(sweeper(
        store.clone(),
        config_rx.clone(),
        tasks_stop_rx.clone(),
    ));

    // The archive of earlier answers, indexed once; the handler and the socket share it.
    let archive = {
        let store = store.clone();
        let zone = config.calendar.timezone();
        tokio::task::spawn_blocking(move || crate::archive::Archive::load(&store, zone))
            .await
            .map_err(|e| StartError::Archive(e.to_string()))?
            .map_err(|e| StartError::Archive(e.to_string()))?
    };
    let archive = Arc::new(archive);

    // Control socket.
    let sock = crate::control::socket_path(&state_dir);
    let _ = std::fs::remove_file(&sock);
    let listener = tokio::net::UnixListener::bind(&sock).map_err(|source| StartError::Socket {
        path: sock.display().to_string(),
        source,
    })?;
    let control_task = tokio::spawn(crate::control::serve_with(
        listener,
        store.clone(),
        outbox_wake.clone(),
        Some(live.clone()),
        Some(archive.clone()),
    ));

    // IMAP watcher (restarted when its settings change on reload).
    let handler = Arc::new(Handler::with_archive(
        store.clone(),
        secret.clone(),
        archive.clone(),
    ));
    // The routing model: the starter corpus and every example cases confirmed, one pass.
    handler
        .train(&config_rx.borrow().clone())
        .map_err(StartError::Store)?;
    let store_failures = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let mail_handler = Arc::new(MailHandler {
        handler,
        config: config_rx.clone(),
        outbox_wake: outbox_wake.clone(),
        timer_wake: timer_wake.clone(),
        failures: store_failures.clone(),
    });
    let imap_beat = Arc::new(AtomicU64::new(now_secs()));
    let (state_tx, mut state_rx) = watch::channel(MailboxState::Connecting);
    let state_tx = Arc::new(state_tx);
    let spawn_watcher =
        |cfg: &Config,
         stop: watch::Receiver<bool>|
         -> Result<tokio::task::JoinHandle<Option<mailbox::MailboxError>>, StartError> {
            let imap = cfg.imap.clone();
            let tls = tls_options(cfg.imap.ca_file.as_deref())?;
            let handler = mail_handler.clone();
            let state = state_tx.clone();
            let beat = imap_beat.clone();
            Ok(tokio::spawn(async move {
                let (tx, rx) = watch::channel(MailboxState::Connecting);
                let forward = {
                    let state = state.clone();
                    let mut rx = rx.clone();
                    tokio::spawn(async move {
                        while rx.changed().await.is_ok() {
                            let s = *rx.borrow();
                            state.send_replace(s);
                        }
                    })
                };
                let result = mailbox::watch(imap, tls, handler, stop, tx, beat).await;
                forward.abort();
                result.err()
            }))
        };
    let (mut watcher_stop_tx, watcher_stop_rx) = watch::channel(false);
    let mut watcher = spawn_watcher(&config, watcher_stop_rx)?;
    // The watcher ends on its own only on a permanent error (the config must change): then
    // the service stops with that error (exit status 1) instead of running without intake.
    let mut watcher_done = false;
    let mut fatal: Option<RunError> = None;

    let watchdog = notify::watchdog_interval();
    let mut ready = false;
    let mut status_every = tokio::time::interval(Duration::from_secs(5));
    let watchdog_every = watchdog.map(|w| w / 2).unwrap_or(Duration::from_secs(3600));
    let mut watchdog_tick = tokio::time::interval(watchdog_every);
    tracing::info!(state_dir = %state_dir.display(), cases = store.case_count(), outbox = store.outbox_len(), "otklik started");

    loop {
        tokio::select! {
            _ = shutdown.changed() => {
                if *shutdown.borrow() { break; }
            }
            ended = &mut watcher, if !watcher_done => {
                watcher_done = true;
                let e = match ended {
                    Ok(Some(e)) => e,
                    Ok(None) => mailbox::MailboxError::Protocol("the watcher stopped".into()),
                    Err(e) => mailbox::MailboxError::Protocol(format!("the watcher failed: {e}")),
                };
                tracing::error!(error = %e, "the intake mailbox cannot be watched; stopping");
                fatal = Some(RunError::Intake(e));
                break;
            }
            changed = state_rx.changed() => {
                if changed.is_err() { continue; }
                let s = *state_rx.borrow();
                live.imap_state(s, Utc::now());
                if !ready && matches!(s, MailboxState::Idle | MailboxState::Polling) {
                    ready = true;
                    notify("READY=1");
                    tracing::info!("ready: mailbox selected, outbox running");
                }
                notify(&format!("STATUS={}", status_line(&store, s)));
            }
            _ = status_every.tick() => {
                notify(&format!("STATUS={}", status_line(&store, *state_rx.borrow())));
                if store_failures.load(Ordering::Relaxed) >= STORE_FAILURES_BEFORE_RESTART {
                    let e = RunError::StoreUnwritable;
                    tracing::error!("{e}");
                    fatal = Some(e);
                    break;
                }
            }
            _ = watchdog_tick.tick(), if watchdog.is_some() => {
                // Only a live loop earns a ping: a hung IMAP loop, outbox or timer trips the watchdog.
                let limit = watchdog.map(|w| w.as_secs().max(1) * 2).unwrap_or(u64::MAX).max(mailbox::HEARTBEAT_EVERY.as_secs() * 3);
                let now = now_secs();
                let alive = [&imap_beat, &outbox_beat, &timer_beat].iter().all(|b| now.saturating_sub(b.load(Ordering::Relaxed)) <= limit);
                if alive { notify("WATCHDOG=1"); } else { tracing::error!("a service loop is stuck; not pinging the watchdog"); }
            }
            _ = reload.notified() => {
                notify::reloading();
                let path = config_tx.borrow().path.clone();
                match reload_config(&path) {
                    Ok(new) => {
                        let old = config_tx.borrow().clone();
                        let imap_changed = old.imap != new.imap;
                        let new = Arc::new(new);
                        config_tx.send_replace(new.clone());
                        if old.smtp != new.smtp {
                            match tls_options(new.smtp.ca_file.as_deref()).and_then(|tls| Ok(Smtp::new(&new.smtp, &tls)?)) {
                                Ok(smtp) => {
                                    smtp_tx.send_replace(Arc::new(smtp));
                                    tracing::info!("SMTP settings changed: the outbox uses them from now on");
                                }
                                Err(e) => tracing::error!(error = %e, "the new SMTP settings cannot be used; keeping the old ones"),
                            }
                        }
                        let (store2, new2) = (store.clone(), new.clone());
                        match tokio::task::spawn_blocking(move || escalation::reschedule_if_changed(&store2, &new2)).await {
                            Ok(Ok(n)) => tracing::info!(rescheduled = n, "config reloaded"),
                            Ok(Err(e)) => tracing::error!(error = %e, "config reloaded, but the schedule could not be rebuilt"),
                            Err(e) => tracing::error!(error = %e, "config reloaded, but the rescheduling task failed"),
                        }
                        timer_wake.notify_one();
                        if imap_changed {
                            tracing::info!("IMAP settings changed: reconnecting");
                            watcher_stop_tx.send_replace(true);
                            let _ = (&mut watcher).await;
                            let (tx, rx) = watch::channel(false);
                            watcher_stop_tx = tx;
                            match spawn_watcher(&new, rx) {
                                Ok(w) => watcher = w,
                                Err(e) => {
                                    tracing::error!(error = %e, "cannot restart the IMAP watcher; stopping");
                                    watcher_done = true;
                                    fatal = Some(e.into());
                                    break;
                                }
                            }
                        }
                    }
                    Err(e) => tracing::error!("config reload refused, the old config stays in force:\n{e}"),
                }
                notify("READY=1");
            }
        }
    }

    notify("STOPPING=1");
    tasks_stop.send_replace(true);
    tracing::info!("stopping: finishing the message in hand");
    watcher_stop_tx.send_replace(true);
    if !watcher_done {
        let _ = watcher.await;
    }
    let _ = timer_task.await;
    let _ = outbox_task.await;
    let _ = sweep_task.await;
    // The socket's tasks hold store handles: wait until they are gone, so that a restart in
    // the same process can open the store again.
    control_task.abort();
    let _ = control_task.await;
    let _ = std::fs::remove_file(&sock);
    let flushed = store.flush().await;
    if let Some(e) = fatal {
        if let Err(flush_error) = flushed {
            tracing::error!(error = %flush_error, "the store could not be flushed at stop");
        }
        return Err(e);
    }
    flushed?;
    tracing::info!("stopped");
    Ok(())
}

fn reload_config(path: &Path) -> Result<Config, config::ConfigError> {
    config::load(path, SecretCheck::Require)
}

fn now_secs() -> u64 {
    Utc::now().timestamp().max(0) as u64
}

fn status_line(store: &Store, state: MailboxState) -> String {
    format!(
        "{} open cases, outbox {}, {state}",
        store.open_case_count(),
        store.outbox_len()
    )
}

/// Sleeps until the next due escalation step (or a wake-up), then fires what is due.
async fn timer(
    store: Store,
    secret: Secret,
    config: watch::Receiver<Arc<Config>>,
    wake: Arc<Notify>,
    outbox_wake: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
    heartbeat: Arc<AtomicU64>,
) {
    let mut failures = 0u32;
    loop {
        heartbeat.store(now_secs(), Ordering::Relaxed);
        let cfg = config.borrow().clone();
        let (store2, secret2) = (store.clone(), secret.clone());
        let fired = tokio::task::spawn_blocking(move || {
            let now = Utc::now();
            escalation::tick(&store2, &cfg, &secret2, now)
                .map(|n| n + crate::digest::tick(&store2, &cfg, &secret2, now))
        })
        .await;
        let ok = match fired {
            Ok(Ok(n)) => {
                if n > 0 {
                    outbox_wake.notify_one();
                }
                true
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "escalation tick failed; retrying");
                false
            }
            Err(e) => {
                tracing::error!(error = %e, "escalation task failed");
                false
            }
        };
        failures = if ok { 0 } else { failures + 1 };
        let sleep = if failures > 0 {
            // A store that cannot be written (a full disk): back off, 2 s doubling to 60 s.
            Duration::from_secs(2u64 << failures.min(5).saturating_sub(1))
                .min(Duration::from_secs(60))
        } else {
            match store.next_due() {
                Ok(Some(at)) => (at - Utc::now()).to_std().unwrap_or(Duration::ZERO),
                _ => Duration::from_secs(60),
            }
            .clamp(Duration::from_millis(200), Duration::from_secs(30))
        };
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(sleep) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            return;
        }
    }
}

/// At start and then daily: deletes the inbound-ledger records and sent-marks older than
/// `service.retention` (cases are never deleted), and confirmations past their week.
async fn sweeper(
    store: Store,
    config: watch::Receiver<Arc<Config>>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let retention = config.borrow().service.retention;
        let store2 = store.clone();
        let swept = tokio::task::spawn_blocking(move || {
            let Some(before) = Utc::now().checked_sub_signed(retention) else {
                return Ok(0);
            };
            // Confirmations can be answered for a week: then they, and the messages they
            // keep, go.
            let week = chrono::Duration::days(crate::sender::CONFIRM_VALID_DAYS + 1);
            let n = store2.sweep(before)?
                + Utc::now()
                    .checked_sub_signed(week)
                    .map_or(Ok(0), |b| store2.sweep_confirmations(b))?;
            if n > 0 {
                store2.flush_blocking()?;
            }
            Ok::<_, StoreError>(n)
        })
        .await;
        match swept {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => tracing::info!(
                removed = n,
                retention_days = retention.num_days(),
                "old bookkeeping swept"
            ),
            Ok(Err(e)) => {
                tracing::error!(error = %e, "the retention sweep failed; next try in a day")
            }
            Err(e) => tracing::error!(error = %e, "the retention sweep task failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(SWEEP_EVERY) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            return;
        }
    }
}
