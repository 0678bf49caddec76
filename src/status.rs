//! What the running service knows about itself for `otklik status`: the facts it records
//! as they happen (its start, the IMAP state and the last contact) and those it reads from
//! the store when asked. The verdict is the core's (`otklik_core::status::evaluate`).

use std::sync::Mutex;

use chrono::{DateTime, NaiveDate, Utc};

use otklik_core::status::{Health, ImapHealth, earliest_deadline};

use crate::mailbox::MailboxState;
use crate::store::{Store, StoreError};

/// The facts the daemon records as they happen; shared with the control socket.
#[derive(Debug)]
pub struct Live {
    up_since: DateTime<Utc>,
    imap: Mutex<ImapTrack>,
}

#[derive(Debug, Clone, Copy)]
struct ImapTrack {
    state: MailboxState,
    /// Set at every change into or out of a session.
    last_contact: Option<DateTime<Utc>>,
}

/// A session is up in these states.
pub fn is_connected(state: MailboxState) -> bool {
    matches!(
        state,
        MailboxState::Idle | MailboxState::Polling | MailboxState::Processing
    )
}

impl Live {
    /// The live state of a service started at `up_since`.
    pub fn new(up_since: DateTime<Utc>) -> Live {
        Live {
            up_since,
            imap: Mutex::new(ImapTrack {
                state: MailboxState::Connecting,
                last_contact: None,
            }),
        }
    }

    /// The IMAP watcher's state changed at `now`.
    pub fn imap_state(&self, state: MailboxState, now: DateTime<Utc>) {
        let mut t = self.imap.lock().unwrap_or_else(|p| p.into_inner());
        // Entering a session, or leaving one: in contact until now.
        if is_connected(state) || is_connected(t.state) {
            t.last_contact = Some(now);
        }
        t.state = state;
    }

    /// Everything `otklik status` reports, at `now`.
    pub fn health(&self, store: &Store, now: DateTime<Utc>) -> Result<Health, StoreError> {
        let imap = {
            let t = *self.imap.lock().unwrap_or_else(|p| p.into_inner());
            let connected = is_connected(t.state);
            let state = t.state.to_string();
            ImapHealth {
                state: state.strip_prefix("imap: ").unwrap_or(&state).to_string(),
                connected,
                last_contact: if connected { Some(now) } else { t.last_contact },
            }
        };
        let open = store.open_cases()?;
        let deadlines = open.iter().filter_map(earliest_deadline).collect();
        Ok(Health {
            up_since: self.up_since,
            imap,
            open_cases: open.len(),
            deadlines,
            outbox: store.outbox_len(),
            oldest_queued: store.outbox_oldest()?,
            dead_letters: store.dead_letter_seqs()?.len(),
            last_digest: store
                .meta_get(&crate::store::MetaKey::LastDigest)?
                .and_then(|s| NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap() + chrono::Duration::seconds(s)
    }

    #[test]
    fn the_last_contact_is_now_while_connected_and_the_loss_after() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let live = Live::new(t(0));
        let f = live.health(&store, t(5)).unwrap();
        assert_eq!((f.imap.connected, f.imap.last_contact), (false, None));
        assert_eq!(f.imap.state, "connecting");
        live.imap_state(MailboxState::Idle, t(10));
        let f = live.health(&store, t(500)).unwrap();
        assert_eq!(
            (f.imap.connected, f.imap.last_contact),
            (true, Some(t(500)))
        );
        live.imap_state(MailboxState::Backoff { attempt: 1 }, t(600));
        live.imap_state(MailboxState::Connecting, t(630));
        live.imap_state(MailboxState::Backoff { attempt: 2 }, t(660));
        let f = live.health(&store, t(900)).unwrap();
        assert_eq!(
            (f.imap.connected, f.imap.last_contact),
            (false, Some(t(600)))
        );
        assert_eq!(f.imap.state, "reconnecting (attempt 2)");
        assert_eq!(f.up_since, t(0));
        assert_eq!((f.open_cases, f.outbox, f.dead_letters), (0, 0, 0));
    }
}
