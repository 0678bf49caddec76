//! The coordinator's new-case notices, gathered during a burst: the outbox's gate.
//!
//! The notices are built and queued like any mail (so a crash loses none); the sender asks
//! the gate before it sends one. On a quiet minute the gate lets it through at once; when
//! notices come faster, it holds them in the queue and, once a minute, puts one mail
//! listing them in their place ([`otklik_core::gather`] decides; this module keeps the
//! state). When the last new-case mail to a person left is kept in the store, so a restart
//! does not send a second within the minute.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use otklik_core::gather::{self, Admit, Listed, Release};

use crate::store::{MetaKey, Store, StoreError};
use otklik_core::auth::Secret;
use otklik_core::compose::{self, OutMail};
use otklik_core::config::Config;

/// The meta key of when the last new-case mail to `address` left.
fn last_key(address: &str) -> MetaKey {
    MetaKey::NewCasesLast(address.to_string())
}

/// The gate: which new-case notices wait, and when each person's last one left.
#[derive(Default)]
pub struct Gate {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// By recipient (lower-cased): when their last new-case mail left, as read from the
    /// store or set since.
    last: HashMap<String, Option<DateTime<Utc>>>,
    /// The notices held in the queue: sequence number → recipient.
    held: BTreeMap<u64, String>,
}

impl State {
    fn last(&mut self, store: &Store, to: &str) -> Option<DateTime<Utc>> {
        if let Some(l) = self.last.get(to) {
            return *l;
        }
        // Unreadable, the time is taken as unknown: the notice goes at once rather than wait
        // (a notice is never lost for it, at worst sent ungathered); said in the log.
        let stored = store.meta_get(&last_key(to)).unwrap_or_else(|e| {
            tracing::warn!(to, error = %e, "cannot read when the last new-case notice left");
            None
        });
        let l = stored.and_then(|s| match DateTime::parse_from_rfc3339(&s) {
            Ok(t) => Some(t.with_timezone(&Utc)),
            Err(e) => {
                tracing::warn!(to, error = %e, "the time of the last new-case notice is damaged");
                None
            }
        });
        self.last.insert(to.to_string(), l);
        l
    }

    fn waiting(&self, to: &str) -> Vec<u64> {
        self.held
            .iter()
            .filter(|(_, r)| r.as_str() == to)
            .map(|(s, _)| *s)
            .collect()
    }
}

fn recipient(mail: &OutMail) -> String {
    mail.to
        .first()
        .map(|a| a.to_lowercase())
        .unwrap_or_default()
}

impl Gate {
    /// A gate holding nothing, as at start-up (what it remembers is read from the store).
    pub fn new() -> Gate {
        Gate::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the queued mail `seq` is a notice held back.
    pub fn holds(&self, seq: u64) -> bool {
        self.lock().held.contains_key(&seq)
    }

    /// How many notices are held back.
    pub fn held(&self) -> usize {
        self.lock().held.len()
    }

    /// May `mail` leave at `now`? Any mail but a new-case notice may; a notice goes at once
    /// on a quiet minute (and its time is noted in the store, durable with its sent-mark),
    /// else it is held.
    pub fn admit(&self, store: &Store, mail: &OutMail, now: DateTime<Utc>) -> bool {
        if !gather::is_marked(&mail.raw) {
            return true;
        }
        let to = recipient(mail);
        let mut st = self.lock();
        let last = st.last(store, &to);
        let waiting = st.held.values().filter(|r| **r == to).count();
        match gather::admit(last, waiting, now) {
            Admit::Now => {
                st.last.insert(to.clone(), Some(now));
                if let Err(e) = store.meta_set(&last_key(&to), &now.to_rfc3339()) {
                    tracing::warn!(error = %e, "could not note the time of a new-case notice");
                }
                true
            }
            Admit::Hold { .. } => {
                tracing::debug!(seq = mail.seq, to = %to, "new-case notice held to be gathered");
                st.held.insert(mail.seq, to);
                false
            }
        }
    }

    /// Lets the held notices go whose window is open: one alone as it is, several as one
    /// mail listing them (it takes their place in the queue).
    pub fn release(
        &self,
        store: &Store,
        config: &Config,
        secret: &Secret,
        now: DateTime<Utc>,
    ) -> Result<Released, StoreError> {
        let mut ready = false;
        let mut st = self.lock();
        let people: Vec<String> = {
            let mut p: Vec<String> = st.held.values().cloned().collect();
            p.sort();
            p.dedup();
            p
        };
        let mut next: Option<DateTime<Utc>> = None;
        for to in people {
            let waiting = st.waiting(&to);
            let last = st.last(store, &to);
            match gather::release(last, waiting.len(), now) {
                Release::Nothing => {}
                Release::Wait { until } => {
                    next = Some(next.map_or(until, |n| n.min(until)));
                }
                Release::One => {
                    // It goes as it is: the next round admits it (nothing else waits).
                    ready = true;
                    for s in &waiting {
                        st.held.remove(s);
                    }
                }
                Release::Gathered { count } => {
                    let seqs = &waiting[..count];
                    match gathered_mail(store, config, secret, &to, seqs, now) {
                        Ok(Some(mail)) => {
                            store.outbox_replace(
                                seqs,
                                &mail,
                                (&last_key(&to), &now.to_rfc3339()),
                            )?;
                            tracing::info!(to = %to, cases = seqs.len(), seq = mail.seq, "new-case notices gathered into one mail");
                            st.last.insert(to.clone(), Some(now));
                        }
                        // No case of theirs could be read: they go as they are.
                        Ok(None) => {}
                        Err(e) => return Err(e),
                    }
                    ready = true;
                    for s in seqs {
                        st.held.remove(s);
                    }
                    if waiting.len() > count {
                        let until = now + gather::window();
                        next = Some(next.map_or(until, |n| n.min(until)));
                    }
                }
            }
        }
        Ok(Released { again: next, ready })
    }
}

/// What [`Gate::release`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Released {
    /// When to look again: notices are still held.
    pub again: Option<DateTime<Utc>>,
    /// Notices were let go (or gathered into a mail): they are ready to send now.
    pub ready: bool,
}

/// The mail listing the cases of the held notices `seqs` to `to`; None when none of their
/// cases can be read.
fn gathered_mail(
    store: &Store,
    config: &Config,
    secret: &Secret,
    to: &str,
    seqs: &[u64],
    now: DateTime<Utc>,
) -> Result<Option<OutMail>, StoreError> {
    let mut cases = Vec::with_capacity(seqs.len());
    for &seq in seqs {
        let Some((Some(n), _)) = store.outbox_lane_key(seq)? else {
            continue;
        };
        if let Some(case) = store.case_record(n)? {
            cases.push(case);
        }
    }
    if cases.is_empty() {
        return Ok(None);
    }
    let listed: Vec<Listed<'_>> = cases
        .iter()
        .map(|case| Listed {
            case,
            // The round the coordinator's own mail about the case would carry.
            code: secret.round_code(
                case.number,
                to,
                if to == config.people.coordinator.email {
                    case.approval_round
                } else {
                    0
                },
            ),
        })
        .collect();
    let rendered = gather::render(config, to, &listed, now);
    let env = compose::Envelope {
        config,
        secret,
        case: 0,
        case_id: None,
        to,
        nonce: store.generate_id()?,
        now,
    };
    match compose::build(&env, &rendered) {
        Ok(mail) => Ok(Some(mail)),
        Err(e) => {
            tracing::error!(error = %e, to = %to, "the mail gathering new-case notices could not be built; they go one by one");
            Ok(None)
        }
    }
}
