//! The store's own promises: numbers without gaps, the open-case count, the ledger.

use chrono::{TimeZone, Utc};
use otklik::intake::Notification;
use otklik::store::{Commit, Disposition, InboundRecord, Store, StoreError, inbound_key};
use otklik::workflow::{Case, CaseDeadlines, State};

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
