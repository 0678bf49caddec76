//! Cost of the escalation engine with 100k open cases in the store: a timer tick
//! with nothing due (goal: at most 1 ms, i.e. independent of the number of open cases),
//! and scheduling one case (computing its pending steps, and committing them with the case).
//!
//! `cargo bench --bench escalation -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use chrono::{DateTime, Duration, TimeZone, Utc};
use criterion::{Criterion, criterion_main};

use otklik_core::auth::Secret;
use otklik_core::config::{Config, SecretCheck};
use otklik_core::intake::Notification;
use otklik_core::routing::Absences;
use otklik_core::workflow::{self, Case, Classification, Ctx};

use otklik::config;
use otklik::escalation;
use otklik::store::{Commit, Store};

const CASES: u64 = 100_000;

const CONFIG: &str = r#"
[imap]
host = "imap.example.ru"
username = "incidents@example.ru"
password_env = "OTKLIK_BENCH_UNSET"

[smtp]
host = "smtp.example.ru"
from = "incidents@example.ru"

[calendar]
timezone = "Asia/Barnaul"
preset = "ru"
hours = ["08:00-12:00", "13:00-17:00"]

[people]
coordinator = { name = "Координатор", email = "coord@example.ru" }
supervisor = { name = "Контроль", email = "super@example.ru" }

[[executors]]
id = "housing"
name = "Шишова Татьяна Михайловна"
email = "shishova@example.ru"

[intake]
senders = ["*@monitoring.example"]

[[escalations]]
deadline = "draft"
at = "-2h"
notify = ["executor"]

[[escalations]]
deadline = "draft"
at = "0h"
notify = ["coordinator"]

[[escalations]]
deadline = "answer"
at = "-1h"
notify = ["coordinator", "supervisor"]

[[escalations]]
deadline = "answer"
at = "0h"
notify = ["coordinator", "supervisor"]
"#;

fn config() -> Config {
    match config::load_str(
        CONFIG,
        Path::new("/bench/otklik.toml"),
        SecretCheck::Lenient,
    ) {
        Ok(c) => c,
        Err(e) => panic!("bench config:\n{e}"),
    }
}

fn notification(i: u64, detected_at: DateTime<Utc>) -> Notification {
    Notification {
        source_id: Some(format!("bench-{i}")),
        topic: Some("ЖКХ / Водоснабжение".into()),
        location: Some("с. Волчиха".into()),
        category: None,
        source: Some("ВКонтакте".into()),
        link: Some(format!("https://vk.com/wall-1_{i}")),
        author: Some(format!("Автор {i}")),
        detected_at,
        text: "Третий день нет воды на улице Свердлова".into(),
        repeat: false,
        attachments: Vec::new(),
        warnings: Vec::new(),
    }
}

fn open_case(config: &Config, number: u64, detected: DateTime<Utc>) -> Case {
    let absences = Absences::new();
    let ctx = Ctx {
        config,
        absences: &absences,
        now: detected,
    };
    let class = Classification::Routed {
        rule: "ЖКХ".into(),
        executor: "housing".into(),
        repeat_unmatched: false,
    };
    workflow::open(number, notification(number, detected), class, ctx).case
}

fn bench(c: &mut Criterion) {
    let config = config();
    let secret = Secret::new(vec![7; 32]);
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path()).expect("store");
    // Cases detected every 3 minutes from 1 Feb 2027: every step lies after `now`.
    let first = chrono_tz::Asia::Barnaul
        .with_ymd_and_hms(2027, 2, 1, 9, 0, 0)
        .single()
        .expect("unambiguous")
        .to_utc();
    let now = first - Duration::days(30);
    let started = Instant::now();
    let mut number = 1;
    while number <= CASES {
        let mut commit = Commit::default();
        for _ in 0..1000 {
            let case = open_case(
                &config,
                number,
                first + Duration::minutes(3 * number as i64),
            );
            let dues = workflow::schedule(&case, &config);
            commit.cases.push((case, dues));
            number += 1;
        }
        store.commit(commit).expect("commit");
    }
    store.flush_blocking().expect("flush");
    eprintln!(
        "{CASES} open cases ({} due steps) stored in {:?}",
        4 * CASES,
        started.elapsed()
    );
    assert_eq!(store.case_count() as u64, CASES);

    // Once: the cost of rebuilding the whole due index after a change of the ladder
    // (what a config reload does), for the note.
    let mut changed = config.clone();
    changed.escalations.truncate(3);
    let started = Instant::now();
    let n = escalation::reschedule_if_changed(&store, &changed).expect("reschedule");
    eprintln!(
        "reschedule_if_changed after a ladder change: {n} cases in {:?}",
        started.elapsed()
    );
    let started = Instant::now();
    let n = escalation::reschedule_if_changed(&store, &config).expect("reschedule");
    eprintln!("and back: {n} cases in {:?}", started.elapsed());
    let started = Instant::now();
    escalation::reschedule_if_changed(&store, &config).expect("reschedule");
    eprintln!("unchanged config: {:?}", started.elapsed());

    c.bench_function("tick_nothing_due_100k_open", |b| {
        b.iter(|| {
            let fired = escalation::tick(&store, &config, &secret, black_box(now)).expect("tick");
            assert_eq!(fired, 0);
        })
    });
    c.bench_function("next_due_100k_open", |b| {
        b.iter(|| black_box(store.next_due().expect("next_due")))
    });

    let case = store.case(CASES / 2).expect("read").expect("case");
    c.bench_function("schedule_compute_one_case", |b| {
        b.iter(|| black_box(workflow::schedule(black_box(&case), &config)))
    });
    c.bench_function("schedule_compute_and_commit_one_case_100k_open", |b| {
        b.iter(|| {
            let dues = workflow::schedule(&case, &config);
            store
                .commit(Commit {
                    cases: vec![(case.clone(), dues)],
                    ..Commit::default()
                })
                .expect("commit");
        })
    });
}

// criterion_group! defines an undocumented `pub fn benches`.
mod group {
    #![allow(missing_docs, unreachable_pub)]
    use super::bench;
    criterion::criterion_group!(benches, bench);
}
use group::benches;
criterion_main!(benches);
