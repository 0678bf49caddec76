//! The coordinator approves exactly what she read, end to end: the executor and the
//! coordinator are test actors replying over the real Postfix to the real service's mail.
//! A second draft while the first waits, a reply to an earlier round after a rework, and a
//! subject keyword that disagrees with the text's first word change nothing; each scenario
//! ends with a fresh notification still forwarded (the service goes on working).

use otklik_testkit as support;

use support::mailstack::{MailStack, Received};
use support::service::*;

use otklik_core::workflow::State;

async fn start(prefix: &str) -> (&'static MailStack, People, tempfile::TempDir, Service) {
    start_on_shared(prefix, ALWAYS_CALENDAR).await
}

/// Sends notification `id` by `author` (topic ЖКХ → housing) and returns the executor's mail
/// about case `case_id`.
async fn notify(stack: &MailStack, p: &People, id: &str, author: &str, case_id: &str) -> Received {
    stack
        .append(
            &p.service(),
            "INBOX",
            &notification(
                stack,
                p,
                id,
                "ЖКХ",
                author,
                "Во дворе дома 5 по ул. Ленина не вывозят мусор.",
                "",
            ),
        )
        .await;
    stack
        .wait_for(&p.executor("housing"), "INBOX", |m| about(m, case_id), WAIT)
        .await
}

/// The coordinator's request for approval of the draft holding `text`.
async fn request_for(stack: &MailStack, p: &People, text: &str) -> Received {
    stack
        .wait_for(
            &p.coordinator(),
            "INBOX",
            |m| about(m, "OTK-1") && m.subject.contains("На согласование") && m.text.contains(text),
            WAIT,
        )
        .await
}

/// The refusal mailed to the coordinator whose text holds `words`.
async fn refusal(stack: &MailStack, p: &People, words: &str) -> Received {
    stack
        .wait_for(
            &p.coordinator(),
            "INBOX",
            |m| about(m, "OTK-1") && m.subject.contains("не принято") && m.text.contains(words),
            WAIT,
        )
        .await
}

/// The service still works: a new notification is forwarded to its executor as case 2.
async fn still_forwards(stack: &MailStack, p: &People, svc: &Service) {
    // Another author: not a repeat of case 1.
    let m = notify(stack, p, "6002", "Пётр Иванов", "OTK-2").await;
    assert!(m.subject.contains("Новое сообщение"), "{}", m.subject);
    svc.wait_case(2, "assigned", |c| c.state == State::Assigned)
        .await;
}

fn rejected_replies(c: &otklik_core::workflow::Case) -> usize {
    c.history
        .iter()
        .filter(|h| h.event == "rejected_reply")
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_draft_makes_the_first_request_stale() {
    let (stack, p, _dir, svc) = start("trustsecond").await;
    let forward = notify(stack, &p, "6001", "Анна Смирнова", "OTK-1").await;
    let first = "Здравствуйте, Анна! Мусор вывезут завтра.";
    let second = "Здравствуйте, Анна! Мусор вывезут сегодня до 18:00.";
    stack.reply(&p.executor("housing"), &forward, first).await;
    let request1 = request_for(stack, &p, first).await;
    svc.wait_case(1, "first draft", |c| c.approval_round == 1)
        .await;
    // The executor sends a second text while the first waits.
    stack.reply(&p.executor("housing"), &forward, second).await;
    let request2 = request_for(stack, &p, second).await;
    svc.wait_case(1, "second draft", |c| c.approval_round == 2)
        .await;

    // СОГЛАСОВАНО on the first request: refused, pointing to the second.
    stack
        .reply(&p.coordinator(), &request1, "СОГЛАСОВАНО")
        .await;
    let why = refusal(stack, &p, "newer draft").await;
    assert!(why.text.contains("round 2"), "{}", why.text);
    assert!(
        why.text.contains("[OTK-1] На согласование"),
        "the new request pointed to: {}",
        why.text
    );
    let c = svc
        .wait_case(1, "refusal recorded", |c| rejected_replies(c) == 1)
        .await;
    assert_eq!(c.state, State::DraftSubmitted);
    assert_eq!(c.approved, None);
    assert_eq!(c.draft.as_ref().map(|d| d.text.as_str()), Some(second));

    // The second request's СОГЛАСОВАНО approves the second text, the one it showed.
    stack
        .reply(&p.coordinator(), &request2, "СОГЛАСОВАНО")
        .await;
    let approved = mail_about(stack, &p.executor("housing"), "OTK-1", "] Согласовано:").await;
    assert!(approved.text.contains(second), "{}", approved.text);
    assert!(!approved.text.contains(first), "{}", approved.text);
    let press = stack
        .wait_for(&p.publisher(), "INBOX", |m| about(m, "OTK-1"), WAIT)
        .await;
    assert!(press.text.contains(second), "{}", press.text);
    let c = svc
        .wait_case(1, "approved", |c| c.state == State::Approved)
        .await;
    assert_eq!(c.approved.as_ref().map(|d| d.text.as_str()), Some(second));

    still_forwards(stack, &p, &svc).await;
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_earlier_rounds_approval_after_a_rework_is_refused() {
    let (stack, p, _dir, svc) = start("trustrework").await;
    let forward = notify(stack, &p, "6001", "Анна Смирнова", "OTK-1").await;
    let first = "Мусор вывезут.";
    let reworked = "Мусор вывезут сегодня до 18:00. Диспетчерская: 2-22-22.";
    stack.reply(&p.executor("housing"), &forward, first).await;
    let request1 = request_for(stack, &p, first).await;
    stack
        .reply(
            &p.coordinator(),
            &request1,
            "ДОРАБОТАТЬ\nУкажите срок и телефон.",
        )
        .await;
    let returned = mail_about(
        stack,
        &p.executor("housing"),
        "OTK-1",
        "Возвращено на доработку",
    )
    .await;
    stack
        .reply(&p.executor("housing"), &returned, reworked)
        .await;
    let request2 = request_for(stack, &p, "2-22-22").await;
    svc.wait_case(1, "reworked draft", |c| {
        c.state == State::DraftSubmitted && c.approval_round == 2
    })
    .await;

    // An approval sent in reply to the first request, after the rework: refused.
    stack
        .reply(&p.coordinator(), &request1, "Согласовано.")
        .await;
    refusal(stack, &p, "newer draft").await;
    let c = svc
        .wait_case(1, "refusal recorded", |c| rejected_replies(c) == 1)
        .await;
    assert_eq!(c.state, State::DraftSubmitted);
    assert_eq!(c.approved, None);

    // The reworked draft's own request approves it.
    stack
        .reply(&p.coordinator(), &request2, "Согласовано.")
        .await;
    let approved = mail_about(stack, &p.executor("housing"), "OTK-1", "] Согласовано:").await;
    assert!(approved.text.contains(reworked), "{}", approved.text);
    let c = svc
        .wait_case(1, "approved", |c| c.state == State::Approved)
        .await;
    assert_eq!(c.approved.as_ref().map(|d| d.text.as_str()), Some(reworked));

    still_forwards(stack, &p, &svc).await;
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subject_and_a_text_that_disagree_are_asked_back() {
    let (stack, p, _dir, svc) = start("trustconflict").await;
    let forward = notify(stack, &p, "6001", "Анна Смирнова", "OTK-1").await;
    let draft = "Здравствуйте, Анна! Мусор вывезут сегодня до 18:00.";
    stack.reply(&p.executor("housing"), &forward, draft).await;
    let request = request_for(stack, &p, draft).await;

    // The ДОРАБОТАТЬ button (its keyword in the subject), a text that starts «Согласовано».
    stack
        .reply_with(
            &p.coordinator(),
            &request,
            "Re: [OTK-1] ДОРАБОТАТЬ",
            "Согласовано частично, но исправьте цифры.",
            true,
        )
        .await;
    let question = refusal(stack, &p, "your subject says ДОРАБОТАТЬ").await;
    assert!(question.text.contains("СОГЛАСОВАНО"), "{}", question.text);
    let c = svc
        .wait_case(1, "question recorded", |c| rejected_replies(c) == 1)
        .await;
    assert_eq!(c.state, State::DraftSubmitted, "nothing done");
    assert_eq!(c.deadlines.rework, None);
    assert_eq!(c.approved, None);
    assert!(
        !c.history
            .iter()
            .any(|h| h.event == "rework" || h.event == "approved"),
        "{:?}",
        c.history
    );
    assert!(
        stack
            .fetch_all(&p.executor("housing"), "INBOX")
            .await
            .iter()
            .all(|m| !m.subject.contains("Возвращено")),
        "the executor got nothing"
    );

    // Answering the question with one keyword acts: it continues the request's round.
    stack
        .reply(&p.coordinator(), &question, "ДОРАБОТАТЬ\nИсправьте цифры.")
        .await;
    let returned = mail_about(
        stack,
        &p.executor("housing"),
        "OTK-1",
        "Возвращено на доработку",
    )
    .await;
    assert!(
        returned.text.contains("Исправьте цифры."),
        "{}",
        returned.text
    );
    svc.wait_case(1, "rework", |c| c.state == State::Rework)
        .await;

    still_forwards(stack, &p, &svc).await;
    svc.stop().await;
}
