//! The service's two timers: the escalation (and digest) timer and the retention sweep.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{Notify, watch};

use otklik_core::auth::Secret;
use otklik_core::config::Config;

use super::now_secs;
use crate::escalation;
use crate::store::{Store, StoreError};

/// How often the bookkeeping older than `service.retention` is swept.
const SWEEP_EVERY: Duration = Duration::from_secs(24 * 3600);

/// Sleeps until the next due escalation step (or a wake-up), then fires what is due.
pub(super) async fn timer(
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
pub(super) async fn sweeper(
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
            let week = chrono::Duration::days(otklik_core::sender::CONFIRM_VALID_DAYS + 1);
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
