//! The `[service]` section.

use std::path::PathBuf;

use chrono::NaiveTime;
use toml::Spanned;

use super::ctx::Ctx;
use crate::config::raw::{RawService, RawSize};
use crate::config::{Language, ServiceConfig, WorkDuration};

pub(super) fn valid_prefix(s: &str) -> bool {
    let b = s.as_bytes();
    (2..=10).contains(&b.len())
        && b[0].is_ascii_uppercase()
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

pub(super) fn service(cx: &mut Ctx<'_>, raw: Option<Spanned<RawService>>) -> Option<ServiceConfig> {
    let raw = raw.map(|r| r.into_inner()).unwrap_or_default();
    let state_dir = match &raw.state_dir {
        Some(v) => cx.nonempty(v, "service.state_dir").map(|s| cx.resolve(&s)),
        None => Some(PathBuf::from("/var/lib/otklik")),
    };
    let case_prefix = match &raw.case_prefix {
        Some(v) if valid_prefix(v.get_ref()) => Some(v.get_ref().clone()),
        Some(v) => {
            cx.at(
                v.span(),
                "service.case_prefix",
                format!(
                    "{:?} is not a case prefix: expected a capital latin letter and 1 to 9 more \
                     capital letters or digits, such as OTK",
                    v.get_ref()
                ),
            );
            None
        }
        None => Some("OTK".to_string()),
    };
    let language = match &raw.language {
        None => Some(Language::Ru),
        Some(v) => match v.get_ref().trim().to_ascii_lowercase().as_str() {
            "ru" => Some(Language::Ru),
            "en" => Some(Language::En),
            other => {
                cx.at(
                    v.span(),
                    "service.language",
                    format!("unknown language {other:?}: expected ru or en"),
                );
                None
            }
        },
    };
    let digest_at = match &raw.digest_at {
        None => Some(None),
        Some(v) => match NaiveTime::parse_from_str(v.get_ref().trim(), "%H:%M") {
            Ok(t) => Some(Some(t)),
            Err(_) => {
                cx.at(
                    v.span(),
                    "service.digest_at",
                    format!("invalid time {:?}: expected HH:MM", v.get_ref()),
                );
                None
            }
        },
    };
    let max_absence = match &raw.max_absence {
        None => Some(chrono::Duration::days(90)),
        Some(v) => match cx.duration(v, "service.max_absence")? {
            WorkDuration::Days(n) if n > 0 => Some(chrono::Duration::days(i64::from(n))),
            _ => {
                cx.at(
                    v.span(),
                    "service.max_absence",
                    "must be calendar days, such as 90d",
                );
                None
            }
        },
    };
    let retention = match &raw.retention {
        None => Some(chrono::Duration::days(400)),
        Some(v) => match cx.duration(v, "service.retention")? {
            WorkDuration::Days(n) if n >= 1 => match chrono::Duration::try_days(i64::from(n)) {
                Some(d) => Some(d),
                None => {
                    cx.at(v.span(), "service.retention", "is too long");
                    None
                }
            },
            _ => {
                cx.at(
                    v.span(),
                    "service.retention",
                    "must be at least one calendar day, in days, such as 400d",
                );
                None
            }
        },
    };
    let monthly_report = raw.monthly_report.as_ref().is_none_or(|v| *v.get_ref());
    Some(ServiceConfig {
        monthly_report,
        max_absence: max_absence?,
        state_dir: state_dir?,
        case_prefix: case_prefix?,
        language: language?,
        digest_at: digest_at?,
        retention: retention?,
    })
}

/// `"25MB"`, `"500 KB"`, `"1GB"`, `"1024"` or a number: bytes (K, M, G are powers of 1024).
pub(super) fn parse_size(v: &RawSize) -> Option<u64> {
    let text = match v {
        RawSize::Bytes(n) => return u64::try_from(*n).ok(),
        RawSize::Text(t) => t.trim().to_ascii_uppercase(),
    };
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let factor: u64 = match unit.trim().trim_end_matches("IB").trim_end_matches('B') {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        _ => return None,
    };
    number.parse::<u64>().ok()?.checked_mul(factor)
}
