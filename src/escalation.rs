//! Deadlines that act (SPEC §3 `[[escalations]]`): the due index in the store holds every
//! pending step as `due instant ‖ case ‖ step`, so a tick reads only what is due. Each fired
//! step is one commit: the case (with the step marked fired and its history entry), its new
//! schedule and the outbox mails.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::auth::Secret;
use crate::compose;
use crate::config::Config;
use crate::handler::HandleError;
use crate::store::{Commit, Store, StoreError};
use crate::workflow::{self, Ctx, Event};

/// Fires every step due at `now`; returns how many fired.
pub fn tick(
    store: &Store,
    config: &Config,
    secret: &Secret,
    now: DateTime<Utc>,
) -> Result<usize, HandleError> {
    let due = store.due_until(now)?;
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
        let Some(case) = store.case(d.case)? else {
            continue;
        };
        let outcome = workflow::apply(
            &case,
            Event::Escalation {
                step: d.step,
                kind: d.kind,
                deadline: d.deadline,
            },
            ctx,
        );
        let mut commit = Commit::default();
        if outcome.accepted {
            fired += 1;
            tracing::info!(case = %outcome.case.id, step = d.step + 1, deadline = ?d.kind, "escalation step fired");
            let mut next = || store.generate_id();
            commit.outbox = compose::case_mails(
                config,
                secret,
                &outcome.case,
                &outcome.notices,
                now,
                &mut next,
            )?;
        }
        // A stale entry (the deadline moved or closed) is simply replaced by the fresh schedule.
        let dues = workflow::schedule(&outcome.case, config);
        commit.cases.push((outcome.case, dues));
        store.commit(commit)?;
    }
    store.flush_blocking()?;
    Ok(fired)
}

/// A fingerprint of everything the due index depends on (calendar, deadlines, ladder).
pub fn fingerprint(config: &Config) -> String {
    let text = format!(
        "{:?}|{:?}|{:?}",
        config.calendar, config.deadlines, config.escalations
    );
    Sha256::digest(text.as_bytes())
        .iter()
        .take(12)
        .map(|b| format!("{b:02x}"))
        .collect()
}

const FINGERPRINT_KEY: &str = "due_fingerprint";

/// Rebuilds the due index of every open case when the config it was built from changed
/// (on start and on reload). Cheap when nothing changed.
pub fn reschedule_if_changed(store: &Store, config: &Config) -> Result<usize, StoreError> {
    let fp = fingerprint(config);
    if store.meta_get(FINGERPRINT_KEY)?.as_deref() == Some(fp.as_str()) {
        return Ok(0);
    }
    let mut n = 0;
    for number in store.open_case_numbers()? {
        if let Some(case) = store.case(number)? {
            let dues = workflow::schedule(&case, config);
            store.commit(Commit {
                cases: vec![(case, dues)],
                ..Commit::default()
            })?;
            n += 1;
        }
    }
    store.meta_set(FINGERPRINT_KEY, &fp)?;
    store.flush_blocking()?;
    Ok(n)
}
