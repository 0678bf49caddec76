//! `otklik check-store`: every record read once, and the damaged ones named.

use super::blobs::attachments;
use super::cases::record;
use super::due::DueRecord;
use super::ledger::InboundRecord;
use super::{Store, StoreError, dec, u64_from};

impl Store {
    /// Every damaged record, one line each (`otklik check-store`): cases that cannot be read
    /// or name attachment bytes that are not stored (or of another size), ledger records,
    /// queued mails, due entries and archived answers (`answered`) that cannot be read. Reads everything once; a store
    /// that cannot be read at all is an error.
    pub fn check(&self) -> Result<(usize, Vec<String>), StoreError> {
        let mut problems = Vec::new();
        let mut records = 0usize;
        for kv in self.cases.iter() {
            let (k, v) = kv?;
            records += 1;
            let number = u64_from(&k).unwrap_or(0);
            match record(&k, &v) {
                Err(e) => problems.push(format!("case {number}: {e}")),
                Ok(case) => {
                    for a in attachments(&case) {
                        match self.attachments.get(a.sha256.as_bytes())? {
                            None if a.data.is_empty() => problems.push(format!(
                                "case {number}: attachment {} ({}) is not stored",
                                a.filename, a.sha256
                            )),
                            Some(bytes) if bytes.len() as u64 != a.size => problems.push(format!(
                                "case {number}: attachment {} has {} bytes, the case says {}",
                                a.filename,
                                bytes.len(),
                                a.size
                            )),
                            _ => {}
                        }
                    }
                }
            }
        }
        for kv in self.inbound.iter() {
            let (k, v) = kv?;
            records += 1;
            if let Err(e) = dec::<InboundRecord>(&k, &v) {
                problems.push(format!("ledger: {e}"));
            }
        }
        for kv in self.outbox.iter() {
            let (k, _) = kv?;
            records += 1;
            if let Some(seq) = u64_from(&k)
                && let Err(e) = self.outbox_mail(seq)
            {
                problems.push(format!("outbox mail {seq}: {e}"));
            }
        }
        for kv in self.due.iter() {
            let (k, v) = kv?;
            records += 1;
            if let Err(e) = dec::<DueRecord>(&k, &v) {
                problems.push(format!("due entry: {e}"));
            }
        }
        let (answered, damaged) = self.check_answered()?;
        records += answered;
        problems.extend(damaged);
        Ok((records, problems))
    }
}
