//! Handling of one inbound message: the shell looks up the facts the core asks for, the
//! core decides ([`decide::decide`]), one [`Commit`] writes everything; once a batch of
//! messages is handled the store is flushed ([`Intake::durable`]), and only then does the
//! caller move them on the IMAP server.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use otklik_core::auth::Secret;
use otklik_core::compose::{self, MailError};
use otklik_core::config::Config;
use otklik_core::decide::{self, Decision, Disposition, Facts, Questions, Setting};
use otklik_core::inbound::Inbound;
use otklik_core::sender::Pending;
use otklik_core::workflow;

use crate::archive::Archive;
use crate::store::{Commit, InProgress, InboundRecord, Store, StoreError, inbound_key};

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

impl From<otklik_core::monthly::MonthlyError> for BuildError {
    fn from(e: otklik_core::monthly::MonthlyError) -> BuildError {
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

/// Where a message came from: the intake mailbox, its UIDVALIDITY and the UID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub mailbox: String,
    pub uid_validity: u32,
    pub uid: u32,
}

/// The pieces a handler needs; the config is swapped whole on reload.
pub struct Intake {
    pub store: Store,
    pub secret: Secret,
    /// Earlier approved answers: asked about each new post, told of each approved answer.
    pub archive: Arc<Archive>,
    /// The routing model the service routes with: the config's starter model and every
    /// example cases confirmed since, kept up to date after each commit.
    model: std::sync::Mutex<Option<Learned>>,
}

/// The model trained on top of one config's starter model.
struct Learned {
    starter: Arc<otklik_core::routing::Model>,
    model: otklik_core::routing::Model,
}

impl Learned {
    fn model_ref(&self) -> &otklik_core::routing::Model {
        &self.model
    }
}

impl Intake {
    /// A handler whose archive is built from the store now (case dates in UTC); the
    /// service builds its archive once and shares it ([`Intake::with_archive`]).
    pub fn new(store: Store, secret: Secret) -> Intake {
        let archive = Archive::load(&store, chrono_tz::UTC).unwrap_or_else(|e| {
            tracing::error!(error = %e, "the archive of earlier answers could not be read; none is offered");
            Archive::empty(chrono_tz::UTC)
        });
        Intake::with_archive(store, secret, Arc::new(archive))
    }

    pub fn with_archive(store: Store, secret: Secret, archive: Arc<Archive>) -> Intake {
        Intake {
            store,
            secret,
            archive,
            model: std::sync::Mutex::new(None),
        }
    }
    /// Trains the routing model from the config's starter model and the stored examples
    /// (one pass); done at start, and again when a reload brings another starter corpus.
    /// Returns how many stored examples it learned.
    pub fn train(&self, config: &Config) -> Result<usize, StoreError> {
        let mut slot = self.model.lock().unwrap_or_else(|p| p.into_inner());
        self.train_locked(config, &mut slot)
    }

    fn train_locked(
        &self,
        config: &Config,
        slot: &mut Option<Learned>,
    ) -> Result<usize, StoreError> {
        let taught = self.store.training()?;
        let starter = config.routing.starter.clone();
        let model = otklik_core::routing::signals::trained(&starter, &taught);
        tracing::info!(
            stored = taught.len(),
            examples = model.examples(),
            "routing model trained"
        );
        *slot = Some(Learned { starter, model });
        Ok(taught.len())
    }

    /// The model for this config, trained first if it was not for this config's starter.
    fn current_model<'a>(
        &self,
        config: &Config,
        slot: &'a mut Option<Learned>,
    ) -> Result<&'a otklik_core::routing::Model, StoreError> {
        let fresh = slot
            .as_ref()
            .is_some_and(|l| Arc::ptr_eq(&l.starter, &config.routing.starter));
        if !fresh {
            self.train_locked(config, slot)?;
        }
        Ok(slot
            .get_or_insert_with(|| Learned {
                starter: config.routing.starter.clone(),
                model: (*config.routing.starter).clone(),
            })
            .model_ref())
    }

    /// A copy of the model the service routes with now (for tests and the control socket).
    pub fn model(&self, config: &Config) -> Result<otklik_core::routing::Model, StoreError> {
        let mut slot = self.model.lock().unwrap_or_else(|p| p.into_inner());
        Ok(self.current_model(config, &mut slot)?.clone())
    }

    /// Handles raw message bytes that arrived at `arrival`, at time `now`.
    pub fn handle(
        &self,
        config: &Arc<Config>,
        raw: &[u8],
        arrival: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Handled, HandleError> {
        self.handle_from(config, raw, arrival, now, None)
    }

    /// [`Intake::handle`] for a message of the intake mailbox: before it is parsed, a mark
    /// naming it is written and flushed ([`InProgress`]); its outcome clears the mark in the
    /// same transaction. A message found still marked after a restart is the one that took
    /// the process down: it is set aside unparsed ([`Intake::set_aside`]) after one crash,
    /// or after a second restart without one (a kill from outside may have come while it was
    /// in hand by chance).
    pub fn handle_from(
        &self,
        config: &Arc<Config>,
        raw: &[u8],
        arrival: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        origin: Option<&Origin>,
    ) -> Result<Handled, HandleError> {
        let _writer = self.store.writer();
        // A message set aside before (its bytes' hash is its key): never parsed again.
        let bytes_key = inbound_key(None, None, raw);
        if let Some(rec) = self.store.inbound(&bytes_key)? {
            return self.replay(config, rec, origin.is_some());
        }
        let marked = origin.is_some();
        if let Some(origin) = origin {
            let sha256 = bytes_key.trim_start_matches("sha:").to_string();
            let before = self
                .store
                .in_progress()?
                .filter(|m| m.sha256 == sha256 && m.uid == origin.uid);
            if let Some(mark) = &before
                && (mark.crashed || mark.restarts >= 2)
            {
                let how = if mark.crashed {
                    "the service crashed while handling it".to_string()
                } else {
                    format!(
                        "the service stopped {} times while handling it",
                        mark.restarts
                    )
                };
                tracing::error!(uid = mark.uid, uid_validity = mark.uid_validity, mailbox = %mark.mailbox, size = raw.len(), "{how}");
                return self.set_aside(config, raw, format!("{how}; set aside unread"), now);
            }
            let (restarts, crashed) = before.map_or((0, false), |m| (m.restarts, m.crashed));
            self.store.mark_in_progress(&InProgress {
                mailbox: origin.mailbox.clone(),
                uid_validity: origin.uid_validity,
                uid: origin.uid,
                sha256,
                size: raw.len() as u64,
                at: now,
                restarts,
                crashed,
            })?;
        }
        crash_point(raw);
        let parsed = Inbound::parse(raw);
        let mail = parsed.as_ref().ok();
        let key = inbound_key(
            mail.and_then(|m| m.message_id.as_deref()),
            mail.and_then(|m| m.from.as_ref()).map(|a| a.email.as_str()),
            raw,
        );
        if let Some(rec) = self.store.inbound(&key)? {
            return self.replay(config, rec, marked);
        }
        let mut used = None;
        let decision = match parsed {
            Err(e) => Decision::Drop {
                disposition: Disposition::Rejected,
                note: format!("malformed message: {e}"),
            },
            Ok(mail) => {
                let arrival = arrival.unwrap_or(now);
                let decision = match self.decide(config, &mail, arrival, now, false) {
                    Ok(decision) => decision,
                    Err(HandleError::Store(e)) if e.is_damaged() => {
                        return self.set_aside(config, raw, damaged_reason(&e), now);
                    }
                    Err(e) => return Err(e),
                };
                match decision {
                    // The person confirmed a waiting action: the message that asked for it
                    // is decided again, its sender now proven.
                    Decision::Confirmed { nonce, note } => {
                        let stored = self.pending(nonce)?;
                        match stored.and_then(|s| {
                            let raw = s.raw()?;
                            Some((s, Inbound::parse(&raw).ok()?))
                        }) {
                            Some((stored, original)) => {
                                let again =
                                    match self.decide(config, &original, stored.arrival, now, true)
                                    {
                                        Ok(again) => again,
                                        Err(HandleError::Store(e)) if e.is_damaged() => {
                                            return self.set_aside(
                                                config,
                                                raw,
                                                damaged_reason(&e),
                                                now,
                                            );
                                        }
                                        Err(e) => return Err(e),
                                    };
                                used = Some(stored.used());
                                confirmed(again, &note)
                            }
                            None => Decision::Drop {
                                disposition: Disposition::Rejected,
                                note: format!("{note}: the message to confirm is gone"),
                            },
                        }
                    }
                    other => other,
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
        let arrival = arrival.unwrap_or(now);
        let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.to_commit(config, key.clone(), decision, raw, arrival, now)
        }));
        let (commit, handled) = match built {
            Ok(Ok((mut commit, handled))) => {
                if let Some((k, v)) = used {
                    commit.meta.push((k, v));
                }
                (commit, handled)
            }
            Ok(Err(BuildError::Store(e))) if e.is_damaged() => {
                return self.set_aside(config, raw, damaged_reason(&e), now);
            }
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
        // Durable with the rest of its batch: the watcher calls [`Intake::durable`] before
        // it moves any message of the batch.
        let mut commit = commit;
        commit.clears_mark = marked;
        let approved: Vec<workflow::Case> = commit
            .cases
            .iter()
            .filter(|(c, _)| c.approved.is_some())
            .map(|(c, _)| c.clone())
            .collect();
        let taught = commit.training.clone();
        match self.store.commit(commit) {
            Ok(()) => {
                if !taught.is_empty() {
                    let mut slot = self.model.lock().unwrap_or_else(|p| p.into_inner());
                    if let Some(l) = slot.as_mut() {
                        for t in &taught {
                            otklik_core::routing::signals::apply(&mut l.model, t);
                        }
                    }
                    tracing::info!(
                        case = taught[0].case,
                        examples = taught.len(),
                        "routing model learned from the case"
                    );
                }
                // The one place an approved answer joins the archive: after its commit.
                for case in &approved {
                    self.archive.add_case(case);
                }
                Ok(handled)
            }
            Err(e) if e.is_damaged() => self.set_aside(config, raw, damaged_reason(&e), now),
            Err(e) => Err(e.into()),
        }
    }

    /// A message seen before: what became of it, as recorded. Its commit may have reached
    /// only sled's memory (a flush that failed, e.g. on a full disk), so it is made durable
    /// before the caller moves the mail; the "in progress" mark goes with it.
    fn replay(
        &self,
        config: &Config,
        rec: InboundRecord,
        marked: bool,
    ) -> Result<Handled, HandleError> {
        if marked {
            self.store.clear_in_progress()?;
        }
        self.store.flush_blocking()?;
        Ok(Handled {
            disposition: rec.disposition,
            case: rec
                .case
                .map(|n| format!("{}-{n}", config.service.case_prefix)),
            note: rec.note,
            replay: true,
        })
    }

    /// Queues `content` to the coordinator in `commit` (a notice about a message, no case);
    /// a notice that cannot be built is logged, and the message's own record still goes in.
    fn tell_coordinator(
        &self,
        config: &Config,
        commit: &mut Commit,
        content: &otklik_core::templates::Rendered,
        now: DateTime<Utc>,
        about: &str,
    ) -> Result<(), StoreError> {
        let envelope = compose::Envelope {
            config,
            secret: &self.secret,
            case: 0,
            case_id: None,
            to: &config.people.coordinator.email,
            nonce: self.store.generate_id()?,
            now,
        };
        match compose::build(&envelope, content) {
            Ok(mail) => commit.outbox.push(mail),
            Err(e) => tracing::error!(error = %e, "the notice of {about} cannot be built"),
        }
        Ok(())
    }

    /// A message that cannot be handled for a reason of its own — it took the process down,
    /// or a store record it needs is damaged: recorded as rejected under its bytes' hash,
    /// the mark cleared and the coordinator told, in one transaction, flushed.
    fn set_aside(
        &self,
        config: &Config,
        raw: &[u8],
        reason: String,
        now: DateTime<Utc>,
    ) -> Result<Handled, HandleError> {
        let key = inbound_key(None, None, raw);
        tracing::error!(size = raw.len(), %reason, "message set aside");
        let (mut commit, handled) = Self::rejection(key, reason.clone(), now);
        commit.clears_mark = true;
        let (from, subject) = (raw_field(raw, "From"), raw_field(raw, "Subject"));
        let content = otklik_core::templates::render_set_aside(config, &from, &subject, &reason);
        self.tell_coordinator(config, &mut commit, &content, now, "a message set aside")?;
        self.store.commit(commit)?;
        self.store.flush_blocking()?;
        Ok(handled)
    }

    /// The core's decision on one parsed message: the facts it asks for, then `decide`.
    /// `confirmed`: its sender confirmed it by a reply. A bug in reading one odd message
    /// must not block the intake (it would be retried forever): such a message is rejected
    /// and logged, the service goes on.
    fn decide(
        &self,
        config: &Arc<Config>,
        mail: &Inbound,
        arrival: DateTime<Utc>,
        now: DateTime<Utc>,
        confirmed: bool,
    ) -> Result<Decision, HandleError> {
        // A parser bug here is caught again, with the same outcome, in `decide` below.
        let questions = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            decide::questions(mail, config, arrival)
        }))
        .unwrap_or_default();
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
        Ok(
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                decide::decide(mail, &facts, &cx)
            })) {
                Ok(decision) => decision,
                Err(_) => {
                    tracing::error!(message_id = ?mail.message_id, "internal error while handling a message; it goes to the rejected mailbox");
                    Decision::Drop {
                        disposition: Disposition::Rejected,
                        note: "internal error while reading it".into(),
                    }
                }
            },
        )
    }

    /// A waiting confirmation, as kept.
    fn pending(&self, nonce: u64) -> Result<Option<StoredPending>, StoreError> {
        Ok(self
            .store
            .meta_get(&pending_key(nonce))?
            .and_then(|v| serde_json::from_str(&v).ok()))
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
        let content = otklik_core::templates::render_oversized(
            config,
            sender.unwrap_or("-"),
            subject,
            size,
            limit,
        );
        let note = format!("too large: {size} bytes, the limit is {limit}");
        let (mut commit, handled) = Self::rejection(key, note, now);
        self.tell_coordinator(config, &mut commit, &content, now, "a too large message")?;
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
        raw: &[u8],
        arrival: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(Commit, Handled), BuildError> {
        let mut commit = Commit::default();
        let handled = match decision {
            Decision::Confirm { what, note, .. } if raw.len() > MAX_PENDING_BYTES => Handled {
                disposition: Disposition::Rejected,
                case: None,
                note: format!("{note}; but the message is too large to keep: {what} not taken"),
                replay: false,
            },
            Decision::Confirm { to, what, note } => {
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
                    arrival,
                    raw_hex: hex::encode(raw),
                };
                // When confirmations were asked of this person: the latest few.
                let mut asked = asked_of(&self.store, &to)?;
                asked.push(now);
                let keep = asked.len().saturating_sub(MAX_ASKED_KEPT);
                asked.drain(..keep);
                commit.meta.push((
                    asked_key(&to),
                    serde_json::to_string(&asked).map_err(|e| BuildError::Mail(e.to_string()))?,
                ));
                commit.meta.push((
                    pending_key(nonce),
                    serde_json::to_string(&stored).map_err(|e| BuildError::Mail(e.to_string()))?,
                ));
                // The ledger keeps the core's words (as `otklik route` prints them); the
                // confirmation's number is in the log and in the kept record.
                tracing::info!(confirmation = nonce, %to, "confirmation asked");
                Handled {
                    disposition: Disposition::Processed,
                    case: None,
                    note,
                    replay: false,
                }
            }
            // Decided again above; met here only if the kept message asked again.
            Decision::Confirmed { note, .. } => Handled {
                disposition: Disposition::Rejected,
                case: None,
                note,
                replay: false,
            },
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
                routing,
                note,
            } => {
                let nonce = self.store.generate_id()?;
                commit.outbox.push(otklik_core::monthly::mail(
                    config,
                    &self.secret,
                    &rows,
                    &routing,
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
                let old = if new {
                    None
                } else {
                    self.store.case_record(outcome.case.number)?
                };
                commit.training = otklik_core::routing::signals::learned(
                    config,
                    old.as_ref(),
                    &outcome.case,
                    now,
                );
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

/// The biggest message kept while its confirmation is waiting.
const MAX_PENDING_BYTES: usize = 4 << 20;

/// How many times of confirmations asked of one person are kept.
const MAX_ASKED_KEPT: usize = 8;

/// The meta key of the times confirmations were asked of a person.
fn asked_key(address: &str) -> String {
    format!("confirm-asked:{address}")
}

/// The times confirmations were asked of a person, oldest first.
fn asked_of(store: &Store, address: &str) -> Result<Vec<DateTime<Utc>>, StoreError> {
    Ok(store
        .meta_get(&asked_key(address))?
        .and_then(|v| serde_json::from_str(&v).ok())
        .unwrap_or_default())
}

/// The meta key of a waiting confirmation.
fn pending_key(nonce: u64) -> String {
    format!("confirm:{nonce:020}")
}

/// A waiting confirmation as the store keeps it: the core's record, when the message
/// arrived, and the message itself (hex), to be decided again once confirmed.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredPending {
    pending: Pending,
    arrival: DateTime<Utc>,
    #[serde(default)]
    raw_hex: String,
}

impl StoredPending {
    fn raw(&self) -> Option<Vec<u8>> {
        hex::decode(&self.raw_hex)
            .ok()
            .filter(|raw| !raw.is_empty())
    }

    /// The record once confirmed: marked done, the message no longer kept.
    fn used(mut self) -> (String, String) {
        self.pending.done = true;
        self.raw_hex.clear();
        let key = pending_key(self.pending.nonce);
        (key, serde_json::to_string(&self).unwrap_or_default())
    }
}

/// The decision on a confirmed message, its ledger line saying so. A confirmed message
/// that asks again (it cannot: its sender is proven now) confirms nothing.
fn confirmed(decision: Decision, how: &str) -> Decision {
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
            note,
        } => Decision::Service {
            mails,
            absences,
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
                if let Some(v) = store.meta_get(&pending_key(*n))?
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

/// Why a message was set aside for a damaged record (`otklik check-store` lists them all).
fn damaged_reason(e: &StoreError) -> String {
    format!("a stored record it needs is damaged ({e}); set aside, run `otklik check-store`")
}

/// Tests make the process die here, between the mark and the parser, as a parser bug
/// would: built with `--features failpoints` and run with `FAILPOINTS=handle=return(TEXT)`,
/// the process aborts on a message that contains TEXT (on every message with
/// `FAILPOINTS=handle=return`). Without the feature this is nothing.
#[cfg_attr(not(feature = "failpoints"), allow(unused_variables))]
fn crash_point(raw: &[u8]) {
    fail::fail_point!("handle", |needle: Option<String>| {
        let hit =
            needle.is_none_or(|n| n.is_empty() || raw.windows(n.len()).any(|w| w == n.as_bytes()));
        if hit {
            std::process::abort();
        }
    });
}

/// The raw value of the first header field `name` of `raw`, read without parsing the
/// message (whatever is in it must not be able to take the process down again): unfolded,
/// at most 200 characters, "-" when absent.
fn raw_field(raw: &[u8], name: &str) -> String {
    let head = &raw[..raw.len().min(64 * 1024)];
    let mut lines = head.split(|&b| b == b'\n');
    let mut value: Option<Vec<u8>> = None;
    for line in lines.by_ref() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        match &mut value {
            Some(v) if line.first().is_some_and(|b| *b == b' ' || *b == b'\t') => {
                v.extend_from_slice(line);
            }
            Some(_) => break,
            None => {
                if line.len() > name.len()
                    && line[..name.len()].eq_ignore_ascii_case(name.as_bytes())
                    && line[name.len()] == b':'
                {
                    value = Some(line[name.len() + 1..].to_vec());
                }
            }
        }
    }
    let text = String::from_utf8_lossy(value.as_deref().unwrap_or(b"-"));
    let text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let text: String = text.chars().take(200).collect();
    if text.is_empty() { "-".into() } else { text }
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
