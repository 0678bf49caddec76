//! Deadlines that act (docs/configuration.md `[[escalations]]`): the due index in the store holds every
//! pending step as `due instant ‖ case ‖ step`, so a tick reads only what is due. Each fired
//! step is one commit: the case (with the step marked fired and its history entry), its new
//! schedule and the outbox mails.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use otklik_core::auth::Secret;
use otklik_core::config::Config;
use otklik_core::workflow::{self, Case, Ctx, Due, Event};

use crate::handler::HandleError;
use crate::handler::outcome::commit_outcome_or_record;
use crate::store::{Commit, MetaKey, Store, StoreError};

/// Fires every step due at `now`; returns how many fired.
///
/// Costs one range read of the due index when nothing is due (no case is read). A step
/// whose mail cannot be built (an address the config let through but lettre refuses) is
/// still recorded as fired, with the failure in the case history: otherwise it would stay
/// at the head of the index and be retried forever, holding up nothing but the log.
pub fn tick(
    store: &Store,
    config: &Config,
    secret: &Secret,
    now: DateTime<Utc>,
) -> Result<usize, HandleError> {
    // The index is keyed by whole seconds: an entry of this second may still lie ahead.
    let due: Vec<_> = store
        .due_until(now)?
        .into_iter()
        .filter(|d| d.at <= now)
        .collect();
    if due.is_empty() {
        return Ok(0);
    }
    let absences = store.absences()?;
    let ctx = Ctx {
        config,
        absences: &absences,
        now,
    };
    let mut fired = 0;
    for d in due {
        // One writer at a time: the mail handler may be deciding on the same case.
        let _writer = store.writer();
        let (mut commit, accepted) = match store.case(d.case)? {
            Some(case) => fire(store, config, secret, ctx, &case, &d)?,
            None => (Commit::default(), false),
        };
        // Dealt with: never read again, whatever the case's schedule said.
        commit.forget_due.push(d);
        store.commit(commit)?;
        fired += usize::from(accepted);
    }
    store.flush_blocking()?;
    Ok(fired)
}

/// The commit firing one due step of `case` (or only refreshing its schedule when the
/// entry is stale: the deadline moved or closed); true when the step fired. A step whose
/// mail cannot be built fires all the same, the workflow recording the failure.
fn fire(
    store: &Store,
    config: &Config,
    secret: &Secret,
    ctx: Ctx<'_>,
    case: &Case,
    d: &Due,
) -> Result<(Commit, bool), HandleError> {
    let mut outcome = workflow::apply(
        case,
        Event::Escalation {
            step: d.step,
            kind: d.kind,
            deadline: d.deadline,
        },
        ctx,
    );
    if !outcome.accepted {
        // Stale: nothing to mail, only the schedule to refresh.
        outcome.notices.clear();
    } else {
        tracing::info!(case = %outcome.case.id, step = d.step + 1, deadline = ?d.kind, "escalation step fired");
    }
    let what = format!("step {}", d.step + 1);
    let accepted = outcome.accepted;
    let commit = commit_outcome_or_record(store, config, secret, outcome, ctx, &what)?;
    Ok((commit, accepted))
}

/// A fingerprint of everything the due index depends on (calendar, deadlines, ladder).
pub fn fingerprint(config: &Config) -> String {
    let text = format!(
        "{:?}|{:?}|{:?}",
        config.calendar, config.deadlines, config.escalations
    );
    hex::encode(&Sha256::digest(text.as_bytes())[..12])
}

/// Rebuilds the due index of every open case when the config it was built from changed
/// (on start and on reload). Cheap when nothing changed.
pub fn reschedule_if_changed(store: &Store, config: &Config) -> Result<usize, StoreError> {
    let fp = fingerprint(config);
    if store.meta_get(&MetaKey::DueFingerprint)?.as_deref() == Some(fp.as_str()) {
        return Ok(0);
    }
    let mut n = 0;
    for number in store.open_case_numbers()? {
        let _writer = store.writer();
        if let Some(case) = store.case(number)? {
            let dues = workflow::schedule(&case, config);
            store.commit(Commit {
                cases: vec![(case, dues)],
                ..Commit::default()
            })?;
            n += 1;
        }
    }
    store.meta_set(&MetaKey::DueFingerprint, &fp)?;
    store.flush_blocking()?;
    Ok(n)
}
