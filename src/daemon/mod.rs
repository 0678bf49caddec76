//! The service (`otklik run`): starts the tasks around the pure core, owns reload and
//! shutdown, talks to systemd. Tests start it in-process with [`run`].
//!
//! - [`Service`] (`service.rs`): start, serve, reload, stop; it owns what the tasks share.
//! - `sink.rs`: what the IMAP watcher hands each message to (the intake, off the async
//!   threads); `watcher.rs`: the watcher task, restarted when its settings change.
//! - `timers.rs`: the escalation and digest timer, the retention sweep.

mod service;
mod sink;
mod timers;
mod watcher;

use std::path::Path;
use std::sync::Arc;

use chrono::Utc;
use tokio::sync::{Notify, watch};

use otklik_core::auth::Secret;
use otklik_core::config::{Config, SecretCheck};

pub use service::Service;

use crate::config;
use crate::mailbox::MailboxState;
use crate::store::{Store, StoreError};
use crate::tls::TlsOptions;

/// Errors that stop the service from starting: the admin must act (exit status 1).
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The state directory cannot be made or used.
    #[error("state_dir {path}: {source}")]
    StateDir {
        /// The state directory.
        path: String,
        /// What the system reported.
        source: std::io::Error,
    },
    /// The reply secret cannot be read or made.
    #[error("secret {path}: {source}")]
    Secret {
        /// The secret's file.
        path: String,
        /// What the system reported.
        source: std::io::Error,
    },
    /// The reply secret is too short to be safe.
    #[error(
        "secret {path}: too short ({len} bytes); it must hold at least 32 random bytes (64 hex digits). Move it away and start again: a new one is made (mails sent before then can no longer be answered by reply; action codes change)"
    )]
    WeakSecret {
        /// The secret's file.
        path: String,
        /// Its length in bytes.
        len: usize,
    },
    /// The store cannot be opened (another service may hold it).
    #[error("{0} (is another otklik running with this state_dir?)")]
    Store(StoreError),
    /// The store is of a newer format than this version reads: nothing was written to it.
    #[error("{0}")]
    StoreFormat(StoreError),
    /// The SMTP settings cannot be used.
    #[error("smtp: {0}")]
    Smtp(#[from] crate::smtp::SmtpSetupError),
    /// The TLS settings cannot be used.
    #[error("tls: {0}")]
    Tls(#[from] crate::tls::TlsError),
    /// The control socket cannot be made.
    #[error("control socket {path}: {source}")]
    Socket {
        /// The socket's path.
        path: String,
        /// What the system reported.
        source: std::io::Error,
    },
    /// The archive of earlier answers cannot be read.
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
    /// The service could not start.
    #[error(transparent)]
    Start(#[from] StartError),
    /// The IMAP watcher gave up on an error no retry can mend (a wrong password, say).
    #[error("imap: {0}")]
    Intake(#[from] crate::mailbox::MailboxError),
    /// The store cannot be written.
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

/// The reply secret in `state_dir`, made on first start.
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
            let hex = hex::encode(bytes);
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

/// Runs the service until `controls.shutdown` turns true: [`Service::start`], then
/// [`Service::serve`], then [`Service::stop`].
pub async fn run(config: Config, controls: Controls) -> Result<(), RunError> {
    let mut service = Service::start(config).await?;
    let fatal = service.serve(controls).await;
    service.stop(fatal).await
}

fn reload_config(path: &Path) -> Result<Config, otklik_core::config::ConfigError> {
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
