//! One session: connect, scan the intake mailbox, hand each message to the sink, move it,
//! wait for more. The reconnect loop around it is in `watcher.rs`.

use std::sync::Arc;
use std::time::Duration;

use futures::TryStreamExt;
use tokio::time::{Instant, timeout};
use tokio_rustls::rustls::ClientConfig;

use otklik_core::decide::Disposition;

use super::fetch::{
    SizeProbe, fetch, fetch_header, fetch_many, fetch_size, fetch_sizes, uid_search, uid_set,
};
use super::names::{MailboxNames, ensure_mailboxes};
use super::stream::{ImapSession, ServerCaps, capabilities, connect, step};
use super::watcher::{
    Wake, Watcher, beat, is_new_mail, no_session, shutdown_requested, sleep_or_shutdown,
    wait_shutdown,
};
use super::{
    BATCH, BATCH_BYTES, FETCH_ATTEMPTS, Fetched, MOVED_KEYWORD, MailboxError, MailboxState,
    MessageSink, Oversized, STEP_TIMEOUT,
};

impl<H: MessageSink> Watcher<H> {
    /// One session: Ok(()) on shutdown (after LOGOUT), Err on any failure.
    pub(super) async fn run(
        &mut self,
        tls_config: Option<Arc<ClientConfig>>,
    ) -> Result<(), MailboxError> {
        let connected = {
            let stop = wait_shutdown(&mut self.shutdown);
            tokio::pin!(stop);
            tokio::select! {
                _ = &mut stop => None,
                r = connect(&self.cfg, tls_config) => Some(r),
            }
        };
        let Some(connected) = connected else {
            return Ok(());
        };
        let mut slot = Some(connected?);
        tracing::info!(host = %self.cfg.host, user = %self.cfg.username, "imap: logged in");
        let result = self.serve(&mut slot).await;
        if result.is_ok()
            && let Some(mut session) = slot
        {
            // Shutdown: say goodbye, but never wait long for it.
            let _ = timeout(STEP_TIMEOUT, session.logout()).await;
        }
        result
    }

    /// `slot` holds the session; it is empty only while IDLE owns it (and stays empty if
    /// IDLE failed, which ends the session anyway).
    pub(super) async fn serve(
        &mut self,
        slot: &mut Option<ImapSession>,
    ) -> Result<(), MailboxError> {
        let session = slot.as_mut().ok_or_else(no_session)?;
        let caps = self.options.mask(capabilities(session).await?);
        let names = ensure_mailboxes(session, &self.cfg, caps).await?;
        let selected = step("SELECT", STEP_TIMEOUT, session.select(&names.intake)).await?;
        let validity = selected.uid_validity.unwrap_or(0);
        if let Some(old) = self.last_validity
            && old != validity
        {
            tracing::warn!(
                old,
                new = validity,
                "imap: UIDVALIDITY changed; rescanning all"
            );
        }
        self.last_validity = Some(validity);
        self.keywords = selected
            .permanent_flags
            .iter()
            .any(|f| matches!(f, async_imap::types::Flag::MayCreate));
        tracing::debug!(
            ?caps,
            ?names,
            validity,
            keywords = self.keywords,
            "imap: selected"
        );
        loop {
            beat(&self.heartbeat);
            if shutdown_requested(&self.shutdown) {
                return Ok(());
            }
            let session = slot.as_mut().ok_or_else(no_session)?;
            self.scan(session, &names, caps, validity).await?;
            // A whole scan went through: the connection is good again.
            self.attempt = 0;
            if shutdown_requested(&self.shutdown) {
                return Ok(());
            }
            // Changes announced while we were busy: scan again before waiting.
            let mut pending = false;
            while let Ok(resp) = session.unsolicited_responses.try_recv() {
                pending |= is_new_mail(&resp);
            }
            if pending {
                continue;
            }
            let wake = if caps.idle {
                self.state.send_replace(MailboxState::Idle);
                let owned = slot.take().ok_or_else(no_session)?;
                let (owned, wake) = self.idle(owned).await?;
                *slot = Some(owned);
                wake
            } else {
                self.state.send_replace(MailboxState::Polling);
                let dur = Duration::from_secs(self.cfg.poll_seconds.max(1));
                if sleep_or_shutdown(dur, &mut self.shutdown, &self.heartbeat).await {
                    Wake::Shutdown
                } else {
                    step("NOOP", STEP_TIMEOUT, session.noop()).await?;
                    Wake::Rescan
                }
            };
            if let Wake::Shutdown = wake {
                return Ok(());
            }
        }
    }

    /// Handles every undeleted message in the selected mailbox, in UID order.
    pub(super) async fn scan(
        &mut self,
        session: &mut ImapSession,
        names: &MailboxNames,
        caps: ServerCaps,
        validity: u32,
    ) -> Result<(), MailboxError> {
        let mut uids: Vec<u32> = step("UID SEARCH", STEP_TIMEOUT, session.uid_search("UNDELETED"))
            .await?
            .into_iter()
            .collect();
        uids.sort_unstable();
        if uids.is_empty() {
            return Ok(());
        }
        self.state.send_replace(MailboxState::Processing);
        tracing::debug!(count = uids.len(), "imap: messages to handle");
        for chunk in uids.chunks(BATCH) {
            // Between batches and between messages is where a shutdown cuts in; what was
            // handled is still made durable and moved.
            if shutdown_requested(&self.shutdown) {
                return Ok(());
            }
            beat(&self.heartbeat);
            let started = Instant::now();
            let fetched = self
                .fetch_batch(session, names, caps, validity, chunk)
                .await?;
            let fetch_done = Instant::now();
            let mut handled: Vec<(u32, usize, Disposition)> = Vec::with_capacity(fetched.len());
            for msg in fetched {
                if shutdown_requested(&self.shutdown) {
                    break;
                }
                let (uid, size) = (msg.uid, msg.raw.len());
                let disposition = self
                    .sink
                    .handle(msg)
                    .await
                    .map_err(|source| MailboxError::Sink { uid, source })?;
                handled.push((uid, size, disposition));
            }
            let Some(&(first, _, _)) = handled.first() else {
                continue;
            };
            let handle_done = Instant::now();
            // One flush for the batch (group commit), and only then the moves: a crash in
            // between leaves the messages in the intake mailbox, and the ledger turns their
            // second handling into a no-op.
            self.sink
                .durable()
                .await
                .map_err(|source| MailboxError::Sink { uid: first, source })?;
            let flush_done = Instant::now();
            for (target, disposition) in [
                (&names.processed, Disposition::Processed),
                (&names.rejected, Disposition::Rejected),
            ] {
                let set: Vec<u32> = handled
                    .iter()
                    .filter(|h| h.2 == disposition)
                    .map(|h| h.0)
                    .collect();
                self.move_messages(session, &set, target, caps, validity)
                    .await?;
            }
            let ms = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1000.0;
            let moved = Instant::now();
            // Where a batch's time goes (the benchmark reads these).
            tracing::info!(
                count = handled.len(),
                fetch_ms = ms(started, fetch_done),
                handle_ms = ms(fetch_done, handle_done),
                flush_ms = ms(handle_done, flush_done),
                move_ms = ms(flush_done, moved),
                "imap: batch handled"
            );
            for (uid, size, disposition) in handled {
                self.fetch_failures.remove(&(validity, uid));
                let to = match disposition {
                    Disposition::Processed => &names.processed,
                    Disposition::Rejected => &names.rejected,
                };
                tracing::info!(uid, size, to = %to, "imap: message handled and moved");
            }
        }
        Ok(())
    }

    /// The messages of `chunk` to hand over, in UID order: their sizes in one FETCH, then
    /// their bodies in as few FETCHes as [`BATCH_BYTES`] allows. A message over
    /// `max_message_size` is set aside unread here ([`Self::reject_oversized`]); one whose
    /// answer could not be parsed, or whose size the server does not tell, takes the
    /// one-at-a-time path, which hands it over empty after [`FETCH_ATTEMPTS`].
    async fn fetch_batch(
        &mut self,
        session: &mut ImapSession,
        names: &MailboxNames,
        caps: ServerCaps,
        validity: u32,
        chunk: &[u32],
    ) -> Result<Vec<Fetched>, MailboxError> {
        let troubled = chunk
            .iter()
            .any(|uid| self.fetch_failures.contains_key(&(validity, *uid)));
        let sizes = if troubled {
            None
        } else {
            match fetch_sizes(session, chunk).await {
                Ok(sizes) => Some(sizes),
                Err(MailboxError::Imap {
                    source: async_imap::error::Error::Parse(_),
                    ..
                }) => None,
                Err(e) => return Err(e),
            }
        };
        let Some(sizes) = sizes else {
            return self.fetch_each(session, names, caps, validity, chunk).await;
        };
        let mut out = Vec::with_capacity(chunk.len());
        let mut group: Vec<u32> = Vec::new();
        let mut group_bytes = 0u64;
        for &uid in chunk {
            let size = match sizes.get(&uid) {
                None => {
                    tracing::debug!(uid, "imap: message vanished before fetch");
                    continue;
                }
                Some(SizeProbe::Size(size)) => *size,
                Some(SizeProbe::Vanished | SizeProbe::Unknown) => {
                    self.fetch_group(session, names, caps, validity, &mut group, &mut out)
                        .await?;
                    group_bytes = 0;
                    out.extend(
                        self.fetch_each(session, names, caps, validity, &[uid])
                            .await?,
                    );
                    continue;
                }
            };
            if size > self.cfg.max_message_size {
                self.reject_oversized(session, names, caps, validity, uid, size)
                    .await?;
                continue;
            }
            if !group.is_empty() && group_bytes + size > BATCH_BYTES {
                self.fetch_group(session, names, caps, validity, &mut group, &mut out)
                    .await?;
                group_bytes = 0;
            }
            group.push(uid);
            group_bytes += size;
        }
        self.fetch_group(session, names, caps, validity, &mut group, &mut out)
            .await?;
        Ok(out)
    }

    /// The bodies of `group` in one FETCH, appended to `out`; `group` is emptied. An answer
    /// that cannot be parsed sends the group down the one-at-a-time path.
    async fn fetch_group(
        &mut self,
        session: &mut ImapSession,
        names: &MailboxNames,
        caps: ServerCaps,
        validity: u32,
        group: &mut Vec<u32>,
        out: &mut Vec<Fetched>,
    ) -> Result<(), MailboxError> {
        if group.is_empty() {
            return Ok(());
        }
        let uids = std::mem::take(group);
        match fetch_many(session, &uids, validity).await {
            Ok(got) => {
                if got.len() < uids.len() {
                    tracing::debug!(
                        missing = uids.len() - got.len(),
                        "imap: messages vanished before fetch"
                    );
                }
                out.extend(got);
                Ok(())
            }
            Err(MailboxError::Imap {
                source: async_imap::error::Error::Parse(_),
                ..
            }) => {
                out.extend(
                    self.fetch_each(session, names, caps, validity, &uids)
                        .await?,
                );
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// The one-at-a-time path: size, then body, each message on its own, counting answers
    /// that cannot be parsed against the message.
    async fn fetch_each(
        &mut self,
        session: &mut ImapSession,
        names: &MailboxNames,
        caps: ServerCaps,
        validity: u32,
        uids: &[u32],
    ) -> Result<Vec<Fetched>, MailboxError> {
        let mut out = Vec::new();
        for &uid in uids {
            let key = (validity, uid);
            let failures = self.fetch_failures.get(&key).copied().unwrap_or(0);
            if failures >= FETCH_ATTEMPTS {
                tracing::warn!(
                    uid,
                    failures,
                    "imap: message cannot be fetched; handing it over empty"
                );
                out.push(Fetched {
                    uid,
                    uid_validity: validity,
                    raw: Vec::new(),
                    arrival: None,
                });
                continue;
            }
            let probed = fetch_size(session, uid).await;
            let size = match self.count_parse_failure(key, probed)? {
                SizeProbe::Vanished => {
                    tracing::debug!(uid, "imap: message vanished before fetch");
                    continue;
                }
                SizeProbe::Size(size) => Some(size),
                SizeProbe::Unknown => {
                    tracing::warn!(
                        uid,
                        "imap: the server gave no RFC822.SIZE; fetching the message unchecked"
                    );
                    None
                }
            };
            if let Some(size) = size
                && size > self.cfg.max_message_size
            {
                self.reject_oversized(session, names, caps, validity, uid, size)
                    .await?;
                continue;
            }
            let got = fetch(session, uid, validity).await;
            match self.count_parse_failure(key, got)? {
                Some(f) => out.push(f),
                None => tracing::debug!(uid, "imap: message vanished before fetch"),
            }
        }
        Ok(out)
    }

    /// Moves `uids` to `target`: one UID MOVE for all where the server has MOVE, else each
    /// on its own ([`Self::move_message`]).
    async fn move_messages(
        &mut self,
        session: &mut ImapSession,
        uids: &[u32],
        target: &str,
        caps: ServerCaps,
        validity: u32,
    ) -> Result<(), MailboxError> {
        if uids.is_empty() {
            return Ok(());
        }
        if caps.move_ {
            let set = uid_set(uids);
            return step("UID MOVE", STEP_TIMEOUT, session.uid_mv(&set, target)).await;
        }
        for &uid in uids {
            self.move_message(session, uid, target, caps, validity)
                .await?;
        }
        Ok(())
    }

    /// Counts a FETCH answer that could not be parsed against the message `key`: after
    /// [`FETCH_ATTEMPTS`] of them it is handed over empty instead of blocking the intake.
    pub(super) fn count_parse_failure<T>(
        &mut self,
        key: (u32, u32),
        result: Result<T, MailboxError>,
    ) -> Result<T, MailboxError> {
        if let Err(MailboxError::Imap {
            source: async_imap::error::Error::Parse(_),
            ..
        }) = &result
        {
            *self.fetch_failures.entry(key).or_insert(0) += 1;
        }
        result
    }

    /// A message over `max_message_size`: the sink gets its header (once), then it goes
    /// to the rejected mailbox. Its body is never fetched.
    pub(super) async fn reject_oversized(
        &mut self,
        session: &mut ImapSession,
        names: &MailboxNames,
        caps: ServerCaps,
        validity: u32,
        uid: u32,
        size: u64,
    ) -> Result<(), MailboxError> {
        let key = (validity, uid);
        if !self.reported_oversized.contains(&key) {
            let got = fetch_header(session, uid).await;
            let Some(header) = self.count_parse_failure(key, got)? else {
                tracing::debug!(uid, "imap: message vanished before fetch");
                return Ok(());
            };
            self.sink
                .oversized(Oversized {
                    uid,
                    uid_validity: validity,
                    size,
                    header,
                })
                .await
                .map_err(|source| MailboxError::Sink { uid, source })?;
            // Told once: a failed move below is retried without telling again.
            self.reported_oversized.insert(key);
        }
        self.move_message(session, uid, &names.rejected, caps, validity)
            .await?;
        self.reported_oversized.remove(&key);
        self.fetch_failures.remove(&key);
        tracing::warn!(
            uid,
            size,
            limit = self.cfg.max_message_size,
            to = %names.rejected,
            "imap: message over max_message_size; not fetched, moved to the rejected mailbox"
        );
        Ok(())
    }

    /// Moves message `uid` of the selected mailbox to `target`: UID MOVE where the server
    /// has MOVE, else COPY, `\Deleted` and an expunge of that message alone.
    pub(super) async fn move_message(
        &mut self,
        session: &mut ImapSession,
        uid: u32,
        target: &str,
        caps: ServerCaps,
        validity: u32,
    ) -> Result<(), MailboxError> {
        let set = uid.to_string();
        if caps.move_ {
            return step("UID MOVE", STEP_TIMEOUT, session.uid_mv(&set, target)).await;
        }
        step("UID COPY", STEP_TIMEOUT, session.uid_copy(&set, target)).await?;
        let flags = if self.keywords {
            format!("+FLAGS.SILENT (\\Deleted {MOVED_KEYWORD})")
        } else {
            "+FLAGS.SILENT (\\Deleted)".to_string()
        };
        step("UID STORE", STEP_TIMEOUT, async {
            session
                .uid_store(&set, &flags)
                .await?
                .try_collect::<Vec<_>>()
                .await
        })
        .await?;
        if caps.uidplus {
            // RFC 4315: expunges this message and nothing else.
            return step("UID EXPUNGE", STEP_TIMEOUT, async {
                session
                    .uid_expunge(&set)
                    .await?
                    .try_collect::<Vec<_>>()
                    .await
            })
            .await
            .map(drop);
        }
        // Without UIDPLUS, EXPUNGE removes every message flagged \Deleted in the mailbox,
        // ours or not, and one that someone else flagged (a user's client that marks now and
        // expunges later, or never) may never have been handled. So EXPUNGE is sent only when
        // every \Deleted message is one we copied; otherwise ours stays flagged — scans skip
        // \Deleted messages and its copy is already in `target` — and goes with a later
        // EXPUNGE, once the others are gone. Not chosen: clearing the others' \Deleted around
        // our EXPUNGE and setting it back, which changes other clients' state and loses their
        // flag for good if the connection drops in between. Ours are known by MOVED_KEYWORD
        // where the mailbox takes keywords (after a restart too), else by the UIDs this
        // process flagged. What remains is the one round trip between SEARCH and EXPUNGE:
        // without UIDPLUS no client can close it.
        let query = if self.keywords {
            format!("DELETED NOT KEYWORD {MOVED_KEYWORD}")
        } else {
            "DELETED".to_string()
        };
        let mut others = uid_search(session, &query).await?;
        others.retain(|&u| u != uid && !self.unexpunged.contains(&(validity, u)));
        if !others.is_empty() {
            self.unexpunged.insert((validity, uid));
            tracing::info!(
                uid,
                others = others.len(),
                "imap: other messages are flagged \\Deleted and the server has no UIDPLUS; \
                 ours stays flagged until they are gone"
            );
            return Ok(());
        }
        step("EXPUNGE", STEP_TIMEOUT, async {
            session.expunge().await?.try_collect::<Vec<_>>().await
        })
        .await?;
        self.unexpunged.retain(|&(v, _)| v != validity);
        Ok(())
    }
}
