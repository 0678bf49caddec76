//! The order of one person's mails about one case: a mail never leaves while a mail of its
//! lane (the same case and first recipient, case-insensitive) queued before it is still
//! queued.
//!
//! The queue is read in due order, and a mail deferred after a failure is due later than
//! the mails queued behind it meanwhile: read as it comes, a rework would overtake its
//! forward while the forward waits out its backoff. So before a round the whole index of
//! the queue is looked over once (due instants and numbers only, never a mail) for the mails
//! reached later in due order than a mail queued after them — the retried ones, mostly —
//! and only their records are read, for their lanes. A due mail with one of those of its
//! lane queued before it is held back: it stays in the queue, and leaves right after the
//! earlier one is handed to the lane (the lane sends one mail after another), in the same
//! round if that one is due in it, else in the round it goes in. A new-case notice the
//! gate holds back holds nobody up: it goes later as a list of the notices gathered, a mail
//! of its own, so the coordinator's other mail about that case (an approval request) is
//! not kept waiting for the gathering minute. A damaged mail (one that cannot be read)
//! holds nobody up either: it is skipped when its turn comes, and the mails behind it go.
//!
//! Mail is queued in the order of its numbers, so "queued before" is "a lower number".

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};

use super::Unrecorded;
use crate::gathering::Gate;
use crate::store::{Queued, Store, StoreError};

/// The index of the queue is looked over this many entries at a time (a due instant and a
/// number each).
const SCAN_PAGE: usize = 1024;

/// A lane's key: a case and a recipient's address (case-insensitive), hashed. Two lanes
/// whose keys meet are only kept in order as one: nothing is reordered or lost for it.
pub(super) fn lane_id(case: Option<u64>, address: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    case.hash(&mut h);
    address.to_lowercase().hash(&mut h);
    h.finish()
}

/// The lane of a case's mail to a recipient's address (case-insensitive), of
/// [`super::LANES`].
pub fn lane_for(case: Option<u64>, address: &str) -> usize {
    lane_among(case, address, super::LANES)
}

/// The lane of a case's mail to a recipient's address (case-insensitive), of `lanes`.
pub fn lane_among(case: Option<u64>, address: &str, lanes: usize) -> usize {
    (lane_id(case, address) % lanes.max(1) as u64) as usize
}

/// The lane key of queued mail `seq` (its case and first recipient), or None once it left
/// the queue.
pub(super) fn lane_key(store: &Store, seq: u64) -> Result<Option<u64>, StoreError> {
    Ok(store
        .outbox_lane_key(seq)?
        .map(|(case, to)| lane_id(case, &to)))
}

/// The lane key the sender files mail `seq` under: one whose record cannot be read goes
/// where a mail of no case to nobody would (it is then found gone, or damaged, and dealt
/// with as such).
pub(super) fn lane_key_or_default(store: &Store, seq: u64) -> u64 {
    lane_key(store, seq)
        .ok()
        .flatten()
        .unwrap_or_else(|| lane_id(None, ""))
}

/// Which due mails wait for a mail of their lane queued before them, for one round.
#[derive(Default)]
pub(super) struct LaneOrder {
    /// By lane: the mails reached later in due order than a mail queued after them, until
    /// they are handed to their lane.
    late: HashMap<u64, BTreeSet<u64>>,
    /// By lane: the due mails held back behind one of those, by number.
    parked: HashMap<u64, BTreeMap<u64, Queued>>,
}

impl LaneOrder {
    /// Looks the queue over once: its index, page by page, and the record of each mail
    /// reached after a mail queued later than it (for its lane). Mails accepted but not yet
    /// recorded as sent have left, as far as order goes.
    pub(super) fn scan(store: &Store, unrecorded: &Unrecorded) -> Result<LaneOrder, StoreError> {
        let mut order = LaneOrder::default();
        let mut newest: Option<u64> = None;
        let mut after = None;
        loop {
            let page = store.outbox_queue(after, SCAN_PAGE)?;
            for q in &page {
                if unrecorded.holds(q.seq) {
                    continue;
                }
                if newest.is_some_and(|n| q.seq < n) {
                    match lane_key(store, q.seq) {
                        Ok(Some(key)) => {
                            order.late.entry(key).or_default().insert(q.seq);
                        }
                        Ok(None) => {}
                        Err(e) if e.is_damaged() => {}
                        Err(e) => return Err(e),
                    }
                }
                newest = newest.max(Some(q.seq));
            }
            if page.len() < SCAN_PAGE {
                return Ok(order);
            }
            after = page.last().copied();
        }
    }

    /// Due mail `q` of lane `key` is reached: what may be handed to the lane now, in the
    /// order they were queued. Nothing while a mail of the lane queued before it is yet to
    /// come (`q` is held back meanwhile); else `q`, then the mails held back that nothing
    /// queued before them holds any more.
    pub(super) fn offer(&mut self, q: Queued, key: u64) -> Vec<Queued> {
        let Some(late) = self.late.get_mut(&key) else {
            return vec![q];
        };
        if late.first().is_some_and(|&s| s < q.seq) {
            self.parked.entry(key).or_default().insert(q.seq, q);
            return Vec::new();
        }
        late.remove(&q.seq);
        let mut out = vec![q];
        if let Some(parked) = self.parked.get_mut(&key) {
            while let Some(entry) = parked.first_entry() {
                if late.first().is_some_and(|s| s < entry.key()) {
                    break;
                }
                let p = entry.remove();
                late.remove(&p.seq);
                out.push(p);
            }
        }
        out
    }

    /// Due mail `q` of lane `key`, a notice the gate holds back, is reached: it holds
    /// nobody up (it goes later, gathered into a list). The mails of its lane it let pass,
    /// to be handed to the lane now, as [`LaneOrder::offer`] but without `q` itself.
    pub(super) fn pass(&mut self, q: Queued, key: u64) -> Vec<Queued> {
        let mut out = self.offer(q, key);
        out.retain(|p| p.seq != q.seq);
        if let Some(parked) = self.parked.get_mut(&key) {
            parked.remove(&q.seq);
        }
        if let Some(late) = self.late.get_mut(&key)
            && late.remove(&q.seq)
        {
            // It was held back itself: what waited behind it alone may go now.
            while let Some(entry) = self.parked.get_mut(&key).and_then(|p| p.first_entry()) {
                if late.first().is_some_and(|s| s < entry.key()) {
                    break;
                }
                let p = entry.remove();
                late.remove(&p.seq);
                out.push(p);
            }
        }
        out
    }

    /// Whether no due mail can be held back.
    fn is_free(&self) -> bool {
        self.late.is_empty()
    }
}

/// When the next queued mail may go: the first in due order that is not accepted-but-
/// unrecorded, not held by the gate, and not held back behind a mail of its lane queued
/// before it (that one's time is met further on). One look over the index
/// ([`LaneOrder::scan`]), then the queue from its start, reading a record only while some
/// mail may be held back.
pub(super) fn next_due(
    store: &Store,
    unrecorded: &Unrecorded,
    gate: Option<&Gate>,
) -> Option<DateTime<Utc>> {
    let mut order = LaneOrder::scan(store, unrecorded).ok()?;
    let mut after = None;
    loop {
        let page = store.outbox_queue(after, SCAN_PAGE).ok()?;
        for q in &page {
            if unrecorded.holds(q.seq) {
                continue;
            }
            let gated = gate.is_some_and(|g| g.holds(q.seq));
            if !gated && order.is_free() {
                return Some(q.due);
            }
            let key = lane_key_or_default(store, q.seq);
            // What may go once this mail's time comes: itself (unless the gate holds it)
            // and the mails met before it that waited for it.
            let handed = if gated {
                order.pass(*q, key)
            } else {
                order.offer(*q, key)
            };
            if !handed.is_empty() {
                return Some(q.due);
            }
        }
        if page.len() < SCAN_PAGE {
            return None;
        }
        after = page.last().copied();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(seq: u64, secs: i64) -> Queued {
        Queued {
            due: Utc.timestamp_opt(1_800_000_000 + secs, 0).unwrap(),
            seq,
        }
    }

    fn seqs(qs: Vec<Queued>) -> Vec<u64> {
        qs.into_iter().map(|q| q.seq).collect()
    }

    #[test]
    fn a_lane_without_late_mail_goes_as_it_comes() {
        let mut o = LaneOrder::default();
        assert_eq!(seqs(o.offer(at(2, 0), 7)), [2]);
        assert_eq!(seqs(o.offer(at(3, 1), 7)), [3]);
    }

    #[test]
    fn held_back_mail_follows_the_late_one_in_the_order_queued() {
        let mut o = LaneOrder::default();
        // 1 and 4 were retried: they come after 5 and 6 (and 3) in due order.
        o.late.insert(7, [1, 4].into());
        assert!(o.offer(at(5, 0), 7).is_empty());
        assert!(o.offer(at(6, 1), 7).is_empty());
        // Another lane is not held.
        assert_eq!(seqs(o.offer(at(3, 1), 8)), [3]);
        // 4 waits for 1 as well.
        assert!(o.offer(at(4, 2), 7).is_empty());
        assert_eq!(seqs(o.offer(at(1, 3), 7)), [1, 4, 5, 6]);
        assert_eq!(seqs(o.offer(at(9, 4), 7)), [9]);
    }

    #[test]
    fn a_late_mail_releases_only_what_it_held() {
        let mut o = LaneOrder::default();
        o.late.insert(7, [2, 5].into());
        assert!(o.offer(at(4, 0), 7).is_empty());
        assert!(o.offer(at(6, 0), 7).is_empty());
        // 2 goes, then 4; 6 still waits for 5, not yet due.
        assert_eq!(seqs(o.offer(at(2, 1), 7)), [2, 4]);
        assert!(o.offer(at(6, 0), 7).is_empty());
        assert_eq!(seqs(o.offer(at(5, 2), 7)), [5, 6]);
    }

    /// Queues a mail of `case` to `to` due at `due`, numbered after those before it.
    fn queue(store: &Store, case: u64, to: &str, due: DateTime<Utc>) -> u64 {
        let seq = store.generate_id().unwrap();
        let mail = otklik_core::compose::OutMail {
            seq,
            case: Some(case),
            message_id: format!("m{seq}@example.ru"),
            envelope_from: "otklik@example.ru".into(),
            to: vec![to.into()],
            raw: b"Subject: x\r\n\r\nx\r\n".to_vec(),
            attempts: 0,
            next_attempt: due,
            last_error: None,
            created: due,
        };
        store
            .commit(crate::store::Commit {
                outbox: vec![mail],
                ..Default::default()
            })
            .unwrap();
        seq
    }

    /// The sender sleeps until a mail can go: not until a mail held back behind another
    /// (it is overdue, and would look like a mail that cannot be read), but until that
    /// other one, or another lane's mail, is due.
    #[test]
    fn the_next_due_mail_is_not_one_held_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let t = |secs| at(0, secs).due;
        // Queued first, retried later: due at 50.
        let a = queue(&store, 1, "x@example.ru", t(50));
        let b = queue(&store, 1, "X@example.ru", t(10));
        assert!(a < b);
        let none = Unrecorded::default();
        assert_eq!(next_due(&store, &none, None), Some(t(50)));
        queue(&store, 2, "x@example.ru", t(30));
        assert_eq!(next_due(&store, &none, None), Some(t(30)));
    }

    #[test]
    fn a_notice_held_by_the_gate_holds_nobody_up() {
        // Nothing late: the gated notice lets the lane's later mail go as it comes.
        let mut o = LaneOrder::default();
        assert!(o.pass(at(3, 0), 7).is_empty());
        assert_eq!(seqs(o.offer(at(4, 0), 7)), [4]);
        // A late notice, held by the gate when its turn comes: what waited for it goes.
        let mut o = LaneOrder::default();
        o.late.entry(7).or_default().insert(3);
        assert!(o.offer(at(5, 0), 7).is_empty());
        assert_eq!(seqs(o.pass(at(3, 10), 7)), [5]);
        assert!(o.is_free() || o.late.get(&7).is_some_and(|l| l.is_empty()));
    }
}
