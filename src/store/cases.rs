//! Case records and their lookup indexes (source id, link, author and topic, the open set).

use otklik_core::inbound::sha256_hex;
use otklik_core::workflow::Case;

use super::blobs::attachments_mut;
use super::{MetaKey, MetaPrefix, Store, StoreError, dec, u64_from};
use chrono::NaiveDate;
use std::collections::BTreeMap;

/// Normalises a lookup key (source id, link, author, topic): trimmed, lower-case, `ё`→`е`.
pub fn norm(s: &str) -> String {
    s.trim().to_lowercase().replace('ё', "е")
}

pub(super) fn author_topic_key(author: &str, topic: &str) -> Vec<u8> {
    format!("{}\u{0}{}", norm(author), norm(topic)).into_bytes()
}

/// A stored case: its attachments by reference (`data` empty). A record from before the
/// bytes were kept apart has them inline: those get their hash and size here.
pub(super) fn record(key: &[u8], bytes: &[u8]) -> Result<Case, StoreError> {
    let mut case: Case = dec(key, bytes)?;
    for a in attachments_mut(&mut case) {
        if a.sha256.is_empty() {
            a.sha256 = sha256_hex(&a.data);
            a.size = a.data.len() as u64;
        }
    }
    Ok(case)
}

impl Store {
    /// A case, its attachments with their bytes (to act on it: forwarding them needs them).
    pub fn case(&self, number: u64) -> Result<Option<Case>, StoreError> {
        match self.case_record(number)? {
            Some(mut case) => {
                self.load_attachments(&mut case)?;
                Ok(Some(case))
            }
            None => Ok(None),
        }
    }

    /// A case as recorded: its attachments by reference (name, type, hash, size), `data`
    /// left empty — enough to show or list it. Committing it back keeps the attachments.
    pub fn case_record(&self, number: u64) -> Result<Option<Case>, StoreError> {
        let key = number.to_be_bytes();
        match self.cases.get(key)? {
            Some(v) => Ok(Some(record(&key, &v)?)),
            None => Ok(None),
        }
    }

    /// Puts the bytes of the case's attachments back from the attachment tree.
    pub(super) fn load_attachments(&self, case: &mut Case) -> Result<(), StoreError> {
        let number = case.number;
        for a in attachments_mut(case) {
            if a.data.len() as u64 == a.size {
                continue;
            }
            let bytes = self.attachments.get(a.sha256.as_bytes())?.ok_or_else(|| {
                StoreError::MissingAttachment {
                    case: number,
                    sha256: a.sha256.clone(),
                }
            })?;
            if bytes.len() as u64 != a.size {
                return Err(StoreError::Damaged {
                    key: format!("attachment {}", a.sha256),
                    reason: format!("{} bytes, the case says {}", bytes.len(), a.size),
                });
            }
            a.data = bytes.to_vec();
        }
        Ok(())
    }

    pub(super) fn case_via(
        &self,
        tree: &sled::Tree,
        key: &[u8],
    ) -> Result<Option<Case>, StoreError> {
        match tree.get(key)? {
            Some(v) => match u64_from(&v) {
                Some(n) => self.case(n),
                None => Ok(None),
            },
            None => Ok(None),
        }
    }

    /// The case of the post with platform id `source_id`, if any.
    pub fn case_by_source_id(&self, source_id: &str) -> Result<Option<Case>, StoreError> {
        self.case_via(&self.sources, norm(source_id).as_bytes())
    }

    /// The case of the post at `link`, if any.
    pub fn case_by_link(&self, link: &str) -> Result<Option<Case>, StoreError> {
        self.case_via(&self.links, norm(link).as_bytes())
    }

    /// The latest case by this author on this topic.
    pub fn latest_by_author_topic(
        &self,
        author: &str,
        topic: &str,
    ) -> Result<Option<Case>, StoreError> {
        self.case_via(&self.authors, &author_topic_key(author, topic))
    }

    /// All cases, oldest first, as recorded (attachments by reference, see
    /// [`Store::case_record`]).
    pub fn cases(&self) -> impl Iterator<Item = Result<Case, StoreError>> + '_ {
        self.cases.iter().map(|kv| {
            let (k, v) = kv?;
            record(&k, &v)
        })
    }

    /// How many cases are open (not closed, not excluded): O(1), kept by every commit.
    pub fn open_case_count(&self) -> usize {
        self.meta
            .get(MetaKey::OpenCases.encode())
            .ok()
            .flatten()
            .and_then(|v| u64_from(&v))
            .unwrap_or(0) as usize
    }

    /// How many cases there are: O(1), since numbers have no gaps and cases are never
    /// deleted (sled's `len` would scan the whole tree).
    pub fn case_count(&self) -> usize {
        self.peek_next_case()
            .map(|next| next.saturating_sub(1) as usize)
            .unwrap_or(0)
    }

    /// Absences announced by email.
    pub fn absences(&self) -> Result<BTreeMap<String, NaiveDate>, StoreError> {
        let mut out = BTreeMap::new();
        for kv in self.meta.scan_prefix(MetaPrefix::Absent.bytes()) {
            let (k, v) = kv?;
            let id = String::from_utf8_lossy(&k[MetaPrefix::Absent.bytes().len()..]).into_owned();
            let date: NaiveDate = dec(&k, &v)?;
            out.insert(id, date);
        }
        Ok(out)
    }

    /// Cases that still have due steps (for re-scheduling after a config change).
    pub fn open_case_numbers(&self) -> Result<Vec<u64>, StoreError> {
        self.open
            .iter()
            .keys()
            .map(|k| Ok(u64_from(&k?).unwrap_or(0)))
            .filter(|n| !matches!(n, Ok(0)))
            .collect()
    }

    /// The open cases, oldest first, as recorded (attachments by reference, see
    /// [`Store::case_record`]): O(open cases), not O(all cases).
    pub fn open_cases(&self) -> Result<Vec<Case>, StoreError> {
        let mut out = Vec::new();
        for n in self.open_case_numbers()? {
            if let Some(c) = self.case_record(n)? {
                out.push(c);
            }
        }
        Ok(out)
    }
}
