//! The store's own promises: numbers without gaps, the open-case count, the ledger, bytes
//! stored once, the outbox read in pages, retention, and a start that waits for the lock.

use otklik_testkit::offline;

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};

use otklik_core::auth::Secret;
use otklik_core::compose::OutMail;
use otklik_core::config::Config;
use otklik_core::decide::Disposition;
use otklik_core::inbound::{Attachment, Inbound, sha256_hex};
use otklik_core::intake::Notification;
use otklik_core::workflow::{Case, CaseDeadlines, Draft, DraftKind, State};

use otklik::control::{self, Request, Response};
use otklik::handler::Intake;
use otklik::outbox::MailState;
use otklik::store::{
    Commit, InboundRecord, MetaKey, Queued, Resend, Store, StoreError, inbound_key,
};

fn case(number: u64, state: State) -> Case {
    Case {
        number,
        id: format!("OTK-{number}"),
        state,
        executor: Some("housing".into()),
        notification: Notification {
            source_id: Some(format!("s{number}")),
            topic: Some("ЖКХ".into()),
            location: None,
            category: None,
            source: None,
            link: Some(format!("https://vk.com/wall-1_{number}")),
            author: Some("Иван".into()),
            detected_at: Utc.with_ymd_and_hms(2026, 12, 1, 3, 0, 0).unwrap(),
            text: "Нет воды.".into(),
            repeat: false,
            attachments: vec![],
            warnings: vec![],
        },
        repeat_of: None,
        earlier_answer: None,
        similar: Vec::new(),
        possible_repeat: None,
        possible_abuse: None,
        deadlines: CaseDeadlines::default(),
        draft: None,
        approved: None,
        history: vec![],
        fired: Default::default(),
        first_draft_at: None,
        answered_at: None,
        published_at: None,
        awaiting_publication: None,
        final_approved_at: None,
        final_published_at: None,
        final_draft_at: None,
        closed_at: None,
        approval_round: 0,
    }
}

fn open_case(store: &Store, number: u64) {
    store
        .commit(Commit {
            new_case: Some(number),
            cases: vec![(case(number, State::Assigned), vec![])],
            ..Commit::default()
        })
        .unwrap();
}

#[test]
fn numbers_have_no_gaps_and_counts_follow_states() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_waiting(dir.path(), std::time::Duration::from_secs(60)).unwrap();
    assert_eq!(store.peek_next_case().unwrap(), 1);
    open_case(&store, 1);
    open_case(&store, 2);
    open_case(&store, 3);
    // A number taken meanwhile is refused, not reused.
    let clash = store.commit(Commit {
        new_case: Some(2),
        cases: vec![(case(2, State::Assigned), vec![])],
        ..Commit::default()
    });
    assert!(
        matches!(
            clash,
            Err(StoreError::CaseNumber {
                expected: 2,
                found: 4
            })
        ),
        "{clash:?}"
    );
    assert_eq!((store.case_count(), store.open_case_count()), (3, 3));
    // Closing one, excluding another, re-writing a closed one: the open count follows.
    for (n, st) in [(1, State::Closed), (2, State::Excluded), (1, State::Closed)] {
        store
            .commit(Commit {
                cases: vec![(case(n, st), vec![])],
                ..Commit::default()
            })
            .unwrap();
    }
    assert_eq!((store.case_count(), store.open_case_count()), (3, 1));
    assert_eq!(store.open_case_numbers().unwrap(), [3]);
    // Reopened (an exclusion overturned).
    store
        .commit(Commit {
            cases: vec![(case(2, State::Assigned), vec![])],
            ..Commit::default()
        })
        .unwrap();
    assert_eq!(store.open_case_count(), 2);
    assert_eq!(
        store
            .open_cases()
            .unwrap()
            .iter()
            .map(|c| c.number)
            .collect::<Vec<_>>(),
        [2, 3]
    );
    // Lookups by source id, link and author + topic.
    assert_eq!(
        store.case_by_source_id(" S3 ").unwrap().map(|c| c.number),
        Some(3)
    );
    assert_eq!(
        store
            .case_by_link("https://vk.com/wall-1_2")
            .unwrap()
            .map(|c| c.number),
        Some(2)
    );
    assert_eq!(
        store
            .latest_by_author_topic("иван", "жкх")
            .unwrap()
            .map(|c| c.number),
        Some(3)
    );
    drop(store);
    // Reopened from disk: the same.
    let store = Store::open_waiting(dir.path(), std::time::Duration::from_secs(60)).unwrap();
    assert_eq!(
        (
            store.case_count(),
            store.open_case_count(),
            store.peek_next_case().unwrap()
        ),
        (3, 2, 4)
    );
}

#[test]
fn the_ledger_remembers_each_message_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_waiting(dir.path(), std::time::Duration::from_secs(60)).unwrap();
    let raw = b"Received: from a\r\nMessage-ID: <abc@host>\r\n\r\nbody";
    let with_id = inbound_key(Some("abc@host"), Some("robot@monitoring.example"), raw);
    let without = inbound_key(None, None, b"raw bytes");
    assert!(with_id.starts_with("mid:") && with_id.len() == 4 + 64);
    assert!(without.starts_with("sha:") && without.len() == 4 + 64);
    assert_ne!(without, inbound_key(None, None, b"other bytes"));
    // The same message delivered again, with other trace headers: the same key.
    let again = b"Received: from b\r\nReceived: from c\r\nMessage-ID: <abc@host>\r\n\r\nbody";
    assert_eq!(
        with_id,
        inbound_key(Some("abc@host"), Some("robot@monitoring.example"), again)
    );
    // Junk with the same Message-ID, from someone else or with another body, cannot squat it.
    assert_ne!(
        with_id,
        inbound_key(Some("abc@host"), Some("x@junk.example"), raw)
    );
    let junk = b"Message-ID: <abc@host>\r\n\r\nbuy now";
    assert_ne!(
        with_id,
        inbound_key(Some("abc@host"), Some("robot@monitoring.example"), junk)
    );
    let rec = InboundRecord {
        disposition: Disposition::Rejected,
        case: None,
        at: Utc::now(),
        note: "n".into(),
    };
    store
        .commit(Commit {
            inbound: Some((with_id.clone(), rec.clone())),
            ..Commit::default()
        })
        .unwrap();
    assert_eq!(store.inbound(&with_id).unwrap(), Some(rec));
    assert_eq!(store.inbound(&without).unwrap(), None);
}

#[test]
fn forgotten_due_entries_go_unless_the_new_schedule_has_them() {
    use otklik_core::config::DeadlineKind;
    use otklik_core::workflow::Due;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_waiting(dir.path(), std::time::Duration::from_secs(60)).unwrap();
    let t = Utc.with_ymd_and_hms(2026, 12, 1, 3, 0, 0).unwrap();
    let due = |step: usize| Due {
        at: t,
        case: 1,
        step,
        kind: DeadlineKind::Draft,
        deadline: t,
    };
    store
        .commit(Commit {
            new_case: Some(1),
            cases: vec![(case(1, State::Assigned), vec![due(0), due(1)])],
            ..Commit::default()
        })
        .unwrap();
    assert_eq!(store.due_until(t).unwrap().len(), 2);
    // Step 0 dealt with and gone from the schedule; step 1 forgotten but still scheduled.
    store
        .commit(Commit {
            cases: vec![(case(1, State::Assigned), vec![due(1)])],
            forget_due: vec![due(0), due(1)],
            ..Commit::default()
        })
        .unwrap();
    assert_eq!(store.due_until(t).unwrap(), vec![due(1)]);
    // An entry whose case is gone: forgetting it alone removes it.
    store
        .commit(Commit {
            forget_due: vec![due(1)],
            ..Commit::default()
        })
        .unwrap();
    assert!(store.due_until(t).unwrap().is_empty());
}

const MB: usize = 1 << 20;
use offline::DOMAIN;

fn t(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, day, hour, 0, 0).unwrap()
}

/// Bytes that do not compress, like a photo.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// What the files under `dir` take, by their lengths.
fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            if m.is_dir() {
                dir_size(&e.path())
            } else {
                m.len()
            }
        })
        .sum()
}

fn attachment(name: &str, len: usize, seed: u64) -> Attachment {
    Attachment::new(name.into(), "image/jpeg".into(), noise(len, seed))
}

fn handler_config(dir: &Path) -> Arc<Config> {
    offline::config(dir)
}

/// A notification from the monitoring system with a photo attached.
fn notification_with_photo(photo: &[u8]) -> Vec<u8> {
    use lettre::message::header::ContentType;
    use lettre::message::{Attachment as Part, MultiPart, SinglePart};
    let text = "Номер инцидента: 4242\r\nДата выявления: 01.12.2026 10:15 (МСК)\r\nРубрика: ЖКХ\r\n\
                Локация: с. Волчиха\r\nКатегория важности: Средняя\r\nАвтор: Иван Петров\r\n\
                Ссылка: https://vk.com/wall-1_4242\r\nТекст сообщения:\r\nНет воды, фото во вложении.\r\n";
    lettre::Message::builder()
        .from("Мониторинг <robot@monitoring.example>".parse().unwrap())
        .to(format!("otklik@{DOMAIN}").parse().unwrap())
        .subject("Новый инцидент №4242")
        .message_id(Some("<n4242@monitoring.example>".into()))
        .date(t(1, 7).into())
        .multipart(
            MultiPart::mixed()
                .singlepart(SinglePart::plain(text.to_string()))
                .singlepart(
                    Part::new("photo.jpg".into())
                        .body(photo.to_vec(), ContentType::parse("image/jpeg").unwrap()),
                ),
        )
        .unwrap()
        .formatted()
}

/// `cargo test --test store photo -- --nocapture` prints the figures.
#[test]
fn a_case_with_an_8_mb_photo_costs_under_one_and_a_half_photos_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let config = handler_config(dir.path());
    let state = config.service.state_dir.clone();
    std::fs::create_dir_all(&state).unwrap();
    let store = Store::open_waiting(&state, std::time::Duration::from_secs(60)).unwrap();
    store.flush_blocking().unwrap();
    let empty = dir_size(&state);
    let photo = noise(8 * MB, 1);

    // The notification opens a case and forwards the photo to the executor.
    let handler = Intake::new(store.clone(), Secret::new(vec![7; 32]));
    let handled = handler
        .handle(&config, &notification_with_photo(&photo), None, t(1, 8))
        .unwrap();
    assert_eq!(handled.disposition, Disposition::Processed, "{handled:?}");
    let case = store.case(1).unwrap().unwrap();
    assert_eq!(case.notification.attachments.len(), 1);
    assert!(
        case.notification.attachments[0].data == photo,
        "the photo, byte for byte"
    );
    let recorded = store.case_record(1).unwrap().unwrap();
    assert!(recorded.notification.attachments[0].data.is_empty());
    assert_eq!(
        recorded.notification.attachments[0].size,
        photo.len() as u64
    );
    let mails = store.outbox().unwrap();
    let forward = mails
        .iter()
        .find(|m| m.to == [format!("housing@{DOMAIN}")])
        .unwrap_or_else(|| {
            panic!(
                "no forward to the executor in {:?}",
                mails.iter().map(|m| &m.to).collect::<Vec<_>>()
            )
        });
    assert!(
        forward.raw.len() > photo.len() * 4 / 3,
        "the photo in base64"
    );
    let forwarded = Inbound::parse(&forward.raw).unwrap();
    assert!(
        forwarded.attachments.iter().any(|a| a.data == photo),
        "the forward carries the photo"
    );
    store.flush_blocking().unwrap();
    let queued = dir_size(&state).saturating_sub(empty);

    for m in &mails {
        store.outbox_sent(m.seq, t(1, 9)).unwrap();
    }
    store.flush_blocking().unwrap();
    let sent = dir_size(&state).saturating_sub(empty);
    let limit = (photo.len() as u64) * 3 / 2;
    eprintln!(
        "8 MB photo: {:.2} MB on disk with its forward queued, {:.2} MB once sent ({:.2}x, {:.2}x the photo)",
        queued as f64 / MB as f64,
        sent as f64 / MB as f64,
        queued as f64 / photo.len() as f64,
        sent as f64 / photo.len() as f64,
    );
    assert!(store.outbox().unwrap().is_empty());
    assert!(queued < limit, "{queued} bytes with the mail queued");
    assert!(sent < limit, "{sent} bytes once sent");

    // Reopened, the case still has its photo.
    drop(handler);
    drop(store);
    let store = Store::open_waiting(&state, std::time::Duration::from_secs(60)).unwrap();
    let case = store.case(1).unwrap().unwrap();
    assert!(case.notification.attachments[0].data == photo);
}

#[test]
fn a_case_reads_back_the_same_and_its_record_holds_references_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_waiting(dir.path(), std::time::Duration::from_secs(60)).unwrap();
    let photo = attachment("photo.jpg", 300_000, 2);
    let mut c = case(1, State::DraftSubmitted);
    c.notification.attachments = vec![photo.clone()];
    c.draft = Some(Draft {
        kind: DraftKind::Answer,
        text: "Воду дали.".into(),
        // The same photo again, and a small act.
        attachments: vec![attachment("act.pdf", 3000, 3), photo.clone()],
        by: format!("housing@{DOMAIN}"),
        at: t(1, 9),
    });
    store
        .commit(Commit {
            new_case: Some(1),
            cases: vec![(c.clone(), vec![])],
            ..Commit::default()
        })
        .unwrap();
    assert_eq!(store.case(1).unwrap().as_ref(), Some(&c));

    // As recorded: names, types, hashes and sizes; no bytes.
    let rec = store.case_record(1).unwrap().unwrap();
    let draft = rec.draft.as_ref().unwrap();
    for (got, want) in rec
        .notification
        .attachments
        .iter()
        .chain(&draft.attachments)
        .zip(
            c.notification
                .attachments
                .iter()
                .chain(&c.draft.as_ref().unwrap().attachments),
        )
    {
        assert!(got.data.is_empty(), "{}", got.filename);
        assert_eq!(
            (&got.filename, &got.content_type, &got.sha256, got.size),
            (
                &want.filename,
                &want.content_type,
                &sha256_hex(&want.data),
                want.data.len() as u64
            )
        );
    }

    // Written back as recorded, the case keeps its attachments.
    let mut approved = rec.clone();
    approved.state = State::Approved;
    approved.approved = approved.draft.take();
    store
        .commit(Commit {
            cases: vec![(approved, vec![])],
            ..Commit::default()
        })
        .unwrap();
    let back = store.case(1).unwrap().unwrap();
    assert_eq!(
        back.approved.unwrap().attachments,
        c.draft.unwrap().attachments
    );

    // A reference to bytes never stored is refused.
    let mut dangling = rec.clone();
    dangling.notification.attachments[0].sha256 = "0".repeat(64);
    let refused = store.commit(Commit {
        cases: vec![(dangling, vec![])],
        ..Commit::default()
    });
    assert!(
        matches!(refused, Err(StoreError::MissingAttachment { case: 1, .. })),
        "{refused:?}"
    );
    assert_eq!(store.case(1).unwrap().unwrap().notification, c.notification);

    // A hash that does not match the bytes is not believed: the bytes are hashed.
    let mut wrong = case(2, State::Assigned);
    let mut mislabelled = attachment("scan.png", 5000, 4);
    let true_hash = sha256_hex(&mislabelled.data);
    mislabelled.sha256 = "ab".repeat(32);
    wrong.notification.attachments = vec![mislabelled];
    store
        .commit(Commit {
            new_case: Some(2),
            cases: vec![(wrong, vec![])],
            ..Commit::default()
        })
        .unwrap();
    let back = store.case(2).unwrap().unwrap();
    assert_eq!(back.notification.attachments[0].sha256, true_hash);
    assert_eq!(back.notification.attachments[0].data, noise(5000, 4));
}

#[test]
fn cases_over_the_control_socket_carry_no_attachment_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_waiting(dir.path(), std::time::Duration::from_secs(60)).unwrap();
    for (n, state) in [(1, State::Assigned), (2, State::Closed), (3, State::Rework)] {
        let mut c = case(n, state);
        c.notification.attachments = vec![attachment("photo.jpg", 200_000, n)];
        store
            .commit(Commit {
                new_case: Some(n),
                cases: vec![(c, vec![])],
                ..Commit::default()
            })
            .unwrap();
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(async { tokio::net::UnixListener::bind(control::socket_path(dir.path())) })
        .unwrap();
    rt.spawn(control::serve(
        listener,
        store.clone(),
        Arc::new(tokio::sync::Notify::new()),
    ));
    // The answer line, as the daemon writes it.
    let ask = |req: &Request| -> String {
        use std::io::{BufRead, Write};
        let mut stream =
            std::os::unix::net::UnixStream::connect(control::socket_path(dir.path())).unwrap();
        let mut line = serde_json::to_vec(req).unwrap();
        line.push(b'\n');
        stream.write_all(&line).unwrap();
        let mut answer = String::new();
        std::io::BufReader::new(stream)
            .read_line(&mut answer)
            .unwrap();
        answer
    };
    let numbers = |answer: &str| -> Vec<u64> {
        match serde_json::from_str::<Response>(answer).unwrap() {
            Response::Cases(cases) => {
                for c in &cases {
                    let a = &c.notification.attachments[0];
                    assert_eq!((a.filename.as_str(), a.size), ("photo.jpg", 200_000));
                    assert!(a.data.is_empty());
                }
                cases.iter().map(|c| c.number).collect()
            }
            other => panic!("{other:?}"),
        }
    };
    // One photo alone would be 200 kB, and about 700 kB as JSON numbers.
    let open = ask(&Request::OpenCases);
    assert!(open.len() < 20_000, "{} bytes", open.len());
    assert!(!open.contains("\"data\""), "{open}");
    assert_eq!(numbers(&open), [1, 3], "only the open cases");
    let all = ask(&Request::Cases);
    assert!(all.len() < 20_000, "{} bytes", all.len());
    assert_eq!(numbers(&all), [1, 2, 3]);
    let one = ask(&Request::Case { number: 2 });
    assert!(one.len() < 10_000 && one.contains("photo.jpg"), "{one}");
    rt.shutdown_background();
}

fn mail(seq: u64, due: DateTime<Utc>, raw: Vec<u8>) -> OutMail {
    OutMail {
        seq,
        case: None,
        message_id: format!("m{seq}@{DOMAIN}"),
        envelope_from: format!("otklik@{DOMAIN}"),
        to: vec![format!("housing@{DOMAIN}")],
        raw,
        attempts: 0,
        next_attempt: due,
        last_error: None,
        created: due,
    }
}

#[test]
fn the_outbox_is_read_a_page_at_a_time_soonest_due_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_waiting(dir.path(), std::time::Duration::from_secs(60)).unwrap();
    let mut mails = Vec::new();
    for i in 0..150u64 {
        let due = t(1, 8) + chrono::Duration::minutes((i * 37 % 11) as i64);
        mails.push(mail(
            store.generate_id().unwrap(),
            due,
            format!("mail {i}\r\n").into_bytes(),
        ));
    }
    store
        .commit(Commit {
            outbox: mails.clone(),
            ..Commit::default()
        })
        .unwrap();
    let pages = |store: &Store| -> Vec<Vec<Queued>> {
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let page = store.outbox_queue(after, 64).unwrap();
            if page.is_empty() {
                return out;
            }
            after = page.last().copied();
            out.push(page);
        }
    };
    let read = pages(&store);
    assert_eq!(read.iter().map(Vec::len).collect::<Vec<_>>(), [64, 64, 22]);
    let order: Vec<Queued> = read.concat();
    let mut want: Vec<Queued> = mails
        .iter()
        .map(|m| Queued {
            due: m.next_attempt,
            seq: m.seq,
        })
        .collect();
    want.sort();
    assert_eq!(order, want);
    for m in &mails[..5] {
        assert_eq!(store.outbox_mail(m.seq).unwrap().as_ref(), Some(m));
    }

    // A retry goes behind the rest; a permanent failure leaves the queue, bytes kept.
    let first = store.outbox_mail(order[0].seq).unwrap().unwrap();
    store
        .outbox_failed(&first, "451 busy", Some(t(2, 8)))
        .unwrap();
    let second = store.outbox_mail(order[1].seq).unwrap().unwrap();
    store
        .outbox_failed(&second, "550 no such user", None)
        .unwrap();
    let sent = order[2].seq;
    store.outbox_sent(sent, t(1, 9)).unwrap();
    let order: Vec<Queued> = pages(&store).concat();
    assert_eq!(order.len(), 148);
    assert_eq!(
        order.last(),
        Some(&Queued {
            due: t(2, 8),
            seq: first.seq
        })
    );
    let retried = store.outbox_mail(first.seq).unwrap().unwrap();
    assert_eq!(
        (
            retried.attempts,
            retried.raw.as_slice(),
            retried.last_error.as_deref()
        ),
        (1, first.raw.as_slice(), Some("451 busy"))
    );
    let dead = store.dead_letters().unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!((dead[0].seq, &dead[0].raw), (second.seq, &second.raw));
    assert_eq!(store.outbox_mail(second.seq).unwrap(), None);
    assert_eq!(store.outbox_mail(sent).unwrap(), None);
    assert_eq!(store.outbox_len(), 148);
}

#[test]
fn confirmations_past_their_week_are_swept_with_the_message_they_keep() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_waiting(dir.path(), std::time::Duration::from_secs(60)).unwrap();
    let record = |at: DateTime<Utc>| {
        format!(
            r#"{{"pending":{{"nonce":1,"sender":"a@b.ru","asked_at":"{}","digest":"00","what":"x"}},"arrival":"{}","raw_hex":"4142"}}"#,
            at.to_rfc3339(),
            at.to_rfc3339()
        )
    };
    store
        .commit(Commit {
            meta: vec![
                (MetaKey::Confirm(1), record(t(1, 8))),
                (MetaKey::Confirm(2), record(t(20, 8))),
                (MetaKey::Confirm(3), "not json".into()),
                (MetaKey::ConfirmAsked("a@b.ru".into()), "[]".into()),
            ],
            ..Commit::default()
        })
        .unwrap();
    assert_eq!(store.sweep_confirmations(t(1, 8)).unwrap(), 0);
    assert_eq!(store.sweep_confirmations(t(10, 0)).unwrap(), 1);
    let got = |k: MetaKey| store.meta_get(&k).unwrap();
    assert!(got(MetaKey::Confirm(1)).is_none());
    assert!(got(MetaKey::Confirm(2)).is_some());
    assert!(got(MetaKey::Confirm(3)).is_some(), "unreadable: kept");
    assert!(
        got(MetaKey::ConfirmAsked("a@b.ru".into())).is_some(),
        "not a confirmation"
    );
}

#[test]
fn the_sweep_deletes_old_bookkeeping_and_never_a_case() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_waiting(dir.path(), std::time::Duration::from_secs(60)).unwrap();
    let rec = |at| InboundRecord {
        disposition: Disposition::Processed,
        case: Some(1),
        at,
        note: "n".into(),
    };
    let old_case = case(1, State::Closed);
    store
        .commit(Commit {
            new_case: Some(1),
            cases: vec![(old_case.clone(), vec![])],
            inbound: Some(("mid:old@x".into(), rec(t(1, 8)))),
            outbox: vec![
                mail(101, t(1, 8), b"old".to_vec()),
                mail(102, t(1, 8), b"new".to_vec()),
                mail(103, t(1, 8), b"queued".to_vec()),
            ],
            ..Commit::default()
        })
        .unwrap();
    store
        .commit(Commit {
            inbound: Some(("mid:new@x".into(), rec(t(20, 8)))),
            ..Commit::default()
        })
        .unwrap();
    store.outbox_sent(101, t(1, 9)).unwrap();
    store.outbox_sent(102, t(20, 9)).unwrap();
    let mark = |seq: u64| store.meta_get(&MetaKey::Sent(seq)).unwrap();
    assert!(mark(101).is_some() && mark(102).is_some());

    // Nothing is that old yet.
    assert_eq!(store.sweep(t(1, 8)).unwrap(), 0);
    // Older than the 10th: one ledger record, one sent-mark.
    assert_eq!(store.sweep(t(10, 0)).unwrap(), 2);
    assert_eq!(store.inbound("mid:old@x").unwrap(), None);
    assert_eq!(store.inbound("mid:new@x").unwrap(), Some(rec(t(20, 8))));
    assert!(mark(101).is_none() && mark(102).is_some());
    // However late: the case and the queued mail stay.
    assert_eq!(store.sweep(t(31, 0)).unwrap(), 2);
    assert_eq!(store.case(1).unwrap(), Some(old_case));
    assert_eq!(
        store.outbox_mail(103).unwrap().map(|m| m.raw),
        Some(b"queued".to_vec())
    );
    assert_eq!(store.sweep(t(31, 0)).unwrap(), 0);
}

#[test]
fn opening_waits_while_another_holds_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let held = Store::open(dir.path()).unwrap();
    // The lock is seen for what it is.
    let busy = Store::open(dir.path()).err().expect("the store is held");
    assert!(busy.is_locked(), "{busy}");
    // Out of patience: the same error.
    let impatient = Store::open_waiting(dir.path(), std::time::Duration::ZERO)
        .err()
        .expect("the store is held");
    assert!(impatient.is_locked(), "{impatient}");
    // A start that waits gets the store once the holder lets go.
    let path = dir.path().to_path_buf();
    let waiting = std::thread::spawn(move || {
        Store::open_waiting(&path, std::time::Duration::from_secs(60)).map(|s| s.case_count())
    });
    std::thread::sleep(std::time::Duration::from_millis(500));
    open_case(&held, 1);
    held.flush_blocking().unwrap();
    drop(held);
    let count = waiting.join().unwrap();
    assert!(matches!(count, Ok(1)), "{count:?}");
}

/// A store written before attachments and outbox mails were kept as bytes: both inline in
/// their JSON records, as arrays of numbers.
#[test]
fn a_store_written_before_keeps_its_attachments_and_its_queue() {
    let dir = tempfile::tempdir().unwrap();
    let photo = noise(50_000, 5);
    let mut c = case(1, State::Assigned);
    c.notification.attachments = vec![Attachment::new(
        "photo.jpg".into(),
        "image/jpeg".into(),
        photo.clone(),
    )];
    let queued = mail(
        7,
        t(1, 8),
        b"Subject: old\r\n\r\nqueued before\r\n".to_vec(),
    );
    {
        let legacy_attachment = serde_json::json!({
            "filename": "photo.jpg",
            "content_type": "image/jpeg",
            "data": photo,
        });
        let mut record = serde_json::to_value(&c).unwrap();
        record["notification"]["attachments"] = serde_json::json!([legacy_attachment]);
        let mut out = serde_json::to_value(&queued).unwrap();
        out["raw"] = serde_json::json!(queued.raw);
        let db = sled::open(dir.path().join("store")).unwrap();
        db.open_tree("cases")
            .unwrap()
            .insert(1u64.to_be_bytes(), serde_json::to_vec(&record).unwrap())
            .unwrap();
        db.open_tree("meta")
            .unwrap()
            .insert("next_case", &2u64.to_be_bytes())
            .unwrap();
        db.open_tree("outbox")
            .unwrap()
            .insert(7u64.to_be_bytes(), serde_json::to_vec(&out).unwrap())
            .unwrap();
        db.flush().unwrap();
    }
    let store = Store::open_waiting(dir.path(), std::time::Duration::from_secs(60)).unwrap();
    assert_eq!(store.case(1).unwrap().as_ref(), Some(&c));
    let q = store.outbox_queue(None, 64).unwrap();
    assert_eq!(
        q,
        [Queued {
            due: t(1, 8),
            seq: 7
        }]
    );
    assert_eq!(store.outbox_mail(7).unwrap().as_ref(), Some(&queued));
    // Written again, the case holds a reference; its bytes are in their own tree.
    store
        .commit(Commit {
            cases: vec![(c.clone(), vec![])],
            ..Commit::default()
        })
        .unwrap();
    let rec = store.case_record(1).unwrap().unwrap();
    assert!(rec.notification.attachments[0].data.is_empty());
    assert_eq!(store.case(1).unwrap().as_ref(), Some(&c));
    // A retry of the old mail keeps its bytes.
    store
        .outbox_failed(&queued, "451 busy", Some(t(1, 9)))
        .unwrap();
    drop(store);
    let store = Store::open_waiting(dir.path(), std::time::Duration::from_secs(60)).unwrap();
    assert_eq!(
        store.outbox_mail(7).unwrap().map(|m| m.raw),
        Some(queued.raw.clone())
    );
}

#[test]
fn a_dead_letter_is_listed_resent_and_then_queued_again() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_waiting(dir.path(), std::time::Duration::from_secs(60)).unwrap();
    let raw =
        b"Subject: =?UTF-8?B?0J3QtdGCINCy0L7QtNGL?=\r\nTo: housing@example.ru\r\n\r\nbody\r\n"
            .to_vec();
    let dead = mail(store.generate_id().unwrap(), t(1, 8), raw.clone());
    let queued = mail(
        store.generate_id().unwrap(),
        t(1, 9),
        b"Subject: other\r\n\r\nx\r\n".to_vec(),
    );
    store
        .commit(Commit {
            outbox: vec![dead.clone(), queued.clone()],
            ..Commit::default()
        })
        .unwrap();
    let first = store.outbox_mail(dead.seq).unwrap().unwrap();
    store
        .outbox_failed(&first, "451 busy", Some(t(1, 8)))
        .unwrap();
    let again = store.outbox_mail(dead.seq).unwrap().unwrap();
    store
        .outbox_failed(&again, "550 no such user", None)
        .unwrap();

    // Listed as dead, apart from the queue, its subject decoded.
    let listed = otklik::outbox::list(&store, false).unwrap();
    let states: Vec<(u64, MailState)> = listed.iter().map(|l| (l.seq, l.state)).collect();
    assert_eq!(
        states,
        [(queued.seq, MailState::Queued), (dead.seq, MailState::Dead)]
    );
    let d = &listed[1];
    assert_eq!(d.subject, "Нет воды");
    assert_eq!(d.last_error.as_deref(), Some("550 no such user"));
    assert_eq!((d.attempts, d.next_attempt), (1, None));
    assert_eq!(listed[0].next_attempt, Some(t(1, 9)));
    let only_dead = otklik::outbox::list(&store, true).unwrap();
    assert_eq!(
        only_dead.iter().map(|l| l.seq).collect::<Vec<_>>(),
        [dead.seq]
    );
    assert_eq!(store.dead_letter_seqs().unwrap(), [dead.seq]);

    // Only a dead letter can be resent.
    assert_eq!(
        store.outbox_resend(queued.seq, t(2, 8)).unwrap(),
        Resend::Queued
    );
    assert_eq!(store.outbox_resend(9999, t(2, 8)).unwrap(), Resend::Unknown);
    assert!(matches!(
        otklik::outbox::resend(&store, 9999),
        Err(otklik::outbox::ResendError::Unknown(9999))
    ));

    assert_eq!(
        store.outbox_resend(dead.seq, t(2, 8)).unwrap(),
        Resend::Done
    );
    assert!(store.dead_letters().unwrap().is_empty());
    assert_eq!(store.dead_letter(dead.seq).unwrap(), None);
    let back = store.outbox_mail(dead.seq).unwrap().unwrap();
    assert_eq!(
        (back.attempts, back.next_attempt, back.raw.as_slice()),
        (0, t(2, 8), raw.as_slice())
    );
    assert_eq!(back.last_error.as_deref(), Some("550 no such user"));
    let q = store.outbox_queue(None, 64).unwrap();
    assert_eq!(
        q,
        [
            Queued {
                due: t(1, 9),
                seq: queued.seq
            },
            Queued {
                due: t(2, 8),
                seq: dead.seq
            },
        ]
    );
    assert_eq!(store.outbox_len(), 2);
    // Once queued, a second resend is refused.
    assert_eq!(
        store.outbox_resend(dead.seq, t(2, 9)).unwrap(),
        Resend::Queued
    );

    // And it survives a reopen: the resend was one durable change.
    store.flush_blocking().unwrap();
    drop(store);
    let store = Store::open_waiting(dir.path(), std::time::Duration::from_secs(60)).unwrap();
    assert_eq!(
        store.outbox_mail(dead.seq).unwrap().map(|m| m.raw),
        Some(raw)
    );
    assert!(store.dead_letter_seqs().unwrap().is_empty());
}

fn approved(kind: DraftKind, text: &str) -> Option<Draft> {
    Some(Draft {
        kind,
        text: text.into(),
        attachments: vec![],
        by: "housing@example.ru".into(),
        at: Utc.with_ymd_and_hms(2026, 12, 1, 5, 0, 0).unwrap(),
    })
}

fn commit_case(store: &Store, c: Case) {
    store
        .commit(Commit {
            cases: vec![(c, vec![])],
            ..Commit::default()
        })
        .unwrap();
}

/// The archive's row of a case is written in the case's own commit: there once its answer
/// is approved, replaced with the answer, gone when the approved text is no answer any
/// more; the archive is built from these rows (dated in the calendar's zone), and
/// `check-store` names one that cannot be read (which the archive leaves out).
#[test]
fn an_approved_answer_is_archived_with_its_case_and_follows_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    open_case(&store, 1);
    open_case(&store, 2);
    let ids = |store: &Store| -> Vec<(String, String)> {
        store
            .answered_entries(chrono_tz::UTC)
            .map(|e| e.map(|e| (e.id, e.answer)))
            .collect::<Result<_, _>>()
            .unwrap()
    };
    assert!(ids(&store).is_empty(), "no answer approved yet");

    let mut c = case(1, State::Approved);
    c.approved = approved(DraftKind::Answer, "Воду дали.");
    commit_case(&store, c.clone());
    assert_eq!(
        ids(&store),
        [("OTK-1".to_string(), "Воду дали.".to_string())]
    );
    // Detected at 03:00 UTC on 1 December: 30 November in New York.
    let e = store
        .answered_entry(1, chrono_tz::America::New_York)
        .unwrap()
        .unwrap();
    assert_eq!(e.date, chrono::NaiveDate::from_ymd_opt(2026, 11, 30));
    assert_eq!(e.executor.as_deref(), Some("housing"));
    assert_eq!(
        Some(e),
        otklik_core::archive::Entry::of_case(&c, chrono_tz::America::New_York)
    );
    assert_eq!(
        otklik::archive::Archive::load(&store, chrono_tz::UTC)
            .unwrap()
            .len(),
        1
    );

    // Another answer replaces the first.
    c.approved = approved(DraftKind::Answer, "Воду дали, трубу заменили.");
    commit_case(&store, c.clone());
    assert_eq!(
        ids(&store),
        [(
            "OTK-1".to_string(),
            "Воду дали, трубу заменили.".to_string()
        )]
    );
    // An interim answer is no answer: the row goes.
    c.approved = approved(DraftKind::Interim, "Работаем.");
    commit_case(&store, c);
    assert!(ids(&store).is_empty());
    assert!(store.answered_entry(1, chrono_tz::UTC).unwrap().is_none());

    let mut c2 = case(2, State::Closed);
    c2.approved = approved(DraftKind::Answer, "Яму засыпали.");
    commit_case(&store, c2);
    let (_, problems) = store.check().unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    drop(store);
    {
        let db = sled::open(dir.path().join("store")).unwrap();
        db.open_tree("answered")
            .unwrap()
            .insert(2u64.to_be_bytes(), &b"{not json"[..])
            .unwrap();
        db.flush().unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    let (_, problems) = store.check().unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with("archived answer:") && problems[0].contains("answered/2"),
        "{problems:?}"
    );
    // The archive leaves the damaged row out, and starts.
    assert_eq!(
        otklik::archive::Archive::load(&store, chrono_tz::UTC)
            .unwrap()
            .len(),
        0
    );
}

/// What the archive offers for each query: the best hit's id and every score (rounded: an
/// index read back numbers its stems otherwise, so sums may differ in the last bits).
fn offers(a: &otklik::archive::Archive, queries: &[&str]) -> Vec<(Option<String>, Vec<i64>)> {
    queries
        .iter()
        .map(|q| {
            let hits = a.candidates(&otklik_core::archive::Query {
                text: q.to_string(),
                ..Default::default()
            });
            let top = hits.first().map(|h| h.id.clone());
            (
                top,
                hits.iter()
                    .map(|h| (h.score * 1e9).round() as i64)
                    .collect(),
            )
        })
        .collect()
}

/// An approved case whose post says `text` (`None`: its answer withdrawn for an interim one).
fn answered_case(store: &Store, number: u64, text: &str, answer: Option<&str>) -> Case {
    let mut c = case(number, State::Approved);
    c.notification.text = text.into();
    c.approved = match answer {
        Some(a) => approved(DraftKind::Answer, a),
        None => approved(DraftKind::Interim, "Работаем."),
    };
    commit_case(store, c.clone());
    c
}

/// The archive's change log is trimmed oldest first, a bounded number at a time, never past
/// what a snapshot covers.
#[test]
fn the_archive_log_is_trimmed_oldest_first_a_bite_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    for n in 1..=10u64 {
        open_case(&store, n);
        answered_case(&store, n, &format!("Нет воды дом {n}"), Some("Дали."));
    }
    let seqs = |store: &Store| -> Vec<u64> {
        store
            .archive_changes_after(0)
            .map(|c| c.unwrap().0)
            .collect()
    };
    let all = seqs(&store);
    assert_eq!(all.len(), 10);
    let upto = all[6];
    assert_eq!(store.trim_archive_changes(upto, 3).unwrap(), 3);
    assert_eq!(seqs(&store), all[3..].to_vec(), "the oldest three");
    assert_eq!(store.trim_archive_changes(upto, 3).unwrap(), 3);
    assert_eq!(
        store.trim_archive_changes(upto, 3).unwrap(),
        1,
        "only up to `upto`"
    );
    assert_eq!(store.trim_archive_changes(upto, 3).unwrap(), 0);
    assert_eq!(seqs(&store), all[7..].to_vec(), "the changes after it stay");
}

/// The service's archive is saved beside the store and read back with the changes made
/// since (answers added, replaced, withdrawn, entries imported), answering as an index
/// built from every row does; a missing, damaged or foreign snapshot is not used: the
/// index is built from the rows and a fresh snapshot can be written.
#[test]
fn the_archive_reloads_from_its_snapshot_and_the_changes_since() {
    use otklik::archive::{Archive, SNAPSHOT_FILE};
    let zone = chrono_tz::UTC;
    let texts = [
        "Нет воды на улице Ленина",
        "Яма на дороге у школы",
        "Нет света третий день в Берёзовке",
        "Прорвало трубу водопровода",
        "Не вывозят мусор со двора",
    ];
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let path = dir.path().join(SNAPSHOT_FILE);
    for n in 1..=30u64 {
        open_case(&store, n);
        let text = format!("{} дом {n}", texts[n as usize % texts.len()]);
        answered_case(&store, n, &text, Some(&format!("Ответ {n}")));
    }
    let imported = |id: &str, text: &str| {
        (
            1,
            otklik_core::archive::Entry {
                id: id.into(),
                topic: "ЖКХ".into(),
                location: "с. Малиновка".into(),
                text: text.into(),
                answer: "Сделано.".into(),
                date: None,
                executor: None,
            },
        )
    };
    let a = Archive::open(&store, zone, path.clone()).unwrap();
    assert!(!a.from_snapshot());
    a.import(&store, vec![imported("imp-1", "Сломан мост через реку")])
        .unwrap();
    assert!(a.save().unwrap(), "written");
    assert!(!a.save().unwrap(), "nothing new: not written again");
    assert_eq!(
        store.archive_changes_after(0).count(),
        0,
        "the log is trimmed"
    );
    assert_eq!(a.len(), 31);

    // Changes after the snapshot, some through the archive, some only in the store (as
    // a service that died before its next snapshot leaves them).
    let c3 = answered_case(&store, 3, "Нет газа в котельной дом 3", Some("Газ дали."));
    a.add_case(&c3);
    answered_case(&store, 4, "Прорвало трубу водопровода дом 4", None);
    open_case(&store, 31);
    answered_case(&store, 31, "Упало дерево на провода", Some("Убрали."));
    a.import(
        &store,
        vec![imported("imp-2", "Собаки без хозяина у школы")],
    )
    .unwrap();
    drop(a);
    assert_eq!(store.archive_changes_after(0).count(), 4);

    let queries = [
        "Нет воды на улице Ленина дом 1",
        "нет газа котельная",
        "прорвало трубу дом 4",
        "упало дерево",
        "собаки у школы",
        "яма на дороге",
        "мост через реку",
    ];
    let rebuilt = Archive::load(&store, zone).unwrap();
    assert_eq!(rebuilt.len(), 32);
    let want = offers(&rebuilt, &queries);
    assert_eq!(want[1].0.as_deref(), Some("OTK-3"));
    assert_ne!(want[2].0.as_deref(), Some("OTK-4"), "withdrawn");
    let b = Archive::open(&store, zone, path.clone()).unwrap();
    assert!(b.from_snapshot());
    assert_eq!((b.len(), offers(&b, &queries)), (32, want.clone()));
    assert!(b.save().unwrap());
    drop(b);
    let b = Archive::open(&store, zone, path.clone()).unwrap();
    assert!(b.from_snapshot());
    assert_eq!(offers(&b, &queries), want);
    drop(b);

    // Damaged: built from the rows, and written afresh.
    let mut bytes = std::fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    std::fs::write(&path, &bytes).unwrap();
    let b = Archive::open(&store, zone, path.clone()).unwrap();
    assert!(!b.from_snapshot());
    assert_eq!(offers(&b, &queries), want);
    assert!(b.save().unwrap());
    drop(b);
    assert_ne!(std::fs::read(&path).unwrap(), bytes);
    // Missing: likewise.
    std::fs::remove_file(&path).unwrap();
    let b = Archive::open(&store, zone, path.clone()).unwrap();
    assert!(!b.from_snapshot());
    assert_eq!(offers(&b, &queries), want);
    assert!(b.save().unwrap());
    drop(b);

    // Another store's snapshot is not used for this one.
    let other = tempfile::tempdir().unwrap();
    let other_store = Store::open(other.path()).unwrap();
    let other_path = other.path().join(SNAPSHOT_FILE);
    std::fs::copy(&path, &other_path).unwrap();
    let c = Archive::open(&other_store, zone, other_path).unwrap();
    assert!(!c.from_snapshot());
    assert!(c.is_empty());
}
