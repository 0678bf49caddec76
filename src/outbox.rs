//! The durable outbox: the only way mail leaves. Messages are written by
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

/// The case a mail is about, for logs: `OTK-42`-style only where the case is known.
fn case_label(mail: &OutMail) -> String {
    match mail.case {
        Some(n) => format!("#{n}"),
        None => "-".into(),
    }
}

/// What one round of sending did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Round {
    /// How many were sent.
    Sent(usize),
    /// The store could not be read or made durable: nothing was sent; try again later.
    StoreFailed,
}

/// Mails the SMTP server accepted but whose "sent" mark could not be written yet (a full
/// disk): never sent again, their mark retried each round.
#[derive(Debug, Default)]
pub struct Unrecorded(std::collections::BTreeMap<u64, chrono::DateTime<Utc>>);

/// Sends what is due.
///
/// Only what is durable leaves: the store is flushed first, so a mail whose case change
/// could not be written to disk is never sent (a crash would lose the case after the mail
/// went out).
pub async fn drain(
    store: &Store,
    smtp: &Smtp,
    unrecorded: &mut Unrecorded,
    heartbeat: &AtomicU64,
) -> Round {
    if let Err(e) = store.flush().await {
        tracing::error!(error = %e, "the store cannot be made durable; holding the outbox");
        return Round::StoreFailed;
    }
    unrecorded
        .0
        .retain(|seq, at| match store.outbox_sent(*seq, *at) {
            Ok(()) => false,
            Err(e) => {
                tracing::error!(error = %e, seq, "still cannot record a sent mail");
                true
            }
        });
    let now = Utc::now();
    let pending: Vec<OutMail> = match store.outbox() {
        Ok(p) => p
            .into_iter()
            .filter(|m| m.next_attempt <= now && !unrecorded.0.contains_key(&m.seq))
            .collect(),
        Err(e) => {
            tracing::error!(error = %e, "outbox unreadable");
            return Round::StoreFailed;
        }
    };
    let mut sent = 0;
    for mail in pending {
        // A long drain is still a live loop for the watchdog.
        heartbeat.store(Utc::now().timestamp() as u64, Ordering::Relaxed);
        match smtp.send(&mail.envelope_from, &mail.to, &mail.raw).await {
            Ok(()) => {
                tracing::info!(case = %case_label(&mail), to = ?mail.to, message_id = %mail.message_id, "mail sent");
                sent += 1;
                let at = Utc::now();
                let result = match store.outbox_sent(mail.seq, at) {
                    Ok(()) => store.flush().await,
                    Err(e) => Err(e),
                };
                if let Err(e) = result {
                    tracing::error!(error = %e, seq = mail.seq, "sent, but could not record it; it will not be sent again");
                    unrecorded.0.insert(mail.seq, at);
                    return Round::StoreFailed;
                }
            }
            Err(e) if e.is_permanent() => {
                tracing::error!(case = %case_label(&mail), to = ?mail.to, error = %e, "mail refused permanently; kept as a dead letter");
                if let Err(e) = store.outbox_failed(&mail, &e.to_string(), None) {
                    tracing::error!(error = %e, "could not record the failure");
                    return Round::StoreFailed;
                }
            }
            Err(e) => {
                let wait = backoff(mail.attempts);
                tracing::warn!(case = %case_label(&mail), error = %e, retry_in = ?wait, "mail not sent; will retry");
                let next = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
                if let Err(e) = store.outbox_failed(&mail, &e.to_string(), Some(next)) {
                    tracing::error!(error = %e, "could not record the failure");
                    return Round::StoreFailed;
                }
                // The server is likely down: stop this round, keep the order of the rest.
                break;
            }
        }
    }
    Round::Sent(sent)
}

/// Runs until shutdown: drains the outbox whenever woken or when a retry is due. `smtp`
/// follows config reloads: each round uses the transport in force.
pub async fn run(
    store: Store,
    smtp: watch::Receiver<Arc<Smtp>>,
    wake: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
    heartbeat: Arc<AtomicU64>,
) {
    let mut unrecorded = Unrecorded::default();
    let mut store_failures = 0u32;
    loop {
        heartbeat.store(Utc::now().timestamp() as u64, Ordering::Relaxed);
        let transport = smtp.borrow().clone();
        let next = match drain(&store, &transport, &mut unrecorded, &heartbeat).await {
            Round::StoreFailed => {
                store_failures += 1;
                backoff(store_failures.saturating_sub(1))
            }
            Round::Sent(_) => {
                store_failures = 0;
                store
                    .outbox()
                    .ok()
                    .and_then(|p| {
                        p.iter()
                            .filter(|m| !unrecorded.0.contains_key(&m.seq))
                            .map(|m| m.next_attempt)
                            .min()
                    })
                    .map(|t| (t - Utc::now()).to_std().unwrap_or(Duration::ZERO))
                    .unwrap_or(Duration::from_secs(30))
                    .min(Duration::from_secs(30))
            }
        };
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
