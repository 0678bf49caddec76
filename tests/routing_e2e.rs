//! Routing learns from the coordinator, end to end: a post no rule routes and the model is
//! unsure of reaches the coordinator with suggestions as НАЗНАЧИТЬ buttons; she presses one
//! (a new mail with the button's subject); the case goes to that executor, the example is
//! stored with the case, and the next similar post is routed by the model to the same
//! executor — a decision the starter model alone did not make.

use otklik_testkit as support;

use support::service::*;

use otklik_core::routing::{self, RouteDecision};
use otklik_core::workflow::State;

const FIRST: &str = "Квадрокоптеры жужжат, квадрокоптеров всё больше.";
const SECOND: &str = "Опять квадрокоптеры жужжат.";

fn post(text: &str, id: u64) -> otklik_core::intake::Notification {
    otklik_core::intake::Notification {
        source_id: Some(id.to_string()),
        topic: Some("Прочее".into()),
        location: Some("с. Волчиха".into()),
        category: Some("Средняя".into()),
        source: Some("ВКонтакте".into()),
        link: None,
        author: Some("Житель".into()),
        detected_at: chrono::Utc::now(),
        text: text.into(),
        repeat: false,
        attachments: vec![],
        warnings: vec![],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_coordinators_choice_teaches_the_model() {
    let (stack, p, _dir, svc) = start_on_shared("learn", ALWAYS_CALENDAR).await;
    // Before: the starter model leaves both posts to the coordinator.
    for text in [FIRST, SECOND] {
        let before = routing::route(&svc.config, None, &post(text, 2));
        assert!(
            matches!(before, RouteDecision::Coordinator { .. }),
            "{before:?}"
        );
    }

    stack
        .append(
            &p.service(),
            "INBOX",
            &notification(stack, &p, "6001", "Прочее", "Иван Петров", FIRST, ""),
        )
        .await;
    let c = svc
        .wait_case(1, "unassigned", |c| c.state == State::Unassigned)
        .await;
    assert!(c.executor.is_none());
    let ask = mail_about(stack, &p.coordinator(), "OTK-1", "").await;
    assert!(ask.text.contains("НАЗНАЧИТЬ"), "{}", ask.text);
    // The button: a mailto with the keyword and the action code in the subject.
    let subject = button(stack, &p, &ask, "[OTK-1] НАЗНАЧИТЬ economy");
    press(stack, &p, &p.coordinator(), &subject).await;
    stack
        .wait_for(&p.executor("economy"), "INBOX", |m| about(m, "OTK-1"), WAIT)
        .await;
    let c = svc
        .wait_case(1, "assigned to economy", |c| {
            c.state == State::Assigned && c.executor.as_deref() == Some("economy")
        })
        .await;
    assert_eq!(c.executor.as_deref(), Some("economy"));

    // A similar post: now the model routes it to economy by itself.
    stack
        .append(
            &p.service(),
            "INBOX",
            &notification(stack, &p, "6002", "Прочее", "Мария Орлова", SECOND, ""),
        )
        .await;
    let c2 = svc
        .wait_case(2, "routed", |c| {
            c.state != State::Unassigned || c.history.len() > 1
        })
        .await;
    assert_eq!(c2.executor.as_deref(), Some("economy"), "{:#?}", c2.history);
    let assigned = c2
        .history
        .iter()
        .find(|h| h.event == otklik_core::workflow::HistoryEvent::Assigned)
        .expect("assigned");
    assert!(
        assigned.detail.contains("routing model") && assigned.detail.contains("квадрокоптер"),
        "{}",
        assigned.detail
    );
    stack
        .wait_for(&p.executor("economy"), "INBOX", |m| about(m, "OTK-2"), WAIT)
        .await;
    svc.stop().await;
}
