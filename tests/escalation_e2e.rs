//! Deadlines that act, end to end: the real service against the real Dovecot and
//! Postfix, a 24/7 calendar and second-scale deadlines. The reminder and the escalations
//! reach the right mailboxes in ladder order, none twice, also across a restart of the
//! service in the middle; a draft submitted cancels the draft steps.
//!
//! No timing assertions: the tests wait (generously) for mail that must come, and check
//! absence only once a later event that must come after has arrived.

use otklik_testkit as support;

use std::time::Duration;

use chrono::Utc;
use support::mailstack::{MailStack, Received};
use support::service::*;

/// Default: answer 40 s after detection, draft 20 s before it (at 20 s). «Средняя»:
/// answer at 90 s, draft at 45 s (time enough to reply before the reminder at 35 s).
const DEADLINES: &str = r#"answer = "40s"
draft_before_answer = "20s"
rework = "20s"
final_after_interim = "7d"

[deadlines.categories."Средняя"]
answer = "90s"
draft_before_answer = "45s""#;

const LADDER: &str = r#"
[[escalations]]
deadline = "draft"
at = "-10s"
notify = ["executor"]

[[escalations]]
deadline = "draft"
at = "0s"
notify = ["coordinator"]

[[escalations]]
deadline = "answer"
at = "-10s"
notify = ["coordinator", "supervisor"]

[[escalations]]
deadline = "answer"
at = "0s"
notify = ["coordinator", "supervisor"]
"#;

/// A notification without a detection time: the case is detected at its Date header.
fn incident(stack: &MailStack, p: &People, id: &str, category: Option<&str>) -> Vec<u8> {
    let category = category
        .map(|c| format!("Категория важности: {c}\n"))
        .unwrap_or_default();
    let body = format!(
        "Поступил новый инцидент для отработки.\n\nНомер инцидента: {id}\nРубрика: ЖКХ\nЛокация: с. Волчиха\n{category}Источник: ВКонтакте\nАвтор: Автор {id}\nСсылка: https://vk.com/wall-1_{id}\n\nТекст сообщения:\nНет воды третий день.\n"
    );
    stack.compose(
        &p.monitor(),
        &[&p.service()],
        &format!("Новый инцидент №{id}"),
        &body,
        &stack.new_message_id(),
        None,
    )
}

/// Which deadline a reminder or escalation is about, from its subject.
fn deadline_of(m: &Received) -> &'static str {
    if m.subject.contains("срок проекта ответа") {
        "draft"
    } else if m.subject.contains("срок ответа") {
        "answer"
    } else {
        "?"
    }
}

fn step_entries(svc_case: &otklik_core::workflow::Case) -> Vec<String> {
    svc_case
        .history
        .iter()
        .filter(|h| matches!(h.event.as_str(), "reminder" | "escalation"))
        .map(|h| format!("{}: {}", h.event, h.detail))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ladder_reaches_the_right_mailboxes_in_order_once_across_a_restart() {
    let stack = MailStack::shared();
    let p = People::new("esc-ladder");
    let dir = tempfile::tempdir().unwrap();
    let text = config_text(
        stack,
        &p,
        &dir.path().join("state").display().to_string(),
        ALWAYS_CALENDAR,
        DEADLINES,
        LADDER,
    );
    let (path, config) = write_config(dir.path(), &text);
    let svc = Service::start_with(path.clone(), config.clone()).await;

    stack
        .append(&p.service(), "INBOX", &incident(stack, &p, "6101", None))
        .await;
    // The case goes to housing; 10 s before the draft deadline, the executor's reminder.
    let reminder = stack
        .wait_for(
            &p.executor("housing"),
            "INBOX",
            |m| is_deadline_mail(m, "OTK-1"),
            WAIT,
        )
        .await;
    assert!(
        reminder
            .subject
            .starts_with("[OTK-1] Напоминание: срок проекта ответа"),
        "{}",
        reminder.subject
    );
    assert!(
        reminder.text.contains("осталось рабочего времени"),
        "{}",
        reminder.text
    );
    assert_eq!(reminder.header("Auto-Submitted"), Some("auto-generated"));
    let case = svc.case(1).await;
    let detected = case.notification.detected_at;
    assert_eq!(
        case.deadlines.draft,
        Some(detected + chrono::Duration::seconds(20))
    );
    assert_eq!(
        case.deadlines.answer,
        Some(detected + chrono::Duration::seconds(40))
    );

    // The service goes down and stays down past the draft deadline: the coordinator's
    // draft step falls due while nobody runs; it fires once when the service is back.
    svc.outbox_drained(WAIT).await;
    svc.stop().await;
    let back = detected + chrono::Duration::seconds(25);
    if let Ok(wait) = (back - Utc::now()).to_std() {
        tokio::time::sleep(wait).await;
    }
    let svc = Service::start_with(path.clone(), config.clone()).await;

    // The last step of the ladder, to the coordinator and the supervisor.
    let coord = stack
        .wait_for_count(&p.coordinator(), "INBOX", 3, WAIT)
        .await;
    stack
        .wait_for_count(&p.supervisor(), "INBOX", 2, WAIT)
        .await;
    let case = svc
        .wait_case(1, "with its four steps fired", |c| c.fired.len() == 4)
        .await;
    svc.outbox_drained(WAIT).await;

    // Every step once in the history, in ladder order.
    let steps = step_entries(&case);
    assert_eq!(steps.len(), 4, "{steps:#?}");
    for (entry, (event, start)) in steps.iter().zip([
        ("reminder", "draft deadline"),
        ("escalation", "draft deadline"),
        ("escalation", "answer deadline"),
        ("escalation", "answer deadline"),
    ]) {
        assert!(
            entry.starts_with(&format!("{event}: {start}")),
            "{entry} (all: {steps:#?})"
        );
    }

    // The mailboxes: the executor got the new case and one reminder; the coordinator the
    // draft escalation, then both answer ones; the supervisor the two answer ones.
    let housing = deadline_mails(stack, &p.executor("housing"), "OTK-1").await;
    assert_eq!(housing.len(), 1, "{:#?}", subjects(&housing));
    let coord_steps: Vec<&str> = coord
        .iter()
        .filter(|m| is_deadline_mail(m, "OTK-1"))
        .map(deadline_of)
        .collect();
    assert_eq!(
        coord_steps,
        ["draft", "answer", "answer"],
        "{:#?}",
        subjects(&coord)
    );
    assert!(coord[0].subject.contains("Просрочено: срок проекта ответа"));
    assert!(coord[2].subject.contains("Просрочено: срок ответа"));
    assert!(coord[2].text.contains("просрочено на"), "{}", coord[2].text);
    let sup = deadline_mails(stack, &p.supervisor(), "OTK-1").await;
    let sup_steps: Vec<&str> = sup.iter().map(deadline_of).collect();
    assert_eq!(sup_steps, ["answer", "answer"], "{:#?}", subjects(&sup));
    // Nothing else arrived meanwhile (re-read after the outbox drained: none twice).
    assert_eq!(
        deadline_mails(stack, &p.coordinator(), "OTK-1").await.len(),
        3
    );
    assert!(
        stack
            .fetch_all(&p.executor("economy"), "INBOX")
            .await
            .is_empty()
    );

    // A second restart fires nothing again.
    svc.stop().await;
    let svc = Service::start_with(path, config).await;
    let case = svc.case(1).await;
    assert_eq!(step_entries(&case).len(), 4);
    svc.outbox_drained(WAIT).await;
    assert_eq!(
        deadline_mails(stack, &p.coordinator(), "OTK-1").await.len(),
        3
    );
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draft_submitted_cancels_the_draft_steps_but_not_the_answer_ones() {
    let stack = MailStack::shared();
    let p = People::new("esc-draft");
    let dir = tempfile::tempdir().unwrap();
    let text = config_text(
        stack,
        &p,
        &dir.path().join("state").display().to_string(),
        ALWAYS_CALENDAR,
        DEADLINES,
        LADDER,
    );
    let svc = Service::start(dir.path(), &text).await;

    // «Средняя»: draft at 45 s, its reminder at 35 s, answer at 90 s.
    stack
        .append(
            &p.service(),
            "INBOX",
            &incident(stack, &p, "6201", Some("Средняя")),
        )
        .await;
    let new_case = stack
        .wait_for(&p.executor("housing"), "INBOX", |m| about(m, "OTK-1"), WAIT)
        .await;
    stack
        .reply(
            &p.executor("housing"),
            &new_case,
            "Уважаемый автор, бригада выехала, вода будет сегодня.",
        )
        .await;
    let case = svc
        .wait_case(1, "with the draft", |c| c.first_draft_at.is_some())
        .await;
    let detected = case.notification.detected_at;
    assert_eq!(
        case.deadlines.answer,
        Some(detected + chrono::Duration::seconds(90))
    );
    // The draft must have come before its reminder was due, or this test proves nothing.
    assert!(
        case.first_draft_at
            < case
                .deadlines
                .draft
                .map(|d| d - chrono::Duration::seconds(10)),
        "the draft came after the reminder was due: {case:#?}"
    );

    // The answer deadline is still open: both answer steps come, the last one at 90 s.
    let sup = stack
        .wait_for_count(&p.supervisor(), "INBOX", 2, WAIT + Duration::from_secs(90))
        .await;
    let sup_steps: Vec<&str> = sup.iter().map(deadline_of).collect();
    assert_eq!(sup_steps, ["answer", "answer"], "{:#?}", subjects(&sup));
    let case = svc
        .wait_case(1, "with both answer steps fired", |c| c.fired.len() == 2)
        .await;
    svc.outbox_drained(WAIT).await;

    // By now the draft steps (due at 35 s and 45 s) would long have come: none did.
    let steps = step_entries(&case);
    assert_eq!(steps.len(), 2, "{steps:#?}");
    assert!(
        steps
            .iter()
            .all(|s| s.starts_with("escalation: answer deadline"))
    );
    assert!(
        deadline_mails(stack, &p.executor("housing"), "OTK-1")
            .await
            .is_empty()
    );
    let coord: Vec<&'static str> = deadline_mails(stack, &p.coordinator(), "OTK-1")
        .await
        .iter()
        .map(deadline_of)
        .collect();
    assert_eq!(coord, ["answer", "answer"]);
    svc.stop().await;
}

fn subjects(mails: &[Received]) -> Vec<String> {
    mails.iter().map(|m| m.subject.clone()).collect()
}
