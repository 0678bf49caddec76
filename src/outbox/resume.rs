//! The server back after it could not be reached: the mails deferred for its sake go at
//! once instead of waiting out their backoff.
//!
//! The rule. A mail whose last attempt failed at the connection level (no connection, no
//! answer in time, TLS or login not done, a 421: [`SendError::is_connection_level`]) was
//! deferred for the server's sake, not its own. After a round that ran its course (no
//! attempt deferred) and in which the server accepted a mail, while the server was not
//! known to be up (an attempt failed at the connection level since the last such round,
//! or the sender has just started), every queued mail not yet due whose last error was
//! connection-level is made due now, and the round goes on once more to send them; a mail
//! of their lane held back behind one goes right after it. Their attempts are kept, so one
//! that fails again waits longer than before.
//!
//! What it leaves alone. A 4xx about the mail itself (a full mailbox, greylisting) keeps
//! its backoff: the server answered, and would answer the same, so one full mailbox does
//! not cost a connection every round. A failure among the mails brought forward does not
//! count as the server being unreachable again: a mail that fails at the connection level
//! while the server takes others (one too large to send in time, say) is brought forward
//! once, then waits its own backoff, so it costs at most one attempt more per backoff.
//!
//! The cost: nothing while the server is known to be up; else, in the round that shows it
//! back, one pass over the part of the queue not yet due, reading each mail's record
//! (never its bytes), and a write for each mail brought forward.

use chrono::{DateTime, Utc};

use super::{PAGE, Unrecorded};
use crate::smtp::SendError;
use crate::store::{Queued, Store, StoreError};

/// What a round's first pass showed of the server.
pub(super) struct Seen {
    /// A deferral stopped it.
    pub(super) stopped: bool,
    /// An attempt failed at the connection level.
    pub(super) unreachable: bool,
    /// Mails the server accepted.
    pub(super) accepted: usize,
}

/// After a round's first pass: notes what it showed of the server and, by the rule above,
/// brings the mails deferred for the server's sake forward. How many were.
pub(super) fn after_pass(
    store: &Store,
    carried: &mut Unrecorded,
    seen: Seen,
    now: DateTime<Utc>,
) -> usize {
    if seen.unreachable {
        carried.server_up = false;
        return 0;
    }
    if seen.stopped || seen.accepted == 0 || carried.server_up {
        return 0;
    }
    carried.server_up = true;
    match bring_forward(store, now) {
        Ok(moved) => {
            if moved > 0 {
                tracing::info!(
                    mails = moved,
                    "the server takes mail again: the mails deferred while it could not be reached go now"
                );
            }
            moved
        }
        Err(e) => {
            tracing::error!(error = %e, "could not bring forward the mails deferred while the server could not be reached; they keep their times");
            // Tried again after the next round that shows the server up.
            carried.server_up = false;
            0
        }
    }
}

/// Makes each queued mail not yet due at `now` whose last error was connection-level due
/// at `now`. One pass over that part of the queue, records only. A mail whose record
/// cannot be read keeps its time (it is logged when its turn comes).
fn bring_forward(store: &Store, now: DateTime<Utc>) -> Result<usize, StoreError> {
    // The queue past `now`: the mails due by then are being sent anyway. A mail moved
    // lands before this point and is not met again.
    let mut after = Some(Queued {
        due: now,
        seq: u64::MAX,
    });
    let mut moved = 0;
    loop {
        let page = store.outbox_queue(after, PAGE)?;
        for q in &page {
            let mail = match store.outbox_record(q.seq) {
                Ok(Some(m)) => m,
                Ok(None) => continue,
                Err(e) if e.is_damaged() => continue,
                Err(e) => return Err(e),
            };
            if mail
                .last_error
                .as_deref()
                .is_some_and(SendError::was_connection_level)
            {
                store.outbox_due_at(q.seq, now)?;
                moved += 1;
            }
        }
        if page.len() < PAGE {
            return Ok(moved);
        }
        after = page.last().copied();
    }
}
