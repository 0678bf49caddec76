//! The one-command demo (`scripts/demo`): a local Dovecot + Postfix (the test harness's
//! `MailStack`), the REAL `otklik run` binary with a demo config (24/7 calendar, deadlines
//! in minutes and seconds so the escalation ladder shows within the run), the four sample
//! notifications dropped into the intake mailbox, one full cycle played by the executor and
//! the coordinator over real SMTP/IMAP, then `otklik cases --all` and `otklik show OTK-1`.
//! Everything it starts it stops; run it as often as you like.
//!
//! Usage: `demo [--otklik PATH] [--dir DIR] [--keep]` (root: the mail servers need it).
//! `--keep` leaves everything running until Ctrl-C, to watch the ladder go on.
#![allow(unsafe_code)] // process groups, signals and reaping for the test servers (libc)

use otklik_testkit::mailstack;

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use mailstack::{MailStack, Received};

use otklik_core::workflow::{Case, State};

use otklik::control::{self, Request, Response};

/// A deadline that only stops a hung demo.
const WAIT: Duration = Duration::from_secs(40);

const SERVICE: &str = "otklik";
const COORDINATOR: &str = "balakireva";
const SUPERVISOR: &str = "shevich";
const PRESS: &str = "press";
const HOUSING: &str = "shishova";
const ECONOMY: &str = "popov";
const EDUCATION: &str = "kuznetsova";

struct Args {
    otklik: PathBuf,
    dir: PathBuf,
    keep: bool,
}

fn args() -> Args {
    let mut otklik = std::env::current_exe()
        .ok()
        .and_then(|p| Some(p.parent()?.parent()?.join("otklik")))
        .unwrap_or_else(|| PathBuf::from("otklik"));
    let mut dir = PathBuf::from("/tmp/otklik-demo");
    let mut keep = false;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--otklik" => otklik = it.next().map(PathBuf::from).unwrap_or(otklik),
            "--dir" => dir = it.next().map(PathBuf::from).unwrap_or(dir),
            "--keep" => keep = true,
            other => {
                eprintln!(
                    "demo: unknown argument {other:?}\nusage: demo [--otklik PATH] [--dir DIR] [--keep]"
                );
                std::process::exit(2);
            }
        }
    }
    Args { otklik, dir, keep }
}

fn main() {
    let args = args();
    if !args.otklik.exists() {
        eprintln!(
            "demo: no otklik binary at {} (build it: cargo build --bin otklik)",
            args.otklik.display()
        );
        std::process::exit(1);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let ok = runtime.block_on(demo(&args));
    std::process::exit(if ok { 0 } else { 1 });
}

/// The service as a child process, with the sd_notify socket systemd would give it.
struct Otklik {
    child: Child,
    /// Set by the thread that drains the notify socket (as systemd does, promptly).
    ready: Arc<AtomicBool>,
}

impl Otklik {
    fn start(bin: &Path, dir: &Path, config: &Path, log: &Path) -> Otklik {
        let sock_path = dir.join("notify.sock");
        let notify = UnixDatagram::bind(&sock_path).expect("bind the notify socket");
        let ready = Arc::new(AtomicBool::new(false));
        {
            let ready = ready.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = notify.recv(&mut buf) {
                    if String::from_utf8_lossy(&buf[..n])
                        .lines()
                        .any(|l| l == "READY=1")
                    {
                        ready.store(true, Ordering::Relaxed);
                    }
                }
            });
        }
        let log = std::fs::File::create(log).expect("create the log file");
        let child = Command::new(bin)
            .arg("run")
            .arg("--config")
            .arg(config)
            .env("NOTIFY_SOCKET", &sock_path)
            .env_remove("JOURNAL_STREAM")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start otklik run");
        Otklik { child, ready }
    }

    /// Waits for `READY=1` (the mailbox is selected, the outbox runs).
    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if self.ready.load(Ordering::Relaxed) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// SIGTERM, as `systemctl stop` sends it; the exit status.
    fn stop(mut self) -> Option<i32> {
        // SAFETY: kill(2) on our own child.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        None
    }
}

impl Drop for Otklik {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn config_text(stack: &MailStack, dir: &Path) -> String {
    let a = |u: &str| stack.addr(u);
    format!(
        r#"# otklik demo config (written by scripts/demo; the ports change on every run).
# The full, commented example is config/otklik.toml.

[service]
state_dir = "{state}"
case_prefix = "OTK"
language = "ru"

[imap]
host = "{host}"
port = {imap}
tls = "none"                      # loopback only; a real server: tls = "implicit"
username = "{service}"
password_file = "imap-password"   # under systemd: a LoadCredential= name
mailbox = "INBOX"

[smtp]
host = "{host}"
port = {smtp}
tls = "none"
from = "Обратная связь <{service}>"

[calendar]                        # around the clock, so the demo runs any time
timezone = "Asia/Barnaul"
workdays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
hours = ["00:00-24:00"]

[deadlines]                       # the regulation says 9h / 4h / 1h / 7d; the demo is in a hurry
answer = "3m"
draft_before_answer = "2m"
rework = "2m"
final_after_interim = "1d"

[people]
coordinator = {{ name = "Балакирева Ольга Викторовна", email = "{coord}" }}
supervisor = {{ name = "Шевич Наталья Сергеевна", email = "{sup}" }}
publisher = "{press}"

[[executors]]
id = "housing"
name = "Шишова Татьяна Михайловна"
position = "Председатель комитета по ЖКХ и градостроительству"
email = "{housing}"
deputy = "economy"

[[executors]]
id = "economy"
name = "Попов Андрей Николаевич"
position = "Заместитель главы района по экономике"
email = "{economy}"

[[executors]]
id = "education"
name = "Кузнецова Елена Петровна"
position = "Председатель комитета по образованию"
email = "{education}"

[[rules]]
name = "ЖКХ и дороги"
topic = ["ЖКХ*", "Дороги*", "Благоустройство*"]
executor = "housing"

[[rules]]
name = "Образование"
topic = ["Образование*"]
executor = "education"

[[escalations]]                   # the ladder: a reminder, then the coordinator, then the supervisor
deadline = "draft"
at = "-40s"
notify = ["executor"]

[[escalations]]
deadline = "draft"
at = "0m"
notify = ["executor", "coordinator"]

[[escalations]]
deadline = "answer"
at = "-1m"
notify = ["coordinator", "supervisor"]

[[escalations]]
deadline = "answer"
at = "0m"
notify = ["executor", "coordinator", "supervisor"]

[intake]
senders = ["*@monitoring.example"]
exclude_words_file = "{lexicon}"
repeat_window = "30d"
source_timezone = "Europe/Moscow"
"#,
        state = dir.join("state").display(),
        host = stack.host(),
        imap = stack.imap_port(),
        smtp = stack.smtp_port(),
        service = a(SERVICE),
        coord = a(COORDINATOR),
        sup = a(SUPERVISOR),
        press = a(PRESS),
        housing = a(HOUSING),
        economy = a(ECONOMY),
        education = a(EDUCATION),
        lexicon = repo_path("config/exclude-words.txt").display(),
    )
}

fn repo_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

async fn demo(args: &Args) -> bool {
    let started = Instant::now();
    let dir = &args.dir;
    // A fresh demo every time: the last run's state, config and log go.
    if dir.exists() {
        std::fs::remove_dir_all(dir).expect("remove the previous demo dir");
    }
    std::fs::create_dir_all(dir).expect("create the demo dir");

    println!("otklik demo");
    let stack = MailStack::start();
    println!(
        "  mail:   Dovecot (IMAP IDLE) on {host}:{imap}, Postfix (SMTP) on {host}:{smtp}; every user's password is {pw}",
        host = stack.host(),
        imap = stack.imap_port(),
        smtp = stack.smtp_port(),
        pw = MailStack::PASSWORD,
    );
    let config = dir.join("otklik.toml");
    std::fs::write(&config, config_text(&stack, dir)).expect("write the config");
    std::fs::write(dir.join("imap-password"), MailStack::PASSWORD).expect("write the password");
    let check = Command::new(&args.otklik)
        .args(["check-config", "--config"])
        .arg(&config)
        .output()
        .expect("otklik check-config");
    if !check.status.success() {
        eprintln!(
            "demo: the demo config is invalid:\n{}",
            String::from_utf8_lossy(&check.stderr)
        );
        return false;
    }
    let log = dir.join("otklik.log");
    let mut svc = Otklik::start(&args.otklik, dir, &config, &log);
    if !svc.wait_ready() {
        eprintln!(
            "demo: otklik did not become ready; its log:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        return false;
    }
    println!(
        "  otklik: `otklik run` (pid {}) is ready (sd_notify READY=1): 24/7 calendar, answer in 3m, draft 2m before",
        svc.child.id()
    );

    let ok = match cycle(&stack, dir).await {
        Ok(()) => true,
        Err(e) => {
            eprintln!("demo: {e}\n  the service's log: {}", log.display());
            false
        }
    };

    if ok {
        println!("\n$ otklik cases --all");
        cli(&args.otklik, &config, &["cases", "--all"]);
        println!("\n$ otklik show OTK-1");
        cli(&args.otklik, &config, &["show", "OTK-1"]);
    }

    if args.keep && ok {
        println!(
            "\nEverything keeps running; Ctrl-C stops it. Watch the ladder (draft deadline, then answer) with
  {} cases --all --config {}
  {} show OTK-2 --config {}",
            args.otklik.display(),
            config.display(),
            args.otklik.display(),
            config.display(),
        );
        let _ = tokio::signal::ctrl_c().await;
    }

    let code = svc.stop();
    let mail_copy = dir.join("mail");
    copy_dir(&stack.root().join("mail"), &mail_copy);
    drop(stack);
    if code != Some(0) {
        eprintln!("demo: otklik did not stop cleanly (exit {code:?})");
        return false;
    }
    if ok {
        println!(
            "\nDone in {:.0?}; otklik stopped cleanly (SIGTERM, exit 0), and so did the mail servers.
Look next at:
  {config}
      the demo config (config/otklik.toml is the full, commented example)
  {log}
      the service's log
  {mail}/<user>/
      every mailbox as a Maildir; the intake's handled mail is in otklik/.otklik.processed/
      users: {SERVICE} (intake), {HOUSING} {ECONOMY} {EDUCATION} (executors), {COORDINATOR} (coordinator), {SUPERVISOR} (supervisor), {PRESS} (publisher)
  docs/operations.md
      install under systemd, upgrade, backup, troubleshooting
  scripts/demo --keep
      the same, left running (Ctrl-C stops it) to watch the deadline ladder go on",
            started.elapsed(),
            config = config.display(),
            log = log.display(),
            mail = mail_copy.display(),
        );
    }
    ok
}

fn cli(bin: &Path, config: &Path, args: &[&str]) {
    match Command::new(bin)
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
    {
        Ok(out) => {
            print!("{}", String::from_utf8_lossy(&out.stdout));
            eprint!("{}", String::from_utf8_lossy(&out.stderr));
        }
        Err(e) => eprintln!("demo: otklik {}: {e}", args.join(" ")),
    }
}

/// One full cycle through real SMTP and IMAP; prints a line per step.
async fn cycle(stack: &MailStack, dir: &Path) -> Result<(), String> {
    let state = dir.join("state");
    let now = Utc::now().with_timezone(&chrono_tz::Asia::Barnaul);
    println!(
        "\n1. The monitoring system reports four posts (tests/data/notifications/[abcd]-*.eml, detected now: {})",
        now.format("%H:%M:%S Asia/Barnaul")
    );
    for name in [
        "a-plain-utf8.eml",
        "b-html-cp1251-qp.eml",
        "c-repeat-base64-en.eml",
        "d-attachment.eml",
    ] {
        let raw = std::fs::read(repo_path("tests/data/notifications").join(name))
            .map_err(|e| format!("{name}: {e}"))?;
        stack
            .append(SERVICE, "INBOX", &detected_now(&raw, &now.to_rfc3339()))
            .await;
    }
    for (n, user) in [(1, HOUSING), (2, HOUSING), (3, HOUSING), (4, EDUCATION)] {
        let id = format!("OTK-{n}");
        let m = stack.wait_for(user, "INBOX", |m| about(m, &id), WAIT).await;
        println!("   {user:<11} ← {}", m.subject);
    }

    // The executor answers with a draft: a plain reply to the case mail.
    let forward = stack
        .wait_for(HOUSING, "INBOX", |m| about(m, "OTK-1"), WAIT)
        .await;
    stack
        .reply(
            HOUSING,
            &forward,
            "Здравствуйте, Иван! Подача воды на ул. Свердлова восстановлена сегодня в 12:00.\n\nШишова Т. М.",
        )
        .await;
    wait_state(&state, 1, State::DraftSubmitted).await?;
    let draft = nth(stack, COORDINATOR, "OTK-1", "На согласование", 1).await?;
    println!("2. The executor ({HOUSING}) replies with a draft answer");
    println!("   {COORDINATOR:<11} ← {}", draft.subject);

    stack
        .reply(
            COORDINATOR,
            &draft,
            "ДОРАБОТАТЬ\nДобавьте причину отключения и телефон аварийной службы.",
        )
        .await;
    wait_state(&state, 1, State::Rework).await?;
    let rework = nth(stack, HOUSING, "OTK-1", "Возвращено на доработку", 1).await?;
    println!("3. The coordinator ({COORDINATOR}) returns it: ДОРАБОТАТЬ + a comment");
    println!("   {HOUSING:<11} ← {}", rework.subject);

    stack
        .reply(
            HOUSING,
            &rework,
            "Здравствуйте, Иван! Воду отключали из-за порыва на водоводе; подача восстановлена сегодня в 12:00. Аварийная служба: 8 (38565) 2-22-22.\n\nШишова Т. М.",
        )
        .await;
    wait_state(&state, 1, State::DraftSubmitted).await?;
    let draft2 = nth(stack, COORDINATOR, "OTK-1", "На согласование", 2).await?;
    println!("4. The executor sends the reworked draft");
    println!("   {COORDINATOR:<11} ← {}", draft2.subject);

    stack.reply(COORDINATOR, &draft2, "СОГЛАСОВАНО").await;
    wait_state(&state, 1, State::Approved).await?;
    let approved = nth(stack, HOUSING, "OTK-1", "Согласовано", 1).await?;
    let press = nth(stack, PRESS, "OTK-1", "Согласовано", 1).await?;
    println!("5. The coordinator approves: СОГЛАСОВАНО");
    println!("   {HOUSING:<11} ← {}", approved.subject);
    println!("   {PRESS:<11} ← {}", press.subject);

    stack
        .reply(
            HOUSING,
            &approved,
            "ОПУБЛИКОВАНО https://vk.com/wall-123456_789?reply=1",
        )
        .await;
    wait_state(&state, 1, State::Closed).await?;
    println!("6. The executor posts it and replies ОПУБЛИКОВАНО with the link: OTK-1 is closed");

    // The ladder: the other cases wait for drafts; their reminders come 40 s before the draft deadline.
    println!(
        "7. Nobody answers OTK-2..4: the deadline ladder starts (a reminder 40 s before the draft deadline)…"
    );
    wait_event(&state, 2, "reminder").await?;
    let reminder = nth(stack, HOUSING, "OTK-2", "Напоминание", 1).await?;
    println!("   {HOUSING:<11} ← {}", reminder.subject);
    Ok(())
}

fn about(m: &Received, id: &str) -> bool {
    m.subject.contains(&format!("[{id}]")) && m.header("X-Otklik-Case") == Some(id)
}

/// The `n`-th (1-based) mail about `id` in `user`'s INBOX whose subject has `what`, waiting for it.
async fn nth(
    stack: &MailStack,
    user: &str,
    id: &str,
    what: &str,
    n: usize,
) -> Result<Received, String> {
    let deadline = Instant::now() + WAIT;
    loop {
        let found = stack
            .fetch_all(user, "INBOX")
            .await
            .into_iter()
            .filter(|m| about(m, id) && m.subject.contains(what))
            .nth(n - 1);
        if let Some(m) = found {
            return Ok(m);
        }
        if Instant::now() > deadline {
            return Err(format!("{user} never got mail #{n} «{what}» about {id}"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn case(state: &Path, number: u64) -> Option<Case> {
    let dir = state.to_path_buf();
    let got = tokio::task::spawn_blocking(move || control::ask(&dir, &Request::Case { number }))
        .await
        .ok()
        .flatten();
    match got {
        Some(Response::Case(Some(c))) => Some(*c),
        _ => None,
    }
}

async fn wait_state(state: &Path, number: u64, want: State) -> Result<Case, String> {
    let deadline = Instant::now() + WAIT;
    loop {
        let c = case(state, number).await;
        if let Some(c) = &c
            && c.state == want
        {
            return Ok(c.clone());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "OTK-{number} never became {}: it is {:?}",
                want.as_str(),
                c.map(|c| (c.state, c.history.last().map(|h| h.detail.clone())))
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn wait_event(
    state: &Path,
    number: u64,
    event: &str,
) -> Result<otklik_core::workflow::HistoryEntry, String> {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Some(c) = case(state, number).await
            && let Some(h) = c.history.iter().find(|h| h.event == event)
        {
            return Ok(h.clone());
        }
        if Instant::now() > deadline {
            return Err(format!("OTK-{number} never got a {event}"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The sample with its detection time set to `stamp` (RFC 3339), so that the deadlines
/// run now. Text parts in base64 or quoted-printable are decoded and sent as 8bit.
fn detected_now(raw: &[u8], stamp: &str) -> Vec<u8> {
    let text = String::from_utf8_lossy(raw);
    let date = regex::bytes::Regex::new(
        r"(?-u)\d{2}\.\d{2}\.\d{4}(?: \xE2| \xD0\xB2)? \d{2}:\d{2}|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:[+-]\d{2}:\d{2}|Z)",
    )
    .expect("date regex");
    let mut out: Vec<u8> = Vec::with_capacity(raw.len());
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut i = 0;
    let mut header: Vec<&str> = Vec::new();
    let mut in_header = true;
    while i < lines.len() {
        let line = lines[i];
        let bare = line.trim_end_matches(['\r', '\n']);
        if in_header {
            if bare.is_empty() {
                let block = header.concat().to_ascii_lowercase();
                let textual =
                    !block.contains("content-type:") || block.contains("content-type: text/");
                let encoding = if !textual {
                    None
                } else if block.contains("content-transfer-encoding: base64") {
                    Some(true)
                } else if block.contains("content-transfer-encoding: quoted-printable") {
                    Some(false)
                } else {
                    None
                };
                for h in &header {
                    if encoding.is_some()
                        && h.to_ascii_lowercase()
                            .starts_with("content-transfer-encoding:")
                    {
                        out.extend_from_slice(b"Content-Transfer-Encoding: 8bit\n");
                    } else {
                        out.extend_from_slice(h.as_bytes());
                    }
                }
                out.extend_from_slice(line.as_bytes());
                header.clear();
                in_header = false;
                if let Some(base64) = encoding {
                    let start = i + 1;
                    let mut end = start;
                    while end < lines.len() && !lines[end].starts_with("--") {
                        end += 1;
                    }
                    let body = lines[start..end].concat();
                    let decoded = if base64 {
                        decode_base64(&body)
                    } else {
                        decode_qp(&body)
                    };
                    let replaced = date.replace_all(&decoded, stamp.as_bytes());
                    out.extend_from_slice(&replaced);
                    if !replaced.ends_with(b"\n") {
                        out.push(b'\n');
                    }
                    i = end;
                    continue;
                }
            } else {
                header.push(line);
            }
        } else {
            out.extend_from_slice(line.as_bytes());
            if bare.starts_with("--") && !bare.ends_with("--") {
                in_header = true;
            }
        }
        i += 1;
    }
    out
}

fn decode_base64(text: &str) -> Vec<u8> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for v in text.bytes().filter_map(val) {
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

fn decode_qp(text: &str) -> Vec<u8> {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'=' {
            if b.get(i + 1) == Some(&b'\n') {
                i += 2;
                continue;
            }
            if b.get(i + 1) == Some(&b'\r') && b.get(i + 2) == Some(&b'\n') {
                i += 3;
                continue;
            }
            if let Some(h) = b.get(i + 1..i + 3)
                && let Ok(v) = u8::from_str_radix(&String::from_utf8_lossy(h), 16)
            {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// Copies the Maildirs out of the stack before it is removed.
fn copy_dir(from: &Path, to: &Path) {
    let Ok(entries) = std::fs::read_dir(from) else {
        return;
    };
    let _ = std::fs::create_dir_all(to);
    for e in entries.flatten() {
        let (src, dst) = (e.path(), to.join(e.file_name()));
        match e.file_type() {
            Ok(t) if t.is_dir() => copy_dir(&src, &dst),
            Ok(t) if t.is_file() => {
                let _ = std::fs::copy(&src, &dst);
            }
            _ => {}
        }
    }
}
