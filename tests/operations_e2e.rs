//! Operations end to end: the REAL `otklik run` binary as a child process, against
//! the real Dovecot + Postfix, talking to a `NOTIFY_SOCKET` this test binds — as systemd
//! would run it. READY/STATUS/WATCHDOG/STOPPING reach "systemd"; SIGHUP applies a changed
//! rule and refuses a broken file (naming line and column) while the old config routes on;
//! SIGTERM in the middle of a load exits 0 and, after a restart, every notification is
//! exactly one case with exactly one mail; no password and no post text in the logs.
#![allow(unsafe_code)] // process groups, signals and reaping for the test servers (libc)

use otklik_testkit as support;

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use otklik_core::workflow::Case;

use otklik::control::{self, Request, Response};
use support::mailstack::{MailStack, server_mailbox};
use support::service::*;

/// The unit's `TimeoutStopSec`: a stop must end within it.
const TIMEOUT_STOP: Duration = Duration::from_secs(30);

/// What the service sent to its `NOTIFY_SOCKET`, datagram by datagram.
#[derive(Clone, Default)]
struct Notes(Arc<Mutex<Vec<String>>>);

impl Notes {
    fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
    /// Datagrams with a line equal to `line` (`READY=1`), or starting with it (`STATUS=`).
    fn count(&self, line: &str) -> usize {
        self.all()
            .iter()
            .filter(|d| d.lines().any(|l| l.starts_with(line)))
            .count()
    }
    async fn wait(&self, line: &str, n: usize) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while self.count(line) < n {
            assert!(
                tokio::time::Instant::now() < deadline,
                "never got {n} x {line:?}; got {:#?}",
                self.all()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// One `otklik run` child with its notify socket and its log (stderr) in a file.
struct Otklik {
    child: Child,
    notes: Notes,
    log_path: PathBuf,
    stop_reader: Arc<AtomicBool>,
    /// The notify socket nobody reads (a stalled systemd), held open.
    _stalled: Option<UnixDatagram>,
}

impl Otklik {
    /// Starts `otklik run --config CONFIG [args]`; `env` is added to a clean log environment.
    fn start(dir: &Path, config: &Path, args: &[&str], env: &[(&str, &str)]) -> Otklik {
        Otklik::spawn(dir, config, args, env, true)
    }

    /// With `read_notes` false nobody reads the notify socket: a stalled systemd.
    fn spawn(
        dir: &Path,
        config: &Path,
        args: &[&str],
        env: &[(&str, &str)],
        read_notes: bool,
    ) -> Otklik {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let sock_path = dir.join(format!("notify-{n}.sock"));
        let sock = UnixDatagram::bind(&sock_path).expect("bind the notify socket");
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let notes = Notes::default();
        let stop_reader = Arc::new(AtomicBool::new(false));
        let mut stalled = None;
        if !read_notes {
            stalled = Some(sock);
        } else {
            let notes = notes.clone();
            let stop = stop_reader.clone();
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 4096];
                while !stop.load(Ordering::Relaxed) {
                    if let Ok(n) = sock.recv(&mut buf) {
                        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                        notes.0.lock().unwrap().push(text);
                    }
                }
            });
        }
        let log_path = dir.join(format!("otklik-{n}.log"));
        let log = std::fs::File::create(&log_path).expect("log file");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_otklik"));
        cmd.arg("run")
            .arg("--config")
            .arg(config)
            .args(args)
            .env("NOTIFY_SOCKET", &sock_path)
            .env_remove("JOURNAL_STREAM")
            .env_remove("RUST_LOG")
            .env_remove("WATCHDOG_USEC")
            .env_remove("WATCHDOG_PID")
            .env_remove("CREDENTIALS_DIRECTORY")
            .env_remove("OTKLIK_TEST_IMAP_PASSWORD")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("spawn otklik run");
        Otklik {
            child,
            notes,
            log_path,
            stop_reader,
            _stalled: stalled,
        }
    }

    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on our own child's pid.
        let rc = unsafe { libc::kill(self.pid(), sig) };
        assert_eq!(rc, 0, "kill({}, {sig})", self.pid());
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    async fn wait_log(&self, needle: &str) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while !self.log().contains(needle) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the log never said {needle:?}:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits for the child to exit (at most `limit`) and returns its status.
    async fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "otklik did not exit within {limit:?}:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGTERM, then exit 0 within TimeoutStopSec with STOPPING=1 sent.
    async fn stop(mut self) -> String {
        self.signal(libc::SIGTERM);
        let status = self.wait_exit(TIMEOUT_STOP).await;
        assert!(status.success(), "exit {status}:\n{}", self.log());
        // STOPPING=1 is sent before the loops wind down; the reader may lag a little.
        self.notes.wait("STOPPING=1", 1).await;
        self.log()
    }
}

impl Drop for Otklik {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        self.stop_reader.store(true, Ordering::Relaxed);
    }
}

fn test_password_env() -> (&'static str, &'static str) {
    ("OTKLIK_TEST_IMAP_PASSWORD", MailStack::PASSWORD)
}

async fn ask(state_dir: &Path, req: Request) -> Option<Response> {
    let dir = state_dir.to_path_buf();
    tokio::task::spawn_blocking(move || control::ask(&dir, &req))
        .await
        .expect("control task")
}

async fn cases(state_dir: &Path) -> Vec<Case> {
    match ask(state_dir, Request::Cases).await {
        Some(Response::Cases(c)) => c,
        other => panic!("unexpected {other:?}"),
    }
}

async fn wait_idle_outbox(state_dir: &Path) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(Response::Status { outbox: 0, .. }) = ask(state_dir, Request::Status).await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the outbox never emptied"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// 1-based line and column of the first `needle` in `text`.
fn line_col(text: &str, needle: &str) -> (usize, usize) {
    for (i, line) in text.lines().enumerate() {
        if let Some(col) = line.find(needle) {
            return (i + 1, line[..col].chars().count() + 1);
        }
    }
    panic!("{needle:?} not in the config");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn systemd_hears_ready_status_watchdog_and_stopping_and_logs_keep_secrets() {
    let stack = MailStack::shared();
    let p = People::new("opsnotify");
    let dir = tempfile::tempdir().unwrap();
    // The password as systemd hands it over: LoadCredential= → $CREDENTIALS_DIRECTORY.
    let creds = dir.path().join("credentials");
    std::fs::create_dir(&creds).unwrap();
    std::fs::write(
        creds.join("imap-password"),
        format!("{}\n", MailStack::PASSWORD),
    )
    .unwrap();
    let text = config_for(stack, &p, dir.path(), ALWAYS_CALENDAR).replace(
        "password_env = \"OTKLIK_TEST_IMAP_PASSWORD\"",
        "password_file = \"imap-password\"",
    );
    assert!(text.contains("password_file = \"imap-password\""));
    let config = dir.path().join("otklik.toml");
    std::fs::write(&config, &text).unwrap();

    let svc = Otklik::start(
        dir.path(),
        &config,
        &[],
        &[
            ("CREDENTIALS_DIRECTORY", creds.to_str().unwrap()),
            // 2 s: a ping every second while the loops live.
            ("WATCHDOG_USEC", "2000000"),
        ],
    );
    svc.notes.wait("READY=1", 1).await;
    // READY comes only once the mailbox is selected: IDLE (or polling) is running.
    let ready_at = svc.notes.all().iter().position(|d| d == "READY=1").unwrap();
    let status_before_ready = svc.notes.all()[..ready_at]
        .iter()
        .any(|d| d.contains("imap: idle") || d.contains("imap: polling"));
    assert!(
        !status_before_ready,
        "a STATUS said idle before READY: {:#?}",
        svc.notes.all()
    );
    svc.notes.wait("STATUS=", 1).await;
    svc.notes.wait("WATCHDOG=1", 2).await;

    // A case: its id is in the log; the post's text and the password are not.
    let post = "Уникальный текст поста 7f3a: во дворе на Ленина 5 третью неделю не вывозят мусор";
    stack
        .append(
            &p.service(),
            "INBOX",
            &notification(stack, &p, "7001", "ЖКХ", "Мария", post, ""),
        )
        .await;
    stack
        .wait_for(&p.executor("housing"), "INBOX", |m| about(m, "OTK-1"), WAIT)
        .await;
    svc.wait_log("OTK-1").await;
    // The STATUS line carries the case count, the outbox depth and the mailbox state.
    let deadline = tokio::time::Instant::now() + WAIT;
    while !svc
        .notes
        .all()
        .iter()
        .any(|d| d.starts_with("STATUS=1 open cases, outbox ") && d.contains("imap: "))
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no STATUS with the case: {:#?}",
            svc.notes.all()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let log = svc.stop().await;
    assert!(log.contains("ready: mailbox selected"), "{log}");
    // A file is no terminal: no colour codes. The case id is a plain field.
    assert!(
        !log.contains('\u{1b}'),
        "colour codes in the log file:\n{log}"
    );
    assert!(log.contains("case=OTK-1"), "{log}");
    assert!(log.contains("stopped"), "{log}");
    assert!(
        !log.contains(MailStack::PASSWORD),
        "the password is in the log:\n{log}"
    );
    assert!(
        !log.contains("Уникальный текст поста") && !log.contains("не вывозят мусор"),
        "the post's text is in the log:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_applies_a_changed_rule_and_refuses_a_broken_file() {
    let stack = MailStack::shared();
    let p = People::new("opsreload");
    let dir = tempfile::tempdir().unwrap();
    let base = config_for(stack, &p, dir.path(), ALWAYS_CALENDAR);
    let config = dir.path().join("otklik.toml");
    std::fs::write(&config, &base).unwrap();
    // A JOURNAL_STREAM that is not our stderr (inherited from a shell under systemd) must
    // not divert the log away from stderr.
    let svc = Otklik::start(
        dir.path(),
        &config,
        &[],
        &[test_password_env(), ("JOURNAL_STREAM", "1:1")],
    );
    svc.notes.wait("READY=1", 1).await;

    // Before: "Культура" matches no rule → unassigned, the coordinator is asked.
    stack
        .append(
            &p.service(),
            "INBOX",
            &notification(
                stack,
                &p,
                "8001",
                "Культура",
                "Пётр",
                "Когда откроют клуб?",
                "",
            ),
        )
        .await;
    stack
        .wait_for(&p.coordinator(), "INBOX", |m| about(m, "OTK-1"), WAIT)
        .await;

    // A new rule, then SIGHUP: RELOADING=1 (with MONOTONIC_USEC), then READY=1 again.
    let rule = "[[rules]]\nname = \"Культура\"\ntopic = [\"Культура*\"]\nexecutor = \"economy\"\n";
    let with_rule = base.replacen("[intake]", &format!("{rule}\n[intake]"), 1);
    std::fs::write(&config, &with_rule).unwrap();
    svc.signal(libc::SIGHUP);
    svc.notes.wait("RELOADING=1", 1).await;
    svc.notes.wait("READY=1", 2).await;
    let reloading = svc
        .notes
        .all()
        .into_iter()
        .find(|d| d.starts_with("RELOADING=1"))
        .unwrap();
    assert!(reloading.contains("\nMONOTONIC_USEC="), "{reloading:?}");
    svc.wait_log("config reloaded").await;
    stack
        .append(
            &p.service(),
            "INBOX",
            &notification(stack, &p, "8002", "Культура", "Анна", "Где афиша?", ""),
        )
        .await;
    stack
        .wait_for(&p.executor("economy"), "INBOX", |m| about(m, "OTK-2"), WAIT)
        .await;

    // A broken file: refused with FILE:LINE:COL, the config in force stays (the new rule routes).
    let broken = with_rule.replacen(
        "executor = \"economy\"\n\n[intake]",
        "executor = \"nobody\"\n\n[intake]",
        1,
    );
    assert_ne!(broken, with_rule);
    let (line, col) = line_col(&broken, "\"nobody\"");
    std::fs::write(&config, &broken).unwrap();
    svc.signal(libc::SIGHUP);
    svc.notes.wait("RELOADING=1", 2).await;
    svc.notes.wait("READY=1", 3).await;
    let where_ = format!("otklik.toml:{line}:{col}:");
    svc.wait_log(&where_).await;
    let log = svc.log();
    assert!(
        log.contains("config reload refused, the old config stays in force"),
        "{log}"
    );
    stack
        .append(
            &p.service(),
            "INBOX",
            &notification(
                stack,
                &p,
                "8003",
                "Культура",
                "Олег",
                "Будет ли концерт?",
                "",
            ),
        )
        .await;
    stack
        .wait_for(&p.executor("economy"), "INBOX", |m| about(m, "OTK-3"), WAIT)
        .await;
    // The old rules route too, and the IMAP session was never dropped for a reload.
    stack
        .append(
            &p.service(),
            "INBOX",
            &notification(stack, &p, "8004", "ЖКХ", "Ирина", "Нет света.", ""),
        )
        .await;
    stack
        .wait_for(&p.executor("housing"), "INBOX", |m| about(m, "OTK-4"), WAIT)
        .await;
    let log = svc.stop().await;
    assert!(!log.contains("reconnecting"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_in_the_middle_of_a_load_loses_nothing() {
    const N: usize = 30;
    let stack = MailStack::shared();
    let p = People::new("opsterm");
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("state");
    let text = config_text(
        stack,
        &p,
        &state_dir.display().to_string(),
        ALWAYS_CALENDAR,
        DEFAULT_DEADLINES,
        "",
    );
    let config = dir.path().join("otklik.toml");
    std::fs::write(&config, &text).unwrap();
    // JSON logs for collectors: every line must be one JSON object.
    let json = ["--log-format", "json"];
    let mut svc = Otklik::start(dir.path(), &config, &json, &[test_password_env()]);
    svc.notes.wait("READY=1", 1).await;

    // The load arrives while the service runs; SIGTERM lands once a third of it is handled,
    // while the rest is still arriving or waiting in the mailbox.
    let ids: Vec<String> = (0..N).map(|i| format!("90{i:02}")).collect();
    let loader = {
        let p = p.clone();
        let ids = ids.clone();
        tokio::spawn(async move {
            for id in &ids {
                let raw = notification(stack, &p, id, "ЖКХ", &format!("Автор {id}"), "Текст.", "");
                stack.append(&p.service(), "INBOX", &raw).await;
            }
        })
    };
    let deadline = tokio::time::Instant::now() + WAIT;
    while cases(&state_dir).await.len() < N / 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the load is not being handled"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    svc.signal(libc::SIGTERM);
    let status = svc.wait_exit(TIMEOUT_STOP).await;
    let log = svc.log();
    assert!(status.success(), "exit {status}:\n{log}");
    svc.notes.wait("STOPPING=1", 1).await;
    for line in log.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        assert!(v.get("level").is_some(), "{line}");
    }
    loader.await.unwrap();
    let handled_before = cases_from_store(&state_dir);
    eprintln!("stopped after {handled_before} of {N} notifications");

    // Restarted: everything else is taken in; nothing is lost, nothing doubled.
    let svc = Otklik::start(dir.path(), &config, &[], &[test_password_env()]);
    svc.notes.wait("READY=1", 1).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    let all = loop {
        let all = cases(&state_dir).await;
        if all.len() >= N {
            break all;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} of {N} cases",
            all.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(all.len(), N, "one case per notification");
    let mut seen: Vec<String> = all
        .iter()
        .map(|c| c.notification.source_id.clone().unwrap_or_default())
        .collect();
    seen.sort();
    assert_eq!(seen, ids, "each notification exactly once");
    for c in &all {
        let created = c.history.iter().filter(|h| h.event == "created").count();
        assert_eq!(created, 1, "{}: {:?}", c.id, events(c));
        assert!(!events(c).contains(&"duplicate".to_string()), "{}", c.id);
    }
    wait_idle_outbox(&state_dir).await;
    let mails = stack
        .wait_for_count(&p.executor("housing"), "INBOX", N, WAIT)
        .await;
    // Anything sent twice would still be in Postfix's queue or already delivered.
    let deadline = tokio::time::Instant::now() + WAIT;
    while stack.queued() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mails_now = stack.fetch_all(&p.executor("housing"), "INBOX").await;
    assert_eq!(mails.len().max(mails_now.len()), N, "one mail per case");
    let mut tags: Vec<String> = mails_now
        .iter()
        .filter_map(|m| m.header("X-Otklik-Case").map(str::to_owned))
        .collect();
    tags.sort();
    tags.dedup();
    assert_eq!(tags.len(), N, "every case has its mail");
    assert!(stack.fetch_all(&p.service(), "INBOX").await.is_empty());
    let processed = stack
        .fetch_all(&p.service(), &server_mailbox("otklik/processed"))
        .await;
    assert_eq!(processed.len(), N);
    svc.stop().await;
}

/// Cases in a stopped service's store (the CLI reads it itself when no daemon runs).
fn cases_from_store(state_dir: &Path) -> usize {
    match otklik::store::Store::open(state_dir) {
        Ok(store) => store.case_count(),
        Err(e) => panic!("open the store: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_notify_socket_never_blocks_the_service() {
    let stack = MailStack::shared();
    let p = People::new("opsstall");
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("state");
    let text = config_text(
        stack,
        &p,
        &state_dir.display().to_string(),
        ALWAYS_CALENDAR,
        DEFAULT_DEADLINES,
        "",
    );
    let config = dir.path().join("otklik.toml");
    std::fs::write(&config, &text).unwrap();
    // Nobody reads the socket: its queue (10 datagrams by default) fills with STATUS lines.
    let mut svc = Otklik::spawn(dir.path(), &config, &[], &[test_password_env()], false);
    svc.wait_log("ready: mailbox selected").await;
    // One at a time: each is a Processing → Idle round, two STATUS datagrams, 24 in all.
    for i in 0..12 {
        let id = format!("95{i:02}");
        stack
            .append(
                &p.service(),
                "INBOX",
                &notification(stack, &p, &id, "ЖКХ", &format!("Автор {id}"), "Текст.", ""),
            )
            .await;
        stack
            .wait_for_count(&p.executor("housing"), "INBOX", i + 1, WAIT)
            .await;
    }
    svc.signal(libc::SIGTERM);
    let status = svc.wait_exit(TIMEOUT_STOP).await;
    assert!(status.success(), "exit {status}:\n{}", svc.log());
    assert!(svc.log().contains("stopped"), "{}", svc.log());
}
