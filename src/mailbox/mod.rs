//! The IMAP watcher: the shell that turns an intake mailbox into a sequence of handled
//! messages.
//!
//! One session at a time: connect (implicit TLS, STARTTLS, or plain on loopback), LOGIN,
//! make sure the processed/rejected mailboxes exist, SELECT the intake mailbox, then loop:
//! handle every (undeleted) message in UID order, one at a time — fetch, hand the bytes
//! to the [`MessageSink`] (which commits everything to the store and flushes), and only then
//! MOVE the message to `processed_mailbox` or `rejected_mailbox` — and wait for more with
//! IDLE (or by polling every `poll_seconds` where the server has no IDLE).
//!
//! Each message's RFC822.SIZE is read before its body: one over `max_message_size` is never
//! fetched whole. The handler gets its header ([`MessageSink::oversized`]) and it goes to the
//! rejected mailbox, so one huge attachment can neither exhaust memory nor block the intake.
//!
//! Without MOVE a message is COPYed, flagged `\Deleted` and expunged alone: by UID EXPUNGE
//! (UIDPLUS), else by EXPUNGE only while no one else's message is flagged `\Deleted` (see
//! `Watcher::move_message`): a message is never expunged that the watcher did not copy.
//!
//! Mailbox names are configured with `/` between levels and built in the server's personal
//! namespace ([`server_mailbox`]): its prefix (`INBOX.` on Courier and older Cyrus, where
//! nothing can live outside it) and its separator (`.`, `/`, `|` on Yandex), read from
//! NAMESPACE (RFC 2342) where the server has it, else the separator from `LIST "" ""`.
//!
//! Every message still in the intake mailbox is handed over on every scan, including the
//! whole backlog at first start: a message in the inbox is either new or was committed but
//! not moved (crash between the two); the handler deduplicates by Message-ID / source id,
//! so the watcher needs no state of its own and a UIDVALIDITY change needs no special case.
//!
//! async-imap has no timeouts of its own, so every network step runs under one here. IDLE
//! waits with a keepalive-aware timeout (the wait is renewed by each `* OK Still here`;
//! without one for [`IDLE_KEEPALIVE`] the connection is presumed dead, as chatmail/core
//! does) and is re-issued at least every [`IDLE_MAX`]; `DONE` is bounded too, since it is
//! known to hang on a half-dead connection. Any error drops the session; reconnection uses
//! jittered exponential backoff from [`BACKOFF_MIN`] to [`BACKOFF_MAX`], reset once a scan
//! succeeds.

mod fetch;
mod idle;
mod names;
mod session;
mod stream;
#[cfg(test)]
mod tests;
mod watcher;

use std::future::Future;
use std::io;
use std::time::Duration;

use chrono::{DateTime, Utc};

use otklik_core::decide::Disposition;

use crate::tls::TlsError;

pub use fetch::uid_set;
pub use names::{
    MailboxNames, Namespace, encode_mailbox_name, ensure_mailboxes, mailboxes_to_create, namespace,
    parent_mailboxes, parse_namespace, server_mailbox, server_mailbox_name,
};
pub use stream::{ImapSession, ImapStream, ServerCaps, capabilities, connect, prepare_tls};
pub use watcher::{WatchOptions, backoff_delay, watch, watch_with};

/// Connect, TLS handshake, greeting, LOGIN, SELECT, SEARCH, MOVE, NOOP, LOGOUT.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// Fetching one message (it may carry large attachments).
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(120);

/// IDLE is ended after this long without any server response (keepalives included).
pub const IDLE_KEEPALIVE: Duration = Duration::from_secs(5 * 60);

/// IDLE is re-issued at least this often (RFC 2177 asks for < 29 min).
pub const IDLE_MAX: Duration = Duration::from_secs(25 * 60);

/// `DONE` after IDLE; it can hang on a half-dead connection.
pub const DONE_TIMEOUT: Duration = Duration::from_secs(15);

/// The first wait before reconnecting.
pub const BACKOFF_MIN: Duration = Duration::from_secs(2);

/// The longest wait before reconnecting.
pub const BACKOFF_MAX: Duration = Duration::from_secs(80);

/// Messages handled per batch: their sizes in one FETCH, their effects made durable by one
/// flush, their moves in one UID MOVE per target mailbox.
pub const BATCH: usize = 64;
/// The most message bytes one FETCH brings (a larger message comes alone).
pub const BATCH_BYTES: u64 = 32 * 1024 * 1024;
/// Parse failures of one message's FETCH before it is handed over empty.
pub const FETCH_ATTEMPTS: u32 = 3;

/// How often the heartbeat is bumped while waiting (IDLE, poll, backoff).
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(10);

/// How much of an oversized message's header is fetched for [`MessageSink::oversized`].
pub const OVERSIZED_HEADER_MAX: u32 = 64 * 1024;

/// One message fetched from the intake mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// Its UID in the intake mailbox.
    pub uid: u32,
    /// The intake mailbox's UIDVALIDITY.
    pub uid_validity: u32,
    /// The whole message as stored on the server (`BODY[]`). Empty when the server's
    /// answer for this message could not be parsed [`FETCH_ATTEMPTS`] times in a row: the
    /// handler then rejects it, so one odd message cannot block the intake.
    pub raw: Vec<u8>,
    /// The server's INTERNALDATE (arrival), when it gave one.
    pub arrival: Option<DateTime<Utc>>,
}

/// A message larger than `imap.max_message_size` (by the server's RFC822.SIZE). It is never
/// fetched whole: the handler gets its header only, then it goes to the rejected mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Oversized {
    /// Its UID in the intake mailbox.
    pub uid: u32,
    /// The intake mailbox's UIDVALIDITY.
    pub uid_validity: u32,
    /// RFC822.SIZE, in bytes.
    pub size: u64,
    /// The message's header (`BODY.PEEK[HEADER]`), at most [`OVERSIZED_HEADER_MAX`] bytes;
    /// empty if the server sent none.
    pub header: Vec<u8>,
}

/// What the watcher is doing, for sd_notify STATUS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailboxState {
    /// Connecting and logging in.
    Connecting,
    /// Waiting in IDLE.
    Idle,
    /// Polling (the server has no IDLE).
    Polling,
    /// Handling fetched messages.
    Processing,
    /// Waiting before reconnecting.
    Backoff {
        /// The reconnection attempt.
        attempt: u32,
    },
}

impl std::fmt::Display for MailboxState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MailboxState::Connecting => f.write_str("imap: connecting"),
            MailboxState::Idle => f.write_str("imap: idle"),
            MailboxState::Polling => f.write_str("imap: polling"),
            MailboxState::Processing => f.write_str("imap: processing"),
            MailboxState::Backoff { attempt } => {
                write!(f, "imap: reconnecting (attempt {attempt})")
            }
        }
    }
}

/// The handler could not commit the message (e.g. disk full). The message stays in the
/// intake mailbox and is retried after a backoff; it is never moved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("handler failed: {0}")]
pub struct NotCommitted(pub String);

/// Handles messages: commits everything each implies to the store, then says where it goes;
/// [`MessageSink::durable`] makes a batch of such commits durable (one flush) before the watcher
/// moves the batch. Err = could not commit: the message stays in the inbox and is retried
/// later (after a backoff); never moved.
pub trait MessageSink: Send + Sync + 'static {
    /// Commits what the message implies; Ok says where it goes.
    fn handle(
        &self,
        msg: Fetched,
    ) -> impl Future<Output = Result<Disposition, NotCommitted>> + Send;

    /// Makes every commit of the handled messages durable (the store flushed). Called once
    /// per batch, before any of it is moved; Err: nothing of the batch is moved.
    fn durable(&self) -> impl Future<Output = Result<(), NotCommitted>> + Send;

    /// A message too large to fetch (see [`Oversized`]). Ok: it is moved to the rejected
    /// mailbox. Err: it stays in the intake mailbox and is retried later, as for `handle`.
    /// Called once per message while the service runs; after a restart, a message that was
    /// reported but not yet moved is reported again.
    fn oversized(&self, msg: Oversized) -> impl Future<Output = Result<(), NotCommitted>> + Send;
}

/// Why the IMAP watcher stopped a session.
#[derive(Debug, thiserror::Error)]
pub enum MailboxError {
    /// The TLS settings cannot be used.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// Plain IMAP to a host that is not loopback.
    #[error("imap: tls = \"none\" is allowed only for loopback hosts, not {0}")]
    InsecureHost(String),
    /// The host is no valid TLS server name.
    #[error("imap: invalid server name {0:?} for TLS")]
    ServerName(String),
    /// The server cannot be reached.
    #[error("imap: cannot connect to {host}:{port}: {source}")]
    Connect {
        /// The server's host.
        host: String,
        /// The server's port.
        port: u16,
        /// What the system reported.
        #[source]
        source: io::Error,
    },
    /// The TLS handshake failed.
    #[error("imap: TLS handshake with {host} failed: {source}")]
    Handshake {
        /// The server's host.
        host: String,
        /// What the TLS library reported.
        #[source]
        source: io::Error,
    },
    /// The server refused the connection.
    #[error("imap: server refused the connection: {0}")]
    Greeting(String),
    /// The server refused the login.
    #[error("imap: login as {user} failed: {message}")]
    Login {
        /// The login name.
        user: String,
        /// The server's answer.
        message: String,
    },
    /// A step took too long.
    #[error("imap: {step} timed out after {after:?}")]
    Timeout {
        /// The IMAP step.
        step: &'static str,
        /// How long it was given.
        after: Duration,
    },
    /// An IMAP command failed.
    #[error("imap: {step}: {source}")]
    Imap {
        /// The IMAP step.
        step: &'static str,
        /// What the IMAP library reported.
        #[source]
        source: async_imap::error::Error,
    },
    /// The server said something we cannot use.
    #[error("imap: {0}")]
    Protocol(String),
    /// A message could not be committed.
    #[error("imap: message {uid}: {source}")]
    Sink {
        /// Its UID.
        uid: u32,
        /// Why.
        #[source]
        source: NotCommitted,
    },
}

impl MailboxError {
    /// A configuration problem that no reconnect can fix: `watch` returns it.
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            MailboxError::Tls(_) | MailboxError::InsecureHost(_) | MailboxError::ServerName(_)
        )
    }
}

/// The keyword that marks a message we copied and flagged `\Deleted` ourselves (where the
/// mailbox takes keywords), so that it is known as ours after a restart too.
pub const MOVED_KEYWORD: &str = "$OtklikMoved";
