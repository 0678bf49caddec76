//! A simulated working week for the escalation engine, with no mail and no clock:
//! Asia/Barnaul, the `ru` preset (Tue 3 Nov 2026 is a shortened pre-holiday day ending at
//! 16:00, Wed 4 Nov is a holiday), the example's ladder, cases detected on a Friday
//! afternoon, at night, on a weekend, on the shortened day, with a per-category target, an
//! absent executor; some drafted on time, some late, one reworked, one answered with an
//! interim answer. A simulated clock advances to each next due instant (or the next action)
//! and fires what is due; every notice that would be sent is checked, to the minute.
//!
//! The same week is driven twice: through the pure workflow (`open`/`apply`/`schedule`),
//! and through a temporary store with `escalation::tick` and its due index; both must send
//! exactly the same mails at the same instants.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Duration, TimeZone, Utc};

use otklik_core::auth::Secret;
use otklik_core::config::{Config, DeadlineKind, SecretCheck};
use otklik_core::digest;
use otklik_core::intake::Notification;
use otklik_core::routing::Absences;
use otklik_core::workflow::{
    self, Action, Case, Classification, Ctx, DraftKind, Event, NoticeKind, Role,
};

use otklik::config;
use otklik::escalation;
use otklik::store::{Commit, Store};

const CONFIG: &str = r#"
[service]
case_prefix = "OTK"
digest_at = "09:00"

[imap]
host = "imap.example.ru"
username = "incidents@example.ru"
password_env = "OTKLIK_SIM_UNSET"

[smtp]
host = "smtp.example.ru"
from = "incidents@example.ru"

[calendar]
timezone = "Asia/Barnaul"
preset = "ru"
workdays = ["mon", "tue", "wed", "thu", "fri"]
hours = ["08:00-12:00", "13:00-17:00"]

[deadlines]
answer = "9h"
draft_before_answer = "4h"
rework = "1h"
final_after_interim = "7d"

[deadlines.categories."Высокая"]
answer = "4h"
draft_before_answer = "1h"

[people]
coordinator = { name = "Координатор", email = "coord@example.ru" }
supervisor = { name = "Контроль", email = "super@example.ru" }

[[executors]]
id = "housing"
name = "Шишова Татьяна Михайловна"
email = "housing@example.ru"
deputy = "economy"
absent = ["2026-11-06"]

[[executors]]
id = "economy"
name = "Попов Андрей"
email = "economy@example.ru"

[intake]
senders = ["*@monitoring.example"]

# The example's ladder (config/otklik.toml).
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

[[escalations]]
deadline = "rework"
at = "0h"
notify = ["executor", "coordinator"]

[[escalations]]
deadline = "final"
at = "0h"
notify = ["executor", "coordinator", "supervisor"]
"#;

fn config() -> Config {
    match config::load_str(CONFIG, Path::new("/sim/otklik.toml"), SecretCheck::Lenient) {
        Ok(c) => c,
        Err(e) => panic!("sim config:\n{e}"),
    }
}

/// Barnaul local time (UTC+7) in 2026.
fn bar(mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Barnaul
        .with_ymd_and_hms(2026, mo, d, h, mi, 0)
        .single()
        .expect("unambiguous")
        .to_utc()
}

fn notification(n: u64, detected_at: DateTime<Utc>, category: Option<&str>) -> Notification {
    Notification {
        source_id: Some(format!("sim-{n}")),
        topic: Some("ЖКХ / Водоснабжение".into()),
        location: Some("с. Волчиха".into()),
        category: category.map(str::to_string),
        source: Some("ВКонтакте".into()),
        link: Some(format!("https://vk.com/wall-1_{n}")),
        author: Some(format!("Автор {n}")),
        detected_at,
        text: "Нет воды".into(),
        repeat: false,
        attachments: Vec::new(),
        warnings: Vec::new(),
    }
}

/// What happens in the simulated week besides the escalations.
#[derive(Clone)]
enum Act {
    /// A notification arrives (and is detected) now; `executor` None: no rule matched.
    Open {
        number: u64,
        executor: Option<&'static str>,
        category: Option<&'static str>,
    },
    /// The case's executor submits a draft.
    Draft { number: u64, kind: DraftKind },
    /// The coordinator acts.
    Coordinator { number: u64, action: Action },
}

const HOUSING: &str = "housing@example.ru";
const COORD: &str = "coord@example.ru";

fn event(config: &Config, case: &Case, act: &Act) -> Event {
    match act {
        Act::Draft { kind, .. } => {
            let from = case
                .executor
                .as_deref()
                .and_then(|id| config.executor(id))
                .map(|e| e.email.clone())
                .unwrap_or_else(|| HOUSING.into());
            Event::Reply {
                from,
                role: Role::Executor,
                action: Action::Draft(*kind),
                text: "Проект ответа".into(),
                attachments: Vec::new(),
            }
        }
        Act::Coordinator { action, .. } => Event::Reply {
            from: COORD.into(),
            role: Role::Coordinator,
            action: action.clone(),
            text: String::new(),
            attachments: Vec::new(),
        },
        Act::Open { .. } => unreachable!("opening is not an event"),
    }
}

fn open_case(config: &Config, act: &Act, now: DateTime<Utc>, absences: &Absences) -> Case {
    let Act::Open {
        number,
        executor,
        category,
    } = act
    else {
        unreachable!()
    };
    let class = match executor {
        Some(e) => Classification::Routed {
            rule: "ЖКХ".into(),
            executor: (*e).into(),
            repeat_unmatched: false,
        },
        None => Classification::Unmatched {
            repeat_unmatched: false,
            suggestions: vec![],
        },
    };
    let ctx = Ctx {
        config,
        absences,
        now,
    };
    workflow::open(*number, notification(*number, now, *category), class, ctx).case
}

/// One mail that would be sent: `чт 05.11 16:00 OTK-3 rework -> housing@…, coord@…`.
fn line(config: &Config, at: DateTime<Utc>, case: &str, what: &str, to: &[String]) -> String {
    let local = at.with_timezone(&config.calendar.timezone());
    let wd = ["пн", "вт", "ср", "чт", "пт", "сб", "вс"]
        [chrono::Datelike::weekday(&local).num_days_from_monday() as usize];
    format!(
        "{wd} {} {case} {what} -> {}",
        local.format("%d.%m %H:%M"),
        to.join(", ")
    )
}

fn kind_word(kind: DeadlineKind, late: bool) -> String {
    let k = match kind {
        DeadlineKind::Draft => "draft",
        DeadlineKind::Answer => "answer",
        DeadlineKind::Rework => "rework",
        DeadlineKind::Final => "final",
    };
    if late { format!("{k} LATE") } else { k.into() }
}

/// The pure engine: the workflow alone, the schedule recomputed from the cases.
fn run_pure(config: &Config, acts: &[(DateTime<Utc>, Act)], until: DateTime<Utc>) -> Vec<String> {
    run_pure_cases(config, acts, until).0
}

/// [`run_pure`], also returning the cases as they are at `until`.
fn run_pure_cases(
    config: &Config,
    acts: &[(DateTime<Utc>, Act)],
    until: DateTime<Utc>,
) -> (Vec<String>, BTreeMap<u64, Case>) {
    let absences = Absences::new();
    let mut cases: BTreeMap<u64, Case> = BTreeMap::new();
    let mut out = Vec::new();
    let mut acts = acts.iter().peekable();
    loop {
        let next_due = cases
            .values()
            .flat_map(|c| workflow::schedule(c, config))
            .min();
        let next_act = acts.peek().map(|(t, _)| *t).filter(|t| *t <= until);
        // An action at the same instant as a due step goes first (the mail was in the inbox).
        match (next_due, next_act) {
            (_, Some(t)) if next_due.is_none_or(|d| t <= d.at) => {
                let (now, act) = acts.next().expect("peeked");
                match act {
                    Act::Open { number, .. } => {
                        cases.insert(*number, open_case(config, act, *now, &absences));
                    }
                    Act::Draft { number, .. } | Act::Coordinator { number, .. } => {
                        let case = &cases[number];
                        let ctx = Ctx {
                            config,
                            absences: &absences,
                            now: *now,
                        };
                        let outcome = workflow::apply(case, event(config, case, act), ctx);
                        assert!(outcome.accepted, "{:?}", outcome.notices);
                        cases.insert(*number, outcome.case);
                    }
                }
            }
            (Some(d), _) if d.at <= until => {
                let ctx = Ctx {
                    config,
                    absences: &absences,
                    now: d.at,
                };
                let outcome = workflow::apply(
                    &cases[&d.case],
                    Event::Escalation {
                        step: d.step,
                        kind: d.kind,
                        deadline: d.deadline,
                    },
                    ctx,
                );
                assert!(outcome.accepted, "a scheduled step must fire: {d:?}");
                for n in &outcome.notices {
                    let NoticeKind::Deadline { kind, late, .. } = n.kind else {
                        panic!("an escalation sends deadline notices only: {n:?}");
                    };
                    out.push(line(
                        config,
                        d.at,
                        &outcome.case.id,
                        &kind_word(kind, late),
                        &n.to,
                    ));
                }
                cases.insert(d.case, outcome.case);
            }
            _ => return (out, cases),
        }
    }
}

/// The store-backed engine: cases committed with their schedule as the handler does, the
/// clock stepped to each next due instant from the store's index, `escalation::tick`
/// firing; the mails are read back from the outbox. `pause`: the service is down from the
/// first instant to the second (no tick), then starts again.
fn run_store(
    config: &Config,
    acts: &[(DateTime<Utc>, Act)],
    until: DateTime<Utc>,
    pause: Option<(DateTime<Utc>, DateTime<Utc>)>,
) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_waiting(dir.path(), std::time::Duration::from_secs(60)).unwrap();
    let secret = Secret::new(vec![3; 32]);
    let absences = Absences::new();
    let mut out = Vec::new();
    let mut acts = acts.iter().peekable();
    let fire = |store: &Store, now: DateTime<Utc>, out: &mut Vec<String>| {
        let fired = escalation::tick(store, config, &secret, now).unwrap();
        // Each fired step left one history entry, `… to a, b [late: …]`, committed with its
        // mails: walk the outbox in order, taking the case's next entry whenever the
        // previous one's recipients are used up; together they name exactly the mails.
        let mut entries: BTreeMap<u64, Vec<String>> = BTreeMap::new();
        let mut pending: Vec<String> = Vec::new();
        let mut steps = 0;
        for m in store.outbox().unwrap() {
            let case = m.case.expect("escalation mail is about a case");
            assert_eq!(m.created, now);
            store.outbox_sent(m.seq, now).unwrap();
            let c = store.case(case).unwrap().unwrap();
            if pending.is_empty() {
                let queue = entries.entry(case).or_insert_with(|| {
                    let mut v: Vec<String> = c
                        .history
                        .iter()
                        .filter(|h| {
                            h.at == now && matches!(h.event.as_str(), "reminder" | "escalation")
                        })
                        .map(|h| h.detail.clone())
                        .collect();
                    v.reverse();
                    v
                });
                let detail = queue.pop().expect("a history entry per fired step");
                let kind = ["draft", "answer", "rework", "final"]
                    .into_iter()
                    .find(|k| detail.starts_with(k))
                    .unwrap_or("?");
                let to_part = detail.rsplit_once(" to ").map(|(_, t)| t).unwrap_or("");
                let to_part = to_part.split(" [late").next().unwrap_or("");
                let to: Vec<String> = to_part.split(", ").map(str::to_string).collect();
                let what = if detail.contains("[late") {
                    format!("{kind} LATE")
                } else {
                    kind.to_string()
                };
                out.push(line(config, now, &c.id, &what, &to));
                pending = to;
                steps += 1;
            }
            assert_eq!(m.to, vec![pending.remove(0)], "{}", c.id);
        }
        assert!(pending.is_empty());
        assert_eq!(steps, fired);
    };
    loop {
        let next_due = store.next_due().unwrap();
        let next_act = acts.peek().map(|(t, _)| *t);
        match (next_due, next_act) {
            (_, Some(t)) if next_due.is_none_or(|d| t <= d) => {
                let (now, act) = acts.next().expect("peeked");
                let number = match act {
                    Act::Open { number, .. }
                    | Act::Draft { number, .. }
                    | Act::Coordinator { number, .. } => *number,
                };
                let case = match act {
                    Act::Open { .. } => open_case(config, act, *now, &absences),
                    _ => {
                        let case = store.case(number).unwrap().unwrap();
                        let ctx = Ctx {
                            config,
                            absences: &absences,
                            now: *now,
                        };
                        workflow::apply(&case, event(config, &case, act), ctx).case
                    }
                };
                let dues = workflow::schedule(&case, config);
                store
                    .commit(Commit {
                        cases: vec![(case, dues)],
                        new_case: matches!(act, Act::Open { .. }).then_some(number),
                        ..Commit::default()
                    })
                    .unwrap();
            }
            (Some(d), _) if d <= until => {
                let now = match pause {
                    Some((down, up)) if d >= down && d < up => up,
                    _ => d,
                };
                fire(&store, now, &mut out);
            }
            _ => return out,
        }
    }
}

/// The week of the hand-checked cases.
fn week() -> Vec<(DateTime<Utc>, Act)> {
    use Act::*;
    let open = |number, executor, category| Open {
        number,
        executor,
        category,
    };
    vec![
        // OTK-1: Friday afternoon, nobody acts.
        (bar(10, 30, 15, 30), open(1, Some("housing"), None)),
        // OTK-2: Saturday, no rule matched; the coordinator assigns it on Monday.
        (bar(10, 31, 10, 0), open(2, None, None)),
        // OTK-3: Monday night; drafted and approved on time.
        (bar(11, 2, 21, 0), open(3, Some("housing"), None)),
        (
            bar(11, 2, 15, 0),
            Coordinator {
                number: 2,
                action: Action::Assign("economy".into()),
            },
        ),
        (
            bar(11, 3, 10, 0),
            Draft {
                number: 3,
                kind: DraftKind::Answer,
            },
        ),
        // OTK-4: on the shortened day before the holiday; late draft, rework, approved.
        (bar(11, 3, 15, 0), open(4, Some("housing"), None)),
        (
            bar(11, 3, 15, 0),
            Coordinator {
                number: 3,
                action: Action::Approve,
            },
        ),
        // OTK-5: high importance (4h / 1h), interim answer, final deadline in 7 working days.
        (
            bar(11, 5, 11, 30),
            open(5, Some("housing"), Some("высокая")),
        ),
        (
            bar(11, 5, 14, 0),
            Draft {
                number: 4,
                kind: DraftKind::Answer,
            },
        ),
        (
            bar(11, 5, 14, 0),
            Draft {
                number: 5,
                kind: DraftKind::Interim,
            },
        ),
        (
            bar(11, 5, 15, 0),
            Coordinator {
                number: 4,
                action: Action::Rework,
            },
        ),
        (
            bar(11, 5, 15, 0),
            Coordinator {
                number: 5,
                action: Action::Approve,
            },
        ),
        // Posted at once (cl. 6: the answer deadline is met when the answer is posted).
        (
            bar(11, 5, 15, 10),
            Coordinator {
                number: 5,
                action: Action::Published,
            },
        ),
        // OTK-6: Thursday 16:00; its executor is absent on Friday.
        (bar(11, 5, 16, 0), open(6, Some("housing"), None)),
        (
            bar(11, 5, 16, 30),
            Draft {
                number: 4,
                kind: DraftKind::Answer,
            },
        ),
        (
            bar(11, 5, 16, 45),
            Coordinator {
                number: 4,
                action: Action::Approve,
            },
        ),
        (
            bar(11, 5, 16, 50),
            Coordinator {
                number: 4,
                action: Action::Published,
            },
        ),
    ]
}

fn sorted(mut acts: Vec<(DateTime<Utc>, Act)>) -> Vec<(DateTime<Utc>, Act)> {
    acts.sort_by_key(|(t, _)| *t);
    acts
}

/// Every mail of the week, by hand. Working hours 08–12, 13–17; Tue 3 Nov 08–12, 13–16;
/// Wed 4 Nov off. Answer = detection + 9 working hours, draft = answer − 4 h (the latest
/// such instant: across lunch it lands on 13:00, not 12:00; across a night on 08:00).
const EXPECTED: &[&str] = &[
    // OTK-1, detected Fri 15:30: Fri 1.5h + Mon 08–12 (5.5) + 13–16:30 → answer Mon 16:30;
    // draft 4h earlier: 3.5h back to 13:00, 0.5h before 12:00 → Mon 11:30.
    // OTK-2 (Sat 10:00, unassigned): from Mon 08:00, 8h on Mon + 1h → answer Tue 09:00;
    // draft: 1h back to Tue 08:00, 3h before Mon 17:00 → Mon 14:00; draft −2h: 1h to 13:00,
    // 1h before 12:00 → Mon 11:00. Its executor step goes to the coordinator (no executor).
    "пн 02.11 09:30 OTK-1 draft -> housing@example.ru",
    "пн 02.11 11:00 OTK-2 draft -> coord@example.ru",
    "пн 02.11 11:30 OTK-1 draft -> coord@example.ru",
    "пн 02.11 14:00 OTK-2 draft -> coord@example.ru",
    // OTK-2 assigned to economy at 15:00: its answer steps stay (the deadline did not move).
    "пн 02.11 15:30 OTK-1 answer -> coord@example.ru, super@example.ru",
    "пн 02.11 16:30 OTK-1 answer -> coord@example.ru, super@example.ru",
    // OTK-3 (Mon 21:00): Tue 7h (shortened) + Thu 2h → answer Thu 10:00; draft Tue 14:00,
    // draft −2h Tue 11:00: the draft at Tue 10:00 cancels the draft steps. Approved at Tue
    // 15:00 but never posted: the answer steps still fire (cl. 6: prepared and posted).
    // OTK-2's answer −1h: the latest instant 1h before Tue 09:00 is Tue 08:00.
    "вт 03.11 08:00 OTK-2 answer -> coord@example.ru, super@example.ru",
    "вт 03.11 09:00 OTK-2 answer -> coord@example.ru, super@example.ru",
    "чт 05.11 09:00 OTK-3 answer -> coord@example.ru, super@example.ru",
    "чт 05.11 10:00 OTK-3 answer -> coord@example.ru, super@example.ru",
    // OTK-4 (Tue 15:00, shortened day): Tue 1h + Thu 8h → answer Thu 17:00; draft Thu 13:00;
    // draft −2h Thu 10:00; answer −1h Thu 16:00. Draft late at 14:00, rework at 15:00
    // (+1h → Thu 16:00), second draft 16:30, approved 16:45, posted 16:50: the answer step at
    // 17:00 never fires.
    "чт 05.11 10:00 OTK-4 draft -> housing@example.ru",
    "чт 05.11 13:00 OTK-4 draft -> coord@example.ru",
    // OTK-5 (Thu 11:30, high: 4h/1h): answer Thu 16:30, draft 15:30, draft −2h 13:30;
    // interim draft at 14:00 cancels the draft steps, its posting at 15:10 the answer ones.
    "чт 05.11 13:30 OTK-5 draft -> housing@example.ru",
    "чт 05.11 16:00 OTK-4 answer -> coord@example.ru, super@example.ru",
    "чт 05.11 16:00 OTK-4 rework -> housing@example.ru, coord@example.ru",
    // OTK-6 (Thu 16:00): Thu 1h + Fri 8h → answer Fri 17:00, draft Fri 13:00, draft −2h
    // Fri 10:00; housing is absent on Friday: the executor's reminder goes to the coordinator.
    "пт 06.11 10:00 OTK-6 draft -> coord@example.ru",
    "пт 06.11 13:00 OTK-6 draft -> coord@example.ru",
    "пт 06.11 16:00 OTK-6 answer -> coord@example.ru, super@example.ru",
    "пт 06.11 17:00 OTK-6 answer -> coord@example.ru, super@example.ru",
    // OTK-5's final deadline: 7 working days after Thu 5 Nov (Fri 6, Mon 9 … Mon 16), at the
    // end of the working day.
    "пн 16.11 17:00 OTK-5 final -> housing@example.ru, coord@example.ru, super@example.ru",
];

#[test]
fn the_hand_checked_week_sends_every_mail_at_its_minute() {
    let config = config();
    let got = run_pure(&config, &sorted(week()), bar(11, 30, 0, 0));
    assert_eq!(got, EXPECTED, "\n{}", got.join("\n"));
}

#[test]
fn the_store_and_tick_send_the_same_mails_as_the_pure_workflow() {
    let config = config();
    let got = run_store(&config, &sorted(week()), bar(11, 30, 0, 0), None);
    assert_eq!(got, EXPECTED, "\n{}", got.join("\n"));
}

#[test]
fn steps_due_while_the_service_was_down_fire_once_on_start_marked_late() {
    let config = config();
    // Down from Mon 09:00 to Mon 12:10: OTK-1's 09:30 and 11:30 steps and OTK-2's 11:00 one
    // fire at 12:10, once each, late; everything after is on time again.
    let got = run_store(
        &config,
        &sorted(week()),
        bar(11, 2, 17, 0),
        Some((bar(11, 2, 9, 0), bar(11, 2, 12, 10))),
    );
    let expected = [
        "пн 02.11 12:10 OTK-1 draft LATE -> housing@example.ru",
        "пн 02.11 12:10 OTK-2 draft LATE -> coord@example.ru",
        "пн 02.11 12:10 OTK-1 draft LATE -> coord@example.ru",
        "пн 02.11 14:00 OTK-2 draft -> coord@example.ru",
        "пн 02.11 15:30 OTK-1 answer -> coord@example.ru, super@example.ru",
        "пн 02.11 16:30 OTK-1 answer -> coord@example.ru, super@example.ru",
    ];
    assert_eq!(got, expected, "\n{}", got.join("\n"));
}

/// Many cases, one every 97 minutes for a week and a half (nights, the weekend, the
/// shortened day and the holiday included), nobody acting: each gets its four steps once,
/// in ladder order, at the calendar's instants, all at the edge of or inside working time;
/// both engines agree.
#[test]
fn a_hundred_and_fifty_untouched_cases_each_get_the_four_steps_once() {
    let config = config();
    let cal = &config.calendar;
    let start = bar(10, 29, 0, 0);
    let acts: Vec<(DateTime<Utc>, Act)> = (1..=150u64)
        .map(|n| {
            (
                start + Duration::minutes(97 * n as i64),
                Act::Open {
                    number: n,
                    executor: Some(if n % 2 == 0 { "economy" } else { "housing" }),
                    category: (n % 5 == 0).then_some("Высокая"),
                },
            )
        })
        .collect();
    let until = bar(12, 31, 0, 0);
    let pure = run_pure(&config, &acts, until);
    let stored = run_store(&config, &acts, until, None);
    assert_eq!(pure, stored);
    assert_eq!(pure.len(), 4 * 150);
    // Replay the expectation per case from the calendar.
    let absences = Absences::new();
    let mut expected = Vec::new();
    for (t, act) in &acts {
        let case = open_case(&config, act, *t, &absences);
        let (draft, answer) = (
            case.deadlines.draft.unwrap(),
            case.deadlines.answer.unwrap(),
        );
        let executor = config
            .executor(case.executor.as_deref().unwrap())
            .unwrap()
            .email
            .clone();
        // Housing is absent on Fri 6 Nov: its reminders go to the coordinator that day.
        let reminder_at = cal.sub(draft, otklik_core::calendar::WorkDuration::Seconds(7200));
        let reminder_to =
            if executor == HOUSING && cal.local_date(reminder_at).to_string() == "2026-11-06" {
                COORD.to_string()
            } else {
                executor
            };
        let both = vec![COORD.to_string(), "super@example.ru".to_string()];
        for (at, what, to) in [
            (reminder_at, "draft", vec![reminder_to]),
            (draft, "draft", vec![COORD.to_string()]),
            (
                cal.sub(answer, otklik_core::calendar::WorkDuration::Seconds(3600)),
                "answer",
                both.clone(),
            ),
            (answer, "answer", both),
        ] {
            // Inside or at the edge of working time.
            assert!(
                cal.working_time_between(at - Duration::minutes(1), at + Duration::minutes(1))
                    > Duration::zero(),
                "{} step at {at} outside working time",
                case.id
            );
            expected.push((at, case.number, line(&config, at, &case.id, what, &to)));
        }
    }
    expected.sort_by_key(|(at, n, _)| (*at, *n));
    let expected: Vec<String> = expected.into_iter().map(|(_, _, l)| l).collect();
    assert_eq!(pure, expected);
}

// ------------------------------------------------------------------------- daily digest

#[test]
fn the_digest_is_due_at_its_time_on_working_days_once() {
    let config = config();
    let d = |mo, day| chrono::NaiveDate::from_ymd_opt(2026, mo, day).unwrap();
    assert_eq!(digest::due(&config, None, bar(11, 2, 8, 59)), None);
    assert_eq!(digest::due(&config, None, bar(11, 2, 9, 0)), Some(d(11, 2)));
    assert_eq!(
        digest::due(&config, Some(d(11, 2)), bar(11, 2, 16, 0)),
        None
    );
    // The shortened day is a working day; the holiday and the weekend are not.
    assert_eq!(
        digest::due(&config, Some(d(11, 2)), bar(11, 3, 9, 0)),
        Some(d(11, 3))
    );
    assert_eq!(
        digest::due(&config, Some(d(11, 3)), bar(11, 4, 10, 0)),
        None
    );
    assert_eq!(
        digest::due(&config, Some(d(11, 6)), bar(11, 7, 10, 0)),
        None
    );
    // Down at 09:00, back at 15:00: the day's digest goes then.
    assert_eq!(
        digest::due(&config, Some(d(11, 3)), bar(11, 5, 15, 0)),
        Some(d(11, 5))
    );
    // No digest_at: never.
    let mut off = config.clone();
    off.service.digest_at = None;
    assert_eq!(digest::due(&off, None, bar(11, 2, 9, 0)), None);
}

/// Thursday 5 Nov, 09:00: OTK-1 and OTK-2 are past both deadlines, OTK-3 approved (open
/// until published), OTK-4 due today (draft 13:00, answer 17:00); OTK-5/6 not yet there.
#[test]
fn the_digest_lists_states_due_today_overdue_and_executors() {
    let config = config();
    let now = bar(11, 5, 9, 0);
    let (_, cases) = run_pure_cases(&config, &sorted(week()), now);
    let cases: Vec<Case> = cases.into_values().collect();
    let d = digest::build(&config, &cases, now);
    assert_eq!(d.open, 4);
    assert_eq!(
        d.by_state,
        [
            (otklik_core::workflow::State::Assigned, 3),
            (otklik_core::workflow::State::Approved, 1)
        ]
    );
    let ids = |l: &[digest::Line]| {
        l.iter()
            .map(|l| {
                format!(
                    "{} {:?} {}",
                    l.id,
                    l.kind,
                    line(&config, l.deadline, "", "", &[])
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(&d.due_today),
        [
            "OTK-3 Answer чт 05.11 10:00   -> ",
            "OTK-4 Draft чт 05.11 13:00   -> ",
            "OTK-4 Answer чт 05.11 17:00   -> "
        ]
    );
    assert_eq!(
        ids(&d.overdue),
        [
            "OTK-1 Draft пн 02.11 11:30   -> ",
            "OTK-2 Draft пн 02.11 14:00   -> "
        ]
    );
    let counts: Vec<(String, u32, u32, u32)> = d
        .executors
        .iter()
        .map(|e| (e.executor.clone(), e.open, e.due_today, e.overdue))
        .collect();
    assert_eq!(
        counts,
        [
            ("economy".to_string(), 1, 0, 1),
            // OTK-3 (approved, not posted: due today) and OTK-4.
            ("housing".to_string(), 3, 2, 1)
        ]
    );

    let text = digest::text(&config, &d);
    for needle in [
        "Сводка по обращениям на чт 05.11.2026 09:00",
        "Открытых дел: 4",
        "  у исполнителя: 3",
        "  ответ согласован, ждём публикации: 1",
        "Срок сегодня: 3",
        // Thu 09:00 → 13:00: 3 working hours (lunch excluded).
        "OTK-4 — ЖКХ / Водоснабжение — с. Волчиха; Шишова Татьяна Михайловна (housing); срок проекта ответа чт 05.11.2026 13:00, осталось 3 ч 00 мин",
        "Просрочено: 2",
        // Mon 11:30 → Thu 09:00: 0.5 + 4 (Mon) + 7 (Tue, shortened) + 1 (Thu) = 12.5 h.
        "OTK-1 — ЖКХ / Водоснабжение — с. Волчиха; Шишова Татьяна Михайловна (housing); срок проекта ответа пн 02.11.2026 11:30, просрочено на 12 ч 30 мин",
        "  Попов Андрей (economy): открыто 1, срок сегодня 0, просрочено 1",
        "  Шишова Татьяна Михайловна (housing): открыто 3, срок сегодня 2, просрочено 1",
    ] {
        assert!(text.contains(needle), "no {needle:?} in\n{text}");
    }
    let html = digest::html(&config, &d);
    for needle in [
        "<table",
        "<th>Состояние</th><th>Дел</th>",
        "<tr><td>у исполнителя</td><td>3</td></tr>",
        "<tr><td>всего</td><td>4</td></tr>",
        ">Просрочено: 2</p>",
        "<td>OTK-4</td><td>ЖКХ / Водоснабжение — с. Волчиха</td>",
        "<tr><td>Шишова Татьяна Михайловна (housing)</td><td>3</td><td>2</td><td>1</td></tr>",
    ] {
        assert!(html.contains(needle), "no {needle:?} in\n{html}");
    }
    assert_eq!(
        digest::subject(&config, &d),
        "[OTK] Сводка на чт 05.11.2026: 4 открытых, 2 просрочено"
    );
    assert_eq!(
        otklik_core::html::escape("<a href=\"x\">&'</a>"),
        "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
    );
}

#[test]
fn the_digest_goes_to_the_coordinator_and_supervisor_once_a_working_day() {
    let config = config();
    let secret = Secret::new(vec![5; 32]);
    let (_, cases) = run_pure_cases(&config, &sorted(week()), bar(11, 5, 9, 0));
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_waiting(dir.path(), std::time::Duration::from_secs(60)).unwrap();
    for case in cases.into_values() {
        let number = case.number;
        let dues = workflow::schedule(&case, &config);
        store
            .commit(Commit {
                cases: vec![(case, dues)],
                new_case: Some(number),
                ..Commit::default()
            })
            .unwrap();
    }
    assert_eq!(
        otklik::digest::run_once(&store, &config, &secret, bar(11, 5, 8, 59)).unwrap(),
        0
    );
    assert_eq!(
        otklik::digest::run_once(&store, &config, &secret, bar(11, 5, 9, 0)).unwrap(),
        2
    );
    // Later the same day (a tick, a restart): nothing more.
    assert_eq!(
        otklik::digest::run_once(&store, &config, &secret, bar(11, 5, 9, 0)).unwrap(),
        0
    );
    assert_eq!(
        otklik::digest::run_once(&store, &config, &secret, bar(11, 5, 16, 0)).unwrap(),
        0
    );
    let mails = store.outbox().unwrap();
    let to: Vec<&str> = mails.iter().map(|m| m.to[0].as_str()).collect();
    assert_eq!(to, ["coord@example.ru", "super@example.ru"]);
    for m in &mails {
        assert_eq!(m.case, None);
        assert!(m.message_id.starts_with("otk0."), "{}", m.message_id);
        let raw = String::from_utf8_lossy(&m.raw);
        assert!(raw.contains("Auto-Submitted: auto-generated"), "{raw}");
        assert!(!raw.contains("X-Otklik-Case"), "{raw}");
        let parsed = mail_parser::MessageParser::default()
            .parse(&m.raw[..])
            .expect("a parsable digest");
        let ct = mail_parser::MimeHeaders::content_type(&parsed).expect("a content type");
        assert_eq!(
            (ct.ctype(), ct.subtype()),
            ("multipart", Some("alternative"))
        );
        assert!(
            parsed
                .body_text(0)
                .is_some_and(|t| t.contains("Открытых дел: 4"))
        );
        assert!(
            parsed
                .body_html(0)
                .is_some_and(|h| h.contains("<td>OTK-4</td>"))
        );
        assert!(
            parsed
                .subject()
                .is_some_and(|s| s.starts_with("[OTK] Сводка на чт 05.11.2026"))
        );
        store.outbox_sent(m.seq, bar(11, 5, 9, 0)).unwrap();
    }
    // The next working day (Friday), again once.
    assert_eq!(
        otklik::digest::run_once(&store, &config, &secret, bar(11, 6, 9, 1)).unwrap(),
        2
    );
    assert_eq!(
        otklik::digest::run_once(&store, &config, &secret, bar(11, 6, 9, 2)).unwrap(),
        0
    );
    // Saturday: none.
    assert_eq!(
        otklik::digest::run_once(&store, &config, &secret, bar(11, 7, 9, 0)).unwrap(),
        0
    );
}
