//! Accountability to the letter (cl. 4, 9, 10, 13), end to end: the real service against the
//! real Dovecot and Postfix, a 24/7 calendar and second-scale deadlines.
//!
//! * an interim answer posted, the final draft in time, the coordinator approving after the
//!   final deadline: the executor's row counts the final draft on time and nothing late;
//!   a case closed with `ЗАКРЫТЬ` and a reason is closed unanswered; a draft after its
//!   deadline is late;
//! * the coordinator away: her deputy gets the request for approval and her `СОГЛАСОВАНО`
//!   approves; back (`НА МЕСТЕ`), the coordinator gets the waiting drafts again;
//! * a post the platform marks as a repeat, 40 days after the earlier one: it goes to the
//!   earlier case's executor.
//!
//! Every deadline is built from the real clock at the moment of the test (the service reads
//! it too); no timing assertions: the tests wait for mail that must come, and wait out a
//! deadline read from the case before acting after it.

use otklik_testkit as support;

use chrono::{Duration as Span, Utc};
use otklik_core::workflow::{Case, State};
use support::mailstack::{MailStack, Received};
use support::service::*;

/// The final draft is due 40 s after the interim answer is posted.
const DEADLINES: &str = r#"answer = "9h"
draft_before_answer = "4h"
rework = "1h"
final_after_interim = "40s""#;

/// A test's service, the coordinator told of each new case; `people` edits her line.
async fn start(
    prefix: &str,
    people: impl Fn(String) -> String,
) -> (&'static MailStack, People, tempfile::TempDir, Service) {
    let stack = MailStack::shared();
    let p = People::new(prefix);
    let dir = tempfile::tempdir().expect("temp dir");
    let text = config_text(
        stack,
        &p,
        &dir.path().join("state").display().to_string(),
        ALWAYS_CALENDAR,
        DEADLINES,
        "",
    );
    let text = people(text.replace(", new_cases = false", ""));
    let svc = Service::start(dir.path(), &text).await;
    (stack, p, dir, svc)
}

/// Notification `id` (topic ЖКХ → housing) by `author`, detected `ago` before now.
async fn notify(stack: &MailStack, p: &People, id: &str, author: &str, ago: Span, extra: &str) {
    let raw = notification_detected(
        stack,
        p,
        id,
        "ЖКХ",
        author,
        "Во дворе дома 5 по ул. Ленина не вывозят мусор.",
        extra,
        Utc::now() - ago,
    );
    stack.append(&p.service(), "INBOX", &raw).await;
}

/// The `n`-th (1-based) mail about `case` in `user`'s INBOX whose subject has `what`.
async fn nth_about(stack: &MailStack, user: &str, case: &str, what: &str, n: usize) -> Received {
    let all = stack
        .wait_for_count(user, "INBOX", n, WAIT)
        .await
        .into_iter()
        .filter(|m| about(m, case) && m.subject.contains(what))
        .count();
    let until = tokio::time::Instant::now() + WAIT;
    let mut seen = all;
    loop {
        let mut found: Vec<Received> = stack
            .fetch_all(user, "INBOX")
            .await
            .into_iter()
            .filter(|m| about(m, case) && m.subject.contains(what))
            .collect();
        if found.len() >= n {
            return found.swap_remove(n - 1);
        }
        seen = seen.max(found.len());
        assert!(
            tokio::time::Instant::now() < until,
            "only {seen} mail(s) «{what}» about {case} for {user}, not {n}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// The report over today's cases as the service would build it now.
fn report_row(svc: &Service, cases: &[Case], executor: &str) -> otklik_core::report::Row {
    let today = Utc::now().date_naive();
    let rows = otklik_core::report::build_at(
        &svc.config,
        cases,
        today - chrono::Days::new(60),
        today,
        Some(Utc::now()),
    );
    rows.into_iter()
        .find(|r| r.executor == executor)
        .unwrap_or_else(|| panic!("no row {executor}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_final_draft_in_time_is_on_time_whatever_the_approval_and_closings_and_late_drafts_count()
{
    let (stack, p, _dir, svc) = start("acct-final", |t| t).await;
    let housing = p.executor("housing");
    notify(stack, &p, "8101", "Анна Смирнова", Span::zero(), "").await;
    let forward = mail_about(stack, &housing, "OTK-1", "Новое сообщение").await;
    stack
        .reply(
            &housing,
            &forward,
            "ПРОМЕЖУТОЧНЫЙ\nПроверяем, ответим в течение недели.",
        )
        .await;
    let request = mail_about(stack, &p.coordinator(), "OTK-1", "На согласование").await;
    stack.reply(&p.coordinator(), &request, "СОГЛАСОВАНО").await;
    let approved = mail_about(stack, &housing, "OTK-1", "Согласовано").await;
    let c = svc
        .wait_case(1, "interim approved", |c| c.state == State::InterimApproved)
        .await;
    assert_eq!(
        c.deadlines.final_, None,
        "no final clock before the posting"
    );
    stack
        .reply(
            &housing,
            &approved,
            "ОПУБЛИКОВАНО https://vk.com/wall-1_8101?reply=1",
        )
        .await;
    let c = svc
        .wait_case(1, "interim posted", |c| c.deadlines.final_.is_some())
        .await;
    let posted = c.published_at.expect("posted");
    let final_due = c.deadlines.final_.expect("final deadline");
    assert_eq!(
        final_due,
        posted + Span::seconds(40),
        "40 s from the posting"
    );

    // The final draft, at once: it reaches the coordinator well within the 40 s.
    stack
        .reply(
            &housing,
            &approved,
            "Мусор вывезен, график вывоза восстановлен.",
        )
        .await;
    let c = svc
        .wait_case(1, "final draft", |c| c.final_draft_at.is_some())
        .await;
    assert!(
        c.final_draft_at <= Some(final_due),
        "the final draft came too late for this test: {c:#?}"
    );
    // The coordinator approves only after the final deadline has passed.
    let for_final = nth_about(stack, &p.coordinator(), "OTK-1", "На согласование", 2).await;
    if let Ok(wait) = (final_due + Span::seconds(2) - Utc::now()).to_std() {
        tokio::time::sleep(wait).await;
    }
    stack
        .reply(&p.coordinator(), &for_final, "СОГЛАСОВАНО")
        .await;
    let c = svc
        .wait_case(1, "final approved", |c| c.state == State::Approved)
        .await;
    assert!(c.final_approved_at > Some(final_due), "{c:#?}");

    // ЗАКРЫТЬ with a reason: closed unanswered, the reason kept.
    notify(stack, &p, "8102", "Пётр Иванов", Span::zero(), "").await;
    let opened = mail_about(stack, &p.coordinator(), "OTK-2", "Новое дело").await;
    stack
        .reply(&p.coordinator(), &opened, "ЗАКРЫТЬ автор удалил пост")
        .await;
    svc.wait_case(2, "closed", |c| c.state == State::Closed)
        .await;

    // A post detected two days ago: its draft deadline long past; the draft is late.
    notify(stack, &p, "8103", "Ольга Кузьмина", Span::days(2), "").await;
    let late = mail_about(stack, &housing, "OTK-3", "Новое сообщение").await;
    stack
        .reply(&housing, &late, "Здравствуйте! Мусор вывезут сегодня.")
        .await;
    svc.wait_case(3, "draft", |c| c.first_draft_at.is_some())
        .await;

    let cases = svc.cases().await;
    let row = report_row(&svc, &cases, "housing");
    assert_eq!(
        (
            row.final_draft_on_time,
            row.final_draft_late,
            row.final_late
        ),
        (1, 0, 0),
        "{row:#?}"
    );
    assert_eq!(
        (row.answered_late, row.posted_late, row.rework_late),
        (0, 0, 0),
        "{row:#?}"
    );
    assert_eq!((row.draft_on_time, row.draft_late), (1, 1), "{row:#?}");
    assert_eq!(
        (row.closed_unanswered, row.arrived_late),
        (1, 1),
        "{row:#?}"
    );
    assert_eq!(row.closed_reasons, ["OTK-2: автор удалил пост"], "{row:#?}");

    // The supervisor's ОТЧЁТ by mail says the same: the closed case with its reason under
    // the table, and the new columns in the CSV.
    let today = Utc::now().date_naive();
    let period = format!(
        "{}-{}",
        (today - chrono::Days::new(3)).format("%d.%m.%Y"),
        today.format("%d.%m.%Y")
    );
    let ask = stack.compose(
        &p.supervisor(),
        &[&p.service()],
        &format!("ОТЧЁТ {period}"),
        "",
        &stack.new_message_id(),
        None,
    );
    to_service(stack, &p, &p.supervisor(), &ask).await;
    confirm(stack, &p.supervisor(), "ОТЧЁТ").await;
    let got = stack
        .wait_for(
            &p.supervisor(),
            "INBOX",
            |m| m.subject.contains("Отчёт за"),
            WAIT,
        )
        .await;
    assert!(
        got.text.contains("OTK-2: автор удалил пост (housing)"),
        "{}",
        got.text
    );
    let msg = mail_parser::MessageParser::default()
        .parse(&got.raw)
        .expect("a message");
    let csv = msg
        .parts
        .iter()
        .find(|part| {
            use mail_parser::MimeHeaders;
            part.content_type()
                .is_some_and(|t| t.subtype() == Some("csv"))
        })
        .map(|part| String::from_utf8_lossy(part.contents()).to_string())
        .expect("a CSV");
    let mut lines = csv.trim_start_matches('\u{feff}').lines();
    let header: Vec<&str> = lines.next().expect("a header").split(';').collect();
    let housing: Vec<&str> = lines
        .find(|l| l.starts_with("housing;"))
        .expect("housing's row")
        .split(';')
        .collect();
    let cell = |name: &str| {
        let i = header.iter().position(|h| *h == name).expect(name);
        housing[i]
    };
    assert_eq!(cell("Проект с опозданием"), "1");
    assert_eq!(cell("Окончательный проект в срок (п. 9)"), "1");
    assert_eq!(cell("Окончательный проект с опозданием"), "0");
    assert_eq!(cell("Окончательный ответ с опозданием"), "0");
    assert_eq!(cell("Закрыто без ответа"), "1");
    svc.stop().await;
}

/// Adds `extra` (`, key = value`) to the coordinator's inline table in the config text.
fn coordinator_with(text: String, extra: &str) -> String {
    let (head, tail) = text.split_once("\nsupervisor").expect("people");
    let head = head.trim_end().strip_suffix('}').expect("inline table");
    format!("{head}{extra} }}\nsupervisor{tail}")
}

/// A new message (no case) from `from` to the service.
async fn write(stack: &MailStack, p: &People, from: &str, subject: &str) {
    let raw = stack.compose(
        from,
        &[&p.service()],
        subject,
        "",
        &stack.new_message_id(),
        None,
    );
    to_service(stack, p, from, &raw).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_the_coordinator_is_away_by_config_her_deputy_approves() {
    let today = Utc::now().date_naive();
    let away = format!(
        ", deputy = \"economy\", absent = [\"{}..{}\"]",
        today - chrono::Days::new(1),
        today + chrono::Days::new(1)
    );
    let (stack, p, _dir, svc) = start("acct-deputy", |t| coordinator_with(t, &away)).await;
    let housing = p.executor("housing");
    let economy = p.executor("economy");
    notify(stack, &p, "8201", "Анна Смирнова", Span::zero(), "").await;
    let forward = mail_about(stack, &housing, "OTK-1", "Новое сообщение").await;
    // The new-case notice goes to the deputy.
    mail_about(stack, &economy, "OTK-1", "Новое дело").await;
    stack
        .reply(&housing, &forward, "Здравствуйте! Мусор вывезут сегодня.")
        .await;
    let request = mail_about(stack, &economy, "OTK-1", "На согласование").await;
    stack.reply(&economy, &request, "СОГЛАСОВАНО").await;
    let c = svc
        .wait_case(1, "approved", |c| c.state == State::Approved)
        .await;
    let approved = c
        .history
        .iter()
        .find(|h| h.event == "approved")
        .expect("approved entry");
    assert_eq!(approved.by, stack.addr(&economy), "{:#?}", c.history);
    // The coordinator got neither the notice nor the request.
    let coordinator_mail = stack.fetch_all(&p.coordinator(), "INBOX").await;
    assert!(
        coordinator_mail.iter().all(|m| !about(m, "OTK-1")),
        "{:?}",
        coordinator_mail
            .iter()
            .map(|m| &m.subject)
            .collect::<Vec<_>>()
    );
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_coordinator_away_by_mail_and_back_gets_the_waiting_drafts_again() {
    let (stack, p, _dir, svc) = start("acct-back", |t| {
        coordinator_with(t, ", deputy = \"economy\"")
    })
    .await;
    let housing = p.executor("housing");
    let economy = p.executor("economy");
    let until = (Utc::now() + Span::days(7)).format("%d.%m.%Y");
    write(
        stack,
        &p,
        &p.coordinator(),
        &format!("ОТСУТСТВУЮ ДО {until}"),
    )
    .await;
    confirm(stack, &p.coordinator(), "ОТСУТСТВУЮ ДО").await;
    stack
        .wait_for(
            &economy,
            "INBOX",
            |m| m.subject.contains("Замещение координатора"),
            WAIT,
        )
        .await;
    // Case 1: the deputy returns the draft; case 2's draft waits for approval.
    notify(stack, &p, "8401", "Анна Смирнова", Span::zero(), "").await;
    let first = mail_about(stack, &housing, "OTK-1", "Новое сообщение").await;
    stack.reply(&housing, &first, "Мусор вывезут.").await;
    let request = mail_about(stack, &economy, "OTK-1", "На согласование").await;
    stack
        .reply(&economy, &request, "ДОРАБОТАТЬ\nУкажите срок.")
        .await;
    svc.wait_case(1, "rework", |c| c.state == State::Rework)
        .await;
    notify(stack, &p, "8402", "Пётр Иванов", Span::zero(), "").await;
    let second = mail_about(stack, &housing, "OTK-2", "Новое сообщение").await;
    stack
        .reply(
            &housing,
            &second,
            "Здравствуйте! Дорогу отремонтируют в мае.",
        )
        .await;
    mail_about(stack, &economy, "OTK-2", "На согласование").await;
    assert!(
        stack
            .fetch_all(&p.coordinator(), "INBOX")
            .await
            .iter()
            .all(|m| !about(m, "OTK-2")),
        "the request went to the deputy only"
    );

    // Back: the waiting draft is requested of her again, and her approval counts.
    write(stack, &p, &p.coordinator(), "НА МЕСТЕ").await;
    confirm(stack, &p.coordinator(), "НА МЕСТЕ").await;
    let again = mail_about(stack, &p.coordinator(), "OTK-2", "На согласование").await;
    assert!(
        again.text.contains("Дорогу отремонтируют в мае."),
        "{}",
        again.text
    );
    stack.reply(&p.coordinator(), &again, "СОГЛАСОВАНО").await;
    let c = svc
        .wait_case(2, "approved", |c| c.state == State::Approved)
        .await;
    let by = &c
        .history
        .iter()
        .find(|h| h.event == "approved")
        .expect("approved")
        .by;
    assert_eq!(by, &stack.addr(&p.coordinator()));
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_platform_marked_repeat_after_40_days_goes_to_the_earlier_executor() {
    let (stack, p, _dir, svc) = start("acct-repeat", |t| t).await;
    // The earlier post, 40 days ago; the coordinator gives it to economy.
    notify(stack, &p, "8301", "Анна Смирнова", Span::days(40), "").await;
    let opened = mail_about(stack, &p.coordinator(), "OTK-1", "Новое дело").await;
    stack
        .reply(&p.coordinator(), &opened, "НАЗНАЧИТЬ economy")
        .await;
    svc.wait_case(1, "economy's", |c| c.executor.as_deref() == Some("economy"))
        .await;
    // The same author again, now, marked by the platform as a repeat: past the 30-day
    // window, still linked, and economy's.
    notify(
        stack,
        &p,
        "8302",
        "Анна Смирнова",
        Span::zero(),
        "Повторное: да",
    )
    .await;
    let c = svc.wait_case(2, "opened", |c| c.executor.is_some()).await;
    assert_eq!(c.repeat_of.as_deref(), Some("OTK-1"), "{c:#?}");
    assert_eq!(c.executor.as_deref(), Some("economy"), "{c:#?}");
    let m = mail_about(stack, &p.executor("economy"), "OTK-2", "Повторное").await;
    assert!(m.text.contains("OTK-1"), "{}", m.text);
    svc.stop().await;
}
