//! The store's lookup for possible repeats (`Store::cases_at_place`): the newest cases at one
//! place detected since a time, newest first, at most 20, at most 1000 records read, a
//! damaged record skipped, not fatal.

use otklik_testkit::offline;

use chrono::{DateTime, Duration, TimeZone, Utc};
use otklik::store::{Commit, Store};
use otklik_core::intake::Notification;
use otklik_core::repeat::place_key;
use otklik_core::routing::Absences;
use otklik_core::workflow::{self, Case, Classification, Ctx};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap()
}

fn case(config: &otklik_core::config::Config, number: u64, place: &str, at: DateTime<Utc>) -> Case {
    let n = Notification {
        source_id: Some(format!("s{number}")),
        topic: Some("ЖКХ".into()),
        location: Some(place.into()),
        category: None,
        source: None,
        link: None,
        author: Some(format!("Житель {number}")),
        detected_at: at,
        text: "Нет воды.".into(),
        repeat: false,
        attachments: vec![],
        warnings: vec![],
    };
    let absences = Absences::new();
    let ctx = Ctx {
        config,
        absences: &absences,
        now: at,
    };
    let class = Classification::Unmatched {
        repeat_unmatched: false,
        suggestions: vec![],
    };
    workflow::open(number, n, class, ctx).case
}

#[test]
fn the_newest_cases_at_a_place_within_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let config = offline::config(dir.path());
    let state = config.service.state_dir.clone();
    std::fs::create_dir_all(&state).unwrap();
    let store = Store::open(&state).unwrap();
    let since = now() - Duration::days(30);
    let total = 1600u64;
    // Three old cases at Берёзовка (before `since`), then the rest a few minutes apart,
    // every 150th at «село Березовка», the others at Волчиха.
    for number in 1..=total {
        let (place, at) = if number <= 3 {
            ("с. Берёзовка", now() - Duration::days(60))
        } else if number % 150 == 0 {
            (
                "село Березовка",
                now() - Duration::minutes((total - number) as i64 * 5),
            )
        } else {
            (
                "с. Волчиха",
                now() - Duration::minutes((total - number) as i64 * 5),
            )
        };
        store
            .commit(Commit {
                new_case: Some(number),
                cases: vec![(case(&config, number, place, at), vec![])],
                ..Commit::default()
            })
            .unwrap();
    }
    let place = place_key("с. Берёзовка");
    let t = std::time::Instant::now();
    let found = store.cases_at_place(&place, since).unwrap();
    eprintln!("cases_at_place over 1000 records: {:?}", t.elapsed());
    let numbers: Vec<u64> = found.iter().map(|c| c.number).collect();
    // Only the newest 1000 records are read: 601..=1600, of which 750, 900, … 1500.
    let expected: Vec<u64> = (601..=total).rev().filter(|n| n % 150 == 0).collect();
    assert_eq!(numbers, expected);
    assert!(found.iter().all(|c| c.notification.detected_at >= since));
    // Nothing at a place nobody wrote from; nothing for an empty place.
    assert!(store.cases_at_place("ключи", since).unwrap().is_empty());
    assert!(store.cases_at_place("", since).unwrap().is_empty());
    // At Волчиха: capped at 20, newest first.
    let v = store
        .cases_at_place(&place_key("с. Волчиха"), since)
        .unwrap();
    assert_eq!(v.len(), otklik_core::repeat::MAX_CANDIDATES);
    assert_eq!(v[0].number, total);
    drop(store);

    // A damaged record is skipped; the lookup goes on.
    {
        let db = sled::open(state.join("store")).expect("sled");
        let cases = db.open_tree("cases").unwrap();
        cases
            .insert(1500u64.to_be_bytes(), &b"{not json"[..])
            .unwrap();
        db.flush().unwrap();
    }
    let store = Store::open(&state).unwrap();
    let found = store.cases_at_place(&place, since).unwrap();
    assert_eq!(found.first().map(|c| c.number), Some(1350));
}
