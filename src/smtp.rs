//! Sending pre-built messages over SMTP (lettre, pooled).
//!
//! No retry loop here: the outbox retries. This module only says, for each failure,
//! whether trying again later can help ([`SendError::is_transient`]) or not
//! ([`SendError::is_permanent`]).
//!
//! Classification:
//! - connection refused/reset, DNS, timeouts, 4xx replies → transient; of those, the ones
//!   that come before the server looks at the mail (no connection, no answer in time, a
//!   `421` "service not available", and the TLS and login failures below) are
//!   connection-level ([`SendError::is_connection_level`]): the mail is not in question;
//! - 5xx replies to MAIL/RCPT/DATA (e.g. `554 5.7.1 Relay access denied`, unknown user)
//!   and addresses that cannot be parsed → permanent: this message will never go;
//! - authentication failures (530/534/535/538) and TLS failures → transient: they are a
//!   configuration or server problem, not a property of the message, so the mail must
//!   wait in the outbox until the operator fixes the password or certificate. They are
//!   reported as their own variants so the caller can log them loudly.

use std::net::IpAddr;
use std::time::Duration;

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use lettre::Address;
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{
    AsyncSmtpConnection, AsyncTokioStream, Certificate, CertificateStore, TlsParameters,
};
use lettre::transport::smtp::extension::ClientId;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;

use otklik_core::config::{SmtpConfig, TlsMode};

use crate::tls::{TlsOptions, parse_pem_certs};

/// Per read/write step on the SMTP connection (lettre's own timeout).
pub const STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// For one whole send, connection included.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(60);

/// A connection idle this long is closed rather than used again.
pub const IDLE_MAX: Duration = Duration::from_secs(60);
/// A connection idle longer than this is checked (`NOOP`) before it carries a mail; one
/// used a moment ago is not, so a burst pays no extra round trip per mail.
const CHECK_AFTER: Duration = Duration::from_secs(2);

/// A pooled SMTP client: up to `smtp.connections` connections, each kept open between
/// mails (a minute idle at most).
///
/// The connections are lettre's SMTP sessions over sockets opened here with Nagle's
/// algorithm off: lettre writes a mail's body and the final `.` line apart, and with Nagle
/// on, that last small write waits for the server to acknowledge the body, which a server
/// with nothing to say yet delays by up to 40 ms (delayed ACK) — a fixed 40-odd ms on every
/// mail, whatever the server's own speed.
#[derive(Clone)]
pub struct Smtp {
    pool: Arc<Pool>,
    send_timeout: Duration,
    connections: usize,
}

/// How a connection is made secure.
enum Security {
    Plain,
    Starttls(TlsParameters),
    Implicit(TlsConnector, ServerName<'static>),
}

/// The open connections not in use, and how to open more.
struct Pool {
    host: String,
    port: u16,
    security: Security,
    credentials: Option<Credentials>,
    hello: ClientId,
    step_timeout: Duration,
    max: usize,
    idle: Mutex<Vec<(AsyncSmtpConnection, Instant)>>,
}

/// A TLS session over TCP, as lettre takes a stream of its own.
#[derive(Debug)]
struct TlsTcp(tokio_rustls::client::TlsStream<TcpStream>);

impl AsyncRead for TlsTcp {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsTcp {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for TlsTcp {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

impl Pool {
    /// Opens, secures and logs in one connection.
    async fn connect(&self) -> Result<AsyncSmtpConnection, SendError> {
        let tcp = match tokio::time::timeout(
            self.step_timeout,
            TcpStream::connect((self.host.as_str(), self.port)),
        )
        .await
        {
            Err(_) => return Err(SendError::Timeout(self.step_timeout)),
            Ok(Err(e)) => {
                return Err(SendError::Connection(format!(
                    "{}:{}: {e}",
                    self.host, self.port
                )));
            }
            Ok(Ok(tcp)) => tcp,
        };
        // See [`Smtp`]: without this every mail waits for a delayed ACK.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "smtp: could not turn Nagle's algorithm off");
        }
        let mut conn = match &self.security {
            Security::Plain => {
                AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &self.hello)
                    .await
                    .map_err(SendError::from_lettre)?
            }
            Security::Starttls(params) => {
                let mut conn =
                    AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &self.hello)
                        .await
                        .map_err(SendError::from_lettre)?;
                conn.starttls(params.clone(), &self.hello)
                    .await
                    .map_err(SendError::from_lettre)?;
                conn
            }
            Security::Implicit(connector, name) => {
                let tls = match tokio::time::timeout(
                    self.step_timeout,
                    connector.connect(name.clone(), tcp),
                )
                .await
                {
                    Err(_) => return Err(SendError::Timeout(self.step_timeout)),
                    Ok(Err(e)) => return Err(SendError::Tls(e.to_string())),
                    Ok(Ok(tls)) => tls,
                };
                AsyncSmtpConnection::connect_with_transport(Box::new(TlsTcp(tls)), &self.hello)
                    .await
                    .map_err(SendError::from_lettre)?
            }
        };
        if let Some(credentials) = &self.credentials {
            conn.auth(DEFAULT_MECHANISMS, credentials)
                .await
                .map_err(SendError::from_lettre)?;
        }
        Ok(conn)
    }

    /// An open connection: an idle one that still answers, else a new one.
    async fn checkout(&self) -> Result<AsyncSmtpConnection, SendError> {
        loop {
            let parked = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let Some((mut conn, since)) = parked else {
                return self.connect().await;
            };
            let idle = since.elapsed();
            if idle > IDLE_MAX || (idle > CHECK_AFTER && !conn.test_connected().await) {
                conn.abort().await;
                continue;
            }
            return Ok(conn);
        }
    }

    /// Back to the pool, unless it broke or the pool is full.
    fn checkin(&self, conn: AsyncSmtpConnection) {
        if conn.has_broken() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        idle.retain(|(_, since)| since.elapsed() <= IDLE_MAX);
        if idle.len() < self.max {
            idle.push((conn, Instant::now()));
        }
    }
}

impl std::fmt::Debug for Smtp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Smtp")
            .field("send_timeout", &self.send_timeout)
            .finish_non_exhaustive()
    }
}

/// Building the client failed: a configuration problem, reported at startup.
#[derive(Debug, thiserror::Error)]
pub enum SmtpSetupError {
    /// Plain text to a host that is not this machine.
    #[error("smtp: tls = \"none\" is allowed only for loopback hosts, not {0}")]
    InsecureHost(String),
    /// The TLS client could not be set up.
    #[error("smtp: TLS setup failed: {0}")]
    Tls(String),
    /// The configured CA file could not be read.
    #[error(transparent)]
    Ca(#[from] crate::tls::TlsError),
}

/// Sending one mail failed; [`SendError::is_permanent`] tells whether trying again can help.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// An address of the mail is not one (permanent).
    #[error("smtp: invalid address {address:?}: {reason}")]
    InvalidAddress {
        /// The address as written.
        address: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The mail names nobody (permanent).
    #[error("smtp: message has no recipients")]
    NoRecipients,
    /// A 5xx answer: the server will not take this mail.
    #[error("smtp: server refused the message permanently: {0}")]
    Rejected(String),
    /// A 4xx answer about this mail (a full mailbox, greylisting): try it again later.
    #[error("smtp: server deferred the message: {0}")]
    Deferred(String),
    /// A 421 answer: the server is not taking mail now (shutting down, too busy), whatever
    /// the mail; try again later.
    #[error("smtp: server unavailable: {0}")]
    Unavailable(String),
    /// The server refused our credentials.
    #[error("smtp: authentication failed (check username/password): {0}")]
    Auth(String),
    /// The TLS handshake failed.
    #[error("smtp: TLS failed: {0}")]
    Tls(String),
    /// No answer in time.
    #[error("smtp: timed out after {0:?}")]
    Timeout(Duration),
    /// The connection could not be made or broke.
    #[error("smtp: connection failed: {0}")]
    Connection(String),
}

impl SendError {
    /// Trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        !self.is_permanent()
    }

    /// This message will never be accepted: record it and stop trying.
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            SendError::InvalidAddress { .. } | SendError::NoRecipients | SendError::Rejected(_)
        )
    }

    /// Transient, but caused by configuration (password, certificate): log it loudly.
    pub fn is_config_problem(&self) -> bool {
        matches!(self, SendError::Auth(_) | SendError::Tls(_))
    }

    /// Transient, and nothing to do with this mail: the server could not be reached or
    /// would not hold a session (no connection, no answer in time, TLS or login not done, a
    /// 421). Once the server takes another mail, this one can go as well.
    pub fn is_connection_level(&self) -> bool {
        matches!(
            self,
            SendError::Connection(_)
                | SendError::Timeout(_)
                | SendError::Tls(_)
                | SendError::Auth(_)
                | SendError::Unavailable(_)
        )
    }

    /// Whether a failure kept as text (a queued mail's last error, written as this error
    /// displays) was connection-level ([`SendError::is_connection_level`]).
    pub fn was_connection_level(text: &str) -> bool {
        [
            "smtp: connection failed:",
            "smtp: timed out after ",
            "smtp: TLS failed:",
            "smtp: authentication failed ",
            "smtp: server unavailable:",
        ]
        .iter()
        .any(|start| text.starts_with(start))
    }

    fn from_lettre(e: lettre::transport::smtp::Error) -> SendError {
        let text = e.to_string();
        if let Some(code) = e.status() {
            let code: u16 = code.into();
            if matches!(code, 530 | 534 | 535 | 538 | 454) && looks_like_auth(&text, code) {
                return SendError::Auth(text);
            }
            if e.is_permanent() {
                return SendError::Rejected(text);
            }
            if code == 421 {
                return SendError::Unavailable(text);
            }
            return SendError::Deferred(text);
        }
        if e.is_tls() || caused_by_tls(&e) {
            return SendError::Tls(text);
        }
        if e.is_timeout() {
            return SendError::Timeout(STEP_TIMEOUT);
        }
        SendError::Connection(text)
    }
}

/// lettre reports a failed handshake (e.g. an untrusted certificate) as a connection
/// error; find the rustls error in the chain of causes.
fn caused_by_tls(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cause {
        if err.is::<tokio_rustls::rustls::Error>() {
            return true;
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && io
                .get_ref()
                .is_some_and(|inner| inner.is::<tokio_rustls::rustls::Error>())
        {
            return true;
        }
        cause = err.source();
    }
    false
}

/// 454 is also "TLS not available"; only call it an auth failure when it says so.
fn looks_like_auth(text: &str, code: u16) -> bool {
    code != 454 || text.to_ascii_lowercase().contains("auth")
}

fn is_loopback_host(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

impl Smtp {
    /// Builds the pooled client; connects lazily on the first send.
    pub fn new(cfg: &SmtpConfig, tls: &TlsOptions) -> Result<Smtp, SmtpSetupError> {
        Smtp::with_timeouts(cfg, tls, STEP_TIMEOUT, SEND_TIMEOUT)
    }

    /// As [`Smtp::new`] with explicit timeouts (tests use short ones).
    pub fn with_timeouts(
        cfg: &SmtpConfig,
        tls: &TlsOptions,
        step_timeout: Duration,
        send_timeout: Duration,
    ) -> Result<Smtp, SmtpSetupError> {
        let security = match cfg.tls {
            TlsMode::None => {
                if !is_loopback_host(&cfg.host) {
                    return Err(SmtpSetupError::InsecureHost(cfg.host.clone()));
                }
                Security::Plain
            }
            TlsMode::Implicit => {
                let config = crate::tls::client_config(tls)?;
                let name = ServerName::try_from(cfg.host.clone())
                    .map_err(|e| SmtpSetupError::Tls(format!("{}: {e}", cfg.host)))?;
                Security::Implicit(TlsConnector::from(config), name)
            }
            TlsMode::Starttls => Security::Starttls(tls_parameters(&cfg.host, tls)?),
        };
        let credentials = cfg.username.as_ref().map(|user| {
            let password = cfg
                .password
                .as_ref()
                .map(|s| s.0.clone())
                .unwrap_or_default();
            Credentials::new(user.clone(), password)
        });
        let connections = cfg
            .connections
            .clamp(1, otklik_core::config::MAX_SMTP_CONNECTIONS);
        Ok(Smtp {
            pool: Arc::new(Pool {
                host: cfg.host.clone(),
                port: cfg.port,
                security,
                credentials,
                hello: ClientId::default(),
                step_timeout,
                max: connections,
                idle: Mutex::new(Vec::new()),
            }),
            send_timeout,
            connections,
        })
    }

    /// How many connections the pool keeps: as many mails are in flight at once.
    pub fn connections(&self) -> usize {
        self.connections
    }

    /// Sends `raw` (a complete RFC 5322 message, CRLF line ends) unchanged, with the
    /// given envelope sender and recipients.
    pub async fn send(
        &self,
        envelope_from: &str,
        to: &[String],
        raw: &[u8],
    ) -> Result<(), SendError> {
        let envelope = envelope(envelope_from, to)?;
        let body = strip_final_line_end(raw);
        let attempt = async {
            let mut conn = self.pool.checkout().await?;
            let result = conn.send(&envelope, body).await;
            // A refused mail leaves the session usable; a broken one is dropped.
            self.pool.checkin(conn);
            result.map_err(SendError::from_lettre)
        };
        match tokio::time::timeout(self.send_timeout, attempt).await {
            Err(_) => Err(SendError::Timeout(self.send_timeout)),
            Ok(Err(e)) => Err(e),
            Ok(Ok(response)) => {
                tracing::debug!(code = %response.code(), recipients = to.len(), "smtp: accepted");
                Ok(())
            }
        }
    }
}

/// lettre ends DATA with `\r\n.\r\n`, adding a line end of its own: without this a
/// message that ends with CRLF (as RFC 5322 messages do) would gain an empty line.
pub fn strip_final_line_end(raw: &[u8]) -> &[u8] {
    raw.strip_suffix(b"\r\n")
        .or_else(|| raw.strip_suffix(b"\n"))
        .unwrap_or(raw)
}

fn parse_address(address: &str) -> Result<Address, SendError> {
    address
        .trim()
        .parse::<Address>()
        .map_err(|e| SendError::InvalidAddress {
            address: address.to_string(),
            reason: e.to_string(),
        })
}

/// The SMTP envelope; an empty `envelope_from` means the null sender `<>`.
pub fn envelope(envelope_from: &str, to: &[String]) -> Result<Envelope, SendError> {
    if to.is_empty() {
        return Err(SendError::NoRecipients);
    }
    let from = if envelope_from.trim().is_empty() {
        None
    } else {
        Some(parse_address(envelope_from)?)
    };
    let to = to
        .iter()
        .map(|a| parse_address(a))
        .collect::<Result<Vec<_>, _>>()?;
    Envelope::new(from, to).map_err(|e| SendError::InvalidAddress {
        address: envelope_from.to_string(),
        reason: e.to_string(),
    })
}

fn tls_parameters(host: &str, tls: &TlsOptions) -> Result<TlsParameters, SmtpSetupError> {
    let mut builder =
        TlsParameters::builder(host.to_string()).certificate_store(CertificateStore::WebpkiRoots);
    if let Some(pem) = &tls.extra_ca_pem {
        // Same validation as the IMAP side, so both report a bad file the same way.
        if parse_pem_certs(pem)?.is_empty() {
            return Err(crate::tls::TlsError::NoCertificates.into());
        }
        let cert = Certificate::from_pem(pem).map_err(|e| SmtpSetupError::Tls(e.to_string()))?;
        builder = builder.add_root_certificate(cert);
    }
    builder
        .build_rustls()
        .map_err(|e| SmtpSetupError::Tls(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_checks_addresses() {
        assert!(envelope("a@example.ru", &["b@example.ru".into()]).is_ok());
        assert!(envelope("", &["b@example.ru".into()]).is_ok());
        assert!(matches!(
            envelope("a@example.ru", &[]),
            Err(SendError::NoRecipients)
        ));
        let err = envelope("a@example.ru", &["not an address".into()]).unwrap_err();
        assert!(err.is_permanent());
        assert!(err.to_string().contains("not an address"));
    }

    #[test]
    fn one_final_line_end_is_left_to_lettre() {
        assert_eq!(strip_final_line_end(b"a\r\n\r\n"), b"a\r\n");
        assert_eq!(strip_final_line_end(b"a\n"), b"a");
        assert_eq!(strip_final_line_end(b"a"), b"a");
    }

    #[test]
    fn classification() {
        assert!(SendError::Rejected("554".into()).is_permanent());
        assert!(SendError::Deferred("451".into()).is_transient());
        assert!(SendError::Auth("535".into()).is_transient());
        assert!(SendError::Timeout(SEND_TIMEOUT).is_transient());
        assert!(SendError::Connection("refused".into()).is_transient());
        assert!(SendError::Unavailable("421".into()).is_transient());
    }

    #[test]
    fn connection_level_failures_are_known_again_from_their_text() {
        let all = [
            SendError::InvalidAddress {
                address: "x".into(),
                reason: "no @".into(),
            },
            SendError::NoRecipients,
            SendError::Rejected("550 5.1.1 no such user".into()),
            SendError::Deferred("452 4.2.2 mailbox full".into()),
            SendError::Unavailable("421 4.3.2 shutting down".into()),
            SendError::Auth("535 5.7.8 bad credentials".into()),
            SendError::Tls("bad certificate".into()),
            SendError::Timeout(SEND_TIMEOUT),
            SendError::Connection("connection refused".into()),
        ];
        for e in &all {
            assert_eq!(
                SendError::was_connection_level(&e.to_string()),
                e.is_connection_level(),
                "{e}"
            );
            assert!(!(e.is_connection_level() && e.is_permanent()), "{e}");
        }
        let connection_level = all.iter().filter(|e| e.is_connection_level()).count();
        assert_eq!(connection_level, 5);
    }

    #[tokio::test]
    async fn plain_smtp_only_on_loopback() {
        let mut cfg = SmtpConfig {
            host: "smtp.example.ru".into(),
            port: 25,
            tls: TlsMode::None,
            username: None,
            password: None,
            from: otklik_core::config::Address {
                name: None,
                email: "a@example.ru".into(),
            },
            ca_file: None,
            connections: 4,
        };
        assert!(matches!(
            Smtp::new(&cfg, &TlsOptions::default()),
            Err(SmtpSetupError::InsecureHost(_))
        ));
        cfg.host = "127.0.0.1".into();
        assert!(Smtp::new(&cfg, &TlsOptions::default()).is_ok());
        cfg.host = "localhost".into();
        assert!(Smtp::new(&cfg, &TlsOptions::default()).is_ok());
    }
}
