//! A real, isolated mail stack for the end-to-end tests: Dovecot (IMAP with
//! IDLE, STARTTLS and implicit TLS; LMTP; SASL for Postfix) and Postfix (SMTP
//! for the test domain only, handing mail to Dovecot over LMTP), both run
//! from their Debian packages with their own config, state, queue, logs and
//! Maildirs in a temp dir under `/tmp`, on free loopback ports.
//!
//! ```ignore
//! let stack = MailStack::start();
//! stack.send(&stack.addr("mon"), &[&stack.addr("intake")], raw).await;
//! let got = stack.wait_for("intake", "INBOX", |m| m.subject.contains("ЖКХ"), WAIT).await;
//! ```
//!
//! Users: ANY local part of [`MailStack::DOMAIN`] exists, with the one password
//! [`MailStack::PASSWORD`]; IMAP logins accept `name` or `name@otklik.test`.
//! Tests never register users: each test uses fresh names (prefix them with the
//! test's name) — that is how tests share a stack or not.
//!
//! One stack per test (`start()`) is the default: it costs about 0.2–0.6 s to
//! start and 0.05–0.2 s to stop on the 2-core dev machines, and isolates
//! outages and server state. `MailStack::shared()` gives one stack per test
//! binary for many cheap tests that only need distinct user names.
//!
//! Mailbox names: Dovecot's Maildir hierarchy separator is `.`; the helpers
//! here accept `/` too (`otklik/processed` means `otklik.processed`).
//!
//! Other servers' namespaces: [`MailStack::start_with`] and [`DovecotOptions`] give
//! Dovecot a personal prefix (`INBOX.`, as Courier and older Cyrus), another
//! separator (`|`, as Yandex), or a shorter capability list (no MOVE, UIDPLUS or
//! NAMESPACE, as older servers). The helpers then map `/` to that separator, and add
//! no prefix: `INBOX/otklik/processed` is `INBOX.otklik.processed`.
//!
//! Lifetime: dropping a `MailStack` stops both servers, kills whatever is left
//! in their process groups and removes the temp dir (Drop also runs when a test
//! panics). If the test binary is killed hard, the servers still go: they are
//! spawned from one long-lived thread with `PR_SET_PDEATHSIG = SIGTERM`, so the
//! kernel signals them when the test process dies (and a guardian `sh` per
//! server, blocked on a pipe only this process writes to, kills them when the
//! pipe closes: Postfix's master loses PDEATHSIG); and `start()` reaps any
//! stack dir in `/tmp` whose owning process is gone (kills every process whose
//! command line names that dir, with its process group, then removes the dir).
//!
//! Needs root (as CI and the dev machines run) and the packages that
//! `scripts/install-test-deps` installs.
#![allow(unsafe_code)] // process groups, signals and reaping for the test servers (libc)

use std::collections::HashSet;
use std::fmt::Write as _;
use std::fs;
use std::io::{self, Read as _};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock, mpsc};
use std::time::{Duration, Instant};

use futures::TryStreamExt;

const DOVECOT_BIN: &str = "/usr/sbin/dovecot";
const POSTFIX_BIN: &str = "/usr/sbin/postfix";
const POSTFIX_MASTER: &str = "/usr/lib/postfix/sbin/master";
const POSTFIX_DAEMON_DIR: &str = "/usr/lib/postfix/sbin";
const OPENSSL_BIN: &str = "/usr/bin/openssl";

/// Stack dirs are `/tmp/<STACK_PREFIX>XXXXXX`. `/tmp`, not `$TMPDIR`: unix
/// socket paths must stay short, and the stale-stack reaper must know where to look.
const STACK_PREFIX: &str = "otklik-mailstack-";

/// How long a server may take to come up or go down before the harness gives up.
/// Generous: it only ever fails a hung start, it measures nothing.
const SERVER_DEADLINE: Duration = Duration::from_secs(30);

/// How often `wait_for` looks at the mailbox (one EXAMINE + UID FETCH of new
/// messages per round). Dovecot sees LMTP-delivered mail within milliseconds.
const POLL_EVERY: Duration = Duration::from_millis(25);

/// A logged-in IMAP session over plain TCP, for tests that need raw IMAP.
pub type ImapSession = async_imap::Session<tokio::net::TcpStream>;
/// A logged-in IMAP session over TLS (implicit or after STARTTLS).
pub type TlsImapSession =
    async_imap::Session<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>;

/// How an IMAP or SMTP client secures its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// TLS from the first byte (IMAPS 993-style, SMTPS 465-style).
    Implicit,
    /// Plain connect, then STARTTLS.
    StartTls,
}

/// One message as found in a mailbox, parsed with mail-parser.
#[derive(Debug, Clone)]
pub struct Received {
    /// IMAP UID in the mailbox it was read from.
    pub uid: u32,
    /// The message exactly as the server stores it (with the Received: and
    /// Return-Path: headers the delivery added).
    pub raw: Vec<u8>,
    /// Decoded subject ("" when missing).
    pub subject: String,
    /// Address of the first `From:` mailbox ("" when missing).
    pub from: String,
    /// Addresses of `To:`.
    pub to: Vec<String>,
    /// Addresses of `Cc:`.
    pub cc: Vec<String>,
    /// Address of the first `Reply-To:` mailbox, if any.
    pub reply_to: Option<String>,
    /// `Message-ID:` without the angle brackets.
    pub message_id: Option<String>,
    /// `In-Reply-To:` (the first id) without the angle brackets.
    pub in_reply_to: Option<String>,
    /// `References:` ids in order, without the angle brackets.
    pub references: Vec<String>,
    /// The first text body (mail-parser derives one from HTML if the message has no text part).
    pub text: String,
    /// The first HTML body, if the message has an HTML part.
    pub html: Option<String>,
    /// Attachments: (file name or "", "type/subtype", decoded bytes).
    pub attachments: Vec<(String, String, Vec<u8>)>,
    /// All header fields in order: (name as written, raw value unfolded and
    /// trimmed; encoded words are NOT decoded here, use the fields above).
    pub headers: Vec<(String, String)>,
}

impl Received {
    /// Parses a raw message; `uid` is whatever the caller knows (0 if none).
    pub fn parse(uid: u32, raw: Vec<u8>) -> Received {
        let parser = mail_parser::MessageParser::default();
        let Some(msg) = parser.parse(&raw[..]) else {
            return Received {
                uid,
                subject: String::new(),
                from: String::new(),
                to: Vec::new(),
                cc: Vec::new(),
                reply_to: None,
                message_id: None,
                in_reply_to: None,
                references: Vec::new(),
                text: String::from_utf8_lossy(&raw).into_owned(),
                html: None,
                attachments: Vec::new(),
                headers: Vec::new(),
                raw,
            };
        };
        let addrs = |a: Option<&mail_parser::Address>| -> Vec<String> {
            a.map(|a| {
                a.iter()
                    .filter_map(|x| x.address().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
        };
        let first = |a: Option<&mail_parser::Address>| -> Option<String> {
            a.and_then(|a| a.first())
                .and_then(|x| x.address())
                .map(str::to_owned)
        };
        let ids = |v: &mail_parser::HeaderValue| -> Vec<String> {
            match v {
                mail_parser::HeaderValue::Text(t) => vec![t.to_string()],
                mail_parser::HeaderValue::TextList(l) => l.iter().map(|t| t.to_string()).collect(),
                _ => Vec::new(),
            }
        };
        let attachments = msg
            .attachments()
            .map(|part| {
                use mail_parser::MimeHeaders;
                let name = part.attachment_name().unwrap_or("").to_owned();
                let ctype = part
                    .content_type()
                    .map(|ct| match ct.subtype() {
                        Some(sub) => format!("{}/{}", ct.ctype(), sub),
                        None => ct.ctype().to_owned(),
                    })
                    .unwrap_or_else(|| "application/octet-stream".to_owned());
                (name, ctype, part.contents().to_vec())
            })
            .collect();
        let headers = msg
            .headers_raw()
            .map(|(name, value)| (name.to_owned(), unfold(value)))
            .collect();
        Received {
            uid,
            subject: msg.subject().unwrap_or("").to_owned(),
            from: first(msg.from()).unwrap_or_default(),
            to: addrs(msg.to()),
            cc: addrs(msg.cc()),
            reply_to: first(msg.reply_to()),
            message_id: msg.message_id().map(str::to_owned),
            in_reply_to: ids(msg.in_reply_to()).into_iter().next(),
            references: ids(msg.references()),
            text: msg.body_text(0).map(|t| t.into_owned()).unwrap_or_default(),
            html: msg.body_html(0).map(|t| t.into_owned()),
            attachments,
            headers,
            raw: raw.clone(),
        }
    }

    /// The raw (unfolded, trimmed) value of the first header field called
    /// `name`, case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// All raw values of the header fields called `name`, in order.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// One line for failure messages.
    pub fn summary(&self) -> String {
        format!(
            "uid {} from <{}> to {:?} subject {:?} message-id {:?}",
            self.uid, self.from, self.to, self.subject, self.message_id
        )
    }
}

/// RFC 5322 unfolding (drop the line breaks, keep the blanks after them), trimmed.
fn unfold(value: &str) -> String {
    value
        .replace("\r\n", "")
        .replace('\n', "")
        .trim()
        .to_owned()
}

/// How a stack's Dovecot differs from the default one (`MailStack::start`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DovecotOptions {
    /// The personal namespace's `prefix`: `""` by default, `"INBOX."` as Courier and older
    /// Cyrus (every mailbox but INBOX under it; Dovecot refuses names outside it).
    pub prefix: String,
    /// The namespace's hierarchy `separator`: `.` by default, `|` as Yandex. Dovecot 2.3
    /// maps it to Maildir++'s `.` on disk, so Maildir needs no other layout.
    pub separator: char,
    /// `imap_capability`: the capability list after login, replacing Dovecot's own
    /// (commands still work; a client must simply not use what is not listed).
    pub imap_capability: Option<String>,
}

impl Default for DovecotOptions {
    fn default() -> Self {
        DovecotOptions {
            prefix: String::new(),
            separator: '.',
            imap_capability: None,
        }
    }
}

impl DovecotOptions {
    /// An older server's capabilities after login: IDLE, but no MOVE, UIDPLUS or NAMESPACE.
    pub const OLD_SERVER_CAPABILITIES: &str =
        "IMAP4rev1 LITERAL+ SASL-IR LOGIN-REFERRALS ID ENABLE IDLE UNSELECT CHILDREN";
}

/// A running Dovecot + Postfix pair. See the module docs.
pub struct MailStack {
    root: PathBuf,
    options: DovecotOptions,
    imap_port: u16,
    imaps_port: u16,
    smtp_port: u16,
    submission_port: u16,
    smtps_port: u16,
    ca_pem: PathBuf,
    dovecot: Mutex<Option<Server>>,
    postfix: Mutex<Option<Server>>,
    /// Removes the dir when dropped (after `Drop for MailStack` stopped the servers).
    _dir: tempfile::TempDir,
}

impl std::fmt::Debug for MailStack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailStack")
            .field("root", &self.root)
            .field("imap_port", &self.imap_port)
            .field("imaps_port", &self.imaps_port)
            .field("smtp_port", &self.smtp_port)
            .field("submission_port", &self.submission_port)
            .field("smtps_port", &self.smtps_port)
            .finish()
    }
}

impl MailStack {
    /// The test domain: every local part of it exists.
    pub const DOMAIN: &str = "otklik.test";
    /// The password of every user, for IMAP and for SMTP AUTH.
    pub const PASSWORD: &str = "otklik-test-password";
    /// The name the servers call themselves (it is also in the TLS certificate).
    pub const HOSTNAME: &str = "mx.otklik.test";

    /// Starts a fresh, isolated stack. Panics with a clear message (and the
    /// servers' logs) if it cannot; retries with new ports when a port was
    /// taken between choosing and binding it.
    pub fn start() -> MailStack {
        Self::start_with(DovecotOptions::default())
    }

    /// Like [`MailStack::start`], with Dovecot set up as `options` say.
    pub fn start_with(options: DovecotOptions) -> MailStack {
        preflight();
        reap_stale_stacks();
        let mut errors = Vec::new();
        for _attempt in 0..3 {
            match Self::try_start(&options) {
                Ok(stack) => return stack,
                Err(e) => errors.push(e),
            }
        }
        panic!(
            "MailStack::start failed three times:\n{}",
            errors.join("\n---- next attempt ----\n")
        );
    }

    /// One stack for the whole test binary, started on first use and shared
    /// by its tests (which then must use their own user names); stopped when
    /// the test binary exits (an `atexit` handler: statics are never dropped).
    /// Cheaper than a stack per test, but one test's outage (`stop_postfix`…)
    /// is every test's outage: outage tests take their own `start()`.
    pub fn shared() -> &'static MailStack {
        SHARED.get_or_init(|| {
            let stack = MailStack::start();
            extern "C" fn stop_shared() {
                if let Some(stack) = SHARED.get() {
                    stack.shutdown();
                    let _ = fs::remove_dir_all(&stack.root);
                }
            }
            // SAFETY: registers a plain function; it runs once, at exit.
            unsafe {
                libc::atexit(stop_shared);
            }
            stack
        })
    }

    /// Stops both servers and anything else of this stack (Drop does this).
    fn shutdown(&self) {
        stop_child(&self.postfix, "postfix", StopBy::Master);
        stop_child(&self.dovecot, "dovecot", StopBy::Group);
        // belt and braces: anything else still naming this stack's dir
        kill_processes_mentioning(&self.root);
    }

    fn try_start(options: &DovecotOptions) -> Result<MailStack, String> {
        let dir = tempfile::Builder::new()
            .prefix(STACK_PREFIX)
            .tempdir_in("/tmp")
            .map_err(|e| format!("cannot create the stack dir in /tmp: {e}"))?;
        let root = dir.path().to_path_buf();
        // Dovecot's and Postfix's unprivileged users must traverse it.
        fs::set_permissions(&root, fs::Permissions::from_mode(0o755))
            .map_err(|e| format!("chmod {}: {e}", root.display()))?;
        fs::write(root.join("owner"), owner_stamp())
            .map_err(|e| format!("cannot write the owner stamp: {e}"))?;
        let [
            imap_port,
            imaps_port,
            smtp_port,
            submission_port,
            smtps_port,
        ] = free_ports::<5>()?;
        let stack = MailStack {
            options: options.clone(),
            ca_pem: root.join("tls").join("ca.pem"),
            root,
            imap_port,
            imaps_port,
            smtp_port,
            submission_port,
            smtps_port,
            dovecot: Mutex::new(None),
            postfix: Mutex::new(None),
            _dir: dir,
        };
        // From here on, Drop of `stack` cleans up whatever got started.
        stack.make_tls()?;
        stack.write_dovecot_config()?;
        stack.write_postfix_config()?;
        // both start at once; Postfix needs Dovecot only when mail arrives
        stack.spawn_dovecot()?;
        stack.spawn_postfix()?;
        stack.wait_dovecot()?;
        stack.wait_postfix()?;
        Ok(stack)
    }

    // ---------------------------------------------------------------- facts

    /// `user@otklik.test` (a `user` that already has an `@` is returned as is).
    pub fn addr(&self, user: &str) -> String {
        if user.contains('@') {
            user.to_owned()
        } else {
            format!("{user}@{}", Self::DOMAIN)
        }
    }

    /// `otklik/processed` → `otklik.processed` (this stack's separator; no prefix added).
    pub fn server_mailbox(&self, name: &str) -> String {
        name.replace('/', &self.options.separator.to_string())
    }

    /// The loopback host every port listens on.
    pub fn host(&self) -> &'static str {
        "127.0.0.1"
    }
    /// IMAP, plain with STARTTLS offered.
    pub fn imap_port(&self) -> u16 {
        self.imap_port
    }
    /// IMAP over implicit TLS.
    pub fn imaps_port(&self) -> u16 {
        self.imaps_port
    }
    /// SMTP without AUTH: accepts mail for the test domain from anyone
    /// (STARTTLS offered). What test actors use.
    pub fn smtp_port(&self) -> u16 {
        self.smtp_port
    }
    /// SMTP submission: STARTTLS required, then AUTH (PLAIN/LOGIN, checked by
    /// Dovecot) required before any mail is accepted.
    pub fn submission_port(&self) -> u16 {
        self.submission_port
    }
    /// SMTP over implicit TLS, AUTH required.
    pub fn smtps_port(&self) -> u16 {
        self.smtps_port
    }
    /// The self-signed CA certificate (PEM) that signed the servers'
    /// certificate (names: `localhost`, `mx.otklik.test`, IP 127.0.0.1): trust it.
    pub fn ca_pem_path(&self) -> &Path {
        &self.ca_pem
    }
    /// The stack's temp dir (configs, logs, Maildirs under `mail/<user>`).
    pub fn root(&self) -> &Path {
        &self.root
    }
    /// The Maildir of `user`.
    pub fn maildir(&self, user: &str) -> PathBuf {
        let local = user.split('@').next().unwrap_or(user).to_lowercase();
        self.root.join("mail").join(local)
    }
    /// Postfix's log so far.
    pub fn postfix_log(&self) -> String {
        fs::read_to_string(self.root.join("postfix").join("maillog")).unwrap_or_default()
    }
    /// Dovecot's log so far.
    pub fn dovecot_log(&self) -> String {
        fs::read_to_string(self.root.join("dovecot").join("dovecot.log")).unwrap_or_default()
    }

    /// For each finished IMAP session of `user` (logged out or disconnected), in order, the
    /// bytes Dovecot sent to the client (`out=` of its log line): shows whether a client
    /// downloaded a message or not. Sessions still open are not listed.
    pub fn imap_bytes_sent(&self, user: &str) -> Vec<u64> {
        let local = user.split('@').next().unwrap_or(user).to_lowercase();
        let session = format!("imap({local})<");
        self.dovecot_log()
            .lines()
            .filter(|l| l.contains(&session) && l.contains("Disconnected"))
            .filter_map(|l| {
                l.split_whitespace()
                    .find_map(|w| w.strip_prefix("out="))
                    .and_then(|n| n.parse().ok())
            })
            .collect()
    }

    /// A rustls client config that trusts only this stack's CA (ring provider).
    pub fn tls_client_config(&self) -> std::sync::Arc<tokio_rustls::rustls::ClientConfig> {
        use tokio_rustls::rustls;
        let pem = fs::read(self.ca_pem_path())
            .unwrap_or_else(|e| panic!("read {}: {e}", self.ca_pem_path().display()));
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_pemfile::certs(&mut &pem[..]) {
            let cert = cert.unwrap_or_else(|e| panic!("bad PEM in the test CA: {e}"));
            roots
                .add(cert)
                .unwrap_or_else(|e| panic!("test CA refused by rustls: {e}"));
        }
        let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap_or_else(|e| panic!("rustls protocol versions: {e}"))
        .with_root_certificates(roots)
        .with_no_client_auth();
        std::sync::Arc::new(config)
    }

    /// lettre's TLS parameters for this stack's SMTP ports (server name
    /// `localhost`, trusting only the stack's CA).
    pub fn smtp_tls_parameters(&self) -> lettre::transport::smtp::client::TlsParameters {
        let pem = fs::read(self.ca_pem_path())
            .unwrap_or_else(|e| panic!("read {}: {e}", self.ca_pem_path().display()));
        let ca = lettre::transport::smtp::client::Certificate::from_pem(&pem)
            .unwrap_or_else(|e| panic!("test CA refused by lettre: {e}"));
        lettre::transport::smtp::client::TlsParameters::builder("localhost".into())
            .add_root_certificate(ca)
            .build_rustls()
            .unwrap_or_else(|e| panic!("lettre TLS parameters: {e}"))
    }

    // ----------------------------------------------------------------- SMTP

    /// Sends `raw` over SMTP (the plain `smtp_port`, no AUTH) with the given
    /// envelope (bare user names get `@otklik.test`; an empty `from` is the
    /// null sender `<>`). It arrives byte for byte as given, after the trace
    /// headers Postfix and Dovecot prepend (Postfix adds `Date:`/`Message-ID:`
    /// only if missing). Panics if the server refuses it.
    pub async fn send(&self, from: &str, to: &[&str], raw: &[u8]) {
        if let Err(e) = self.try_send(from, to, raw).await {
            panic!(
                "SMTP send from {from} to {to:?} failed: {e}\n--- postfix log tail ---\n{}",
                tail(&self.postfix_log(), 20)
            );
        }
    }

    /// Like [`MailStack::send`], but returns the server's refusal as text
    /// (e.g. a recipient outside the test domain: "Relay access denied").
    pub async fn try_send(&self, from: &str, to: &[&str], raw: &[u8]) -> Result<(), String> {
        use lettre::AsyncTransport;
        let from = if from.is_empty() {
            None
        } else {
            Some(
                self.addr(from)
                    .parse::<lettre::Address>()
                    .map_err(|e| format!("bad envelope sender {from:?}: {e}"))?,
            )
        };
        let to = to
            .iter()
            .map(|t| {
                self.addr(t)
                    .parse::<lettre::Address>()
                    .map_err(|e| format!("bad envelope recipient {t:?}: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let envelope = lettre::address::Envelope::new(from, to).map_err(|e| e.to_string())?;
        let transport: lettre::AsyncSmtpTransport<lettre::Tokio1Executor> =
            lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous(self.host())
                .port(self.smtp_port)
                .timeout(Some(SERVER_DEADLINE))
                .build();
        // lettre always ends the DATA with "\r\n.\r\n": a message's own final
        // line break would arrive as an extra empty line
        let raw = raw
            .strip_suffix(b"\r\n")
            .or_else(|| raw.strip_suffix(b"\n"))
            .unwrap_or(raw);
        transport
            .send_raw(&envelope, raw)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// Replies to `to` as `from_user`: `Re: <subject>`, `In-Reply-To` and
    /// `References` kept, plain UTF-8 text; sent to its `Reply-To` or `From`.
    /// Returns the reply's Message-ID (without angle brackets).
    pub async fn reply(&self, from_user: &str, to: &Received, body: &str) -> String {
        let subject = if to.subject.to_lowercase().starts_with("re:") {
            to.subject.clone()
        } else {
            format!("Re: {}", to.subject)
        };
        self.reply_with(from_user, to, &subject, body, true).await
    }

    /// A reply with the given subject; threading headers only when
    /// `keep_threading` (to test mail that lost them). Returns its Message-ID.
    pub async fn reply_with(
        &self,
        from_user: &str,
        to: &Received,
        subject: &str,
        body: &str,
        keep_threading: bool,
    ) -> String {
        let target = to.reply_to.clone().unwrap_or_else(|| to.from.clone());
        assert!(
            !target.is_empty(),
            "cannot reply to a message without From/Reply-To: {}",
            to.summary()
        );
        let id = self.new_message_id();
        let raw = self.compose(
            &self.addr(from_user),
            &[&target],
            subject,
            body,
            &id,
            if keep_threading { Some(to) } else { None },
        );
        self.send(&self.addr(from_user), &[&target], &raw).await;
        id
    }

    /// A fresh Message-ID (without angle brackets) in the test domain.
    pub fn new_message_id(&self) -> String {
        format!(
            "{:016x}.{}@{}",
            rand::random::<u64>(),
            std::process::id(),
            Self::DOMAIN
        )
    }

    /// Builds a plain-text UTF-8 message (lettre does the encoding), threaded
    /// under `parent` if given. `message_id` is without angle brackets.
    pub fn compose(
        &self,
        from: &str,
        to: &[&str],
        subject: &str,
        body: &str,
        message_id: &str,
        parent: Option<&Received>,
    ) -> Vec<u8> {
        let mut b = lettre::Message::builder()
            .from(self.addr(from).parse().expect("from address"))
            .subject(subject)
            .message_id(Some(format!("<{message_id}>")))
            .header(lettre::message::header::ContentType::TEXT_PLAIN);
        for t in to {
            b = b.to(self.addr(t).parse().expect("to address"));
        }
        if let Some(p) = parent
            && let Some(pid) = &p.message_id
        {
            b = b.in_reply_to(format!("<{pid}>"));
            let mut refs: Vec<String> = p.references.iter().map(|r| format!("<{r}>")).collect();
            refs.push(format!("<{pid}>"));
            b = b.references(refs.join(" "));
        }
        b.body(body.to_owned()).expect("build message").formatted()
    }

    // ----------------------------------------------------------------- IMAP

    /// A logged-in IMAP session for `user` over plain TCP.
    pub async fn imap(&self, user: &str) -> ImapSession {
        match self.try_imap(user).await {
            Ok(s) => s,
            Err(e) => panic!(
                "IMAP login as {user} failed: {e}\n--- dovecot log tail ---\n{}",
                tail(&self.dovecot_log(), 20)
            ),
        }
    }

    /// Like [`MailStack::imap`], returning the failure as text.
    pub async fn try_imap(&self, user: &str) -> Result<ImapSession, String> {
        tokio::time::timeout(SERVER_DEADLINE, async {
            let tcp = tokio::net::TcpStream::connect((self.host(), self.imap_port))
                .await
                .map_err(|e| format!("connect to IMAP port {}: {e}", self.imap_port))?;
            let mut client = async_imap::Client::new(tcp);
            match client.read_response().await {
                Ok(Some(_greeting)) => {}
                Ok(None) => return Err("IMAP server closed before its greeting".into()),
                Err(e) => return Err(format!("reading the IMAP greeting: {e}")),
            }
            client
                .login(self.addr(user), Self::PASSWORD)
                .await
                .map_err(|(e, _)| format!("LOGIN: {e}"))
        })
        .await
        .unwrap_or_else(|_| Err(format!("IMAP login: no answer within {SERVER_DEADLINE:?}")))
    }

    /// A logged-in IMAP session for `user` over TLS, verified against the
    /// stack's CA with server name `localhost`: implicit TLS on
    /// `imaps_port`, or STARTTLS on `imap_port`. Errors as text.
    pub async fn try_imap_tls(&self, user: &str, mode: TlsMode) -> Result<TlsImapSession, String> {
        tokio::time::timeout(SERVER_DEADLINE, async {
            let port = match mode {
                TlsMode::Implicit => self.imaps_port,
                TlsMode::StartTls => self.imap_port,
            };
            let mut tcp = tokio::net::TcpStream::connect((self.host(), port))
                .await
                .map_err(|e| format!("connect to port {port}: {e}"))?;
            if mode == TlsMode::StartTls {
                let mut client = async_imap::Client::new(tcp);
                match client.read_response().await {
                    Ok(Some(_greeting)) => {}
                    Ok(None) => return Err("IMAP server closed before its greeting".into()),
                    Err(e) => return Err(format!("reading the IMAP greeting: {e}")),
                }
                client
                    .run_command_and_check_ok("STARTTLS", None)
                    .await
                    .map_err(|e| format!("STARTTLS: {e}"))?;
                tcp = client.into_inner();
            }
            let name = tokio_rustls::rustls::pki_types::ServerName::try_from("localhost")
                .map_err(|e| e.to_string())?;
            let tls = tokio_rustls::TlsConnector::from(self.tls_client_config())
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS handshake: {e}"))?;
            let mut client = async_imap::Client::new(tls);
            if mode == TlsMode::Implicit {
                // no greeting after STARTTLS; one after an implicit-TLS handshake
                match client.read_response().await {
                    Ok(Some(_greeting)) => {}
                    Ok(None) => return Err("IMAP server closed before its greeting".into()),
                    Err(e) => return Err(format!("reading the IMAP greeting: {e}")),
                }
            }
            client
                .login(self.addr(user), Self::PASSWORD)
                .await
                .map_err(|(e, _)| format!("LOGIN: {e}"))
        })
        .await
        .unwrap_or_else(|_| {
            Err(format!(
                "IMAP login over TLS: no answer within {SERVER_DEADLINE:?}"
            ))
        })
    }

    /// APPENDs `raw` to `mailbox` of `user` (the mailbox is created if missing).
    pub async fn append(&self, user: &str, mailbox: &str, raw: &[u8]) {
        self.append_flagged(user, mailbox, None, raw).await
    }

    /// [`MailStack::append`] with the message's flags set, e.g. `Some("(\\Deleted)")`: as
    /// another client would have left it.
    pub async fn append_flagged(&self, user: &str, mailbox: &str, flags: Option<&str>, raw: &[u8]) {
        within("APPEND", async {
            let mailbox = self.server_mailbox(mailbox);
            let mut s = self.imap(user).await;
            if !mailbox.eq_ignore_ascii_case("INBOX") {
                // "already exists" is fine
                let _ = s.create(&mailbox).await;
            }
            if let Err(e) = s.append(&mailbox, flags, None, raw).await {
                panic!("APPEND to {user}/{mailbox} failed: {e}");
            }
            let _ = s.logout().await;
        })
        .await
    }

    /// Every message in `mailbox` of `user` with its flags (`\Deleted`, `$Keyword`…; not
    /// `\Recent`), oldest first. Read-only, like [`MailStack::fetch_all`].
    pub async fn fetch_all_with_flags(
        &self,
        user: &str,
        mailbox: &str,
    ) -> Vec<(Received, Vec<String>)> {
        within("FETCH FLAGS", async {
            let mailbox = self.server_mailbox(mailbox);
            let mut s = self.imap(user).await;
            let mb = s
                .examine(&mailbox)
                .await
                .unwrap_or_else(|e| panic!("EXAMINE {user}/{mailbox} failed: {e}"));
            let mut got = Vec::new();
            if mb.exists > 0 {
                let fetches: Vec<async_imap::types::Fetch> =
                    match s.uid_fetch("1:*", "(UID FLAGS BODY.PEEK[])").await {
                        Ok(stream) => stream.try_collect().await,
                        Err(e) => Err(e),
                    }
                    .unwrap_or_else(|e| panic!("FETCH in {user}/{mailbox} failed: {e}"));
                for f in &fetches {
                    let (Some(uid), Some(body)) = (f.uid, f.body()) else {
                        continue;
                    };
                    let flags = f
                        .flags()
                        .filter_map(|flag| {
                            use async_imap::types::Flag;
                            Some(match flag {
                                Flag::Seen => "\\Seen".to_owned(),
                                Flag::Answered => "\\Answered".to_owned(),
                                Flag::Flagged => "\\Flagged".to_owned(),
                                Flag::Deleted => "\\Deleted".to_owned(),
                                Flag::Draft => "\\Draft".to_owned(),
                                Flag::Recent | Flag::MayCreate => return None,
                                Flag::Custom(c) => c.into_owned(),
                            })
                        })
                        .collect();
                    got.push((Received::parse(uid, body.to_vec()), flags));
                }
            }
            got.sort_by_key(|(m, _)| m.uid);
            let _ = s.logout().await;
            got
        })
        .await
    }

    /// Changes flags as another client would: `what` is e.g. `-FLAGS (\Deleted)`.
    pub async fn store_flags(&self, user: &str, mailbox: &str, uid: u32, what: &str) {
        within("STORE", async {
            let mailbox = self.server_mailbox(mailbox);
            let mut s = self.imap(user).await;
            if let Err(e) = s.select(&mailbox).await {
                panic!("SELECT {user}/{mailbox} failed: {e}");
            }
            let stored: Result<Vec<_>, _> = match s.uid_store(uid.to_string(), what).await {
                Ok(stream) => stream.try_collect().await,
                Err(e) => Err(e),
            };
            if let Err(e) = stored {
                panic!("STORE {what} on {user}/{mailbox} uid {uid} failed: {e}");
            }
            let _ = s.logout().await;
        })
        .await
    }

    /// Every message in `mailbox` of `user`, oldest first (empty when the
    /// mailbox does not exist). Read-only: flags, \Seen included, stay as they are.
    pub async fn fetch_all(&self, user: &str, mailbox: &str) -> Vec<Received> {
        within("FETCH", async {
            let mut s = self.imap(user).await;
            let got = fetch_since(&mut s, &self.server_mailbox(mailbox), 1)
                .await
                .unwrap_or_default();
            let _ = s.logout().await;
            got
        })
        .await
    }

    /// Waits until a message matching `pred` is in `mailbox` of `user` (messages
    /// already there count too) and returns the oldest such. `timeout` is a
    /// deadline that only fails a hung test: on it, panics listing what WAS
    /// there, the user's mailboxes and the servers' log tails.
    pub async fn wait_for(
        &self,
        user: &str,
        mailbox: &str,
        pred: impl Fn(&Received) -> bool,
        timeout: Duration,
    ) -> Received {
        let mut found = None;
        let seen = self
            .poll(user, mailbox, timeout, |all| {
                found = all.iter().find(|m| pred(m)).cloned();
                found.is_some()
            })
            .await;
        match found {
            Some(m) => m,
            None => {
                self.timeout_panic(user, mailbox, timeout, "a matching message", &seen)
                    .await
            }
        }
    }

    /// Waits until `mailbox` of `user` holds at least `n` messages and returns
    /// all of them, oldest first. Panics on `timeout` like [`MailStack::wait_for`].
    pub async fn wait_for_count(
        &self,
        user: &str,
        mailbox: &str,
        n: usize,
        timeout: Duration,
    ) -> Vec<Received> {
        let seen = self
            .poll(user, mailbox, timeout, |all| all.len() >= n)
            .await;
        if seen.len() >= n {
            seen
        } else {
            self.timeout_panic(user, mailbox, timeout, &format!("{n} messages"), &seen)
                .await
        }
    }

    /// Polls (EXAMINE + UID FETCH of new messages) until `done` says so or the
    /// deadline passes; returns everything seen.
    async fn poll(
        &self,
        user: &str,
        mailbox: &str,
        timeout: Duration,
        mut done: impl FnMut(&[Received]) -> bool,
    ) -> Vec<Received> {
        let mailbox = self.server_mailbox(mailbox);
        let deadline = Instant::now() + timeout;
        let mut seen: Vec<Received> = Vec::new();
        let mut session: Option<ImapSession> = None;
        loop {
            if session.is_none() {
                // the server may be down (outage tests); keep trying until the deadline
                session = self.try_imap(user).await.ok();
            }
            if let Some(s) = session.as_mut() {
                let next = seen.last().map(|m| m.uid + 1).unwrap_or(1);
                match tokio::time::timeout(SERVER_DEADLINE, fetch_since(s, &mailbox, next)).await {
                    Ok(Ok(new)) => seen.extend(new),
                    Ok(Err(FetchError::NoMailbox)) => {}
                    Ok(Err(FetchError::Imap(e))) => {
                        eprintln!("{user}: IMAP error while waiting, reconnecting: {e}");
                        session = None;
                    }
                    Err(_) => session = None,
                }
            }
            if done(&seen) || Instant::now() >= deadline {
                if let Some(mut s) = session {
                    let _ = s.logout().await;
                }
                return seen;
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
    }

    async fn timeout_panic(
        &self,
        user: &str,
        mailbox: &str,
        timeout: Duration,
        what: &str,
        seen: &[Received],
    ) -> ! {
        let mut msg = format!(
            "timed out after {timeout:?} waiting for {what} in {user}/{mailbox}; it held {}:\n",
            seen.len()
        );
        for m in seen {
            let _ = writeln!(msg, "  {}", m.summary());
        }
        if let Ok(mut s) = self.try_imap(user).await
            && let Ok(names) = list_mailboxes(&mut s).await
        {
            let _ = writeln!(msg, "mailboxes of {user}: {names:?}");
        }
        let _ = write!(
            msg,
            "--- postfix log tail ---\n{}\n--- dovecot log tail ---\n{}",
            tail(&self.postfix_log(), 15),
            tail(&self.dovecot_log(), 15)
        );
        panic!("{msg}");
    }

    /// The names of `user`'s mailboxes (server names, `.`-separated).
    pub async fn mailboxes(&self, user: &str) -> Vec<String> {
        within("LIST", async {
            let mut s = self.imap(user).await;
            let names = list_mailboxes(&mut s)
                .await
                .unwrap_or_else(|e| panic!("LIST for {user} failed: {e}"));
            let _ = s.logout().await;
            names
        })
        .await
    }

    /// Empties every mailbox of `user` (the mailboxes stay).
    pub async fn reset(&self, user: &str) {
        within("reset", async {
            let mut s = self.imap(user).await;
            let names = list_mailboxes(&mut s)
                .await
                .unwrap_or_else(|e| panic!("LIST for {user} failed: {e}"));
            for name in names {
                let Ok(mb) = s.select(&name).await else {
                    continue; // \Noselect parents
                };
                if mb.exists == 0 {
                    continue;
                }
                let stored: Result<Vec<_>, _> =
                    match s.uid_store("1:*", "+FLAGS.SILENT (\\Deleted)").await {
                        Ok(stream) => stream.try_collect().await,
                        Err(e) => Err(e),
                    };
                if let Err(e) = stored {
                    panic!("STORE \\Deleted in {user}/{name} failed: {e}");
                }
                let expunged: Result<Vec<_>, _> = match s.expunge().await {
                    Ok(stream) => stream.try_collect().await,
                    Err(e) => Err(e),
                };
                if let Err(e) = expunged {
                    panic!("EXPUNGE in {user}/{name} failed: {e}");
                }
            }
            let _ = s.logout().await;
        })
        .await
    }

    // -------------------------------------------------------------- outages

    /// Stops Postfix (SMTP refused from now on; mail already queued stays queued).
    pub fn stop_postfix(&self) {
        stop_child(&self.postfix, "postfix", StopBy::Master);
    }
    /// Starts Postfix again on the same ports with the same queue.
    pub fn start_postfix(&self) {
        if let Err(e) = self.spawn_postfix().and_then(|()| self.wait_postfix()) {
            panic!("restarting postfix failed: {e}");
        }
    }
    /// Stops Dovecot (IMAP refused; Postfix defers LMTP deliveries and retries
    /// them every second or so once Dovecot is back — or call [`MailStack::flush_queue`]).
    pub fn stop_dovecot(&self) {
        stop_child(&self.dovecot, "dovecot", StopBy::Group);
    }
    /// Starts Dovecot again on the same ports with the same mail.
    pub fn start_dovecot(&self) {
        if let Err(e) = self.spawn_dovecot().and_then(|()| self.wait_dovecot()) {
            panic!("restarting dovecot failed: {e}");
        }
    }
    /// Postfix refuses mail to `addr` at RCPT TO from now on (`550 5.1.1`, as for a mailbox
    /// that does not exist), until [`MailStack::accept_recipient`]. Postfix is restarted,
    /// so that no SMTP server process (one held by a client's pooled connection) keeps
    /// the old list.
    pub fn refuse_recipient(&self, addr: &str) {
        let path = self.postfix_conf_dir().join("refused_recipients");
        let mut list = fs::read_to_string(&path).unwrap_or_default();
        list.push_str(&format!("{addr} 550 5.1.1 no such mailbox\n"));
        fs::write(&path, list).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        self.stop_postfix();
        self.start_postfix();
    }
    /// Undoes [`MailStack::refuse_recipient`] (restarting Postfix).
    pub fn accept_recipient(&self, addr: &str) {
        let path = self.postfix_conf_dir().join("refused_recipients");
        let list: String = fs::read_to_string(&path)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.split_whitespace().next() != Some(addr))
            .map(|l| format!("{l}\n"))
            .collect();
        fs::write(&path, list).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        self.stop_postfix();
        self.start_postfix();
    }
    /// Asks Postfix to retry every deferred message now.
    pub fn flush_queue(&self) {
        let out = Command::new(POSTFIX_BIN)
            .arg("-c")
            .arg(self.postfix_conf_dir())
            .arg("flush")
            .stdin(Stdio::null())
            .output();
        match out {
            Ok(o) if o.status.success() => {}
            Ok(o) => panic!(
                "postfix flush failed: {}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => panic!("cannot run postfix flush: {e}"),
        }
    }
    /// How many messages Postfix holds in its queue (not yet delivered).
    pub fn queued(&self) -> usize {
        let queue = self.root.join("postfix").join("queue");
        ["incoming", "active", "deferred", "hold", "maildrop"]
            .iter()
            .map(|q| count_files(&queue.join(q)))
            .sum()
    }

    // -------------------------------------------------------------- innards

    /// This stack's name (its dir's), put in both servers' greetings.
    fn token(&self) -> String {
        self.root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
    fn dovecot_dir(&self) -> PathBuf {
        self.root.join("dovecot")
    }
    fn postfix_dir(&self) -> PathBuf {
        self.root.join("postfix")
    }
    fn postfix_conf_dir(&self) -> PathBuf {
        self.postfix_dir().join("conf")
    }
    fn dovecot_base_dir(&self) -> PathBuf {
        self.dovecot_dir().join("run")
    }
}

// ------------------------------------------------------------------ setup

impl MailStack {
    /// Copies the process-wide certificate set into this stack's `tls/`.
    fn make_tls(&self) -> Result<(), String> {
        static CERTS: OnceLock<Result<PathBuf, String>> = OnceLock::new();
        let source = CERTS.get_or_init(make_certificates).clone()?;
        let tls = self.root.join("tls");
        fs::create_dir_all(&tls).map_err(|e| format!("mkdir {}: {e}", tls.display()))?;
        for name in ["ca.pem", "cert.pem", "key.pem"] {
            fs::copy(source.join(name), tls.join(name))
                .map_err(|e| format!("copy {name} into {}: {e}", tls.display()))?;
        }
        Ok(())
    }
}

/// Makes a CA and a server certificate signed by it, once per test process,
/// in a dir of its own under /tmp (reaped by a later run's `start()`: a
/// static is never dropped).
fn make_certificates() -> Result<PathBuf, String> {
    let dir = tempfile::Builder::new()
        .prefix(&format!("{STACK_PREFIX}tls-"))
        .tempdir_in("/tmp")
        .map_err(|e| format!("cannot create the certificate dir in /tmp: {e}"))?
        .keep();
    fs::write(dir.join("owner"), owner_stamp())
        .map_err(|e| format!("cannot write the owner stamp: {e}"))?;
    static CERT_DIR: OnceLock<PathBuf> = OnceLock::new();
    extern "C" fn remove_cert_dir() {
        if let Some(dir) = CERT_DIR.get() {
            let _ = fs::remove_dir_all(dir);
        }
    }
    if CERT_DIR.set(dir.clone()).is_ok() {
        // SAFETY: registers a plain function; it runs once, at exit.
        unsafe {
            libc::atexit(remove_cert_dir);
        }
    }
    {
        let tls = dir.clone();
        let ext = tls.join("server.ext");
        fs::write(
            &ext,
            format!(
                "basicConstraints = critical, CA:FALSE\n\
                 keyUsage = critical, digitalSignature, keyEncipherment\n\
                 extendedKeyUsage = serverAuth\n\
                 subjectAltName = DNS:localhost, DNS:{}, IP:127.0.0.1\n",
                MailStack::HOSTNAME
            ),
        )
        .map_err(|e| format!("write {}: {e}", ext.display()))?;
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        run_tool(
            Command::new(OPENSSL_BIN)
                .current_dir(&tls)
                .args(["req", "-x509"])
                .args(ec)
                .args(["-keyout", "ca.key", "-out", "ca.pem", "-days", "3650"])
                .args(["-subj", "/CN=otklik test CA"])
                .args(["-addext", "basicConstraints=critical,CA:TRUE"])
                .args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"]),
            "openssl req (CA)",
        )?;
        run_tool(
            Command::new(OPENSSL_BIN)
                .current_dir(&tls)
                .arg("req")
                .args(ec)
                .args(["-keyout", "key.pem", "-out", "server.csr", "-subj"])
                .arg(format!("/CN={}", MailStack::HOSTNAME)),
            "openssl req (server)",
        )?;
        run_tool(
            Command::new(OPENSSL_BIN)
                .current_dir(&tls)
                .args([
                    "x509",
                    "-req",
                    "-in",
                    "server.csr",
                    "-CA",
                    "ca.pem",
                    "-CAkey",
                    "ca.key",
                ])
                .args([
                    "-set_serial",
                    "2",
                    "-days",
                    "3650",
                    "-extfile",
                    "server.ext",
                ])
                .args(["-out", "cert.pem"]),
            "openssl x509 (sign server)",
        )?;
    }
    Ok(dir)
}

impl MailStack {
    fn write_dovecot_config(&self) -> Result<(), String> {
        let dir = self.dovecot_dir();
        let run = self.dovecot_base_dir();
        let state = dir.join("state");
        let mail = self.root.join("mail");
        for d in [&dir, &run, &state, &mail] {
            fs::create_dir_all(d).map_err(|e| format!("mkdir {}: {e}", d.display()))?;
        }
        let (mail_uid, mail_gid) = system_user("mail")?;
        std::os::unix::fs::chown(&mail, Some(mail_uid), Some(mail_gid))
            .map_err(|e| format!("chown mail {}: {e}", mail.display()))?;
        let log = dir.join("dovecot.log");
        let tls = self.root.join("tls");
        let conf = format!(
            r#"# generated by crates/otklik-testkit/src/mailstack.rs: an isolated Dovecot for otklik's tests
protocols = imap lmtp
listen = 127.0.0.1
base_dir = {run}
state_dir = {state}
instance_name = otklik-mailstack
log_path = {log}
info_log_path = {log}
log_timestamp = "%Y-%m-%d %H:%M:%S "
auth_verbose = yes
login_greeting = {token} ready
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 1
first_valid_gid = 1
mail_uid = mail
mail_gid = mail
mail_location = maildir:~/Maildir
auth_username_format = %Ln
auth_mechanisms = plain login
# tests try wrong passwords on purpose: no 2 s delay per failure
auth_failure_delay = 0
disable_plaintext_auth = no
ssl = yes
ssl_cert = <{tls}/cert.pem
ssl_key = <{tls}/key.pem
ssl_min_protocol = TLSv1.2

passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid=mail gid=mail home={mail}/%n
}}
namespace inbox {{
  inbox = yes
  prefix = {prefix}
  separator = {separator}
}}

service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps}
    ssl = yes
  }}
}}
service lmtp {{
  unix_listener lmtp {{
    mode = 0666
  }}
}}
# no growing penalty (2, 4, 8, 15 s) for the next login from 127.0.0.1 after a failed one
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service auth {{
  unix_listener auth-postfix {{
    mode = 0666
  }}
}}
protocol imap {{
  mail_max_userip_connections = 1000
{capability}}}
"#,
            run = run.display(),
            state = state.display(),
            log = log.display(),
            tls = tls.display(),
            mail = mail.display(),
            password = Self::PASSWORD,
            imap = self.imap_port,
            imaps = self.imaps_port,
            token = self.token(),
            prefix = self.options.prefix,
            separator = self.options.separator,
            capability = match &self.options.imap_capability {
                Some(caps) => format!("  imap_capability = {caps}\n"),
                None => String::new(),
            },
        );
        let path = dir.join("dovecot.conf");
        fs::write(&path, conf).map_err(|e| format!("write {}: {e}", path.display()))
    }

    fn spawn_dovecot(&self) -> Result<(), String> {
        let mut slot = lock(&self.dovecot);
        if slot.is_some() {
            return Ok(());
        }
        let dir = self.dovecot_dir();
        let out = open_append(&dir.join("stdout.log"))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let mut cmd = Command::new(DOVECOT_BIN);
        // -F: stay in the foreground as our child, so PDEATHSIG and Drop reach it.
        // Output to a file: Dovecot keeps the caller's stderr open otherwise.
        cmd.arg("-F")
            .arg("-c")
            .arg(dir.join("dovecot.conf"))
            .current_dir(&self.root)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        *slot = Some(spawn_server(cmd).map_err(|e| format!("cannot start {DOVECOT_BIN}: {e}"))?);
        Ok(())
    }

    fn wait_dovecot(&self) -> Result<(), String> {
        let mut slot = lock(&self.dovecot);
        let dir = self.dovecot_dir();
        let run = self.dovecot_base_dir();
        let port = self.imap_port;
        let token = self.token();
        wait_ready(&mut slot, "dovecot", || {
            run.join("lmtp").exists()
                && run.join("auth-postfix").exists()
                && greets(port, b"* OK", &token)
        })
        .map_err(|e| {
            format!(
                "{e}\n--- dovecot stdout/stderr ---\n{}\n--- dovecot log ---\n{}",
                fs::read_to_string(dir.join("stdout.log")).unwrap_or_default(),
                tail(&self.dovecot_log(), 30)
            )
        })
    }

    fn write_postfix_config(&self) -> Result<(), String> {
        let dir = self.postfix_dir();
        let conf = self.postfix_conf_dir();
        let queue = dir.join("queue");
        let data = dir.join("data");
        for d in [&dir, &conf, &queue, &data] {
            fs::create_dir_all(d).map_err(|e| format!("mkdir {}: {e}", d.display()))?;
        }
        let run = self.dovecot_base_dir();
        let tls = self.root.join("tls");
        let main_cf = format!(
            r#"# generated by crates/otklik-testkit/src/mailstack.rs: an isolated Postfix for otklik's tests
compatibility_level = 3.6
queue_directory = {queue}
data_directory = {data}
command_directory = /usr/sbin
daemon_directory = {daemon_dir}
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
# Postfix logs under /var by default, and fails silently elsewhere
maillog_file = {dir}/maillog
maillog_file_prefixes = {root}
myhostname = {hostname}
smtpd_banner = $myhostname ESMTP {token}
mydomain = {domain}
myorigin = $mydomain
# nothing local: no /etc/aliases, no NIS
mydestination =
alias_maps =
alias_database =
local_recipient_maps =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
# every local part of the test domain goes to Dovecot over LMTP ...
virtual_mailbox_domains = {domain}
virtual_transport = lmtp:unix:{run}/lmtp
# ... and nothing goes anywhere else
smtpd_relay_restrictions = reject_unauth_destination
# addresses refused as if they did not exist (MailStack::refuse_recipient)
smtpd_recipient_restrictions = check_recipient_access texthash:{conf}/refused_recipients
default_transport = error:mail outside {domain} is not relayed in tests
relay_transport = error:mail outside {domain} is not relayed in tests
# SMTP AUTH (submission and smtps ports) is checked by Dovecot
smtpd_sasl_type = dovecot
smtpd_sasl_path = {run}/auth-postfix
smtpd_tls_cert_file = {tls}/cert.pem
smtpd_tls_key_file = {tls}/key.pem
smtpd_tls_security_level = may
smtp_tls_security_level = none
smtputf8_enable = yes
biff = no
append_dot_mydomain = no
readme_directory = no
message_size_limit = 52428800
# tests: retry deferred mail quickly once Dovecot is back, never slow clients down
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
in_flow_delay = 0
smtpd_error_sleep_time = 0
delay_warning_time = 0
"#,
            queue = queue.display(),
            data = data.display(),
            daemon_dir = POSTFIX_DAEMON_DIR,
            dir = dir.display(),
            root = self.root.display(),
            hostname = Self::HOSTNAME,
            domain = Self::DOMAIN,
            run = run.display(),
            tls = tls.display(),
            token = self.token(),
            conf = conf.display(),
        );
        let refused = conf.join("refused_recipients");
        fs::write(&refused, "").map_err(|e| format!("write {}: {e}", refused.display()))?;
        let master_cf = format!(
            r#"# generated by crates/otklik-testkit/src/mailstack.rs (no chroot: paths are absolute temp paths)
127.0.0.1:{smtp} inet n - n - - smtpd
127.0.0.1:{submission} inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_tls_auth_only=yes
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
127.0.0.1:{smtps} inet n - n - - smtpd
  -o syslog_name=postfix/smtps
  -o smtpd_tls_wrappermode=yes
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"#,
            smtp = self.smtp_port,
            submission = self.submission_port,
            smtps = self.smtps_port,
        );
        // Postfix pauses up to 2 s for config files newer than 1 s: backdate them.
        let backdate = std::time::SystemTime::now() - Duration::from_secs(10);
        for (name, text) in [("main.cf", main_cf), ("master.cf", master_cf)] {
            let path = conf.join(name);
            fs::write(&path, text).map_err(|e| format!("write {}: {e}", path.display()))?;
            fs::File::options()
                .write(true)
                .open(&path)
                .and_then(|f| f.set_modified(backdate))
                .map_err(|e| format!("backdate {}: {e}", path.display()))?;
        }
        // The queue and data directories with the owners and modes that
        // `postfix check` would give them (it takes a second or more: too slow
        // per stack), read from the package's own list.
        make_postfix_dirs(&queue, &data)
    }

    fn spawn_postfix(&self) -> Result<(), String> {
        let mut slot = lock(&self.postfix);
        if slot.is_some() {
            return Ok(());
        }
        let dir = self.postfix_dir();
        let out = open_append(&dir.join("stdout.log"))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        // The master daemon itself, in the foreground (`postfix start` would
        // daemonize it, and `postfix start-fg` insists on being PID 1); the
        // queue directories were made by `postfix check` when the config was written.
        let mut cmd = Command::new(POSTFIX_MASTER);
        cmd.arg("-d")
            .arg("-c")
            .arg(self.postfix_conf_dir())
            .env("MAIL_CONFIG", self.postfix_conf_dir())
            .current_dir(&self.root)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        *slot = Some(spawn_server(cmd).map_err(|e| format!("cannot start {POSTFIX_MASTER}: {e}"))?);
        Ok(())
    }

    fn wait_postfix(&self) -> Result<(), String> {
        let mut slot = lock(&self.postfix);
        let dir = self.postfix_dir();
        let port = self.smtp_port;
        let token = self.token();
        wait_ready(&mut slot, "postfix", || greets(port, b"220 ", &token)).map_err(|e| {
            format!(
                "{e}\n--- postfix stdout/stderr ---\n{}\n--- postfix log ---\n{}",
                fs::read_to_string(dir.join("stdout.log")).unwrap_or_default(),
                tail(&self.postfix_log(), 30)
            )
        })
    }
}

impl Drop for MailStack {
    fn drop(&mut self) {
        self.shutdown();
        // then the TempDir field removes the dir
    }
}

static SHARED: OnceLock<MailStack> = OnceLock::new();

// -------------------------------------------------------------- IMAP bits

/// Runs `fut`, panicking if the mail stack does not answer within
/// `SERVER_DEADLINE` (a hung server must fail the test, not hang it).
async fn within<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    match tokio::time::timeout(SERVER_DEADLINE, fut).await {
        Ok(v) => v,
        Err(_) => panic!("{what}: no answer from the mail stack within {SERVER_DEADLINE:?}"),
    }
}

enum FetchError {
    NoMailbox,
    Imap(async_imap::error::Error),
}

/// EXAMINE `mailbox` and fetch the messages with UID >= `from_uid`.
async fn fetch_since(
    s: &mut ImapSession,
    mailbox: &str,
    from_uid: u32,
) -> Result<Vec<Received>, FetchError> {
    let mb = match s.examine(mailbox).await {
        Ok(mb) => mb,
        Err(async_imap::error::Error::No(_)) => return Err(FetchError::NoMailbox),
        Err(e) => return Err(FetchError::Imap(e)),
    };
    if mb.exists == 0 {
        return Ok(Vec::new());
    }
    let fetches: Vec<async_imap::types::Fetch> = s
        .uid_fetch(format!("{from_uid}:*"), "(UID BODY.PEEK[])")
        .await
        .map_err(FetchError::Imap)?
        .try_collect()
        .await
        .map_err(FetchError::Imap)?;
    let mut got: Vec<Received> = fetches
        .iter()
        .filter_map(|f| {
            let uid = f.uid?;
            // `n:*` with n above the highest UID still returns the last message
            if uid < from_uid {
                return None;
            }
            Some(Received::parse(uid, f.body()?.to_vec()))
        })
        .collect();
    got.sort_by_key(|m| m.uid);
    Ok(got)
}

async fn list_mailboxes(s: &mut ImapSession) -> Result<Vec<String>, async_imap::error::Error> {
    let names: Vec<async_imap::types::Name> =
        s.list(Some(""), Some("*")).await?.try_collect().await?;
    Ok(names.iter().map(|n| n.name().to_owned()).collect())
}

/// `otklik/processed` → `otklik.processed` (Dovecot's Maildir separator).
pub fn server_mailbox(name: &str) -> String {
    name.replace('/', ".")
}

// ------------------------------------------------------- process handling

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A running server: its master process, and the guardian that kills it if
/// this test process dies without stopping it.
struct Server {
    child: Child,
    /// `sh` blocked reading a pipe whose only writer is this process: when
    /// this process dies (even by SIGKILL) the pipe closes and the guardian
    /// SIGTERMs the server, then SIGKILLs its process group. Needed on top
    /// of PDEATHSIG because Postfix's master changes its effective ids now
    /// and then, and that clears PDEATHSIG.
    guardian: Option<Child>,
}

const GUARDIAN_SCRIPT: &str = r#"read -r _ || true
kill -TERM "$1" 2>/dev/null || exit 0
i=0
while kill -0 -- "-$1" 2>/dev/null && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i+1)); done
kill -KILL -- "-$1" 2>/dev/null
exit 0
"#;

impl Server {
    fn dismiss_guardian(&mut self) {
        if let Some(mut guardian) = self.guardian.take() {
            let _ = guardian.kill();
            let _ = guardian.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.dismiss_guardian();
    }
}

/// Spawns a server (see `spawn_daemon`) with its guardian.
fn spawn_server(cmd: Command) -> io::Result<Server> {
    let mut child = spawn_daemon(cmd)?;
    // the pipe's write end is close-on-exec: no other child inherits it
    let guardian = Command::new("/bin/sh")
        .arg("-c")
        .arg(GUARDIAN_SCRIPT)
        .arg("mailstack-guardian")
        .arg(child.id().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn();
    match guardian {
        Ok(guardian) => Ok(Server {
            child,
            guardian: Some(guardian),
        }),
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            Err(io::Error::other(format!(
                "cannot start its guardian /bin/sh: {e}"
            )))
        }
    }
}

/// Spawns a server from one long-lived thread with PR_SET_PDEATHSIG =
/// SIGTERM, in its own process group. The death signal fires when the
/// *thread* that forked the child ends, so the forking is done by a thread
/// that lives as long as the test process, not by the (short-lived) test thread.
fn spawn_daemon(mut cmd: Command) -> io::Result<Child> {
    type Job = (Command, mpsc::Sender<io::Result<Child>>);
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<Job>>> = OnceLock::new();
    cmd.process_group(0);
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM as libc::c_ulong) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let spawner = SPAWNER.get_or_init(|| {
        become_subreaper();
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("mailstack-spawner".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
            })
            .expect("cannot start the mailstack spawner thread");
        Mutex::new(tx)
    });
    let (reply_tx, reply_rx) = mpsc::channel();
    lock(spawner)
        .send((cmd, reply_tx))
        .map_err(|_| io::Error::other("mailstack spawner thread is gone"))?;
    reply_rx
        .recv()
        .map_err(|_| io::Error::other("mailstack spawner thread is gone"))?
}

/// Makes orphaned descendants of this process (the servers' children, once a
/// server stops) this process's children instead of PID 1's, which may never
/// reap them (it does not on these machines): `stop_child` reaps them, so no
/// zombies are left.
pub fn become_subreaper() {
    // SAFETY: plain syscall.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong);
    }
}

/// Reaps what is left of process group `pgid` (the zombies this process
/// inherited as subreaper); waits up to `timeout` for it to be empty and
/// returns whether it is.
pub fn reap_process_group(pgid: u32, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if !reap_group(pgid as libc::pid_t) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The process group of `pid`, if it exists.
pub fn process_group(pid: u32) -> Option<u32> {
    // SAFETY: plain syscall.
    let pgid = unsafe { libc::getpgid(pid as libc::pid_t) };
    u32::try_from(pgid).ok()
}

/// Waits until `ready()` or the server exits or the deadline passes.
fn wait_ready(
    slot: &mut Option<Server>,
    what: &str,
    mut ready: impl FnMut() -> bool,
) -> Result<(), String> {
    let deadline = Instant::now() + SERVER_DEADLINE;
    loop {
        if let Some(server) = slot.as_mut()
            && let Ok(Some(status)) = server.child.try_wait()
        {
            *slot = None;
            return Err(format!("{what} exited during start-up ({status})"));
        }
        if ready() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!("{what} not ready after {SERVER_DEADLINE:?}"));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Who gets the SIGTERM that stops a server.
#[derive(Clone, Copy)]
enum StopBy {
    /// Postfix's master stops and reaps its children itself, at once.
    Master,
    /// Dovecot's master waits about a second for its children after a SIGTERM;
    /// terminating the whole group at once is as clean and immediate.
    Group,
}

/// SIGTERM to the server, wait for it, then make sure its whole process
/// group is gone (its children hold the listening sockets: a restart on the
/// same ports must wait for them) and reaped (this process is their
/// subreaper; see `spawn_daemon`).
fn stop_child(slot: &Mutex<Option<Server>>, what: &str, by: StopBy) {
    let Some(mut server) = lock(slot).take() else {
        return;
    };
    // first, so it cannot signal a pid reused after the server is gone
    server.dismiss_guardian();
    let child = &mut server.child;
    let pid = child.id() as libc::pid_t;
    // SAFETY: plain syscalls on a pid/pgid we own.
    unsafe {
        match by {
            StopBy::Master => libc::kill(pid, libc::SIGTERM),
            StopBy::Group => libc::kill(-pid, libc::SIGTERM),
        };
    }
    let deadline = Instant::now() + SERVER_DEADLINE;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            _ => {
                eprintln!("mailstack: {what} (pid {pid}) ignored SIGTERM; killing its group");
                // SAFETY: as above.
                unsafe {
                    libc::kill(-pid, libc::SIGKILL);
                }
                let _ = child.wait();
                break;
            }
        }
    }
    let term_deadline = Instant::now() + Duration::from_secs(5);
    let kill_deadline = term_deadline + Duration::from_secs(5);
    let mut killed = false;
    loop {
        if !reap_group(pid) {
            return;
        }
        let now = Instant::now();
        if now >= kill_deadline {
            eprintln!("mailstack: processes of {what} (group {pid}) survive SIGKILL");
            return;
        }
        if now >= term_deadline && !killed {
            // SAFETY: as above.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
            killed = true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Reaps the zombies of process group `pgid` that are this process's
/// children; returns whether any process of the group is still there (a
/// zombie whose parent is someone else does not count: it holds nothing).
fn reap_group(pgid: libc::pid_t) -> bool {
    let me = std::process::id() as libc::pid_t;
    let mut remaining = false;
    for (pid, state, ppid) in group_members(pgid) {
        if ppid == me {
            let mut status = 0;
            // SAFETY: waits for one specific child that no `Child` handle owns.
            let reaped = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
            if reaped != pid {
                remaining = true;
            }
        } else if state != 'Z' {
            remaining = true;
        }
    }
    remaining
}

/// (pid, state, ppid) of every process in process group `pgid`, from /proc.
fn group_members(pgid: libc::pid_t) -> Vec<(libc::pid_t, char, libc::pid_t)> {
    let mut found = Vec::new();
    let Ok(entries) = fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<libc::pid_t>().ok())
        else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // "pid (comm) state ppid pgrp ...": comm may hold anything, so split after the last ')'
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        let mut fields = rest.split_whitespace();
        let state = fields.next().and_then(|s| s.chars().next()).unwrap_or('?');
        let ppid = fields.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        let pgrp = fields.next().and_then(|p| p.parse::<libc::pid_t>().ok());
        if pgrp == Some(pgid) {
            found.push((pid, state, ppid));
        }
    }
    found
}

/// Pids of the live processes (not this one) whose command line names `dir`.
pub fn pids_mentioning(dir: &Path) -> Vec<u32> {
    let needle = dir.as_os_str().as_encoded_bytes();
    let me = std::process::id();
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid = entry.file_name().to_str()?.parse::<u32>().ok()?;
            // a zombie's cmdline is empty
            let cmdline = fs::read(entry.path().join("cmdline")).ok()?;
            (pid != me && cmdline.windows(needle.len()).any(|w| w == needle)).then_some(pid)
        })
        .collect()
}

/// Kills (with their process groups) all processes whose command line names `dir`.
fn kill_processes_mentioning(dir: &Path) {
    for pid in pids_mentioning(dir) {
        let pid = pid as libc::pid_t;
        // SAFETY: plain syscalls.
        unsafe {
            let pgid = libc::getpgid(pid);
            if pgid == pid {
                libc::kill(-pgid, libc::SIGKILL);
            }
            libc::kill(pid, libc::SIGKILL);
        }
    }
}

/// "pid starttime" of this process: identifies it even if its pid is reused later.
fn owner_stamp() -> String {
    let pid = std::process::id();
    format!("{pid} {}\n", start_time(pid).unwrap_or_default())
}

fn start_time(pid: u32) -> Option<String> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    // fields after comm start at field 3 (state); starttime is field 22
    rest.split_whitespace().nth(19).map(str::to_owned)
}

/// Removes stacks left by test processes that died without dropping them
/// (SIGKILL, abort): kills their servers and deletes their dirs.
fn reap_stale_stacks() {
    let Ok(entries) = fs::read_dir("/tmp") else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with(STACK_PREFIX) {
            continue;
        }
        let path = entry.path();
        let alive = match fs::read_to_string(path.join("owner")) {
            Ok(stamp) => {
                let mut it = stamp.split_whitespace();
                match (it.next().and_then(|p| p.parse::<u32>().ok()), it.next()) {
                    (Some(pid), Some(start)) => start_time(pid).as_deref() == Some(start),
                    _ => false,
                }
            }
            // being created right now, or debris: only reap once it is old
            Err(_) => entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_none_or(|age| age < Duration::from_secs(60)),
        };
        if !alive {
            kill_processes_mentioning(&path);
            let _ = fs::remove_dir_all(&path);
        }
    }
}

// ------------------------------------------------------------------ misc

fn preflight() {
    // SAFETY: plain syscall.
    if unsafe { libc::geteuid() } != 0 {
        panic!(
            "the mail stack needs root (it runs Dovecot and Postfix with their own users); \
             run the tests as root, as CI does"
        );
    }
    for bin in [
        DOVECOT_BIN,
        POSTFIX_BIN,
        POSTFIX_MASTER,
        OPENSSL_BIN,
        "/usr/lib/dovecot/lmtp",
    ] {
        if !Path::new(bin).exists() {
            panic!(
                "{bin} is missing: run scripts/install-test-deps (it installs Dovecot, Postfix, openssl)"
            );
        }
    }
}

/// Picks `N` distinct free loopback ports, never one handed out before in this process.
fn free_ports<const N: usize>() -> Result<[u16; N], String> {
    static HANDED_OUT: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    let handed = HANDED_OUT.get_or_init(|| Mutex::new(HashSet::new()));
    let mut handed = lock(handed);
    let mut listeners = Vec::new();
    let mut ports = [0u16; N];
    let mut i = 0;
    let mut tries = 0;
    while i < N {
        tries += 1;
        if tries > 1000 {
            return Err("cannot find free loopback ports".into());
        }
        let l =
            TcpListener::bind(("127.0.0.1", 0)).map_err(|e| format!("bind 127.0.0.1:0: {e}"))?;
        let port = l.local_addr().map_err(|e| e.to_string())?.port();
        // held open until all are chosen, so they are distinct
        listeners.push(l);
        if handed.insert(port) {
            ports[i] = port;
            i += 1;
        }
    }
    Ok(ports)
}

/// Whether a TCP server on loopback `port` greets with a first line that
/// starts with `prefix` and names `token` (this stack's own server, not
/// another test run's that got hold of the port).
fn greets(port: u16, prefix: &[u8], token: &str) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(2),
    ) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = [0u8; 512];
    let mut got = Vec::new();
    while !got.contains(&b'\n') && got.len() < 4096 {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    let token = token.as_bytes();
    got.starts_with(prefix) && got.windows(token.len()).any(|w| w == token)
}

fn run_tool(cmd: &mut Command, what: &str) -> Result<(), String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{what}: cannot run: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn open_append(path: &Path) -> Result<fs::File, String> {
    fs::File::options()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("open {}: {e}", path.display()))
}

/// (uid, gid) of a system user, from /etc/passwd.
fn system_user(name: &str) -> Result<(u32, u32), String> {
    let passwd = fs::read_to_string("/etc/passwd").map_err(|e| format!("read /etc/passwd: {e}"))?;
    passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() > 3 && f[0] == name)
        .and_then(|f| Some((f[2].parse().ok()?, f[3].parse().ok()?)))
        .ok_or_else(|| format!("no system user {name:?}: run scripts/install-test-deps"))
}

/// Creates `$queue_directory/...` and `$data_directory` as listed in
/// /etc/postfix/postfix-files (name:type:owner:group:mode:flags).
fn make_postfix_dirs(queue: &Path, data: &Path) -> Result<(), String> {
    let list = fs::read_to_string("/etc/postfix/postfix-files").map_err(|e| {
        format!("read /etc/postfix/postfix-files: {e} (run scripts/install-test-deps)")
    })?;
    let (pf_uid, _) = system_user("postfix")?;
    let postdrop_gid = system_group("postdrop")?;
    for line in list.lines() {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() < 5 || f[1] != "d" {
            continue;
        }
        let path = if let Some(rest) = f[0].strip_prefix("$queue_directory") {
            queue.join(rest.trim_start_matches('/'))
        } else if let Some(rest) = f[0].strip_prefix("$data_directory") {
            data.join(rest.trim_start_matches('/'))
        } else {
            continue;
        };
        let uid = match f[2] {
            "root" => 0,
            "$mail_owner" => pf_uid,
            other => {
                return Err(format!(
                    "postfix-files: unexpected owner {other:?} for {}",
                    f[0]
                ));
            }
        };
        let gid = match f[3] {
            "-" => None,
            "$setgid_group" => Some(postdrop_gid),
            other => {
                return Err(format!(
                    "postfix-files: unexpected group {other:?} for {}",
                    f[0]
                ));
            }
        };
        let mode = u32::from_str_radix(f[4], 8)
            .map_err(|e| format!("postfix-files: bad mode {:?}: {e}", f[4]))?;
        fs::create_dir_all(&path).map_err(|e| format!("mkdir {}: {e}", path.display()))?;
        std::os::unix::fs::chown(&path, Some(uid), gid)
            .map_err(|e| format!("chown {}: {e}", path.display()))?;
        fs::set_permissions(&path, fs::Permissions::from_mode(mode))
            .map_err(|e| format!("chmod {}: {e}", path.display()))?;
    }
    Ok(())
}

/// gid of a system group, from /etc/group.
fn system_group(name: &str) -> Result<u32, String> {
    let groups = fs::read_to_string("/etc/group").map_err(|e| format!("read /etc/group: {e}"))?;
    groups
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() > 2 && f[0] == name)
        .and_then(|f| f[2].parse().ok())
        .ok_or_else(|| format!("no system group {name:?}: run scripts/install-test-deps"))
}

fn count_files(dir: &Path) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => count_files(&e.path()),
            Ok(_) => 1,
            Err(_) => 0,
        })
        .sum()
}

/// The last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
