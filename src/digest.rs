//! The daily digest on the service's timer: the core builds it, this queues it.

use chrono::{DateTime, NaiveDate, Utc};

use otklik_core::auth::Secret;
use otklik_core::compose::ComposeError;
use otklik_core::config::Config;
use otklik_core::digest::{build, due, mail, recipients};
use otklik_core::workflow::Case;

use crate::store::{Commit, MetaKey, Store, StoreError};

/// Why a digest or monthly report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The mail could not be built.
    #[error(transparent)]
    Compose(#[from] ComposeError),
    /// The monthly report could not be made.
    #[error(transparent)]
    Monthly(#[from] otklik_core::monthly::MonthlyError),
}

/// Sends the day's digest if it is due: commits one mail per recipient to the outbox and
/// remembers the date. Returns how many mails were queued (0: not due).
///
/// Reads every case once a day; the daemon calls it on every timer tick (one meta read
/// when not due).
pub fn run_once(
    store: &Store,
    config: &Config,
    secret: &Secret,
    now: DateTime<Utc>,
) -> Result<usize, DigestError> {
    let last = store
        .meta_get(&MetaKey::LastDigest)?
        .and_then(|s| NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok());
    let Some(date) = due(config, last, now) else {
        return Ok(0);
    };
    let cases: Vec<Case> = store.open_cases()?;
    let digest = build(config, &cases, now);
    let mut outbox = Vec::new();
    for to in recipients(config) {
        outbox.push(mail(config, secret, &digest, &to, store.generate_id()?)?);
    }
    let n = outbox.len();
    // The mails and the date in one transaction: a crash sends the digest once, not twice.
    store.commit(Commit {
        outbox,
        meta: vec![(MetaKey::LastDigest, date.format("%Y-%m-%d").to_string())],
        ..Commit::default()
    })?;
    store.flush_blocking()?;
    tracing::info!(date = %date, mails = n, "daily digest queued");
    Ok(n)
}

/// Sends the month's report to the supervisor if it is due (the first working day of the
/// month, `service.monthly_report`): the mail and the month sent in one commit.
pub fn monthly_once(
    store: &Store,
    config: &Config,
    secret: &Secret,
    now: DateTime<Utc>,
) -> Result<usize, DigestError> {
    let last = store.meta_get(&MetaKey::LastMonthly)?;
    let Some((from, to, key)) = otklik_core::monthly::due(config, last.as_deref(), now) else {
        return Ok(0);
    };
    let Some(supervisor) = &config.people.supervisor else {
        return Ok(0);
    };
    let cases = store.cases().collect::<Result<Vec<Case>, _>>()?;
    let rows = otklik_core::report::build_at(config, &cases, from, to, Some(now));
    let routing = otklik_core::learning::report::FirstChoice::of(config, &cases, from, to);
    let mail = otklik_core::monthly::mail(
        config,
        secret,
        &rows,
        &routing,
        from,
        to,
        &supervisor.email,
        store.generate_id()?,
        now,
    )?;
    store.commit(Commit {
        outbox: vec![mail],
        meta: vec![(MetaKey::LastMonthly, key.clone())],
        ..Commit::default()
    })?;
    store.flush_blocking()?;
    tracing::info!(month = %key, "monthly report queued");
    Ok(1)
}

/// [`run_once`] and [`monthly_once`] for the daemon's timer: errors are logged (the next
/// tick tries again), the result is how many mails were queued.
pub fn tick(store: &Store, config: &Config, secret: &Secret, now: DateTime<Utc>) -> usize {
    let daily = match run_once(store, config, secret, now) {
        Ok(n) => n,
        Err(e) => {
            tracing::error!(error = %e, "the daily digest could not be queued; retrying");
            0
        }
    };
    let monthly = match monthly_once(store, config, secret, now) {
        Ok(n) => n,
        Err(e) => {
            tracing::error!(error = %e, "the monthly report could not be queued; retrying");
            0
        }
    };
    daily + monthly
}
