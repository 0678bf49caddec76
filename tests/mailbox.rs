//! The IMAP watcher against the real Dovecot of the test harness.
//!
//! Deadlines in here only fail a hung test; nothing measures speed.

use otklik_testkit as support;

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use otklik_core::config::{ImapConfig, Password, TlsMode};
use otklik_core::decide::Disposition;

use otklik::mailbox::{
    Fetched, MOVED_KEYWORD, MailboxError, MailboxState, MessageSink, NotCommitted,
    OVERSIZED_HEADER_MAX, Oversized, WatchOptions, encode_mailbox_name, watch, watch_with,
};
use otklik::tls::TlsOptions;
use support::mailstack::{DovecotOptions, MailStack};
use tokio::sync::watch as channel;
use tokio::task::JoinHandle;

const WAIT: Duration = Duration::from_secs(60);

/// Most tests share one stack; each uses its own user. Tests that stop a server
/// start their own.
fn shared() -> &'static MailStack {
    static STACK: OnceLock<MailStack> = OnceLock::new();
    STACK.get_or_init(MailStack::start)
}

fn imap_config(stack: &MailStack, user: &str, tls: TlsMode) -> ImapConfig {
    ImapConfig {
        host: stack.host().to_string(),
        port: match tls {
            TlsMode::Implicit => stack.imaps_port(),
            TlsMode::Starttls | TlsMode::None => stack.imap_port(),
        },
        tls,
        username: stack.addr(user),
        password: Password(MailStack::PASSWORD.to_string()),
        mailbox: "INBOX".to_string(),
        processed_mailbox: "otklik/processed".to_string(),
        rejected_mailbox: "otklik/rejected".to_string(),
        poll_seconds: 60,
        max_message_size: otklik_core::config::DEFAULT_MAX_MESSAGE_SIZE,
        ca_file: None,
    }
}

fn harness_ca(stack: &MailStack) -> TlsOptions {
    TlsOptions {
        extra_ca_pem: Some(std::fs::read(stack.ca_pem_path()).unwrap()),
    }
}

fn message(stack: &MailStack, subject: &str) -> Vec<u8> {
    format!(
        "From: monitoring@{d}\r\nTo: intake@{d}\r\nSubject: {subject}\r\n\
         Message-ID: <{id}>\r\nDate: Sat, 28 Nov 2026 10:00:00 +0300\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nТекст: {subject}\r\n",
        d = MailStack::DOMAIN,
        id = stack.new_message_id(),
    )
    .into_bytes()
}

fn subject_of(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw)
        .lines()
        .find_map(|l| l.strip_prefix("Subject: ").map(str::to_string))
        .unwrap_or_default()
}

/// Records every message handed over. Subjects containing `REJECT` are rejected;
/// subjects containing `FAIL` fail the first time they are seen.
#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<Fetched>>,
    /// When each message reached the handler.
    at: Mutex<Vec<std::time::Instant>>,
    failures: Mutex<HashMap<String, u32>>,
    /// Every oversized message reported.
    oversized: Mutex<Vec<Oversized>>,
    /// For each call of `durable`: how many messages had been handed over by then.
    durable: Mutex<Vec<usize>>,
}

impl Recorder {
    fn subjects(&self) -> Vec<String> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|f| subject_of(&f.raw))
            .collect()
    }
    fn count(&self, subject: &str) -> usize {
        self.subjects().iter().filter(|s| *s == subject).count()
    }
}

impl MessageSink for Recorder {
    async fn handle(&self, msg: Fetched) -> Result<Disposition, NotCommitted> {
        let subject = subject_of(&msg.raw);
        self.at.lock().unwrap().push(std::time::Instant::now());
        self.seen.lock().unwrap().push(msg);
        if subject.contains("FAIL") {
            let mut failures = self.failures.lock().unwrap();
            let n = failures.entry(subject.clone()).or_insert(0);
            *n += 1;
            if *n == 1 {
                return Err(NotCommitted("disk full (simulated)".into()));
            }
        }
        if subject.contains("REJECT") {
            Ok(Disposition::Rejected)
        } else {
            Ok(Disposition::Processed)
        }
    }
    async fn durable(&self) -> Result<(), NotCommitted> {
        let handed = self.seen.lock().unwrap().len();
        self.durable.lock().unwrap().push(handed);
        Ok(())
    }
    async fn oversized(&self, msg: Oversized) -> Result<(), NotCommitted> {
        self.oversized.lock().unwrap().push(msg);
        Ok(())
    }
}

struct Running {
    shutdown: channel::Sender<bool>,
    state: channel::Receiver<MailboxState>,
    heartbeat: Arc<AtomicU64>,
    task: JoinHandle<Result<(), MailboxError>>,
}

fn spawn(cfg: ImapConfig, tls: TlsOptions, handler: Arc<Recorder>) -> Running {
    let (shutdown, shutdown_rx) = channel::channel(false);
    let (state_tx, state) = channel::channel(MailboxState::Connecting);
    let heartbeat = Arc::new(AtomicU64::new(0));
    let task = tokio::spawn(watch(
        cfg,
        tls,
        handler,
        shutdown_rx,
        state_tx,
        heartbeat.clone(),
    ));
    Running {
        shutdown,
        state,
        heartbeat,
        task,
    }
}

fn spawn_with(cfg: ImapConfig, options: WatchOptions, handler: Arc<Recorder>) -> Running {
    let (shutdown, shutdown_rx) = channel::channel(false);
    let (state_tx, state) = channel::channel(MailboxState::Connecting);
    let heartbeat = Arc::new(AtomicU64::new(0));
    let task = tokio::spawn(watch_with(
        cfg,
        TlsOptions::default(),
        options,
        handler,
        shutdown_rx,
        state_tx,
        heartbeat.clone(),
    ));
    Running {
        shutdown,
        state,
        heartbeat,
        task,
    }
}

impl Running {
    async fn wait_state(&mut self, pred: impl Fn(&MailboxState) -> bool) -> MailboxState {
        *tokio::time::timeout(WAIT, self.state.wait_for(|s| pred(s)))
            .await
            .expect("watcher never reached the expected state")
            .expect("watcher dropped its state")
    }

    async fn stop(self) -> Result<(), MailboxError> {
        self.shutdown.send(true).unwrap();
        tokio::time::timeout(WAIT, self.task)
            .await
            .expect("watcher did not return after shutdown")
            .expect("watcher task panicked")
    }
}

#[tokio::test]
async fn backlog_is_handled_in_uid_order_and_moved() {
    let stack = shared();
    let user = "backlog";
    let raws: Vec<Vec<u8>> = ["первое", "второе", "третье"]
        .iter()
        .map(|s| message(stack, s))
        .collect();
    for raw in &raws {
        stack.append(user, "INBOX", raw).await;
    }
    let recorder = Arc::new(Recorder::default());
    let mut run = spawn(
        imap_config(stack, user, TlsMode::None),
        TlsOptions::default(),
        recorder.clone(),
    );
    let moved = stack
        .wait_for_count(user, "otklik/processed", 3, WAIT)
        .await;
    run.wait_state(|s| *s == MailboxState::Idle).await;

    assert_eq!(recorder.subjects(), ["первое", "второе", "третье"]);
    let seen = recorder.seen.lock().unwrap().clone();
    let uids: Vec<u32> = seen.iter().map(|f| f.uid).collect();
    assert!(
        uids.windows(2).all(|w| w[0] < w[1]),
        "not in UID order: {uids:?}"
    );
    for (f, raw) in seen.iter().zip(&raws) {
        assert_eq!(&f.raw, raw, "the handler got other bytes than appended");
        assert!(f.arrival.is_some(), "INTERNALDATE missing");
        assert_ne!(f.uid_validity, 0);
    }
    assert_eq!(
        moved.iter().map(|m| m.subject.as_str()).collect::<Vec<_>>(),
        ["первое", "второе", "третье"]
    );
    assert!(stack.fetch_all(user, "INBOX").await.is_empty());
    let boxes = stack.mailboxes(user).await;
    assert!(boxes.contains(&"otklik.processed".to_string()), "{boxes:?}");
    assert!(boxes.contains(&"otklik.rejected".to_string()), "{boxes:?}");
    assert_ne!(run.heartbeat.load(std::sync::atomic::Ordering::Relaxed), 0);
    run.stop().await.unwrap();
}

/// A backlog is fetched, made durable and moved in batches: one flush for the whole batch,
/// before any of it is moved; each message still reaches the handler once, in UID order,
/// with its own bytes, and lands in the mailbox its disposition names.
#[tokio::test]
async fn a_backlog_is_one_batch_with_one_flush_before_its_moves() {
    let stack = shared();
    let user = "batch";
    let n = 40;
    let subjects: Vec<String> = (0..n)
        .map(|i| {
            if i % 7 == 3 {
                format!("REJECT {i}")
            } else {
                format!("message {i}")
            }
        })
        .collect();
    let raws: Vec<Vec<u8>> = subjects.iter().map(|s| message(stack, s)).collect();
    for raw in &raws {
        stack.append(user, "INBOX", raw).await;
    }
    let recorder = Arc::new(Recorder::default());
    let mut run = spawn(
        imap_config(stack, user, TlsMode::None),
        TlsOptions::default(),
        recorder.clone(),
    );
    let rejected = subjects.iter().filter(|s| s.starts_with("REJECT")).count();
    let moved = stack
        .wait_for_count(user, "otklik/processed", n - rejected, WAIT)
        .await;
    let moved_rejected = stack
        .wait_for_count(user, "otklik/rejected", rejected, WAIT)
        .await;
    run.wait_state(|s| *s == MailboxState::Idle).await;
    assert_eq!(recorder.subjects(), subjects, "each once, in UID order");
    let seen = recorder.seen.lock().unwrap().clone();
    for (f, raw) in seen.iter().zip(&raws) {
        assert_eq!(&f.raw, raw, "the handler got other bytes than appended");
        assert!(f.arrival.is_some(), "INTERNALDATE missing");
    }
    assert_eq!(
        *recorder.durable.lock().unwrap(),
        [n],
        "one flush, after all {n} were handled"
    );
    let mut got: Vec<&str> = moved
        .iter()
        .chain(&moved_rejected)
        .map(|m| m.subject.as_str())
        .collect();
    got.sort();
    let mut want: Vec<&str> = subjects.iter().map(String::as_str).collect();
    want.sort();
    assert_eq!(got, want);
    assert!(
        moved_rejected
            .iter()
            .all(|m| m.subject.starts_with("REJECT"))
    );
    assert!(stack.fetch_all(user, "INBOX").await.is_empty());
    run.stop().await.unwrap();
}

#[tokio::test]
async fn new_message_is_seen_through_idle_and_rejects_go_to_rejected() {
    let stack = shared();
    let user = "idler";
    let recorder = Arc::new(Recorder::default());
    let mut run = spawn(
        imap_config(stack, user, TlsMode::None),
        TlsOptions::default(),
        recorder.clone(),
    );
    run.wait_state(|s| *s == MailboxState::Idle).await;

    // Delivered over SMTP while the watcher idles.
    stack
        .send(
            "monitoring",
            &[&stack.addr(user)],
            &message(stack, "через IDLE"),
        )
        .await;
    let got = stack
        .wait_for(
            user,
            "otklik/processed",
            |m| m.subject == "через IDLE",
            WAIT,
        )
        .await;
    assert_eq!(got.subject, "через IDLE");

    stack
        .append(user, "INBOX", &message(stack, "REJECT me"))
        .await;
    stack
        .wait_for(user, "otklik/rejected", |m| m.subject == "REJECT me", WAIT)
        .await;
    assert!(stack.fetch_all(user, "INBOX").await.is_empty());
    assert!(
        stack
            .fetch_all(user, "otklik/processed")
            .await
            .iter()
            .all(|m| m.subject != "REJECT me")
    );
    assert_eq!(recorder.count("через IDLE"), 1);
    assert_eq!(recorder.count("REJECT me"), 1);
    run.stop().await.unwrap();
}

#[tokio::test]
async fn handler_error_leaves_the_message_in_the_inbox_and_it_is_retried() {
    let stack = shared();
    let user = "diskfull";
    stack
        .append(user, "INBOX", &message(stack, "FAIL once"))
        .await;
    let recorder = Arc::new(Recorder::default());
    let mut run = spawn(
        imap_config(stack, user, TlsMode::None),
        TlsOptions::default(),
        recorder.clone(),
    );
    // The first attempt fails: the watcher backs off (at least 2 s) ...
    let state = run
        .wait_state(|s| matches!(s, MailboxState::Backoff { .. }))
        .await;
    assert_eq!(state, MailboxState::Backoff { attempt: 1 });
    assert_eq!(recorder.count("FAIL once"), 1);
    // ... and meanwhile the message has not moved.
    let inbox = stack.fetch_all(user, "INBOX").await;
    assert_eq!(
        inbox.len(),
        1,
        "the message left the inbox after a handler error"
    );
    assert!(stack.fetch_all(user, "otklik/processed").await.is_empty());

    // The retry succeeds and moves it.
    stack
        .wait_for(user, "otklik/processed", |m| m.subject == "FAIL once", WAIT)
        .await;
    assert_eq!(recorder.count("FAIL once"), 2);
    assert!(stack.fetch_all(user, "INBOX").await.is_empty());
    run.stop().await.unwrap();
}

#[tokio::test]
async fn implicit_tls_and_starttls_trusting_the_harness_ca() {
    let stack = shared();
    for (user, mode) in [
        ("tls-implicit", TlsMode::Implicit),
        ("tls-starttls", TlsMode::Starttls),
    ] {
        let subject = format!("over {mode:?}");
        stack.append(user, "INBOX", &message(stack, &subject)).await;
        let recorder = Arc::new(Recorder::default());
        let mut run = spawn(
            imap_config(stack, user, mode),
            harness_ca(stack),
            recorder.clone(),
        );
        stack
            .wait_for(user, "otklik/processed", |m| m.subject == subject, WAIT)
            .await;
        run.wait_state(|s| *s == MailboxState::Idle).await;
        assert_eq!(recorder.count(&subject), 1);
        run.stop().await.unwrap();
    }
}

#[tokio::test]
async fn an_untrusted_certificate_is_refused_and_retried() {
    let stack = shared();
    let user = "untrusted";
    stack
        .append(user, "INBOX", &message(stack, "never read"))
        .await;
    let recorder = Arc::new(Recorder::default());
    // No extra CA: the harness's self-signed certificate must not be accepted.
    let mut run = spawn(
        imap_config(stack, user, TlsMode::Implicit),
        TlsOptions::default(),
        recorder.clone(),
    );
    run.wait_state(|s| matches!(s, MailboxState::Backoff { .. }))
        .await;
    assert!(recorder.subjects().is_empty());
    assert_eq!(stack.fetch_all(user, "INBOX").await.len(), 1);
    // Still retrying, and a shutdown during backoff returns promptly.
    run.stop().await.unwrap();
}

#[tokio::test]
async fn a_wrong_password_keeps_retrying_with_growing_backoff() {
    let stack = shared();
    let user = "badpass";
    stack.append(user, "INBOX", &message(stack, "waits")).await;
    let mut cfg = imap_config(stack, user, TlsMode::None);
    cfg.password = Password("wrong".into());
    let recorder = Arc::new(Recorder::default());
    let mut run = spawn(cfg, TlsOptions::default(), recorder.clone());
    run.wait_state(|s| *s == MailboxState::Backoff { attempt: 1 })
        .await;
    run.wait_state(|s| *s == MailboxState::Backoff { attempt: 2 })
        .await;
    assert!(
        !run.task.is_finished(),
        "a login failure must not end the watcher"
    );
    assert!(recorder.subjects().is_empty());
    assert_eq!(stack.fetch_all(user, "INBOX").await.len(), 1);
    run.stop().await.unwrap();
}

#[tokio::test]
async fn plain_imap_to_a_remote_host_is_a_permanent_error() {
    let stack = shared();
    let mut cfg = imap_config(stack, "remote", TlsMode::None);
    cfg.host = "imap.example.ru".into();
    let run = spawn(cfg, TlsOptions::default(), Arc::new(Recorder::default()));
    let result = tokio::time::timeout(WAIT, run.task).await.unwrap().unwrap();
    assert!(
        matches!(result, Err(MailboxError::InsecureHost(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn shutdown_while_idle_returns_ok() {
    let stack = shared();
    let mut run = spawn(
        imap_config(stack, "quitter", TlsMode::None),
        TlsOptions::default(),
        Arc::new(Recorder::default()),
    );
    run.wait_state(|s| *s == MailboxState::Idle).await;
    run.stop().await.unwrap();
}

#[tokio::test]
async fn dovecot_restart_under_the_watcher_loses_nothing() {
    let stack = MailStack::start();
    let user = "survivor";
    let recorder = Arc::new(Recorder::default());
    let mut run = spawn(
        imap_config(&stack, user, TlsMode::None),
        TlsOptions::default(),
        recorder.clone(),
    );
    stack
        .append(user, "INBOX", &message(&stack, "before"))
        .await;
    stack
        .wait_for(user, "otklik/processed", |m| m.subject == "before", WAIT)
        .await;
    run.wait_state(|s| *s == MailboxState::Idle).await;

    stack.stop_dovecot();
    run.wait_state(|s| matches!(s, MailboxState::Backoff { .. }))
        .await;
    // Mail arriving during the outage waits in Postfix's queue.
    stack
        .send(
            "monitoring",
            &[&stack.addr(user)],
            &message(&stack, "during"),
        )
        .await;
    stack.start_dovecot();
    stack.flush_queue();
    stack.append(user, "INBOX", &message(&stack, "after")).await;

    let moved = stack
        .wait_for_count(user, "otklik/processed", 3, WAIT)
        .await;
    let mut subjects: Vec<_> = moved.iter().map(|m| m.subject.clone()).collect();
    subjects.sort();
    assert_eq!(subjects, ["after", "before", "during"]);
    for s in ["before", "during", "after"] {
        assert_eq!(
            recorder.count(s),
            1,
            "{s} handled {} times",
            recorder.count(s)
        );
    }
    run.wait_state(|s| *s == MailboxState::Idle).await;
    run.stop().await.unwrap();
}

#[tokio::test]
async fn without_idle_and_move_it_polls_and_copies() {
    let stack = shared();
    let user = "oldserver";
    stack
        .append(user, "INBOX", &message(stack, "old one"))
        .await;
    let recorder = Arc::new(Recorder::default());
    let mut cfg = imap_config(stack, user, TlsMode::None);
    cfg.poll_seconds = 1;
    let options = WatchOptions {
        use_idle: false,
        use_move: false,
        use_uidplus: false,
    };
    let mut run = spawn_with(cfg, options, recorder.clone());
    stack
        .wait_for(user, "otklik/processed", |m| m.subject == "old one", WAIT)
        .await;
    run.wait_state(|s| *s == MailboxState::Polling).await;
    // Seen by the next poll.
    stack
        .append(user, "INBOX", &message(stack, "REJECT polled"))
        .await;
    stack
        .wait_for(
            user,
            "otklik/rejected",
            |m| m.subject == "REJECT polled",
            WAIT,
        )
        .await;
    // COPY + \Deleted + EXPUNGE left nothing behind, not even deleted copies.
    assert!(stack.fetch_all(user, "INBOX").await.is_empty());
    assert_eq!(recorder.count("old one"), 1);
    assert_eq!(recorder.count("REJECT polled"), 1);
    run.stop().await.unwrap();
}

#[tokio::test]
async fn cyrillic_mailbox_names_are_created_in_modified_utf7() {
    let stack = shared();
    let user = "kirillica";
    stack
        .append(user, "INBOX", &message(stack, "REJECT в папку"))
        .await;
    let recorder = Arc::new(Recorder::default());
    let mut cfg = imap_config(stack, user, TlsMode::None);
    cfg.processed_mailbox = "отклик/обработано".into();
    cfg.rejected_mailbox = "отклик/отклонено".into();
    let run = spawn(cfg, TlsOptions::default(), recorder.clone());
    let rejected = encode_mailbox_name("отклик.отклонено");
    stack
        .wait_for(user, &rejected, |m| m.subject == "REJECT в папку", WAIT)
        .await;
    let boxes = stack.mailboxes(user).await;
    assert!(boxes.contains(&encode_mailbox_name("отклик")), "{boxes:?}");
    assert!(
        boxes.contains(&encode_mailbox_name("отклик.обработано")),
        "{boxes:?}"
    );
    run.stop().await.unwrap();
}

/// A message of about `body_kb` KB (plain text lines), with the usual header.
fn big_message(stack: &MailStack, subject: &str, body_kb: usize) -> Vec<u8> {
    let mut raw = format!(
        "From: monitoring@{d}\r\nTo: intake@{d}\r\nSubject: {subject}\r\n\
         Message-ID: <{id}>\r\nDate: Sat, 28 Nov 2026 10:00:00 +0300\r\n\
         Content-Type: text/plain; charset=us-ascii\r\n\r\n",
        d = MailStack::DOMAIN,
        id = stack.new_message_id(),
    )
    .into_bytes();
    // 1 KB lines (1022 characters and CRLF)
    for i in 0..body_kb {
        raw.extend_from_slice(format!("BODYLINE{i:06}").as_bytes());
        raw.extend(std::iter::repeat_n(b'x', 1022 - 14));
        raw.extend_from_slice(b"\r\n");
    }
    raw
}

#[tokio::test]
async fn oversized_mail_is_rejected_without_being_fetched_and_reported_once() {
    let stack = shared();
    let user = "toobig";
    let big = big_message(stack, "большое", 200);
    stack.append(user, "INBOX", &big).await;
    stack
        .append(user, "INBOX", &message(stack, "обычное"))
        .await;
    let recorder = Arc::new(Recorder::default());
    let mut cfg = imap_config(stack, user, TlsMode::None);
    cfg.max_message_size = 100_000;
    let mut run = spawn(cfg, TlsOptions::default(), recorder.clone());
    // Both were in the inbox before the first scan: idle means both were dealt with.
    run.wait_state(|s| *s == MailboxState::Idle).await;
    run.stop().await.unwrap();

    assert_eq!(recorder.subjects(), ["обычное"], "handle saw the big one");
    let reported = recorder.oversized.lock().unwrap().clone();
    assert_eq!(reported.len(), 1, "{reported:?}");
    let over = &reported[0];
    assert_eq!(over.size, big.len() as u64, "RFC822.SIZE");
    assert_ne!(over.uid_validity, 0);
    let header = String::from_utf8_lossy(&over.header);
    assert!(header.starts_with("From: monitoring@"), "{header}");
    assert!(header.contains("Subject: большое\r\n"), "{header}");
    assert!(header.ends_with("\r\n\r\n"), "the whole header: {header}");
    assert!(!header.contains("BODYLINE"), "body bytes in the header");
    assert!(over.header.len() <= OVERSIZED_HEADER_MAX as usize);

    // No session of this user so far (the two APPENDs and the watcher's) was sent the big
    // message: Dovecot logs each session's bytes out when it ends.
    let deadline = tokio::time::Instant::now() + WAIT;
    let sent = loop {
        let sent = stack.imap_bytes_sent(user);
        if sent.len() >= 3 || tokio::time::Instant::now() >= deadline {
            break sent;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(sent.len(), 3, "sessions logged: {sent:?}");
    assert!(
        sent.iter().all(|&out| out < 100_000),
        "a session downloaded the big message: bytes sent per session {sent:?}"
    );

    // Moved, byte for byte, to the rejected mailbox; the normal one was handled.
    let rejected = stack.fetch_all(user, "otklik/rejected").await;
    assert_eq!(rejected.len(), 1);
    assert!(rejected[0].raw == big, "the rejected copy differs");
    let processed = stack.fetch_all(user, "otklik/processed").await;
    assert_eq!(
        processed
            .iter()
            .map(|m| m.subject.as_str())
            .collect::<Vec<_>>(),
        ["обычное"]
    );
    assert!(stack.fetch_all(user, "INBOX").await.is_empty());
}

/// Runs the watcher on `stack` with `cfg` until the inbox of `user` holds nothing more
/// (every message handled and moved), then returns the server's mailbox names, sorted.
async fn run_until_inbox_is_empty(
    stack: &MailStack,
    user: &str,
    cfg: ImapConfig,
    recorder: Arc<Recorder>,
) -> Vec<String> {
    let mut run = spawn(cfg, TlsOptions::default(), recorder);
    // All mail was appended before the start: the first idle follows the first whole scan.
    run.wait_state(|s| *s == MailboxState::Idle).await;
    run.stop().await.unwrap();
    assert!(stack.fetch_all(user, "INBOX").await.is_empty());
    let mut boxes = stack.mailboxes(user).await;
    boxes.sort();
    boxes
}

#[tokio::test]
async fn under_a_personal_prefix_like_courier_the_mailboxes_are_made_inside_it() {
    let stack = MailStack::start_with(DovecotOptions {
        prefix: "INBOX.".into(),
        ..DovecotOptions::default()
    });
    let user = "courier";
    stack
        .append(user, "INBOX", &message(&stack, "обычное"))
        .await;
    stack
        .append(user, "INBOX", &message(&stack, "REJECT непонятное"))
        .await;
    let mut cfg = imap_config(&stack, user, TlsMode::None);
    // the default processed name gets the prefix; one that has it already keeps it once
    assert_eq!(cfg.processed_mailbox, "otklik/processed");
    cfg.rejected_mailbox = "INBOX/отклик/отклонено".into();
    let recorder = Arc::new(Recorder::default());
    let boxes = run_until_inbox_is_empty(&stack, user, cfg, recorder.clone()).await;

    let cyr = |s: &str| encode_mailbox_name(s);
    let mut want = vec![
        "INBOX".to_string(),
        "INBOX.otklik".to_string(),
        "INBOX.otklik.processed".to_string(),
        format!("INBOX.{}", cyr("отклик")),
        format!("INBOX.{}.{}", cyr("отклик"), cyr("отклонено")),
    ];
    want.sort();
    assert_eq!(boxes, want);
    let processed = stack.fetch_all(user, "INBOX/otklik/processed").await;
    assert_eq!(processed.len(), 1);
    assert_eq!(processed[0].subject, "обычное");
    let rejected = stack
        .fetch_all(
            user,
            &format!("INBOX.{}.{}", cyr("отклик"), cyr("отклонено")),
        )
        .await;
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].subject, "REJECT непонятное");
    assert_eq!(recorder.subjects().len(), 2);
}

#[tokio::test]
async fn with_a_pipe_separator_like_yandex_the_levels_are_joined_with_it() {
    let stack = MailStack::start_with(DovecotOptions {
        separator: '|',
        ..DovecotOptions::default()
    });
    let user = "yandex";
    stack
        .append(user, "INBOX", &message(&stack, "обычное"))
        .await;
    stack
        .append(user, "INBOX", &message(&stack, "REJECT непонятное"))
        .await;
    let mut cfg = imap_config(&stack, user, TlsMode::None);
    cfg.rejected_mailbox = "отклик/отклонено".into();
    let recorder = Arc::new(Recorder::default());
    let boxes = run_until_inbox_is_empty(&stack, user, cfg, recorder.clone()).await;

    let cyr = |s: &str| encode_mailbox_name(s);
    let mut want = vec![
        "INBOX".to_string(),
        "otklik".to_string(),
        "otklik|processed".to_string(),
        cyr("отклик"),
        format!("{}|{}", cyr("отклик"), cyr("отклонено")),
    ];
    want.sort();
    assert_eq!(boxes, want);
    let processed = stack.fetch_all(user, "otklik|processed").await;
    assert_eq!(processed.len(), 1);
    assert_eq!(processed[0].subject, "обычное");
    let rejected = stack
        .fetch_all(user, &format!("{}|{}", cyr("отклик"), cyr("отклонено")))
        .await;
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].subject, "REJECT непонятное");
}

#[tokio::test]
async fn without_uidplus_and_move_a_message_someone_else_flagged_deleted_is_never_expunged() {
    // Advertises IDLE but neither MOVE nor UIDPLUS (nor NAMESPACE: names come from LIST).
    let stack = MailStack::start_with(DovecotOptions {
        imap_capability: Some(DovecotOptions::OLD_SERVER_CAPABILITIES.into()),
        ..DovecotOptions::default()
    });
    let user = "oldserver";
    // A user's client flagged this one \Deleted and has not expunged it yet.
    stack
        .append_flagged(
            user,
            "INBOX",
            Some("(\\Deleted)"),
            &message(&stack, "чужое удалённое"),
        )
        .await;
    stack
        .append(user, "INBOX", &message(&stack, "первое"))
        .await;
    let recorder = Arc::new(Recorder::default());
    let mut run = spawn(
        imap_config(&stack, user, TlsMode::None),
        TlsOptions::default(),
        recorder.clone(),
    );
    run.wait_state(|s| *s == MailboxState::Idle).await;
    run.stop().await.unwrap();

    assert_eq!(
        recorder.subjects(),
        ["первое"],
        "a \\Deleted message was handled"
    );
    let processed = stack.fetch_all(user, "otklik/processed").await;
    assert_eq!(processed.len(), 1);
    assert_eq!(processed[0].subject, "первое");
    // Both still in the inbox: the other client's, untouched, and ours, flagged.
    let inbox = stack.fetch_all_with_flags(user, "INBOX").await;
    let summary: Vec<(&str, &[String])> = inbox
        .iter()
        .map(|(m, f)| (m.subject.as_str(), f.as_slice()))
        .collect();
    assert_eq!(
        summary,
        [
            ("чужое удалённое", &["\\Deleted".to_string()][..]),
            (
                "первое",
                &["\\Deleted".to_string(), MOVED_KEYWORD.to_string()][..]
            ),
        ],
        "the inbox after the first run"
    );

    // The other client changes its mind; a new message comes. A new watcher (nothing of
    // the first in memory) handles both, and its EXPUNGE now takes ours, the first run's
    // included: only our messages carry \Deleted.
    let other_uid = inbox[0].0.uid;
    stack
        .store_flags(user, "INBOX", other_uid, "-FLAGS (\\Deleted)")
        .await;
    stack
        .append(user, "INBOX", &message(&stack, "второе"))
        .await;
    let recorder = Arc::new(Recorder::default());
    let mut run = spawn(
        imap_config(&stack, user, TlsMode::None),
        TlsOptions::default(),
        recorder.clone(),
    );
    run.wait_state(|s| *s == MailboxState::Idle).await;
    run.stop().await.unwrap();
    assert_eq!(recorder.subjects(), ["чужое удалённое", "второе"]);
    assert!(
        stack.fetch_all(user, "INBOX").await.is_empty(),
        "{:?}",
        stack.fetch_all_with_flags(user, "INBOX").await
    );
    let mut processed: Vec<String> = stack
        .fetch_all(user, "otklik/processed")
        .await
        .into_iter()
        .map(|m| m.subject)
        .collect();
    processed.sort();
    assert_eq!(processed, ["второе", "первое", "чужое удалённое"]);
}
