//! The connection: TCP, implicit TLS or STARTTLS (plain only on loopback), the greeting, LOGIN and CAPABILITY, each step under a timeout.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::ClientConfig;
use tokio_rustls::rustls::pki_types::ServerName;

use otklik_core::config::{ImapConfig, TlsMode};

use super::{MailboxError, STEP_TIMEOUT};
use crate::tls::TlsOptions;

/// The byte stream under an IMAP session: plain TCP (loopback or before STARTTLS) or TLS.
#[derive(Debug)]
pub enum ImapStream {
    /// Plain TCP (loopback only).
    Plain(TcpStream),
    /// TLS, implicit or after STARTTLS.
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

/// A logged-in IMAP session over either stream.
pub type ImapSession = async_imap::Session<ImapStream>;

/// What the server can do, read once per session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerCaps {
    /// IDLE (RFC 2177).
    pub idle: bool,
    /// MOVE (RFC 6851).
    pub move_: bool,
    /// UIDPLUS (RFC 4315).
    pub uidplus: bool,
    /// NAMESPACE (RFC 2342).
    pub namespace: bool,
}

pub(super) async fn step<T, F>(
    name: &'static str,
    after: Duration,
    fut: F,
) -> Result<T, MailboxError>
where
    F: Future<Output = Result<T, async_imap::error::Error>>,
{
    match timeout(after, fut).await {
        Err(_) => Err(MailboxError::Timeout { step: name, after }),
        Ok(Err(source)) => Err(MailboxError::Imap { step: name, source }),
        Ok(Ok(v)) => Ok(v),
    }
}

pub(super) fn is_loopback_host(host: &str) -> bool {
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

pub(super) async fn tls_handshake(
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

pub(super) async fn read_greeting(
    client: &mut async_imap::Client<ImapStream>,
) -> Result<(), MailboxError> {
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
