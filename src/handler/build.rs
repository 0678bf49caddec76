//! A decision becomes one [`Commit`]: the mails it asks for (numbered from the store before
//! they are built), the cases, absences and kept records, and the message's ledger line.

use chrono::{DateTime, Utc};

use otklik_core::compose;
use otklik_core::config::Config;
use otklik_core::decide::{Decision, Disposition};
use otklik_core::templates::Rendered;
use otklik_core::workflow::Outcome;

use super::outcome::{OutcomeError, commit_outcome, reserve_numbers};
use super::{Handled, InHand, Intake, ledger_record};
use crate::store::{Commit, StoreError};

/// The biggest message kept while its confirmation is waiting.
const MAX_PENDING_BYTES: usize = 4 << 20;

/// Building the commit of a decision failed: a store error stays one, anything else (a
/// mail that cannot be built) rejects the message.
pub(super) enum BuildError {
    Store(StoreError),
    Mail(String),
}

impl From<StoreError> for BuildError {
    fn from(e: StoreError) -> BuildError {
        BuildError::Store(e)
    }
}

impl From<OutcomeError> for BuildError {
    fn from(e: OutcomeError) -> BuildError {
        match e {
            OutcomeError::Store(e) => BuildError::Store(e),
            OutcomeError::Mail(e) => BuildError::Mail(e.to_string()),
        }
    }
}

impl From<compose::ComposeError> for BuildError {
    fn from(e: compose::ComposeError) -> BuildError {
        BuildError::Mail(e.to_string())
    }
}

impl From<otklik_core::monthly::MonthlyError> for BuildError {
    fn from(e: otklik_core::monthly::MonthlyError) -> BuildError {
        BuildError::Mail(e.to_string())
    }
}

impl Intake {
    /// The commit of one decision on the message in hand, with its ledger line.
    pub(super) fn to_commit(
        &self,
        config: &Config,
        msg: &InHand<'_>,
        decision: Decision,
    ) -> Result<(Commit, Handled), BuildError> {
        let now = msg.now;
        let (mut commit, handled) = match decision {
            Decision::Confirm { what, note, .. } if msg.raw.len() > MAX_PENDING_BYTES => {
                let note =
                    format!("{note}; but the message is too large to keep: {what} not taken");
                (
                    Commit::default(),
                    Handled::new(Disposition::Rejected, None, note),
                )
            }
            Decision::Confirm { to, what, note } => {
                self.ask_confirmation(config, msg, to, what, note)?
            }
            // Decided again on arrival; met here only if the kept message asked again.
            Decision::Confirmed { note, .. } => (
                Commit::default(),
                Handled::new(Disposition::Rejected, None, note),
            ),
            Decision::Drop { disposition, note } => {
                (Commit::default(), Handled::new(disposition, None, note))
            }
            Decision::Service {
                mails,
                absences,
                resend,
                note,
            } => {
                let mut commit = Commit {
                    absences,
                    ..Commit::default()
                };
                // What waited for the coordinator while she was away, sent to her again.
                for (case, notices) in &resend {
                    let nonces = reserve_numbers(&self.store, compose::mails_needed(notices))?;
                    commit.outbox.extend(compose::case_mails(
                        config,
                        &self.secret,
                        case,
                        notices,
                        now,
                        &nonces,
                    )?);
                }
                commit
                    .outbox
                    .extend(self.service_mails(config, mails, now)?);
                (commit, Handled::new(Disposition::Processed, None, note))
            }
            Decision::Report {
                to,
                from,
                until,
                rows,
                routing,
                note,
            } => {
                let nonce = self.store.generate_id()?;
                let mail = otklik_core::monthly::mail(
                    config,
                    &self.secret,
                    &rows,
                    &routing,
                    from,
                    until,
                    &to,
                    nonce,
                    now,
                )?;
                let commit = Commit {
                    outbox: vec![mail],
                    ..Commit::default()
                };
                (commit, Handled::new(Disposition::Processed, None, note))
            }
            Decision::Case {
                outcome,
                new,
                disposition,
                note,
                ..
            } => {
                let id = outcome.case.id.clone();
                let commit = self.case_commit(config, *outcome, new, now)?;
                (commit, Handled::new(disposition, Some(id), note))
            }
        };
        let case = commit.cases.first().map(|(case, _)| case.number);
        commit.inbound = Some((msg.key.clone(), ledger_record(&handled, case, now)));
        Ok((commit, handled))
    }

    /// A case's outcome as one commit ([`commit_outcome`]), with the number a new case took
    /// and the routing examples the case now confirms.
    fn case_commit(
        &self,
        config: &Config,
        outcome: Outcome,
        new: bool,
        now: DateTime<Utc>,
    ) -> Result<Commit, BuildError> {
        let number = outcome.case.number;
        let old = if new {
            None
        } else {
            self.store.case_record(number)?
        };
        let training =
            otklik_core::learning::signals::learned(config, old.as_ref(), &outcome.case, now);
        let mut commit = commit_outcome(&self.store, config, &self.secret, outcome, now)?;
        commit.new_case = new.then_some(number);
        commit.training = training;
        Ok(commit)
    }

    /// The self-service answers about no case, each numbered from the store and built.
    fn service_mails(
        &self,
        config: &Config,
        mails: Vec<(String, Rendered)>,
        now: DateTime<Utc>,
    ) -> Result<Vec<compose::OutMail>, BuildError> {
        let mut out = Vec::with_capacity(mails.len());
        for (to, rendered) in mails {
            let env = compose::Envelope {
                config,
                secret: &self.secret,
                case: 0,
                case_id: None,
                to: &to,
                nonce: self.store.generate_id()?,
                now,
            };
            out.push(compose::build(&env, &rendered)?);
        }
        Ok(out)
    }

    /// The commit that only records the message as rejected, for a reason.
    pub(super) fn rejection(key: String, reason: String, now: DateTime<Utc>) -> (Commit, Handled) {
        let handled = Handled::new(Disposition::Rejected, None, reason);
        let commit = Commit {
            inbound: Some((key, ledger_record(&handled, None, now))),
            ..Commit::default()
        };
        (commit, handled)
    }
}
