//! The case workflow as a pure state machine: `(case, event, now) -> (case, notices)`.
//! No mail, no store, no clock: a simulated calendar and time.
mod fixtures;

use chrono::{DateTime, Duration, TimeZone, Utc};
use otklik_core::config::{Config, SecretCheck};
use otklik_core::intake::Notification;
use otklik_core::routing::Absences;
use otklik_core::workflow::{
    self, Action, Case, Classification, Ctx, DraftKind, Event, NoticeKind, Role, State,
};
use proptest::prelude::*;

fn config() -> Config {
    let lexicon = concat!(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../.."),
        "/config/exclude-words.txt"
    );
    let text = format!(
        r#"
[service]
state_dir = "/tmp/otklik-workflow-test"
[imap]
host = "localhost"
tls = "none"
username = "svc"
password_env = "NONE"
[smtp]
host = "localhost"
tls = "none"
from = "svc@example.ru"
[calendar]
timezone = "Asia/Barnaul"
preset = "ru"
[people]
coordinator = {{ name = "Коорд", email = "coord@example.ru" }}
supervisor = {{ name = "Контроль", email = "super@example.ru" }}
publisher = "press@example.ru"
[[executors]]
id = "housing"
name = "ЖКХ"
email = "housing@example.ru"
deputy = "economy"
[[executors]]
id = "economy"
name = "Экономика"
email = "economy@example.ru"
[[rules]]
name = "ЖКХ"
topic = ["ЖКХ*"]
executor = "housing"
[[escalations]]
deadline = "draft"
at = "-2h"
notify = ["executor"]
[[escalations]]
deadline = "answer"
at = "0h"
notify = ["coordinator", "supervisor"]
[intake]
senders = ["*@monitoring.example"]
exclude_words_file = "{lexicon}"
"#
    );
    match fixtures::load_str(
        &text,
        std::path::Path::new("/tmp/workflow-test.toml"),
        SecretCheck::Lenient,
    ) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}

fn shared_config() -> &'static Config {
    static CONFIG: std::sync::OnceLock<Config> = std::sync::OnceLock::new();
    CONFIG.get_or_init(config)
}

fn barnaul(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Barnaul
        .with_ymd_and_hms(y, m, d, h, min, 0)
        .unwrap()
        .with_timezone(&Utc)
}

fn notification(topic: &str, detected: DateTime<Utc>) -> Notification {
    Notification {
        source_id: Some("1".into()),
        topic: Some(topic.into()),
        location: Some("с. Волчиха".into()),
        category: None,
        source: None,
        link: Some("https://vk.com/wall-1_1".into()),
        author: Some("Иван".into()),
        detected_at: detected,
        text: "Нет воды.".into(),
        repeat: false,
        attachments: vec![],
        warnings: vec![],
    }
}

fn open(config: &Config, now: DateTime<Utc>) -> Case {
    let absences = Absences::new();
    let n = notification("ЖКХ", now);
    let class = workflow::classify(config, &n, None);
    workflow::open(
        1,
        n,
        class,
        Ctx {
            config,
            absences: &absences,
            now,
        },
    )
    .case
}

fn reply(
    config: &Config,
    case: &Case,
    role: Role,
    action: Action,
    now: DateTime<Utc>,
) -> workflow::Outcome {
    let absences = Absences::new();
    let from = match role {
        Role::Coordinator => "coord@example.ru",
        Role::Executor => "housing@example.ru",
        Role::Publisher => "press@example.ru",
        Role::Other => "economy@example.ru",
    };
    workflow::apply(
        case,
        Event::Reply {
            from: from.into(),
            role,
            action,
            text: "текст".into(),
            attachments: vec![],
        },
        Ctx {
            config,
            absences: &absences,
            now,
        },
    )
}

#[test]
fn a_new_case_goes_to_the_rule_executor_with_both_deadlines() {
    let c = config();
    // Friday 4 December 2026, 15:00: 2 h on Friday, then Monday 08-12 (4 h), 13-16 (3 h).
    let now = barnaul(2026, 12, 4, 15, 0);
    let absences = Absences::new();
    let n = notification("ЖКХ / Водоснабжение", now);
    let class = workflow::classify(&c, &n, None);
    assert!(matches!(&class, Classification::Routed { executor, .. } if executor == "housing"));
    let out = workflow::open(
        7,
        n,
        class,
        Ctx {
            config: &c,
            absences: &absences,
            now,
        },
    );
    assert_eq!(out.case.id, "OTK-7");
    assert_eq!(out.case.state, State::Assigned);
    assert_eq!(out.case.deadlines.answer, Some(barnaul(2026, 12, 7, 16, 0)));
    // 4 working hours before Monday 16:00: 13:00-16:00 (3 h) and 11:00-12:00 (1 h).
    assert_eq!(out.case.deadlines.draft, Some(barnaul(2026, 12, 7, 11, 0)));
    assert_eq!(out.notices.len(), 2);
    assert_eq!(out.notices[0].to, ["housing@example.ru"]);
    assert!(matches!(
        out.notices[0].kind,
        NoticeKind::NewCase { absent: None }
    ));
    // Cl. 5: the coordinator hears of every new case as it opens.
    assert_eq!(out.notices[1].to, ["coord@example.ru"]);
    assert_eq!(out.notices[1].kind, NoticeKind::CaseOpened);
}

#[test]
fn unmatched_and_excluded_go_to_the_coordinator() {
    let c = config();
    let now = barnaul(2026, 12, 1, 10, 0);
    let absences = Absences::new();
    let ctx = Ctx {
        config: &c,
        absences: &absences,
        now,
    };
    // A post neither a rule nor the routing model can place: no word it knows («Нет
    // воды.» alone is the model's to route to housing; between this config's two
    // executors, almost any word leans one way).
    let mut n = notification("Прочее", now);
    n.text = "Ыыыы!!!".into();
    let out = workflow::open(1, n.clone(), workflow::classify(&c, &n, None), ctx);
    assert_eq!(out.case.state, State::Unassigned);
    assert!(matches!(
        out.notices[0].kind,
        NoticeKind::NeedsAssignment { .. }
    ));
    assert_eq!(out.notices[0].to, ["coord@example.ru"]);

    let mut bad = notification("ЖКХ", now);
    bad.text = "Я тебя убью".into();
    let class = workflow::classify(&c, &bad, None);
    assert!(
        matches!(class, Classification::Excluded { .. }),
        "{class:?}"
    );
    let out = workflow::open(2, bad, class, ctx);
    assert_eq!(out.case.state, State::Excluded);
    assert!(matches!(out.notices[0].kind, NoticeKind::Excluded { .. }));
}

#[test]
fn an_absent_executor_hands_new_cases_to_the_deputy() {
    let c = config();
    let now = barnaul(2026, 12, 1, 10, 0);
    let mut absences = Absences::new();
    absences.insert(
        "housing".into(),
        chrono::NaiveDate::from_ymd_opt(2026, 12, 25).unwrap(),
    );
    let n = notification("ЖКХ", now);
    let out = workflow::open(
        1,
        n.clone(),
        workflow::classify(&c, &n, None),
        Ctx {
            config: &c,
            absences: &absences,
            now,
        },
    );
    assert_eq!(out.case.executor.as_deref(), Some("economy"));
    assert!(
        out.case
            .history
            .iter()
            .any(|h| h.event == "assigned" && h.detail.contains("on behalf of absent housing"))
    );
    assert_eq!(out.notices[0].to, ["economy@example.ru"]);
    // The deputy away too: the coordinator decides.
    absences.insert(
        "economy".into(),
        chrono::NaiveDate::from_ymd_opt(2026, 12, 25).unwrap(),
    );
    let out = workflow::open(
        2,
        n.clone(),
        workflow::classify(&c, &n, None),
        Ctx {
            config: &c,
            absences: &absences,
            now,
        },
    );
    assert_eq!(out.case.state, State::Unassigned);
}

#[test]
fn the_cycle_sets_rework_and_final_deadlines() {
    let c = config();
    let t0 = barnaul(2026, 12, 1, 9, 0);
    let case = open(&c, t0);
    let out = reply(
        &c,
        &case,
        Role::Executor,
        Action::Draft(DraftKind::Answer),
        t0 + Duration::hours(1),
    );
    assert_eq!(out.case.state, State::DraftSubmitted);
    assert!(
        out.notices
            .iter()
            .any(|n| n.kind == NoticeKind::ForApproval && n.to == ["coord@example.ru"])
    );
    // Returned at 11:30: one working hour is 11:30-12:00 and 13:00-13:30.
    let out = reply(
        &c,
        &out.case,
        Role::Coordinator,
        Action::Rework,
        barnaul(2026, 12, 1, 11, 30),
    );
    assert_eq!(out.case.state, State::Rework);
    assert_eq!(
        out.case.deadlines.rework,
        Some(barnaul(2026, 12, 1, 13, 30))
    );
    let out = reply(
        &c,
        &out.case,
        Role::Executor,
        Action::Draft(DraftKind::Interim),
        barnaul(2026, 12, 1, 13, 0),
    );
    // Interim approved on Tue 1 Dec 2026: no final clock until it goes out (cl. 9).
    let out = reply(
        &c,
        &out.case,
        Role::Coordinator,
        Action::Approve,
        barnaul(2026, 12, 1, 14, 0),
    );
    assert_eq!(out.case.state, State::InterimApproved);
    assert_eq!(out.case.deadlines.final_, None);
    // Posted Tue 1 Dec 15:00 → final draft due at 17:00 on Thu 10 Dec (7d).
    let posted = reply(
        &c,
        &out.case,
        Role::Executor,
        Action::Published,
        barnaul(2026, 12, 1, 15, 0),
    );
    assert_eq!(posted.case.state, State::InterimApproved);
    assert_eq!(
        posted.case.deadlines.final_,
        Some(barnaul(2026, 12, 10, 17, 0))
    );

    let approved_to: Vec<&String> = out
        .notices
        .iter()
        .filter(|n| n.kind == NoticeKind::Approved)
        .flat_map(|n| &n.to)
        .collect();
    assert_eq!(approved_to, ["housing@example.ru", "press@example.ru"]);
    let out = reply(
        &c,
        &posted.case,
        Role::Executor,
        Action::Draft(DraftKind::Answer),
        barnaul(2026, 12, 9, 10, 0),
    );
    // The final draft meets the final deadline; the clock runs on for approval and posting.
    assert_eq!(out.case.final_draft_at, Some(barnaul(2026, 12, 9, 10, 0)));
    let out = reply(
        &c,
        &out.case,
        Role::Coordinator,
        Action::Approve,
        barnaul(2026, 12, 9, 11, 0),
    );
    assert_eq!(out.case.state, State::Approved);
    let out = reply(
        &c,
        &out.case,
        Role::Executor,
        Action::Published,
        barnaul(2026, 12, 9, 12, 0),
    );
    assert_eq!(out.case.state, State::Closed);
}

#[test]
fn actions_that_do_not_fit_change_nothing_and_are_explained() {
    let c = config();
    let t = barnaul(2026, 12, 1, 9, 0);
    let case = open(&c, t);
    for (role, action) in [
        (Role::Coordinator, Action::Approve), // no draft pending
        (Role::Executor, Action::Approve),    // not the coordinator
        (Role::Other, Action::Draft(DraftKind::Answer)), // not the executor
        (Role::Executor, Action::Published),  // nothing approved
        (Role::Coordinator, Action::Assign("nobody".into())),
    ] {
        let out = reply(&c, &case, role.clone(), action.clone(), t);
        assert!(!out.accepted, "{role:?} {action:?} was taken");
        assert_eq!(out.case.state, case.state);
        assert_eq!(
            out.case.history.last().map(|h| h.event.as_str()),
            Some("rejected_reply")
        );
        assert_eq!(out.case.history.len(), case.history.len() + 1);
        assert!(
            matches!(out.notices.as_slice(), [n] if matches!(n.kind, NoticeKind::Refused { .. }))
        );
    }
}

#[test]
fn escalations_fire_once_follow_the_deadline_and_spare_the_absent() {
    let c = config();
    let t0 = barnaul(2026, 12, 1, 9, 0);
    let case = open(&c, t0);
    let due = workflow::schedule(&case, &c);
    // Answer Tue 09:00 + 9h = Wed 10:00 (3h Tue morning, 4h afternoon, 2h Wed);
    // draft 4h before = Tue 15:00; the reminder 2h before that = Tue 13:00.
    assert_eq!(due.len(), 2);
    assert_eq!((due[0].step, due[0].at), (0, barnaul(2026, 12, 1, 13, 0)));
    assert_eq!((due[1].step, due[1].at), (1, barnaul(2026, 12, 2, 10, 0)));

    let fire = |case: &Case, d: &workflow::Due, absences: &Absences, now| {
        workflow::apply(
            case,
            Event::Escalation {
                step: d.step,
                kind: d.kind,
                deadline: d.deadline,
            },
            Ctx {
                config: &c,
                absences,
                now,
            },
        )
    };
    let none = Absences::new();
    let out = fire(&case, &due[0], &none, due[0].at);
    assert!(out.accepted);
    assert_eq!(out.notices[0].to, ["housing@example.ru"]);
    assert_eq!(out.case.history.last().unwrap().event, "reminder");
    // Once per case and deadline.
    let again = fire(&out.case, &due[0], &none, due[0].at);
    assert!(!again.accepted && again.notices.is_empty());
    assert_eq!(workflow::schedule(&out.case, &c).len(), 1);

    // The executor away: their reminder goes to the coordinator.
    let mut away = Absences::new();
    away.insert(
        "housing".into(),
        chrono::NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
    );
    let out = fire(&case, &due[0], &away, due[0].at);
    assert_eq!(out.notices[0].to, ["coord@example.ru"]);
    assert_eq!(out.case.history.last().unwrap().event, "escalation");

    // A submitted draft cancels the draft steps; approval cancels the answer steps.
    let drafted = reply(
        &c,
        &case,
        Role::Executor,
        Action::Draft(DraftKind::Answer),
        t0 + Duration::hours(1),
    )
    .case;
    assert!(!fire(&drafted, &due[0], &none, due[0].at).accepted);
    assert_eq!(workflow::schedule(&drafted, &c).len(), 1);
    let approved = reply(
        &c,
        &drafted,
        Role::Coordinator,
        Action::Approve,
        t0 + Duration::hours(2),
    )
    .case;
    // Approved is not yet posted (cl. 6): the answer step stays until ОПУБЛИКОВАНО.
    assert_eq!(workflow::schedule(&approved, &c).len(), 1);
    let posted = reply(
        &c,
        &approved,
        Role::Executor,
        Action::Published,
        t0 + Duration::hours(3),
    )
    .case;
    assert!(workflow::schedule(&posted, &c).is_empty());
    assert!(!fire(&posted, &due[1], &none, due[1].at).accepted);

    // The answer step: coordinator and supervisor, marked late when fired after a pause.
    let out = fire(&drafted, &due[1], &none, due[1].at + Duration::hours(30));
    assert_eq!(out.notices[0].to, ["coord@example.ru", "super@example.ru"]);
    assert!(matches!(
        out.notices[0].kind,
        NoticeKind::Deadline { late: true, .. }
    ));
    assert!(out.case.history.last().unwrap().detail.contains("late"));
}

#[test]
fn a_repeat_goes_to_the_earlier_executor_and_quotes_the_earlier_answer() {
    let c = config();
    let t0 = barnaul(2026, 12, 1, 9, 0);
    let first = open(&c, t0);
    let first = reply(
        &c,
        &first,
        Role::Executor,
        Action::Draft(DraftKind::Answer),
        t0 + Duration::hours(1),
    )
    .case;
    let mut first = reply(
        &c,
        &first,
        Role::Coordinator,
        Action::Approve,
        t0 + Duration::hours(2),
    )
    .case;
    first.executor = Some("economy".into()); // whoever held it last gets the repeat
    let absences = Absences::new();
    let later = t0 + Duration::days(3);
    let mut n = notification("ЖКХ", later);
    n.source_id = Some("2".into());
    let class = workflow::classify(&c, &n, Some(&first));
    assert!(matches!(&class, Classification::Repeat { of, .. } if of == "OTK-1"));
    let out = workflow::open(
        2,
        n,
        class,
        Ctx {
            config: &c,
            absences: &absences,
            now: later,
        },
    );
    assert_eq!(out.case.repeat_of.as_deref(), Some("OTK-1"));
    assert_eq!(out.case.executor.as_deref(), Some("economy"));
    assert_eq!(out.case.earlier_answer.as_deref(), Some("текст"));
    let view = otklik_core::templates::View {
        config: &c,
        case: &out.case,
        now: later,
        recipient: "housing@example.ru",
        code: "k7m2q9xa",
        service_addr: "svc@example.ru",
    };
    let mail = otklik_core::templates::render(&view, &out.notices[0]);
    assert!(
        mail.text
            .contains("Ранее по этому вопросу был дан ответ:\n  текст"),
        "{}",
        mail.text
    );
    assert!(
        mail.subject.contains("Повторное сообщение"),
        "{}",
        mail.subject
    );
}

#[test]
fn the_repeat_window_counts_calendar_days_back_from_the_new_post() {
    let c = config(); // repeat_window defaults to 30d
    let t0 = barnaul(2026, 12, 1, 9, 0);
    let earlier = open(&c, t0);
    let at = |t| notification("ЖКХ", t);
    assert!(workflow::within_repeat_window(
        &c,
        &earlier,
        &at(t0 + Duration::days(30))
    ));
    assert!(!workflow::within_repeat_window(
        &c,
        &earlier,
        &at(t0 + Duration::days(30) + Duration::seconds(1))
    ));
    assert!(
        !workflow::within_repeat_window(&c, &earlier, &at(t0 - Duration::minutes(1))),
        "not a repeat of a later post"
    );
}

fn action_strategy() -> impl Strategy<Value = (Role, Action)> {
    let role = prop_oneof![
        Just(Role::Coordinator),
        Just(Role::Executor),
        Just(Role::Publisher),
        Just(Role::Other)
    ];
    let action = prop_oneof![
        Just(Action::Draft(DraftKind::Answer)),
        Just(Action::Draft(DraftKind::Interim)),
        Just(Action::Draft(DraftKind::Query)),
        Just(Action::Decline),
        Just(Action::Approve),
        Just(Action::Rework),
        Just(Action::Assign("housing".into())),
        Just(Action::Assign("economy".into())),
        Just(Action::Exclude),
        Just(Action::Close),
        Just(Action::Published),
    ];
    (role, action)
}

proptest! {
    /// Any sequence of replies: every event adds history, a refused one changes nothing
    /// else, the answer deadline never moves, closed cases stay closed, and an approved
    /// answer is never lost.
    #[test]
    fn random_replies_keep_the_invariants(steps in prop::collection::vec((action_strategy(), 1i64..600), 1..40)) {
        let c = shared_config();
        let mut now = barnaul(2026, 12, 1, 9, 0);
        let mut case = open(c, now);
        let answer = case.deadlines.answer;
        for ((role, action), minutes) in steps {
            now += Duration::minutes(minutes);
            let before = case.clone();
            let out = reply(c, &case, role, action, now);
            prop_assert!(out.case.history.len() > before.history.len());
            if !out.accepted {
                let mut same = out.case.clone();
                same.history.pop();
                prop_assert_eq!(&same, &before);
            }
            prop_assert_eq!(out.case.deadlines.answer, answer);
            if before.state == State::Closed {
                prop_assert_eq!(out.case.state, State::Closed);
            }
            if before.approved.is_some() {
                prop_assert!(out.case.approved.is_some());
            }
            prop_assert!(out.case.history.windows(2).all(|w| w[0].at <= w[1].at));
            case = out.case;
        }
    }
}

fn fire_due(c: &Config, case: &Case, d: &workflow::Due, now: DateTime<Utc>) -> workflow::Outcome {
    let none = Absences::new();
    workflow::apply(
        case,
        Event::Escalation {
            step: d.step,
            kind: d.kind,
            deadline: d.deadline,
        },
        Ctx {
            config: c,
            absences: &none,
            now,
        },
    )
}

/// Cl. 9: after an interim answer is approved and posted, the case runs on the final
/// deadline; the final draft does not bring the long-past answer deadline back.
#[test]
fn a_final_draft_after_an_interim_answer_is_not_overdue_on_the_answer_deadline() {
    let c = config();
    let t0 = barnaul(2026, 12, 1, 9, 0);
    let case = open(&c, t0);
    let answer_due = case.deadlines.answer.unwrap();
    let step = |case: &Case, role, action, at| reply(&c, case, role, action, at).case;
    let case = step(
        &case,
        Role::Executor,
        Action::Draft(DraftKind::Interim),
        t0 + Duration::hours(1),
    );
    let case = step(
        &case,
        Role::Coordinator,
        Action::Approve,
        t0 + Duration::hours(2),
    );
    assert_eq!(case.state, State::InterimApproved);
    // Approved, not yet posted: the answer deadline still runs.
    assert!(workflow::open_deadline(&case, otklik_core::config::DeadlineKind::Answer).is_some());
    let case = step(
        &case,
        Role::Publisher,
        Action::Published,
        t0 + Duration::hours(3),
    );
    assert_eq!(case.state, State::InterimApproved);
    assert_eq!(case.published_at, Some(t0 + Duration::hours(3)));
    let final_due = case.deadlines.final_.unwrap();
    // The final draft, days after the answer deadline.
    let late = barnaul(2026, 12, 8, 10, 0);
    assert!(late > answer_due);
    let drafted = step(
        &case,
        Role::Executor,
        Action::Draft(DraftKind::Answer),
        late,
    );
    assert_eq!(drafted.state, State::DraftSubmitted);
    assert_eq!(
        workflow::open_deadline(&drafted, otklik_core::config::DeadlineKind::Answer),
        None
    );
    assert!(
        workflow::schedule(&drafted, &c)
            .iter()
            .all(|d| d.kind != otklik_core::config::DeadlineKind::Answer)
    );
    // The answer step, fired by a timer that still had it queued, changes nothing.
    let stale = workflow::Due {
        at: answer_due,
        case: 1,
        step: 1,
        kind: otklik_core::config::DeadlineKind::Answer,
        deadline: answer_due,
    };
    let out = fire_due(&c, &drafted, &stale, late);
    assert!(!out.accepted && out.notices.is_empty());
    // The final draft met the final deadline; waiting for the coordinator, the same
    // clock runs on for her approval.
    assert_eq!(drafted.final_draft_at, Some(late));
    assert_eq!(
        workflow::open_deadline(&drafted, otklik_core::config::DeadlineKind::Final),
        Some(final_due)
    );
    // A returned final draft: nothing on the answer deadline, and the rework deadline
    // (cl. 8) is the executor's clock now, not the final one.
    let returned = step(
        &drafted,
        Role::Coordinator,
        Action::Rework,
        late + Duration::hours(1),
    );
    assert_eq!(
        workflow::open_deadline(&returned, otklik_core::config::DeadlineKind::Answer),
        None
    );
    assert_eq!(
        workflow::open_deadline(&returned, otklik_core::config::DeadlineKind::Final),
        None
    );
    assert!(
        workflow::open_deadline(&returned, otklik_core::config::DeadlineKind::Rework).is_some()
    );
    // A second interim answer does not move the final deadline (7 days from the first, once).
    let again = step(
        &returned,
        Role::Executor,
        Action::Draft(DraftKind::Interim),
        late + Duration::hours(2),
    );
    let again = step(
        &again,
        Role::Coordinator,
        Action::Approve,
        late + Duration::hours(3),
    );
    assert_eq!(again.state, State::InterimApproved);
    assert_eq!(again.deadlines.final_, Some(final_due));
    // The final answer: approved, it runs until posted; then the case is closed.
    let fin = step(
        &again,
        Role::Executor,
        Action::Published,
        late + Duration::hours(4),
    );
    let fin = step(
        &fin,
        Role::Executor,
        Action::Draft(DraftKind::Answer),
        late + Duration::hours(5),
    );
    let fin = step(
        &fin,
        Role::Coordinator,
        Action::Approve,
        late + Duration::hours(6),
    );
    assert_eq!(fin.state, State::Approved);
    assert_eq!(
        workflow::open_deadline(&fin, otklik_core::config::DeadlineKind::Final),
        Some(final_due)
    );
    assert_eq!(
        workflow::open_deadline(&fin, otklik_core::config::DeadlineKind::Answer),
        None
    );
    let fin = step(
        &fin,
        Role::Publisher,
        Action::Published,
        late + Duration::hours(7),
    );
    assert_eq!(fin.state, State::Closed);
    assert_eq!(fin.final_published_at, Some(late + Duration::hours(7)));
    assert_eq!(fin.published_at, Some(t0 + Duration::hours(3)));
}

/// Cl. 6: prepared *and* posted within the answer deadline. An approved answer keeps its
/// deadline steps until ОПУБЛИКОВАНО from the executor or the publisher.
#[test]
fn an_approved_answer_runs_until_it_is_posted() {
    let c = config();
    let t0 = barnaul(2026, 12, 1, 9, 0);
    let case = open(&c, t0);
    let step = |case: &Case, role, action, at| reply(&c, case, role, action, at).case;
    let case = step(
        &case,
        Role::Executor,
        Action::Draft(DraftKind::Answer),
        t0 + Duration::hours(1),
    );
    let approved = reply(
        &c,
        &case,
        Role::Coordinator,
        Action::Approve,
        t0 + Duration::hours(2),
    );
    assert_eq!(approved.case.state, State::Approved);
    assert_eq!(approved.case.awaiting_publication, Some(DraftKind::Answer));
    let due = workflow::schedule(&approved.case, &c);
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].kind, otklik_core::config::DeadlineKind::Answer);
    // Not posted by the deadline: the answer step fires (overdue to coordinator and supervisor).
    let out = fire_due(&c, &approved.case, &due[0], due[0].at);
    assert!(out.accepted);
    assert_eq!(out.notices[0].to, ["coord@example.ru", "super@example.ru"]);
    // The publisher confirms: closed, posted (late here).
    let posted = reply(
        &c,
        &out.case,
        Role::Publisher,
        Action::Published,
        due[0].at + Duration::hours(1),
    );
    assert!(posted.accepted);
    assert_eq!(posted.case.state, State::Closed);
    assert_eq!(
        posted.case.published_at,
        Some(due[0].at + Duration::hours(1))
    );
    assert!(workflow::schedule(&posted.case, &c).is_empty());
    // The publisher may confirm publication, nothing else.
    for action in [
        Action::Approve,
        Action::Close,
        Action::Draft(DraftKind::Answer),
    ] {
        assert!(!reply(&c, &case, Role::Publisher, action, t0).accepted);
    }
    // A clarifying question approved: nothing to post, no ОПУБЛИКОВАНО.
    let q = step(
        &open(&c, t0),
        Role::Executor,
        Action::Draft(DraftKind::Query),
        t0 + Duration::hours(1),
    );
    let q = step(
        &q,
        Role::Coordinator,
        Action::Approve,
        t0 + Duration::hours(2),
    );
    assert_eq!(q.state, State::Assigned);
    assert_eq!(q.awaiting_publication, None);
    assert!(
        !reply(
            &c,
            &q,
            Role::Publisher,
            Action::Published,
            t0 + Duration::hours(3)
        )
        .accepted
    );
}

/// A case approved before publication was tracked (no `awaiting_publication` in its JSON)
/// does not start firing answer or final steps after an upgrade.
#[test]
fn cases_approved_before_the_upgrade_fire_nothing() {
    let c = config();
    let t0 = barnaul(2026, 12, 1, 9, 0);
    let case = open(&c, t0);
    let step = |case: &Case, role, action, at| reply(&c, case, role, action, at).case;
    let case = step(
        &case,
        Role::Executor,
        Action::Draft(DraftKind::Answer),
        t0 + Duration::hours(1),
    );
    let mut legacy = step(
        &case,
        Role::Coordinator,
        Action::Approve,
        t0 + Duration::hours(2),
    );
    legacy.awaiting_publication = None;
    assert!(workflow::schedule(&legacy, &c).is_empty());
}

#[test]
fn fired_steps_keep_the_stored_form() {
    use otklik_core::config::DeadlineKind;
    use otklik_core::workflow::FiredStep;
    // The form earlier versions stored reads back, and is written back the same.
    let stored = "2:Answer:1767600000".to_string();
    let step = FiredStep::try_from(stored.clone()).expect("the stored form parses");
    assert_eq!(step.step, 2);
    assert_eq!(step.kind, DeadlineKind::Answer);
    assert_eq!(step.deadline.timestamp(), 1_767_600_000);
    assert_eq!(String::from(step), stored);
    let json = serde_json::to_string(&step).expect("serializes");
    assert_eq!(json, "\"2:Answer:1767600000\"");
    for bad in ["", "2", "2:Answer", "x:Answer:1", "2:Soon:1", "2:Final:x"] {
        assert!(FiredStep::try_from(bad.to_string()).is_err(), "{bad:?}");
    }
    // Sub-second instants are kept to the second, as stored.
    let at = barnaul(2026, 3, 2, 9, 0) + Duration::milliseconds(250);
    let fired = FiredStep::new(0, DeadlineKind::Draft, at);
    assert_eq!(FiredStep::try_from(String::from(fired)), Ok(fired));
}

/// ЗАКРЫТЬ needs a reason: a bare keyword is refused and changes nothing but the history.
#[test]
fn closing_without_a_reason_is_refused() {
    let c = config();
    let t0 = barnaul(2026, 12, 1, 9, 0);
    let case = open(&c, t0);
    let absences = Absences::new();
    let close = |text: &str| {
        workflow::apply(
            &case,
            Event::Reply {
                from: "coord@example.ru".into(),
                role: Role::Coordinator,
                action: Action::Close,
                text: text.into(),
                attachments: vec![],
            },
            Ctx {
                config: &c,
                absences: &absences,
                now: t0 + Duration::hours(1),
            },
        )
    };
    for bare in ["", "  \n "] {
        let out = close(bare);
        assert!(!out.accepted, "{bare:?}");
        assert_eq!(out.case.state, case.state);
    }
    let out = close("дубль, ответ уже дан по делу OTK-7");
    assert!(out.accepted);
    assert_eq!(out.case.state, State::Closed);
}

#[test]
fn approval_rounds_count_drafts_and_bind_the_coordinators_decision() {
    let c = config();
    let t = barnaul(2026, 12, 1, 9, 0);
    let case = open(&c, t);
    assert_eq!(case.approval_round, 0);
    let draft = Action::Draft(DraftKind::Answer);
    let first = reply(&c, &case, Role::Executor, draft.clone(), t).case;
    assert_eq!(first.approval_round, 1);
    // A second draft while the first waits: a new round.
    let second = reply(&c, &first, Role::Executor, draft.clone(), t).case;
    assert_eq!(second.approval_round, 2);
    for action in [Action::Approve, Action::Rework] {
        assert_eq!(workflow::check_round(&second, &action, Some(2), &c), Ok(()));
        for stale in [Some(1), Some(0), None] {
            let why = workflow::check_round(&second, &action, stale, &c).expect_err("stale");
            assert!(why.contains("round 2"), "{why}");
            assert!(why.contains("[OTK-1] На согласование"), "{why}");
        }
    }
    // Other actions, and states without a pending draft, are not the round's business.
    for action in [
        Action::Close,
        Action::Exclude,
        Action::Assign("economy".into()),
    ] {
        assert_eq!(workflow::check_round(&second, &action, Some(1), &c), Ok(()));
    }
    let returned = reply(&c, &second, Role::Coordinator, Action::Rework, t).case;
    assert_eq!(returned.state, State::Rework);
    assert_eq!(returned.approval_round, 2, "a return opens no round");
    assert_eq!(
        workflow::check_round(&returned, &Action::Approve, Some(1), &c),
        Ok(())
    );
    let third = reply(&c, &returned, Role::Executor, draft, t).case;
    assert_eq!(third.approval_round, 3);
    assert!(workflow::check_round(&third, &Action::Approve, Some(2), &c).is_err());
}

#[test]
fn a_case_stored_without_a_round_reads_as_round_0() {
    let c = config();
    let t = barnaul(2026, 12, 1, 9, 0);
    let case = open(&c, t);
    let mut json = serde_json::to_value(&case).unwrap();
    json.as_object_mut().unwrap().remove("approval_round");
    let back: Case = serde_json::from_value(json).unwrap();
    assert_eq!(back.approval_round, 0);
    assert_eq!(back, case);
}

/// Cl. 9: before the final draft, the final deadline's `executor` step reminds the executor;
/// once the draft is with the coordinator, the same step goes to whoever holds the next step
/// (the coordinator, then the publisher), never to the executor.
#[test]
fn the_final_steps_executor_is_whoever_holds_the_next_step() {
    use otklik_core::config::{Escalation, NotifyTarget};
    let mut c = config();
    c.escalations = vec![Escalation {
        deadline: otklik_core::config::DeadlineKind::Final,
        at: "-1h".parse().unwrap(),
        notify: vec![NotifyTarget::Executor],
    }];
    let t0 = barnaul(2026, 12, 1, 9, 0);
    let step = |case: &Case, role, action, at| reply(&c, case, role, action, at).case;
    let case = open(&c, t0);
    let case = step(&case, Role::Executor, Action::Draft(DraftKind::Interim), t0);
    let case = step(
        &case,
        Role::Coordinator,
        Action::Approve,
        t0 + Duration::hours(1),
    );
    assert!(
        workflow::schedule(&case, &c).is_empty(),
        "no final clock yet"
    );
    let case = step(
        &case,
        Role::Executor,
        Action::Published,
        t0 + Duration::hours(2),
    );
    let due = workflow::schedule(&case, &c);
    assert_eq!(due.len(), 1);
    let to = |case: &Case| {
        let d = workflow::schedule(case, &c)[0];
        let out = fire_due(&c, case, &d, d.at);
        assert!(out.accepted);
        out.notices
            .iter()
            .flat_map(|n| n.to.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(to(&case), ["housing@example.ru"]);
    let drafted = step(
        &case,
        Role::Executor,
        Action::Draft(DraftKind::Answer),
        t0 + Duration::hours(3),
    );
    assert_eq!(to(&drafted), ["coord@example.ru"]);
    let approved = step(
        &drafted,
        Role::Coordinator,
        Action::Approve,
        t0 + Duration::hours(4),
    );
    assert_eq!(to(&approved), ["press@example.ru"]);
}

/// A step whose mail cannot be built: the workflow records it in the history (the shell
/// writes no history of its own), and nothing else about the case changes.
#[test]
fn a_mail_that_cannot_be_built_is_recorded_in_the_history_only() {
    let c = config();
    let t0 = barnaul(2026, 12, 1, 9, 0);
    let case = open(&c, t0);
    let none = Absences::new();
    let later = t0 + Duration::hours(5);
    let out = workflow::apply(
        &case,
        Event::MailFailed {
            detail: "step 2: invalid address \"x@\"".into(),
        },
        Ctx {
            config: &c,
            absences: &none,
            now: later,
        },
    );
    assert!(out.accepted);
    assert!(out.notices.is_empty());
    let last = out.case.history.last().unwrap();
    assert_eq!(last.event, "mail_failed");
    assert_eq!(last.at, later);
    assert_eq!(last.by, "otklik");
    assert_eq!(last.detail, "step 2: invalid address \"x@\"");
    assert_eq!(out.case.history.len(), case.history.len() + 1);
    assert_eq!(out.case.state, case.state);
    assert_eq!(out.case.deadlines, case.deadlines);
}
