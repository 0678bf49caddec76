//! The facts the core asks about one message, looked up in the store (and the archive),
//! and the core's decision on it.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use otklik_core::config::Config;
use otklik_core::decide::{self, Decision, Disposition, Facts, Questions, Setting};
use otklik_core::inbound::Inbound;
use otklik_core::triage::Triage;

use super::Intake;
use super::confirm::{StoredPending, asked_of, confirmed};
use crate::archive::Archive;
use crate::store::{MetaKey, Store, StoreError};

impl Intake {
    /// The core's decision on one parsed message: read once ([`Triage`]), the facts it asks
    /// for, then `decide`. `confirmed`: its sender confirmed it by a reply. A bug in reading
    /// one odd message must not block the intake (it would be retried forever): such a
    /// message is rejected and logged, the service goes on.
    pub(super) fn decide(
        &self,
        config: &Arc<Config>,
        mail: &Inbound,
        arrival: DateTime<Utc>,
        now: DateTime<Utc>,
        confirmed: bool,
    ) -> Result<Decision, StoreError> {
        let internal_error = || {
            tracing::error!(message_id = ?mail.message_id, "internal error while handling a message; it goes to the rejected mailbox");
            Decision::Drop {
                disposition: Disposition::Rejected,
                note: "internal error while reading it".into(),
            }
        };
        let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let triage = Triage::new(mail, config, arrival);
            let questions = triage.questions(config);
            (triage, questions)
        }));
        let Ok((triage, questions)) = read else {
            return Ok(internal_error());
        };
        let mut facts = facts(&self.store, Some(&self.archive), &questions)?;
        facts.confirmed = confirmed;
        let mut slot = self.model.lock().unwrap_or_else(|p| p.into_inner());
        let model = self.current_model(config, &mut slot)?;
        let cx = Setting {
            config,
            secret: &self.secret,
            now,
            arrival,
            model: Some(model),
        };
        Ok(std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            decide::decide_triaged(triage, &facts, &cx)
        }))
        .unwrap_or_else(|_| internal_error()))
    }

    /// [`Intake::decide`] on a message; a confirmation by reply decides the message it
    /// confirms again, its sender now proven, and gives the kept record marked used.
    pub(super) fn decide_confirmed(
        &self,
        config: &Arc<Config>,
        mail: &Inbound,
        arrival: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(Decision, Option<(MetaKey, String)>), StoreError> {
        let decision = self.decide(config, mail, arrival, now, false)?;
        let Decision::Confirmed { nonce, note } = decision else {
            return Ok((decision, None));
        };
        let kept = self.pending(nonce)?.and_then(|s| {
            let raw = s.raw()?;
            Some((s, Inbound::parse(&raw).ok()?))
        });
        Ok(match kept {
            Some((stored, original)) => {
                let again = self.decide(config, &original, stored.arrival, now, true)?;
                (confirmed(again, &note), Some(stored.used()))
            }
            None => (
                Decision::Drop {
                    disposition: Disposition::Rejected,
                    note: format!("{note}: the message to confirm is gone"),
                },
                None,
            ),
        })
    }
}

/// Looks up in the store (and the archive, when there is one) what the core asked for.
pub fn facts(store: &Store, archive: Option<&Archive>, q: &Questions) -> Result<Facts, StoreError> {
    let case = match q.case {
        Some(n) => store.case(n)?,
        None => None,
    };
    let mut same_post = match &q.source_id {
        Some(s) => store.case_by_source_id(s)?,
        None => None,
    };
    if same_post.is_none()
        && let Some(l) = &q.link
    {
        same_post = store.case_by_link(l)?;
    }
    let earlier = match &q.author_topic {
        Some((author, topic)) => store.latest_by_author_topic(author, topic)?,
        None => None,
    };
    Ok(Facts {
        case,
        same_post,
        earlier,
        absences: store.absences()?,
        open_cases: if q.open_cases {
            store.open_cases()?
        } else {
            Vec::new()
        },
        all_cases: if q.all_cases {
            store.cases().collect::<Result<Vec<_>, _>>()?
        } else {
            Vec::new()
        },
        next_case: store.peek_next_case()?,
        pending: {
            let mut found = Vec::new();
            for n in q.confirmations.iter().take(8) {
                if let Some(v) = store.meta_get(&MetaKey::Confirm(*n))?
                    && let Ok(s) = serde_json::from_str::<StoredPending>(&v)
                {
                    found.push(s.pending);
                }
            }
            found
        },
        confirmations_asked: match &q.asker {
            Some(a) => asked_of(store, a)?,
            None => Vec::new(),
        },
        confirmed: false,
        similar: match (archive, &q.similar_to) {
            (Some(a), Some(post)) => a.candidates(post),
            _ => Vec::new(),
        },
        same_place: match &q.same_place {
            Some((place, since)) => store.cases_at_place(place, *since)?,
            None => Vec::new(),
        },
    })
}
