//! Handling of one inbound message (SPEC §5–§8): the shell reads the store, the pure core
//! decides, one [`Commit`] writes everything, the store is flushed, and only then does the
//! caller move the message on the IMAP server.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

use crate::auth::{self, Secret};
use crate::compose::{self, MailError};
use crate::config::Config;
use crate::inbound::{Automatic, Inbound};
use crate::intake::{self, Notification};
use crate::reply::{self, Keyword};
use crate::store::{Commit, Disposition, InboundRecord, Store, StoreError, inbound_key};
use crate::templates::{self, Rendered};
use crate::workflow::{self, Action, Case, Classification, Ctx, DraftKind, Event, Outcome, Role};

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
}

/// A decision about a message that is not (yet) a commit.
enum Verdict {
    /// Nothing to write but the ledger entry.
    Drop(Disposition, String),
    /// A self-service answer (SPEC §8): mails about no case, absences recorded.
    Service {
        mails: Vec<(String, Rendered)>,
        absences: Vec<(String, Option<NaiveDate>)>,
        note: String,
    },
    /// A case changed or was opened.
    Case {
        outcome: Box<Outcome>,
        new: bool,
        disposition: Disposition,
        note: String,
    },
}

impl Verdict {
    /// The case the verdict is about, for logs.
    fn case_id(&self) -> Option<String> {
        match self {
            Verdict::Case { outcome, .. } => Some(outcome.case.id.clone()),
            _ => None,
        }
    }
}

impl Handler {
    pub fn new(store: Store, secret: Secret) -> Handler {
        Handler { store, secret }
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
        let mid = parsed.as_ref().ok().and_then(|m| m.message_id.clone());
        let key = inbound_key(mid.as_deref(), raw);
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
        let verdict = match parsed {
            Err(e) => Verdict::Drop(Disposition::Rejected, format!("malformed message: {e}")),
            Ok(mail) => {
                // A bug in reading one odd message must not block the intake (it would be
                // retried forever): such a message is rejected and logged, the service goes on.
                let decided = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    self.decide(config, &mail, arrival.unwrap_or(now), now)
                }));
                match decided {
                    Ok(verdict) => verdict?,
                    Err(_) => {
                        tracing::error!(message_id = ?mail.message_id, "internal error while handling a message; it goes to the rejected mailbox");
                        Verdict::Drop(
                            Disposition::Rejected,
                            "internal error while reading it".into(),
                        )
                    }
                }
            }
        };
        let case = verdict.case_id();
        let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.to_commit(config, key.clone(), verdict, now)
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
        verdict: Verdict,
        now: DateTime<Utc>,
    ) -> Result<(Commit, Handled), BuildError> {
        let mut commit = Commit::default();
        let handled = match verdict {
            Verdict::Drop(disposition, note) => Handled {
                disposition,
                case: None,
                note,
                replay: false,
            },
            Verdict::Service {
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
            Verdict::Case {
                outcome,
                new,
                disposition,
                note,
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

    fn decide(
        &self,
        config: &Config,
        mail: &Inbound,
        arrival: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Verdict, HandleError> {
        let domain = compose::domain(config);
        let sender = mail
            .from
            .as_ref()
            .map(|a| a.email.clone())
            .unwrap_or_default();
        // Our own mail coming back (SPEC §7).
        if sender == config.smtp.from.email
            || mail
                .message_id
                .as_deref()
                .is_some_and(|id| auth::is_ours(id, &domain))
        {
            return Ok(Verdict::Drop(
                Disposition::Rejected,
                "our own message came back".into(),
            ));
        }
        let parsed = reply::parse_reply(mail, &config.service.case_prefix);
        let case_number = parsed.case_number.or_else(|| {
            mail.in_reply_to
                .iter()
                .chain(mail.references.iter())
                .find_map(|id| auth::case_of_id(id, &domain))
        });
        let absences = self.store.absences()?;
        let ctx = Ctx {
            config,
            absences: &absences,
            now,
        };
        if let Some(number) = case_number {
            return self.reply_to_case(ctx, mail, &sender, number, parsed, &domain);
        }
        if mail.automatic.is_none()
            && let Some(verdict) = self.self_service(config, &sender, &parsed, now)?
        {
            return Ok(verdict);
        }
        let from_monitoring = config.intake.senders.iter().any(|p| p.is_match(&sender));
        match &mail.automatic {
            // The monitoring platform is a robot: its notifications may well say
            // `Auto-Submitted: auto-generated` or `Precedence: bulk`. They are never answered,
            // so taking them in makes no loop; bounces and auto-replies stay out.
            Some(
                Automatic::AutoSubmitted(_) | Automatic::Precedence(_) | Automatic::MailingList,
            ) if from_monitoring => {}
            Some(why) => {
                return Ok(Verdict::Drop(
                    Disposition::Rejected,
                    format!("automatic message ({why:?}), not a case"),
                ));
            }
            None => {}
        }
        if from_monitoring {
            return self.notification(ctx, mail, arrival);
        }
        Ok(Verdict::Drop(
            Disposition::Rejected,
            format!("sender {sender} may not open cases and the message is no reply to a case"),
        ))
    }

    fn reply_to_case(
        &self,
        ctx: Ctx<'_>,
        mail: &Inbound,
        sender: &str,
        number: u64,
        parsed: reply::ParsedReply,
        domain: &str,
    ) -> Result<Verdict, HandleError> {
        let config = ctx.config;
        let Some(case) = self.store.case(number)? else {
            return Ok(Verdict::Drop(
                Disposition::Rejected,
                format!("reply to unknown case {number}"),
            ));
        };
        if sender.is_empty() {
            // No From, several, or one the SMTP library refuses: nobody can be recognised
            // and nobody can be answered.
            return Ok(Verdict::Drop(
                Disposition::Rejected,
                format!("reply to {} without a valid From address", case.id),
            ));
        }
        if let Some(why) = &mail.automatic {
            // Recorded, never answered (SPEC §7).
            let reason = format!("automatic reply ignored ({why:?})");
            let mut outcome = workflow::refuse(case.clone(), sender, reason.clone(), ctx);
            outcome.notices.clear();
            return Ok(Verdict::Case {
                outcome: Box::new(outcome),
                new: false,
                disposition: Disposition::Rejected,
                note: reason,
            });
        }
        let role = if sender == config.people.coordinator.email {
            Role::Coordinator
        } else if case
            .executor
            .as_deref()
            .and_then(|id| config.executor(id))
            .is_some_and(|e| e.email == sender)
        {
            Role::Executor
        } else {
            Role::Other
        };
        let proof = mail
            .in_reply_to
            .iter()
            .chain(mail.references.iter())
            .any(|id| self.secret.verifies(id, number, sender, domain))
            || parsed
                .codes
                .iter()
                .any(|c| self.secret.code_matches(c, number, sender));
        // Anyone refused gets one short explanation (never to automatic mail, handled above).
        let refuse = |reason: String| Verdict::Case {
            outcome: Box::new(workflow::refuse(case.clone(), sender, reason.clone(), ctx)),
            new: false,
            disposition: Disposition::Rejected,
            note: reason,
        };
        if !proof {
            return Ok(refuse(
                "the reply does not show that it answers one of our messages to this address (keep the subject and the action code)".into(),
            ));
        }
        let action = match parsed.keyword.map(|(k, _)| k) {
            None => Action::Draft(DraftKind::Answer),
            Some(Keyword::Interim) => Action::Draft(DraftKind::Interim),
            Some(Keyword::Query) => Action::Draft(DraftKind::Query),
            Some(Keyword::Decline) => Action::Decline,
            Some(Keyword::Approve) => Action::Approve,
            Some(Keyword::Rework) => Action::Rework,
            Some(Keyword::Assign(who)) => Action::Assign(who),
            Some(Keyword::Exclude) => Action::Exclude,
            Some(Keyword::Close) => Action::Close,
            Some(Keyword::Published) => Action::Published,
            Some(Keyword::Invalid(what)) => return Ok(refuse(what)),
            Some(other) => return Ok(refuse(format!("{other:?} is not an action on a case"))),
        };
        if action == Action::Draft(DraftKind::Answer) && role == Role::Coordinator {
            return Ok(refuse(
                "no action keyword found (СОГЛАСОВАНО, ДОРАБОТАТЬ, НАЗНАЧИТЬ, ИСКЛЮЧИТЬ, ЗАКРЫТЬ)"
                    .into(),
            ));
        }
        if matches!(action, Action::Draft(_))
            && parsed.text.trim().is_empty()
            && mail.attachments.is_empty()
        {
            return Ok(refuse("the draft is empty".into()));
        }
        let outcome = workflow::apply(
            &case,
            Event::Reply {
                from: sender.to_string(),
                role,
                action: action.clone(),
                text: parsed.text.clone(),
                attachments: mail.attachments.clone(),
            },
            ctx,
        );
        let disposition = if outcome.accepted {
            Disposition::Processed
        } else {
            Disposition::Rejected
        };
        let note = format!(
            "{} by {sender}: {}",
            action.name(),
            if outcome.accepted { "taken" } else { "refused" }
        );
        Ok(Verdict::Case {
            outcome: Box::new(outcome),
            new: false,
            disposition,
            note,
        })
    }

    fn notification(
        &self,
        ctx: Ctx<'_>,
        mail: &Inbound,
        arrival: DateTime<Utc>,
    ) -> Result<Verdict, HandleError> {
        let config = ctx.config;
        let n = match intake::parse_notification(
            mail,
            &config.intake.labels,
            config.intake.source_timezone,
            arrival,
        ) {
            Ok(n) => n,
            Err(e) => {
                return Ok(Verdict::Drop(
                    Disposition::Rejected,
                    format!("notification not understood: {e}"),
                ));
            }
        };
        let existing = match &n.source_id {
            Some(s) => self.store.case_by_source_id(s)?,
            None => None,
        };
        let existing = match (existing, &n.link) {
            (Some(c), _) => Some(c),
            (None, Some(l)) => self.store.case_by_link(l)?,
            (None, None) => None,
        };
        if let Some(case) = existing {
            let detail = format!(
                "same post notified again (source id {}, link {})",
                n.source_id.as_deref().unwrap_or("-"),
                n.link.as_deref().unwrap_or("-")
            );
            let outcome = workflow::apply(&case, Event::Duplicate { detail }, ctx);
            return Ok(Verdict::Case {
                outcome: Box::new(outcome),
                new: false,
                disposition: Disposition::Processed,
                note: format!("duplicate of {}", case.id),
            });
        }
        let earlier = self.earlier_case(config, &n)?;
        let class = workflow::classify(config, &n, earlier.as_ref());
        let number = self.store.peek_next_case()?;
        let note = match &class {
            Classification::Excluded { .. } => "excluded (clause 12)".to_string(),
            Classification::Repeat { of, .. } => format!("repeat of {of}"),
            Classification::Routed { rule, executor, .. } => {
                format!("routed by «{rule}» to {executor}")
            }
            Classification::Unmatched { .. } => "no rule matched".to_string(),
        };
        let outcome = workflow::open(number, n, class, ctx);
        if let Some(answer) = outcome.case.deadlines.answer {
            let day = workflow::local_date(config, answer);
            if config.calendar.is_predicted(day) {
                tracing::warn!(case = %outcome.case.id, %day, "the answer deadline falls in a year whose production calendar is only a forecast; check the decree");
            }
        }
        Ok(Verdict::Case {
            outcome: Box::new(outcome),
            new: true,
            disposition: Disposition::Processed,
            note,
        })
    }

    /// `МОИ ДЕЛА`, `ОТСУТСТВУЮ ДО`, `НА МЕСТЕ` from a known person (SPEC §8). `None` when the
    /// message is no such request. Answers go only to the person's configured address.
    fn self_service(
        &self,
        config: &Config,
        sender: &str,
        parsed: &reply::ParsedReply,
        now: DateTime<Utc>,
    ) -> Result<Option<Verdict>, HandleError> {
        let Some((keyword, _)) = &parsed.keyword else {
            return Ok(None);
        };
        let coordinator = &config.people.coordinator;
        let overseer = sender == coordinator.email
            || config
                .people
                .supervisor
                .as_ref()
                .is_some_and(|s| s.email == sender);
        let executor = config.executor_by_email(sender);
        let (address, known) = match (overseer, executor) {
            (true, _) => (sender.to_string(), true),
            (false, Some(e)) => (e.email.clone(), true),
            _ => (String::new(), false),
        };
        if !known {
            return Ok(None);
        }
        let refuse = |reason: &str| {
            Some(Verdict::Service {
                mails: vec![(
                    address.clone(),
                    templates::render_service_refusal(config, reason),
                )],
                absences: Vec::new(),
                note: format!("self-service refused: {reason}"),
            })
        };
        let today = workflow::local_date(config, now);
        Ok(match keyword {
            Keyword::MyCases => {
                let mut cases: Vec<Case> = self
                    .store
                    .open_cases()?
                    .into_iter()
                    .filter(|c| {
                        overseer || c.executor.as_deref() == executor.map(|e| e.id.as_str())
                    })
                    .collect();
                cases.sort_by_key(|c| (templates::next_deadline(c).map(|(_, t)| t), c.number));
                if overseer {
                    cases.sort_by(|a, b| a.executor.cmp(&b.executor));
                }
                let items: Vec<templates::QueueItem<'_>> = cases
                    .iter()
                    .map(|c| templates::QueueItem {
                        case: c,
                        code: self.secret.action_code(c.number, &address),
                    })
                    .collect();
                let rendered =
                    templates::render_queue(config, &items, overseer, now, &config.smtp.from.email);
                Some(Verdict::Service {
                    mails: vec![(address.clone(), rendered)],
                    absences: Vec::new(),
                    note: format!("my cases: {} to {address}", items.len()),
                })
            }
            Keyword::AbsentUntil(until) => match executor {
                None => refuse("ОТСУТСТВУЮ ДО / ABSENT UNTIL is for executors"),
                Some(e) if e.deputy.is_none() => {
                    refuse("no deputy is set for you in the configuration; ask the coordinator")
                }
                Some(_) if *until < today => refuse("that date has passed"),
                Some(e) => Some(Verdict::Service {
                    mails: vec![
                        (
                            e.email.clone(),
                            templates::render_absence(config, e, Some(*until), false),
                        ),
                        (
                            coordinator.email.clone(),
                            templates::render_absence(config, e, Some(*until), true),
                        ),
                    ],
                    absences: vec![(e.id.clone(), Some(*until))],
                    note: format!("{} absent until {until}", e.id),
                }),
            },
            Keyword::Back => match executor {
                None => refuse("НА МЕСТЕ / BACK is for executors"),
                Some(e) => Some(Verdict::Service {
                    mails: vec![
                        (
                            e.email.clone(),
                            templates::render_absence(config, e, None, false),
                        ),
                        (
                            coordinator.email.clone(),
                            templates::render_absence(config, e, None, true),
                        ),
                    ],
                    absences: vec![(e.id.clone(), None)],
                    note: format!("{} back", e.id),
                }),
            },
            Keyword::Invalid(what) => refuse(what),
            _ => None,
        })
    }

    /// The latest case by the same author on the same topic within the repeat window.
    pub fn earlier_case(
        &self,
        config: &Config,
        n: &Notification,
    ) -> Result<Option<Case>, StoreError> {
        let (Some(author), Some(topic)) = (&n.author, &n.topic) else {
            return Ok(None);
        };
        Ok(self
            .store
            .latest_by_author_topic(author, topic)?
            .filter(|c| workflow::within_repeat_window(config, c, n)))
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
