//! The `[people]` section and the `[[executors]]`.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use toml::Spanned;

use super::ctx::{Ctx, join, parse_date};
use crate::config::raw::{RawExecutor, RawPeople, RawPerson};
use crate::config::{Executor, People, Person};

pub(super) fn valid_id(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_' || *c == b'-')
}

pub(super) fn person(cx: &mut Ctx<'_>, p: &Spanned<RawPerson>, key: &str) -> Option<Person> {
    let table = p.span();
    let r = p.get_ref();
    let name = cx
        .require(&r.name, &table, &join(key, "name"))
        .and_then(|n| cx.nonempty(n, &join(key, "name")));
    let email = cx
        .require(&r.email, &table, &join(key, "email"))
        .and_then(|e| cx.email(e, &join(key, "email")));
    let coordinator = key == "people.coordinator";
    let deputy = match &r.deputy {
        None => None,
        Some(d) if !coordinator => {
            cx.at(
                d.span(),
                &join(key, "deputy"),
                "only the coordinator has a deputy in [people] (executors name theirs in [[executors]])",
            );
            None
        }
        Some(d) if d.get_ref().contains('@') => cx.email(d, &join(key, "deputy")),
        Some(d) => {
            let id = d.get_ref().trim();
            if valid_id(id) {
                Some(id.to_string())
            } else {
                cx.at(
                    d.span(),
                    &join(key, "deputy"),
                    format!("{id:?} is neither an executor id nor an email address"),
                );
                None
            }
        }
    };
    let absent = match &r.absent {
        Some(a) if !coordinator => {
            cx.at(
                a.span(),
                &join(key, "absent"),
                "only the coordinator's absences are kept in [people]",
            );
            Vec::new()
        }
        _ => absent_list(cx, &r.absent, key),
    };
    Some(Person {
        name: name?,
        email: email?,
        position: person_position(r),
        new_cases: person_new_cases(cx, r, key),
        deputy,
        absent,
    })
}

/// `absent` periods (`YYYY-MM-DD..YYYY-MM-DD` or one date), of an executor or the coordinator.
fn absent_list(
    cx: &mut Ctx<'_>,
    list: &Option<crate::config::raw::StrList>,
    p: &str,
) -> Vec<(NaiveDate, NaiveDate)> {
    let mut absent = Vec::new();
    for (j, a) in list.iter().flat_map(|l| l.get_ref().iter().enumerate()) {
        let key = format!("{p}.absent[{j}]");
        match absent_range(a.get_ref()) {
            Some((from, to)) if from <= to => absent.push((from, to)),
            Some(_) => cx.at(
                a.span(),
                &key,
                format!("range {:?} ends before it starts", a.get_ref()),
            ),
            None => cx.at(
                a.span(),
                &key,
                format!(
                    "invalid date range {:?}: expected YYYY-MM-DD..YYYY-MM-DD (inclusive)",
                    a.get_ref()
                ),
            ),
        }
    }
    absent
}

/// `people.*.position`: free text, empty when absent.
fn person_position(r: &RawPerson) -> String {
    r.position
        .as_ref()
        .map(|p| p.get_ref().trim().to_string())
        .unwrap_or_default()
}

/// `people.coordinator.new_cases` (default true); only the coordinator gets those notices.
fn person_new_cases(cx: &mut Ctx<'_>, r: &RawPerson, key: &str) -> bool {
    match &r.new_cases {
        None => true,
        Some(v) if key == "people.coordinator" => *v.get_ref(),
        Some(v) => {
            cx.at(
                v.span(),
                &join(key, "new_cases"),
                "only the coordinator gets a notice per new case (people.coordinator.new_cases)",
            );
            true
        }
    }
}

pub(super) fn people(cx: &mut Ctx<'_>, s: &Spanned<RawPeople>) -> Option<People> {
    let r = s.get_ref();
    let coordinator = match &r.coordinator {
        Some(c) => person(cx, c, "people.coordinator"),
        None if cx.was_dropped("people.coordinator") => None,
        None => {
            cx.at(s.span(), "people.coordinator", "missing required key");
            None
        }
    };
    let supervisor = match &r.supervisor {
        Some(p) => person(cx, p, "people.supervisor").map(Some),
        None => Some(None),
    };
    let publisher = match &r.publisher {
        Some(p) => cx.email(p, "people.publisher").map(Some),
        None => Some(None),
    };
    Some(People {
        coordinator: coordinator?,
        supervisor: supervisor?,
        publisher: publisher?,
    })
}

pub(super) fn absent_range(s: &str) -> Option<(NaiveDate, NaiveDate)> {
    match s.split_once("..") {
        Some((a, b)) => Some((parse_date(a)?, parse_date(b)?)),
        None => parse_date(s).map(|d| (d, d)),
    }
}

pub(super) fn executors(
    cx: &mut Ctx<'_>,
    raw: &[(usize, Spanned<RawExecutor>)],
    broken: &HashSet<String>,
) -> Vec<Executor> {
    let mut out = Vec::new();
    let mut ids: HashMap<String, usize> = HashMap::new();
    let mut emails: HashMap<String, usize> = HashMap::new();
    for (i, e) in raw {
        let p = format!("executors[{i}]");
        let table = e.span();
        let r = e.get_ref();
        let id = cx.require(&r.id, &table, &join(&p, "id")).and_then(|v| {
            let id = v.get_ref().trim();
            if !valid_id(id) {
                cx.at(
                    v.span(),
                    &join(&p, "id"),
                    format!(
                        "{id:?} is not an id: use lower-case latin letters, digits, - and _ \
                         (such as housing)"
                    ),
                );
                return None;
            }
            if let Some(first) = ids.get(id) {
                cx.at(
                    v.span(),
                    &join(&p, "id"),
                    format!("id {id:?} is already used by executors[{first}]"),
                );
                return None;
            }
            ids.insert(id.to_string(), *i);
            Some(id.to_string())
        });
        let name = cx
            .require(&r.name, &table, &join(&p, "name"))
            .and_then(|n| cx.nonempty(n, &join(&p, "name")));
        let position = r
            .position
            .as_ref()
            .map(|s| s.get_ref().trim().to_string())
            .unwrap_or_default();
        let email = cx
            .require(&r.email, &table, &join(&p, "email"))
            .and_then(|v| {
                let email = cx.email(v, &join(&p, "email"))?;
                if let Some(first) = emails.get(&email) {
                    cx.at(
                        v.span(),
                        &join(&p, "email"),
                        format!("address {email} is already used by executors[{first}]"),
                    );
                    return None;
                }
                emails.insert(email.clone(), *i);
                Some(email)
            });
        let absent = absent_list(cx, &r.absent, &p);
        if let (Some(id), Some(name), Some(email)) = (id, name, email) {
            out.push(Executor {
                id,
                name,
                position,
                email,
                deputy: r.deputy.as_ref().map(|d| d.get_ref().trim().to_string()),
                absent,
            });
        }
    }
    check_deputies(cx, raw, &ids, broken);
    out
}

/// Each deputy names another executor, checked once every id is known (`broken`: ids of
/// executors with other problems, not reported again).
fn check_deputies(
    cx: &mut Ctx<'_>,
    raw: &[(usize, Spanned<RawExecutor>)],
    ids: &HashMap<String, usize>,
    broken: &HashSet<String>,
) {
    for (i, e) in raw {
        let Some(d) = &e.get_ref().deputy else {
            continue;
        };
        let key = format!("executors[{i}].deputy");
        let deputy = d.get_ref().trim();
        let own = e.get_ref().id.as_ref().map(|v| v.get_ref().trim());
        if own == Some(deputy) {
            cx.at(d.span(), &key, "an executor cannot be their own deputy");
        } else if !ids.contains_key(deputy) && !broken.contains(deputy) {
            cx.at(d.span(), &key, format!("no executor has id {deputy:?}"));
        }
    }
}
