//! The durable outbox: the only way mail leaves. Messages are written by
//! the same transaction as the case change that caused them; this task sends them as they
//! are (same bytes, same Message-ID), marks them sent, retries transient failures with
//! backoff and parks permanent ones as dead letters. One person's mails about one case
//! leave in the order they were queued, a retry included (`order`); mail deferred while the
//! server could not be reached goes as soon as the server takes mail again (`resume`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{Notify, mpsc, watch};

use otklik_core::auth::Secret;
use otklik_core::compose::OutMail;
use otklik_core::config::Config;

use crate::gathering::{Gate, Released};
use crate::smtp::{SendError, Smtp};
use crate::store::{Queued, Store, StoreError};

mod listing;
mod order;
mod resume;

pub use listing::{Listed, MailState, ResendError, list, resend, subject};
pub use order::{lane_among, lane_for};

use order::{LaneOrder, lane_key_or_default, next_due};

/// What the outbox hands a mail to: the SMTP client in the service, a scripted one in the
/// tests of the retry logic. It sends the mail's bytes unchanged to its envelope and says,
/// on failure, whether trying again can help ([`SendError::is_permanent`]).
pub trait Sender {
    /// Hands one mail to the server; `Ok` once the server accepted it.
    fn send(&self, mail: &OutMail) -> impl Future<Output = Result<(), SendError>> + Send;

    /// How many mails may be in flight at once.
    fn lanes(&self) -> usize {
        LANES
    }
}

impl Sender for Smtp {
    fn send(&self, mail: &OutMail) -> impl Future<Output = Result<(), SendError>> + Send {
        Smtp::send(self, &mail.envelope_from, &mail.to, &mail.raw)
    }

    fn lanes(&self) -> usize {
        self.connections()
    }
}

/// The sender reads the queue this many entries at a time.
pub const PAGE: usize = 64;

/// Mails in flight at once by default, each on its own SMTP connection (the transport's
/// pool holds as many): `smtp.connections` sets it. The mails of one case to one person
/// share a lane and leave in the order they were queued (a rework never overtakes its
/// forward), even when an earlier one waits out a retry: a later one is held back until
/// the earlier one goes (see the `order` module). A lane holds one whole mail at a time, so
/// a backlog of large mails never sits in memory at once.
pub const LANES: usize = 4;

/// How many queue entries (a due instant and a number each, never a mail's bytes) wait
/// ahead of one lane while the reader looks further down the queue.
const LANE_DEPTH: usize = 256;

/// Backoff after the `attempts`-th transient failure: 5 s doubling up to 10 min.
pub fn backoff(attempts: u32) -> Duration {
    let secs = 5u64.saturating_mul(1u64 << attempts.min(8));
    Duration::from_secs(secs.min(600))
}

/// The case a mail is about, for logs: `OTK-42`-style only where the case is known.
fn case_label(mail: &OutMail) -> String {
    match mail.case {
        Some(n) => format!("#{n}"),
        None => "-".into(),
    }
}

/// What one round of sending did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Round {
    /// How many were sent.
    Sent(usize),
    /// The store could not be read or made durable: nothing was sent; try again later.
    StoreFailed,
}

/// What the sender carries from one round to the next: chiefly the mails the SMTP server
/// accepted whose "sent" mark could not be written yet (a full disk), never sent again,
/// their mark retried each round; and whether the server is known to be up (the `resume`
/// module's rule for mail deferred while it could not be reached).
#[derive(Debug, Default)]
pub struct Unrecorded {
    /// Accepted, not yet marked sent: number → when accepted.
    marks: std::collections::BTreeMap<u64, chrono::DateTime<Utc>>,
    /// A round showed the server up (it took mail, nothing failed at the connection
    /// level) and no attempt of a mail on its own schedule failed at the connection level
    /// since. False at start: not known.
    server_up: bool,
}

impl Unrecorded {
    /// Whether queued mail `seq` was accepted, its mark not yet written: it has left.
    fn holds(&self, seq: u64) -> bool {
        self.marks.contains_key(&seq)
    }

    /// The mails a pass sent: how many, or None when the store failed (their marks, kept
    /// in memory, are written again each round; the mails are never sent again by this
    /// process).
    fn settle(&mut self, pass: Pass) -> Option<usize> {
        if pass.store_failed {
            self.marks.extend(pass.accepted);
            return None;
        }
        Some(pass.accepted.len())
    }
}

/// Sends what is due.
///
/// Only what is durable leaves: the store is flushed first, so a mail whose case change
/// could not be written to disk is never sent (a crash would lose the case after the mail
/// went out).
pub async fn drain(
    store: &Store,
    sender: &impl Sender,
    unrecorded: &mut Unrecorded,
    heartbeat: &AtomicU64,
) -> Round {
    drain_at(store, sender, unrecorded, heartbeat, &Utc::now).await
}

/// [`drain`] with the time from `clock`: what is due, when a mail was sent, when a retry is
/// due (tests pass their own), on [`LANES`] lanes.
pub async fn drain_at(
    store: &Store,
    sender: &impl Sender,
    unrecorded: &mut Unrecorded,
    heartbeat: &AtomicU64,
    clock: &(dyn Fn() -> chrono::DateTime<Utc> + Sync),
) -> Round {
    drain_lanes(store, sender, unrecorded, heartbeat, clock, LANES, None).await
}

/// One round on `lanes` lanes (at least one).
///
/// The queue is read as the lanes go, not page by page behind them: a reader hands each
/// due entry to its lane and reads on while the lanes send, so no lane waits for the
/// slowest of a page. When the reader reaches the end of the queue while lanes are still
/// busy, it looks again each time a lane finishes a mail: mail queued meanwhile (a burst
/// of notifications being handled) joins the same round. A due mail with a mail of its
/// lane queued before it still in the queue is held back until that one goes (the `order`
/// module). The round ends when nothing due is left and every lane is idle, or at the
/// first transient failure or store failure. If the round shows the server taking mail
/// again after it could not be reached, the mails deferred meanwhile are made due and the
/// round goes on once more (the `resume` module).
///
/// What a round costs, with n mails queued. Its first pass looks the queue's index over
/// once (a due instant and a number each, never a mail), reading the record of each mail
/// reached after a mail queued later than it (the retried ones, for their lanes); then it
/// reads the due part of the index again as the lanes go: one record per due mail (for its
/// lane), and each mail sent read whole, one at a time per lane. With the server down the
/// pass stops at the first failure, having read at most the index twice over. A round that
/// shows the server back after it could not be reached adds one pass over the part not
/// yet due (records only) and, if that brought mails forward, a second pass as the first.
/// So a round reads the index at most four times over and each record a few times at most,
/// whatever n and however long the server was down; [`run`] then looks the index over once
/// more for the next time a mail is due.
pub async fn drain_lanes(
    store: &Store,
    sender: &impl Sender,
    unrecorded: &mut Unrecorded,
    heartbeat: &AtomicU64,
    clock: &(dyn Fn() -> chrono::DateTime<Utc> + Sync),
    lanes: usize,
    gate: Option<&Gate>,
) -> Round {
    if let Err(e) = store.flush().await {
        tracing::error!(error = %e, "the store cannot be made durable; holding the outbox");
        return Round::StoreFailed;
    }
    unrecorded
        .marks
        .retain(|seq, at| match store.outbox_sent(*seq, *at) {
            Ok(()) => false,
            Err(e) => {
                tracing::error!(error = %e, seq, "still cannot record a sent mail");
                true
            }
        });
    let lanes = lanes.max(1);
    let first = send_pass(store, sender, unrecorded, heartbeat, clock, lanes, gate).await;
    let seen = resume::Seen {
        stopped: first.stopped,
        unreachable: first.unreachable,
        accepted: first.accepted.len(),
    };
    let Some(sent) = unrecorded.settle(first) else {
        return Round::StoreFailed;
    };
    if resume::after_pass(store, unrecorded, seen, clock()) == 0 {
        return Round::Sent(sent);
    }
    let again = send_pass(store, sender, unrecorded, heartbeat, clock, lanes, gate).await;
    match unrecorded.settle(again) {
        Some(more) => Round::Sent(sent + more),
        None => Round::StoreFailed,
    }
}

/// What one pass of the reader and the lanes over the queue did.
struct Pass {
    /// Accepted by the server, with the time; their marks on disk unless `store_failed`.
    accepted: Vec<(u64, chrono::DateTime<Utc>)>,
    /// The store could not be read or written.
    store_failed: bool,
    /// A failure stopped the pass before the end of what was due.
    stopped: bool,
    /// An attempt failed at the connection level ([`SendError::is_connection_level`]).
    unreachable: bool,
}

/// The reader and the lanes, once over the due part of the queue.
async fn send_pass(
    store: &Store,
    sender: &impl Sender,
    unrecorded: &Unrecorded,
    heartbeat: &AtomicU64,
    clock: &(dyn Fn() -> chrono::DateTime<Utc> + Sync),
    lanes: usize,
    gate: Option<&Gate>,
) -> Pass {
    let shared = Shared {
        stop: AtomicBool::new(false),
        outstanding: AtomicUsize::new(0),
        progress: Notify::new(),
        read_failed: AtomicBool::new(false),
        unreachable: AtomicBool::new(false),
        flush: GroupFlush::default(),
    };
    let mut senders = Vec::with_capacity(lanes);
    let mut receivers = Vec::with_capacity(lanes);
    for _ in 0..lanes {
        let (tx, rx) = mpsc::channel::<Queued>(LANE_DEPTH);
        senders.push(tx);
        receivers.push(rx);
    }
    let reader = read_queue(store, unrecorded, clock, senders, &shared, gate);
    let workers = futures::future::join_all(
        receivers
            .into_iter()
            .map(|rx| send_lane(store, sender, heartbeat, clock, rx, &shared, gate)),
    );
    let ((), results) = tokio::join!(reader, workers);
    let mut pass = Pass {
        accepted: Vec::new(),
        store_failed: shared.read_failed.load(Ordering::Relaxed),
        stopped: shared.stop.load(Ordering::Relaxed),
        unreachable: shared.unreachable.load(Ordering::Relaxed),
    };
    for r in results {
        pass.store_failed |= r.store_failed;
        pass.accepted.extend(r.accepted);
    }
    pass
}

/// The lanes' sent-marks made durable together: a lane whose mark is written asks for a
/// flush, and one flush (one fsync) serves every mark written before it began, so lanes
/// finishing at once do not queue for a disk sync each.
#[derive(Default)]
struct GroupFlush {
    /// Requests so far; a request is made after its mark is written.
    asked: AtomicU64,
    /// Held while flushing: the number of the last request the last good flush covered.
    done: tokio::sync::Mutex<u64>,
}

impl GroupFlush {
    async fn flush(&self, store: &Store) -> Result<(), StoreError> {
        let mine = self.asked.fetch_add(1, Ordering::SeqCst) + 1;
        let mut done = self.done.lock().await;
        if *done >= mine {
            return Ok(());
        }
        // Every request up to here wrote its mark before asking: this flush covers them.
        let upto = self.asked.load(Ordering::SeqCst);
        store.flush().await?;
        *done = upto;
        Ok(())
    }
}

/// What the reader and the lanes of one round share.
struct Shared {
    /// A transient failure (the server seems down) or a store failure: no more mail this round.
    stop: AtomicBool,
    /// Entries handed to a lane and not yet dealt with.
    outstanding: AtomicUsize,
    /// A lane finished a mail.
    progress: Notify,
    /// The queue could not be read.
    read_failed: AtomicBool,
    /// An attempt failed at the connection level.
    unreachable: AtomicBool,
    /// The sent-marks' flushes.
    flush: GroupFlush,
}

/// Hands each due entry of the queue to its lane, in due order, except that a mail waits
/// for the mails of its lane queued before it ([`LaneOrder`]).
async fn read_queue(
    store: &Store,
    unrecorded: &Unrecorded,
    clock: &(dyn Fn() -> chrono::DateTime<Utc> + Sync),
    senders: Vec<mpsc::Sender<Queued>>,
    shared: &Shared,
    gate: Option<&Gate>,
) {
    let lanes = senders.len() as u64;
    let mut order = match LaneOrder::scan(store, unrecorded) {
        Ok(o) => o,
        Err(e) => {
            tracing::error!(error = %e, "outbox unreadable");
            shared.read_failed.store(true, Ordering::Relaxed);
            shared.stop.store(true, Ordering::Relaxed);
            return;
        }
    };
    let mut after: Option<Queued> = None;
    'pages: loop {
        if shared.stop.load(Ordering::Relaxed) {
            break;
        }
        // Set up before looking, so that a lane finishing meanwhile is not missed.
        let progressed = shared.progress.notified();
        let now = clock();
        let page = match store.outbox_queue(after, PAGE) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "outbox unreadable");
                shared.read_failed.store(true, Ordering::Relaxed);
                shared.stop.store(true, Ordering::Relaxed);
                break;
            }
        };
        let end = page.len() < PAGE;
        for q in &page {
            if q.due > now {
                break 'pages;
            }
            after = Some(*q);
            if unrecorded.holds(q.seq) {
                continue;
            }
            let key = lane_key_or_default(store, q.seq);
            // A notice the gate holds back stays queued and holds nobody up.
            let handed = if gate.is_some_and(|g| g.holds(q.seq)) {
                order.pass(*q, key)
            } else {
                order.offer(*q, key)
            };
            for q in handed {
                shared.outstanding.fetch_add(1, Ordering::SeqCst);
                if senders[(key % lanes) as usize].send(q).await.is_err() {
                    break 'pages;
                }
            }
        }
        if end {
            // The end of the queue for now. While a lane is busy, mail may be queued behind
            // the last entry read: look again when it finishes.
            if shared.outstanding.load(Ordering::SeqCst) == 0 {
                break;
            }
            progressed.await;
        }
    }
    drop(senders);
}

/// What one lane did.
#[derive(Default)]
struct LaneResult {
    /// Accepted by the server, their "sent" mark on disk (or not, if `store_failed`).
    accepted: Vec<(u64, chrono::DateTime<Utc>)>,
    store_failed: bool,
}

/// Sends a lane's mails one after another as the reader hands them over; after a transient
/// failure (any lane's: the server seems down) or a store failure it only counts off what
/// is still handed to it. A notice the gate holds back stays queued; the mails of its lane
/// handed after it go.
async fn send_lane(
    store: &Store,
    sender: &impl Sender,
    heartbeat: &AtomicU64,
    clock: &(dyn Fn() -> chrono::DateTime<Utc> + Sync),
    mut rx: mpsc::Receiver<Queued>,
    shared: &Shared,
    gate: Option<&Gate>,
) -> LaneResult {
    let mut out = LaneResult::default();
    while let Some(q) = rx.recv().await {
        if !shared.stop.load(Ordering::Relaxed) {
            send_queued(store, sender, heartbeat, clock, q, shared, gate, &mut out).await;
        }
        shared.outstanding.fetch_sub(1, Ordering::SeqCst);
        shared.progress.notify_one();
    }
    out
}

/// One queued entry of a lane: read, sent (or held back by the gate: it stays queued),
/// recorded.
#[allow(clippy::too_many_arguments)]
async fn send_queued(
    store: &Store,
    sender: &impl Sender,
    heartbeat: &AtomicU64,
    clock: &(dyn Fn() -> chrono::DateTime<Utc> + Sync),
    q: Queued,
    shared: &Shared,
    gate: Option<&Gate>,
    out: &mut LaneResult,
) {
    let mail = match store.outbox_mail(q.seq) {
        Ok(Some(m)) => m,
        Ok(None) => return,
        // One damaged mail must not hold up the others: it stays, and is logged.
        Err(
            e @ (StoreError::Corrupt { .. }
            | StoreError::Damaged { .. }
            | StoreError::MissingAttachment { .. }),
        ) => {
            tracing::error!(error = %e, seq = q.seq, "outbox mail unreadable; skipped");
            return;
        }
        Err(e) => {
            tracing::error!(error = %e, seq = q.seq, "outbox mail unreadable");
            out.store_failed = true;
            shared.stop.store(true, Ordering::Relaxed);
            return;
        }
    };
    if let Some(g) = gate
        && !g.admit(store, &mail, clock())
    {
        return;
    }
    match send_one(store, sender, heartbeat, clock, mail, &shared.flush).await {
        Step::Sent(seq, at) => out.accepted.push((seq, at)),
        Step::Next => {}
        Step::Stop { unreachable } => {
            if unreachable {
                shared.unreachable.store(true, Ordering::Relaxed);
            }
            shared.stop.store(true, Ordering::Relaxed);
        }
        Step::StoreFailed(accepted) => {
            out.accepted.extend(accepted);
            out.store_failed = true;
            shared.stop.store(true, Ordering::Relaxed);
        }
    }
}

/// What became of one mail.
enum Step {
    /// Accepted, and its "sent" mark on disk, with the time.
    Sent(u64, chrono::DateTime<Utc>),
    /// Not sent (refused for good, a dead letter now): go on with the next.
    Next,
    /// Deferred: the server is likely down (`unreachable`: it could not be reached at all);
    /// stop this round.
    Stop { unreachable: bool },
    /// The store could not be written; the mail, if it was accepted, with its time.
    StoreFailed(Option<(u64, chrono::DateTime<Utc>)>),
}

async fn send_one(
    store: &Store,
    sender: &impl Sender,
    heartbeat: &AtomicU64,
    clock: &(dyn Fn() -> chrono::DateTime<Utc> + Sync),
    mail: OutMail,
    flush: &GroupFlush,
) -> Step {
    // A long drain is still a live loop for the watchdog.
    heartbeat.store(Utc::now().timestamp() as u64, Ordering::Relaxed);
    let started = std::time::Instant::now();
    match sender.send(&mail).await {
        Ok(()) => {
            let at = clock();
            let send_ms = started.elapsed().as_secs_f64() * 1000.0;
            // On disk before the lane sends its next: a crash can then re-send only the
            // mails in flight, at most one a lane.
            let recording = std::time::Instant::now();
            let recorded = match store.outbox_sent(mail.seq, at) {
                Ok(()) => flush.flush(store).await,
                Err(e) => Err(e),
            };
            tracing::info!(
                case = %case_label(&mail),
                to = ?mail.to,
                message_id = %mail.message_id,
                send_ms,
                record_ms = recording.elapsed().as_secs_f64() * 1000.0,
                queued_ms = (at - mail.created).num_microseconds().unwrap_or(0) as f64 / 1000.0,
                "mail sent"
            );
            if let Err(e) = recorded {
                tracing::error!(error = %e, seq = mail.seq, "sent, but could not record it; it will not be sent again");
                return Step::StoreFailed(Some((mail.seq, at)));
            }
            Step::Sent(mail.seq, at)
        }
        Err(e) if e.is_permanent() => {
            tracing::error!(case = %case_label(&mail), to = ?mail.to, error = %e, "mail refused permanently; kept as a dead letter");
            if let Err(e) = store.outbox_failed(&mail, &e.to_string(), None) {
                tracing::error!(error = %e, "could not record the failure");
                return Step::StoreFailed(None);
            }
            Step::Next
        }
        Err(e) => {
            let wait = backoff(mail.attempts);
            tracing::warn!(case = %case_label(&mail), error = %e, retry_in = ?wait, "mail not sent; will retry");
            let next = clock() + chrono::Duration::from_std(wait).unwrap_or_default();
            if let Err(e) = store.outbox_failed(&mail, &e.to_string(), Some(next)) {
                tracing::error!(error = %e, "could not record the failure");
                return Step::StoreFailed(None);
            }
            Step::Stop {
                unreachable: e.is_connection_level(),
            }
        }
    }
}

/// What the sender needs to gather the coordinator's new-case notices during a burst: the
/// config in force (for the mail listing them) and the key that signs its codes.
pub struct Gathering {
    /// The config in force, followed across reloads.
    pub config: watch::Receiver<Arc<Config>>,
    /// The key that signs the list's action codes.
    pub secret: Secret,
}

/// Runs until shutdown: drains the outbox whenever woken or when a retry is due. `smtp`
/// follows config reloads: each round uses the transport in force, with as many lanes as
/// it keeps connections. With `gathering`, new-case notices to the coordinator are
/// gathered during a burst ([`crate::gathering`]).
pub async fn run<S: Sender>(
    store: Store,
    smtp: watch::Receiver<Arc<S>>,
    wake: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
    heartbeat: Arc<AtomicU64>,
    gathering: Option<Gathering>,
) {
    let mut unrecorded = Unrecorded::default();
    let mut store_failures = 0u32;
    let gate = gathering.as_ref().map(|_| Gate::new());
    // Lets the held notices go whose minute is over; when to look again.
    let release = |gate: &Gate, gathering: &Gathering| {
        let config = gathering.config.borrow().clone();
        match gate.release(&store, &config, &gathering.secret, Utc::now()) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "could not gather the new-case notices; trying again shortly");
                Released {
                    again: Some(Utc::now() + chrono::Duration::seconds(5)),
                    ready: false,
                }
            }
        }
    };
    loop {
        heartbeat.store(Utc::now().timestamp() as u64, Ordering::Relaxed);
        let transport = smtp.borrow().clone();
        if let (Some(g), Some(gathering)) = (&gate, &gathering)
            && g.held() > 0
        {
            release(g, gathering);
        }
        let round = drain_lanes(
            &store,
            &*transport,
            &mut unrecorded,
            &heartbeat,
            &Utc::now,
            transport.lanes(),
            gate.as_ref(),
        )
        .await;
        let next = match round {
            Round::StoreFailed => {
                store_failures += 1;
                backoff(store_failures.saturating_sub(1))
            }
            Round::Sent(_) => {
                store_failures = 0;
                // Notices held in this round: the gate says when they may go (and lets go
                // those whose minute is already over).
                let released = match (&gate, &gathering) {
                    (Some(g), Some(gathering)) if g.held() > 0 => release(g, gathering),
                    _ => Released {
                        again: None,
                        ready: false,
                    },
                };
                if released.ready {
                    Duration::ZERO
                } else {
                    // A mail still overdue after a round could not be read (it was logged):
                    // the regular poll, not a busy loop. New mail wakes the sender anyway.
                    let now = Utc::now();
                    let due = next_due(&store, &unrecorded, gate.as_ref())
                        .and_then(|t| (t - now).to_std().ok())
                        .unwrap_or(Duration::from_secs(30));
                    // The held notices' minute, when it ends (at once if it just did).
                    let release = released
                        .again
                        .map(|t| (t - now).to_std().unwrap_or(Duration::ZERO))
                        .unwrap_or(Duration::MAX);
                    due.min(release).min(Duration::from_secs(30))
                }
            }
        };
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(next) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            return;
        }
    }
}
