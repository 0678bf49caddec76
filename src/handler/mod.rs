//! Handling of one inbound message: the core reads it once
//! ([`otklik_core::triage::Triage`]), the shell looks up the facts the core asks for
//! ([`facts()`]), the core decides ([`otklik_core::decide::decide_triaged`]), the decision
//! becomes one [`Commit`] (`build.rs`; a case's outcome by [`outcome::commit_outcome`],
//! the path the escalation timer shares) and the store writes it in one transaction; once a
//! batch of messages is handled the store is flushed ([`Intake::durable`]), and only then
//! does the caller move them on the IMAP server.
//!
//! The files: this one takes a message from its bytes to its commit; `facts.rs` asks the
//! store and calls the core; `confirm.rs` keeps messages waiting for their sender's
//! confirmation; `build.rs` turns a decision into a commit; `outcome.rs` turns a case's
//! outcome into a commit; `aside.rs` records what cannot be handled (set aside, too
//! large) and reads such messages without parsing them.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use otklik_core::auth::Secret;
use otklik_core::config::Config;
use otklik_core::decide::{Decision, Disposition};
use otklik_core::inbound::Inbound;
use otklik_core::workflow;

use crate::archive::Archive;
use crate::store::{Commit, InProgress, InboundRecord, Store, StoreError, inbound_key};

mod aside;
mod build;
mod confirm;
mod facts;
pub mod outcome;

pub use facts::facts;

use aside::{crash_point, damaged_reason, warn_if_forecast};
use build::BuildError;

/// Why a message could not be handled. Only the store can fail a message: anything else
/// that goes wrong with one message (a mail that cannot be built, a parser bug) rejects
/// that message with the reason and the service goes on to the next.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// The store failed: the message stays in the inbox.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What handling a message did (for logs and tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handled {
    /// Where the message goes.
    pub disposition: Disposition,
    /// The case it was about, if any (`OTK-42`).
    pub case: Option<String>,
    /// What was done, for the log.
    pub note: String,
    /// The message had been handled before (a re-delivery after a crash).
    pub replay: bool,
}

impl Handled {
    /// A message handled now (not a replay).
    fn new(disposition: Disposition, case: Option<String>, note: String) -> Handled {
        Handled {
            disposition,
            case,
            note,
            replay: false,
        }
    }
}

/// Where a message came from: the intake mailbox, its UIDVALIDITY and the UID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The mailbox it was read from.
    pub mailbox: String,
    /// The mailbox's UIDVALIDITY.
    pub uid_validity: u32,
    /// Its UID there.
    pub uid: u32,
}

/// One message in hand: its bytes, its ledger key, when it arrived and when it is handled,
/// and whether it carries the "in progress" mark ([`InProgress`]).
struct InHand<'a> {
    raw: &'a [u8],
    key: String,
    arrival: DateTime<Utc>,
    now: DateTime<Utc>,
    marked: bool,
}

/// The pieces a handler needs; the config is swapped whole on reload.
pub struct Intake {
    /// The store every decision is committed to.
    pub store: Store,
    /// The secret that proves our own mails.
    pub secret: Secret,
    /// Earlier approved answers: asked about each new post, told of each approved answer.
    pub archive: Arc<Archive>,
    /// The routing model the service routes with: the config's starter model and every
    /// example cases confirmed since, kept up to date after each commit.
    model: std::sync::Mutex<Option<Learned>>,
}

/// The model trained on top of one config's starter model: the starter itself, shared,
/// until the first example is learned (copied on that first write), so a service that has
/// learned nothing yet holds one model, not two (1.1 MB for two executors, 5.7 MB for the
/// example config's eleven).
struct Learned {
    starter: Arc<otklik_core::routing::Model>,
    model: Arc<otklik_core::routing::Model>,
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

    /// An intake with the archive of earlier answers offered with new cases.
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
        let starter = config.routing.starter.model().clone();
        let model = if taught.is_empty() {
            starter.clone()
        } else {
            Arc::new(otklik_core::learning::signals::trained(&starter, &taught))
        };
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
            .is_some_and(|l| Arc::ptr_eq(&l.starter, config.routing.starter.model()));
        if !fresh {
            self.train_locked(config, slot)?;
        }
        Ok(slot
            .get_or_insert_with(|| Learned {
                starter: config.routing.starter.model().clone(),
                model: config.routing.starter.model().clone(),
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
    /// the process down: it is set aside unparsed (`set_aside`) after one crash,
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
        // The clause 12 model is trained on first use (a fraction of a second): before the
        // mark, so a restart while it trains is not taken for a crash on this message.
        config.intake.lexicon.prepare();
        let marked = origin.is_some();
        if let Some(origin) = origin {
            let sha256 = bytes_key.trim_start_matches("sha:").to_string();
            if let Some(how) = self.mark(origin, sha256, raw.len(), now)? {
                return self.set_aside(config, raw, format!("{how}; set aside unread"), now);
            }
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
        let arrival = arrival.unwrap_or(now);
        let (decision, used) = match parsed {
            Err(e) => (
                Decision::Drop {
                    disposition: Disposition::Rejected,
                    note: format!("malformed message: {e}"),
                },
                None,
            ),
            Ok(mail) => match self.decide_confirmed(config, &mail, arrival, now) {
                Ok(decided) => decided,
                Err(e) if e.is_damaged() => {
                    return self.set_aside(config, raw, damaged_reason(&e), now);
                }
                Err(e) => return Err(e.into()),
            },
        };
        let msg = InHand {
            raw,
            key,
            arrival,
            now,
            marked,
        };
        let mut commit = match self.build_commit(config, &msg, decision) {
            Built::Commit(commit) => *commit,
            Built::SetAside(reason) => return self.set_aside(config, raw, reason, now),
            Built::Failed(e) => return Err(e.into()),
        };
        if let Some(kv) = used {
            commit.0.meta.push(kv);
        }
        self.write(config, &msg, commit)
    }

    /// Marks the message in hand ([`InProgress`]), flushed; or, when the mark found says it
    /// took the process down before, why it is to be set aside unparsed.
    fn mark(
        &self,
        origin: &Origin,
        sha256: String,
        size: usize,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
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
            tracing::error!(uid = mark.uid, uid_validity = mark.uid_validity, mailbox = %mark.mailbox, size, "{how}");
            return Ok(Some(how));
        }
        let (restarts, crashed) = before.map_or((0, false), |m| (m.restarts, m.crashed));
        self.store.mark_in_progress(&InProgress {
            mailbox: origin.mailbox.clone(),
            uid_validity: origin.uid_validity,
            uid: origin.uid,
            sha256,
            size: size as u64,
            at: now,
            restarts,
            crashed,
        })?;
        Ok(None)
    }

    /// The commit of a decision, a message that cannot be answered rejected with the
    /// reason: a mail that cannot be built, or a bug while building (caught, so that one odd
    /// message cannot block the intake).
    fn build_commit(&self, config: &Config, msg: &InHand<'_>, decision: Decision) -> Built {
        let case = decision.case().map(|c| c.id.clone());
        if let Decision::Case {
            outcome, new: true, ..
        } = &decision
        {
            warn_if_forecast(config, &outcome.case);
        }
        let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.to_commit(config, msg, decision)
        }));
        let (mut commit, handled) = match built {
            Ok(Ok(done)) => done,
            Ok(Err(BuildError::Store(e))) if e.is_damaged() => {
                return Built::SetAside(damaged_reason(&e));
            }
            Ok(Err(BuildError::Store(e))) => return Built::Failed(e),
            Ok(Err(BuildError::Mail(why))) => {
                let reason = format!("our answer to it could not be built: {why}");
                tracing::warn!(case = %case.as_deref().unwrap_or("-"), %reason, "message rejected");
                Self::rejection(msg.key.clone(), reason, msg.now)
            }
            Err(_) => {
                let reason = "internal error while answering it".to_string();
                tracing::error!(case = %case.as_deref().unwrap_or("-"), "internal error while building the answer to a message; it goes to the rejected mailbox");
                Self::rejection(msg.key.clone(), reason, msg.now)
            }
        };
        // Durable with the rest of its batch: the watcher calls [`Intake::durable`] before
        // it moves any message of the batch.
        commit.clears_mark = msg.marked;
        Built::Commit(Box::new((commit, handled)))
    }

    /// Writes the commit of the message in hand; once written, the routing model learns
    /// what it teaches and the archive takes the answers it approved.
    fn write(
        &self,
        config: &Config,
        msg: &InHand<'_>,
        (commit, handled): (Commit, Handled),
    ) -> Result<Handled, HandleError> {
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
                            otklik_core::learning::signals::apply(Arc::make_mut(&mut l.model), t);
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
            Err(e) if e.is_damaged() => {
                self.set_aside(config, msg.raw, damaged_reason(&e), msg.now)
            }
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

    /// Makes every commit so far durable (one flush for a batch of messages).
    pub fn durable(&self) -> Result<(), HandleError> {
        Ok(self.store.flush_blocking()?)
    }
}

/// What building a message's commit came to.
enum Built {
    /// The commit to write, and what it records.
    Commit(Box<(Commit, Handled)>),
    /// A store record the answer needs is damaged: the message is set aside, for this reason.
    SetAside(String),
    /// The store failed.
    Failed(StoreError),
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
