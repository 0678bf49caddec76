//! FETCH and SEARCH of single messages: the size probe, the header of an oversized message, the whole message.

use std::collections::{HashMap, HashSet};

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

/// `1:3,7,9:10`: a UID set (RFC 3501 `sequence-set`) for sorted `uids`.
pub fn uid_set(uids: &[u32]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < uids.len() {
        let start = uids[i];
        let mut end = start;
        while i + 1 < uids.len() && uids[i + 1] == end.wrapping_add(1) {
            i += 1;
            end = uids[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
        i += 1;
    }
    out
}

/// The sizes of `uids` in one `UID FETCH set (UID RFC822.SIZE)`; a UID missing from the
/// answer has vanished.
pub(super) async fn fetch_sizes(
    session: &mut ImapSession,
    uids: &[u32],
) -> Result<HashMap<u32, SizeProbe>, MailboxError> {
    let items = step("UID FETCH RFC822.SIZE", STEP_TIMEOUT, async {
        session
            .uid_fetch(uid_set(uids), "(UID RFC822.SIZE)")
            .await?
            .try_collect::<Vec<_>>()
            .await
    })
    .await?;
    Ok(items
        .iter()
        .filter_map(|item| {
            let uid = item.uid?;
            let probe = match item.size {
                Some(size) => SizeProbe::Size(u64::from(size)),
                None => SizeProbe::Unknown,
            };
            Some((uid, probe))
        })
        .collect())
}

/// The messages `uids` in one `UID FETCH set (UID INTERNALDATE BODY.PEEK[])`, in UID order;
/// those that vanished are left out.
pub(super) async fn fetch_many(
    session: &mut ImapSession,
    uids: &[u32],
    validity: u32,
) -> Result<Vec<Fetched>, MailboxError> {
    let items = step("UID FETCH", FETCH_TIMEOUT, async {
        session
            .uid_fetch(uid_set(uids), "(UID INTERNALDATE BODY.PEEK[])")
            .await?
            .try_collect::<Vec<_>>()
            .await
    })
    .await?;
    let mut out: Vec<Fetched> = items
        .iter()
        .filter_map(|item| {
            let uid = item.uid?;
            uids.contains(&uid).then(|| Fetched {
                uid,
                uid_validity: validity,
                raw: item.body().map(<[u8]>::to_vec).unwrap_or_default(),
                arrival: item.internal_date().map(|d| d.with_timezone(&Utc)),
            })
        })
        .collect();
    out.sort_by_key(|f| f.uid);
    out.dedup_by_key(|f| f.uid);
    Ok(out)
}
