//! The durable outbox: the only way mail leaves. Messages are written by
//! the same transaction as the case change that caused them; this task sends them as they
//! are (same bytes, same Message-ID), marks them sent, retries transient failures with
//! backoff and parks permanent ones as dead letters.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{Notify, watch};

use otklik_core::compose::OutMail;

use crate::smtp::{SendError, Smtp};
use crate::store::{Queued, Resend, Store, StoreError};

/// What the outbox hands a mail to: the SMTP client in the service, a scripted one in the
/// tests of the retry logic. It sends the mail's bytes unchanged to its envelope and says,
/// on failure, whether trying again can help ([`SendError::is_permanent`]).
pub trait Sender {
    fn send(&self, mail: &OutMail) -> impl Future<Output = Result<(), SendError>> + Send;
}

impl Sender for Smtp {
    fn send(&self, mail: &OutMail) -> impl Future<Output = Result<(), SendError>> + Send {
        Smtp::send(self, &mail.envelope_from, &mail.to, &mail.raw)
    }
}

/// The sender reads the queue this many entries at a time.
pub const PAGE: usize = 64;

/// Mails in flight at once, each on its own SMTP connection (the transport's pool holds as
/// many). The mails of one case to one person share a lane and leave in the order they were
/// queued (a rework never overtakes its forward); a lane holds one whole mail at a time, so
/// a backlog of large mails never sits in memory at once.
pub const LANES: usize = 4;

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

/// Mails the SMTP server accepted but whose "sent" mark could not be written yet (a full
/// disk): never sent again, their mark retried each round.
#[derive(Debug, Default)]
pub struct Unrecorded(std::collections::BTreeMap<u64, chrono::DateTime<Utc>>);

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
/// due (tests pass their own).
pub async fn drain_at(
    store: &Store,
    sender: &impl Sender,
    unrecorded: &mut Unrecorded,
    heartbeat: &AtomicU64,
    clock: &(dyn Fn() -> chrono::DateTime<Utc> + Sync),
) -> Round {
    if let Err(e) = store.flush().await {
        tracing::error!(error = %e, "the store cannot be made durable; holding the outbox");
        return Round::StoreFailed;
    }
    unrecorded
        .0
        .retain(|seq, at| match store.outbox_sent(*seq, *at) {
            Ok(()) => false,
            Err(e) => {
                tracing::error!(error = %e, seq, "still cannot record a sent mail");
                true
            }
        });
    let now = clock();
    let mut sent = 0;
    let mut after: Option<Queued> = None;
    loop {
        let page = match store.outbox_queue(after, PAGE) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "outbox unreadable");
                return Round::StoreFailed;
            }
        };
        let last_page = page.len() < PAGE;
        after = page.last().copied();
        let due: Vec<Queued> = page
            .iter()
            .filter(|q| q.due <= now && !unrecorded.0.contains_key(&q.seq))
            .copied()
            .collect();
        let reached_future = page.iter().any(|q| q.due > now);
        // Lanes by case and first recipient, in queue order within each lane.
        let mut lanes: Vec<Vec<Queued>> = vec![Vec::new(); LANES];
        for q in due {
            lanes[lane_of(store, q.seq)].push(q);
        }
        let stop = AtomicBool::new(false);
        let results = futures::future::join_all(
            lanes
                .into_iter()
                .filter(|l| !l.is_empty())
                .map(|lane| send_lane(store, sender, heartbeat, clock, lane, &stop)),
        )
        .await;
        let mut store_failed = false;
        let mut accepted = Vec::new();
        for r in results {
            store_failed |= r.store_failed;
            accepted.extend(r.accepted);
        }
        sent += accepted.len();
        // A sent-mark that could not be made durable is kept in memory: that mail is never
        // sent again by this process, and its mark is written again each round.
        if store_failed {
            for (seq, at) in accepted {
                unrecorded.0.insert(seq, at);
            }
            return Round::StoreFailed;
        }
        if stop.load(Ordering::Relaxed) || reached_future || last_page {
            return Round::Sent(sent);
        }
    }
}

/// Which lane a queued mail goes to: by its case and first recipient, so one person's mails
/// about one case keep their order.
fn lane_of(store: &Store, seq: u64) -> usize {
    let (case, to) = store
        .outbox_lane_key(seq)
        .ok()
        .flatten()
        .unwrap_or_default();
    lane_for(case, &to)
}

/// The lane of a case's mail to a recipient's address (case-insensitive).
pub fn lane_for(case: Option<u64>, address: &str) -> usize {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    case.hash(&mut h);
    address.to_lowercase().hash(&mut h);
    (h.finish() % LANES as u64) as usize
}

/// What one lane did.
#[derive(Default)]
struct LaneResult {
    /// Accepted by the server, their "sent" mark on disk (or not, if `store_failed`).
    accepted: Vec<(u64, chrono::DateTime<Utc>)>,
    store_failed: bool,
}

/// Sends a lane's mails one after another; stops early when the server seems down (any
/// lane's transient failure) or the store fails.
async fn send_lane(
    store: &Store,
    sender: &impl Sender,
    heartbeat: &AtomicU64,
    clock: &(dyn Fn() -> chrono::DateTime<Utc> + Sync),
    lane: Vec<Queued>,
    stop: &AtomicBool,
) -> LaneResult {
    let mut out = LaneResult::default();
    for q in lane {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let mail = match store.outbox_mail(q.seq) {
            Ok(Some(m)) => m,
            Ok(None) => continue,
            // One damaged mail must not hold up the others: it stays, and is logged.
            Err(
                e @ (StoreError::Corrupt { .. }
                | StoreError::Damaged { .. }
                | StoreError::MissingAttachment { .. }),
            ) => {
                tracing::error!(error = %e, seq = q.seq, "outbox mail unreadable; skipped");
                continue;
            }
            Err(e) => {
                tracing::error!(error = %e, seq = q.seq, "outbox mail unreadable");
                out.store_failed = true;
                stop.store(true, Ordering::Relaxed);
                break;
            }
        };
        match send_one(store, sender, heartbeat, clock, mail).await {
            Step::Sent(seq, at) => out.accepted.push((seq, at)),
            Step::Next => {}
            Step::Stop => {
                stop.store(true, Ordering::Relaxed);
                break;
            }
            Step::StoreFailed(accepted) => {
                out.accepted.extend(accepted);
                out.store_failed = true;
                stop.store(true, Ordering::Relaxed);
                break;
            }
        }
    }
    out
}

/// What became of one mail.
enum Step {
    /// Accepted, and its "sent" mark on disk, with the time.
    Sent(u64, chrono::DateTime<Utc>),
    /// Not sent (refused for good, a dead letter now): go on with the next.
    Next,
    /// The server is likely down: stop this round.
    Stop,
    /// The store could not be written; the mail, if it was accepted, with its time.
    StoreFailed(Option<(u64, chrono::DateTime<Utc>)>),
}

async fn send_one(
    store: &Store,
    sender: &impl Sender,
    heartbeat: &AtomicU64,
    clock: &(dyn Fn() -> chrono::DateTime<Utc> + Sync),
    mail: OutMail,
) -> Step {
    // A long drain is still a live loop for the watchdog.
    heartbeat.store(Utc::now().timestamp() as u64, Ordering::Relaxed);
    let started = std::time::Instant::now();
    match sender.send(&mail).await {
        Ok(()) => {
            let at = clock();
            tracing::info!(
                case = %case_label(&mail),
                to = ?mail.to,
                message_id = %mail.message_id,
                send_ms = started.elapsed().as_secs_f64() * 1000.0,
                queued_ms = (at - mail.created).num_microseconds().unwrap_or(0) as f64 / 1000.0,
                "mail sent"
            );
            // On disk at once (a sled flush takes well under a millisecond here): a crash can
            // then re-send only the mails in flight, at most one a lane.
            let recorded = match store.outbox_sent(mail.seq, at) {
                Ok(()) => store.flush().await,
                Err(e) => Err(e),
            };
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
            Step::Stop
        }
    }
}

/// When the next queued mail is due, leaving out those sent but not yet recorded.
fn next_due(store: &Store, unrecorded: &Unrecorded) -> Option<chrono::DateTime<Utc>> {
    let mut after = None;
    loop {
        let page = store.outbox_queue(after, PAGE).ok()?;
        if let Some(q) = page.iter().find(|q| !unrecorded.0.contains_key(&q.seq)) {
            return Some(q.due);
        }
        if page.len() < PAGE {
            return None;
        }
        after = page.last().copied();
    }
}

/// Runs until shutdown: drains the outbox whenever woken or when a retry is due. `smtp`
/// follows config reloads: each round uses the transport in force.
pub async fn run<S: Sender>(
    store: Store,
    smtp: watch::Receiver<Arc<S>>,
    wake: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
    heartbeat: Arc<AtomicU64>,
) {
    let mut unrecorded = Unrecorded::default();
    let mut store_failures = 0u32;
    loop {
        heartbeat.store(Utc::now().timestamp() as u64, Ordering::Relaxed);
        let transport = smtp.borrow().clone();
        let next = match drain(&store, &*transport, &mut unrecorded, &heartbeat).await {
            Round::StoreFailed => {
                store_failures += 1;
                backoff(store_failures.saturating_sub(1))
            }
            Round::Sent(_) => {
                store_failures = 0;
                // A mail still overdue after a round could not be read (it was logged):
                // the regular poll, not a busy loop. New mail wakes the sender anyway.
                next_due(&store, &unrecorded)
                    .and_then(|t| (t - Utc::now()).to_std().ok())
                    .unwrap_or(Duration::from_secs(30))
                    .min(Duration::from_secs(30))
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

/// Where a mail listed by `otklik outbox` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailState {
    /// Waiting to be sent (or retried).
    Queued,
    /// Refused for good: kept until resent.
    Dead,
}

impl MailState {
    pub fn as_str(self) -> &'static str {
        match self {
            MailState::Queued => "queued",
            MailState::Dead => "dead",
        }
    }
}

/// One mail as `otklik outbox` lists it: no bytes, the subject decoded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Listed {
    pub seq: u64,
    pub state: MailState,
    pub to: Vec<String>,
    pub case: Option<u64>,
    pub subject: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    /// None for a dead letter: nothing is tried until it is resent.
    pub next_attempt: Option<chrono::DateTime<Utc>>,
}

impl Listed {
    pub fn new(mail: &OutMail, state: MailState) -> Listed {
        Listed {
            seq: mail.seq,
            state,
            to: mail.to.clone(),
            case: mail.case,
            subject: subject(&mail.raw),
            attempts: mail.attempts,
            last_error: mail.last_error.clone(),
            next_attempt: (state == MailState::Queued).then_some(mail.next_attempt),
        }
    }
}

/// The decoded `Subject:` of a stored message ("" when it has none).
pub fn subject(raw: &[u8]) -> String {
    mail_parser::MessageParser::new()
        .parse_headers(raw)
        .and_then(|m| m.subject().map(str::to_string))
        .unwrap_or_default()
}

/// The queued mails, soonest due first (unless `dead_only`), then the dead letters in the
/// order they were written. One mail's bytes in memory at a time.
pub fn list(store: &Store, dead_only: bool) -> Result<Vec<Listed>, StoreError> {
    let mut out = Vec::new();
    if !dead_only {
        let mut after = None;
        loop {
            let page = store.outbox_queue(after, PAGE)?;
            for q in &page {
                if let Some(mail) = store.outbox_mail(q.seq)? {
                    out.push(Listed::new(&mail, MailState::Queued));
                }
            }
            if page.len() < PAGE {
                break;
            }
            after = page.last().copied();
        }
    }
    for seq in store.dead_letter_seqs()? {
        if let Some(mail) = store.dead_letter(seq)? {
            out.push(Listed::new(&mail, MailState::Dead));
        }
    }
    Ok(out)
}

/// Why a dead letter could not be resent.
#[derive(Debug, thiserror::Error)]
pub enum ResendError {
    #[error("mail {0} is queued, not dead: the sender is already trying it")]
    Queued(u64),
    #[error("no mail {0} in the outbox (`otklik outbox --dead` lists the dead letters)")]
    Unknown(u64),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Puts dead letter `seq` back in the queue, due now, and makes it durable. The sender
/// must be woken afterwards when it runs.
pub fn resend(store: &Store, seq: u64) -> Result<(), ResendError> {
    match store.outbox_resend(seq, Utc::now())? {
        Resend::Done => {
            store.flush_blocking()?;
            tracing::info!(seq, "dead letter queued again");
            Ok(())
        }
        Resend::Queued => Err(ResendError::Queued(seq)),
        Resend::Unknown => Err(ResendError::Unknown(seq)),
    }
}
