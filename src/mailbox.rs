//! The IMAP watcher: the shell that turns an intake mailbox into a sequence of handled
//! messages.
//!
//! One session at a time: connect (implicit TLS, STARTTLS, or plain on loopback), LOGIN,
//! make sure the processed/rejected mailboxes exist, SELECT the intake mailbox, then loop:
//! handle every (undeleted) message in UID order, one at a time — fetch, hand the bytes
//! to the [`Handler`] (which commits everything to the store and flushes), and only then
//! MOVE the message to `processed_mailbox` or `rejected_mailbox` — and wait for more with
//! IDLE (or by polling every `poll_seconds` where the server has no IDLE).
//!
//! Each message's RFC822.SIZE is read before its body: one over `max_message_size` is never
//! fetched whole. The handler gets its header ([`Handler::oversized`]) and it goes to the
//! rejected mailbox, so one huge attachment can neither exhaust memory nor block the intake.
//!
//! Without MOVE a message is COPYed, flagged `\Deleted` and expunged alone: by UID EXPUNGE
//! (UIDPLUS), else by EXPUNGE only while no one else's message is flagged `\Deleted` (see
//! `SessionCtx::move_message`): a message is never expunged that the watcher did not copy.
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

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_imap::extensions::idle::IdleResponse;
use async_imap::types::UnsolicitedResponse;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::{Instant, timeout};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::ClientConfig;
use tokio_rustls::rustls::pki_types::ServerName;

use crate::config::{ImapConfig, TlsMode};
use crate::tls::{TlsError, TlsOptions};

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
pub const BACKOFF_MIN: Duration = Duration::from_secs(2);
pub const BACKOFF_MAX: Duration = Duration::from_secs(80);
/// Parse failures of one message's FETCH before it is handed over empty.
pub const FETCH_ATTEMPTS: u32 = 3;
/// How often the heartbeat is bumped while waiting (IDLE, poll, backoff).
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(10);
/// How much of an oversized message's header is fetched for [`Handler::oversized`].
pub const OVERSIZED_HEADER_MAX: u32 = 64 * 1024;

/// One message fetched from the intake mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub uid: u32,
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
    pub uid: u32,
    pub uid_validity: u32,
    /// RFC822.SIZE, in bytes.
    pub size: u64,
    /// The message's header (`BODY.PEEK[HEADER]`), at most [`OVERSIZED_HEADER_MAX`] bytes;
    /// empty if the server sent none.
    pub header: Vec<u8>,
}

/// Where a handled message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    Processed,
    Rejected,
}

/// What the watcher is doing, for sd_notify STATUS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailboxState {
    Connecting,
    Idle,
    Polling,
    Processing,
    Backoff { attempt: u32 },
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

/// Handles one message: commits everything it implies to the store (flushed), then says
/// where the message goes. Err = could not commit: the message stays in the inbox and is
/// retried later (after a backoff); never moved.
pub trait Handler: Send + Sync + 'static {
    fn handle(
        &self,
        msg: Fetched,
    ) -> impl Future<Output = Result<Disposition, NotCommitted>> + Send;

    /// A message too large to fetch (see [`Oversized`]). Ok: it is moved to the rejected
    /// mailbox. Err: it stays in the intake mailbox and is retried later, as for `handle`.
    /// Called once per message while the service runs; after a restart, a message that was
    /// reported but not yet moved is reported again.
    fn oversized(&self, msg: Oversized) -> impl Future<Output = Result<(), NotCommitted>> + Send;
}

#[derive(Debug, thiserror::Error)]
pub enum MailboxError {
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("imap: tls = \"none\" is allowed only for loopback hosts, not {0}")]
    InsecureHost(String),
    #[error("imap: invalid server name {0:?} for TLS")]
    ServerName(String),
    #[error("imap: cannot connect to {host}:{port}: {source}")]
    Connect {
        host: String,
        port: u16,
        #[source]
        source: io::Error,
    },
    #[error("imap: TLS handshake with {host} failed: {source}")]
    Handshake {
        host: String,
        #[source]
        source: io::Error,
    },
    #[error("imap: server refused the connection: {0}")]
    Greeting(String),
    #[error("imap: login as {user} failed: {message}")]
    Login { user: String, message: String },
    #[error("imap: {step} timed out after {after:?}")]
    Timeout { step: &'static str, after: Duration },
    #[error("imap: {step}: {source}")]
    Imap {
        step: &'static str,
        #[source]
        source: async_imap::error::Error,
    },
    #[error("imap: {0}")]
    Protocol(String),
    #[error("imap: message {uid}: {source}")]
    Handler {
        uid: u32,
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

/// The byte stream under an IMAP session: plain TCP (loopback or before STARTTLS) or TLS.
#[derive(Debug)]
pub enum ImapStream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for ImapStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ImapStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            ImapStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ImapStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ImapStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            ImapStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ImapStream::Plain(s) => Pin::new(s).poll_flush(cx),
            ImapStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ImapStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            ImapStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

pub type ImapSession = async_imap::Session<ImapStream>;

/// The server-side names of the mailboxes the watcher uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxNames {
    pub intake: String,
    pub processed: String,
    pub rejected: String,
    /// Where they were built.
    pub namespace: Namespace,
}

/// The server's personal namespace (RFC 2342): where the account's own mailboxes live.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Namespace {
    /// What every mailbox name but INBOX starts with, as the server spells it: `""` on most
    /// servers, `INBOX.` on Courier and older Cyrus.
    pub prefix: String,
    /// The hierarchy separator: `.`, `/`, `|` (Yandex)…; None: a flat namespace.
    pub separator: Option<String>,
}

/// What the server can do, read once per session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerCaps {
    pub idle: bool,
    pub move_: bool,
    pub uidplus: bool,
    pub namespace: bool,
}

async fn step<T, F>(name: &'static str, after: Duration, fut: F) -> Result<T, MailboxError>
where
    F: Future<Output = Result<T, async_imap::error::Error>>,
{
    match timeout(after, fut).await {
        Err(_) => Err(MailboxError::Timeout { step: name, after }),
        Ok(Err(source)) => Err(MailboxError::Imap { step: name, source }),
        Ok(Ok(v)) => Ok(v),
    }
}

fn is_loopback_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The TLS config the watcher needs for `cfg.tls` (None for plain connections).
/// Fails for configuration errors (bad CA file, plain IMAP to a non-loopback host).
pub fn prepare_tls(
    cfg: &ImapConfig,
    tls: &TlsOptions,
) -> Result<Option<Arc<ClientConfig>>, MailboxError> {
    match cfg.tls {
        TlsMode::None => {
            if is_loopback_host(&cfg.host) {
                Ok(None)
            } else {
                Err(MailboxError::InsecureHost(cfg.host.clone()))
            }
        }
        TlsMode::Implicit | TlsMode::Starttls => Ok(Some(crate::tls::client_config(tls)?)),
    }
}

async fn tls_handshake(
    host: &str,
    tcp: TcpStream,
    config: Arc<ClientConfig>,
) -> Result<ImapStream, MailboxError> {
    let name = ServerName::try_from(host.to_string())
        .map_err(|_| MailboxError::ServerName(host.to_string()))?;
    let connector = TlsConnector::from(config);
    match timeout(STEP_TIMEOUT, connector.connect(name, tcp)).await {
        Err(_) => Err(MailboxError::Timeout {
            step: "TLS handshake",
            after: STEP_TIMEOUT,
        }),
        Ok(Err(source)) => Err(MailboxError::Handshake {
            host: host.to_string(),
            source,
        }),
        Ok(Ok(s)) => Ok(ImapStream::Tls(Box::new(s))),
    }
}

async fn read_greeting(client: &mut async_imap::Client<ImapStream>) -> Result<(), MailboxError> {
    match timeout(STEP_TIMEOUT, client.read_response()).await {
        Err(_) => Err(MailboxError::Timeout {
            step: "greeting",
            after: STEP_TIMEOUT,
        }),
        Ok(Err(e)) => Err(MailboxError::Greeting(e.to_string())),
        Ok(Ok(None)) => Err(MailboxError::Greeting("connection closed".into())),
        Ok(Ok(Some(resp))) => {
            use async_imap::imap_proto::{Response, Status};
            match resp.parsed() {
                Response::Data {
                    status: Status::Ok | Status::PreAuth,
                    ..
                } => Ok(()),
                other => Err(MailboxError::Greeting(format!("{other:?}"))),
            }
        }
    }
}

/// Connects and logs in (no SELECT). `tls_config` comes from [`prepare_tls`].
pub async fn connect(
    cfg: &ImapConfig,
    tls_config: Option<Arc<ClientConfig>>,
) -> Result<ImapSession, MailboxError> {
    let tcp = match timeout(
        STEP_TIMEOUT,
        TcpStream::connect((cfg.host.as_str(), cfg.port)),
    )
    .await
    {
        Err(_) => {
            return Err(MailboxError::Timeout {
                step: "connect",
                after: STEP_TIMEOUT,
            });
        }
        Ok(Err(source)) => {
            return Err(MailboxError::Connect {
                host: cfg.host.clone(),
                port: cfg.port,
                source,
            });
        }
        Ok(Ok(tcp)) => tcp,
    };
    if cfg.tls == TlsMode::None {
        // Belt and braces: the name was loopback, the address must be too.
        let peer: Option<SocketAddr> = tcp.peer_addr().ok();
        if peer.is_some_and(|p| !p.ip().is_loopback()) {
            return Err(MailboxError::InsecureHost(cfg.host.clone()));
        }
    }
    tcp.set_nodelay(true).ok();
    let client = match (cfg.tls, tls_config) {
        (TlsMode::Implicit, Some(config)) => {
            let stream = tls_handshake(&cfg.host, tcp, config).await?;
            let mut client = async_imap::Client::new(stream);
            read_greeting(&mut client).await?;
            client
        }
        (TlsMode::Starttls, Some(config)) => {
            let mut client = async_imap::Client::new(ImapStream::Plain(tcp));
            read_greeting(&mut client).await?;
            step(
                "STARTTLS",
                STEP_TIMEOUT,
                client.run_command_and_check_ok("STARTTLS", None),
            )
            .await?;
            let ImapStream::Plain(tcp) = client.into_inner() else {
                return Err(MailboxError::Protocol("STARTTLS on a TLS stream".into()));
            };
            async_imap::Client::new(tls_handshake(&cfg.host, tcp, config).await?)
        }
        (TlsMode::None, _) => {
            let mut client = async_imap::Client::new(ImapStream::Plain(tcp));
            read_greeting(&mut client).await?;
            client
        }
        (_, None) => {
            return Err(MailboxError::Protocol(
                "TLS requested but no TLS configuration given".into(),
            ));
        }
    };
    match timeout(STEP_TIMEOUT, client.login(&cfg.username, &cfg.password.0)).await {
        Err(_) => Err(MailboxError::Timeout {
            step: "LOGIN",
            after: STEP_TIMEOUT,
        }),
        Ok(Err((e, _client))) => Err(MailboxError::Login {
            user: cfg.username.clone(),
            message: e.to_string(),
        }),
        Ok(Ok(session)) => Ok(session),
    }
}

/// Reads CAPABILITY.
pub async fn capabilities(session: &mut ImapSession) -> Result<ServerCaps, MailboxError> {
    let caps = step("CAPABILITY", STEP_TIMEOUT, session.capabilities()).await?;
    Ok(ServerCaps {
        idle: caps.has_str("IDLE"),
        move_: caps.has_str("MOVE"),
        uidplus: caps.has_str("UIDPLUS"),
        namespace: caps.has_str("NAMESPACE"),
    })
}

/// `processed/sub` with `/` replaced by the server's separator (`.` for Dovecot's Maildir).
/// Without a separator (flat namespace) the name is kept as written.
pub fn server_mailbox_name(name: &str, separator: Option<&str>) -> String {
    match separator {
        Some(sep) if !sep.is_empty() && sep != "/" => name.split('/').collect::<Vec<_>>().join(sep),
        _ => name.to_string(),
    }
}

/// A mailbox name in IMAP's modified UTF-7 (RFC 3501 §5.1.3), as servers without
/// UTF8=ACCEPT expect it: `otklik/обработано` → `otklik/&BD4EMQRABDAEMQQ+BEIEMAQ9BD4-`.
pub fn encode_mailbox_name(name: &str) -> String {
    const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";
    fn flush(units: &mut Vec<u16>, out: &mut String) {
        if units.is_empty() {
            return;
        }
        let bytes: Vec<u8> = units.iter().flat_map(|u| u.to_be_bytes()).collect();
        out.push('&');
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                chunk.get(1).copied().unwrap_or(0),
                chunk.get(2).copied().unwrap_or(0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            let chars = chunk.len() + 1; // 1 byte → 2 chars, 2 → 3, 3 → 4; no padding
            for i in 0..chars {
                out.push(char::from(B64[((n >> (18 - 6 * i)) & 0x3f) as usize]));
            }
        }
        out.push('-');
        units.clear();
    }
    let mut out = String::with_capacity(name.len());
    let mut pending: Vec<u16> = Vec::new();
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut pending, &mut out);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut buf = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush(&mut pending, &mut out);
    out
}

/// A configured mailbox name (`/` between levels) as the server calls it in `ns`: levels
/// joined with its separator, modified UTF-7, under its personal prefix. A name that already
/// starts with the prefix (`INBOX/otklik/processed` on Courier) and INBOX itself are not
/// prefixed again. `otklik/processed` → `otklik.processed` (Dovecot), `INBOX.otklik.processed`
/// (Courier), `otklik|processed` (Yandex).
pub fn server_mailbox(configured: &str, ns: &Namespace) -> String {
    if configured.eq_ignore_ascii_case("INBOX") {
        return "INBOX".to_string();
    }
    let name = encode_mailbox_name(&server_mailbox_name(configured, ns.separator.as_deref()));
    let prefix = ns.prefix.as_str();
    match name.get(..prefix.len()) {
        _ if prefix.is_empty() => name,
        Some(head) if head == prefix => name,
        // INBOX is case-insensitive (RFC 3501 §5.1): `inbox.x` under `INBOX.`
        Some(head)
            if head.eq_ignore_ascii_case(prefix)
                && prefix
                    .get(..5)
                    .is_some_and(|p| p.eq_ignore_ascii_case("INBOX")) =>
        {
            format!("{prefix}{}", &name[prefix.len()..])
        }
        _ => format!("{prefix}{name}"),
    }
}

/// The mailboxes to create for `name` (from [`server_mailbox`]), outermost first, itself
/// last: its parents below the namespace prefix (`INBOX.a.b` under `INBOX.`: `INBOX.a`,
/// `INBOX.a.b`; the prefix is the server's, never created).
pub fn mailboxes_to_create(name: &str, ns: &Namespace) -> Vec<String> {
    let mut all: Vec<String> = parent_mailboxes(name, ns.separator.as_deref())
        .into_iter()
        .filter(|p| p.len() > ns.prefix.len())
        .collect();
    all.push(name.to_string());
    all
}

/// The parents of a hierarchical name, outermost first: `a.b.c` → `a`, `a.b`.
pub fn parent_mailboxes(name: &str, separator: Option<&str>) -> Vec<String> {
    let Some(sep) = separator.filter(|s| !s.is_empty()) else {
        return Vec::new();
    };
    let parts: Vec<&str> = name.split(sep).collect();
    (1..parts.len())
        .map(|n| parts[..n].join(sep))
        .filter(|p| !p.is_empty())
        .collect()
}

/// Reads the personal namespace: from NAMESPACE where the server has it, else only the
/// separator, from `LIST "" ""` (RFC 3501 §6.3.8), with no prefix.
pub async fn namespace(
    session: &mut ImapSession,
    caps: ServerCaps,
) -> Result<Namespace, MailboxError> {
    if caps.namespace {
        if let Some(ns) = read_namespace(session).await? {
            return Ok(ns);
        }
        tracing::warn!("imap: no usable NAMESPACE answer; taking the separator from LIST");
    }
    let names: Vec<_> = step("LIST separator", STEP_TIMEOUT, async {
        session
            .list(Some(""), Some("\"\""))
            .await?
            .try_collect::<Vec<_>>()
            .await
    })
    .await?;
    Ok(Namespace {
        prefix: String::new(),
        separator: names.iter().find_map(|n| n.delimiter().map(str::to_string)),
    })
}

/// The tag of our NAMESPACE command; async-imap's own tags are `A` and a number.
const NAMESPACE_TAG: &str = "otklikns";
/// Bound on the NAMESPACE exchange (a real one is a few hundred bytes).
const NAMESPACE_MAX: usize = 64 * 1024;

/// `NAMESPACE` (RFC 2342), exchanged on the raw stream: imap-proto, async-imap's parser,
/// has no grammar for the `* NAMESPACE` answer, and an answer it cannot parse stays stuck in
/// its buffer for good. This runs right after LOGIN/CAPABILITY (nothing is selected, so
/// nothing unsolicited is due), reads byte by byte up to and including our tagged line, and
/// so leaves the stream exactly where async-imap expects it. None: the server refused it,
/// or its personal namespace could not be read.
async fn read_namespace(session: &mut ImapSession) -> Result<Option<Namespace>, MailboxError> {
    use tokio::io::AsyncWriteExt;
    let io_err = |e: io::Error| MailboxError::Imap {
        step: "NAMESPACE",
        source: async_imap::error::Error::Io(e),
    };
    let exchange = async {
        let stream = session.get_mut();
        stream
            .write_all(format!("{NAMESPACE_TAG} NAMESPACE\r\n").as_bytes())
            .await
            .map_err(io_err)?;
        stream.flush().await.map_err(io_err)?;
        let mut budget = NAMESPACE_MAX;
        let mut found = None;
        loop {
            let line = read_line(stream, &mut budget).await.map_err(io_err)?;
            if let Some(rest) =
                strip_prefix_ci(&line, NAMESPACE_TAG.as_bytes()).and_then(|r| r.strip_prefix(b" "))
            {
                let ok = strip_prefix_ci(rest, b"OK").is_some();
                if !ok {
                    tracing::debug!(answer = %String::from_utf8_lossy(rest).trim_end(), "imap: NAMESPACE refused");
                }
                return Ok(if ok { found } else { None });
            }
            if let Some(rest) = strip_prefix_ci(&line, b"* NAMESPACE ") {
                found = parse_namespace(rest);
            }
        }
    };
    match timeout(STEP_TIMEOUT, exchange).await {
        Err(_) => Err(MailboxError::Timeout {
            step: "NAMESPACE",
            after: STEP_TIMEOUT,
        }),
        Ok(r) => r,
    }
}

fn strip_prefix_ci<'a>(s: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    s.get(..prefix.len())
        .filter(|head| head.eq_ignore_ascii_case(prefix))
        .map(|_| &s[prefix.len()..])
}

/// One server response line with its literals (`{n}` CRLF and n bytes) inlined, CRLF
/// included; never reads past it. Fails past `budget` bytes in all.
async fn read_line<R: AsyncRead + Unpin>(
    stream: &mut R,
    budget: &mut usize,
) -> io::Result<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let mut line = Vec::new();
    loop {
        if *budget == 0 {
            return Err(io::Error::other("NAMESPACE answer too long"));
        }
        let byte = stream.read_u8().await?;
        *budget -= 1;
        line.push(byte);
        if !line.ends_with(b"\r\n") {
            continue;
        }
        let Some(n) = literal_len(&line[..line.len() - 2]) else {
            return Ok(line);
        };
        if n > *budget {
            return Err(io::Error::other("NAMESPACE answer too long"));
        }
        let start = line.len();
        line.resize(start + n, 0);
        stream.read_exact(&mut line[start..]).await?;
        *budget -= n;
    }
}

/// `n` if `text` ends with a literal's announcement `{n}` (or `{n+}`).
fn literal_len(text: &[u8]) -> Option<usize> {
    let body = text.strip_suffix(b"}")?;
    let open = body.iter().rposition(|&b| b == b'{')?;
    let digits = &body[open + 1..];
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// An IMAP value as far as NAMESPACE needs it.
#[derive(Debug, PartialEq)]
enum Value {
    Nil,
    /// Quoted or literal.
    Str(Vec<u8>),
    Atom,
    List(Vec<Value>),
}

/// The personal namespace from the text after `* NAMESPACE ` (literals inlined): the first
/// of `(("prefix" "sep") …)`. None when there is none or it cannot be read.
pub fn parse_namespace(text: &[u8]) -> Option<Namespace> {
    let mut pos = 0;
    let Value::List(personal) = parse_value(text, &mut pos, 0)? else {
        return None; // NIL: no personal namespace
    };
    let Some(Value::List(first)) = personal.first() else {
        return None;
    };
    let prefix = match first.first()? {
        Value::Str(p) => String::from_utf8(p.clone()).ok()?,
        _ => return None,
    };
    let separator = match first.get(1)? {
        Value::Nil => None,
        Value::Str(s) => Some(String::from_utf8(s.clone()).ok()?).filter(|s| !s.is_empty()),
        Value::Atom | Value::List(_) => return None,
    };
    Some(Namespace { prefix, separator })
}

fn parse_value(text: &[u8], pos: &mut usize, depth: u32) -> Option<Value> {
    // Namespace answers nest three deep (with extension values, four).
    if depth > 8 {
        return None;
    }
    while text.get(*pos) == Some(&b' ') {
        *pos += 1;
    }
    match *text.get(*pos)? {
        b'(' => {
            *pos += 1;
            let mut items = Vec::new();
            loop {
                while text.get(*pos) == Some(&b' ') {
                    *pos += 1;
                }
                if *text.get(*pos)? == b')' {
                    *pos += 1;
                    return Some(Value::List(items));
                }
                items.push(parse_value(text, pos, depth + 1)?);
            }
        }
        b'"' => {
            *pos += 1;
            let mut out = Vec::new();
            loop {
                match *text.get(*pos)? {
                    b'"' => {
                        *pos += 1;
                        return Some(Value::Str(out));
                    }
                    b'\\' => {
                        out.push(*text.get(*pos + 1)?);
                        *pos += 2;
                    }
                    b'\r' | b'\n' => return None,
                    b => {
                        out.push(b);
                        *pos += 1;
                    }
                }
            }
        }
        b'{' => {
            let close = *pos + text[*pos..].iter().position(|&b| b == b'}')?;
            let n = literal_len(&text[*pos..=close])?;
            let start = close + 1 + 2; // after "}\r\n"
            if text.get(close + 1..start)? != b"\r\n" {
                return None;
            }
            let data = text.get(start..start.checked_add(n)?)?.to_vec();
            *pos = start + n;
            Some(Value::Str(data))
        }
        _ => {
            let end = text[*pos..]
                .iter()
                .position(|&b| matches!(b, b' ' | b'(' | b')' | b'\r' | b'\n'))
                .map_or(text.len(), |i| *pos + i);
            let atom = &text[*pos..end];
            *pos = end;
            if atom.eq_ignore_ascii_case(b"NIL") {
                Some(Value::Nil)
            } else if atom.is_empty() {
                None
            } else {
                Some(Value::Atom)
            }
        }
    }
}

/// Reads the namespace, maps the configured names to the server's ([`server_mailbox`]),
/// and creates `processed_mailbox` and `rejected_mailbox` (and their parents below the
/// namespace prefix) if missing.
pub async fn ensure_mailboxes(
    session: &mut ImapSession,
    cfg: &ImapConfig,
    caps: ServerCaps,
) -> Result<MailboxNames, MailboxError> {
    let ns = namespace(session, caps).await?;
    let existing: HashSet<String> = step("LIST", STEP_TIMEOUT, async {
        session
            .list(Some(""), Some("*"))
            .await?
            .try_collect::<Vec<_>>()
            .await
    })
    .await?
    .iter()
    .map(|n| n.name().to_string())
    .collect();
    let names = MailboxNames {
        intake: server_mailbox(&cfg.mailbox, &ns),
        processed: server_mailbox(&cfg.processed_mailbox, &ns),
        rejected: server_mailbox(&cfg.rejected_mailbox, &ns),
        namespace: ns,
    };
    tracing::info!(
        intake = %names.intake,
        processed = %names.processed,
        rejected = %names.rejected,
        "imap: mailbox names on this server"
    );
    let mut created: HashSet<String> = HashSet::new();
    for target in [&names.processed, &names.rejected] {
        for mbox in mailboxes_to_create(target, &names.namespace) {
            if existing.contains(&mbox) || created.contains(&mbox) {
                continue;
            }
            match timeout(STEP_TIMEOUT, session.create(&mbox)).await {
                Err(_) => {
                    return Err(MailboxError::Timeout {
                        step: "CREATE",
                        after: STEP_TIMEOUT,
                    });
                }
                // Someone else created it meanwhile (or the server made the parent
                // implicitly): fine.
                Ok(Err(async_imap::error::Error::No(msg)))
                    if msg.to_ascii_uppercase().contains("ALREADYEXISTS")
                        || msg.to_ascii_lowercase().contains("already exists") => {}
                Ok(Err(source)) => {
                    return Err(MailboxError::Imap {
                        step: "CREATE",
                        source,
                    });
                }
                Ok(Ok(())) => tracing::info!(mailbox = %mbox, "imap: created mailbox"),
            }
            created.insert(mbox);
        }
    }
    Ok(names)
}

fn is_new_mail(resp: &UnsolicitedResponse) -> bool {
    matches!(
        resp,
        UnsolicitedResponse::Exists(_) | UnsolicitedResponse::Recent(_)
    )
}

fn no_session() -> MailboxError {
    MailboxError::Protocol("session lost".into())
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn beat(heartbeat: &AtomicU64) {
    heartbeat.store(unix_now(), Ordering::Relaxed);
}

/// The backoff before reconnect attempt `attempt` (1-based): 2 s doubling to 80 s,
/// scaled by `jitter` (expected in 0.8..1.2) and clamped to [2 s, 80 s].
pub fn backoff_delay(attempt: u32, jitter: f64) -> Duration {
    let exp = attempt.saturating_sub(1).min(16);
    let base = BACKOFF_MIN.as_secs_f64() * f64::from(1u32 << exp);
    let capped = base.min(BACKOFF_MAX.as_secs_f64());
    let jittered = capped * jitter.clamp(0.5, 1.5);
    Duration::from_secs_f64(jittered.clamp(BACKOFF_MIN.as_secs_f64(), BACKOFF_MAX.as_secs_f64()))
}

fn jitter() -> f64 {
    use rand::Rng;
    rand::rng().random_range(0.8..1.2)
}

/// True once shutdown was requested (or its sender is gone).
fn shutdown_requested(rx: &watch::Receiver<bool>) -> bool {
    *rx.borrow() || rx.has_changed().is_err()
}

/// Resolves when shutdown is requested (or the sender is dropped).
async fn wait_shutdown(rx: &mut watch::Receiver<bool>) {
    loop {
        if *rx.borrow_and_update() {
            return;
        }
        if rx.changed().await.is_err() {
            return;
        }
    }
}

/// Sleeps `dur`, bumping the heartbeat; true if shutdown came first.
async fn sleep_or_shutdown(
    dur: Duration,
    shutdown: &mut watch::Receiver<bool>,
    heartbeat: &AtomicU64,
) -> bool {
    let deadline = Instant::now() + dur;
    let stop = wait_shutdown(shutdown);
    tokio::pin!(stop);
    let mut tick = tokio::time::interval(HEARTBEAT_EVERY);
    loop {
        tokio::select! {
            _ = &mut stop => return true,
            _ = tokio::time::sleep_until(deadline) => return false,
            _ = tick.tick() => beat(heartbeat),
        }
    }
}

/// Which server extensions the watcher may use (all it finds, by default). Turning one
/// off exercises the fallback — polling instead of IDLE, COPY + EXPUNGE instead of MOVE
/// — against a server that has the extension, and works around a server whose
/// implementation is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchOptions {
    pub use_idle: bool,
    pub use_move: bool,
    pub use_uidplus: bool,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            use_idle: true,
            use_move: true,
            use_uidplus: true,
        }
    }
}

impl WatchOptions {
    fn mask(&self, caps: ServerCaps) -> ServerCaps {
        ServerCaps {
            idle: caps.idle && self.use_idle,
            move_: caps.move_ && self.use_move,
            uidplus: caps.uidplus && self.use_uidplus,
            namespace: caps.namespace,
        }
    }
}

/// Watches the intake mailbox until shutdown. Returns Ok on shutdown; Err only for
/// configuration errors no reconnect can fix (bad CA file, plain IMAP to a remote host).
/// Login failures are retried with backoff and logged as errors.
pub async fn watch<H: Handler>(
    cfg: ImapConfig,
    tls: TlsOptions,
    handler: Arc<H>,
    shutdown: watch::Receiver<bool>,
    state: watch::Sender<MailboxState>,
    heartbeat: Arc<AtomicU64>,
) -> Result<(), MailboxError> {
    watch_with(
        cfg,
        tls,
        WatchOptions::default(),
        handler,
        shutdown,
        state,
        heartbeat,
    )
    .await
}

/// [`watch`] with explicit [`WatchOptions`].
pub async fn watch_with<H: Handler>(
    cfg: ImapConfig,
    tls: TlsOptions,
    options: WatchOptions,
    handler: Arc<H>,
    mut shutdown: watch::Receiver<bool>,
    state: watch::Sender<MailboxState>,
    heartbeat: Arc<AtomicU64>,
) -> Result<(), MailboxError> {
    let tls_config = prepare_tls(&cfg, &tls)?;
    let mut attempt: u32 = 0;
    let mut last_validity: Option<u32> = None;
    let mut fetch_failures: HashMap<(u32, u32), u32> = HashMap::new();
    let mut reported_oversized: HashSet<(u32, u32)> = HashSet::new();
    let mut unexpunged: HashSet<(u32, u32)> = HashSet::new();
    loop {
        beat(&heartbeat);
        if shutdown_requested(&shutdown) {
            return Ok(());
        }
        state.send_replace(MailboxState::Connecting);
        let mut ctx = SessionCtx {
            cfg: &cfg,
            options,
            handler: handler.as_ref(),
            shutdown: &mut shutdown,
            state: &state,
            heartbeat: &heartbeat,
            attempt: &mut attempt,
            last_validity: &mut last_validity,
            fetch_failures: &mut fetch_failures,
            reported_oversized: &mut reported_oversized,
            unexpunged: &mut unexpunged,
            keywords: false,
        };
        let result = ctx.run(tls_config.clone()).await;
        match result {
            Ok(()) => return Ok(()),
            Err(e) if e.is_permanent() => {
                tracing::error!(error = %e, "imap: giving up");
                return Err(e);
            }
            Err(e) => {
                attempt = attempt.saturating_add(1);
                let delay = backoff_delay(attempt, jitter());
                match &e {
                    MailboxError::Login { .. } | MailboxError::Handshake { .. } => {
                        tracing::error!(error = %e, attempt, retry_in = ?delay, "imap: cannot log in")
                    }
                    _ => {
                        tracing::warn!(error = %e, attempt, retry_in = ?delay, "imap: session failed")
                    }
                }
                state.send_replace(MailboxState::Backoff { attempt });
                if sleep_or_shutdown(delay, &mut shutdown, &heartbeat).await {
                    return Ok(());
                }
            }
        }
    }
}

struct SessionCtx<'a, H> {
    cfg: &'a ImapConfig,
    options: WatchOptions,
    handler: &'a H,
    shutdown: &'a mut watch::Receiver<bool>,
    state: &'a watch::Sender<MailboxState>,
    heartbeat: &'a AtomicU64,
    attempt: &'a mut u32,
    last_validity: &'a mut Option<u32>,
    /// (UIDVALIDITY, UID) → FETCH responses that could not be parsed, in a row.
    fetch_failures: &'a mut HashMap<(u32, u32), u32>,
    /// (UIDVALIDITY, UID) of oversized messages the handler was told about, not yet moved.
    reported_oversized: &'a mut HashSet<(u32, u32)>,
    /// (UIDVALIDITY, UID) we copied and flagged \Deleted but did not expunge (no UIDPLUS,
    /// and others' \Deleted messages were there).
    unexpunged: &'a mut HashSet<(u32, u32)>,
    /// The selected mailbox takes new keywords (PERMANENTFLAGS has `\*`).
    keywords: bool,
}

enum Wake {
    /// Something may have changed: scan again.
    Rescan,
    Shutdown,
}

impl<H: Handler> SessionCtx<'_, H> {
    /// One session: Ok(()) on shutdown (after LOGOUT), Err on any failure.
    async fn run(&mut self, tls_config: Option<Arc<ClientConfig>>) -> Result<(), MailboxError> {
        let connected = {
            let stop = wait_shutdown(self.shutdown);
            tokio::pin!(stop);
            tokio::select! {
                _ = &mut stop => None,
                r = connect(self.cfg, tls_config) => Some(r),
            }
        };
        let Some(connected) = connected else {
            return Ok(());
        };
        let mut slot = Some(connected?);
        tracing::info!(host = %self.cfg.host, user = %self.cfg.username, "imap: logged in");
        let result = self.serve(&mut slot).await;
        if result.is_ok()
            && let Some(mut session) = slot
        {
            // Shutdown: say goodbye, but never wait long for it.
            let _ = timeout(STEP_TIMEOUT, session.logout()).await;
        }
        result
    }

    /// `slot` holds the session; it is empty only while IDLE owns it (and stays empty if
    /// IDLE failed, which ends the session anyway).
    async fn serve(&mut self, slot: &mut Option<ImapSession>) -> Result<(), MailboxError> {
        let session = slot.as_mut().ok_or_else(no_session)?;
        let caps = self.options.mask(capabilities(session).await?);
        let names = ensure_mailboxes(session, self.cfg, caps).await?;
        let selected = step("SELECT", STEP_TIMEOUT, session.select(&names.intake)).await?;
        let validity = selected.uid_validity.unwrap_or(0);
        if let Some(old) = *self.last_validity
            && old != validity
        {
            tracing::warn!(
                old,
                new = validity,
                "imap: UIDVALIDITY changed; rescanning all"
            );
        }
        *self.last_validity = Some(validity);
        self.keywords = selected
            .permanent_flags
            .iter()
            .any(|f| matches!(f, async_imap::types::Flag::MayCreate));
        tracing::debug!(
            ?caps,
            ?names,
            validity,
            keywords = self.keywords,
            "imap: selected"
        );
        loop {
            beat(self.heartbeat);
            if shutdown_requested(self.shutdown) {
                return Ok(());
            }
            let session = slot.as_mut().ok_or_else(no_session)?;
            self.scan(session, &names, caps, validity).await?;
            // A whole scan went through: the connection is good again.
            *self.attempt = 0;
            if shutdown_requested(self.shutdown) {
                return Ok(());
            }
            // Changes announced while we were busy: scan again before waiting.
            let mut pending = false;
            while let Ok(resp) = session.unsolicited_responses.try_recv() {
                pending |= is_new_mail(&resp);
            }
            if pending {
                continue;
            }
            let wake = if caps.idle {
                self.state.send_replace(MailboxState::Idle);
                let owned = slot.take().ok_or_else(no_session)?;
                let (owned, wake) = self.idle(owned).await?;
                *slot = Some(owned);
                wake
            } else {
                self.state.send_replace(MailboxState::Polling);
                let dur = Duration::from_secs(self.cfg.poll_seconds.max(1));
                if sleep_or_shutdown(dur, self.shutdown, self.heartbeat).await {
                    Wake::Shutdown
                } else {
                    step("NOOP", STEP_TIMEOUT, session.noop()).await?;
                    Wake::Rescan
                }
            };
            if let Wake::Shutdown = wake {
                return Ok(());
            }
        }
    }

    /// Handles every undeleted message in the selected mailbox, in UID order.
    async fn scan(
        &mut self,
        session: &mut ImapSession,
        names: &MailboxNames,
        caps: ServerCaps,
        validity: u32,
    ) -> Result<(), MailboxError> {
        let mut uids: Vec<u32> = step("UID SEARCH", STEP_TIMEOUT, session.uid_search("UNDELETED"))
            .await?
            .into_iter()
            .collect();
        uids.sort_unstable();
        if uids.is_empty() {
            return Ok(());
        }
        self.state.send_replace(MailboxState::Processing);
        tracing::debug!(count = uids.len(), "imap: messages to handle");
        for uid in uids {
            // Between messages is the only place a shutdown cuts in.
            if shutdown_requested(self.shutdown) {
                return Ok(());
            }
            beat(self.heartbeat);
            let key = (validity, uid);
            let failures = self.fetch_failures.get(&key).copied().unwrap_or(0);
            let fetched = if failures >= FETCH_ATTEMPTS {
                tracing::warn!(
                    uid,
                    failures,
                    "imap: message cannot be fetched; handing it over empty"
                );
                Fetched {
                    uid,
                    uid_validity: validity,
                    raw: Vec::new(),
                    arrival: None,
                }
            } else {
                let probed = fetch_size(session, uid).await;
                let size = match self.count_parse_failure(key, probed)? {
                    SizeProbe::Vanished => {
                        tracing::debug!(uid, "imap: message vanished before fetch");
                        continue;
                    }
                    SizeProbe::Size(size) => Some(size),
                    SizeProbe::Unknown => {
                        tracing::warn!(
                            uid,
                            "imap: the server gave no RFC822.SIZE; fetching the message unchecked"
                        );
                        None
                    }
                };
                if let Some(size) = size
                    && size > self.cfg.max_message_size
                {
                    self.reject_oversized(session, names, caps, validity, uid, size)
                        .await?;
                    continue;
                }
                let got = fetch(session, uid, validity).await;
                match self.count_parse_failure(key, got)? {
                    Some(f) => f,
                    None => {
                        tracing::debug!(uid, "imap: message vanished before fetch");
                        continue;
                    }
                }
            };
            let size = fetched.raw.len();
            let disposition = self
                .handler
                .handle(fetched)
                .await
                .map_err(|source| MailboxError::Handler { uid, source })?;
            let target = match disposition {
                Disposition::Processed => &names.processed,
                Disposition::Rejected => &names.rejected,
            };
            self.move_message(session, uid, target, caps, validity)
                .await?;
            self.fetch_failures.remove(&key);
            tracing::info!(uid, size, to = %target, "imap: message handled and moved");
        }
        Ok(())
    }

    /// Counts a FETCH answer that could not be parsed against the message `key`: after
    /// [`FETCH_ATTEMPTS`] of them it is handed over empty instead of blocking the intake.
    fn count_parse_failure<T>(
        &mut self,
        key: (u32, u32),
        result: Result<T, MailboxError>,
    ) -> Result<T, MailboxError> {
        if let Err(MailboxError::Imap {
            source: async_imap::error::Error::Parse(_),
            ..
        }) = &result
        {
            *self.fetch_failures.entry(key).or_insert(0) += 1;
        }
        result
    }

    /// A message over `max_message_size`: the handler gets its header (once), then it goes
    /// to the rejected mailbox. Its body is never fetched.
    async fn reject_oversized(
        &mut self,
        session: &mut ImapSession,
        names: &MailboxNames,
        caps: ServerCaps,
        validity: u32,
        uid: u32,
        size: u64,
    ) -> Result<(), MailboxError> {
        let key = (validity, uid);
        if !self.reported_oversized.contains(&key) {
            let got = fetch_header(session, uid).await;
            let Some(header) = self.count_parse_failure(key, got)? else {
                tracing::debug!(uid, "imap: message vanished before fetch");
                return Ok(());
            };
            self.handler
                .oversized(Oversized {
                    uid,
                    uid_validity: validity,
                    size,
                    header,
                })
                .await
                .map_err(|source| MailboxError::Handler { uid, source })?;
            // Told once: a failed move below is retried without telling again.
            self.reported_oversized.insert(key);
        }
        self.move_message(session, uid, &names.rejected, caps, validity)
            .await?;
        self.reported_oversized.remove(&key);
        self.fetch_failures.remove(&key);
        tracing::warn!(
            uid,
            size,
            limit = self.cfg.max_message_size,
            to = %names.rejected,
            "imap: message over max_message_size; not fetched, moved to the rejected mailbox"
        );
        Ok(())
    }

    /// Moves message `uid` of the selected mailbox to `target`: UID MOVE where the server
    /// has MOVE, else COPY, `\Deleted` and an expunge of that message alone.
    async fn move_message(
        &mut self,
        session: &mut ImapSession,
        uid: u32,
        target: &str,
        caps: ServerCaps,
        validity: u32,
    ) -> Result<(), MailboxError> {
        let set = uid.to_string();
        if caps.move_ {
            return step("UID MOVE", STEP_TIMEOUT, session.uid_mv(&set, target)).await;
        }
        step("UID COPY", STEP_TIMEOUT, session.uid_copy(&set, target)).await?;
        let flags = if self.keywords {
            format!("+FLAGS.SILENT (\\Deleted {MOVED_KEYWORD})")
        } else {
            "+FLAGS.SILENT (\\Deleted)".to_string()
        };
        step("UID STORE", STEP_TIMEOUT, async {
            session
                .uid_store(&set, &flags)
                .await?
                .try_collect::<Vec<_>>()
                .await
        })
        .await?;
        if caps.uidplus {
            // RFC 4315: expunges this message and nothing else.
            return step("UID EXPUNGE", STEP_TIMEOUT, async {
                session
                    .uid_expunge(&set)
                    .await?
                    .try_collect::<Vec<_>>()
                    .await
            })
            .await
            .map(drop);
        }
        // Without UIDPLUS, EXPUNGE removes every message flagged \Deleted in the mailbox,
        // ours or not, and one that someone else flagged (a user's client that marks now and
        // expunges later, or never) may never have been handled. So EXPUNGE is sent only when
        // every \Deleted message is one we copied; otherwise ours stays flagged — scans skip
        // \Deleted messages and its copy is already in `target` — and goes with a later
        // EXPUNGE, once the others are gone. Not chosen: clearing the others' \Deleted around
        // our EXPUNGE and setting it back, which changes other clients' state and loses their
        // flag for good if the connection drops in between. Ours are known by MOVED_KEYWORD
        // where the mailbox takes keywords (after a restart too), else by the UIDs this
        // process flagged. What remains is the one round trip between SEARCH and EXPUNGE:
        // without UIDPLUS no client can close it.
        let query = if self.keywords {
            format!("DELETED NOT KEYWORD {MOVED_KEYWORD}")
        } else {
            "DELETED".to_string()
        };
        let mut others = uid_search(session, &query).await?;
        others.retain(|&u| u != uid && !self.unexpunged.contains(&(validity, u)));
        if !others.is_empty() {
            self.unexpunged.insert((validity, uid));
            tracing::info!(
                uid,
                others = others.len(),
                "imap: other messages are flagged \\Deleted and the server has no UIDPLUS; \
                 ours stays flagged until they are gone"
            );
            return Ok(());
        }
        step("EXPUNGE", STEP_TIMEOUT, async {
            session.expunge().await?.try_collect::<Vec<_>>().await
        })
        .await?;
        self.unexpunged.retain(|&(v, _)| v != validity);
        Ok(())
    }

    /// One IDLE round; always ends with DONE (bounded) unless the connection failed.
    async fn idle(&mut self, session: ImapSession) -> Result<(ImapSession, Wake), MailboxError> {
        let unsolicited = session.unsolicited_responses.clone();
        let mut handle = session.idle();
        step("IDLE", STEP_TIMEOUT, handle.init()).await?;
        // `init` files what arrives before the continuation as unsolicited.
        let mut early = false;
        while let Ok(resp) = unsolicited.try_recv() {
            early |= is_new_mail(&resp);
        }
        let deadline = Instant::now() + IDLE_MAX;
        let outcome = {
            let (wait, _stop) = handle.wait_with_timeout(IDLE_KEEPALIVE);
            tokio::pin!(wait);
            let stop = wait_shutdown(self.shutdown);
            tokio::pin!(stop);
            let mut tick = tokio::time::interval(HEARTBEAT_EVERY);
            loop {
                if early {
                    break Ok(Wake::Rescan);
                }
                tokio::select! {
                    r = &mut wait => break match r {
                        Ok(IdleResponse::NewData(_)) => Ok(Wake::Rescan),
                        Ok(IdleResponse::Timeout) => {
                            tracing::debug!("imap: no keepalive during IDLE; checking the connection");
                            Ok(Wake::Rescan)
                        }
                        Ok(IdleResponse::ManualInterrupt) => Ok(Wake::Rescan),
                        Err(source) => Err(MailboxError::Imap { step: "IDLE wait", source }),
                    },
                    _ = tokio::time::sleep_until(deadline) => break Ok(Wake::Rescan),
                    _ = &mut stop => break Ok(Wake::Shutdown),
                    _ = tick.tick() => beat(self.heartbeat),
                }
            }
        };
        let wake = outcome?;
        let session = step("IDLE DONE", DONE_TIMEOUT, handle.done()).await?;
        Ok((session, wake))
    }
}

/// What `UID FETCH n (UID RFC822.SIZE)` told.
enum SizeProbe {
    /// No such message any more (expunged by someone else).
    Vanished,
    Size(u64),
    /// The server answered without RFC822.SIZE.
    Unknown,
}

async fn fetch_size(session: &mut ImapSession, uid: u32) -> Result<SizeProbe, MailboxError> {
    let items = step("UID FETCH RFC822.SIZE", STEP_TIMEOUT, async {
        session
            .uid_fetch(uid.to_string(), "(UID RFC822.SIZE)")
            .await?
            .try_collect::<Vec<_>>()
            .await
    })
    .await?;
    Ok(match items.iter().find(|f| f.uid == Some(uid)) {
        None => SizeProbe::Vanished,
        Some(item) => match item.size {
            Some(size) => SizeProbe::Size(u64::from(size)),
            None => SizeProbe::Unknown,
        },
    })
}

/// The first [`OVERSIZED_HEADER_MAX`] bytes of the message's header (None: vanished).
async fn fetch_header(
    session: &mut ImapSession,
    uid: u32,
) -> Result<Option<Vec<u8>>, MailboxError> {
    let query = format!("(UID BODY.PEEK[HEADER]<0.{OVERSIZED_HEADER_MAX}>)");
    let items = step("UID FETCH HEADER", STEP_TIMEOUT, async {
        session
            .uid_fetch(uid.to_string(), &query)
            .await?
            .try_collect::<Vec<_>>()
            .await
    })
    .await?;
    Ok(items.iter().find(|f| f.uid == Some(uid)).map(|item| {
        let header = item.header().unwrap_or_default();
        // The server already cut it; never hand over more than promised.
        header[..header.len().min(OVERSIZED_HEADER_MAX as usize)].to_vec()
    }))
}

async fn fetch(
    session: &mut ImapSession,
    uid: u32,
    validity: u32,
) -> Result<Option<Fetched>, MailboxError> {
    let items = step("UID FETCH", FETCH_TIMEOUT, async {
        session
            .uid_fetch(uid.to_string(), "(UID INTERNALDATE BODY.PEEK[])")
            .await?
            .try_collect::<Vec<_>>()
            .await
    })
    .await?;
    let Some(item) = items.iter().find(|f| f.uid == Some(uid)) else {
        return Ok(None);
    };
    let raw = item.body().map(<[u8]>::to_vec).unwrap_or_default();
    Ok(Some(Fetched {
        uid,
        uid_validity: validity,
        raw,
        arrival: item.internal_date().map(|d| d.with_timezone(&Utc)),
    }))
}

/// The keyword that marks a message we copied and flagged `\Deleted` ourselves (where the
/// mailbox takes keywords), so that it is known as ours after a restart too.
pub const MOVED_KEYWORD: &str = "$OtklikMoved";

async fn uid_search(session: &mut ImapSession, query: &str) -> Result<HashSet<u32>, MailboxError> {
    step("UID SEARCH", STEP_TIMEOUT, session.uid_search(query)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separator_mapping() {
        assert_eq!(
            server_mailbox_name("otklik/processed", Some(".")),
            "otklik.processed"
        );
        assert_eq!(
            server_mailbox_name("otklik/processed", Some("/")),
            "otklik/processed"
        );
        assert_eq!(
            server_mailbox_name("otklik/processed", None),
            "otklik/processed"
        );
        assert_eq!(server_mailbox_name("flat", Some(".")), "flat");
    }

    #[test]
    fn modified_utf7_names() {
        // RFC 3501 §5.1.3's example, and ASCII/ampersand handling.
        assert_eq!(
            encode_mailbox_name("~peter/mail/台北/日本語"),
            "~peter/mail/&U,BTFw-/&ZeVnLIqe-"
        );
        assert_eq!(encode_mailbox_name("INBOX"), "INBOX");
        assert_eq!(encode_mailbox_name("A&B"), "A&-B");
        assert_eq!(
            encode_mailbox_name("otklik.обработано"),
            "otklik.&BD4EMQRABDAEMQQ+BEIEMAQ9BD4-"
        );
    }

    #[test]
    fn parents() {
        assert_eq!(
            parent_mailboxes("a.b.c", Some(".")),
            vec!["a".to_string(), "a.b".to_string()]
        );
        assert!(parent_mailboxes("a", Some(".")).is_empty());
        assert!(parent_mailboxes("a/b", None).is_empty());
    }

    fn ns(prefix: &str, separator: Option<&str>) -> Namespace {
        Namespace {
            prefix: prefix.into(),
            separator: separator.map(str::to_string),
        }
    }

    #[test]
    fn namespace_answers_of_real_servers() {
        // Dovecot, Courier / old Cyrus, Yandex, a flat one, and Gmail's.
        for (answer, want) in [
            (&b"((\"\" \".\")) NIL NIL\r\n"[..], ns("", Some("."))),
            (
                b"((\"INBOX.\" \".\")) NIL ((\"#shared.\" \".\")(\"shared.\" \".\"))\r\n",
                ns("INBOX.", Some(".")),
            ),
            (b"((\"\" \"|\")) NIL NIL\r\n", ns("", Some("|"))),
            (b"((\"\" NIL)) NIL NIL\r\n", ns("", None)),
            (b"((\"\" \"/\")) NIL NIL\r\n", ns("", Some("/"))),
            // escapes, RFC 2342 extensions, a literal, lower-case NIL
            (b"((\"\" \"\\\\\")) nil nil\r\n", ns("", Some("\\"))),
            (
                b"((\"\" \"/\" \"X-PARAM\" (\"FLAG1\" \"FLAG2\"))) NIL NIL\r\n",
                ns("", Some("/")),
            ),
            (
                b"(({6}\r\nINBOX. \".\")) NIL NIL\r\n",
                ns("INBOX.", Some(".")),
            ),
        ] {
            assert_eq!(
                parse_namespace(answer),
                Some(want),
                "{}",
                String::from_utf8_lossy(answer)
            );
        }
        for bad in [
            &b"NIL NIL NIL\r\n"[..],
            b"(\"\" \".\") NIL NIL\r\n",
            b"((\"INBOX. \".\")) NIL NIL\r\n",
            b"(({60}\r\nINBOX. \".\")) NIL NIL\r\n",
            b"",
            b"((((((((((((\"\" \".\"))))))))))))",
        ] {
            assert_eq!(
                parse_namespace(bad),
                None,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[tokio::test]
    async fn a_response_line_is_read_with_its_literals_and_no_further() {
        let mut input: &[u8] = b"* NAMESPACE (({6}\r\nINBOX. \".\")) NIL NIL\r\nA0001 OK next\r\n";
        let mut budget = 1000;
        let line = read_line(&mut input, &mut budget).await.unwrap();
        assert_eq!(line, b"* NAMESPACE (({6}\r\nINBOX. \".\")) NIL NIL\r\n");
        assert_eq!(input, b"A0001 OK next\r\n", "read past the line");
        let mut budget = 10;
        let mut input: &[u8] = b"* NAMESPACE NIL NIL NIL\r\n";
        assert!(read_line(&mut input, &mut budget).await.is_err());
        assert_eq!(literal_len(b"x {12}"), Some(12));
        assert_eq!(literal_len(b"x {12+}"), Some(12));
        assert_eq!(literal_len(b"x {}"), None);
        assert_eq!(literal_len(b"x \"{1}\""), None);
    }

    #[test]
    fn configured_names_in_the_servers_namespace() {
        let dovecot = ns("", Some("."));
        let courier = ns("INBOX.", Some("."));
        let yandex = ns("", Some("|"));
        assert_eq!(
            server_mailbox("otklik/processed", &dovecot),
            "otklik.processed"
        );
        assert_eq!(
            server_mailbox("otklik/processed", &courier),
            "INBOX.otklik.processed"
        );
        assert_eq!(
            server_mailbox("otklik/processed", &yandex),
            "otklik|processed"
        );
        // already under the prefix, in any case of INBOX; INBOX itself
        assert_eq!(
            server_mailbox("INBOX/otklik/processed", &courier),
            "INBOX.otklik.processed"
        );
        assert_eq!(server_mailbox("inbox/otklik", &courier), "INBOX.otklik");
        assert_eq!(server_mailbox("inbox", &courier), "INBOX");
        // modified UTF-7 per level, the separator and prefix as the server has them
        assert_eq!(
            server_mailbox("отклик/обработано", &courier),
            format!(
                "INBOX.{}.{}",
                encode_mailbox_name("отклик"),
                encode_mailbox_name("обработано")
            )
        );
        assert_eq!(
            server_mailbox("отклик/обработано", &yandex),
            "&BD4EQgQ6BDsEOAQ6-|&BD4EMQRABDAEMQQ+BEIEMAQ9BD4-"
        );
        // a prefix that is not INBOX is matched exactly
        let mail = ns("Mail/", Some("/"));
        assert_eq!(server_mailbox("mail/x", &mail), "Mail/mail/x");
        assert_eq!(server_mailbox("Mail/x", &mail), "Mail/x");

        assert_eq!(
            mailboxes_to_create("INBOX.otklik.processed", &courier),
            ["INBOX.otklik", "INBOX.otklik.processed"]
        );
        assert_eq!(
            mailboxes_to_create("otklik|processed", &yandex),
            ["otklik", "otklik|processed"]
        );
        assert_eq!(mailboxes_to_create("flat", &dovecot), ["flat"]);
    }

    #[test]
    fn backoff_grows_and_caps() {
        assert_eq!(backoff_delay(1, 1.0), Duration::from_secs(2));
        assert_eq!(backoff_delay(2, 1.0), Duration::from_secs(4));
        assert_eq!(backoff_delay(6, 1.0), Duration::from_secs(64));
        assert_eq!(backoff_delay(7, 1.0), Duration::from_secs(80));
        assert_eq!(backoff_delay(1000, 1.0), Duration::from_secs(80));
        // Jitter never leaves the 2 s .. 80 s band.
        assert_eq!(backoff_delay(1, 0.8), Duration::from_secs(2));
        assert_eq!(backoff_delay(1000, 1.2), Duration::from_secs(80));
        let d = backoff_delay(3, 1.1);
        assert!(d > Duration::from_secs(8) && d < Duration::from_secs(9));
    }

    #[test]
    fn plain_imap_only_on_loopback() {
        let mut cfg = ImapConfig {
            host: "imap.example.ru".into(),
            port: 143,
            tls: TlsMode::None,
            username: "u".into(),
            password: crate::config::Password("p".into()),
            mailbox: "INBOX".into(),
            processed_mailbox: "otklik/processed".into(),
            rejected_mailbox: "otklik/rejected".into(),
            poll_seconds: 60,
            max_message_size: crate::config::DEFAULT_MAX_MESSAGE_SIZE,
            ca_file: None,
        };
        assert!(matches!(
            prepare_tls(&cfg, &TlsOptions::default()),
            Err(MailboxError::InsecureHost(_))
        ));
        cfg.host = "127.0.0.1".into();
        assert!(matches!(
            prepare_tls(&cfg, &TlsOptions::default()),
            Ok(None)
        ));
        cfg.tls = TlsMode::Implicit;
        assert!(matches!(
            prepare_tls(&cfg, &TlsOptions::default()),
            Ok(Some(_))
        ));
    }
}
