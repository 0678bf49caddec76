//! The `[deadlines]` section and the `[[escalations]]` steps.

use std::collections::BTreeMap;
use std::ops::Range;

use toml::Spanned;

use super::ctx::{Ctx, join, push_key};
use crate::address::is_email;
use crate::config::raw::{RawDeadlines, RawEscalation, Str};
use crate::config::{
    DeadlineKind, DeadlineSet, Deadlines, Escalation, NotifyTarget, Offset, WorkDuration,
};

pub(super) const DEFAULT_SET: DeadlineSet = DeadlineSet {
    answer: WorkDuration::Seconds(9 * 3600),
    draft_before_answer: WorkDuration::Seconds(4 * 3600),
    rework: WorkDuration::Seconds(3600),
    final_after_interim: WorkDuration::Days(7),
};

/// Fills a set from its keys, the missing ones from `base`, and checks it.
pub(super) fn deadline_set(
    cx: &mut Ctx<'_>,
    prefix: &str,
    table: Range<usize>,
    keys: [&Option<Str>; 4],
    base: DeadlineSet,
) -> Option<DeadlineSet> {
    let [answer, draft, rework, fin] = keys;
    let mut ok = true;
    let mut get = |cx: &mut Ctx<'_>, v: &Option<Str>, name: &str, dflt: WorkDuration| match v {
        None => dflt,
        Some(v) => cx.duration(v, &join(prefix, name)).unwrap_or_else(|| {
            ok = false;
            dflt
        }),
    };
    let set = DeadlineSet {
        answer: get(cx, answer, "answer", base.answer),
        draft_before_answer: get(cx, draft, "draft_before_answer", base.draft_before_answer),
        rework: get(cx, rework, "rework", base.rework),
        final_after_interim: get(cx, fin, "final_after_interim", base.final_after_interim),
    };
    if !ok {
        return None;
    }
    let span_of = |v: &Option<Str>| v.as_ref().map(|s| s.span()).unwrap_or(table.clone());
    let zero = |d: WorkDuration| matches!(d, WorkDuration::Seconds(0) | WorkDuration::Days(0));
    for (d, v, name) in [
        (set.answer, answer, "answer"),
        (set.rework, rework, "rework"),
        (set.final_after_interim, fin, "final_after_interim"),
    ] {
        if zero(d) {
            cx.at(span_of(v), &join(prefix, name), "must be more than zero");
            ok = false;
        }
    }
    match (set.answer, set.draft_before_answer) {
        _ if !ok => {}
        (_, WorkDuration::Days(_)) => {
            cx.at(
                span_of(draft),
                &join(prefix, "draft_before_answer"),
                "must be working hours, minutes or seconds (such as 4h), not days",
            );
            ok = false;
        }
        (WorkDuration::Seconds(a), WorkDuration::Seconds(d)) if d >= a => {
            let (v, name) = if draft.is_some() {
                (draft, "draft_before_answer")
            } else {
                (answer, "answer")
            };
            cx.at(
                span_of(v),
                &join(prefix, name),
                format!(
                    "draft_before_answer ({}) must be shorter than answer ({}): it would leave \
                     no time for the draft",
                    set.draft_before_answer, set.answer
                ),
            );
            ok = false;
        }
        _ => {}
    }
    ok.then_some(set)
}

pub(super) fn deadlines(cx: &mut Ctx<'_>, s: Option<&Spanned<RawDeadlines>>) -> Option<Deadlines> {
    let Some(s) = s else {
        return Some(Deadlines {
            default: DEFAULT_SET,
            categories: Vec::new(),
        });
    };
    let r = s.get_ref();
    let default = deadline_set(
        cx,
        "deadlines",
        s.span(),
        [
            &r.answer,
            &r.draft_before_answer,
            &r.rework,
            &r.final_after_interim,
        ],
        DEFAULT_SET,
    );
    let mut categories: Vec<(String, DeadlineSet)> = Vec::new();
    let mut ok = true;
    let empty = BTreeMap::new();
    for (name, set) in r.categories.as_ref().unwrap_or(&empty) {
        let mut prefix = "deadlines.categories".to_string();
        push_key(&mut prefix, name.get_ref());
        let lower = name.get_ref().trim().to_lowercase();
        if lower.is_empty() {
            cx.at(name.span(), &prefix, "empty category name");
            ok = false;
            continue;
        }
        if categories.iter().any(|(n, _)| *n == lower) {
            cx.at(
                name.span(),
                &prefix,
                "category given twice (names are matched case-insensitively)",
            );
            ok = false;
            continue;
        }
        let got = deadline_set(
            cx,
            &prefix,
            name.span(),
            [
                &set.answer,
                &set.draft_before_answer,
                &set.rework,
                &set.final_after_interim,
            ],
            default.unwrap_or(DEFAULT_SET),
        );
        match got {
            Some(g) => categories.push((lower, g)),
            None => ok = false,
        }
    }
    Some(Deadlines {
        default: default?,
        categories: ok.then_some(categories)?,
    })
}

pub(super) fn escalations(
    cx: &mut Ctx<'_>,
    raw: &[(usize, Spanned<RawEscalation>)],
    has_supervisor: bool,
) -> Vec<Escalation> {
    let mut out = Vec::new();
    for (i, esc) in raw {
        let p = format!("escalations[{i}]");
        let table = esc.span();
        let r = esc.get_ref();
        let deadline = cx
            .require(&r.deadline, &table, &join(&p, "deadline"))
            .and_then(|v| match v.get_ref().trim().to_ascii_lowercase().as_str() {
                "draft" => Some(DeadlineKind::Draft),
                "answer" => Some(DeadlineKind::Answer),
                "rework" => Some(DeadlineKind::Rework),
                "final" => Some(DeadlineKind::Final),
                other => {
                    cx.at(
                        v.span(),
                        &join(&p, "deadline"),
                        format!(
                            "unknown deadline {other:?}: expected draft, answer, rework or final"
                        ),
                    );
                    None
                }
            });
        let at = cx
            .require(&r.at, &table, &join(&p, "at"))
            .and_then(|v| match v.get_ref().parse::<Offset>() {
                Ok(o) if o.negative && matches!(o.amount, WorkDuration::Days(_)) => {
                    cx.at(
                        v.span(),
                        &join(&p, "at"),
                        "an offset before the deadline must be in hours, minutes or seconds, not days",
                    );
                    None
                }
                Ok(o) => Some(o),
                Err(e) => {
                    cx.at(v.span(), &join(&p, "at"), e.to_string());
                    None
                }
            });
        let notify = notify_targets(cx, &p, r, table, has_supervisor);
        if let (Some(deadline), Some(at), Some(notify)) = (deadline, at, notify) {
            out.push(Escalation {
                deadline,
                at,
                notify,
            });
        }
    }
    out
}

/// `escalations[i].notify`: roles or addresses, each once; `None` when any is wrong.
fn notify_targets(
    cx: &mut Ctx<'_>,
    p: &str,
    r: &RawEscalation,
    table: Range<usize>,
    has_supervisor: bool,
) -> Option<Vec<NotifyTarget>> {
    let mut notify = Vec::new();
    let mut ok = true;
    match &r.notify {
        None if cx.was_dropped(&join(p, "notify")) => ok = false,
        None => {
            cx.at(table, &join(p, "notify"), "missing required key");
            ok = false;
        }
        Some(list) if list.get_ref().is_empty() => {
            cx.at(list.span(), &join(p, "notify"), "nobody to notify");
            ok = false;
        }
        Some(list) => {
            for (j, n) in list.get_ref().iter().enumerate() {
                let key = format!("{p}.notify[{j}]");
                let s = n.get_ref().trim();
                let target = match s.to_lowercase().as_str() {
                    "executor" => NotifyTarget::Executor,
                    "coordinator" => NotifyTarget::Coordinator,
                    "supervisor" if has_supervisor => NotifyTarget::Supervisor,
                    "supervisor" => {
                        cx.at(
                            n.span(),
                            &key,
                            "no supervisor is set in [people]: add people.supervisor",
                        );
                        ok = false;
                        continue;
                    }
                    _ if is_email(s) => NotifyTarget::Email(s.to_lowercase()),
                    _ => {
                        cx.at(
                            n.span(),
                            &key,
                            format!(
                                "{s:?} is neither a role (executor, coordinator, supervisor) \
                                 nor an email address"
                            ),
                        );
                        ok = false;
                        continue;
                    }
                };
                if !notify.contains(&target) {
                    notify.push(target);
                }
            }
        }
    }
    ok.then_some(notify)
}
