//! SIGTERM/SIGINT → shutdown, SIGHUP → reload.

use std::sync::Arc;

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{Notify, watch};

/// Installs the handlers; must be called inside the runtime.
pub fn spawn(stop: watch::Sender<bool>, reload: Arc<Notify>) {
    tokio::spawn(async move {
        let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
            signal(SignalKind::hangup()),
        ) else {
            tracing::error!("cannot install signal handlers");
            return;
        };
        loop {
            tokio::select! {
                _ = term.recv() => { tracing::info!("SIGTERM: stopping"); stop.send_replace(true); }
                _ = int.recv() => { tracing::info!("SIGINT: stopping"); stop.send_replace(true); }
                _ = hup.recv() => { tracing::info!("SIGHUP: reloading the config"); reload.notify_one(); }
            }
        }
    });
}
