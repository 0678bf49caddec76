//! Outages under load, against the real Dovecot and Postfix, each test with its
//! own mail stack (an outage must not hit other tests):
//! - Postfix stopped for a while while notifications keep coming: cases are opened, the
//!   outbox grows, and drains once Postfix is back; nothing lost, nothing doubled;
//! - Dovecot restarted while notifications keep coming: the service reconnects; nothing
//!   lost, nothing doubled;
//! - the disk of `state_dir` full (a small tmpfs): the service refuses new work loudly (an
//!   error in its log, the mail stays in the intake mailbox), loses nothing it accepted,
//!   and takes in what waited once there is room again.

use otklik_testkit as support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use support::mailstack::{MailStack, server_mailbox};
use support::service::*;

/// Everything the in-process services log, for the "loudly" checks.
fn logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = Capture(buf.clone());
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("otklik=info,warn"))
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .try_init();
        buf
    })
}

#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn log_text() -> String {
    String::from_utf8_lossy(&logs().lock().unwrap()).into_owned()
}

/// APPEND that rides out a stopped Dovecot (retries until the deadline).
async fn append_retrying(stack: &MailStack, user: &str, raw: &[u8]) {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(mut s) = stack.try_imap(user).await
            && s.append("INBOX", None, None, raw).await.is_ok()
        {
            let _ = s.logout().await;
            return;
        }
        assert!(Instant::now() < deadline, "cannot APPEND for {WAIT:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// How many messages `mailbox` of `user` holds.
async fn count(stack: &MailStack, user: &str, mailbox: &str) -> usize {
    let mut s = stack.imap(user).await;
    let n = match s.examine(server_mailbox(mailbox)).await {
        Ok(mb) => mb.exists as usize,
        Err(_) => 0,
    };
    let _ = s.logout().await;
    n
}

fn note(stack: &MailStack, p: &People, i: usize) -> Vec<u8> {
    notification(
        stack,
        p,
        &format!("{}", 500_000 + i),
        "ЖКХ",
        &format!("Житель {i}"),
        &format!("Сообщение {i}: нет воды."),
        "",
    )
}

/// The SMTP connections the service keeps (`smtp.connections`, not set in these configs):
/// at most this many of its mails are in flight when the SMTP server goes away.
const IN_FLIGHT_SMTP: usize = otklik_core::config::DEFAULT_SMTP_CONNECTIONS;

/// Postfix's LMTP deliveries to Dovecot in flight at once (its default destination
/// concurrency, which the test stack keeps): a delivery Dovecot stored but could not confirm
/// before it stopped is delivered again by Postfix, not by us.
const IN_FLIGHT_LMTP: usize = 20;

/// Each case has exactly one forward in the executor's mailbox, apart from at most `twins`
/// copies of mail that was in flight at an outage, each with its twin's Message-ID.
async fn one_forward_per_case(stack: &MailStack, p: &People, n: usize, twins: usize) {
    // A mail deferred during an outage is tried again at its own backoff, which grows with
    // each failed attempt (to at most ten minutes), not when the server comes back, as an
    // MTA's deferred queue does: how long depends on how often it was tried while the
    // server was away, which a slow machine changes. So the wait allows the longest
    // backoff; it ends as soon as every forward is there.
    let drain = otklik::outbox::backoff(u32::MAX) + WAIT;
    let deadline = Instant::now() + drain;
    // Counted by case, not by message: a twin of a mail in flight at the outage must not
    // stand in for a forward still deferred.
    let cases = |mails: &[support::mailstack::Received]| {
        let mut t: Vec<&str> = mails
            .iter()
            .map(|m| m.header("X-Otklik-Case").unwrap_or("?"))
            .collect();
        t.sort_unstable();
        t.dedup();
        t.len()
    };
    let mut mails = stack.fetch_all(&p.executor("housing"), "INBOX").await;
    while cases(&mails) < n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        mails = stack.fetch_all(&p.executor("housing"), "INBOX").await;
    }
    // A little longer: a second copy would arrive now.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mails = stack.fetch_all(&p.executor("housing"), "INBOX").await;
    let mut tags: Vec<String> = mails
        .iter()
        .map(|m| m.header("X-Otklik-Case").unwrap_or("?").to_string())
        .collect();
    tags.sort();
    tags.dedup();
    assert_eq!(tags.len(), n, "one forward per case: {tags:?}");
    // One Message-ID per case. A message in flight when the SMTP server went away may have
    // been queued there without its answer reaching us; we send it again, with the same
    // Message-ID (docs/keywords.md) — SMTP offers no more. At most one such twin per outage.
    let mut ids: Vec<(String, Option<String>)> = mails
        .iter()
        .map(|m| {
            (
                m.header("X-Otklik-Case").unwrap_or("?").to_string(),
                m.message_id.clone(),
            )
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "one Message-ID per case: {ids:?}");
    assert!(
        mails.len() <= n + twins,
        "{} copies of {n} forwards (at most {twins} twins)",
        mails.len()
    );
    if mails.len() > n {
        eprintln!(
            "{} forwards in flight at an outage were delivered twice, each with its twin's Message-ID",
            mails.len() - n
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postfix_down_under_load_the_outbox_grows_then_drains() {
    logs();
    let stack = MailStack::start();
    let p = People::new("pfdown");
    let dir = tempfile::tempdir().unwrap();
    let text = config_for(&stack, &p, dir.path(), ALWAYS_CALENDAR);
    let svc = Service::start(dir.path(), &text).await;
    const BEFORE: usize = 10;
    const DURING: usize = 15;
    const AFTER: usize = 10;
    let mut i = 0;
    for _ in 0..BEFORE {
        stack
            .append(&p.service(), "INBOX", &note(&stack, &p, i))
            .await;
        i += 1;
    }
    svc.wait_cases(BEFORE).await;

    stack.stop_postfix();
    let mut max_outbox = 0;
    for _ in 0..DURING {
        stack
            .append(&p.service(), "INBOX", &note(&stack, &p, i))
            .await;
        i += 1;
        max_outbox = max_outbox.max(svc.status().await.1);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Every notification is taken in while Postfix is down; its forward waits.
    let cases = svc.wait_cases(BEFORE + DURING).await;
    assert_eq!(cases.len(), BEFORE + DURING);
    let deadline = Instant::now() + WAIT;
    while svc.status().await.1 < DURING && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    max_outbox = max_outbox.max(svc.status().await.1);
    assert!(
        max_outbox >= DURING,
        "the outbox should hold the {DURING} forwards made while Postfix is down; it held {max_outbox}"
    );
    assert!(
        log_text().contains("mail not sent; will retry"),
        "the failed sends are logged"
    );
    stack.start_postfix();

    for _ in 0..AFTER {
        stack
            .append(&p.service(), "INBOX", &note(&stack, &p, i))
            .await;
        i += 1;
    }
    let n = BEFORE + DURING + AFTER;
    svc.wait_cases(n).await;
    // Drains, each deferred forward at its backoff (see `one_forward_per_case`).
    // Of what was in flight when Postfix stopped, a mail it took without its answer reaching
    // us is sent again, with the same Message-ID: SMTP offers no more.
    one_forward_per_case(&stack, &p, n, IN_FLIGHT_SMTP).await;
    let deadline = Instant::now() + WAIT;
    while svc.status().await.1 != 0 {
        assert!(Instant::now() < deadline, "the outbox never drained");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(svc.cases().await.len(), n, "each notification exactly once");
    assert_eq!(count(&stack, &p.service(), "INBOX").await, 0);
    eprintln!("Postfix outage: outbox peaked at {max_outbox}, {n} cases, {n} forwards");
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dovecot_restarted_under_load_nothing_lost() {
    logs();
    let stack = MailStack::start();
    let p = People::new("dcrestart");
    let dir = tempfile::tempdir().unwrap();
    let text = config_for(&stack, &p, dir.path(), ALWAYS_CALENDAR);
    let svc = Service::start(dir.path(), &text).await;
    const N: usize = 40;
    let mails: Vec<Vec<u8>> = (0..N).map(|i| note(&stack, &p, i)).collect();
    let appender = async {
        for m in &mails {
            append_retrying(&stack, &p.service(), m).await;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let outage = async {
        // Restart Dovecot twice while the notifications flow, once in the first
        // second (a backlog being handled), once later.
        for pause in [Duration::from_millis(700), Duration::from_millis(1200)] {
            tokio::time::sleep(pause).await;
            stack.stop_dovecot();
            tokio::time::sleep(Duration::from_millis(800)).await;
            stack.start_dovecot();
        }
    };
    tokio::join!(appender, outage);

    let deadline = Instant::now() + WAIT;
    while svc.cases().await.len() < N {
        // Postfix retries deferred LMTP deliveries itself; nudge it.
        stack.flush_queue();
        assert!(Instant::now() < deadline, "not all cases were opened");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stack.flush_queue();
    // Two Dovecot restarts: each may cut LMTP deliveries Postfix had in flight, which
    // Postfix then delivers again (one Message-ID each).
    one_forward_per_case(&stack, &p, N, 2 * IN_FLIGHT_LMTP).await;
    assert_eq!(svc.cases().await.len(), N, "each notification exactly once");
    let deadline = Instant::now() + WAIT;
    while count(&stack, &p.service(), "INBOX").await != 0 {
        assert!(Instant::now() < deadline, "the intake INBOX never emptied");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        count(&stack, &p.service(), "otklik/processed").await,
        N,
        "every notification moved to processed exactly once"
    );
    svc.stop().await;
}

/// A tmpfs mounted for the test, unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(dir).unwrap();
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "the disk-full test needs root to mount a tmpfs (as CI and the dev machines run): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs(dir.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// Fills the file system of `dir` up to the last byte with `dir/filler`.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    loop {
        if f.write_all(&chunk).is_err() {
            break;
        }
    }
    let small = [0u8; 512];
    while f.write_all(&small).is_ok() {}
    while f.write_all(&[0u8]).is_ok() {}
    let _ = f.sync_all();
    path
}

/// A service whose `state_dir` is a small tmpfs, with `BEFORE` cases accepted and
/// forwarded; then the disk is filled to the last byte and `DURING` notifications arrive.
struct DiskFull {
    stack: MailStack,
    p: People,
    svc: Service,
    path: PathBuf,
    config: otklik_core::config::Config,
    accepted: Vec<otklik_core::workflow::Case>,
    filler: PathBuf,
    errors_before: usize,
    _mount: Tmpfs,
    _dir: tempfile::TempDir,
}

const BEFORE: usize = 5;
const DURING: usize = 3;

impl DiskFull {
    async fn start(prefix: &str) -> DiskFull {
        logs();
        let stack = MailStack::start();
        let p = People::new(prefix);
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let mount = Tmpfs::mount(&state, "64m");
        let text = config_text(
            &stack,
            &p,
            &state.display().to_string(),
            ALWAYS_CALENDAR,
            DEFAULT_DEADLINES,
            "",
        );
        let (path, config) = write_config(dir.path(), &text);
        let svc = Service::start_with(path.clone(), config.clone()).await;
        for i in 0..BEFORE {
            stack
                .append(&p.service(), "INBOX", &note(&stack, &p, i))
                .await;
        }
        svc.wait_cases(BEFORE).await;
        one_forward_per_case(&stack, &p, BEFORE, 0).await;
        let accepted = svc.cases().await;

        let filler = fill(&state);
        let errors_before = log_text().matches("could not commit a message").count();
        for i in BEFORE..BEFORE + DURING {
            stack
                .append(&p.service(), "INBOX", &note(&stack, &p, i))
                .await;
        }
        DiskFull {
            stack,
            p,
            svc,
            path,
            config,
            accepted,
            filler,
            errors_before,
            _mount: mount,
            _dir: dir,
        }
    }

    /// Waits for the "could not commit" error about the new notifications.
    async fn wait_loud_error(&self) {
        let deadline = Instant::now() + WAIT;
        while log_text().matches("could not commit a message").count() == self.errors_before {
            assert!(
                Instant::now() < deadline,
                "no error logged for the refused notifications; log tail:\n{}",
                support::mailstack::tail(&log_text(), 30)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The disk fills, then has room again. sled keeps the first write error and fails every
/// later write until the store is reopened, so the service is restarted (as systemd does
/// when it exits); what it accepted before must all be there, and every notification must
/// end up as exactly one case.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_dir_disk_full_refuses_new_work_loudly_and_keeps_what_it_accepted() {
    let d = DiskFull::start("diskfull").await;
    d.wait_loud_error().await;
    // A few retries while full.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        count(&d.stack, &d.p.service(), "otklik/rejected").await,
        0,
        "nothing is rejected for want of room"
    );

    // Room again; the service is restarted (its stop may report the store's error).
    std::fs::remove_file(&d.filler).unwrap();
    let stopped = tokio::spawn(d.svc.stop()).await;
    eprintln!("stop after the disk was full: clean = {}", stopped.is_ok());
    let svc = Service::start_with(d.path.clone(), d.config.clone()).await;
    let n = BEFORE + DURING;
    let deadline = Instant::now() + WAIT;
    while count(&d.stack, &d.p.service(), "INBOX").await != 0 {
        assert!(
            Instant::now() < deadline,
            "the waiting notifications were never taken in after the restart; log tail:\n{}",
            support::mailstack::tail(&log_text(), 30)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Let the last one commit.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let cases = svc.cases().await;
    for c in &d.accepted {
        let now = cases
            .iter()
            .find(|x| x.number == c.number)
            .unwrap_or_else(|| panic!("accepted case {} lost", c.number));
        assert_eq!(now.notification.source_id, c.notification.source_id);
        assert_eq!(now.history.len(), c.history.len());
    }
    let have: Vec<String> = cases
        .iter()
        .filter_map(|c| c.notification.source_id.clone())
        .collect();
    let missing: Vec<String> = (0..n)
        .map(|i| format!("{}", 500_000 + i))
        .filter(|id| !have.contains(id))
        .collect();
    assert!(
        missing.is_empty(),
        "notifications moved out of the intake mailbox but never stored: {missing:?} \
         (processed holds {})",
        count(&d.stack, &d.p.service(), "otklik/processed").await
    );
    assert_eq!(cases.len(), n, "each notification exactly once");
    svc.stop().await;
}

/// While the disk is full, a notification whose commit could not be flushed must neither
/// be moved out of the intake mailbox nor have its forward sent: a crash at that point
/// would lose the case after the mail left (docs/keywords.md). And a mail whose "sent" mark cannot
/// be written must not be sent again and again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_full_neither_moves_nor_sends_what_is_not_stored() {
    let d = DiskFull::start("diskfull2").await;
    d.wait_loud_error().await;
    // Several retries while full (the IMAP backoff starts at 2 s).
    tokio::time::sleep(Duration::from_secs(8)).await;
    let in_inbox = count(&d.stack, &d.p.service(), "INBOX").await;
    let processed = count(&d.stack, &d.p.service(), "otklik/processed").await;
    let forwards = d.stack.fetch_all(&d.p.executor("housing"), "INBOX").await;
    std::fs::remove_file(&d.filler).unwrap();
    let tags: Vec<&str> = forwards
        .iter()
        .map(|m| m.header("X-Otklik-Case").unwrap_or("?"))
        .collect();
    assert_eq!(
        (in_inbox, processed),
        (DURING, BEFORE),
        "(in the intake INBOX, in processed) while the store cannot be flushed"
    );
    assert_eq!(
        forwards.len(),
        BEFORE,
        "forwards sent while their cases could not be stored: {tags:?}"
    );
    // The store still holds sled's sticky write error: stopping reports it (exit 1, so
    // systemd restarts the service), which is what a stop on a full disk should do.
    let stopped = tokio::spawn(d.svc.stop()).await;
    eprintln!(
        "stop with the store unwritable: clean = {}",
        stopped.is_ok()
    );
}

/// A store that stays unwritable (sled keeps its first ENOSPC) stops the service with
/// `StoreUnwritable` — exit status 75, which the unit restarts — after about a minute of
/// failed commits; the restart, once there is room, takes in everything that waited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_stays_unwritable_stops_the_service_for_a_restart() {
    let d = DiskFull::start("diskfull3").await;
    d.wait_loud_error().await;
    let ended = d.svc.exited(Duration::from_secs(300)).await;
    assert!(
        matches!(ended, Err(otklik::daemon::RunError::StoreUnwritable)),
        "{ended:?}"
    );
    assert_eq!(otklik::daemon::RunError::StoreUnwritable.exit_code(), 75);
    assert_eq!(
        count(&d.stack, &d.p.service(), "INBOX").await,
        DURING,
        "nothing moved"
    );

    std::fs::remove_file(&d.filler).unwrap();
    let svc = Service::start_with(d.path.clone(), d.config.clone()).await;
    let deadline = Instant::now() + WAIT;
    while svc.cases().await.len() < BEFORE + DURING {
        assert!(
            Instant::now() < deadline,
            "the waiting notifications were never taken in"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        svc.cases().await.len(),
        BEFORE + DURING,
        "each notification exactly once"
    );
    svc.stop().await;
}
