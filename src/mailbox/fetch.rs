//! FETCH and SEARCH of single messages: the size probe, the header of an oversized message, the whole message.

use std::collections::HashSet;

use chrono::Utc;
use futures::TryStreamExt;

use super::stream::{ImapSession, step};
use super::{FETCH_TIMEOUT, Fetched, MailboxError, OVERSIZED_HEADER_MAX, STEP_TIMEOUT};

/// What `UID FETCH n (UID RFC822.SIZE)` told.
pub(super) enum SizeProbe {
    /// No such message any more (expunged by someone else).
    Vanished,
    Size(u64),
    /// The server answered without RFC822.SIZE.
    Unknown,
}

pub(super) async fn fetch_size(
    session: &mut ImapSession,
    uid: u32,
) -> Result<SizeProbe, MailboxError> {
    let items = step("UID FETCH RFC822.SIZE", STEP_TIMEOUT, async {
        session
            .uid_fetch(uid.to_string(), "(UID RFC822.SIZE)")
            .await?
            .try_collect::<Vec<_>>()
            .await
    })
    .await?;
    Ok(match items.iter().find(|f| f.uid == Some(uid)) {
        None => SizeProbe::Vanished,
        Some(item) => match item.size {
            Some(size) => SizeProbe::Size(u64::from(size)),
            None => SizeProbe::Unknown,
        },
    })
}

/// The first [`OVERSIZED_HEADER_MAX`] bytes of the message's header (None: vanished).
pub(super) async fn fetch_header(
    session: &mut ImapSession,
    uid: u32,
) -> Result<Option<Vec<u8>>, MailboxError> {
    let query = format!("(UID BODY.PEEK[HEADER]<0.{OVERSIZED_HEADER_MAX}>)");
    let items = step("UID FETCH HEADER", STEP_TIMEOUT, async {
        session
            .uid_fetch(uid.to_string(), &query)
            .await?
            .try_collect::<Vec<_>>()
            .await
    })
    .await?;
    Ok(items.iter().find(|f| f.uid == Some(uid)).map(|item| {
        let header = item.header().unwrap_or_default();
        // The server already cut it; never hand over more than promised.
        header[..header.len().min(OVERSIZED_HEADER_MAX as usize)].to_vec()
    }))
}

pub(super) async fn fetch(
    session: &mut ImapSession,
    uid: u32,
    validity: u32,
) -> Result<Option<Fetched>, MailboxError> {
    let items = step("UID FETCH", FETCH_TIMEOUT, async {
        session
            .uid_fetch(uid.to_string(), "(UID INTERNALDATE BODY.PEEK[])")
            .await?
            .try_collect::<Vec<_>>()
            .await
    })
    .await?;
    let Some(item) = items.iter().find(|f| f.uid == Some(uid)) else {
        return Ok(None);
    };
    let raw = item.body().map(<[u8]>::to_vec).unwrap_or_default();
    Ok(Some(Fetched {
        uid,
        uid_validity: validity,
        raw,
        arrival: item.internal_date().map(|d| d.with_timezone(&Utc)),
    }))
}

pub(super) async fn uid_search(
    session: &mut ImapSession,
    query: &str,
) -> Result<HashSet<u32>, MailboxError> {
    step("UID SEARCH", STEP_TIMEOUT, session.uid_search(query)).await
}
