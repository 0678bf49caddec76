//! Earlier answers end to end: an archive imported into the running service (over its
//! control socket), a notification delivered through the real Postfix and Dovecot, and the
//! forward to the executor carrying the matching earlier answer; then that case's answer,
//! once approved, is offered with the next post like it.

use otklik_testkit as support;

use otklik_core::archive::import::{self, Format};
use otklik_core::workflow::State;

use otklik::control::{self, Request, Response};
use support::mailstack::MailStack;
use support::service::*;

const ARCHIVE: &str = concat!(
    r#"{"id":"A-7","topic":"ЖКХ","location":"с. Волчиха","text":"Прорвало трубу водопровода на улице Ленина, вода течёт по дороге третий день","answer":"Бригада МУП «Водоканал» заменила участок трубы на ул. Ленина, подача воды восстановлена.","date":"2025-04-15","executor":"housing"}"#,
    "\n",
    r#"{"id":"A-8","topic":"Дороги","location":"с. Волчиха","text":"Яма на дороге у школы, машины ломают колёса","answer":"Яма засыпана щебнем."}"#,
    "\n",
);

/// A notification detected an hour ago (Moscow time, as the platform writes it).
fn notification_now(stack: &MailStack, p: &People, id: &str, topic: &str, text: &str) -> Vec<u8> {
    let detected = (chrono::Utc::now() - chrono::Duration::hours(1))
        .with_timezone(&chrono_tz::Europe::Moscow)
        .format("%d.%m.%Y %H:%M");
    let body = format!(
        "Поступил новый инцидент для отработки.\n\nНомер инцидента: {id}\nДата выявления: {detected} (МСК)\nРубрика: {topic}\nЛокация: с. Волчиха\nКатегория важности: Средняя\nИсточник: ВКонтакте\nАвтор: Житель {id}\nСсылка: https://vk.com/wall-1_{id}\n\nТекст сообщения:\n{text}\n"
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_forward_carries_the_earlier_answer_and_an_approved_answer_joins_the_archive() {
    let (stack, p, _dir, svc) = start_on_shared("archive", ALWAYS_CALENDAR).await;
    let rows = import::parse_rows(ARCHIVE.as_bytes(), Format::Json).expect("archive rows");
    let state = svc.state_dir.clone();
    let answer =
        tokio::task::spawn_blocking(move || control::ask(&state, &Request::ArchiveImport { rows }))
            .await
            .expect("ask");
    assert!(
        matches!(answer, Some(Response::Imported { count: 2 })),
        "{answer:?}"
    );

    stack
        .append(
            &p.service(),
            "INBOX",
            &notification_now(
                stack,
                &p,
                "7001",
                "ЖКХ",
                "На Ленина опять прорвало трубу, вода течёт по улице, когда починят водопровод?",
            ),
        )
        .await;
    let forward = stack
        .wait_for(&p.executor("housing"), "INBOX", |m| about(m, "OTK-1"), WAIT)
        .await;
    assert!(
        forward
            .text
            .contains("заменила участок трубы на ул. Ленина"),
        "{}",
        forward.text
    );
    assert!(forward.text.contains("A-7"), "{}", forward.text);
    assert!(forward.text.contains("15.04.2025"), "{}", forward.text);
    assert!(!forward.text.contains("Яма засыпана"), "{}", forward.text);

    // The executor drafts, the coordinator approves: the answer joins the archive.
    let draft = "Здравствуйте! Аварийная бригада выехала, участок водопровода на Ленина заменён.";
    stack.reply(&p.executor("housing"), &forward, draft).await;
    let approval = mail_about(stack, &p.coordinator(), "OTK-1", "На согласование").await;
    assert!(
        approval
            .text
            .contains("заменила участок трубы на ул. Ленина"),
        "the approval request shows the earlier answer too: {}",
        approval.text
    );
    stack
        .reply(&p.coordinator(), &approval, "СОГЛАСОВАНО")
        .await;
    svc.wait_case(1, "approved", |c| c.state == State::Approved)
        .await;

    stack
        .append(
            &p.service(),
            "INBOX",
            &notification_now(
                stack,
                &p,
                "7002",
                "ЖКХ",
                "Водопровод на Ленина снова прорвало, вода течёт, аварийная бригада где?",
            ),
        )
        .await;
    let second = stack
        .wait_for(&p.executor("housing"), "INBOX", |m| about(m, "OTK-2"), WAIT)
        .await;
    assert!(second.text.contains("OTK-1"), "{}", second.text);
    assert!(second.text.contains(draft), "{}", second.text);
    svc.stop().await;
}
