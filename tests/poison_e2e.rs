//! One message must not be able to take the service down for good, end to end: the real
//! `otklik` binary (built with `--features failpoints`) against the real Dovecot and
//! Postfix, restarted by this test the way systemd's `Restart=on-failure` does.
//!
//! 1. A stranger's message of 100,000 attached messages within each other (8.7 MB, under
//!    the size limit) is refused before it is parsed: the service does not die, the message
//!    goes to the rejected mailbox, and the next notification is forwarded.
//! 2. A notification on which handling dies (a fault injected by the `fail` crate at the
//!    moment of handling: `FAILPOINTS=handle=return(TOKEN)` aborts the process on a message
//!    that contains TOKEN, on every start, as a parser bug would): one crash, one restart,
//!    the message set aside unread in the rejected mailbox, the coordinator told once, and
//!    the next notification forwarded.
//!
//! `cargo test -p otklik --features failpoints --test poison_e2e` (scripts/test runs it).
//! Waits only fail a hung test; nothing here measures time.
#![allow(unsafe_code)] // kill(2) on our own child, for a clean stop

use otklik_testkit as support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use support::mailstack::{MailStack, server_mailbox};
use support::service::{ALWAYS_CALENDAR, People, WAIT, config_for, notification};

/// The text on which the injected fault fires.
const TOKEN: &str = "POISON-7F3A";

fn spawn(bin: &Path, config: &Path, log: &Path) -> Child {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("daemon log file");
    let err = out.try_clone().expect("daemon log file");
    Command::new(bin)
        .arg("--config")
        .arg(config)
        .args(["run", "--log-format", "human"])
        .env("OTKLIK_TEST_IMAP_PASSWORD", MailStack::PASSWORD)
        .env("FAILPOINTS", format!("handle=return({TOKEN})"))
        .env_remove("NOTIFY_SOCKET")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()))
}

/// systemd's part: starts the service, starts it again whenever it dies (at most 5 times),
/// stops it with SIGTERM when asked. Returns how many times it died.
fn supervise(
    bin: PathBuf,
    config: PathBuf,
    log: PathBuf,
    stop: Arc<AtomicBool>,
    deaths: Arc<AtomicUsize>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut child = spawn(&bin, &config, &log);
        loop {
            if stop.load(Ordering::SeqCst) {
                // SAFETY: kill(2) on our own child's pid.
                unsafe {
                    libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
                }
                let _ = child.wait();
                return;
            }
            if let Ok(Some(status)) = child.try_wait() {
                let n = deaths.fetch_add(1, Ordering::SeqCst) + 1;
                eprintln!("the service died ({status}); restart {n}");
                assert!(n <= 5, "the service keeps dying");
                std::thread::sleep(Duration::from_millis(200)); // RestartSec
                child = spawn(&bin, &config, &log);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    })
}

/// A stranger's message of `levels` attached messages within each other.
fn nested(stack: &MailStack, p: &People, levels: usize) -> Vec<u8> {
    let mut raw = format!(
        "From: {}\r\nTo: {}\r\nSubject: nested\r\nMessage-ID: <nested-{levels}@stranger.example>\r\nMIME-Version: 1.0\r\n",
        stack.addr(&p.stranger()),
        stack.addr(&p.service())
    )
    .into_bytes();
    // 87 bytes a level, as in the message that crashed the service.
    let level =
        b"Content-Type: message/rfc822\r\nContent-Disposition: inline; filename=level-00000.eml\r\n\r\n";
    raw.reserve(level.len() * levels + 64);
    for _ in 0..levels {
        raw.extend_from_slice(level);
    }
    raw.extend_from_slice(b"Content-Type: text/plain\r\n\r\nhello\r\n");
    raw
}

async fn count(stack: &MailStack, user: &str, mailbox: &str) -> usize {
    let Ok(mut s) = stack.try_imap(user).await else {
        return 0;
    };
    let n = match s.examine(server_mailbox(mailbox)).await {
        Ok(mb) => mb.exists as usize,
        Err(_) => 0,
    };
    let _ = s.logout().await;
    n
}

/// Waits until `mailbox` of `user` holds at least `n` messages.
async fn wait_count(stack: &MailStack, user: &str, mailbox: &str, n: usize) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let got = count(stack, user, mailbox).await;
        if got >= n {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{mailbox} of {user} holds {got}, not {n}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Appends a good notification and waits until its executor has it.
async fn still_forwards(stack: &MailStack, p: &People, id: &str) {
    let raw = notification(stack, p, id, "ЖКХ", "Житель", "Нет воды.", "");
    stack.append(&p.service(), "INBOX", &raw).await;
    stack
        .wait_for(
            &p.executor("housing"),
            "INBOX",
            |m| m.text.contains(&format!("Номер инцидента: {id}")) || m.subject.contains(id),
            WAIT,
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_that_kills_the_service_costs_one_restart_not_the_service() {
    let stack = MailStack::shared();
    let p = People::new("poison");
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("otklik.toml");
    std::fs::write(&config, config_for(stack, &p, dir.path(), ALWAYS_CALENDAR)).expect("config");
    let log = dir.path().join("daemon.log");
    let stop = Arc::new(AtomicBool::new(false));
    let deaths = Arc::new(AtomicUsize::new(0));
    let supervisor = supervise(
        PathBuf::from(env!("CARGO_BIN_EXE_otklik")),
        config.clone(),
        log.clone(),
        stop.clone(),
        deaths.clone(),
    );
    let rejected = "otklik/rejected";
    still_forwards(stack, &p, "810001").await;

    // 1. 100,000 nested attached messages: refused unparsed, nobody dies.
    let bomb = nested(stack, &p, 100_000);
    assert!(
        bomb.len() > 8_000_000 && bomb.len() < 25_000_000,
        "{}",
        bomb.len()
    );
    stack.append(&p.service(), "INBOX", &bomb).await;
    wait_count(stack, &p.service(), rejected, 1).await;
    still_forwards(stack, &p, "810002").await;
    assert!(
        deaths.load(Ordering::SeqCst) <= 1,
        "the nested message cost more than one restart"
    );
    let deaths_before = deaths.load(Ordering::SeqCst);

    // 2. A notification on which handling dies, on every start.
    // The token in a header of its own: the body is encoded on the way.
    let mut poison = format!("X-Test: {TOKEN}\r\n").into_bytes();
    poison.extend(notification(
        stack,
        &p,
        "810003",
        "ЖКХ",
        "Житель",
        "Нет воды.",
        "",
    ));
    stack.append(&p.service(), "INBOX", &poison).await;
    wait_count(stack, &p.service(), rejected, 2).await;
    let notice = stack
        .wait_for(
            &p.coordinator(),
            "INBOX",
            |m| m.subject.contains("Письмо отложено"),
            WAIT,
        )
        .await;
    assert!(
        notice.text.contains("otklik/rejected") || notice.text.contains("otklik.rejected"),
        "{}",
        notice.text
    );
    still_forwards(stack, &p, "810004").await;
    assert_eq!(
        deaths.load(Ordering::SeqCst) - deaths_before,
        1,
        "the poisoned notification must cost exactly one restart"
    );

    // A copy of the same bytes later is set aside at once, untold.
    stack.append(&p.service(), "INBOX", &poison).await;
    wait_count(stack, &p.service(), rejected, 3).await;
    still_forwards(stack, &p, "810005").await;

    stop.store(true, Ordering::SeqCst);
    supervisor.join().expect("supervisor");
    assert_eq!(deaths.load(Ordering::SeqCst) - deaths_before, 1);
    assert_eq!(count(stack, &p.service(), "INBOX").await, 0);
    let notices = stack
        .fetch_all(&p.coordinator(), "INBOX")
        .await
        .into_iter()
        .filter(|m| m.subject.contains("Письмо отложено"))
        .count();
    assert_eq!(notices, 1, "the coordinator is told once");
    let log = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(log.contains("message set aside"), "{log}");
    // The executor never got a case for the poisoned notification.
    let forwarded = stack.fetch_all(&p.executor("housing"), "INBOX").await;
    assert!(!forwarded.iter().any(|m| m.text.contains("810003")));
}
