//! Judgment end to end, against the real Dovecot and Postfix: clause 12 reads a threat in a
//! verb form no word list spells out and leaves an idiom alone, and a post after either is
//! still taken in; a veiled threat no rule reads is flagged to the coordinator by the
//! clause 12 model, and her one click excludes it.
use otklik_testkit as support;

use support::service::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_threat_in_a_new_form_is_excluded_and_an_idiom_is_answered() {
    let (stack, p, _dir, svc) = start_on_shared("judge", ALWAYS_CALENDAR).await;

    // A threat: first person future of a harm verb, aimed at officials and their property.
    stack
        .append(
            &p.service(),
            "INBOX",
            &notification(
                stack,
                &p,
                "5101",
                "ЖКХ",
                "Злой",
                "Если к пятнице не дадите воду, спалю вашу администрацию вместе с главой.",
                "",
            ),
        )
        .await;
    let excl = stack
        .wait_for(&p.coordinator(), "INBOX", |m| about(m, "OTK-1"), WAIT)
        .await;
    assert!(
        excl.subject.starts_with("[OTK-1] Исключено (п. 12):"),
        "{}",
        excl.subject
    );
    let case = svc.case(1).await;
    assert_eq!(case.state, otklik_core::workflow::State::Excluded);

    // An idiom with a killing verb: a complaint to be answered, forwarded to its executor.
    stack
        .append(
            &p.service(),
            "INBOX",
            &notification(
                stack,
                &p,
                "5102",
                "ЖКХ",
                "Уставшая",
                "Убью весь день на звонки в управляющую компанию, а трубу так и не починят?",
                "",
            ),
        )
        .await;
    stack
        .wait_for(&p.executor("housing"), "INBOX", |m| about(m, "OTK-2"), WAIT)
        .await;
    let answered = svc.case(2).await;
    assert_eq!(
        answered.state,
        otklik_core::workflow::State::Assigned,
        "{:?}",
        answered.history
    );
    // The threat's case never reached an executor.
    assert!(
        stack
            .fetch_all(&p.executor("housing"), "INBOX")
            .await
            .iter()
            .all(|m| !about(m, "OTK-1"))
    );
    svc.stop().await;
}

/// A veiled threat no rule reads: the case goes on as usual, the coordinator's mail about
/// it carries the clause 12 model's flag and an `ИСКЛЮЧИТЬ` button; she presses it and the
/// case is excluded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_veiled_threat_is_flagged_to_the_coordinator_and_excluded_by_one_click() {
    let (stack, p, _dir, svc) = start_on_shared("veiled", ALWAYS_CALENDAR).await;
    stack
        .append(
            &p.service(),
            "INBOX",
            &notification(
                stack,
                &p,
                "5201",
                "ЖКХ",
                "Аноним",
                "Хорошие у вас внуки, Николай Степанович, мы их часто видим у школы. \
                 Подумайте о них, когда будете подписывать закрытие.",
                "",
            ),
        )
        .await;
    let notice = stack
        .wait_for(
            &p.coordinator(),
            "INBOX",
            |m| about(m, "OTK-1") && m.text.contains("Возможно, п. 12"),
            WAIT,
        )
        .await;
    let case = svc.case(1).await;
    assert_ne!(case.state, otklik_core::workflow::State::Excluded);
    assert!(case.possible_abuse.is_some(), "{:#?}", case.history);
    let subject = button(stack, &p, &notice, "[OTK-1] ИСКЛЮЧИТЬ");
    // She presses the button: a new mail with the button's subject.
    press(stack, &p, &p.coordinator(), &subject).await;
    svc.wait_case(1, "excluded", |c| {
        c.state == otklik_core::workflow::State::Excluded
    })
    .await;
    svc.stop().await;
}
