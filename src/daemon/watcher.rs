//! The IMAP watcher as the service owns it: one task at a time, restarted when its
//! settings change on reload, its state forwarded to the service.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use otklik_core::config::Config;

use super::sink::IntakeSink;
use super::{StartError, tls_options};
use crate::mailbox::{self, MailboxError, MailboxState};

/// The running watcher task and what it takes to start another.
pub(super) struct Watcher {
    sink: Arc<IntakeSink>,
    /// Every session's state, forwarded here from each task's own channel.
    state: Arc<watch::Sender<MailboxState>>,
    pub(super) beat: Arc<AtomicU64>,
    stop: watch::Sender<bool>,
    /// The task; awaited at most once (see `done`).
    pub(super) task: JoinHandle<Option<MailboxError>>,
    /// The task has ended and was awaited: it must not be awaited again.
    pub(super) done: bool,
}

impl Watcher {
    /// Starts watching the intake mailbox of `cfg`.
    pub(super) fn start(
        cfg: &Config,
        sink: Arc<IntakeSink>,
        state: Arc<watch::Sender<MailboxState>>,
        beat: Arc<AtomicU64>,
    ) -> Result<Watcher, StartError> {
        let (stop, stop_rx) = watch::channel(false);
        let task = spawn(cfg, &sink, &state, &beat, stop_rx)?;
        Ok(Watcher {
            sink,
            state,
            beat,
            stop,
            task,
            done: false,
        })
    }

    /// The task ended on its own (only a permanent error does that): why, for the service
    /// to stop with.
    pub(super) fn ended(
        &mut self,
        ended: Result<Option<MailboxError>, tokio::task::JoinError>,
    ) -> MailboxError {
        self.done = true;
        match ended {
            Ok(Some(e)) => e,
            Ok(None) => MailboxError::Protocol("the watcher stopped".into()),
            Err(e) => MailboxError::Protocol(format!("the watcher failed: {e}")),
        }
    }

    /// Stops the running task (after the message in hand) and starts one with `cfg`. Err:
    /// none runs any more.
    pub(super) async fn restart(&mut self, cfg: &Config) -> Result<(), StartError> {
        self.stop.send_replace(true);
        let _ = (&mut self.task).await;
        let (stop, stop_rx) = watch::channel(false);
        self.stop = stop;
        match spawn(cfg, &self.sink, &self.state, &self.beat, stop_rx) {
            Ok(task) => {
                self.task = task;
                Ok(())
            }
            Err(e) => {
                self.done = true;
                Err(e)
            }
        }
    }

    /// Asks the task to stop and waits for it (it finishes the message in hand).
    pub(super) async fn stop(self) {
        self.stop.send_replace(true);
        if !self.done {
            let _ = self.task.await;
        }
    }
}

fn spawn(
    cfg: &Config,
    sink: &Arc<IntakeSink>,
    state: &Arc<watch::Sender<MailboxState>>,
    beat: &Arc<AtomicU64>,
    stop: watch::Receiver<bool>,
) -> Result<JoinHandle<Option<MailboxError>>, StartError> {
    let imap = cfg.imap.clone();
    let tls = tls_options(cfg.imap.ca_file.as_deref())?;
    let sink = sink.clone();
    let state = state.clone();
    let beat = beat.clone();
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
        let result = mailbox::watch(imap, tls, sink, stop, tx, beat).await;
        forward.abort();
        result.err()
    }))
}
