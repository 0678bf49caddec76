//! The outbox's retry logic below the SMTP client: a scripted [`Sender`] answers each
//! attempt as a server would (accepted, deferred, refused), and the drain is driven with
//! the time passed in.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;

use chrono::{DateTime, Duration, TimeZone, Utc};

use otklik_core::compose::OutMail;

use otklik::outbox::{self, PAGE, Round, Sender, Unrecorded, backoff};
use otklik::smtp::SendError;
use otklik::store::{Commit, Store};

/// Answers attempts from a script (accepted once it runs out) and records each attempt.
#[derive(Default)]
struct Scripted {
    script: Mutex<VecDeque<Result<(), SendError>>>,
    attempts: Mutex<Vec<u64>>,
}

impl Scripted {
    fn answering(answers: impl IntoIterator<Item = Result<(), SendError>>) -> Scripted {
        Scripted {
            script: Mutex::new(answers.into_iter().collect()),
            attempts: Mutex::default(),
        }
    }

    fn attempts(&self) -> Vec<u64> {
        self.attempts.lock().unwrap().clone()
    }
}

impl Sender for Scripted {
    fn send(&self, mail: &OutMail) -> impl Future<Output = Result<(), SendError>> + Send {
        self.attempts.lock().unwrap().push(mail.seq);
        let answer = self.script.lock().unwrap().pop_front().unwrap_or(Ok(()));
        std::future::ready(answer)
    }
}

fn deferred() -> Result<(), SendError> {
    Err(SendError::Deferred("451 4.3.0 try again later".into()))
}

/// The server could not be reached (a blip: refused, reset).
fn unreachable() -> Result<(), SendError> {
    Err(SendError::Connection("connection refused".into()))
}

fn refused() -> Result<(), SendError> {
    Err(SendError::Rejected("550 5.1.1 no such user".into()))
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 3, 0, 0).unwrap()
}

fn std_secs(d: std::time::Duration) -> Duration {
    Duration::from_std(d).unwrap()
}

/// A store with `n` mails, all due at `due`; their numbers in the order they were written.
fn store_with(n: usize, due: DateTime<Utc>) -> (tempfile::TempDir, Store, Vec<u64>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_waiting(dir.path(), std::time::Duration::from_secs(60)).unwrap();
    let mails: Vec<OutMail> = (0..n)
        .map(|i| {
            let seq = store.generate_id().unwrap();
            OutMail {
                seq,
                case: Some(1),
                message_id: format!("m{seq}@example.ru"),
                envelope_from: "otklik@example.ru".into(),
                to: vec!["housing@example.ru".into()],
                raw: format!("Subject: mail {i}\r\n\r\nbody\r\n").into_bytes(),
                attempts: 0,
                next_attempt: due,
                last_error: None,
                created: due,
            }
        })
        .collect();
    let seqs = mails.iter().map(|m| m.seq).collect();
    store
        .commit(Commit {
            outbox: mails,
            ..Commit::default()
        })
        .unwrap();
    (dir, store, seqs)
}

/// One round of the sender at `at`.
async fn drain(
    store: &Store,
    sender: &Scripted,
    unrecorded: &mut Unrecorded,
    at: DateTime<Utc>,
) -> Round {
    let heartbeat = AtomicU64::new(0);
    outbox::drain_at(store, sender, unrecorded, &heartbeat, &move || at).await
}

#[tokio::test]
async fn a_transient_failure_is_retried_after_the_backoff_and_holds_the_round() {
    // Two people: a mail to the same person about the same case would wait for the first.
    let (_dir, store, seqs) = store_to(&["housing@example.ru", "roads@example.ru"], t0());
    let sender = Scripted::answering([deferred()]);
    let mut unrecorded = Unrecorded::default();

    // The server defers the first: the round stops there (it is likely down).
    assert_eq!(
        drain(&store, &sender, &mut unrecorded, t0()).await,
        Round::Sent(0)
    );
    assert_eq!(sender.attempts(), [seqs[0]]);
    let m = store.outbox_mail(seqs[0]).unwrap().unwrap();
    assert_eq!(m.attempts, 1);
    assert_eq!(m.next_attempt, t0() + std_secs(backoff(0)));
    assert!(m.last_error.unwrap().contains("451"));

    // The other (to someone else) was due and goes next round; the deferred one waits for
    // its time.
    let before = m.next_attempt - Duration::milliseconds(1);
    assert_eq!(
        drain(&store, &sender, &mut unrecorded, before).await,
        Round::Sent(1)
    );
    assert_eq!(sender.attempts(), [seqs[0], seqs[1]]);
    assert!(store.outbox_mail(seqs[0]).unwrap().is_some());

    assert_eq!(
        drain(&store, &sender, &mut unrecorded, m.next_attempt).await,
        Round::Sent(1)
    );
    assert_eq!(sender.attempts(), [seqs[0], seqs[1], seqs[0]]);
    assert_eq!(store.outbox_len(), 0);
    assert!(store.dead_letters().unwrap().is_empty());
}

#[tokio::test]
async fn a_permanent_refusal_is_a_dead_letter_at_once_and_the_round_goes_on() {
    let (_dir, store, seqs) = store_with(2, t0());
    let sender = Scripted::answering([refused()]);
    let mut unrecorded = Unrecorded::default();
    assert_eq!(
        drain(&store, &sender, &mut unrecorded, t0()).await,
        Round::Sent(1)
    );
    assert_eq!(sender.attempts(), seqs);
    let dead = store.dead_letters().unwrap();
    assert_eq!(dead.iter().map(|m| m.seq).collect::<Vec<_>>(), [seqs[0]]);
    assert!(dead[0].last_error.as_deref().unwrap().contains("550"));
    assert_eq!(dead[0].raw, b"Subject: mail 0\r\n\r\nbody\r\n");
    assert_eq!(store.outbox_len(), 0);
    // Never tried again.
    let later = t0() + Duration::days(1);
    assert_eq!(
        drain(&store, &sender, &mut unrecorded, later).await,
        Round::Sent(0)
    );
    assert_eq!(sender.attempts(), seqs);
}

/// Transient failures never make a dead letter (a wrong SMTP password must not lose mail
/// while the operator fixes it): the mail waits, the pause doubling from 5 s to 10 min.
#[tokio::test]
async fn transient_failures_in_a_row_keep_the_mail_queued_with_a_growing_pause() {
    let (_dir, store, seqs) = store_with(1, t0());
    const N: u32 = 12;
    let sender = Scripted::answering((0..N).map(|_| deferred()));
    let mut unrecorded = Unrecorded::default();
    let mut at = t0();
    let mut pauses = Vec::new();
    for i in 0..N {
        assert_eq!(
            drain(&store, &sender, &mut unrecorded, at).await,
            Round::Sent(0)
        );
        let m = store.outbox_mail(seqs[0]).unwrap().unwrap();
        assert_eq!(m.attempts, i + 1);
        pauses.push((m.next_attempt - at).num_seconds());
        at = m.next_attempt;
    }
    assert_eq!(
        pauses,
        [5, 10, 20, 40, 80, 160, 320, 600, 600, 600, 600, 600]
    );
    assert!(store.dead_letters().unwrap().is_empty());
    assert_eq!(sender.attempts().len(), N as usize);
    // The server takes it at last.
    assert_eq!(
        drain(&store, &sender, &mut unrecorded, at).await,
        Round::Sent(1)
    );
    assert_eq!(store.outbox_len(), 0);
}

#[tokio::test]
async fn an_accepted_mail_is_sent_exactly_once() {
    let (dir, store, seqs) = store_with(1, t0());
    let sender = Scripted::default();
    let mut unrecorded = Unrecorded::default();
    assert_eq!(
        drain(&store, &sender, &mut unrecorded, t0()).await,
        Round::Sent(1)
    );
    for later in [t0(), t0() + Duration::hours(1), t0() + Duration::days(30)] {
        assert_eq!(
            drain(&store, &sender, &mut unrecorded, later).await,
            Round::Sent(0)
        );
    }
    assert_eq!(sender.attempts(), seqs);
    assert_eq!(store.outbox_mail(seqs[0]).unwrap(), None);
    assert!(store.dead_letters().unwrap().is_empty());
    // Reopened, the store still knows it left (sled's flusher thread may hold the lock
    // a moment after the drop: wait for it as the service does at start).
    drop(store);
    let store = Store::open_waiting(dir.path(), std::time::Duration::from_secs(60)).unwrap();
    assert_eq!(store.outbox_len(), 0);
}

#[tokio::test]
async fn nothing_is_sent_before_its_time() {
    let due = t0() + Duration::hours(1);
    let (_dir, store, seqs) = store_with(3, due);
    let sender = Scripted::default();
    let mut unrecorded = Unrecorded::default();
    for at in [t0(), due - Duration::milliseconds(1)] {
        assert_eq!(
            drain(&store, &sender, &mut unrecorded, at).await,
            Round::Sent(0)
        );
    }
    assert!(sender.attempts().is_empty());
    assert_eq!(
        drain(&store, &sender, &mut unrecorded, due).await,
        Round::Sent(3)
    );
    assert_eq!(sender.attempts(), seqs);
}

#[tokio::test]
async fn every_page_of_the_queue_is_drained_in_one_round() {
    let n = 2 * PAGE + 22;
    let (_dir, store, seqs) = store_with(n, t0());
    let sender = Scripted::default();
    let mut unrecorded = Unrecorded::default();
    assert_eq!(
        drain(&store, &sender, &mut unrecorded, t0()).await,
        Round::Sent(n)
    );
    assert_eq!(
        sender.attempts(),
        seqs,
        "each once, in the order they are due"
    );
    assert_eq!(store.outbox_len(), 0);
}

/// A store with one mail per recipient given, in that order; their numbers.
fn store_to(recipients: &[&str], due: DateTime<Utc>) -> (tempfile::TempDir, Store, Vec<u64>) {
    let (dir, store, _) = store_with(0, due);
    let mails: Vec<OutMail> = recipients
        .iter()
        .enumerate()
        .map(|(i, to)| OutMail {
            seq: store.generate_id().unwrap(),
            case: Some(1),
            message_id: format!("r{i}@example.ru"),
            envelope_from: "otklik@example.ru".into(),
            to: vec![(*to).into()],
            raw: format!("Subject: mail {i}\r\n\r\nbody\r\n").into_bytes(),
            attempts: 0,
            next_attempt: due,
            last_error: None,
            created: due,
        })
        .collect();
    let seqs = mails.iter().map(|m| m.seq).collect();
    store
        .commit(Commit {
            outbox: mails,
            ..Commit::default()
        })
        .unwrap();
    (dir, store, seqs)
}

/// Queues one mail about `case` to `to`, due at `due`; its number.
fn queue(store: &Store, case: u64, to: &str, due: DateTime<Utc>) -> u64 {
    let seq = store.generate_id().unwrap();
    let mail = OutMail {
        seq,
        case: Some(case),
        message_id: format!("q{seq}@example.ru"),
        envelope_from: "otklik@example.ru".into(),
        to: vec![to.into()],
        raw: format!("Subject: mail {seq}\r\n\r\nbody\r\n").into_bytes(),
        attempts: 0,
        next_attempt: due,
        last_error: None,
        created: due,
    };
    store
        .commit(Commit {
            outbox: vec![mail],
            ..Commit::default()
        })
        .unwrap();
    seq
}

/// The server blips while a mail about a case to a person is sent; a second mail to them
/// about the case is queued behind it; the server is back before the first one's retry.
/// The second waits for the first (a rework never overtakes its forward): held back, not
/// dropped, and sent right after the first once the first goes.
#[tokio::test]
async fn a_mail_never_overtakes_an_earlier_one_of_its_lane_waiting_for_a_retry() {
    let (_dir, store, first) = store_with(1, t0());
    let a = first[0];
    let sender = Scripted::answering([unreachable()]);
    let mut unrecorded = Unrecorded::default();
    assert_eq!(
        drain(&store, &sender, &mut unrecorded, t0()).await,
        Round::Sent(0)
    );
    let retry = store.outbox_mail(a).unwrap().unwrap().next_attempt;
    assert!(retry > t0() + Duration::seconds(2));

    // The same case to the same person (the address spelled another way).
    let b = queue(&store, 1, "Housing@Example.RU", t0() + Duration::seconds(1));
    let back = t0() + Duration::seconds(2);
    assert_eq!(
        drain(&store, &sender, &mut unrecorded, back).await,
        Round::Sent(0)
    );
    assert_eq!(sender.attempts(), [a], "B must not leave before A");
    assert!(
        store.outbox_mail(b).unwrap().is_some(),
        "held back, not dropped"
    );

    // A's time: A goes, and B right after it, in the same round.
    assert_eq!(
        drain(&store, &sender, &mut unrecorded, retry).await,
        Round::Sent(2)
    );
    assert_eq!(sender.attempts(), [a, a, b]);
    assert_eq!(store.outbox_len(), 0);
}

/// The server could not be reached, and is back: the first mail it takes shows it. A
/// mail deferred while it could not be reached goes at once, in that round, rather than
/// wait out its backoff; a mail of its lane held back behind it goes right after it.
#[tokio::test]
async fn once_the_server_takes_mail_again_what_waited_for_it_goes_at_once() {
    let (_dir, store, first) = store_with(1, t0());
    let a = first[0];
    let sender = Scripted::answering([unreachable()]);
    let mut unrecorded = Unrecorded::default();
    assert_eq!(
        drain(&store, &sender, &mut unrecorded, t0()).await,
        Round::Sent(0)
    );
    let queued = t0() + Duration::seconds(1);
    let b = queue(&store, 1, "housing@example.ru", queued);
    let c = queue(&store, 2, "roads@example.ru", queued);

    let back = t0() + Duration::seconds(2);
    assert!(store.outbox_mail(a).unwrap().unwrap().next_attempt > back);
    assert_eq!(
        drain(&store, &sender, &mut unrecorded, back).await,
        Round::Sent(3)
    );
    assert_eq!(sender.attempts(), [a, c, a, b]);
    assert_eq!(store.outbox_len(), 0);
}

/// A 4xx about the mail itself (a full mailbox) is not the server being down: the mail
/// keeps its backoff however much other mail goes meanwhile, so one full mailbox does not
/// cost a connection every round.
#[tokio::test]
async fn a_mail_deferred_for_its_own_sake_keeps_its_backoff_while_other_mail_goes() {
    let (_dir, store, first) = store_with(1, t0());
    let a = first[0];
    let full = Err(SendError::Deferred("452 4.2.2 mailbox full".into()));
    let sender = Scripted::answering([full]);
    let mut unrecorded = Unrecorded::default();
    assert_eq!(
        drain(&store, &sender, &mut unrecorded, t0()).await,
        Round::Sent(0)
    );
    let retry = store.outbox_mail(a).unwrap().unwrap().next_attempt;
    let mut others = Vec::new();
    for i in 1..=3 {
        let at = t0() + Duration::seconds(i);
        assert!(at < retry);
        others.push(queue(&store, 2, &format!("p{i}@example.ru"), at));
        assert_eq!(
            drain(&store, &sender, &mut unrecorded, at).await,
            Round::Sent(1)
        );
    }
    assert_eq!(sender.attempts(), [vec![a], others.clone()].concat());
    assert_eq!(
        drain(&store, &sender, &mut unrecorded, retry).await,
        Round::Sent(1)
    );
    assert_eq!(sender.attempts(), [vec![a], others, vec![a]].concat());
}

/// A mail that fails at the connection level again right after it was brought forward
/// (while the server takes other mail) waits its own, longer backoff: it is not brought
/// forward every round.
#[tokio::test]
async fn a_mail_failing_again_once_brought_forward_waits_its_own_backoff() {
    let (_dir, store, first) = store_with(1, t0());
    let a = first[0];
    let sender = Scripted::answering([unreachable(), Ok(()), unreachable()]);
    let mut unrecorded = Unrecorded::default();
    assert_eq!(
        drain(&store, &sender, &mut unrecorded, t0()).await,
        Round::Sent(0)
    );
    let c = queue(&store, 2, "roads@example.ru", t0() + Duration::seconds(1));
    let back = t0() + Duration::seconds(2);
    assert_eq!(
        drain(&store, &sender, &mut unrecorded, back).await,
        Round::Sent(1)
    );
    assert_eq!(sender.attempts(), [a, c, a]);
    let m = store.outbox_mail(a).unwrap().unwrap();
    assert_eq!(m.attempts, 2);
    assert_eq!(m.next_attempt, back + std_secs(backoff(1)));

    // More mail goes before that time: the mail is not tried with it.
    let next = back + Duration::seconds(1);
    let d = queue(&store, 3, "water@example.ru", next);
    assert_eq!(
        drain(&store, &sender, &mut unrecorded, next).await,
        Round::Sent(1)
    );
    assert_eq!(sender.attempts(), [a, c, a, d]);
    assert_eq!(
        drain(&store, &sender, &mut unrecorded, m.next_attempt).await,
        Round::Sent(1)
    );
    assert_eq!(sender.attempts(), [a, c, a, d, a]);
}

/// A backlog of 10,000 mails with the server down, every one of them of the lane of the
/// first, which waits out its retries: each round holds them all back behind it, so only
/// the first is ever tried and nothing is lost or tried out of turn. (What a round costs is
/// measured, not asserted: a test must not fail because the machine is slow.)
#[tokio::test]
async fn a_large_backlog_waits_behind_its_first_mail_while_the_server_is_down() {
    const N: usize = 10_000;
    let (_dir, store, seqs) = store_with(N, t0());
    let sender = Scripted::answering((0..N).map(|_| unreachable()));
    let mut unrecorded = Unrecorded::default();
    for i in 0..8 {
        let at = t0() + Duration::seconds(3 * i);
        assert_eq!(
            drain(&store, &sender, &mut unrecorded, at).await,
            Round::Sent(0)
        );
    }
    // Only the first was tried: at 0, then at 6 (5 s later) and at 21 (10 s after that).
    assert_eq!(sender.attempts(), [seqs[0]; 3]);
    assert_eq!(store.outbox_len(), N);
}

/// Counts the sends in flight at once: each send yields once before it completes, so
/// sends started together overlap, and sends made one after another never do.
#[derive(Default)]
struct Overlap {
    in_flight: std::sync::atomic::AtomicUsize,
    most: std::sync::atomic::AtomicUsize,
}

impl Sender for Overlap {
    fn send(&self, _mail: &OutMail) -> impl Future<Output = Result<(), SendError>> + Send {
        use std::sync::atomic::Ordering::SeqCst;
        async move {
            let now = self.in_flight.fetch_add(1, SeqCst) + 1;
            self.most.fetch_max(now, SeqCst);
            tokio::task::yield_now().await;
            self.in_flight.fetch_sub(1, SeqCst);
            Ok(())
        }
    }
}

/// Mails to different people leave side by side (one SMTP connection each), not one after
/// another.
#[tokio::test]
async fn mails_to_different_people_are_in_flight_together() {
    // One recipient per lane.
    let mut people: Vec<String> = Vec::new();
    for i in 0.. {
        let p = format!("p{i}@example.ru");
        if people
            .iter()
            .all(|q| outbox::lane_for(Some(1), q) != outbox::lane_for(Some(1), &p))
        {
            people.push(p);
        }
        if people.len() == outbox::LANES {
            break;
        }
    }
    let to: Vec<&str> = people.iter().map(String::as_str).collect();
    let (_dir, store, _) = store_to(&to, t0());
    let sender = Overlap::default();
    let mut unrecorded = Unrecorded::default();
    let heartbeat = AtomicU64::new(0);
    let at = t0();
    let round = outbox::drain_at(&store, &sender, &mut unrecorded, &heartbeat, &move || at).await;
    assert_eq!(round, Round::Sent(outbox::LANES));
    assert_eq!(store.outbox_len(), 0);
    assert_eq!(
        sender.most.load(std::sync::atomic::Ordering::SeqCst),
        outbox::LANES,
        "one mail in flight per lane"
    );
}

/// One person's mails about a case leave in the order they were queued, whoever else is
/// sent to.
#[tokio::test]
async fn each_persons_mails_keep_their_order() {
    let to: Vec<String> = (0..40).map(|i| format!("p{}@example.ru", i % 5)).collect();
    let (_dir, store, seqs) = store_to(&to.iter().map(String::as_str).collect::<Vec<_>>(), t0());
    let sender = Scripted::default();
    let mut unrecorded = Unrecorded::default();
    assert_eq!(
        drain(&store, &sender, &mut unrecorded, t0()).await,
        Round::Sent(40)
    );
    let attempts = sender.attempts();
    let mut sorted = attempts.clone();
    sorted.sort();
    assert_eq!(sorted, seqs, "each once");
    for p in 0..5 {
        let theirs: Vec<u64> = attempts
            .iter()
            .copied()
            .filter(|s| (seqs.iter().position(|x| x == s).unwrap()) % 5 == p)
            .collect();
        assert!(theirs.windows(2).all(|w| w[0] < w[1]), "{p}: {theirs:?}");
    }
}

/// A backlog of new cases for one executor is not sent one mail at a time: mails about
/// different cases to the same person use different lanes.
#[tokio::test]
async fn one_persons_mails_about_different_cases_are_in_flight_together() {
    let to = "housing@example.ru";
    let mut cases: Vec<u64> = Vec::new();
    for case in 1.. {
        if cases
            .iter()
            .all(|c| outbox::lane_for(Some(*c), to) != outbox::lane_for(Some(case), to))
        {
            cases.push(case);
        }
        if cases.len() == outbox::LANES {
            break;
        }
    }
    let (_dir, store, _) = store_with(0, t0());
    let mails: Vec<OutMail> = cases
        .iter()
        .map(|&case| OutMail {
            seq: store.generate_id().unwrap(),
            case: Some(case),
            message_id: format!("c{case}@example.ru"),
            envelope_from: "otklik@example.ru".into(),
            to: vec![to.into()],
            raw: format!("Subject: case {case}\r\n\r\nbody\r\n").into_bytes(),
            attempts: 0,
            next_attempt: t0(),
            last_error: None,
            created: t0(),
        })
        .collect();
    store
        .commit(Commit {
            outbox: mails,
            ..Commit::default()
        })
        .unwrap();
    let sender = Overlap::default();
    let mut unrecorded = Unrecorded::default();
    let heartbeat = AtomicU64::new(0);
    let at = t0();
    let round = outbox::drain_at(&store, &sender, &mut unrecorded, &heartbeat, &move || at).await;
    assert_eq!(round, Round::Sent(outbox::LANES));
    assert_eq!(
        sender.most.load(std::sync::atomic::Ordering::SeqCst),
        outbox::LANES
    );
}
