//! A possible repeat by another author (cl. 10), end to end against the real mail stack:
//! a burst pipe is reported and answered; another author reports the same pipe at the same
//! place under another topic; the case is routed as usual, and the coordinator's mail about
//! it flags the earlier case with a `ПОВТОР` button; she presses it (a new mail with the
//! button's subject); the case becomes a repeat, goes to the earlier case's executor and
//! quotes the earlier answer. A different problem at the same place carries no flag.

use otklik_testkit as support;

use otklik_core::workflow::State;
use support::service::*;

const PIPE: &str = "На улице Садовой прорвало водопровод, вода хлещет прямо на дорогу.";
const PIPE_AGAIN: &str =
    "Уже третий день на Садовой течёт вода из прорванной трубы, когда починят водопровод?";
const LAMPS: &str = "На Садовой не горят фонари, вечером темно, дети идут из школы в темноте.";
const ANSWER: &str = "Здравствуйте! Аварийная бригада заменила участок водопровода на Садовой.";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_author_same_problem_is_flagged_and_linked_by_one_click() {
    let (stack, p, _dir, svc) = start_on_shared("repeat", ALWAYS_CALENDAR).await;

    // The earlier case: routed to housing, drafted, approved.
    stack
        .append(
            &p.service(),
            "INBOX",
            &notification(stack, &p, "7001", "ЖКХ", "Иван Петров", PIPE, ""),
        )
        .await;
    let forward = stack
        .wait_for(&p.executor("housing"), "INBOX", |m| about(m, "OTK-1"), WAIT)
        .await;
    stack.reply(&p.executor("housing"), &forward, ANSWER).await;
    let approval = mail_about(stack, &p.coordinator(), "OTK-1", "На согласование").await;
    stack
        .reply(&p.coordinator(), &approval, "СОГЛАСОВАНО")
        .await;
    svc.wait_case(1, "approved", |c| c.approved.is_some()).await;

    // Another author, the same pipe, filed under education: routed there as usual, and the
    // coordinator (who gets no new-case mail in this config) hears of the possible repeat.
    stack
        .append(
            &p.service(),
            "INBOX",
            &notification(
                stack,
                &p,
                "7002",
                "Образование",
                "Мария Орлова",
                PIPE_AGAIN,
                "",
            ),
        )
        .await;
    let c2 = svc
        .wait_case(2, "routed", |c| c.state == State::Assigned)
        .await;
    assert_eq!(c2.executor.as_deref(), Some("education"));
    assert_eq!(c2.repeat_of, None);
    assert_eq!(
        c2.possible_repeat.as_ref().map(|p| p.of.as_str()),
        Some("OTK-1")
    );
    let notice = mail_about(stack, &p.coordinator(), "OTK-2", "возможный повтор OTK-1").await;
    assert!(notice.text.contains("Возможный повтор"), "{}", notice.text);
    let subject = button(stack, &p, &notice, "[OTK-2] ПОВТОР OTK-1");

    // A different problem at the same place, by a third author: no flag.
    stack
        .append(
            &p.service(),
            "INBOX",
            &notification(stack, &p, "7003", "ЖКХ", "Пётр Сидоров", LAMPS, ""),
        )
        .await;
    let c3 = svc
        .wait_case(3, "routed", |c| c.state == State::Assigned)
        .await;
    assert_eq!(c3.possible_repeat, None, "{:#?}", c3.history);

    // She presses the button: a new mail with the button's subject.
    press(stack, &p, &p.coordinator(), &subject).await;
    let c2 = svc.wait_case(2, "linked", |c| c.repeat_of.is_some()).await;
    assert_eq!(c2.repeat_of.as_deref(), Some("OTK-1"));
    assert_eq!(c2.executor.as_deref(), Some("housing"));
    let to_housing = mail_about(stack, &p.executor("housing"), "OTK-2", "Повторное").await;
    assert!(
        to_housing.text.contains("заменила участок водопровода"),
        "{}",
        to_housing.text
    );
    stack
        .wait_for(
            &p.executor("education"),
            "INBOX",
            |m| about(m, "OTK-2"),
            WAIT,
        )
        .await;
    // The coordinator's notice for the third case never came: it had no flag.
    let coord = stack.fetch_all(&p.coordinator(), "INBOX").await;
    assert!(
        !coord.iter().any(|m| about(m, "OTK-3")),
        "{:?}",
        coord.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    svc.stop().await;
}
