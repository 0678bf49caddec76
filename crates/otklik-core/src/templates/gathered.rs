//! The coordinator's mail listing the cases opened during a burst (see [`crate::gather`]).

use chrono::{DateTime, Utc};

use super::doc::{Block, Button, Doc, Lead, Tone};
use super::{Rendered, View, decree, footer, headline, keyword, mailto, tr};
use crate::config::Config;
use crate::reply::keyword::Word;
use crate::workflow::Case;

/// One case of a gathered mail and the recipient's action code for it (without `#`).
pub struct Listed<'a> {
    /// The case, as stored now.
    pub case: &'a Case,
    /// The code of the recipient's one-click reassignment of this case.
    pub code: String,
}

/// The mail listing `cases` to `recipient`: per case its tag, topic and place, executor and
/// a one-click `НАЗНАЧИТЬ` carrying that case's code.
pub fn new_cases(
    config: &Config,
    recipient: &str,
    cases: &[Listed<'_>],
    now: DateTime<Utc>,
) -> Rendered {
    let lang = config.service.language;
    let subject = format!("{}: {}", tr(lang, "Новые дела", "New cases"), cases.len());
    let mut d = head(config, recipient, cases, now, &subject);
    d.push(table(config, cases));
    buttons(&mut d, config, cases);
    d.push(Block::List {
        title: tr(lang, "Исполнители", "Executors").to_string(),
        items: config
            .executors
            .iter()
            .map(|e| format!("{} — {}, {}", e.id, e.name, e.position))
            .collect(),
    });
    Rendered {
        subject,
        text: d.text(),
        html: Some(d.html()),
        attachments: Vec::new(),
        calendar: None,
    }
}

/// The mail's frame: signature and greeting (as for the first case's view), what happened,
/// what to do.
fn head(
    config: &Config,
    recipient: &str,
    cases: &[Listed<'_>],
    now: DateTime<Utc>,
    subject: &str,
) -> Doc {
    let lang = config.service.language;
    let service_addr = config.smtp.from.email.as_str();
    let view = |first: &Listed<'_>| {
        let view = View {
            config,
            case: first.case,
            now,
            recipient,
            code: &first.code,
            service_addr,
        };
        (decree::signature(&view), decree::greeting(&view))
    };
    let first = cases.first().map(view);
    let footer_text = match &first {
        Some((signature, _)) => format!("{signature}{}", footer(lang)),
        None => footer(lang),
    };
    let mut d = Doc::new(
        lang == crate::config::Language::Ru,
        subject.to_string(),
        footer_text,
    );
    if let Some((_, greeting)) = &first
        && !greeting.trim().is_empty()
    {
        d.push(Block::Text(greeting.trim().to_string()));
    }
    d.lead = Some(Lead {
        ask: format!(
            "{}: {}",
            tr(
                lang,
                "Новые сообщения открыты и переданы исполнителям",
                "New posts are open and went to their executors"
            ),
            cases.len()
        ),
        due: None,
        tone: Tone::Info,
    });
    d.instruction = Some(
        tr(
            lang,
            "Если исполнитель выбран неверно, нажмите кнопку дела: НАЗНАЧИТЬ <исполнитель>.",
            "If an executor is wrong, use the case's button: ASSIGN <executor>.",
        )
        .to_string(),
    );
    d
}

/// One row a case: its tag, topic and place, executor.
fn table(config: &Config, cases: &[Listed<'_>]) -> Block {
    let lang = config.service.language;
    let rows = cases
        .iter()
        .map(|l| {
            let executor = l
                .case
                .executor
                .as_deref()
                .and_then(|id| config.executor(id))
                .map(|e| format!("{} ({})", e.name, e.id))
                .unwrap_or_else(|| "-".into());
            vec![l.case.id.clone(), headline(l.case), executor]
        })
        .collect();
    Block::Table {
        title: tr(lang, "Новые дела", "New cases").to_string(),
        head: vec![
            tr(lang, "Дело", "Case").to_string(),
            tr(lang, "Рубрика — территория", "Topic — location").to_string(),
            tr(lang, "Исполнитель", "Executor").to_string(),
        ],
        rows,
    }
}

/// A one-click `НАЗНАЧИТЬ` a case, each carrying that case's code.
fn buttons(d: &mut Doc, config: &Config, cases: &[Listed<'_>]) {
    let lang = config.service.language;
    let service_addr = config.smtp.from.email.as_str();
    d.actions_title = Some(
        tr(
            lang,
            "Назначить другого исполнителя (после слова — код исполнителя из списка ниже):",
            "Assign another executor (after the keyword, the executor's id from the list below):",
        )
        .to_string(),
    );
    let word = keyword(lang, Word::Assign);
    for l in cases {
        d.buttons.push(Button {
            keyword: word.to_string(),
            label: format!("[{}] {}", l.case.id, headline(l.case)),
            // For a reader without buttons: the subject to write.
            explain: format!(
                "{}: [{}] {word} <{}> #{}",
                tr(lang, "тема письма", "subject"),
                l.case.id,
                tr(lang, "исполнитель", "executor"),
                l.code
            ),
            href: mailto(
                service_addr,
                &format!("[{}] {word} #{}", l.case.id, l.code),
                "",
            ),
        });
    }
}
