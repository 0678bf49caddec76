//! One workflow outcome becomes one [`Commit`]: the message numbers its mails need are
//! reserved from the store, the core composes the mails, the case goes in with its schedule
//! from now on. The intake ([`super::Intake`]) and the escalation timer
//! ([`crate::escalation`]) both write cases this way.

use chrono::{DateTime, Utc};

use otklik_core::auth::Secret;
use otklik_core::compose::{self, ComposeError, OutMail};
use otklik_core::config::Config;
use otklik_core::workflow::{self, Case, Ctx, Event, Outcome};

use crate::store::{Commit, Store, StoreError};

/// Writing an outcome failed: the store failed, or one of its mails cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum OutcomeError {
    /// The store could not hand out a message number.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// One of the outcome's mails cannot be built; nothing of the outcome is in the commit.
    #[error(transparent)]
    Mail(#[from] ComposeError),
}

/// `n` message numbers, never handed out before and never again (the store's counter).
pub fn reserve_numbers(store: &Store, n: usize) -> Result<Vec<u64>, StoreError> {
    (0..n).map(|_| store.generate_id()).collect()
}

/// The commit of one outcome: the mails of its notices (one per recipient, numbered from
/// the store first), the case and the due steps it has from now on. A mail that cannot be
/// built refuses the whole outcome (the intake rejects the message that brought it).
pub fn commit_outcome(
    store: &Store,
    config: &Config,
    secret: &Secret,
    outcome: Outcome,
    now: DateTime<Utc>,
) -> Result<Commit, OutcomeError> {
    let outbox = mails(store, config, secret, &outcome, now)??;
    Ok(with_schedule(config, outcome.case, outbox))
}

/// [`commit_outcome`] for an outcome that stands whether or not its mail can be built (an
/// escalation step fires all the same, or it would be retried for ever): a mail that
/// cannot be built is recorded by the workflow in the case's history, as `what` (`step
/// 2`) and the builder's reason, and the case is written without mails.
pub fn commit_outcome_or_record(
    store: &Store,
    config: &Config,
    secret: &Secret,
    outcome: Outcome,
    ctx: Ctx<'_>,
    what: &str,
) -> Result<Commit, StoreError> {
    Ok(match mails(store, config, secret, &outcome, ctx.now)? {
        Ok(outbox) => with_schedule(config, outcome.case, outbox),
        Err(e) => {
            tracing::error!(case = %outcome.case.id, error = %e, "{what}: the mail cannot be built; recorded in the case history");
            let failed = Event::MailFailed {
                detail: format!("{what}: {e}"),
            };
            let case = workflow::apply(&outcome.case, failed, ctx).case;
            with_schedule(config, case, Vec::new())
        }
    })
}

/// The mails of an outcome's notices, numbered from the store before they are composed.
fn mails(
    store: &Store,
    config: &Config,
    secret: &Secret,
    outcome: &Outcome,
    now: DateTime<Utc>,
) -> Result<Result<Vec<OutMail>, ComposeError>, StoreError> {
    let nonces = reserve_numbers(store, compose::mails_needed(&outcome.notices))?;
    Ok(compose::case_mails(
        config,
        secret,
        &outcome.case,
        &outcome.notices,
        now,
        &nonces,
    ))
}

/// The commit writing `case` with its due steps from now on, and `outbox`.
fn with_schedule(config: &Config, case: Case, outbox: Vec<OutMail>) -> Commit {
    let dues = workflow::schedule(&case, config);
    Commit {
        outbox,
        cases: vec![(case, dues)],
        ..Commit::default()
    }
}
