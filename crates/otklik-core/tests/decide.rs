//! `decide` as a table: one message and the facts the shell looked up → one decision, for
//! every rule of intake, replies and self-service. No store, no mail stack, no clock.
mod fixtures;

use chrono::{DateTime, TimeZone, Utc};
use otklik_core::auth::Secret;
use otklik_core::config::{Address, Config, SecretCheck};
use otklik_core::decide::{self, Decision, Disposition, Facts, Questions, Setting};
use otklik_core::inbound::{Automatic, Inbound};
use otklik_core::workflow::{Case, Classification, NoticeKind, State};

const COORD: &str = "coord@volchiha.example";
const HOUSING: &str = "housing@volchiha.example";
const ECONOMY: &str = "economy@volchiha.example";
const MONITOR: &str = "robot@monitoring.example";
const STRANGER: &str = "someone@mail.example";

fn config() -> Config {
    let lexicon = fixtures::root().join("config/exclude-words.txt");
    let text = format!(
        r#"
[service]
state_dir = "/nonexistent/otklik-decide"
case_prefix = "OTK"
[imap]
host = "localhost"
tls = "none"
username = "svc"
password_env = "NONE"
[smtp]
host = "localhost"
tls = "none"
from = "Обратная связь <otklik@volchiha.example>"
[calendar]
timezone = "UTC"
workdays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
hours = ["00:00-24:00"]
[people]
coordinator = {{ name = "Балакирева Ольга", email = "{COORD}" }}
supervisor = {{ name = "Шевич Наталья", email = "super@volchiha.example" }}
publisher = "press@volchiha.example"
[[executors]]
id = "housing"
name = "Шишова Татьяна Михайловна"
email = "{HOUSING}"
deputy = "economy"
[[executors]]
id = "economy"
name = "Попов Андрей"
email = "{ECONOMY}"
[[rules]]
name = "ЖКХ"
topic = ["ЖКХ*"]
executor = "housing"
[intake]
senders = ["*@monitoring.example"]
exclude_words_file = "{lexicon}"
repeat_window = "30d"
source_timezone = "Europe/Moscow"
"#,
        lexicon = lexicon.display()
    );
    match fixtures::load_str(
        &text,
        std::path::Path::new("/nonexistent/otklik.toml"),
        SecretCheck::Lenient,
    ) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap()
}

fn secret() -> Secret {
    Secret::new(vec![42; 32])
}

fn mail(from: Option<&str>, subject: &str, text: &str) -> Inbound {
    Inbound {
        message_id: Some(format!("{}@mail.example", subject.len() + text.len())),
        in_reply_to: Vec::new(),
        references: Vec::new(),
        from: from.map(|e| Address {
            name: None,
            email: e.to_string(),
        }),
        subject: subject.to_string(),
        date: Some(now()),
        automatic: None,
        text: text.to_string(),
        from_html: false,
        attachments: Vec::new(),
        auth_results: Vec::new(),
        from_encoded: None,
    }
}

fn notification(topic: &str, author: &str, text: &str) -> Inbound {
    mail(
        Some(MONITOR),
        "Новый инцидент №77",
        &format!(
            "Номер инцидента: 77\nДата выявления: 01.12.2026 10:15 (МСК)\nРубрика: {topic}\n\
             Локация: с. Волчиха\nАвтор: {author}\nСсылка: https://vk.com/wall-1_77\n\
             Текст сообщения:\n{text}\n"
        ),
    )
}

/// Decides with the facts a store holding `cases` would give.
fn run(config: &Config, m: &Inbound, facts: Facts) -> Decision {
    let secret = secret();
    let cx = Setting {
        config,
        secret: &secret,
        now: now(),
        arrival: now(),
        model: None,
    };
    decide::decide(m, &facts, &cx)
}

fn facts_for(config: &Config, m: &Inbound, cases: &[Case]) -> Facts {
    let q: Questions = decide::questions(m, config, now());
    let find = |f: &dyn Fn(&Case) -> bool| cases.iter().rev().find(|c| f(c)).cloned();
    Facts {
        case: q.case.and_then(|n| find(&|c| c.number == n)),
        same_post: q
            .source_id
            .as_ref()
            .and_then(|s| find(&|c| c.notification.source_id.as_ref() == Some(s)))
            .or_else(|| {
                q.link
                    .as_ref()
                    .and_then(|l| find(&|c| c.notification.link.as_ref() == Some(l)))
            }),
        earlier: q.author_topic.as_ref().and_then(|(a, t)| {
            find(&|c| {
                c.notification.author.as_ref() == Some(a)
                    && c.notification.topic.as_ref() == Some(t)
            })
        }),
        open_cases: if q.open_cases {
            cases
                .iter()
                .filter(|c| c.state.is_open())
                .cloned()
                .collect()
        } else {
            Vec::new()
        },
        next_case: cases.len() as u64 + 1,
        ..Facts::default()
    }
}

fn decide_in(config: &Config, m: &Inbound, cases: &[Case]) -> Decision {
    run(config, m, facts_for(config, m, cases))
}

/// As [`decide_in`], for a message whose sender is proven (confirmed by a reply to our
/// confirmation mail): the self-service requests are taken then.
fn decide_proven(config: &Config, m: &Inbound, cases: &[Case]) -> Decision {
    let mut facts = facts_for(config, m, cases);
    facts.confirmed = true;
    run(config, m, facts)
}

/// A case opened from a fresh notification, assigned to housing.
fn opened(config: &Config) -> Case {
    match decide_in(
        config,
        &notification("ЖКХ", "Иван Петров", "Нет воды."),
        &[],
    ) {
        Decision::Case { outcome, .. } => outcome.case,
        other => panic!("{other:?}"),
    }
}

/// The code `from`'s latest mail about `case` carries: the coordinator's is bound to the
/// case's approval round.
fn code_for(from: &str, case: &Case) -> String {
    if from == COORD {
        secret().round_code(case.number, from, case.approval_round)
    } else {
        secret().action_code(case.number, from)
    }
}

fn reply(from: &str, case: &Case, body: &str) -> Inbound {
    let code = code_for(from, case);
    mail(
        Some(from),
        &format!("Re: [{}] ЖКХ", case.id),
        &format!("{body}\n\n#{code}\n"),
    )
}

/// A reply with the action code in the subject (as the mailto links write it).
fn reply_code_in_subject(from: &str, case: &Case, body: &str) -> Inbound {
    let code = code_for(from, case);
    mail(Some(from), &format!("Re: [{}] ЖКХ #{code}", case.id), body)
}

fn rejected_with(d: &Decision, words: &str) {
    assert_eq!(d.disposition(), Disposition::Rejected, "{d:?}");
    assert!(d.note().contains(words), "{:?} lacks {words:?}", d.note());
}

fn refusal_notices(d: &Decision) -> Vec<String> {
    match d {
        Decision::Case { outcome, .. } => outcome
            .notices
            .iter()
            .flat_map(|n| n.to.iter().cloned())
            .collect(),
        _ => Vec::new(),
    }
}

// ---- intake ----

#[test]
fn a_notification_from_the_platform_opens_a_routed_case() {
    let c = config();
    let d = decide_in(&c, &notification("ЖКХ", "Иван", "Нет воды."), &[]);
    match &d {
        Decision::Case {
            new: true,
            class: Some(Classification::Routed { executor, .. }),
            outcome,
            ..
        } => {
            assert_eq!(executor, "housing");
            assert_eq!(outcome.case.number, 1);
            assert_eq!(outcome.case.state, State::Assigned);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(d.disposition(), Disposition::Processed);
}

#[test]
fn the_platform_may_say_auto_generated_but_a_bounce_is_no_case() {
    let c = config();
    let mut m = notification("ЖКХ", "Иван", "Нет воды.");
    m.automatic = Some(Automatic::AutoSubmitted("auto-generated".into()));
    assert!(matches!(
        decide_in(&c, &m, &[]),
        Decision::Case { new: true, .. }
    ));
    m.automatic = Some(Automatic::Bounce);
    rejected_with(&decide_in(&c, &m, &[]), "automatic message");
}

#[test]
fn a_stranger_or_nobody_may_not_open_cases() {
    let c = config();
    let mut m = notification("ЖКХ", "Иван", "Нет воды.");
    m.from = Some(Address {
        name: None,
        email: STRANGER.into(),
    });
    rejected_with(&decide_in(&c, &m, &[]), "may not open cases");
    m.from = None;
    rejected_with(&decide_in(&c, &m, &[]), "no valid From");
}

#[test]
fn our_own_mail_coming_back_is_rejected() {
    let c = config();
    let m = mail(Some("otklik@volchiha.example"), "Hello", "text");
    rejected_with(&decide_in(&c, &m, &[]), "our own message");
}

#[test]
fn a_notification_without_text_is_not_understood() {
    let c = config();
    let m = mail(Some(MONITOR), "Новый инцидент", "Рубрика: ЖКХ\n");
    rejected_with(&decide_in(&c, &m, &[]), "not understood");
}

#[test]
fn the_same_post_again_is_a_duplicate_of_its_case() {
    let c = config();
    let first = opened(&c);
    let d = decide_in(
        &c,
        &notification("ЖКХ", "Иван Петров", "Нет воды."),
        std::slice::from_ref(&first),
    );
    match &d {
        Decision::Case {
            new: false,
            outcome,
            note,
            ..
        } => {
            assert_eq!(outcome.case.number, first.number);
            assert!(note.contains("duplicate"), "{note}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_same_author_on_the_same_topic_is_a_repeat_for_the_same_executor() {
    let c = config();
    let first = opened(&c);
    let mut m = notification("ЖКХ", "Иван Петров", "Опять нет воды.");
    m.text = m
        .text
        .replace("wall-1_77", "wall-1_78")
        .replace(": 77", ": 78");
    match decide_in(&c, &m, std::slice::from_ref(&first)) {
        Decision::Case {
            new: true,
            class: Some(Classification::Repeat { of, executor, .. }),
            ..
        } => {
            assert_eq!(of, first.id);
            assert_eq!(executor.as_deref(), Some("housing"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn abuse_is_excluded_and_an_unknown_topic_is_left_to_the_coordinator() {
    let c = config();
    let d = decide_in(
        &c,
        &notification("ЖКХ", "Иван", "Я тебя убью, сволочь."),
        &[],
    );
    assert!(
        matches!(
            &d,
            Decision::Case {
                class: Some(Classification::Excluded { .. }),
                ..
            }
        ),
        "{d:?}"
    );
    let d = decide_in(&c, &notification("Космос", "Иван", "Где ракета?"), &[]);
    assert!(
        matches!(
            &d,
            Decision::Case {
                class: Some(Classification::Unmatched { .. }),
                ..
            }
        ),
        "{d:?}"
    );
}

// ---- replies ----

#[test]
fn a_reply_to_an_unknown_case_is_rejected() {
    let c = config();
    let m = mail(Some(HOUSING), "Re: [OTK-99] ЖКХ", "Ответ");
    rejected_with(&decide_in(&c, &m, &[]), "unknown case 99");
}

#[test]
fn a_reply_without_a_valid_from_is_rejected_without_an_answer() {
    let c = config();
    let case = opened(&c);
    let mut m = reply(HOUSING, &case, "Ответ");
    m.from = None;
    let d = decide_in(&c, &m, &[case]);
    rejected_with(&d, "without a valid From");
    assert!(refusal_notices(&d).is_empty());
}

#[test]
fn an_automatic_reply_is_recorded_never_answered() {
    let c = config();
    let case = opened(&c);
    let mut m = reply(HOUSING, &case, "Я в отпуске");
    m.automatic = Some(Automatic::AutoReply);
    let d = decide_in(&c, &m, &[case]);
    rejected_with(&d, "automatic reply");
    assert!(refusal_notices(&d).is_empty());
}

#[test]
fn a_reply_without_proof_is_refused_and_explained_to_the_sender() {
    let c = config();
    let case = opened(&c);
    // A configured person (an executor, not this case's) is told why.
    let m = mail(Some(ECONOMY), &format!("Re: [{}] ЖКХ", case.id), "Ответ");
    let d = decide_in(&c, &m, std::slice::from_ref(&case));
    rejected_with(&d, "does not show");
    assert_eq!(refusal_notices(&d), vec![ECONOMY.to_string()]);
    // A stranger is never answered, and the case does not grow.
    let m = mail(Some(STRANGER), &format!("Re: [{}] ЖКХ", case.id), "Ответ");
    let d = decide_in(&c, &m, &[case]);
    rejected_with(&d, "no configured person");
    assert!(matches!(d, Decision::Drop { .. }), "{d:?}");
    // The coordinator's address without the coordinator's proof is no better.
    let case = opened(&c);
    let m = mail(
        Some(COORD),
        &format!("Re: [{}] ЖКХ", case.id),
        "СОГЛАСОВАНО",
    );
    rejected_with(&decide_in(&c, &m, &[case]), "does not show");
}

#[test]
fn the_executors_draft_with_the_code_goes_to_the_coordinator() {
    let c = config();
    let case = opened(&c);
    let d = decide_in(&c, &reply(HOUSING, &case, "Воду дадут к вечеру."), &[case]);
    assert_eq!(d.disposition(), Disposition::Processed, "{d:?}");
    let case = d.case().expect("case");
    assert_eq!(case.state, State::DraftSubmitted);
    match &d {
        Decision::Case { outcome, .. } => assert!(
            outcome
                .notices
                .iter()
                .any(|n| matches!(n.kind, NoticeKind::ForApproval)
                    && n.to.contains(&COORD.to_string())),
            "{:?}",
            outcome.notices
        ),
        _ => unreachable!(),
    }
}

#[test]
fn an_empty_draft_and_a_coordinator_without_keyword_are_refused() {
    let c = config();
    let case = opened(&c);
    // The action code alone is no draft, in the body or in the subject.
    let cases = std::slice::from_ref(&case);
    rejected_with(&decide_in(&c, &reply(HOUSING, &case, ""), cases), "empty");
    rejected_with(
        &decide_in(&c, &reply_code_in_subject(HOUSING, &case, ""), cases),
        "empty",
    );
    rejected_with(
        &decide_in(&c, &reply(COORD, &case, "Хорошо"), &[case]),
        "no action keyword",
    );
}

#[test]
fn the_coordinator_approves_and_the_executor_may_not() {
    let c = config();
    let case = opened(&c);
    let drafted = decide_in(&c, &reply(HOUSING, &case, "Воду дадут."), &[case])
        .case()
        .cloned()
        .expect("case");
    let d = decide_in(
        &c,
        &reply(HOUSING, &drafted, "СОГЛАСОВАНО"),
        std::slice::from_ref(&drafted),
    );
    assert_eq!(d.disposition(), Disposition::Rejected, "{d:?}");
    let d = decide_in(&c, &reply(COORD, &drafted, "СОГЛАСОВАНО"), &[drafted]);
    assert_eq!(d.disposition(), Disposition::Processed, "{d:?}");
    assert_eq!(d.case().map(|c| c.state), Some(State::Approved));
}

// ---- self-service ----

#[test]
fn my_cases_lists_only_the_executors_own_to_their_address() {
    let c = config();
    let mine = opened(&c);
    let mut other = opened(&c);
    other.number = 2;
    other.id = "OTK-2".into();
    other.executor = Some("economy".into());
    let d = decide_proven(&c, &mail(Some(HOUSING), "МОИ ДЕЛА", ""), &[mine, other]);
    match &d {
        Decision::Service { mails, note, .. } => {
            assert_eq!(mails.len(), 1);
            assert_eq!(mails[0].0, HOUSING);
            assert!(mails[0].1.text.contains("OTK-1"));
            assert!(!mails[0].1.text.contains("OTK-2"));
            assert!(note.contains("1 to"), "{note}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn my_cases_from_a_stranger_or_a_robot_gets_nothing() {
    let c = config();
    let case = opened(&c);
    let d = decide_in(
        &c,
        &mail(Some(STRANGER), "МОИ ДЕЛА", ""),
        std::slice::from_ref(&case),
    );
    rejected_with(&d, "may not open cases");
    let mut m = mail(Some(HOUSING), "МОИ ДЕЛА", "");
    m.automatic = Some(Automatic::AutoReply);
    rejected_with(&decide_in(&c, &m, &[case]), "automatic");
}

#[test]
fn absence_needs_a_deputy_and_a_date_ahead_and_back_ends_it() {
    let c = config();
    match decide_proven(
        &c,
        &mail(Some(HOUSING), "ОТСУТСТВУЮ ДО 25.12.2026", ""),
        &[],
    ) {
        Decision::Service {
            absences, mails, ..
        } => {
            assert_eq!(
                absences,
                vec![(
                    "housing".to_string(),
                    chrono::NaiveDate::from_ymd_opt(2026, 12, 25)
                )]
            );
            let to: Vec<&str> = mails.iter().map(|(t, _)| t.as_str()).collect();
            assert_eq!(to, vec![HOUSING, COORD]);
        }
        other => panic!("{other:?}"),
    }
    match decide_proven(
        &c,
        &mail(Some(HOUSING), "ОТСУТСТВУЮ ДО 25.11.2026", ""),
        &[],
    ) {
        Decision::Service { absences, note, .. } => {
            assert!(absences.is_empty());
            assert!(note.contains("passed"), "{note}");
        }
        other => panic!("{other:?}"),
    }
    match decide_proven(
        &c,
        &mail(Some(ECONOMY), "ОТСУТСТВУЮ ДО 25.12.2026", ""),
        &[],
    ) {
        Decision::Service { absences, note, .. } => {
            assert!(absences.is_empty());
            assert!(note.contains("no deputy"), "{note}");
        }
        other => panic!("{other:?}"),
    }
    match decide_proven(&c, &mail(Some(HOUSING), "НА МЕСТЕ", ""), &[]) {
        Decision::Service { absences, .. } => {
            assert_eq!(absences, vec![("housing".to_string(), None)]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn questions_ask_only_for_what_the_message_needs() {
    let c = config();
    let n = notification("ЖКХ", "Иван", "Нет воды.");
    let q = decide::questions(&n, &c, now());
    assert_eq!(q.case, None);
    assert_eq!(q.link.as_deref(), Some("https://vk.com/wall-1_77"));
    assert_eq!(
        q.author_topic,
        Some(("Иван".to_string(), "ЖКХ".to_string()))
    );
    assert!(!q.open_cases);
    let q = decide::questions(&mail(Some(HOUSING), "Re: [OTK-5] x", "y"), &c, now());
    assert_eq!(q.case, Some(5));
    assert_eq!(q.link, None);
    let q = decide::questions(&mail(Some(HOUSING), "МОИ ДЕЛА", ""), &c, now());
    assert!(q.open_cases);
}

// ---- identity and backscatter ----

#[test]
fn a_bare_code_counts_only_when_it_is_the_senders_own() {
    let c = config();
    let case = opened(&c);
    let code = secret().action_code(case.number, HOUSING);
    let m = mail(
        Some(HOUSING),
        &format!("Re: [{}] ЖКХ", case.id),
        &format!("Воду дадут к вечеру.\n{code}\n"),
    );
    let d = decide_in(&c, &m, std::slice::from_ref(&case));
    assert_eq!(d.disposition(), Disposition::Processed, "{d:?}");
    // The code is proof, not part of the draft.
    let draft = d.case().and_then(|c| c.draft.as_ref()).expect("draft");
    assert_eq!(draft.text, "Воду дадут к вечеру.");
    // Someone else's code, bare, is no proof for this sender.
    let other = secret().action_code(case.number, COORD);
    let m = mail(
        Some(HOUSING),
        &format!("Re: [{}] ЖКХ", case.id),
        &format!("Воду дадут.\n{other}\n"),
    );
    rejected_with(
        &decide_in(&c, &m, std::slice::from_ref(&case)),
        "does not show",
    );
}

#[test]
fn only_a_few_codes_are_tried() {
    let c = config();
    let case = opened(&c);
    let code = secret().action_code(case.number, HOUSING);
    // The right code after a hundred wrong ones, each with `#`: not looked at.
    let mut body = String::from("Ответ.\n");
    for i in 0..100u32 {
        // Code-shaped (the codes' alphabet) but wrong.
        let fake: String = (0..8)
            .map(|k| char::from(b'a' + ((i / 26u32.pow(k % 2) + k) % 26) as u8))
            .collect();
        assert_ne!(fake, code);
        body.push_str(&format!("#{fake}\n"));
    }
    body.push_str(&format!("#{code}\n"));
    let m = mail(Some(HOUSING), &format!("Re: [{}] ЖКХ", case.id), &body);
    rejected_with(
        &decide_in(&c, &m, std::slice::from_ref(&case)),
        "does not show",
    );
}

#[test]
fn refusals_are_explained_once_a_day_and_a_stream_is_only_recorded() {
    let c = config();
    let mut case = opened(&c);
    let forged = mail(Some(ECONOMY), &format!("Re: [{}] ЖКХ", case.id), "Ответ");
    let mut explained = 0;
    let mut in_history = 0;
    for _ in 0..10 {
        let d = decide_in(&c, &forged, std::slice::from_ref(&case));
        assert_eq!(d.disposition(), Disposition::Rejected);
        explained += refusal_notices(&d).len();
        if let Decision::Case { outcome, .. } = d {
            in_history += 1;
            case = outcome.case;
        }
    }
    assert_eq!(explained, 1, "one explanation a day to one sender");
    assert_eq!(in_history, 3, "then only the ledger records it");
    let refusals = case
        .history
        .iter()
        .filter(|h| h.event == "rejected_reply")
        .count();
    assert_eq!(refusals, 3);
}

#[test]
fn an_auto_replied_message_is_never_a_notification() {
    let c = config();
    let mut m = notification("ЖКХ", "Иван", "Нет воды.");
    m.automatic = Some(Automatic::AutoReply);
    rejected_with(&decide_in(&c, &m, &[]), "automatic message");
}

#[test]
fn an_absence_ends_within_max_absence() {
    let c = config();
    match decide_proven(
        &c,
        &mail(Some(HOUSING), "ОТСУТСТВУЮ ДО 31.12.9999", ""),
        &[],
    ) {
        Decision::Service { absences, note, .. } => {
            assert!(absences.is_empty());
            assert!(note.contains("at most 90 days"), "{note}");
        }
        other => panic!("{other:?}"),
    }
    // 90 days ahead is still fine.
    match decide_proven(
        &c,
        &mail(Some(HOUSING), "ОТСУТСТВУЮ ДО 01.03.2027", ""),
        &[],
    ) {
        Decision::Service { absences, .. } => assert_eq!(absences.len(), 1),
        other => panic!("{other:?}"),
    }
}

/// The platform's notification as an official's mail client forwards it.
fn original_raw(from: &str) -> String {
    format!(
        "From: Инцидент Менеджмент <{from}>\r\nTo: {HOUSING}\r\nSubject: =?UTF-8?B?0J3QvtCy0YvQuSDQuNC90YbQuNC00LXQvdGC?=\r\n\
         Date: Tue, 01 Dec 2026 07:15:00 +0000\r\nMessage-ID: <orig-88@monitoring.example>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
         Номер инцидента: 88\r\nРубрика: ЖКХ / Водоснабжение\r\nЛокация: с. Волчиха\r\nАвтор: Иван\r\n\
         Ссылка: https://vk.com/wall-1_88\r\nТекст сообщения:\r\nНет воды.\r\n"
    )
}

/// Cl. 4: the platform mails the executor; the executor forwards it to the service, inline
/// (Gmail, Outlook) or as an attached message. The case opens like the original: its sender
/// checked against `intake.senders`, its time kept; the forwarder gets the number back.
#[test]
fn a_notification_forwarded_by_an_official_opens_a_case_like_the_original() {
    let c = config();
    let gmail = format!(
        "Посмотрите, пожалуйста.\n\n---------- Forwarded message ---------\nFrom: Инцидент Менеджмент <{MONITOR}>\nDate: Tue, 01 Dec 2026 07:15:00 +0000\nSubject: Новый инцидент\nTo: <{HOUSING}>\n\nНомер инцидента: 88\nРубрика: ЖКХ / Водоснабжение\nЛокация: с. Волчиха\nАвтор: Иван\nСсылка: https://vk.com/wall-1_88\nТекст сообщения:\nНет воды.\n"
    );
    let outlook = format!(
        "\nОт: Инцидент Менеджмент [mailto:{MONITOR}]\nОтправлено: 1 декабря 2026 г. 14:15\nКому: Шишова Т. М.\nТема: Новый инцидент\n\nНомер инцидента: 88\nРубрика: ЖКХ / Водоснабжение\nЛокация: с. Волчиха\nАвтор: Иван\nСсылка: https://vk.com/wall-1_88\nТекст сообщения:\nНет воды.\n"
    );
    let mut attached = mail(Some(HOUSING), "Fwd: Новый инцидент", "См. вложение.");
    attached.attachments.push(otklik_core::inbound::Attachment {
        filename: "Новый инцидент.eml".into(),
        content_type: "message/rfc822".into(),
        data: original_raw(MONITOR).into_bytes(),
        sha256: String::new(),
        size: 0,
    });
    for (how, m) in [
        (
            "gmail inline",
            mail(Some(HOUSING), "Fwd: Новый инцидент", &gmail),
        ),
        (
            "outlook inline",
            mail(Some(COORD), "FW: Новый инцидент", &outlook),
        ),
        ("attached", attached),
    ] {
        let mut facts = facts_for(&c, &m, &[]);
        assert_eq!(facts.same_post, None);
        // Its forwarder proven (here: confirmed by a reply); without, see tests/sender.rs.
        facts.confirmed = true;
        let d = run(&c, &m, facts);
        let Decision::Case { outcome, new, .. } = &d else {
            panic!("{how}: {d:?}");
        };
        assert!(new, "{how}");
        assert_eq!(
            outcome.case.notification.source_id.as_deref(),
            Some("88"),
            "{how}"
        );
        assert_eq!(outcome.case.executor.as_deref(), Some("housing"), "{how}");
        if how != "outlook inline" {
            // The original's Date (no detection label in this notification) is kept.
            assert_eq!(
                outcome.case.notification.detected_at,
                Utc.with_ymd_and_hms(2026, 12, 1, 7, 15, 0).unwrap(),
                "{how}"
            );
        }
        let forwarder = m.from.as_ref().unwrap().email.clone();
        assert!(
            outcome.notices.iter().any(|n| n.to == [forwarder.clone()]
                && n.kind
                    == otklik_core::workflow::NoticeKind::Confirmation {
                        action: "forwarded".into()
                    }),
            "{how}: {:?}",
            outcome.notices
        );
    }
    // Forwarded by a stranger, or an original not from the platform: rejected as before.
    let stranger = mail(Some(STRANGER), "Fwd: Новый инцидент", &gmail);
    assert!(matches!(
        run(&c, &stranger, Facts::default()),
        Decision::Drop { .. }
    ));
    let not_platform = mail(
        Some(HOUSING),
        "Fwd: x",
        &gmail.replace(MONITOR, "friend@mail.example"),
    );
    assert!(matches!(
        run(&c, &not_platform, facts_for(&c, &not_platform, &[])),
        Decision::Drop { .. }
    ));
}

// ---- approval rounds ----

/// The case after `from`'s reply `body` (proved with the code `from`'s latest mail carries),
/// which must be taken.
fn taken(c: &Config, case: &Case, from: &str, body: &str) -> Case {
    let d = decide_in(c, &reply(from, case, body), std::slice::from_ref(case));
    assert_eq!(d.disposition(), Disposition::Processed, "{d:?}");
    d.case().cloned().expect("case")
}

/// The coordinator's reply to the mail of approval round `round`: threaded under its
/// Message-ID, with that round's code in the subject (as the `mailto:` buttons write it).
fn coordinator_reply_in_round(case: &Case, round: u64, subject_kw: &str, body: &str) -> Inbound {
    let s = secret();
    let code = s.round_code(case.number, COORD, round);
    let mut m = mail(
        Some(COORD),
        &format!("Re: [{}] {subject_kw} #{code}", case.id),
        body,
    );
    m.in_reply_to = vec![s.message_id_in_round(case.number, COORD, 7, round, "volchiha.example")];
    m
}

fn refusal_reason(d: &Decision) -> String {
    match d {
        Decision::Case { outcome, .. } => outcome
            .notices
            .iter()
            .find_map(|n| match &n.kind {
                NoticeKind::Refused { reason, .. } => Some(reason.clone()),
                _ => None,
            })
            .unwrap_or_default(),
        _ => String::new(),
    }
}

// ---- earlier answers (the archive) ----

fn similar(id: &str, score: f64) -> otklik_core::archive::Similar {
    otklik_core::archive::Similar {
        id: id.into(),
        score,
        topic: "ЖКХ".into(),
        location: "с. Берёзовка".into(),
        text: format!("Прорвало трубу ({id})"),
        answer: format!("Трубу заменили ({id})."),
        date: chrono::NaiveDate::from_ymd_opt(2025, 4, 15),
    }
}

#[test]
fn each_draft_opens_a_new_approval_round() {
    let c = config();
    let case = opened(&c);
    assert_eq!(case.approval_round, 0);
    let first = taken(&c, &case, HOUSING, "Воду дадут к вечеру.");
    assert_eq!(first.approval_round, 1);
    let second = taken(&c, &first, HOUSING, "Воду дадут к 18:00.");
    assert_eq!(second.approval_round, 2);
    assert_eq!(second.state, State::DraftSubmitted);
}

#[test]
fn an_approval_of_an_earlier_round_is_refused_and_points_to_the_new_request() {
    let c = config();
    let case = opened(&c);
    let first = taken(&c, &case, HOUSING, "Воду дадут к вечеру.");
    let second = taken(&c, &first, HOUSING, "Воду дадут к 18:00, извините.");
    // СОГЛАСОВАНО on round 1's request (its Message-ID and its code) after round 2 came in.
    for (kw, body) in [
        ("СОГЛАСОВАНО", ""),
        ("", "ДОРАБОТАТЬ\nНе то."),
        ("", "Согласовано"),
    ] {
        let m = coordinator_reply_in_round(&second, 1, kw, body);
        let d = decide_in(&c, &m, std::slice::from_ref(&second));
        rejected_with(&d, "newer draft");
        assert_eq!(refusal_notices(&d), vec![COORD.to_string()]);
        let reason = refusal_reason(&d);
        assert!(
            reason.contains("round 2") && reason.contains("round 1"),
            "{reason}"
        );
        assert!(reason.contains("[OTK-1] На согласование"), "{reason}");
        let after = d.case().expect("case");
        assert_eq!(after.state, State::DraftSubmitted);
        assert_eq!(
            after.draft.as_ref().unwrap().text,
            "Воду дадут к 18:00, извините."
        );
        assert_eq!(after.approved, None);
        // The refusal mail is no request: it carries no round (a reply to it cannot approve).
        match &d {
            Decision::Case { outcome, .. } => assert!(
                outcome
                    .notices
                    .iter()
                    .all(|n| !matches!(n.kind, NoticeKind::Refused { round, .. } if round != 0))
            ),
            _ => unreachable!(),
        }
    }
    // The current round's request approves the draft it showed.
    let d = decide_in(
        &c,
        &coordinator_reply_in_round(&second, 2, "СОГЛАСОВАНО", ""),
        std::slice::from_ref(&second),
    );
    assert_eq!(d.disposition(), Disposition::Processed, "{d:?}");
    let approved = d.case().expect("case");
    assert_eq!(approved.state, State::Approved);
    assert_eq!(
        approved.approved.as_ref().map(|a| a.text.as_str()),
        Some("Воду дадут к 18:00, извините.")
    );
}

#[test]
fn the_message_id_alone_or_the_code_alone_tells_the_round() {
    let c = config();
    let case = opened(&c);
    let first = taken(&c, &case, HOUSING, "Первый.");
    let second = taken(&c, &first, HOUSING, "Второй.");
    let s = secret();
    // Only the old Message-ID (a client that keeps References, no code).
    let mut m = mail(Some(COORD), "Re: [OTK-1] На согласование", "СОГЛАСОВАНО");
    m.in_reply_to = vec![s.message_id_in_round(1, COORD, 3, 1, "volchiha.example")];
    rejected_with(
        &decide_in(&c, &m, std::slice::from_ref(&second)),
        "newer draft",
    );
    m.in_reply_to = vec![s.message_id_in_round(1, COORD, 9, 2, "volchiha.example")];
    assert_eq!(
        decide_in(&c, &m, std::slice::from_ref(&second)).disposition(),
        Disposition::Processed
    );
    // Only the old code, typed bare on a line of its own.
    let old = s.round_code(1, COORD, 1);
    let m = mail(
        Some(COORD),
        "Re: [OTK-1] x",
        &format!("СОГЛАСОВАНО\n{old}\n"),
    );
    rejected_with(
        &decide_in(&c, &m, std::slice::from_ref(&second)),
        "newer draft",
    );
    // A round's id forged from another round's mac proves nothing at all.
    let mut m = mail(Some(COORD), "Re: [OTK-1] x", "СОГЛАСОВАНО");
    m.in_reply_to = vec![
        s.message_id_in_round(1, COORD, 3, 1, "volchiha.example")
            .replacen(".r1.", ".r2.", 1),
    ];
    rejected_with(
        &decide_in(&c, &m, std::slice::from_ref(&second)),
        "does not show",
    );
}

#[test]
fn an_old_rounds_approval_after_a_rework_is_refused() {
    let c = config();
    let case = opened(&c);
    let first = taken(&c, &case, HOUSING, "Первый вариант.");
    let returned = taken(&c, &first, COORD, "ДОРАБОТАТЬ\nДобавьте сроки.");
    assert_eq!(returned.state, State::Rework);
    // While in rework, approving round 1 does not fit the state.
    let d = decide_in(
        &c,
        &coordinator_reply_in_round(&returned, 1, "СОГЛАСОВАНО", ""),
        std::slice::from_ref(&returned),
    );
    rejected_with(&d, "refused");
    assert_eq!(d.case().map(|c| c.state), Some(State::Rework));
    let reworked = taken(&c, &returned, HOUSING, "Второй вариант, со сроками.");
    let d = decide_in(
        &c,
        &coordinator_reply_in_round(&reworked, 1, "СОГЛАСОВАНО", ""),
        std::slice::from_ref(&reworked),
    );
    rejected_with(&d, "newer draft");
    assert_eq!(d.case().map(|c| c.state), Some(State::DraftSubmitted));
    // Other actions still prove themselves with an earlier round's mail.
    let d = decide_in(
        &c,
        &coordinator_reply_in_round(&reworked, 1, "", "ЗАКРЫТЬ дубликат OTK-7"),
        std::slice::from_ref(&reworked),
    );
    assert_eq!(d.disposition(), Disposition::Processed, "{d:?}");
    assert_eq!(d.case().map(|c| c.state), Some(State::Closed));
}

#[test]
fn a_case_written_before_rounds_approves_with_its_old_mail() {
    let c = config();
    let case = opened(&c);
    // A pending draft stored by an earlier version: no round (0), mail without rounds.
    let mut old = taken(&c, &case, HOUSING, "Старый проект.");
    old.approval_round = 0;
    let d = decide_in(
        &c,
        &reply(COORD, &old, "СОГЛАСОВАНО"),
        std::slice::from_ref(&old),
    );
    assert_eq!(d.disposition(), Disposition::Processed, "{d:?}");
    assert_eq!(d.case().map(|c| c.state), Some(State::Approved));
    // A new draft on it is round 1: the old mail no longer approves.
    let newer = taken(&c, &old, HOUSING, "Новый проект.");
    assert_eq!(newer.approval_round, 1);
    let m = mail(
        Some(COORD),
        "Re: [OTK-1] x",
        &format!("СОГЛАСОВАНО\n#{}\n", secret().action_code(1, COORD)),
    );
    rejected_with(
        &decide_in(&c, &m, std::slice::from_ref(&newer)),
        "before the pending draft",
    );
}

// ---- a subject and a text that disagree ----

#[test]
fn a_keyword_conflict_is_asked_back_and_changes_nothing() {
    let c = config();
    let case = opened(&c);
    let drafted = taken(&c, &case, HOUSING, "Воду дадут к вечеру.");
    for (kw, body) in [
        ("ДОРАБОТАТЬ", "Согласовано частично, но исправьте цифры."),
        ("СОГЛАСОВАНО", "ДОРАБОТАТЬ\nИсправьте цифры."),
    ] {
        let m = coordinator_reply_in_round(&drafted, 1, kw, body);
        let d = decide_in(&c, &m, std::slice::from_ref(&drafted));
        rejected_with(&d, "your subject says");
        let reason = refusal_reason(&d);
        assert!(reason.contains(kw), "{reason}");
        assert!(reason.contains("Reply with one"), "{reason}");
        let after = d.case().expect("case");
        assert_eq!(after.state, State::DraftSubmitted);
        assert_eq!(after.deadlines.rework, None);
        assert_eq!(after.approved, None);
        // The question continues the round the reply answered: answering it still acts.
        match &d {
            Decision::Case { outcome, .. } => assert!(
                outcome
                    .notices
                    .iter()
                    .any(|n| matches!(n.kind, NoticeKind::Refused { round: 1, .. })),
                "{:?}",
                outcome.notices
            ),
            _ => unreachable!(),
        }
    }
    // Self-service too: asked back, not acted on.
    let d = decide_in(&c, &mail(Some(HOUSING), "МОИ ДЕЛА", "НА МЕСТЕ"), &[]);
    match &d {
        Decision::Service { note, absences, .. } => {
            assert!(note.contains("your subject says"), "{note}");
            assert!(absences.is_empty());
        }
        other => panic!("{other:?}"),
    }
}

// ---- codes out of the text ----

#[test]
fn a_code_quoted_in_a_mailto_link_is_cut_from_the_comments() {
    let c = config();
    let case = opened(&c);
    let drafted = taken(&c, &case, HOUSING, "Воду дадут к вечеру.");
    let code = secret().round_code(1, COORD, 1);
    let upper = code.to_uppercase();
    let body = format!(
        "ДОРАБОТАТЬ\nИсправьте цифры.\n\
         <mailto:otklik@volchiha.example?subject=%5BOTK-1%5D%20REWORK%20%23{code}>\n\
         Ссылка: mailto:otklik@volchiha.example?subject=x%23{upper}&body=y\n"
    );
    let m = mail(Some(COORD), "Re: [OTK-1] На согласование", &body);
    let d = decide_in(&c, &m, std::slice::from_ref(&drafted));
    assert_eq!(d.disposition(), Disposition::Processed, "{d:?}");
    let after = d.case().expect("case");
    assert_eq!(after.state, State::Rework);
    let comments = &after.history.last().unwrap().detail;
    assert!(comments.contains("Исправьте цифры."), "{comments}");
    assert!(
        !comments.to_lowercase().contains(&code),
        "the code leaks into the comments: {comments}"
    );
    assert!(!comments.contains("%23"), "{comments}");
}

#[test]
fn a_new_case_carries_the_earlier_answers_above_the_threshold_to_its_executor() {
    let c = config();
    let m = notification("ЖКХ", "Иван", "Нет воды.");
    let q = decide::questions(&m, &c, now());
    let asked = q.similar_to.expect("the post is asked about");
    assert_eq!(asked.text.trim(), "Нет воды.");
    assert_eq!(asked.topic, "ЖКХ");
    let mut facts = facts_for(&c, &m, &[]);
    facts.similar = vec![
        similar("A-1", 0.9),
        similar("A-2", c.archive.threshold / 2.0),
        similar("OTK-7", 0.5),
    ];
    let d = run(&c, &m, facts);
    let Decision::Case { outcome, .. } = &d else {
        panic!("{d:?}")
    };
    let ids: Vec<&str> = outcome.case.similar.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["A-1", "OTK-7"]);
    let forward = outcome
        .notices
        .iter()
        .find(|n| matches!(n.kind, otklik_core::workflow::NoticeKind::NewCase { .. }))
        .expect("the forward");
    let view = otklik_core::templates::View {
        config: &c,
        case: &outcome.case,
        now: now(),
        recipient: "x@example.org",
        code: "abc",
        service_addr: "otklik@example.org",
    };
    let mail = otklik_core::templates::render(&view, forward);
    assert!(mail.text.contains("Трубу заменили (A-1)."), "{}", mail.text);
    assert!(mail.text.contains("OTK-7"), "{}", mail.text);
    assert!(mail.text.contains("15.04.2025"), "{}", mail.text);
    assert!(mail.text.contains("90%"), "{}", mail.text);
    assert!(!mail.text.contains("A-2"), "{}", mail.text);
    // The approval request shows them too.
    let mut case = outcome.case.clone();
    case.draft = Some(otklik_core::workflow::Draft {
        kind: otklik_core::workflow::DraftKind::Answer,
        text: "Проект".into(),
        attachments: Vec::new(),
        by: "x@example.org".into(),
        at: now(),
    });
    let view = otklik_core::templates::View {
        case: &case,
        ..view
    };
    let ask = otklik_core::workflow::Notice {
        to: vec![c.people.coordinator.email.clone()],
        kind: otklik_core::workflow::NoticeKind::ForApproval,
    };
    let mail = otklik_core::templates::render(&view, &ask);
    assert!(mail.text.contains("Трубу заменили (A-1)."), "{}", mail.text);
}

#[test]
fn without_earlier_answers_the_forward_shows_none() {
    let c = config();
    let d = decide_in(&c, &notification("ЖКХ", "Иван", "Нет воды."), &[]);
    let Decision::Case { outcome, .. } = &d else {
        panic!("{d:?}")
    };
    assert!(outcome.case.similar.is_empty());
}

// ---- accountability: repeats at any age, the coordinator's deputy ----

/// A notification by `author` on ЖКХ with source id `id`, marked as a repeat or not.
fn notification_marked(id: &str, author: &str, repeat: bool) -> Inbound {
    let mark = if repeat {
        "Повторное: да\n"
    } else {
        ""
    };
    mail(
        Some(MONITOR),
        &format!("Новый инцидент №{id}"),
        &format!(
            "Номер инцидента: {id}\nДата выявления: 01.12.2026 10:15 (МСК)\nРубрика: ЖКХ\n\
             Локация: с. Волчиха\nАвтор: {author}\nСсылка: https://vk.com/wall-1_{id}\n{mark}\
             Текст сообщения:\nОпять нет воды.\n"
        ),
    )
}

/// The case [`opened`] gives, detected `days` before the new notifications, held by `executor`.
fn earlier_case(c: &Config, days: i64, executor: Option<&str>) -> Case {
    let mut earlier = opened(c);
    earlier.notification.detected_at -= chrono::Duration::days(days);
    earlier.executor = executor.map(str::to_string);
    earlier
}

#[test]
fn the_platforms_repeat_mark_links_the_earlier_case_at_any_age() {
    let c = config();
    let earlier = earlier_case(&c, 40, Some("economy"));
    let cases = std::slice::from_ref(&earlier);
    // Marked: a repeat of OTK-1 after 40 days, to its executor (not the rule's housing).
    match decide_in(&c, &notification_marked("78", "Иван Петров", true), cases) {
        Decision::Case { outcome, .. } => {
            assert_eq!(outcome.case.repeat_of.as_deref(), Some("OTK-1"));
            assert_eq!(outcome.case.executor.as_deref(), Some("economy"));
        }
        other => panic!("{other:?}"),
    }
    // Unmarked: past the 30-day window, no repeat; the rule routes it.
    match decide_in(&c, &notification_marked("78", "Иван Петров", false), cases) {
        Decision::Case { outcome, .. } => {
            assert_eq!(outcome.case.repeat_of, None);
            assert_eq!(outcome.case.executor.as_deref(), Some("housing"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_marked_repeat_of_the_same_post_under_another_source_id_is_a_repeat_not_a_duplicate() {
    let c = config();
    let earlier = earlier_case(&c, 100, Some("economy"));
    // Same link (wall-1_77) as the earlier post, another source id and another author.
    let mut m = notification_marked("79", "Пётр Иванов", true);
    m.text = m.text.replace("wall-1_79", "wall-1_77");
    match decide_in(&c, &m, std::slice::from_ref(&earlier)) {
        Decision::Case { outcome, new, .. } => {
            assert!(new);
            assert_eq!(outcome.case.repeat_of.as_deref(), Some("OTK-1"));
            assert_eq!(outcome.case.executor.as_deref(), Some("economy"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_repeat_of_a_case_nobody_held_reaches_the_coordinator_as_a_repeat() {
    let c = config();
    let earlier = earlier_case(&c, 3, None);
    match decide_in(
        &c,
        &notification_marked("80", "Иван Петров", true),
        std::slice::from_ref(&earlier),
    ) {
        Decision::Case { outcome, .. } => {
            assert_eq!(outcome.case.state, State::Unassigned);
            let reasons: Vec<&String> = outcome
                .notices
                .iter()
                .filter_map(|n| match &n.kind {
                    NoticeKind::NeedsAssignment { reason, .. } => Some(reason),
                    _ => None,
                })
                .collect();
            assert_eq!(reasons, ["repeat of OTK-1, which has no executor"]);
        }
        other => panic!("{other:?}"),
    }
}

fn config_with_deputy(extra: &str) -> Config {
    let lexicon = fixtures::root().join("config/exclude-words.txt");
    let text = format!(
        r#"
[service]
state_dir = "/nonexistent/otklik-decide"
case_prefix = "OTK"
[imap]
host = "localhost"
tls = "none"
username = "svc"
password_env = "NONE"
[smtp]
host = "localhost"
tls = "none"
from = "Обратная связь <otklik@volchiha.example>"
[calendar]
timezone = "UTC"
workdays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
hours = ["00:00-24:00"]
[people]
coordinator = {{ name = "Балакирева Ольга", email = "{COORD}", deputy = "economy"{extra} }}
[[executors]]
id = "housing"
name = "Шишова Татьяна Михайловна"
email = "{HOUSING}"
[[executors]]
id = "economy"
name = "Попов Андрей"
email = "{ECONOMY}"
[[rules]]
name = "ЖКХ"
topic = ["ЖКХ*"]
executor = "housing"
[intake]
senders = ["*@monitoring.example"]
exclude_words_file = "{lexicon}"
"#,
        lexicon = lexicon.display()
    );
    match fixtures::load_str(
        &text,
        std::path::Path::new("/nonexistent/otklik.toml"),
        SecretCheck::Lenient,
    ) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}

/// The case after `from`'s reply, which must be taken.
fn taken_with(c: &Config, m: &Inbound, case: &Case) -> (Case, Vec<otklik_core::workflow::Notice>) {
    match decide_in(c, m, std::slice::from_ref(case)) {
        Decision::Case {
            outcome,
            disposition,
            ..
        } => {
            assert_eq!(disposition, Disposition::Processed, "{:?}", outcome.notices);
            (outcome.case, outcome.notices)
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn while_the_coordinator_is_away_her_deputy_gets_the_requests_and_approves() {
    let c = config_with_deputy(", absent = [\"2026-11-30..2026-12-02\"]");
    let case = opened(&c);
    let (case, notices) = taken_with(&c, &reply(HOUSING, &case, "Воду дали."), &case);
    let for_approval: Vec<&Vec<String>> = notices
        .iter()
        .filter(|n| n.kind == NoticeKind::ForApproval)
        .map(|n| &n.to)
        .collect();
    assert_eq!(for_approval, [&vec![ECONOMY.to_string()]]);
    // The deputy's reply carries the code of the request she got (its round).
    let code = secret().round_code(case.number, ECONOMY, case.approval_round);
    let approve = mail(
        Some(ECONOMY),
        &format!("Re: [{}] ЖКХ", case.id),
        &format!("СОГЛАСОВАНО\n\n#{code}\n"),
    );
    let (approved, _) = taken_with(&c, &approve, &case);
    assert_eq!(approved.state, State::Approved);
    // Once she is back (the period over), the deputy's approval is refused.
    let back = config_with_deputy(", absent = [\"2026-11-28..2026-11-30\"]");
    let d = decide_in(&back, &approve, std::slice::from_ref(&case));
    assert_eq!(d.disposition(), Disposition::Rejected, "{d:?}");
}

#[test]
fn the_coordinator_announces_her_absence_and_return_by_mail() {
    let c = config_with_deputy("");
    let away = mail(Some(COORD), "ОТСУТСТВУЮ ДО 10.12.2026", "");
    match decide_proven(&c, &away, &[]) {
        Decision::Service {
            absences, mails, ..
        } => {
            let until = chrono::NaiveDate::from_ymd_opt(2026, 12, 10);
            assert_eq!(absences, [("@coordinator".to_string(), until)]);
            let to: Vec<&str> = mails.iter().map(|(t, _)| t.as_str()).collect();
            assert_eq!(to, [COORD, ECONOMY]);
        }
        other => panic!("{other:?}"),
    }
    // Unproven: asked to confirm first.
    assert!(matches!(
        decide_in(&c, &away, &[]),
        Decision::Confirm { .. }
    ));
    // Back: the drafts waiting for approval are requested of her again.
    let case = opened(&c);
    let (waiting, _) = taken_with(&c, &reply(HOUSING, &case, "Воду дали."), &case);
    let back = mail(Some(COORD), "НА МЕСТЕ", "");
    match decide_proven(&c, &back, std::slice::from_ref(&waiting)) {
        Decision::Service {
            absences, resend, ..
        } => {
            assert_eq!(absences, [("@coordinator".to_string(), None)]);
            assert_eq!(resend.len(), 1);
            assert_eq!(resend[0].0.number, waiting.number);
            assert_eq!(resend[0].1[0].to, [COORD]);
            assert_eq!(resend[0].1[0].kind, NoticeKind::ForApproval);
        }
        other => panic!("{other:?}"),
    }
    // Without a deputy configured, her absence is refused.
    let none = config();
    match decide_proven(&none, &away, &[]) {
        Decision::Service { absences, note, .. } => {
            assert!(absences.is_empty());
            assert!(note.contains("no deputy"), "{note}");
        }
        other => panic!("{other:?}"),
    }
}

// ---- one reading of a message, and the decision explained ----

/// A message is read once: its reply reading, the case it points to, a forwarded original
/// and the notification to open a case from; `questions` and `decide` use that reading and
/// decide as on the raw message.
#[test]
fn a_message_is_triaged_once_for_questions_and_decision() {
    use otklik_core::triage::Triage;
    let c = config();
    let from_platform = notification("ЖКХ", "Иван", "Нет воды.");
    let t = Triage::new(&from_platform, &c, now());
    assert_eq!(t.case, None);
    assert!(t.forwarded.is_none());
    let Some(Ok((n, _))) = &t.notification else {
        panic!("{:?}", t.notification)
    };
    assert_eq!(n.source_id.as_deref(), Some("77"));
    assert_eq!(
        t.questions(&c),
        decide::questions(&from_platform, &c, now())
    );
    assert_eq!(t.questions(&c).source_id.as_deref(), Some("77"));

    let to_case = mail(Some(HOUSING), "Re: [OTK-5] x", "y");
    let t = Triage::new(&to_case, &c, now());
    assert_eq!(t.case, Some(5));
    assert!(t.notification.is_none() && t.forwarded.is_none());

    let forward = format!(
        "См.\n\n---------- Forwarded message ---------\nFrom: Инцидент Менеджмент <{MONITOR}>\nDate: Tue, 01 Dec 2026 07:15:00 +0000\nSubject: Новый инцидент\nTo: <{HOUSING}>\n\nНомер инцидента: 88\nРубрика: ЖКХ\nЛокация: с. Волчиха\nАвтор: Иван\nСсылка: https://vk.com/wall-1_88\nТекст сообщения:\nНет воды.\n"
    );
    let forwarded = mail(Some(HOUSING), "Fwd: Новый инцидент", &forward);
    let t = Triage::new(&forwarded, &c, now());
    assert!(t.forwarded.is_some());
    let Some(Ok((n, _))) = &t.notification else {
        panic!("{:?}", t.notification)
    };
    assert_eq!(n.source_id.as_deref(), Some("88"));

    for m in [&from_platform, &to_case, &forwarded] {
        let mut facts = facts_for(&c, m, &[]);
        facts.confirmed = true;
        let secret = secret();
        let cx = Setting {
            config: &c,
            secret: &secret,
            now: now(),
            arrival: now(),
            model: None,
        };
        let once = decide::decide_triaged(Triage::new(m, &c, now()), &facts, &cx);
        let again = decide::decide(m, &facts, &cx);
        assert_eq!(once.note(), again.note());
        assert_eq!(once.disposition(), again.disposition());
    }
}

/// `otklik route` prints what `Decision::explain` says: the verdict and, for a new case,
/// its notification, deadlines and routing.
#[test]
fn a_decision_explains_itself() {
    let c = config();
    let m = notification("ЖКХ", "Иван", "Нет воды.");
    let facts = facts_for(&c, &m, &[]);
    let e = run(&c, &m, facts.clone()).explain(&c, &facts);
    assert_eq!(e.verdict, "routed");
    assert_eq!(e.disposition, Disposition::Processed);
    assert_eq!(e.executor.as_deref(), Some("housing"));
    assert_eq!(e.routed_by, Some("rule"));
    assert!(e.rule.is_some());
    assert_eq!(
        e.notification.as_ref().and_then(|n| n.source_id.as_deref()),
        Some("77")
    );
    let d = e.deadlines.expect("a new case's deadlines");
    assert!(d.draft.is_some() && d.answer.is_some() && d.draft < d.answer);

    let first = opened(&c);
    let again = notification("ЖКХ", "Иван Петров", "Нет воды.");
    let facts = facts_for(&c, &again, std::slice::from_ref(&first));
    let e = run(&c, &again, facts.clone()).explain(&c, &facts);
    assert_eq!(e.duplicate_of.as_deref(), Some(first.id.as_str()));
    assert!(e.notification.is_none() && e.deadlines.is_none());

    let unknown = mail(Some(HOUSING), "Re: [OTK-5] x", "y");
    let facts = facts_for(&c, &unknown, &[]);
    let e = run(&c, &unknown, facts.clone()).explain(&c, &facts);
    assert_eq!(e.verdict, "rejected: reply to unknown case 5");
    assert_eq!(e.disposition, Disposition::Rejected);
}
