//! Crash test: notifications are appended to the real Dovecot while the real
//! `otklik` binary is killed with SIGKILL at random moments and restarted; then the store
//! and the executor's mailbox are checked: every notification became exactly one case,
//! every case's forward arrived, duplicates (if any) are at most one per kill and carry
//! their twin's Message-ID, and the store opens cleanly.
//!
//! ```sh
//! scripts/crash-test                 # 1,000 notifications, 20 kills (release build)
//! scripts/crash-test 200 10          # N notifications, K kills
//! ```
//!
//! `tests/crash_e2e.rs` runs the same harness with 60 notifications and 5 kills.
#![allow(dead_code)]
#![allow(unsafe_code)] // process groups, signals and reaping for the test servers (libc)

pub(crate) use otklik_testkit as support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rand::Rng;
use support::mailstack::{MailStack, server_mailbox};
use support::service::{ALWAYS_CALENDAR, DEFAULT_DEADLINES, People, config_text, notification};

/// What to do.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub notifications: usize,
    pub kills: usize,
    /// The `otklik` binary.
    pub bin: PathBuf,
    /// A random moment to kill at: uniformly between these after a (re)start.
    pub kill_after: (Duration, Duration),
    /// How long to wait for everything to settle after the last kill (fails a hung run only).
    pub settle: Duration,
}

/// What was found.
#[derive(Debug, Clone, Default)]
pub(crate) struct Report {
    pub notifications: usize,
    pub kills: usize,
    pub starts: usize,
    pub cases: usize,
    pub distinct_source_ids: usize,
    /// Notifications (incident ids) without a case.
    pub missing_cases: Vec<String>,
    /// Incident ids that got more than one case.
    pub doubled_cases: Vec<String>,
    /// Forwards found in the executor's mailbox (all of them, twins included).
    pub forwards: usize,
    /// Cases whose forward is not in the executor's mailbox.
    pub missing_forwards: Vec<String>,
    /// Extra copies of a forward (sent again after a kill).
    pub duplicates: usize,
    /// Cases whose copies carry different Message-IDs (must be none).
    pub duplicates_with_other_id: Vec<String>,
    /// `duplicate` history entries (a notification handled twice as new mail).
    pub duplicate_events: usize,
    /// Messages left in the intake INBOX / moved to processed / rejected.
    pub left_in_inbox: usize,
    pub processed: usize,
    pub rejected: usize,
    /// `otklik cases --all --json` and `otklik show` on the stopped service worked.
    pub store_opens: bool,
    pub store_error: String,
    /// ERROR lines in the daemon's logs, and panics.
    pub log_errors: usize,
    pub log_panics: usize,
    pub log_samples: Vec<String>,
    pub append_secs: f64,
    pub total_secs: f64,
    pub settle_secs: f64,
}

impl Report {
    /// The claims of the issue, as a list of failures (empty: all hold).
    pub(crate) fn failures(&self) -> Vec<String> {
        let mut f = Vec::new();
        if self.cases != self.notifications {
            f.push(format!(
                "{} cases for {} notifications",
                self.cases, self.notifications
            ));
        }
        if !self.missing_cases.is_empty() {
            f.push(format!("no case for {:?}", self.missing_cases));
        }
        if !self.doubled_cases.is_empty() {
            f.push(format!("more than one case for {:?}", self.doubled_cases));
        }
        if !self.missing_forwards.is_empty() {
            f.push(format!("no forward for {:?}", self.missing_forwards));
        }
        // A kill can catch every lane of the outbox between the server's acceptance and the
        // sent-mark on disk: those mails go again (with their Message-ID), at most one a lane.
        let allowed = self.kills * otklik::outbox::LANES;
        if self.duplicates > allowed {
            f.push(format!(
                "{} duplicate forwards for {} kills (at most {allowed}: one a lane a kill)",
                self.duplicates, self.kills
            ));
        }
        if !self.duplicates_with_other_id.is_empty() {
            f.push(format!(
                "copies with another Message-ID: {:?}",
                self.duplicates_with_other_id
            ));
        }
        if self.left_in_inbox != 0 {
            f.push(format!("{} messages left in the INBOX", self.left_in_inbox));
        }
        if self.rejected != 0 {
            f.push(format!("{} notifications rejected", self.rejected));
        }
        if !self.store_opens {
            f.push(format!(
                "the store does not open cleanly: {}",
                self.store_error
            ));
        }
        if self.log_panics != 0 {
            f.push(format!("{} panics in the daemon's logs", self.log_panics));
        }
        f
    }

    pub(crate) fn print(&self) {
        let row = |k: &str, v: String| println!("| {k:<52} | {v:>12} |");
        println!("| {:<52} | {:>12} |", "crash test", "value");
        println!("|{}|{}|", "-".repeat(54), "-".repeat(14));
        row("notifications appended", self.notifications.to_string());
        row(
            "SIGKILLs (each followed by a restart)",
            self.kills.to_string(),
        );
        row("daemon starts", self.starts.to_string());
        row("cases in the store", self.cases.to_string());
        row(
            "distinct incident ids among the cases",
            self.distinct_source_ids.to_string(),
        );
        row(
            "notifications without a case",
            self.missing_cases.len().to_string(),
        );
        row(
            "notifications with more than one case",
            self.doubled_cases.len().to_string(),
        );
        row(
            "forwards in the executor's mailbox",
            self.forwards.to_string(),
        );
        row(
            "cases without a forward",
            self.missing_forwards.len().to_string(),
        );
        row(
            "duplicate forwards (same Message-ID as twin)",
            self.duplicates.to_string(),
        );
        row(
            "duplicate forwards with another Message-ID",
            self.duplicates_with_other_id.len().to_string(),
        );
        row(
            "`duplicate` history entries",
            self.duplicate_events.to_string(),
        );
        row(
            "intake INBOX left / processed / rejected",
            format!(
                "{}/{}/{}",
                self.left_in_inbox, self.processed, self.rejected
            ),
        );
        row(
            "store opens cleanly after the run",
            if self.store_opens { "yes" } else { "NO" }.to_string(),
        );
        row(
            "ERROR lines / panics in the daemon's logs",
            format!("{}/{}", self.log_errors, self.log_panics),
        );
        row("appending took (s)", format!("{:.1}", self.append_secs));
        row(
            "settling after the last kill took (s)",
            format!("{:.1}", self.settle_secs),
        );
        row("whole run (s)", format!("{:.1}", self.total_secs));
        for s in &self.log_samples {
            println!("log: {s}");
        }
    }
}

struct Daemon {
    child: Child,
}

fn spawn(bin: &Path, config: &Path, log: &Path) -> Daemon {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("daemon log file");
    let err = out.try_clone().expect("daemon log file");
    let child = Command::new(bin)
        .arg("--config")
        .arg(config)
        .arg("run")
        .arg("--log-format")
        .arg("human")
        .env("OTKLIK_TEST_IMAP_PASSWORD", MailStack::PASSWORD)
        .env_remove("NOTIFY_SOCKET")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    Daemon { child }
}

impl Daemon {
    fn kill(mut self) {
        let _ = self.child.kill(); // SIGKILL
        let _ = self.child.wait();
    }

    /// SIGTERM and wait: a clean stop.
    fn stop(mut self) -> std::process::ExitStatus {
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        self.child.wait().expect("wait for the daemon")
    }
}

/// How many messages `mailbox` of `user` holds (0 when it does not exist).
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

fn status(state_dir: &Path) -> Option<(usize, usize)> {
    match otklik::control::ask(state_dir, &otklik::control::Request::Status)? {
        otklik::control::Response::Status { cases, outbox } => Some((cases, outbox)),
        _ => None,
    }
}

/// Runs the plan against `stack` (its own users, prefixed `prefix`).
pub(crate) async fn run(stack: &MailStack, prefix: &str, plan: &Plan) -> Report {
    let started = Instant::now();
    let p = People::new(prefix);
    let dir = tempfile::Builder::new()
        .prefix("otklik-crash-")
        .tempdir()
        .expect("temp dir");
    let state = dir.path().join("state");
    let text = config_text(
        stack,
        &p,
        &state.display().to_string(),
        ALWAYS_CALENDAR,
        DEFAULT_DEADLINES,
        "",
    );
    let config = dir.path().join("otklik.toml");
    std::fs::write(&config, text).expect("write config");
    let log = dir.path().join("daemon.log");

    // Build every notification up front: appending is then just APPEND.
    let ids: Vec<String> = (0..plan.notifications)
        .map(|i| format!("{}", 700_000 + i))
        .collect();
    let mails: Vec<Vec<u8>> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            notification(
                stack,
                &p,
                id,
                "ЖКХ",
                &format!("Житель {i}"),
                &format!("Сообщение номер {i}: нет воды на улице."),
                "",
            )
        })
        .collect();

    // Appender: spreads the notifications over the expected span of the kills.
    let mean_kill = (plan.kill_after.0 + plan.kill_after.1) / 2;
    let span = mean_kill * plan.kills as u32;
    let pace = span / (plan.notifications.max(1) as u32);
    let appended = std::sync::atomic::AtomicBool::new(false);
    let appender = async {
        let user = p.service();
        let t = Instant::now();
        for m in mails {
            stack.append(&user, "INBOX", &m).await;
            tokio::time::sleep(pace).await;
        }
        appended.store(true, std::sync::atomic::Ordering::SeqCst);
        t.elapsed()
    };

    // Killer: start, wait a random moment, SIGKILL, again (the blocking wait for the
    // killed child is short).
    let killer = async {
        let mut kills = 0;
        let mut starts = 0;
        while kills < plan.kills || !appended.load(std::sync::atomic::Ordering::SeqCst) {
            let d = spawn(&plan.bin, &config, &log);
            starts += 1;
            let wait = {
                let mut rng = rand::rng();
                let (lo, hi) = plan.kill_after;
                Duration::from_millis(
                    rng.random_range(lo.as_millis() as u64..=hi.as_millis() as u64),
                )
            };
            tokio::time::sleep(wait).await;
            d.kill();
            kills += 1;
        }
        (kills, starts)
    };
    let (append_time, (kills, mut starts)) = tokio::join!(appender, killer);
    let append_secs = append_time.as_secs_f64();

    // The last start: let it finish everything, then stop it cleanly.
    let settle_start = Instant::now();
    let d = spawn(&plan.bin, &config, &log);
    starts += 1;
    let deadline = Instant::now() + plan.settle;
    loop {
        let inbox = count(stack, &p.service(), "INBOX").await;
        let st = status(&state);
        let delivered = count(stack, &p.executor("housing"), "INBOX").await;
        if inbox == 0
            && let Some((cases, 0)) = st
            && cases >= plan.notifications
            && delivered >= cases
        {
            break;
        }
        if Instant::now() > deadline {
            eprintln!(
                "not settled after {:?}: INBOX {inbox}, status {st:?}, executor {delivered}",
                plan.settle
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let settle_secs = settle_start.elapsed().as_secs_f64();
    let exit = d.stop();

    let mut r = Report {
        notifications: plan.notifications,
        kills,
        starts,
        append_secs,
        settle_secs,
        ..Report::default()
    };
    if !exit.success() {
        r.store_error = format!("the last daemon exited with {exit} on SIGTERM; ");
    }

    // The store, read by the CLI with the daemon stopped.
    let out = Command::new(&plan.bin)
        .arg("--config")
        .arg(&config)
        .args(["cases", "--all", "--json"])
        .output()
        .expect("run otklik cases");
    let cases: Vec<serde_json::Value> = if out.status.success() {
        match serde_json::from_slice(&out.stdout) {
            Ok(v) => v,
            Err(e) => {
                r.store_error += &format!("cases --json is not JSON: {e}");
                Vec::new()
            }
        }
    } else {
        r.store_error += &format!(
            "otklik cases failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Vec::new()
    };
    let show = Command::new(&plan.bin)
        .arg("--config")
        .arg(&config)
        .args(["show", "OTK-1", "--json"])
        .output()
        .expect("run otklik show");
    if !show.status.success() {
        r.store_error += &format!(
            "otklik show failed: {}",
            String::from_utf8_lossy(&show.stderr)
        );
    }
    r.store_opens = out.status.success() && show.status.success() && exit.success();

    r.cases = cases.len();
    let mut by_source: BTreeMap<String, usize> = BTreeMap::new();
    for c in &cases {
        if let Some(s) = c["source_id"].as_str() {
            *by_source.entry(s.to_string()).or_default() += 1;
        }
        if let Some(h) = c["history"].as_array() {
            r.duplicate_events += h.iter().filter(|e| e["event"] == "duplicate").count();
        }
    }
    r.distinct_source_ids = by_source.len();
    r.missing_cases = ids
        .iter()
        .filter(|i| !by_source.contains_key(*i))
        .cloned()
        .collect();
    r.doubled_cases = by_source
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(k, _)| k.clone())
        .collect();

    // The executor's mailbox: one forward per case, twins with the same Message-ID.
    let mails = stack.fetch_all(&p.executor("housing"), "INBOX").await;
    r.forwards = mails.len();
    let mut by_case: BTreeMap<String, Vec<Option<String>>> = BTreeMap::new();
    for m in &mails {
        let case = m.header("X-Otklik-Case").unwrap_or("?").to_string();
        by_case.entry(case).or_default().push(m.message_id.clone());
    }
    let case_ids: BTreeSet<String> = cases
        .iter()
        .filter_map(|c| c["id"].as_str().map(str::to_string))
        .collect();
    r.missing_forwards = case_ids
        .iter()
        .filter(|c| !by_case.contains_key(*c))
        .cloned()
        .collect();
    for (case, copies) in &by_case {
        r.duplicates += copies.len() - 1;
        if copies.iter().any(|m| m != &copies[0]) {
            r.duplicates_with_other_id.push(case.clone());
        }
    }
    r.left_in_inbox = count(stack, &p.service(), "INBOX").await;
    r.processed = count(stack, &p.service(), "otklik/processed").await;
    r.rejected = count(stack, &p.service(), "otklik/rejected").await;

    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    for line in log_text.lines() {
        let panic = line.contains("panicked");
        let error = line.contains("ERROR");
        if panic {
            r.log_panics += 1;
        }
        if error {
            r.log_errors += 1;
        }
        if (panic || error) && r.log_samples.len() < 10 {
            r.log_samples.push(line.chars().take(300).collect());
        }
    }
    if !r.failures().is_empty() {
        // Keep the evidence.
        let keep = std::env::temp_dir().join(format!("otklik-crash-evidence-{prefix}"));
        let _ = std::fs::remove_dir_all(&keep);
        let kept = dir.keep();
        let _ = std::fs::rename(&kept, &keep);
        eprintln!(
            "evidence (state dir, config, daemon log): {}",
            keep.display()
        );
    }
    r.total_secs = started.elapsed().as_secs_f64();
    r
}

fn default_bin() -> PathBuf {
    if let Some(b) = std::env::var_os("OTKLIK_BIN") {
        return PathBuf::from(b);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("release").join("otklik")
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n = args.first().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let kills = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(20);
    let plan = Plan {
        notifications: n,
        kills,
        bin: default_bin(),
        kill_after: (Duration::from_millis(150), Duration::from_millis(2500)),
        settle: Duration::from_secs(600),
    };
    assert!(
        plan.bin.exists(),
        "{} is missing: build it first (cargo build --release) or set OTKLIK_BIN",
        plan.bin.display()
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let report = runtime.block_on(async {
        let stack = MailStack::start();
        let r = run(&stack, "crash", &plan).await;
        drop(stack);
        r
    });
    report.print();
    let failures = report.failures();
    if failures.is_empty() {
        println!("crash test: PASS");
    } else {
        println!("crash test: FAIL");
        for f in failures {
            println!("  - {f}");
        }
        std::process::exit(1);
    }
}
