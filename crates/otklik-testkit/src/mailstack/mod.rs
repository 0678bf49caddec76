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
use std::fs;
use std::io::Read as _;
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

mod actors;
mod certs;
mod dovecot;
mod postfix;
mod process;
mod received;

pub use actors::server_mailbox;
use process::{
    Server, StopBy, kill_processes_mentioning, lock, owner_stamp, reap_stale_stacks, spawn_server,
    stop_child, wait_ready,
};
pub use process::{become_subreaper, pids_mentioning, process_group, reap_process_group};
pub use received::Received;

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

impl Drop for MailStack {
    fn drop(&mut self) {
        self.shutdown();
        // then the TempDir field removes the dir
    }
}

static SHARED: OnceLock<MailStack> = OnceLock::new();

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
