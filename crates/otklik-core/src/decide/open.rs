//! A notification from the monitoring platform: a duplicate of a known post or a new case.

use super::{Decision, Disposition, Facts};
use crate::triage::ReadNotification;
use crate::workflow::{self, Classification, Ctx, Event};

/// A notification from the monitoring platform: a duplicate of a known post, or a new case.
/// `forwarded_at`: when a forward of it reached us; `model`: the routing model after the rules.
pub(super) fn open_case(
    read: ReadNotification,
    facts: &Facts,
    ctx: Ctx<'_>,
    model: Option<&crate::routing::Model>,
) -> Decision {
    let config = ctx.config;
    let (n, notes) = match read {
        Ok(n) => n,
        Err(e) => return Decision::reject(format!("notification not understood: {e}")),
    };
    // The platform's own repeat mark on a post we know under another source id: a repeat of
    // that case (cl. 10), whatever its age, not the same notification again.
    let marked_repeat_of_post = facts.same_post.as_ref().filter(|c| {
        n.repeat
            && n.source_id.is_some()
            && c.notification.source_id.is_some()
            && c.notification.source_id != n.source_id
    });
    if let Some(case) = facts
        .same_post
        .as_ref()
        .filter(|_| marked_repeat_of_post.is_none())
    {
        let detail = format!(
            "same post notified again (source id {}, link {})",
            n.source_id.as_deref().unwrap_or("-"),
            n.link.as_deref().unwrap_or("-")
        );
        let outcome = workflow::apply(case, Event::Duplicate { detail }, ctx);
        return Decision::Case {
            outcome: Box::new(outcome),
            new: false,
            class: None,
            disposition: Disposition::Processed,
            note: format!("duplicate of {}", case.id),
        };
    }
    // The platform's repeat mark links the earlier case by the same author at any age;
    // without it, only one within the repeat window is a repeat.
    let earlier = marked_repeat_of_post.or_else(|| {
        facts.earlier.as_ref().filter(|c| {
            workflow::within_repeat_window(config, c, &n)
                || (n.repeat && c.notification.detected_at <= n.detected_at)
        })
    });
    let class = workflow::classify_with(config, model, &n, earlier);
    let note = class_note(&class);
    let mut outcome = workflow::open(facts.next_case, n, class.clone(), ctx);
    if !notes.is_empty()
        && let Some(created) = outcome.case.history.first_mut()
    {
        created.detail.push_str(&format!("; {}", notes.join("; ")));
    }
    // Earlier answers help whoever answers; an excluded post is answered by nobody.
    if !matches!(class, Classification::Excluded { .. }) {
        outcome.case.similar =
            crate::archive::offered(&facts.similar, config.archive.threshold, &outcome.case.id);
    }
    // Another author about the same problem at the same place: flagged to the coordinator
    // (cl. 10), the case routed as usual meanwhile. A repeat by the author rule, or an
    // excluded post, needs no flag.
    let mut note = note;
    if !matches!(
        class,
        Classification::Excluded { .. } | Classification::Repeat { .. }
    ) && let Some(flag) = crate::repeat::possible_repeat(
        config,
        &outcome.case.notification,
        &facts.same_place,
        &outcome.case.id,
    ) {
        note.push_str(&format!(
            "; possible repeat of {} by another author ({} %)",
            flag.of, flag.percent
        ));
        if let Some(created) = outcome.case.history.first_mut() {
            created.detail.push_str(&format!(
                "; possible repeat of {} (another author, same place, {} % alike)",
                flag.of, flag.percent
            ));
        }
        outcome.case.possible_repeat = Some(flag);
        workflow::flag_to_coordinator(&mut outcome, ctx);
    }
    // Clause 12's model thinks the rules let an abusive post through: the case goes on,
    // the coordinator is told and decides (`ИСКЛЮЧИТЬ`).
    if !matches!(class, Classification::Excluded { .. }) {
        flag_possible_abuse(&mut outcome, &mut note, ctx);
    }
    Decision::Case {
        outcome: Box::new(outcome),
        new: true,
        class: Some(class),
        disposition: Disposition::Processed,
        note,
    }
}

/// Flags a new case whose post the clause 12 model reads as abusive though no rule matched
/// ([`crate::lexicon::Lexicon::suspect`]): the flag on the case, a note in the decision and
/// in the case's first history entry, and the coordinator told.
fn flag_possible_abuse(outcome: &mut workflow::Outcome, note: &mut String, ctx: Ctx<'_>) {
    let Some(v) = ctx
        .config
        .intake
        .lexicon
        .suspect(&outcome.case.notification.text)
    else {
        return;
    };
    let percent = (v.probability * 100.0).floor().clamp(0.0, 100.0) as u8;
    let words = v.words.join(", ");
    note.push_str(&format!("; possibly clause 12 ({percent} %: {words})"));
    if let Some(created) = outcome.case.history.first_mut() {
        created.detail.push_str(&format!(
            "; possibly clause 12 (model {percent} %: {words}), flagged to the coordinator"
        ));
    }
    outcome.case.possible_abuse = Some(workflow::PossibleAbuse {
        percent,
        words: v.words,
    });
    workflow::flag_to_coordinator(outcome, ctx);
}

/// How a new notification was classified, in the words of the decision's note.
fn class_note(class: &Classification) -> String {
    match class {
        Classification::Excluded { .. } => "excluded (clause 12)".to_string(),
        Classification::Repeat { of, .. } => format!("repeat of {of}"),
        Classification::Routed { rule, executor, .. } => {
            format!("routed by «{rule}» to {executor}")
        }
        Classification::Modelled {
            executor,
            confidence,
            ..
        } => format!(
            "routed by the routing model to {executor} ({} %)",
            confidence.percent()
        ),
        Classification::Unmatched { suggestions, .. } => match suggestions.first() {
            Some(s) => format!(
                "no rule matched, the model is not sure (best {} at {} %): unassigned",
                s.executor,
                s.probability.percent()
            ),
            None => "no rule matched".to_string(),
        },
    }
}
