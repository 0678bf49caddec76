//! The coordinator's new-case notices during a burst, without a mail stack: cases opened by
//! the handler, the outbox drained with a recording sender and the gate, the time passed in.
//! The first notice goes at once; the rest wait in the queue, across a restart, until one
//! mail listing them takes their place.

use std::sync::Mutex;
use std::sync::atomic::AtomicU64;

use chrono::{DateTime, Duration, TimeZone, Utc};
use otklik::gathering::Gate;
use otklik::handler::Intake;
use otklik::outbox::{self, Round, Sender, Unrecorded};
use otklik::smtp::SendError;
use otklik::store::Store;
use otklik_core::auth::Secret;
use otklik_core::compose::OutMail;
use otklik_core::decide::Disposition;
use otklik_testkit::offline::{DOMAIN, config};

/// Accepts everything and keeps what it was given.
#[derive(Default)]
struct Recorder(Mutex<Vec<OutMail>>);

impl Sender for Recorder {
    fn send(&self, mail: &OutMail) -> impl Future<Output = Result<(), SendError>> + Send {
        self.0.lock().unwrap().push(mail.clone());
        std::future::ready(Ok(()))
    }
}

impl Recorder {
    fn to_coordinator(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m.to == [format!("coord@{DOMAIN}")])
            .map(|m| outbox::subject(&m.raw))
            .collect()
    }
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 4, 0, 0).unwrap()
}

fn notification(id: u32) -> Vec<u8> {
    format!(
        "From: Мониторинг <robot@monitoring.example>\r\nTo: otklik@{DOMAIN}\r\n\
         Subject: Новый инцидент №{id}\r\nMessage-ID: <n{id}@monitoring.example>\r\n\
         Date: Tue, 01 Dec 2026 06:55:00 +0300\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Номер инцидента: {id}\r\nДата выявления: 01.12.2026 06:55 (МСК)\r\nРубрика: ЖКХ\r\n\
         Локация: с. Волчиха, ул. {id}\r\nКатегория важности: Средняя\r\nАвтор: Житель {id}\r\n\
         Ссылка: https://vk.com/wall-1_{id}\r\nТекст сообщения:\r\nНет воды в доме {id}.\r\n"
    )
    .into_bytes()
}

/// The service's store in `dir` and its handler, with a case opened at [`t0`] for each
/// notification numbered in `ids`.
fn opened(
    dir: &std::path::Path,
    ids: std::ops::RangeInclusive<u32>,
) -> (
    std::sync::Arc<otklik_core::config::Config>,
    Secret,
    Store,
    Intake,
) {
    let config = config(dir);
    std::fs::create_dir_all(&config.service.state_dir).unwrap();
    let secret = Secret::new(vec![7; 32]);
    let store = Store::open(&config.service.state_dir).unwrap();
    let handler = Intake::new(store.clone(), secret.clone());
    for id in ids {
        let h = handler
            .handle(&config, &notification(id), None, t0())
            .unwrap();
        assert_eq!(h.disposition, Disposition::Processed, "{h:?}");
    }
    (config, secret, store, handler)
}

async fn drain(store: &Store, sender: &Recorder, gate: &Gate, at: DateTime<Utc>) -> Round {
    let heartbeat = AtomicU64::new(0);
    let mut unrecorded = Unrecorded::default();
    outbox::drain_lanes(
        store,
        sender,
        &mut unrecorded,
        &heartbeat,
        &move || at,
        4,
        Some(gate),
    )
    .await
}

#[tokio::test]
async fn a_burst_leaves_one_notice_then_one_list_and_a_restart_loses_none() {
    let dir = tempfile::tempdir().unwrap();
    let (config, secret, store, handler) = opened(dir.path(), 9001..=9006);
    // Six forwards and six notices queued.
    assert_eq!(store.outbox_len(), 12);

    // The first notice goes at once; the five behind it wait.
    let sender = Recorder::default();
    let gate = Gate::new();
    assert_eq!(drain(&store, &sender, &gate, t0()).await, Round::Sent(7));
    let told = sender.to_coordinator();
    assert_eq!(told.len(), 1, "{told:?}");
    // Which one is up to the lanes (mails to different people leave side by side).
    assert!(told[0].contains("] Новое дело"), "{told:?}");
    let first = told[0][1..].split(']').next().unwrap().to_string();
    assert_eq!(gate.held(), 5);
    assert_eq!(store.outbox_len(), 5);

    // A restart within the minute: a new gate, the same store. Nothing is lost, and nothing
    // goes before the minute is over (when the last left is in the store).
    let gate = Gate::new();
    let later = t0() + Duration::seconds(20);
    assert_eq!(drain(&store, &sender, &gate, later).await, Round::Sent(0));
    assert_eq!(gate.held(), 5);
    let r = gate.release(&store, &config, &secret, later).unwrap();
    assert_eq!(r.again, Some(t0() + Duration::seconds(60)));
    assert!(!r.ready);
    assert_eq!(store.outbox_len(), 5);

    // The minute is over: one mail listing the five takes their place.
    let minute = t0() + Duration::seconds(61);
    let r = gate.release(&store, &config, &secret, minute).unwrap();
    assert!(r.ready && r.again.is_none(), "{r:?}");
    assert_eq!(store.outbox_len(), 1);
    assert_eq!(drain(&store, &sender, &gate, minute).await, Round::Sent(1));
    assert_eq!(store.outbox_len(), 0);
    let told = sender.to_coordinator();
    assert_eq!(told.len(), 2, "{told:?}");
    assert_eq!(told[1], "Новые дела: 5");
    let list = sender.0.lock().unwrap().last().unwrap().clone();
    let text = mail_parser::MessageParser::new()
        .parse(&list.raw)
        .and_then(|m| m.body_text(0).map(|t| t.into_owned()))
        .expect("a text part");
    for n in 1..=6 {
        let id = format!("OTK-{n}");
        assert_eq!(
            text.contains(&format!("{id} ")) || text.contains(&format!("{id}]")),
            id != first,
            "{id} (told alone: {first}):\n{text}"
        );
    }

    // A single case on a quiet minute later: its own notice, at once.
    let quiet = minute + Duration::seconds(120);
    handler
        .handle(&config, &notification(9100), None, quiet)
        .unwrap();
    assert_eq!(drain(&store, &sender, &gate, quiet).await, Round::Sent(2));
    let told = sender.to_coordinator();
    assert_eq!(told.len(), 3, "{told:?}");
    assert!(told[2].starts_with("[OTK-7] Новое дело"), "{told:?}");
}

/// A notice the gate holds back holds nobody up: the coordinator's next mail about the same
/// case (an approval request, say) leaves at once, not after the gathering minute; the
/// notice stays held and goes later in the list.
#[tokio::test]
async fn a_held_notice_does_not_hold_back_the_next_mail_about_its_case() {
    let dir = tempfile::tempdir().unwrap();
    let (_config, _secret, store, _handler) = opened(dir.path(), 9101..=9102);
    let sender = Recorder::default();
    let gate = Gate::new();
    assert_eq!(drain(&store, &sender, &gate, t0()).await, Round::Sent(3));
    assert_eq!(gate.held(), 1);
    let told = sender.to_coordinator();
    let held_case: u64 = if told[0].contains("OTK-1]") { 2 } else { 1 };
    // Another mail to the coordinator about the held notice's case, queued after it.
    let seq = store.generate_id().unwrap();
    let later = t0() + Duration::seconds(10);
    let mail = OutMail {
        seq,
        case: Some(held_case),
        message_id: format!("q{seq}@{DOMAIN}"),
        envelope_from: format!("otklik@{DOMAIN}"),
        to: vec![format!("coord@{DOMAIN}")],
        raw: format!("Subject: [OTK-{held_case}] На согласование\r\n\r\nbody\r\n").into_bytes(),
        attempts: 0,
        next_attempt: later,
        last_error: None,
        created: later,
    };
    store
        .commit(otklik::store::Commit {
            outbox: vec![mail],
            ..Default::default()
        })
        .unwrap();
    assert_eq!(drain(&store, &sender, &gate, later).await, Round::Sent(1));
    let told = sender.to_coordinator();
    assert_eq!(told.len(), 2, "{told:?}");
    assert!(told[1].contains("На согласование"), "{told:?}");
    assert_eq!(gate.held(), 1);
    assert_eq!(store.outbox_len(), 1);
}
