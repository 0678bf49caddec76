//! Replies to a case (docs/keywords.md): who may do what in which state, then one function per
//! action. Each action function gets a case the reply is entitled to and fits, and returns the
//! outcome.

use chrono::{DateTime, Utc};

use super::{
    Action, Case, Ctx, Draft, DraftKind, HistoryEvent, Notice, NoticeKind, Outcome, Role, State,
    entry, local_date, refuse,
};
use crate::config::Config;
use crate::inbound::Attachment;
use crate::routing;

/// One reply, already authenticated; what the action functions share.
struct Reply<'a> {
    from: &'a str,
    text: String,
    ctx: Ctx<'a>,
    notices: Vec<Notice>,
}

impl Reply<'_> {
    /// Tells the sender their action was taken.
    fn confirm(&mut self, what: &str) {
        self.notices.push(Notice {
            to: vec![self.from.to_string()],
            kind: NoticeKind::Confirmation {
                action: what.to_string(),
            },
        });
    }

    fn refuse(&self, case: Case, reason: String) -> Outcome {
        refuse(case, self.from, reason, self.ctx)
    }

    fn done(self, case: Case) -> Outcome {
        Outcome {
            case,
            notices: self.notices,
            accepted: true,
        }
    }

    fn now(&self) -> DateTime<Utc> {
        self.ctx.now
    }

    /// The current executor's address, if the case has one.
    fn executor_email(&self, case: &Case) -> Option<String> {
        case.executor
            .as_deref()
            .and_then(|e| self.ctx.executor_email(e))
    }

    /// The text as a suffix `: text`, or nothing.
    fn colon_text(&self) -> String {
        if self.text.is_empty() {
            String::new()
        } else {
            format!(": {}", self.text)
        }
    }
}

/// May this role take this action at all?
fn entitled(role: &Role, action: &Action) -> bool {
    match action {
        Action::Draft(_) | Action::Decline => *role == Role::Executor,
        Action::Approve
        | Action::Rework
        | Action::Assign(_)
        | Action::Exclude
        | Action::Close
        | Action::LinkRepeat(_) => *role == Role::Coordinator,
        Action::Published => matches!(role, Role::Executor | Role::Coordinator | Role::Publisher),
    }
}

/// Does this action fit a case in this state?
fn fits(case: &Case, action: &Action) -> bool {
    use State::*;
    let state = case.state;
    match action {
        Action::Draft(_) => matches!(state, Assigned | DraftSubmitted | Rework | InterimApproved),
        Action::Decline => matches!(state, Assigned | Rework),
        Action::Approve | Action::Rework => state == DraftSubmitted,
        Action::Assign(_) => matches!(
            state,
            Unassigned | Assigned | DraftSubmitted | Rework | InterimApproved | Excluded
        ),
        Action::Exclude => matches!(state, Unassigned | Assigned | DraftSubmitted | Rework),
        Action::LinkRepeat(_) => matches!(
            state,
            Unassigned | Assigned | DraftSubmitted | Rework | InterimApproved
        ),
        Action::Close => state != Closed,
        // An approved text waits to be posted (an interim answer may still be confirmed
        // after the final draft came in); `approved`/`interim_approved` without one as before.
        Action::Published => {
            state.is_open()
                && (case.awaiting_publication.is_some()
                    || matches!(state, Approved | InterimApproved))
        }
    }
}

pub(super) fn reply(
    case: Case,
    from: &str,
    role: Role,
    action: Action,
    text: String,
    attachments: Vec<Attachment>,
    ctx: Ctx<'_>,
) -> Outcome {
    if !entitled(&role, &action) {
        let who = match role {
            Role::Coordinator => "the coordinator",
            Role::Executor => "the executor of this case",
            Role::Publisher => "the publisher",
            Role::Other => "this address",
        };
        return refuse(
            case,
            from,
            format!("{who} may not {}", action_verb(&action)),
            ctx,
        );
    }
    if !fits(&case, &action) {
        let reason = format!(
            "{} does not fit a case in state {}",
            action_verb(&action),
            case.state.as_str()
        );
        return refuse(case, from, reason, ctx);
    }
    // Closing without an answer is a decision the report must explain: a reason is required.
    if action == Action::Close && text.trim().is_empty() {
        return refuse(
            case,
            from,
            "close needs a reason after the keyword (ЗАКРЫТЬ дубликат / CLOSE duplicate)".into(),
            ctx,
        );
    }
    let r = Reply {
        from,
        text,
        ctx,
        notices: Vec::new(),
    };
    match action {
        Action::Draft(kind) => draft(case, r, kind, attachments),
        Action::Decline => decline(case, r),
        Action::Approve => approve(case, r),
        Action::Rework => rework(case, r),
        Action::Assign(target) => assign(case, r, &target),
        Action::Exclude => exclude(case, r),
        Action::Close => close(case, r),
        Action::Published => published(case, r),
        Action::LinkRepeat(number) => link_repeat(case, r, number),
    }
}

/// Does the coordinator's `СОГЛАСОВАНО` / `ДОРАБОТАТЬ` apply to the pending draft? Only when
/// her reply answers the mail of the current approval round: `answered` is the newest round
/// her reply proves (by a Message-ID or an action code of ours), `None` when it proves none.
/// Other actions, and a case with no pending draft, pass (the state check explains those).
/// `Err` is the reason to refuse with: a newer draft came in since the request she answered,
/// and that draft's own request is where to act.
pub fn check_round(
    case: &Case,
    action: &Action,
    answered: Option<u64>,
    config: &Config,
) -> Result<(), String> {
    if !matches!(action, Action::Approve | Action::Rework) || case.state != State::DraftSubmitted {
        return Ok(());
    }
    let current = case.approval_round;
    if answered == Some(current) {
        return Ok(());
    }
    let verb = if *action == Action::Approve {
        "approve"
    } else {
        "return"
    };
    let draft = case.draft.as_ref().map(|d| {
        format!(
            "{} from {} at {}",
            kind_name(d.kind),
            d.by,
            d.at.with_timezone(&config.calendar.timezone())
                .format("%d.%m.%Y %H:%M")
        )
    });
    let newer = draft.unwrap_or_else(|| "a newer draft".to_string());
    let seen = match answered {
        Some(round) if round > 0 && round < current => format!(
            "your reply answers the request for approval of an earlier draft (round {round}), \
             and a newer draft came in since: the {newer} (round {current})"
        ),
        _ => format!(
            "your reply answers a mail sent before the pending draft came in: the {newer} \
             (round {current})"
        ),
    };
    Err(format!(
        "{seen}. Nothing was approved or returned. That draft was sent to you in its own mail \
         «{} На согласование / For approval»: read it and {verb} it by replying to that mail",
        case_tag(case)
    ))
}

fn case_tag(case: &Case) -> String {
    format!("[{}]", case.id)
}

/// A draft (answer, interim answer or clarifying question) from the executor → the coordinator.
fn draft(
    mut case: Case,
    mut r: Reply<'_>,
    kind: DraftKind,
    attachments: Vec<Attachment>,
) -> Outcome {
    let now = r.now();
    let draft = Draft {
        kind,
        text: r.text.clone(),
        attachments,
        by: r.from.to_string(),
        at: now,
    };
    let event = match kind {
        DraftKind::Answer => HistoryEvent::Draft,
        DraftKind::Interim => HistoryEvent::Interim,
        DraftKind::Query => HistoryEvent::Clarification,
    };
    let mut detail = r.text.clone();
    if !draft.attachments.is_empty() {
        detail.push_str(&format!(
            "\n[attachments: {}]",
            attachment_names(&draft.attachments)
        ));
    }
    case.history.push(entry(now, event, r.from, detail));
    case.first_draft_at.get_or_insert(now);
    // Cl. 9: the first answer after an approved interim one is the final draft.
    if kind == DraftKind::Answer && super::had_interim(&case) {
        case.final_draft_at.get_or_insert(now);
    }
    // A new round: the coordinator's earlier mail showed another text.
    case.approval_round = case.approval_round.saturating_add(1);
    case.draft = Some(draft);
    case.state = State::DraftSubmitted;
    r.notices.push(Notice {
        to: vec![r.ctx.coordinator()],
        kind: NoticeKind::ForApproval,
    });
    r.confirm(event.as_str());
    r.done(case)
}

/// The executor says the case is not theirs: back to the coordinator.
fn decline(mut case: Case, mut r: Reply<'_>) -> Outcome {
    let previous = case.executor.take();
    case.state = State::Unassigned;
    case.history.push(entry(
        r.now(),
        HistoryEvent::Declined,
        r.from,
        r.text.clone(),
    ));
    r.notices.push(Notice {
        to: vec![r.ctx.coordinator()],
        kind: NoticeKind::Declined {
            reason: format!("{}{}", previous.unwrap_or_default(), r.colon_text()),
        },
    });
    r.confirm("declined");
    r.done(case)
}

/// The coordinator approves the pending draft.
fn approve(mut case: Case, mut r: Reply<'_>) -> Outcome {
    let Some(draft) = case.draft.clone() else {
        return r.refuse(case, "there is no draft waiting for approval".into());
    };
    let now = r.now();
    let executor_email = r.executor_email(&case);
    match draft.kind {
        DraftKind::Answer => {
            case.state = State::Approved;
            case.answered_at.get_or_insert(now);
            if case.deadlines.final_.is_some() {
                case.final_approved_at.get_or_insert(now);
            }
            case.awaiting_publication = Some(DraftKind::Answer);
        }
        DraftKind::Interim => {
            case.state = State::InterimApproved;
            case.answered_at.get_or_insert(now);
            // Cl. 9: the final deadline counts from when the interim answer goes out
            // (its `ОПУБЛИКОВАНО`), not from this approval.
            if case.awaiting_publication.is_none() {
                case.awaiting_publication = Some(DraftKind::Interim);
            }
        }
        DraftKind::Query => {
            // The question goes to the author; the executor goes on with the answer.
            case.state = State::Assigned;
        }
    }
    let detail = format!("{} approved{}", kind_name(draft.kind), r.colon_text());
    case.history
        .push(entry(now, HistoryEvent::Approved, r.from, detail));
    case.approved = Some(draft);
    case.draft = None;
    let mut to: Vec<String> = executor_email.into_iter().collect();
    if let Some(p) = &r.ctx.config.people.publisher
        && !to.contains(p)
    {
        to.push(p.clone());
    }
    if !to.is_empty() {
        r.notices.push(Notice {
            to,
            kind: NoticeKind::Approved,
        });
    }
    r.confirm("approved");
    r.done(case)
}

/// The coordinator returns the draft with comments; the rework deadline starts (cl. 8).
fn rework(mut case: Case, mut r: Reply<'_>) -> Outcome {
    let now = r.now();
    let set = r
        .ctx
        .config
        .deadlines
        .for_category(case.notification.category.as_deref());
    case.state = State::Rework;
    case.deadlines.rework = Some(r.ctx.config.calendar.add(now, set.rework));
    case.history
        .push(entry(now, HistoryEvent::Rework, r.from, r.text.clone()));
    if let Some(email) = r.executor_email(&case) {
        r.notices.push(Notice {
            to: vec![email],
            kind: NoticeKind::Returned {
                comments: r.text.clone(),
            },
        });
    }
    r.confirm("rework");
    r.done(case)
}

/// The coordinator (re)assigns the case.
fn assign(mut case: Case, mut r: Reply<'_>, target: &str) -> Outcome {
    use State::*;
    let ctx = r.ctx;
    let target_id = ctx
        .config
        .executor(target)
        .or_else(|| ctx.config.executor_by_email(target))
        .map(|e| e.id.clone());
    let Some(target_id) = target_id else {
        return r.refuse(case, format!("no executor «{target}» in the list"));
    };
    let date = local_date(ctx.config, ctx.now);
    let assignee = routing::resolve(ctx.config, ctx.absences, &target_id, date);
    if assignee.executor().is_none() {
        return r.refuse(
            case,
            format!("{target_id} is absent and has no deputy present"),
        );
    }
    let state = case.state;
    let previous = case.executor.clone();
    if state == Excluded {
        case.closed_at = None;
        case.history.push(entry(
            ctx.now,
            HistoryEvent::Excluded,
            r.from,
            "exclusion overturned".to_string(),
        ));
    }
    if matches!(state, DraftSubmitted | Rework | Excluded | Unassigned) {
        case.state = Assigned;
        case.draft = None;
    }
    super::assign_to(&mut case, &assignee, r.from, "", ctx, &mut r.notices);
    if let Some(prev) = previous.filter(|p| Some(p.as_str()) != case.executor.as_deref())
        && let Some(email) = ctx.executor_email(&prev)
    {
        r.notices.push(Notice {
            to: vec![email],
            kind: NoticeKind::Withdrawn {
                reason: format!("reassigned to {}", case.executor.as_deref().unwrap_or("-")),
            },
        });
    }
    r.confirm("assigned");
    r.done(case)
}

/// The coordinator links the case to the earlier one it was flagged as a possible repeat
/// of (cl. 10): as the author rule does, it becomes a repeat of that case, goes to that
/// case's executor (or their deputy) and quotes the answer approved there. Only the flagged
/// case can be linked: what linking needs of it was kept when the case was opened.
fn link_repeat(mut case: Case, mut r: Reply<'_>, number: u64) -> Outcome {
    use State::*;
    let ctx = r.ctx;
    let prefix = &ctx.config.service.case_prefix;
    if let Some(of) = &case.repeat_of {
        return r.refuse(
            case.clone(),
            format!("{} is already a repeat of {of}", case.id),
        );
    }
    let Some(flag) = case.possible_repeat.clone().filter(|p| p.number == number) else {
        let flagged = match &case.possible_repeat {
            Some(p) => format!("it was flagged as a possible repeat of {} only", p.of),
            None => "it was not flagged as a possible repeat".to_string(),
        };
        return r.refuse(
            case,
            format!("{prefix}-{number} cannot be linked to this case: {flagged}"),
        );
    };
    case.repeat_of = Some(flag.of.clone());
    case.earlier_answer = flag.earlier_answer.clone();
    let quoted = if flag.earlier_answer.is_some() {
        "; earlier answer quoted"
    } else {
        ""
    };
    case.history.push(entry(
        ctx.now,
        HistoryEvent::Repeat,
        r.from,
        format!("linked as a repeat of {}{quoted}", flag.of),
    ));
    let date = local_date(ctx.config, ctx.now);
    let assignee = flag
        .executor
        .as_deref()
        .filter(|id| ctx.config.executor(id).is_some())
        .map(|id| routing::resolve(ctx.config, ctx.absences, id, date))
        .filter(|a| a.executor().is_some());
    let previous = case.executor.clone();
    match assignee {
        Some(assignee) => {
            if matches!(case.state, DraftSubmitted | Rework | Unassigned) {
                case.state = Assigned;
                case.draft = None;
            }
            let how = format!("repeat of {}", flag.of);
            super::assign_to(&mut case, &assignee, r.from, &how, ctx, &mut r.notices);
            if let Some(prev) = previous.filter(|p| Some(p.as_str()) != case.executor.as_deref())
                && let Some(email) = ctx.executor_email(&prev)
            {
                r.notices.push(Notice {
                    to: vec![email],
                    kind: NoticeKind::Withdrawn {
                        reason: format!(
                            "linked as a repeat of {}, reassigned to {}",
                            flag.of,
                            case.executor.as_deref().unwrap_or("-")
                        ),
                    },
                });
            }
        }
        // The earlier case had nobody (or its executor is gone, or away without a deputy):
        // linked, and the case stays where it is.
        None => {
            if let Some(email) = r.executor_email(&case) {
                r.notices.push(Notice {
                    to: vec![email],
                    kind: NoticeKind::NewCase { absent: None },
                });
            }
        }
    }
    r.confirm("repeat");
    r.done(case)
}

/// The coordinator excludes the case (cl. 12).
fn exclude(mut case: Case, mut r: Reply<'_>) -> Outcome {
    let now = r.now();
    case.state = State::Excluded;
    case.closed_at = Some(now);
    case.draft = None;
    case.history
        .push(entry(now, HistoryEvent::Excluded, r.from, r.text.clone()));
    if let Some(email) = r.executor_email(&case) {
        r.notices.push(Notice {
            to: vec![email],
            kind: NoticeKind::Withdrawn {
                reason: "excluded (clause 12)".into(),
            },
        });
    }
    r.confirm("excluded");
    r.done(case)
}

/// The coordinator closes the case without (further) answer, with a reason.
fn close(mut case: Case, mut r: Reply<'_>) -> Outcome {
    let now = r.now();
    let was_open = !matches!(case.state, State::Approved | State::Excluded);
    case.state = State::Closed;
    case.closed_at = Some(now);
    case.draft = None;
    case.history
        .push(entry(now, HistoryEvent::Closed, r.from, r.text.clone()));
    if was_open && let Some(email) = r.executor_email(&case) {
        r.notices.push(Notice {
            to: vec![email],
            kind: NoticeKind::Withdrawn {
                reason: format!("closed by the coordinator{}", r.colon_text()),
            },
        });
    }
    r.confirm("closed");
    r.done(case)
}

/// The approved answer is posted.
fn published(mut case: Case, mut r: Reply<'_>) -> Outcome {
    let now = r.now();
    case.history
        .push(entry(now, HistoryEvent::Published, r.from, r.text.clone()));
    match case.awaiting_publication.take() {
        Some(DraftKind::Answer) => {
            if case.deadlines.final_.is_some() {
                case.final_published_at.get_or_insert(now);
            }
            case.published_at.get_or_insert(now);
        }
        Some(DraftKind::Interim) => {
            case.published_at.get_or_insert(now);
            // Cl. 9: the final draft is due `final_after_interim` after the interim answer
            // went out, once; a second interim answer does not move it.
            if case.deadlines.final_.is_none() {
                let set = r
                    .ctx
                    .config
                    .deadlines
                    .for_category(case.notification.category.as_deref());
                case.deadlines.final_ =
                    Some(r.ctx.config.calendar.add(now, set.final_after_interim));
            }
        }
        Some(DraftKind::Query) => {
            case.published_at.get_or_insert(now);
        }
        None => {}
    }
    if case.state == State::Approved {
        case.state = State::Closed;
        case.closed_at = Some(now);
    }
    r.confirm("published");
    r.done(case)
}

fn attachment_names(atts: &[Attachment]) -> String {
    atts.iter()
        .map(|a| a.filename.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn kind_name(kind: DraftKind) -> &'static str {
    match kind {
        DraftKind::Answer => "answer",
        DraftKind::Interim => "interim answer",
        DraftKind::Query => "clarifying question",
    }
}

fn action_verb(action: &Action) -> String {
    match action {
        Action::Draft(kind) => format!("submit a draft ({})", kind_name(*kind)),
        Action::Decline => "decline the case".into(),
        Action::Approve => "approve".into(),
        Action::Rework => "return the draft for rework".into(),
        Action::Assign(_) => "assign the case".into(),
        Action::Exclude => "exclude the case".into(),
        Action::Close => "close the case".into(),
        Action::Published => "confirm publication".into(),
        Action::LinkRepeat(_) => "link the case as a repeat".into(),
    }
}
