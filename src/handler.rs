//! Handling of one inbound message: the shell looks up the facts the core asks for, the
//! core decides ([`decide::decide`]), one [`Commit`] writes everything; once a batch of
//! messages is handled the store is flushed ([`Handler::durable`]), and only then does the
//! caller move them on the IMAP server.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::archive::Archive;
use crate::auth::Secret;
use crate::compose::{self, MailError};
use crate::config::Config;
use crate::decide::{self, Context, Decision, Facts, Questions};
use crate::inbound::Inbound;
use crate::store::{Commit, Disposition, InboundRecord, Store, StoreError, inbound_key};
use crate::workflow;

/// Why a message could not be handled. Only the store can fail a message: anything else
/// that goes wrong with one message (a mail that cannot be built, a parser bug) rejects
/// that message with the reason and the service goes on to the next.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Building our own mail failed: a store error stays one, anything else rejects the message.
enum BuildError {
    Store(StoreError),
    Mail(String),
}

impl From<StoreError> for BuildError {
    fn from(e: StoreError) -> BuildError {
        BuildError::Store(e)
    }
}

impl From<MailError<StoreError>> for BuildError {
    fn from(e: MailError<StoreError>) -> BuildError {
        match e {
            MailError::Nonce(e) => BuildError::Store(e),
            MailError::Compose(e) => BuildError::Mail(e.to_string()),
        }
    }
}

impl From<crate::monthly::MonthlyError> for BuildError {
    fn from(e: crate::monthly::MonthlyError) -> BuildError {
        BuildError::Mail(e.to_string())
    }
}

impl From<compose::ComposeError> for BuildError {
    fn from(e: compose::ComposeError) -> BuildError {
        BuildError::Mail(e.to_string())
    }
}

/// What handling a message did (for logs and tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handled {
    pub disposition: Disposition,
    pub case: Option<String>,
    pub note: String,
    /// The message had been handled before (a re-delivery after a crash).
    pub replay: bool,
}

/// The pieces a handler needs; the config is swapped whole on reload.
pub struct Handler {
    pub store: Store,
    pub secret: Secret,
    /// Earlier approved answers: asked about each new post, told of each approved answer.
    pub archive: Arc<Archive>,
}

impl Handler {
    /// A handler whose archive is built from the store now (case dates in UTC); the
    /// service builds its archive once and shares it ([`Handler::with_archive`]).
    pub fn new(store: Store, secret: Secret) -> Handler {
        let archive = Archive::load(&store, chrono_tz::UTC).unwrap_or_else(|e| {
            tracing::error!(error = %e, "the archive of earlier answers could not be read; none is offered");
            Archive::empty(chrono_tz::UTC)
        });
        Handler::with_archive(store, secret, Arc::new(archive))
    }

    pub fn with_archive(store: Store, secret: Secret, archive: Arc<Archive>) -> Handler {
        Handler {
            store,
            secret,
            archive,
        }
    }

    /// Handles raw message bytes that arrived at `arrival`, at time `now`.
    pub fn handle(
        &self,
        config: &Arc<Config>,
        raw: &[u8],
        arrival: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Handled, HandleError> {
        let _writer = self.store.writer();
        let parsed = Inbound::parse(raw);
        let mail = parsed.as_ref().ok();
        let key = inbound_key(
            mail.and_then(|m| m.message_id.as_deref()),
            mail.and_then(|m| m.from.as_ref()).map(|a| a.email.as_str()),
            raw,
        );
        if let Some(rec) = self.store.inbound(&key)? {
            // Seen before — but its commit may have reached only sled's memory (a flush that
            // failed, e.g. on a full disk): make it durable before the caller moves the mail.
            self.store.flush_blocking()?;
            return Ok(Handled {
                disposition: rec.disposition,
                case: rec
                    .case
                    .map(|n| format!("{}-{n}", config.service.case_prefix)),
                note: rec.note,
                replay: true,
            });
        }
        let decision = match parsed {
            Err(e) => Decision::Drop {
                disposition: Disposition::Rejected,
                note: format!("malformed message: {e}"),
            },
            Ok(mail) => {
                let arrival = arrival.unwrap_or(now);
                // A parser bug here is caught again, with the same outcome, in `decide` below.
                let questions = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    decide::questions(&mail, config, arrival)
                }))
                .unwrap_or_default();
                let facts = facts(&self.store, Some(&self.archive), &questions)?;
                let cx = Context {
                    config,
                    secret: &self.secret,
                    now,
                    arrival,
                };
                // A bug in reading one odd message must not block the intake (it would be
                // retried forever): such a message is rejected and logged, the service goes on.
                match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    decide::decide(&mail, &facts, &cx)
                })) {
                    Ok(decision) => decision,
                    Err(_) => {
                        tracing::error!(message_id = ?mail.message_id, "internal error while handling a message; it goes to the rejected mailbox");
                        Decision::Drop {
                            disposition: Disposition::Rejected,
                            note: "internal error while reading it".into(),
                        }
                    }
                }
            }
        };
        let case = decision.case().map(|c| c.id.clone());
        if let Decision::Case {
            outcome, new: true, ..
        } = &decision
        {
            warn_if_forecast(config, &outcome.case);
        }
        let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.to_commit(config, key.clone(), decision, now)
        }));
        let (commit, handled) = match built {
            Ok(Ok(done)) => done,
            Ok(Err(BuildError::Store(e))) => return Err(e.into()),
            Ok(Err(BuildError::Mail(why))) => {
                let reason = format!("our answer to it could not be built: {why}");
                tracing::warn!(case = %case.as_deref().unwrap_or("-"), %reason, "message rejected");
                Self::rejection(key, reason, now)
            }
            Err(_) => {
                let reason = "internal error while answering it".to_string();
                tracing::error!(case = %case.as_deref().unwrap_or("-"), "internal error while building the answer to a message; it goes to the rejected mailbox");
                Self::rejection(key, reason, now)
            }
        };
        // Durable with the rest of its batch: the watcher calls [`Handler::durable`] before
        // it moves any message of the batch.
        let approved: Vec<workflow::Case> = commit
            .cases
            .iter()
            .filter(|(c, _)| c.approved.is_some())
            .map(|(c, _)| c.clone())
            .collect();
        self.store.commit(commit)?;
        // The one place an approved answer joins the archive: after its commit.
        for case in &approved {
            self.archive.add_case(case);
        }
        Ok(handled)
    }

    /// Makes every commit so far durable (one flush for a batch of messages).
    pub fn durable(&self) -> Result<(), HandleError> {
        Ok(self.store.flush_blocking()?)
    }

    /// A message over `imap.max_message_size`, of which only the header was read: recorded
    /// in the ledger as rejected and the coordinator told, once (a second report of the
    /// same message, after a restart, is a replay).
    pub fn oversized(
        &self,
        config: &Config,
        header: &[u8],
        size: u64,
        now: DateTime<Utc>,
    ) -> Result<Handled, HandleError> {
        let _writer = self.store.writer();
        let parsed = Inbound::parse(header).ok();
        let mid = parsed.as_ref().and_then(|m| m.message_id.as_deref());
        let sender = parsed
            .as_ref()
            .and_then(|m| m.from.as_ref())
            .map(|a| a.email.as_str());
        let key = inbound_key(mid, sender, format!("oversized {size}\n\n").as_bytes());
        if let Some(rec) = self.store.inbound(&key)? {
            self.store.flush_blocking()?;
            return Ok(Handled {
                disposition: rec.disposition,
                case: None,
                note: rec.note,
                replay: true,
            });
        }
        let limit = config.imap.max_message_size;
        let subject = parsed.as_ref().map(|m| m.subject.as_str()).unwrap_or("");
        let content =
            crate::templates::render_oversized(config, sender.unwrap_or("-"), subject, size, limit);
        let note = format!("too large: {size} bytes, the limit is {limit}");
        let (mut commit, handled) = Self::rejection(key, note, now);
        let to = &config.people.coordinator.email;
        let envelope = compose::Envelope {
            config,
            secret: &self.secret,
            case: 0,
            case_id: None,
            to,
            nonce: self.store.generate_id()?,
            now,
        };
        match compose::build(&envelope, &content) {
            Ok(mail) => commit.outbox.push(mail),
            Err(e) => {
                tracing::error!(error = %e, "the notice of a too large message cannot be built")
            }
        }
        self.store.commit(commit)?;
        self.store.flush_blocking()?;
        Ok(handled)
    }

    /// The commit that only records the message as rejected, for a reason.
    fn rejection(key: String, reason: String, now: DateTime<Utc>) -> (Commit, Handled) {
        let handled = Handled {
            disposition: Disposition::Rejected,
            case: None,
            note: reason,
            replay: false,
        };
        let commit = Commit {
            inbound: Some((key, ledger_record(&handled, None, now))),
            ..Commit::default()
        };
        (commit, handled)
    }

    fn to_commit(
        &self,
        config: &Config,
        key: String,
        decision: Decision,
        now: DateTime<Utc>,
    ) -> Result<(Commit, Handled), BuildError> {
        let mut commit = Commit::default();
        let handled = match decision {
            Decision::Drop { disposition, note } => Handled {
                disposition,
                case: None,
                note,
                replay: false,
            },
            Decision::Service {
                mails,
                absences,
                note,
            } => {
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
                    commit.outbox.push(compose::build(&env, &rendered)?);
                }
                commit.absences = absences;
                Handled {
                    disposition: Disposition::Processed,
                    case: None,
                    note,
                    replay: false,
                }
            }
            Decision::Report {
                to,
                from,
                until,
                rows,
                note,
            } => {
                let nonce = self.store.generate_id()?;
                commit.outbox.push(crate::monthly::mail(
                    config,
                    &self.secret,
                    &rows,
                    from,
                    until,
                    &to,
                    nonce,
                    now,
                )?);
                Handled {
                    disposition: Disposition::Processed,
                    case: None,
                    note,
                    replay: false,
                }
            }
            Decision::Case {
                outcome,
                new,
                disposition,
                note,
                ..
            } => {
                let outcome = *outcome;
                let store = &self.store;
                let mut next = || store.generate_id();
                commit.outbox = compose::case_mails(
                    config,
                    &self.secret,
                    &outcome.case,
                    &outcome.notices,
                    now,
                    &mut next,
                )?;
                if new {
                    commit.new_case = Some(outcome.case.number);
                }
                let dues = workflow::schedule(&outcome.case, config);
                let id = outcome.case.id.clone();
                commit.cases.push((outcome.case, dues));
                Handled {
                    disposition,
                    case: Some(id),
                    note,
                    replay: false,
                }
            }
        };
        let case = commit.cases.first().map(|(case, _)| case.number);
        commit.inbound = Some((key, ledger_record(&handled, case, now)));
        Ok((commit, handled))
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
        similar: match (archive, &q.similar_to) {
            (Some(a), Some(post)) => a.candidates(post),
            _ => Vec::new(),
        },
    })
}

/// A deadline in a year whose production calendar is only a forecast deserves a look.
fn warn_if_forecast(config: &Config, case: &workflow::Case) {
    if let Some(answer) = case.deadlines.answer {
        let day = workflow::local_date(config, answer);
        if config.calendar.is_predicted(day) {
            tracing::warn!(case = %case.id, %day, "the answer deadline falls in a year whose production calendar is only a forecast; check the decree");
        }
    }
}

/// The ledger's record of a handled message.
fn ledger_record(handled: &Handled, case: Option<u64>, now: DateTime<Utc>) -> InboundRecord {
    InboundRecord {
        disposition: handled.disposition,
        case,
        at: now,
        note: handled.note.clone(),
    }
}
