//! The durable outbox: the only way mail leaves (ARCHITECTURE.md). Messages are written by
//! the same transaction as the case change that caused them; this task sends them as they
//! are (same bytes, same Message-ID), marks them sent, retries transient failures with
//! backoff and parks permanent ones as dead letters.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{Notify, watch};

use crate::smtp::Smtp;
use crate::store::{OutMail, Store};

/// Backoff after the `attempts`-th transient failure: 5 s doubling up to 10 min.
pub fn backoff(attempts: u32) -> Duration {
    let secs = 5u64.saturating_mul(1u64 << attempts.min(8));
    Duration::from_secs(secs.min(600))
}

/// Sends what is due; returns how many were sent.
pub async fn drain(store: &Store, smtp: &Smtp) -> usize {
    let now = Utc::now();
    let pending: Vec<OutMail> = match store.outbox() {
        Ok(p) => p.into_iter().filter(|m| m.next_attempt <= now).collect(),
        Err(e) => {
            tracing::error!(error = %e, "outbox unreadable");
            return 0;
        }
    };
    let mut sent = 0;
    for mail in pending {
        match smtp.send(&mail.envelope_from, &mail.to, &mail.raw).await {
            Ok(()) => {
                let result = match store.outbox_sent(mail.seq, Utc::now()) {
                    Ok(()) => store.flush().await,
                    Err(e) => Err(e),
                };
                if let Err(e) = result {
                    tracing::error!(error = %e, seq = mail.seq, "sent, but could not record it");
                }
                tracing::info!(case = ?mail.case, to = ?mail.to, message_id = %mail.message_id, "mail sent");
                sent += 1;
            }
            Err(e) if e.is_permanent() => {
                tracing::error!(case = ?mail.case, to = ?mail.to, error = %e, "mail refused permanently; kept as a dead letter");
                if let Err(e) = store.outbox_failed(&mail, &e.to_string(), None) {
                    tracing::error!(error = %e, "could not record the failure");
                }
            }
            Err(e) => {
                let wait = backoff(mail.attempts);
                tracing::warn!(case = ?mail.case, error = %e, retry_in = ?wait, "mail not sent; will retry");
                let next = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
                if let Err(e) = store.outbox_failed(&mail, &e.to_string(), Some(next)) {
                    tracing::error!(error = %e, "could not record the failure");
                }
                // The server is likely down: stop this round, keep the order of the rest.
                break;
            }
        }
    }
    sent
}

/// Runs until shutdown: drains the outbox whenever woken or when a retry is due.
pub async fn run(
    store: Store,
    smtp: Arc<Smtp>,
    wake: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
    heartbeat: Arc<AtomicU64>,
) {
    loop {
        heartbeat.store(Utc::now().timestamp() as u64, Ordering::Relaxed);
        drain(&store, &smtp).await;
        let next = store
            .outbox()
            .ok()
            .and_then(|p| p.iter().map(|m| m.next_attempt).min())
            .map(|t| (t - Utc::now()).to_std().unwrap_or(Duration::ZERO))
            .unwrap_or(Duration::from_secs(30))
            .min(Duration::from_secs(30));
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(next) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            return;
        }
    }
}
