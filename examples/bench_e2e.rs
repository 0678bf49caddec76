//! End-to-end benchmark, run by `bench/e2e`. One run, one mail stack:
//!
//! 1. the mail stack's own limits, as the baseline, used the way otklik uses it: N
//!    messages sent over SMTP by as many senders as otklik keeps connections
//!    (`smtp.connections`; BENCH_CONNECTIONS sets both), each keeping its connection open →
//!    all delivered into one mailbox (Postfix → LMTP → Dovecot); beside it, for comparison
//!    only, the same with a new connection per message; N APPENDs on one IMAP connection
//!    kept open; one `UID FETCH 1:* BODY.PEEK[]` of them;
//!    then otklik (the release binary, 24/7 calendar, the coordinator told of new cases):
//!    - latency: M notifications APPENDed at a steady pace (below capacity), APPEND done →
//!      delivered into the executor's Maildir (Dovecot's delivery time in the file name,
//!      microseconds); p50/p99;
//!    - throughput: a burst of N notifications APPENDed back to back; N / (first APPEND →
//!      last delivery), and that as a fraction of the stack's own delivery rate; the
//!      new-case mails the coordinator got meanwhile;
//!    - where the time goes: the service's own log, p50 per phase, paced and in the burst;
//! 2. otklik: reply → approval request at the coordinator (executor's reply sent over
//!    SMTP → the approval request delivered to the coordinator's Maildir), p50/p99;
//! 3. otklik: RSS of the idle daemon, and start-up time with a 100k-case store built with
//!    `otklik::store` (time to the control socket answering, and to "ready");
//!    `BENCH_EXECUTORS=example` gives that service the 11 executors of
//!    `config/otklik.toml` (the starter model it trains is the example config's) instead of
//!    the tests' three.
//!
//! Prints markdown tables. Figures, not assertions.
//!
//! ```sh
//! bench/e2e                 # N=1000 burst, M=100 paced, K=30 replies, 100k cases
//! bench/e2e 1000 200 50 100000
//! ```
#![allow(dead_code)]
#![allow(unsafe_code)] // process groups, signals and reaping for the test servers (libc)

use otklik_testkit as support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chrono::{TimeZone, Utc};
use support::mailstack::{MailStack, Received};
use support::service::{ALWAYS_CALENDAR, DEFAULT_DEADLINES, People, config_text, notification};

const SETTLE: Duration = Duration::from_secs(300);

fn now_f64() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Delivery instants of the messages in `user`'s INBOX Maildir, by incident id (or by
/// `X-Otklik-Case` when `by_case`), from Dovecot's file names (`<secs>.M<usecs>P…`).
fn deliveries(stack: &MailStack, user: &str, by_case: bool) -> BTreeMap<String, f64> {
    let dir = stack.maildir(user).join("Maildir");
    let mut out = BTreeMap::new();
    for sub in ["new", "cur"] {
        let Ok(rd) = std::fs::read_dir(dir.join(sub)) else {
            continue;
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(t) = maildir_time(&name) else {
                continue;
            };
            let Ok(raw) = std::fs::read(e.path()) else {
                continue;
            };
            let m = Received::parse(0, raw);
            // The coordinator's new-case notices carry the case too: not what is waited for.
            if by_case && m.header(otklik_core::gather::HEADER).is_some() {
                continue;
            }
            let key = if by_case {
                m.header("X-Otklik-Case").map(str::to_string)
            } else {
                incident(&m.text)
            };
            if let Some(k) = key {
                out.entry(k)
                    .and_modify(|x: &mut f64| *x = x.min(t))
                    .or_insert(t);
            }
        }
    }
    out
}

fn maildir_time(name: &str) -> Option<f64> {
    let (secs, rest) = name.split_once(".M")?;
    let usecs: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    Some(secs.parse::<f64>().ok()? + usecs.parse::<f64>().ok()? / 1e6)
}

fn incident(text: &str) -> Option<String> {
    let i = text.find("Номер инцидента: ")? + "Номер инцидента: ".len();
    Some(
        text[i..]
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect(),
    )
}

async fn wait_deliveries(
    stack: &MailStack,
    user: &str,
    by_case: bool,
    keys: &[String],
) -> BTreeMap<String, f64> {
    let deadline = Instant::now() + SETTLE;
    loop {
        let d = deliveries(stack, user, by_case);
        if keys.iter().all(|k| d.contains_key(k)) {
            return d;
        }
        if Instant::now() > deadline {
            panic!(
                "{user}: only {} of {} delivered after {SETTLE:?}",
                keys.iter().filter(|k| d.contains_key(*k)).count(),
                keys.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[derive(Debug, Default, Clone)]
struct Figures {
    n_burst: usize,
    burst_secs: f64,
    per_sec: f64,
    n_paced: usize,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    /// The service's own share of each paced notification, from its log: p50 of each phase.
    breakdown: Vec<(&'static str, f64, usize)>,
    /// The same during the burst.
    burst_breakdown: Vec<(&'static str, f64, usize)>,
    /// New-case mails in the coordinator's mailbox when the burst's last forward arrived
    /// (since the service started), and how many cases they tell of.
    coordinator_mails: usize,
    coordinator_cases: usize,
}

/// The p50 of each timing the service logs, over the log written since `from`: per batch
/// (fetch, handle = parse + decide + commit, flush, MOVE; and the batch's size) and per mail
/// sent (the SMTP transaction, and queued → accepted).
fn breakdown(log: &Path, from: usize) -> Vec<(&'static str, f64, usize)> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let text = text.get(from..).unwrap_or("");
    let field = |line: &str, key: &str| -> Option<f64> {
        let i = line.find(&format!(" {key}="))? + key.len() + 2;
        line[i..].split([' ', '\n']).next()?.parse().ok()
    };
    let mut out = Vec::new();
    for (what, marker, key) in [
        (
            "SEARCH + FETCH (size, body), per batch",
            "imap: batch handled",
            "fetch_ms",
        ),
        (
            "parse + decide + commit, per batch",
            "imap: batch handled",
            "handle_ms",
        ),
        (
            "flush (fsync), per batch",
            "imap: batch handled",
            "flush_ms",
        ),
        ("UID MOVE, per batch", "imap: batch handled", "move_ms"),
        (
            "committed → SMTP accepted, per mail",
            "mail sent",
            "queued_ms",
        ),
        ("SMTP transaction, per mail", "mail sent", "send_ms"),
        (
            "sent mark written + flushed (fsync), per mail",
            "mail sent",
            "record_ms",
        ),
    ] {
        let mut v: Vec<f64> = text
            .lines()
            .filter(|l| l.contains(marker))
            .filter_map(|l| field(l, key))
            .collect();
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        out.push((what, percentile(&v, 0.5), v.len()));
    }
    // The service's own work per notification: a batch's handling over its size.
    let mut per_message: Vec<f64> = text
        .lines()
        .filter(|l| l.contains("imap: batch handled"))
        .filter_map(|l| Some(field(l, "handle_ms")? / field(l, "count")?.max(1.0)))
        .collect();
    per_message.sort_by(|a, b| a.partial_cmp(b).unwrap());
    out.push((
        "parse + decide + commit, per notification",
        percentile(&per_message, 0.5),
        per_message.len(),
    ));
    // At 10 a second, Dovecot's IDLE notice often brings several notifications at once.
    let mut sizes: Vec<f64> = text
        .lines()
        .filter(|l| l.contains("imap: batch handled"))
        .filter_map(|l| field(l, "count"))
        .collect();
    sizes.sort_by(|a, b| a.partial_cmp(b).unwrap());
    out.push(("messages per batch", percentile(&sizes, 0.5), sizes.len()));
    out
}

/// Appends through one IMAP session; returns the instant each APPEND completed.
async fn append_all(
    stack: &MailStack,
    user: &str,
    mails: &[(String, Vec<u8>)],
    pace: Option<Duration>,
) -> BTreeMap<String, f64> {
    let mut s = stack.imap(user).await;
    let mut done = BTreeMap::new();
    for (id, raw) in mails {
        s.append("INBOX", None, None, raw).await.expect("APPEND");
        done.insert(id.clone(), now_f64());
        if let Some(p) = pace {
            tokio::time::sleep(p).await;
        }
    }
    let _ = s.logout().await;
    done
}

fn mails(stack: &MailStack, p: &People, from: usize, n: usize) -> Vec<(String, Vec<u8>)> {
    (from..from + n)
        .map(|i| {
            let id = format!("{}", 900_000 + i);
            let raw = notification(
                stack,
                p,
                &id,
                "ЖКХ",
                &format!("Житель {i}"),
                &format!("Сообщение {i}: третий день нет воды на улице Свердлова."),
                "",
            );
            (id, raw)
        })
        .collect()
}

/// One system under test: notifications go into `p.service()`'s INBOX and come out in
/// `p.executor("housing")`'s.
async fn measure(
    stack: &MailStack,
    p: &People,
    n_burst: usize,
    m_paced: usize,
    log: &Path,
) -> Figures {
    let exec = p.executor("housing");
    // Warm-up (connections, caches): 5 notifications, not measured.
    let warm = mails(stack, p, 0, 5);
    append_all(stack, &p.service(), &warm, None).await;
    let keys: Vec<String> = warm.iter().map(|(k, _)| k.clone()).collect();
    wait_deliveries(stack, &exec, false, &keys).await;

    // Latency at a steady pace (10 a second).
    let log_from = std::fs::metadata(log)
        .map(|m| m.len() as usize)
        .unwrap_or(0);
    let paced = mails(stack, p, 10, m_paced);
    let sent = append_all(
        stack,
        &p.service(),
        &paced,
        Some(Duration::from_millis(100)),
    )
    .await;
    let keys: Vec<String> = paced.iter().map(|(k, _)| k.clone()).collect();
    let got = wait_deliveries(stack, &exec, false, &keys).await;
    let mut lat: Vec<f64> = keys
        .iter()
        .map(|k| (got[k] - sent[k]).max(0.0) * 1000.0)
        .collect();
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let paced_breakdown = breakdown(log, log_from);

    // Throughput: a burst.
    let log_from = std::fs::metadata(log)
        .map(|m| m.len() as usize)
        .unwrap_or(0);
    let burst = mails(stack, p, 10_000, n_burst);
    let start = now_f64();
    append_all(stack, &p.service(), &burst, None).await;
    let keys: Vec<String> = burst.iter().map(|(k, _)| k.clone()).collect();
    let got = wait_deliveries(stack, &exec, false, &keys).await;
    let last = keys.iter().map(|k| got[k]).fold(f64::MIN, f64::max);
    let secs = last - start;
    let after = new_case_mails(stack, &p.coordinator());
    let burst_breakdown = breakdown(log, log_from);
    Figures {
        burst_breakdown,
        coordinator_mails: after.0,
        coordinator_cases: after.1,
        n_burst,
        burst_secs: secs,
        per_sec: n_burst as f64 / secs,
        n_paced: m_paced,
        p50_ms: percentile(&lat, 0.5),
        p99_ms: percentile(&lat, 0.99),
        max_ms: lat.last().copied().unwrap_or(f64::NAN),
        breakdown: paced_breakdown,
    }
}

/// New-case mails in `user`'s Maildir, and the cases they tell of (one each, or the count
/// in a list's subject, `Новые дела: 12`).
fn new_case_mails(stack: &MailStack, user: &str) -> (usize, usize) {
    let dir = stack.maildir(user).join("Maildir");
    let (mut mails, mut cases) = (0, 0);
    for sub in ["new", "cur"] {
        let Ok(rd) = std::fs::read_dir(dir.join(sub)) else {
            continue;
        };
        for e in rd.flatten() {
            let Ok(raw) = std::fs::read(e.path()) else {
                continue;
            };
            let m = Received::parse(0, raw);
            if let Some(n) = m.subject.strip_prefix("Новые дела: ") {
                mails += 1;
                cases += n.trim().parse::<usize>().unwrap_or(0);
            } else if m.subject.contains("Новое дело") {
                mails += 1;
                cases += 1;
            }
        }
    }
    (mails, cases)
}

fn spawn_logged(cmd: &mut Command, log: &Path) -> Child {
    let out = std::fs::File::create(log).expect("log file");
    let err = out.try_clone().expect("log file");
    cmd.stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("spawn")
}

fn stop(mut child: Child) {
    // SAFETY: kill(2) on our own child.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    let _ = child.wait();
}

fn rss_kb(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

async fn wait_log(log: &Path, needle: &str) {
    let deadline = Instant::now() + SETTLE;
    while !std::fs::read_to_string(log)
        .unwrap_or_default()
        .contains(needle)
    {
        assert!(Instant::now() < deadline, "{needle:?} never logged");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn otklik(bin: &Path, config: &Path, log: &Path) -> Child {
    spawn_logged(
        Command::new(bin)
            .arg("--config")
            .arg(config)
            .args(["run", "--log-format", "human"])
            .env("OTKLIK_TEST_IMAP_PASSWORD", MailStack::PASSWORD)
            .env_remove("NOTIFY_SOCKET"),
        log,
    )
}

/// Streets, villages and words the big store's posts and answers are varied by, so that
/// its archive index has the spread of a real one (not 100,000 copies of one post).
const STREETS: [&str; 12] = [
    "Свердлова",
    "Ленина",
    "Мира",
    "Садовая",
    "Школьная",
    "Победы",
    "Гагарина",
    "Молодёжная",
    "Советская",
    "Лесная",
    "Набережная",
    "Строителей",
];
const VILLAGES: [&str; 9] = [
    "с. Волчиха",
    "с. Малышев Лог",
    "с. Солоновка",
    "с. Вострово",
    "с. Бор-Форпост",
    "с. Правда",
    "с. Селиверстово",
    "с. Березовка",
    "пос. Пятково",
];
const TROUBLES: [(&str, &str, &str); 6] = [
    ("ЖКХ / Водоснабжение", "нет воды", "водопровод"),
    (
        "ЖКХ / Электроснабжение",
        "нет света",
        "линию электропередачи",
    ),
    ("Дороги", "яма на дороге", "дорожное покрытие"),
    ("ЖКХ / Отопление", "холодные батареи", "котельную"),
    (
        "Благоустройство",
        "не вывозят мусор",
        "контейнерную площадку",
    ),
    ("Благоустройство", "не горят фонари", "уличное освещение"),
];

/// The post and approved answer of big-store case `i`: street, village and trouble vary
/// with `i`, and so do the words around them.
fn varied_post(i: u64) -> (String, String, String, String) {
    let street = STREETS[(i % STREETS.len() as u64) as usize];
    let village = VILLAGES[((i / 7) % VILLAGES.len() as u64) as usize];
    let (topic, trouble, fixed) = TROUBLES[((i / 3) % TROUBLES.len() as u64) as usize];
    let house = 1 + i % 97;
    let days = 2 + i % 6;
    let post = format!(
        "Уже {days} дня {trouble} на улице {street}, дом {house}. Дети не могут помыться, \
         старики жалуются. Когда администрация наконец решит вопрос? Сколько можно ждать? \
         Обращение номер {i}."
    );
    let answer = format!(
        "Здравствуйте! Специалисты осмотрели {fixed} на улице {street} ({village}), работы \
         завершены к {}-му числу. Если проблема повторится, позвоните в администрацию.",
        1 + i % 28
    );
    (
        topic.to_string(),
        format!("Волчихинский район, {village}, ул. {street}"),
        post,
        answer,
    )
}

/// Builds a store of `n` cases in `state_dir` (1 in 100 open, the rest closed with an
/// approved answer, so the archive indexes them all), with the history and text of a
/// typical case, through `Store::commit` as the service writes them.
fn build_store(state_dir: &Path, n: u64) -> f64 {
    use otklik::store::{Commit, Store};
    use otklik_core::workflow::{
        Case, CaseDeadlines, Draft, DraftKind, HistoryEntry, HistoryEvent, State,
    };
    let t = Instant::now();
    std::fs::create_dir_all(state_dir).unwrap();
    let store = Store::open(state_dir).expect("open store");
    let base = Utc.with_ymd_and_hms(2026, 1, 1, 3, 0, 0).unwrap();
    for i in 1..=n {
        let at = base + chrono::Duration::minutes(i as i64 * 5);
        let h = |event: HistoryEvent, by: &str, detail: &str| HistoryEntry {
            at,
            event,
            by: by.into(),
            detail: detail.into(),
        };
        let open = i % 100 == 0;
        let (topic, location, text, answer) = varied_post(i);
        let case = Case {
            number: i,
            id: format!("OTK-{i}"),
            state: if open { State::Assigned } else { State::Closed },
            executor: Some("housing".into()),
            notification: otklik_core::intake::Notification {
                source_id: Some(format!("{}", 1_000_000 + i)),
                topic: Some(topic),
                location: Some(location),
                category: Some("Средняя".into()),
                source: Some("ВКонтакте".into()),
                link: Some(format!("https://vk.com/wall-1_{i}")),
                author: Some(format!("Житель {i}")),
                detected_at: at,
                text,
                repeat: false,
                attachments: Vec::new(),
                warnings: Vec::new(),
            },
            repeat_of: None,
            earlier_answer: None,
            similar: Vec::new(),
            possible_repeat: None,
            possible_abuse: None,
            deadlines: CaseDeadlines {
                draft: Some(at + chrono::Duration::hours(5)),
                answer: Some(at + chrono::Duration::hours(9)),
                rework: None,
                final_: None,
            },
            draft: None,
            approved: (!open).then(|| Draft {
                kind: DraftKind::Answer,
                text: answer,
                attachments: Vec::new(),
                by: "housing@example.ru".into(),
                at,
            }),
            history: vec![
                h(HistoryEvent::Created, "monitoring", "notification"),
                h(HistoryEvent::Assigned, "rule ЖКХ", "housing"),
                h(HistoryEvent::Forwarded, "otklik", "to the executor"),
                h(HistoryEvent::Draft, "housing", "draft of the answer"),
                h(HistoryEvent::Approved, "coordinator", ""),
                h(
                    HistoryEvent::Published,
                    "housing",
                    "https://vk.com/wall-1_1?reply=2",
                ),
            ],
            fired: Default::default(),
            first_draft_at: Some(at),
            answered_at: if open { None } else { Some(at) },
            published_at: if open { None } else { Some(at) },
            awaiting_publication: None,
            final_approved_at: None,
            final_published_at: None,
            final_draft_at: None,
            closed_at: if open { None } else { Some(at) },
            approval_round: 0,
        };
        let number = store.peek_next_case().unwrap();
        assert_eq!(number, i);
        store
            .commit(Commit {
                cases: vec![(case, Vec::new())],
                new_case: Some(number),
                ..Commit::default()
            })
            .expect("commit");
        // Written flat out, sled 0.34 can deadlock when it shrinks its file while every
        // one of its I/O threads waits for the segment lock (spacejam/sled#1412): with the
        // archive's change log this store hit it at ~160 MB every time. A flush every
        // thousand cases keeps the writes from piling up.
        if i % 1000 == 0 {
            store.flush_blocking().unwrap();
        }
    }
    store.flush_blocking().unwrap();
    t.elapsed().as_secs_f64()
}

/// The store alone, in this process: open, count, scan (what start-up and the status line
/// do), with this process's RSS growth.
struct StoreProfile {
    open_ms: f64,
    count_ms: f64,
    scan_ms: f64,
    rss_open_kb: i64,
    rss_count_kb: i64,
    rss_scan_kb: i64,
}

fn store_profile(state_dir: &Path) -> StoreProfile {
    let me = std::process::id();
    let rss0 = rss_kb(me).0 as i64;
    let t = Instant::now();
    let store = otklik::store::Store::open(state_dir).expect("open the big store");
    let open_ms = t.elapsed().as_secs_f64() * 1000.0;
    let rss1 = rss_kb(me).0 as i64;
    let t = Instant::now();
    let n = store.case_count();
    let count_ms = t.elapsed().as_secs_f64() * 1000.0;
    let rss2 = rss_kb(me).0 as i64;
    let t = Instant::now();
    let open = store.open_case_numbers().expect("scan").len();
    let scan_ms = t.elapsed().as_secs_f64() * 1000.0;
    let rss3 = rss_kb(me).0 as i64;
    eprintln!("store profile: {n} cases, {open} open");
    StoreProfile {
        open_ms,
        count_ms,
        scan_ms,
        rss_open_kb: rss1 - rss0,
        rss_count_kb: rss2 - rss1,
        rss_scan_kb: rss3 - rss2,
    }
}

fn dir_size(p: &Path) -> u64 {
    let mut total = 0;
    if let Ok(rd) = std::fs::read_dir(p) {
        for e in rd.flatten() {
            let path = e.path();
            if path.is_dir() {
                total += dir_size(&path);
            } else if let Ok(m) = e.metadata() {
                total += m.len();
            }
        }
    }
    total
}

fn default_bin(name: &str, example: bool) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("release");
    if example {
        dir.join("examples").join(name)
    } else {
        dir.join(name)
    }
}

fn main() {
    let a: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|s| s.parse().ok())
        .collect();
    let n_burst = a.first().copied().unwrap_or(1000);
    let m_paced = a.get(1).copied().unwrap_or(100);
    let k_replies = a.get(2).copied().unwrap_or(30);
    let big = a.get(3).copied().unwrap_or(100_000) as u64;
    let bin = std::env::var_os("OTKLIK_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| default_bin("otklik", false));
    assert!(bin.exists(), "{} missing: run bench/e2e", bin.display());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run(bin, n_burst, m_paced, k_replies, big));
}

async fn run(bin: PathBuf, n_burst: usize, m_paced: usize, k_replies: usize, big: u64) {
    let stack = MailStack::start();
    let work = tempfile::Builder::new()
        .prefix("otklik-bench-")
        .tempdir()
        .unwrap();

    if std::env::var_os("BENCH_ONLY_STORE").is_none() {
        mail_phases(&stack, work.path(), &bin, n_burst, m_paced, k_replies).await;
    }
    // BENCH_NO_STORE=1 leaves out the big store (start-up and memory).
    if std::env::var_os("BENCH_NO_STORE").is_none() {
        store_phases(&stack, work.path(), &bin, big).await;
    }
    // BENCH_KEEP=1 keeps the work dir (the service's log, its store) for a look afterwards.
    if std::env::var_os("BENCH_KEEP").is_some() {
        eprintln!("bench: work dir kept at {}", work.keep().display());
    }
}

async fn mail_phases(
    stack: &MailStack,
    work: &Path,
    bin: &Path,
    n_burst: usize,
    m_paced: usize,
    k_replies: usize,
) {
    // As many SMTP connections as otklik keeps (`smtp.connections`, its default unless
    // BENCH_CONNECTIONS says otherwise).
    let connections = std::env::var("BENCH_CONNECTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(otklik_core::config::DEFAULT_SMTP_CONNECTIONS);
    // ---- the stack's own limits
    let base = stack_limits(stack, n_burst, connections).await;

    // ---- otklik, as configured in production: the coordinator told of new cases
    let p = People::new("bench");
    let state = work.join("state");
    let text = config_text(
        stack,
        &p,
        &state.display().to_string(),
        ALWAYS_CALENDAR,
        DEFAULT_DEADLINES,
        "",
    )
    .replace(", new_cases = false", "")
    .replacen(
        "[smtp]\n",
        &format!("[smtp]\nconnections = {connections}\n"),
        1,
    );
    let config = work.join("otklik.toml");
    std::fs::write(&config, &text).unwrap();
    let log = work.join("otklik.log");
    let d = otklik(bin, &config, &log);
    wait_log(&log, "ready: mailbox selected").await;
    let ours = measure(stack, &p, n_burst, m_paced, &log).await;

    // ---- reply → approval request at the coordinator
    let exec = p.executor("housing");
    let mut forwards: Vec<Received> = Vec::new();
    for sub in ["new", "cur"] {
        if let Ok(rd) = std::fs::read_dir(stack.maildir(&exec).join("Maildir").join(sub)) {
            for e in rd.flatten() {
                forwards.push(Received::parse(0, std::fs::read(e.path()).unwrap()));
            }
        }
    }
    forwards.sort_by_key(|m| {
        m.header("X-Otklik-Case")
            .and_then(|c| c.rsplit('-').next()?.parse::<u64>().ok())
            .unwrap_or(0)
    });
    let targets: Vec<&Received> = forwards.iter().take(k_replies).collect();
    let mut replied = BTreeMap::new();
    for f in &targets {
        let case = f.header("X-Otklik-Case").unwrap().to_string();
        stack
            .reply(
                &exec,
                f,
                "Здравствуйте! Водоснабжение на улице Свердлова восстановлено сегодня в 14:00.",
            )
            .await;
        replied.insert(case, now_f64());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let keys: Vec<String> = replied.keys().cloned().collect();
    let got = wait_deliveries(stack, &p.coordinator(), true, &keys).await;
    let mut approval: Vec<f64> = keys
        .iter()
        .map(|k| (got[k] - replied[k]).max(0.0) * 1000.0)
        .collect();
    approval.sort_by(|a, b| a.partial_cmp(b).unwrap());

    // ---- RSS of the idle daemon (after the load above), then stop.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (rss_loaded, hwm_loaded) = rss_kb(d.id());
    stop(d);

    print_mail_tables(
        &base,
        &ours,
        &approval,
        rss_loaded,
        hwm_loaded,
        n_burst + m_paced + 5,
    );
}

/// `text` (a config from `config_text`) with the `[[executors]]` of `config/otklik.toml`
/// instead of its own, each at its address on the test stack (the rules of `text` name
/// executors the example has too).
fn with_example_executors(text: &str, stack: &MailStack, p: &People) -> String {
    let example =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config/otklik.toml"))
            .unwrap();
    let mut executors = String::new();
    let mut inside = false;
    let mut id = String::new();
    for line in example.lines() {
        let t = line.trim_start();
        if t.starts_with('[') {
            inside = t.starts_with("[[executors]]");
        }
        if !inside || t.starts_with('#') {
            continue;
        }
        let value = |key: &str| {
            t.strip_prefix(key)
                .map(|r| r.trim_start())
                .and_then(|r| r.strip_prefix('='))
                .map(|r| r.trim().trim_matches('"').to_string())
        };
        if let Some(v) = value("id") {
            id = v;
        }
        if value("email").is_some() {
            executors.push_str(&format!("email = \"{}\"\n", stack.addr(&p.executor(&id))));
        } else {
            executors.push_str(line);
            executors.push('\n');
        }
    }
    let (start, end) = (
        text.find("[[executors]]").unwrap(),
        text.find("[[rules]]").unwrap(),
    );
    format!("{}{executors}\n{}", &text[..start], &text[end..])
}

async fn store_phases(stack: &MailStack, work: &Path, bin: &Path, big: u64) {
    // ---- start-up and idle RSS with a big store
    let big_state = work.join("big");
    let build_secs = build_store(&big_state, big);
    let store_bytes = dir_size(&big_state.join("store"));
    let big_config = work.join("big.toml");
    let bp = People::new("big");
    let mut text = config_text(
        stack,
        &bp,
        &big_state.display().to_string(),
        ALWAYS_CALENDAR,
        DEFAULT_DEADLINES,
        "",
    );
    let example_executors = std::env::var("BENCH_EXECUTORS").is_ok_and(|v| v == "example");
    if example_executors {
        text = with_example_executors(&text, stack, &bp);
    }
    std::fs::write(&big_config, text).unwrap();
    let mut starts = Vec::new();
    let mut rss_big = (0, 0);
    for round in 0..3 {
        let blog = work.join(format!("big{round}.log"));
        let t = Instant::now();
        let d = otklik(bin, &big_config, &blog);
        let sock = otklik::control::socket_path(&big_state);
        while otklik::control::ask(&big_state, &otklik::control::Request::Status).is_none() {
            assert!(
                t.elapsed() < SETTLE,
                "no control socket at {}",
                sock.display()
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let to_socket = t.elapsed().as_secs_f64() * 1000.0;
        wait_log(&blog, "ready: mailbox selected").await;
        let to_ready = t.elapsed().as_secs_f64() * 1000.0;
        if round == 2 {
            tokio::time::sleep(Duration::from_secs(10)).await;
            rss_big = rss_kb(d.id());
        }
        stop(d);
        starts.push((to_socket, to_ready));
    }

    let prof = store_profile(&big_state);
    println!();
    println!("### Start-up and memory with a big store");
    println!();
    println!("| measure | value |");
    println!("|---|---:|");
    println!(
        "| executors in the config | {} |",
        if example_executors {
            "11, those of `config/otklik.toml`"
        } else {
            "3, the tests'"
        }
    );
    println!(
        "| store of {big} cases: built in | {build_secs:.1} s, {:.1} MB on disk |",
        store_bytes as f64 / 1e6
    );
    for (i, (sock, ready)) in starts.iter().enumerate() {
        let what = if i == 0 {
            "first start (schedule rebuilt)"
        } else {
            "restart"
        };
        println!("| {what}: spawn → control socket answers | {sock:.0} ms |");
        println!("| {what}: spawn → IMAP ready | {ready:.0} ms |");
    }
    println!(
        "| RSS of the daemon, idle 10 s after a restart | {:.1} MB (peak {:.1} MB) |",
        rss_big.0 as f64 / 1024.0,
        rss_big.1 as f64 / 1024.0
    );
    println!(
        "| in-process: `Store::open` | {:.0} ms, +{:.1} MB RSS |",
        prof.open_ms,
        prof.rss_open_kb as f64 / 1024.0
    );
    println!(
        "| in-process: `Store::case_count` (status line, every 5 s) | {:.0} ms, +{:.1} MB RSS |",
        prof.count_ms,
        prof.rss_count_kb as f64 / 1024.0
    );
    println!(
        "| in-process: `Store::open_case_numbers` (schedule rebuild) | {:.0} ms, +{:.1} MB RSS |",
        prof.scan_ms,
        prof.rss_scan_kb as f64 / 1024.0
    );
}

/// What the mail stack itself does, with no otklik in between.
struct StackFigures {
    n: usize,
    /// Senders (and SMTP connections) at once.
    connections: usize,
    /// SMTP → delivered into one Maildir, messages a second: otklik's own SMTP client,
    /// its connections kept open, as many senders as it has connections.
    delivery_per_sec: f64,
    /// The same with a new SMTP connection for every message.
    per_connection_per_sec: f64,
    /// APPENDs a second on one IMAP connection kept open.
    append_per_sec: f64,
    /// One `UID FETCH 1:* BODY.PEEK[]` of the n messages, milliseconds.
    fetch_ms: f64,
}

/// `n` messages to `to` from `from`, by `senders` senders at once: over otklik's pooled
/// client when `persistent`, else a new connection for every message. Messages a second,
/// first send → last delivery.
async fn stack_delivery(
    stack: &MailStack,
    p: &People,
    to: &str,
    n: usize,
    senders: usize,
    persistent: bool,
) -> f64 {
    let to_addr = stack.addr(to);
    let from = stack.addr(&p.monitor());
    let msgs = mails(stack, p, 0, n);
    let keys: Vec<String> = msgs.iter().map(|(k, _)| k.clone()).collect();
    // Connections kept open: otklik's own SMTP client, with as many as it keeps.
    let smtp = otklik::smtp::Smtp::new(
        &otklik_core::config::SmtpConfig {
            host: stack.host().to_string(),
            port: stack.smtp_port(),
            tls: otklik_core::config::TlsMode::None,
            username: None,
            password: None,
            from: otklik_core::config::Address {
                name: None,
                email: from.clone(),
            },
            ca_file: None,
            connections: senders,
        },
        &otklik::tls::TlsOptions::default(),
    )
    .expect("SMTP client");
    let start = now_f64();
    futures::future::join_all(msgs.chunks(n.div_ceil(senders.max(1)).max(1)).map(|chunk| {
        let (from, to_addr, smtp) = (&from, &to_addr, &smtp);
        async move {
            for (_, raw) in chunk {
                if persistent {
                    smtp.send(from, std::slice::from_ref(to_addr), raw)
                        .await
                        .expect("SMTP send");
                } else {
                    stack.send(from, &[to_addr], raw).await;
                }
            }
        }
    }))
    .await;
    let got = wait_deliveries(stack, to, false, &keys).await;
    let last = keys.iter().map(|k| got[k]).fold(f64::MIN, f64::max);
    n as f64 / (last - start)
}

async fn stack_limits(stack: &MailStack, n: usize, connections: usize) -> StackFigures {
    use futures::TryStreamExt;
    let p = People::new("stack");
    let msgs = mails(stack, &p, 0, n);
    // SMTP → LMTP → Dovecot: a new connection per message, then connections kept open.
    let per_connection_per_sec =
        stack_delivery(stack, &p, &p.executor("housing"), n, connections, false).await;
    let delivery_per_sec =
        stack_delivery(stack, &p, &p.executor("kept"), n, connections, true).await;
    // APPEND on one connection.
    let user = p.executor("append");
    let start = now_f64();
    append_all(stack, &user, &msgs, None).await;
    let append_per_sec = n as f64 / (now_f64() - start);
    // One FETCH of them all.
    let mut s = stack.imap(&user).await;
    s.select("INBOX").await.expect("SELECT");
    let t = Instant::now();
    let items: Vec<_> = s
        .uid_fetch("1:*", "(UID BODY.PEEK[])")
        .await
        .expect("UID FETCH")
        .try_collect()
        .await
        .expect("UID FETCH answer");
    let fetch_ms = t.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(items.len(), n, "FETCH returned every message");
    let _ = s.logout().await;
    StackFigures {
        n,
        connections,
        delivery_per_sec,
        per_connection_per_sec,
        append_per_sec,
        fetch_ms,
    }
}

fn print_mail_tables(
    base: &StackFigures,
    ours: &Figures,
    approval: &[f64],
    rss_loaded: u64,
    hwm_loaded: u64,
    cases: usize,
) {
    // ---- tables
    println!();
    println!("### The mail stack's own limits (the baseline)");
    println!();
    println!("| measure | N | value |");
    println!("|---|---:|---:|");
    println!(
        "| SMTP → delivered into one mailbox, {} connections kept open (as otklik) | {} | **{:.0} msg/s** |",
        base.connections, base.n, base.delivery_per_sec
    );
    println!(
        "| the same, a new connection for every message (for comparison only) | {} | {:.0} msg/s |",
        base.n, base.per_connection_per_sec
    );
    println!(
        "| APPEND on one IMAP connection kept open | {} | {:.0} msg/s |",
        base.n, base.append_per_sec
    );
    println!(
        "| one `UID FETCH 1:* BODY.PEEK[]` | {} | {:.0} ms |",
        base.n, base.fetch_ms
    );
    println!();
    println!("### End to end: APPEND to the intake mailbox → delivered to the executor");
    println!();
    println!(
        "| system | burst N | burst time (s) | throughput (msg/s) | paced M (10/s) | p50 (ms) | p99 (ms) | max (ms) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let f = ours;
    println!(
        "| otklik | {} | {:.2} | {:.1} | {} | {:.0} | {:.0} | {:.0} |",
        f.n_burst, f.burst_secs, f.per_sec, f.n_paced, f.p50_ms, f.p99_ms, f.max_ms
    );
    println!();
    println!(
        "otklik / the stack's delivery rate with {} connections kept open: **{:.2}** (goal ≥ 0.5, and ≥ 100 msg/s: {:.1} msg/s); otklik p50 {:.0} ms, p99 {:.0} ms",
        base.connections,
        ours.per_sec / base.delivery_per_sec,
        ours.per_sec,
        ours.p50_ms,
        ours.p99_ms
    );
    println!();
    println!(
        "New-case mails to the coordinator from the start to the burst's last forward: {} (telling of {} of the {} cases opened; the others wait for the lists that follow, one a minute, up to {} cases each)",
        ours.coordinator_mails,
        ours.coordinator_cases,
        5 + ours.n_paced + ours.n_burst,
        otklik_core::gather::MAX_LISTED
    );
    println!();
    println!("### Where otklik's time goes (p50 of each phase)");
    println!();
    println!("| phase | paced p50 (ms) | samples | burst p50 (ms) | samples |");
    println!("|---|---:|---:|---:|---:|");
    for ((what, p50, n), (_, b50, bn)) in ours.breakdown.iter().zip(&ours.burst_breakdown) {
        println!("| {what} | {p50:.1} | {n} | {b50:.1} | {bn} |");
    }
    println!();
    println!("### Reply → approval request at the coordinator");
    println!();
    println!("| replies | p50 (ms) | p99 (ms) | max (ms) |");
    println!("|---:|---:|---:|---:|");
    println!(
        "| {} | {:.0} | {:.0} | {:.0} |",
        approval.len(),
        percentile(approval, 0.5),
        percentile(approval, 0.99),
        approval.last().copied().unwrap_or(f64::NAN)
    );
    println!();
    println!(
        "RSS of the daemon idle 5 s after the load above ({cases} cases): {:.1} MB (peak {:.1} MB)",
        rss_loaded as f64 / 1024.0,
        hwm_loaded as f64 / 1024.0
    );
}
