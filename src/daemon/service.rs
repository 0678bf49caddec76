//! The running service: [`Service::start`] opens the store and starts every task,
//! [`Service::serve`] answers systemd, the watcher and the operator until asked to stop,
//! [`Service::reload`] applies a new config file, [`Service::stop`] ends the tasks in
//! order and flushes the store.
//!
//! The service owns what is shared (the store, the config channel, the wake-ups); each
//! task owns its own part and a receiver of the stop signal, as a connection handler
//! does beside its listener.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use otklik_core::config::Config;

use super::sink::IntakeSink;
use super::timers::{sweeper, timer};
use super::watcher::Watcher;
use super::{
    Controls, RunError, StartError, load_secret, now_secs, reload_config, status_line, tls_options,
};
use crate::archive::Archive;
use crate::escalation;
use crate::handler::Intake;
use crate::mailbox::{self, MailboxState};
use crate::notify::{self, notify};
use crate::outbox;
use crate::smtp::Smtp;
use crate::status::Live;
use crate::store::{Store, StoreError};

/// How long the service waits at start for a store another process holds.
const STORE_LOCK_PATIENCE: Duration = Duration::from_secs(30);

/// After this many commits in a row failed (about a minute of the watcher's backoff), the
/// service stops for a restart: sled keeps its first write error (ENOSPC) until the store
/// is opened again.
const STORE_FAILURES_BEFORE_RESTART: u32 = 5;

/// The service between its start and its stop.
pub struct Service {
    store: Store,
    live: Arc<Live>,
    config: watch::Sender<Arc<Config>>,
    smtp: watch::Sender<Arc<Smtp>>,
    /// `true` stops the outbox, the timer and the sweep.
    tasks_stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    control: JoinHandle<()>,
    sock: PathBuf,
    watcher: Watcher,
    imap_state: watch::Receiver<MailboxState>,
    timer_wake: Arc<Notify>,
    outbox_beat: Arc<AtomicU64>,
    timer_beat: Arc<AtomicU64>,
    /// Messages in a row the intake could not commit.
    store_failures: Arc<AtomicU32>,
    /// READY=1 was sent (the mailbox was selected once).
    ready: bool,
    /// The archive of earlier answers: its snapshot is written at a clean stop.
    archive: Arc<Archive>,
}

impl Service {
    /// Opens the state directory and the store, then starts the outbox, the timers, the
    /// control socket and the IMAP watcher.
    pub async fn start(config: Config) -> Result<Service, RunError> {
        // The starter routing model trains beside the store's opening and the archive's
        // reading; then the routing model, beside the IMAP start ([`train_and_settle`]).
        let starter = train_starter(&config);
        let state_dir = config.service.state_dir.clone();
        let live = Arc::new(Live::new(Utc::now()));
        std::fs::create_dir_all(&state_dir).map_err(|source| StartError::StateDir {
            path: state_dir.display().to_string(),
            source,
        })?;
        let secret = load_secret(&state_dir)?;
        let store = open_store(&config).await?;
        let config = Arc::new(config);
        let (config_tx, config_rx) = watch::channel(config.clone());

        // The tasks stop when the service does — asked from outside, or on a fatal error.
        let (tasks_stop, tasks_stop_rx) = watch::channel(false);
        let smtp = Arc::new(Smtp::new(
            &config.smtp,
            &tls_options(config.smtp.ca_file.as_deref())?,
        )?);
        let (smtp_tx, smtp_rx) = watch::channel(smtp);
        let outbox_wake = Arc::new(Notify::new());
        let outbox_beat = Arc::new(AtomicU64::new(now_secs()));
        let timer_wake = Arc::new(Notify::new());
        let timer_beat = Arc::new(AtomicU64::new(now_secs()));
        let mut tasks = vec![
            tokio::spawn(timer(
                store.clone(),
                secret.clone(),
                config_rx.clone(),
                timer_wake.clone(),
                outbox_wake.clone(),
                tasks_stop_rx.clone(),
                timer_beat.clone(),
            )),
            tokio::spawn(outbox::run(
                store.clone(),
                smtp_rx,
                outbox_wake.clone(),
                tasks_stop_rx.clone(),
                outbox_beat.clone(),
                Some(outbox::Gathering {
                    config: config_rx.clone(),
                    secret: secret.clone(),
                }),
            )),
            tokio::spawn(sweeper(store.clone(), config_rx.clone(), tasks_stop_rx)),
        ];

        let archive = load_archive(&store, &config, &mut tasks, &tasks_stop).await?;
        let sock = crate::control::socket_path(&state_dir);
        let _ = std::fs::remove_file(&sock);
        let listener =
            tokio::net::UnixListener::bind(&sock).map_err(|source| StartError::Socket {
                path: sock.display().to_string(),
                source,
            })?;
        let control = tokio::spawn(crate::control::serve_with(
            listener,
            store.clone(),
            outbox_wake.clone(),
            Some(live.clone()),
            Some(archive.clone()),
        ));

        let intake = Arc::new(Intake::with_archive(store.clone(), secret, archive.clone()));
        let settle = train_and_settle(intake.clone(), config_rx.borrow().clone(), starter);
        tasks.push(tokio::spawn(settle));
        let store_failures = Arc::new(AtomicU32::new(0));
        let sink = Arc::new(IntakeSink {
            intake,
            config: config_rx,
            outbox_wake: outbox_wake.clone(),
            timer_wake: timer_wake.clone(),
            failures: store_failures.clone(),
        });
        let (state_tx, imap_state) = watch::channel(MailboxState::Connecting);
        let imap_beat = Arc::new(AtomicU64::new(now_secs()));
        let watcher = Watcher::start(&config, sink, Arc::new(state_tx), imap_beat)?;
        tracing::info!(state_dir = %state_dir.display(), cases = store.case_count(), outbox = store.outbox_len(), "otklik started");
        Ok(Service {
            store,
            live,
            config: config_tx,
            smtp: smtp_tx,
            tasks_stop,
            tasks,
            control,
            sock,
            watcher,
            imap_state,
            timer_wake,
            outbox_beat,
            timer_beat,
            store_failures,
            ready: false,
            archive,
        })
    }

    /// Serves until `controls.shutdown` turns true (`None`) or something no retry mends
    /// happens (`Some`: what). Each reload notification re-reads the config file.
    pub async fn serve(&mut self, controls: Controls) -> Option<RunError> {
        let Controls {
            mut shutdown,
            reload,
        } = controls;
        let watchdog = notify::watchdog_interval();
        let mut status_every = tokio::time::interval(Duration::from_secs(5));
        let watchdog_every = watchdog.map(|w| w / 2).unwrap_or(Duration::from_secs(3600));
        let mut watchdog_tick = tokio::time::interval(watchdog_every);
        loop {
            tokio::select! {
                _ = shutdown.changed() => {
                    if *shutdown.borrow() { return None; }
                }
                // The watcher ends on its own only on a permanent error (the config must
                // change): the service stops with it (exit status 1) rather than run
                // without intake.
                ended = &mut self.watcher.task, if !self.watcher.done => {
                    let e = self.watcher.ended(ended);
                    tracing::error!(error = %e, "the intake mailbox cannot be watched; stopping");
                    return Some(RunError::Intake(e));
                }
                changed = self.imap_state.changed() => {
                    if changed.is_ok() { self.imap_state_changed(); }
                }
                _ = status_every.tick() => {
                    if let Some(e) = self.status_tick() { return Some(e); }
                }
                _ = watchdog_tick.tick(), if watchdog.is_some() => self.watchdog_tick(watchdog),
                _ = reload.notified() => {
                    if let Err(e) = self.reload().await { return Some(e); }
                }
            }
        }
    }

    /// Re-reads the config file and applies it: new SMTP settings to the outbox, a new
    /// escalation schedule, a new IMAP session if its settings changed. A refused file
    /// leaves the old config in force. Err: the IMAP watcher could not be restarted.
    pub async fn reload(&mut self) -> Result<(), RunError> {
        notify::reloading();
        let path = self.config.borrow().path.clone();
        // Read, and its starter model trained (at once when the executors are the same),
        // off the async threads.
        let loaded = tokio::task::spawn_blocking(move || {
            let new = reload_config(&path)?;
            new.routing.starter.model();
            Ok::<_, otklik_core::config::ConfigError>(new)
        })
        .await;
        let result = match loaded {
            Ok(Ok(new)) => self.apply(new).await,
            Ok(Err(e)) => {
                tracing::error!("config reload refused, the old config stays in force:\n{e}");
                Ok(())
            }
            Err(e) => {
                tracing::error!(error = %e, "config reload failed, the old config stays in force");
                Ok(())
            }
        };
        if result.is_ok() {
            notify("READY=1");
        }
        result
    }

    async fn apply(&mut self, new: Config) -> Result<(), RunError> {
        let old = self.config.borrow().clone();
        let imap_changed = old.imap != new.imap;
        let new = Arc::new(new);
        self.config.send_replace(new.clone());
        if old.smtp != new.smtp {
            match tls_options(new.smtp.ca_file.as_deref())
                .and_then(|tls| Ok(Smtp::new(&new.smtp, &tls)?))
            {
                Ok(smtp) => {
                    self.smtp.send_replace(Arc::new(smtp));
                    tracing::info!("SMTP settings changed: the outbox uses them from now on");
                }
                Err(e) => {
                    tracing::error!(error = %e, "the new SMTP settings cannot be used; keeping the old ones")
                }
            }
        }
        let (store, new2) = (self.store.clone(), new.clone());
        match tokio::task::spawn_blocking(move || escalation::reschedule_if_changed(&store, &new2))
            .await
        {
            Ok(Ok(n)) => tracing::info!(rescheduled = n, "config reloaded"),
            Ok(Err(e)) => {
                tracing::error!(error = %e, "config reloaded, but the schedule could not be rebuilt")
            }
            Err(e) => {
                tracing::error!(error = %e, "config reloaded, but the rescheduling task failed")
            }
        }
        self.timer_wake.notify_one();
        if imap_changed {
            tracing::info!("IMAP settings changed: reconnecting");
            if let Err(e) = self.watcher.restart(&new).await {
                tracing::error!(error = %e, "cannot restart the IMAP watcher; stopping");
                return Err(e.into());
            }
        }
        Ok(())
    }

    /// Stops every task (the watcher after the message in hand), closes the control
    /// socket and flushes the store. `fatal`: why the service stops on its own, returned
    /// after the cleanup.
    pub async fn stop(self, fatal: Option<RunError>) -> Result<(), RunError> {
        notify("STOPPING=1");
        self.tasks_stop.send_replace(true);
        tracing::info!("stopping: finishing the message in hand");
        self.watcher.stop().await;
        for task in self.tasks {
            let _ = task.await;
        }
        // The socket's tasks hold store handles: wait until they are gone, so that a
        // restart in the same process can open the store again.
        self.control.abort();
        let _ = self.control.await;
        let _ = std::fs::remove_file(&self.sock);
        // The index as it is now, so that the next start reads nothing again.
        let archive = self.archive.clone();
        match tokio::task::spawn_blocking(move || archive.save()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "the archive's snapshot could not be written at stop")
            }
            Err(e) => tracing::warn!(error = %e, "the archive's snapshot task failed at stop"),
        }
        let flushed = self.store.flush().await;
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

    fn imap_state_changed(&mut self) {
        let s = *self.imap_state.borrow();
        self.live.imap_state(s, Utc::now());
        if !self.ready && matches!(s, MailboxState::Idle | MailboxState::Polling) {
            self.ready = true;
            notify("READY=1");
            tracing::info!("ready: mailbox selected, outbox running");
            // Only now: during start-up its training would take a core from the rest.
            warm_clause12(&self.config.borrow());
        }
        notify(&format!("STATUS={}", status_line(&self.store, s)));
    }

    /// The periodic STATUS line; `Some` when the store has refused too many commits.
    fn status_tick(&mut self) -> Option<RunError> {
        let s = *self.imap_state.borrow();
        notify(&format!("STATUS={}", status_line(&self.store, s)));
        if self.store_failures.load(Ordering::Relaxed) >= STORE_FAILURES_BEFORE_RESTART {
            let e = RunError::StoreUnwritable;
            tracing::error!("{e}");
            return Some(e);
        }
        None
    }

    /// Only a live loop earns a ping: a hung IMAP loop, outbox or timer trips the watchdog.
    fn watchdog_tick(&self, watchdog: Option<Duration>) {
        let limit = watchdog
            .map(|w| w.as_secs().max(1) * 2)
            .unwrap_or(u64::MAX)
            .max(mailbox::HEARTBEAT_EVERY.as_secs() * 3);
        let now = now_secs();
        let alive = [&self.watcher.beat, &self.outbox_beat, &self.timer_beat]
            .iter()
            .all(|b| now.saturating_sub(b.load(Ordering::Relaxed)) <= limit);
        if alive {
            notify("WATCHDOG=1");
        } else {
            tracing::error!("a service loop is stuck; not pinging the watchdog");
        }
    }
}

/// Opens the store (waiting for a short-lived holder), rebuilds the schedules after a
/// ladder change and notes a restart over a message in hand: all off the async threads.
async fn open_store(config: &Config) -> Result<Store, StartError> {
    let bug = |e: tokio::task::JoinError| {
        StartError::Store(StoreError::Sled(sled::Error::ReportableBug(e.to_string())))
    };
    let state_dir = config.service.state_dir.clone();
    // An `otklik show` or `cases` run while the service (re)starts may hold the store for
    // a moment: wait for it rather than fail the start.
    let dir = state_dir.clone();
    let began = std::time::Instant::now();
    let store = tokio::task::spawn_blocking(move || Store::open_waiting(&dir, STORE_LOCK_PATIENCE))
        .await
        .map_err(bug)??;
    tracing::info!(ms = began.elapsed().as_millis() as u64, "store opened");
    // Rebuilding every open case's schedule after a ladder change takes a while with many
    // cases: off the async threads.
    let (store2, config2) = (store.clone(), config.clone());
    let rescheduled =
        tokio::task::spawn_blocking(move || escalation::reschedule_if_changed(&store2, &config2))
            .await
            .map_err(bug)??;
    // A message still marked "in progress" was in hand when the last run ended.
    let crashed = crate::crashflag::take(&state_dir);
    let store2 = store.clone();
    let left = tokio::task::spawn_blocking(move || store2.note_restart(crashed))
        .await
        .map_err(bug)??;
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
    Ok(store)
}

/// Starts training the config's starter routing model (trained on first use) off the async
/// threads; the handle ends when it is trained.
fn train_starter(config: &Config) -> JoinHandle<()> {
    let starter = config.routing.starter.clone();
    tokio::task::spawn_blocking(move || {
        if !starter.is_trained() {
            let began = std::time::Instant::now();
            starter.model();
            tracing::info!(
                ms = began.elapsed().as_millis() as u64,
                "starter routing model trained"
            );
        }
    })
}

/// The routing model trained (the starter model, once `starter` has trained it, and every
/// example cases confirmed, one pass); then what start-up read and dropped (sled's
/// recovery, the snapshot's bytes) is given back to the system. Runs beside the IMAP
/// watcher's start: the intake holds the model's lock while training, so a message
/// fetched meanwhile waits for it; if the store cannot be read here, the intake tries
/// again with each message and leaves it in the mailbox until it can.
async fn train_and_settle(intake: Arc<Intake>, config: Arc<Config>, starter: JoinHandle<()>) {
    if let Err(e) = starter.await
        && e.is_panic()
    {
        tracing::error!("the starter routing model could not be trained: its training panicked");
        return;
    }
    let trained = tokio::task::spawn_blocking(move || intake.train(&config)).await;
    match trained {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            tracing::error!(error = %e, "the routing model could not be trained from the store; the intake will try again with each message");
        }
        Err(e) => tracing::error!(error = %e, "the routing model's training failed"),
    }
    crate::memory::give_back();
    crate::memory::let_go_of_corpora();
}

/// The clause 12 model is trained once, on first use: start once the mailbox is ready (not
/// during start-up, where it would compete for the cores), so the first notification most
/// likely does not wait for it.
fn warm_clause12(config: &Arc<Config>) {
    let config = config.clone();
    drop(tokio::task::spawn_blocking(move || {
        config.intake.lexicon.prepare();
        // The training's features, dropped once the model is built, and the corpora read.
        crate::memory::give_back();
        crate::memory::let_go_of_corpora();
    }));
}

/// The archive of earlier answers (shared by the intake and the control socket), read from
/// its snapshot in the state directory (or built from the store), with the task that
/// writes its snapshots until the tasks stop.
async fn load_archive(
    store: &Store,
    config: &Config,
    tasks: &mut Vec<tokio::task::JoinHandle<()>>,
    stop: &watch::Sender<bool>,
) -> Result<Arc<Archive>, StartError> {
    let store = store.clone();
    let zone = config.calendar.timezone();
    let path = config.service.state_dir.join(crate::archive::SNAPSHOT_FILE);
    let archive = tokio::task::spawn_blocking(move || Archive::open(&store, zone, path))
        .await
        .map_err(|e| StartError::Archive(e.to_string()))?
        .map_err(|e| StartError::Archive(e.to_string()))?;
    let archive = Arc::new(archive);
    tasks.push(tokio::spawn(crate::archive::snapshots(
        archive.clone(),
        stop.subscribe(),
    )));
    Ok(archive)
}
