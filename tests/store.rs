//! The store's own promises: numbers without gaps, the open-case count, the ledger, bytes
//! stored once, the outbox read in pages, retention, and a start that waits for the lock.

use chrono::{DateTime, TimeZone, Utc};
use otklik::inbound::{Attachment, sha256_hex};
use otklik::intake::Notification;
use otklik::store::{Commit, Disposition, InboundRecord, Store, StoreError, inbound_key};
use otklik::workflow::{Case, CaseDeadlines, Draft, DraftKind, State};

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
        deadlines: CaseDeadlines::default(),
        draft: None,
        approved: None,
        history: vec![],
        fired: Default::default(),
        first_draft_at: None,
        answered_at: None,
        closed_at: None,
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
    let store = Store::open(dir.path()).unwrap();
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
    let store = Store::open(dir.path()).unwrap();
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
    let store = Store::open(dir.path()).unwrap();
    let with_id = inbound_key(Some("abc@host"), b"raw");
    let without = inbound_key(None, b"raw bytes");
    assert_eq!(with_id, "mid:abc@host");
    assert!(without.starts_with("sha:") && without.len() == 4 + 64);
    assert_ne!(without, inbound_key(None, b"other bytes"));
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
    use otklik::config::DeadlineKind;
    use otklik::workflow::Due;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
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

const DOMAIN: &str = "volchiha.example";

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

fn attachment(name: &str, len: usize, seed: u64) -> Attachment {
    Attachment::new(name.into(), "image/jpeg".into(), noise(len, seed))
}

#[test]
fn a_case_reads_back_the_same_and_its_record_holds_references_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
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

/// A store written before attachments were kept as bytes: inline in the case records, as
/// arrays of numbers.
#[test]
fn a_store_written_before_keeps_its_attachments() {
    let dir = tempfile::tempdir().unwrap();
    let photo = noise(50_000, 5);
    let mut c = case(1, State::Assigned);
    c.notification.attachments = vec![Attachment::new(
        "photo.jpg".into(),
        "image/jpeg".into(),
        photo.clone(),
    )];
    {
        let legacy_attachment = serde_json::json!({
            "filename": "photo.jpg",
            "content_type": "image/jpeg",
            "data": photo,
        });
        let mut record = serde_json::to_value(&c).unwrap();
        record["notification"]["attachments"] = serde_json::json!([legacy_attachment]);
        let db = sled::open(dir.path().join("store")).unwrap();
        db.open_tree("cases")
            .unwrap()
            .insert(1u64.to_be_bytes(), serde_json::to_vec(&record).unwrap())
            .unwrap();
        db.open_tree("meta")
            .unwrap()
            .insert("next_case", &2u64.to_be_bytes())
            .unwrap();
        db.flush().unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.case(1).unwrap().as_ref(), Some(&c));
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
}
