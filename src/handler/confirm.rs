//! Messages that wait for their sender's confirmation by reply (docs/keywords.md): the
//! message is kept with its arrival time, its sender asked, and once the reply comes it is
//! decided again, its sender now proven.

use chrono::{DateTime, Utc};

use otklik_core::compose;
use otklik_core::config::Config;
use otklik_core::decide::{Decision, Disposition};
use otklik_core::sender::Pending;

use super::build::BuildError;
use super::{Handled, InHand, Intake};
use crate::store::{Commit, MetaKey, Store, StoreError};

/// How many times of confirmations asked of one person are kept.
const MAX_ASKED_KEPT: usize = 8;

/// The times confirmations were asked of a person, oldest first.
pub(super) fn asked_of(store: &Store, address: &str) -> Result<Vec<DateTime<Utc>>, StoreError> {
    Ok(store
        .meta_get(&MetaKey::ConfirmAsked(address.to_string()))?
        .and_then(|v| serde_json::from_str(&v).ok())
        .unwrap_or_default())
}

/// A waiting confirmation as the store keeps it: the core's record, when the message
/// arrived, and the message itself (hex), to be decided again once confirmed.
#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct StoredPending {
    pub(super) pending: Pending,
    pub(super) arrival: DateTime<Utc>,
    #[serde(default)]
    raw_hex: String,
}

impl StoredPending {
    pub(super) fn raw(&self) -> Option<Vec<u8>> {
        hex::decode(&self.raw_hex)
            .ok()
            .filter(|raw| !raw.is_empty())
    }

    /// The record once confirmed: marked done, the message no longer kept.
    pub(super) fn used(mut self) -> (MetaKey, String) {
        self.pending.done = true;
        self.raw_hex.clear();
        let key = MetaKey::Confirm(self.pending.nonce);
        (key, serde_json::to_string(&self).unwrap_or_default())
    }
}

impl Intake {
    /// A waiting confirmation, as kept.
    pub(super) fn pending(&self, nonce: u64) -> Result<Option<StoredPending>, StoreError> {
        Ok(self
            .store
            .meta_get(&MetaKey::Confirm(nonce))?
            .and_then(|v| serde_json::from_str(&v).ok()))
    }

    /// The commit asking `to` to confirm the message in hand by reply (`what` it asks
    /// for): the question mailed, the message kept, the time noted.
    pub(super) fn ask_confirmation(
        &self,
        config: &Config,
        msg: &InHand<'_>,
        to: String,
        what: String,
        note: String,
    ) -> Result<(Commit, Handled), BuildError> {
        let (raw, now) = (msg.raw, msg.now);
        let mut commit = Commit::default();
        let nonce = self.store.generate_id()?;
        let digest = otklik_core::inbound::sha256_hex(raw);
        let code = self.secret.confirm_code(nonce, &to, &digest);
        let rendered = otklik_core::templates::render_confirmation(
            config,
            &what,
            nonce,
            &code,
            &config.smtp.from.email,
        );
        let env = compose::Envelope {
            config,
            secret: &self.secret,
            case: 0,
            case_id: None,
            to: &to,
            nonce,
            now,
        };
        commit.outbox.push(compose::build(&env, &rendered)?);
        let stored = StoredPending {
            pending: Pending {
                nonce,
                sender: to.clone(),
                asked_at: now,
                digest,
                what,
                done: false,
            },
            arrival: msg.arrival,
            raw_hex: hex::encode(raw),
        };
        // When confirmations were asked of this person: the latest few.
        let mut asked = asked_of(&self.store, &to)?;
        asked.push(now);
        let keep = asked.len().saturating_sub(MAX_ASKED_KEPT);
        asked.drain(..keep);
        commit.meta.push((
            MetaKey::ConfirmAsked(to.clone()),
            serde_json::to_string(&asked).map_err(|e| BuildError::Mail(e.to_string()))?,
        ));
        commit.meta.push((
            MetaKey::Confirm(nonce),
            serde_json::to_string(&stored).map_err(|e| BuildError::Mail(e.to_string()))?,
        ));
        // The ledger keeps the core's words (as `otklik route` prints them); the
        // confirmation's number is in the log and in the kept record.
        tracing::info!(confirmation = nonce, %to, "confirmation asked");
        Ok((commit, Handled::new(Disposition::Processed, None, note)))
    }
}

/// The decision on a confirmed message, its ledger line saying so. A confirmed message
/// that asks again (it cannot: its sender is proven now) confirms nothing.
pub(super) fn confirmed(decision: Decision, how: &str) -> Decision {
    match decision {
        Decision::Confirm { note, .. } | Decision::Confirmed { note, .. } => Decision::Drop {
            disposition: Disposition::Rejected,
            note: format!("{how}: {note}"),
        },
        Decision::Drop { disposition, note } => Decision::Drop {
            disposition,
            note: format!("{how}: {note}"),
        },
        Decision::Service {
            mails,
            absences,
            resend,
            note,
        } => Decision::Service {
            mails,
            absences,
            resend,
            note: format!("{how}: {note}"),
        },
        Decision::Report {
            to,
            from,
            until,
            rows,
            routing,
            note,
        } => Decision::Report {
            to,
            from,
            until,
            rows,
            routing,
            note: format!("{how}: {note}"),
        },
        Decision::Case {
            outcome,
            new,
            class,
            disposition,
            note,
        } => Decision::Case {
            outcome,
            new,
            class,
            disposition,
            note: format!("{how}: {note}"),
        },
    }
}
