//! The daemon's side of the IMAP watcher: each message it fetches goes to the [`Intake`]
//! off the async threads; a run of failed commits is counted for the service to see.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use chrono::Utc;
use tokio::sync::{Notify, watch};

use otklik_core::config::Config;
use otklik_core::decide::Disposition;

use crate::handler::{Intake, Origin};
use crate::mailbox::{self, Fetched, NotCommitted, Oversized};

/// What the IMAP watcher hands each message to: the [`Intake`], run off the async threads.
pub(super) struct IntakeSink {
    pub(super) intake: Arc<Intake>,
    pub(super) config: watch::Receiver<Arc<Config>>,
    pub(super) outbox_wake: Arc<Notify>,
    pub(super) timer_wake: Arc<Notify>,
    /// Messages in a row that could not be committed (a full disk).
    pub(super) failures: Arc<AtomicU32>,
}

impl mailbox::MessageSink for IntakeSink {
    async fn handle(&self, msg: Fetched) -> Result<Disposition, NotCommitted> {
        let config = self.config.borrow().clone();
        let intake = self.intake.clone();
        let uid = msg.uid;
        let origin = Origin {
            mailbox: config.imap.mailbox.clone(),
            uid_validity: msg.uid_validity,
            uid,
        };
        let result = tokio::task::spawn_blocking(move || {
            intake.handle_from(&config, &msg.raw, msg.arrival, Utc::now(), Some(&origin))
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
                Ok(handled.disposition)
            }
            Err(e) => {
                self.failures.fetch_add(1, Ordering::Relaxed);
                tracing::error!(uid, error = %e, "could not commit a message; it stays in the mailbox and is retried");
                Err(NotCommitted(e.to_string()))
            }
        }
    }

    async fn durable(&self) -> Result<(), NotCommitted> {
        let intake = self.intake.clone();
        let result = tokio::task::spawn_blocking(move || intake.durable())
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
        let intake = self.intake.clone();
        let (uid, size) = (msg.uid, msg.size);
        let result = tokio::task::spawn_blocking(move || {
            intake.oversized(&config, &msg.header, msg.size, Utc::now())
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
