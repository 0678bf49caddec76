//! A mail as blocks, written out twice from the same facts: the plain-text part (read in
//! mutt as well as in Outlook) and the HTML part (table layout and inline styles, the
//! subset Outlook's Word engine, Mail.ru and Yandex web mail, Thunderbird and iOS Mail all
//! render; no external images, scripts or fonts). Escaping lives in [`crate::html`].

use similar::{Algorithm, ChangeTag, TextDiff};

use crate::html::escape;

/// How urgent the top line looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Something to do, not late.
    Ask,
    /// Late: the deadline has passed.
    Late,
    /// For information only.
    Info,
}

/// The one line at the top: what is asked of the reader, and by when.
#[derive(Debug, Clone)]
pub struct Lead {
    /// What the reader is asked to do (or told), in a few words.
    pub ask: String,
    /// `ср 02.12.2026 15:15 — осталось 9 рабочих ч`.
    pub due: Option<String>,
    /// How urgent the line looks in the HTML part.
    pub tone: Tone,
}

/// A changed piece of a word diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Text in both drafts.
    Same(String),
    /// Text only in the earlier draft (`[-…-]` in the text part).
    Deleted(String),
    /// Text only in the later draft (`{+…+}` in the text part).
    Inserted(String),
}

/// One part of a mail body, written out as text and as HTML.
#[derive(Debug, Clone)]
pub enum Block {
    /// Paragraphs (blank lines between them).
    Text(String),
    /// `label: value` rows, aligned.
    Fields(Vec<(String, String)>),
    /// A quoted text under a title (the post, a draft, comments).
    Quote {
        /// The heading above the quoted text.
        title: String,
        /// The quoted text, its line breaks kept.
        text: String,
    },
    /// What changed between two drafts, word by word.
    Diff {
        /// The heading above the diff.
        title: String,
        /// The words, in order, each marked same, deleted or inserted.
        pieces: Vec<Piece>,
    },
    /// Photos shown inline: (Content-ID, file name).
    Images(Vec<(String, String)>),
    /// A titled list.
    List {
        /// The heading above the list; none shown when empty.
        title: String,
        /// One line each.
        items: Vec<String>,
    },
    /// A titled table (the digest's counts and lists).
    Table {
        /// The heading above the table.
        title: String,
        /// The column headers; a table without them is not shown.
        head: Vec<String>,
        /// The cells, row by row, as many per row as `head` has.
        rows: Vec<Vec<String>>,
    },
}

/// An action as a button: a `mailto:` with the subject and the code filled in.
#[derive(Debug, Clone)]
pub struct Button {
    /// The reply keyword the button sends, `СОГЛАСОВАНО`.
    pub keyword: String,
    /// What the keyword does, in a few words.
    pub label: String,
    /// A longer explanation after the label; empty for none.
    pub explain: String,
    /// The `mailto:` link to the service, subject `[OTK-42] KEYWORD #code`.
    pub href: String,
}

/// A whole mail body.
#[derive(Debug, Clone)]
pub struct Doc {
    /// Russian fixed words and `lang="ru"`, else English.
    pub lang_ru: bool,
    /// The heading: what the mail is about.
    pub title: String,
    /// The text part's first line: how to answer.
    pub instruction: Option<String>,
    /// The line at the top: what is asked of the reader, and by when.
    pub lead: Option<Lead>,
    /// The body, in order.
    pub blocks: Vec<Block>,
    /// The heading above the buttons.
    pub actions_title: Option<String>,
    /// The actions the reader can take by reply, as `mailto:` buttons.
    pub buttons: Vec<Button>,
    /// `(label, code)`: the action code to keep in a reply.
    pub code: Option<(String, String)>,
    /// The closing lines: the coordinator's signature and how to answer.
    pub footer: String,
}

const FONT: &str = "font-family:Arial,Helvetica,sans-serif;";

impl Doc {
    /// A mail with a title and footer only; the rest is filled in by the caller.
    pub fn new(lang_ru: bool, title: String, footer: String) -> Doc {
        Doc {
            lang_ru,
            title,
            instruction: None,
            lead: None,
            blocks: Vec::new(),
            actions_title: None,
            buttons: Vec::new(),
            code: None,
            footer,
        }
    }

    /// Appends a block, unless it is empty (no text, rows, images, items or columns).
    pub fn push(&mut self, block: Block) {
        let empty = match &block {
            Block::Text(t) => t.trim().is_empty(),
            Block::Fields(rows) => rows.is_empty(),
            Block::Images(i) => i.is_empty(),
            Block::List { items, .. } => items.is_empty(),
            Block::Table { head, .. } => head.is_empty(),
            _ => false,
        };
        if !empty {
            self.blocks.push(block);
        }
    }

    /// The plain-text part: the instruction and the ask first, fields aligned, the
    /// `mailto:` links numbered at the end.
    pub fn text(&self) -> String {
        let mut s = String::new();
        if let Some(i) = &self.instruction {
            s.push_str(i);
            s.push('\n');
        }
        if let Some(l) = &self.lead {
            match &l.due {
                Some(d) => s.push_str(&format!("{} — {d}\n", l.ask)),
                None => s.push_str(&format!("{}\n", l.ask)),
            }
        }
        s.push_str(&self.title);
        s.push('\n');
        if !s.is_empty() {
            s.push('\n');
        }
        for b in &self.blocks {
            self.text_block(&mut s, b);
            s.push('\n');
        }
        self.text_buttons(&mut s);
        if let Some((label, code)) = &self.code {
            s.push_str(&format!("{label}: #{code}\n"));
        }
        s.push_str(&format!("\n-- \n{}\n", self.footer));
        if !self.buttons.is_empty() {
            s.push('\n');
            for (i, b) in self.buttons.iter().enumerate() {
                s.push_str(&format!("[{}] {}\n", i + 1, b.href));
            }
        }
        s
    }

    /// The HTML part.
    pub fn html(&self) -> String {
        let mut s = String::new();
        self.html_head(&mut s);
        if let Some(l) = &self.lead {
            html_lead(&mut s, l);
        }
        s.push_str(&format!(
            "<tr><td class=\"otk-pad\" style=\"padding:10px 24px 0 24px;{FONT}font-size:13px;line-height:18px;color:#4b5563;\">{}</td></tr>\n",
            escape(&self.title)
        ));
        for b in &self.blocks {
            s.push_str(&format!(
                "<tr><td class=\"otk-pad\" style=\"padding:12px 24px;{FONT}font-size:15px;line-height:22px;color:#111827;\">"
            ));
            html_block(&mut s, b);
            s.push_str("</td></tr>\n");
        }
        self.html_buttons(&mut s);
        if let Some((label, code)) = &self.code {
            s.push_str(&format!(
                "<tr><td class=\"otk-pad\" style=\"padding:4px 24px 12px 24px;{FONT}font-size:14px;line-height:20px;color:#374151;\">{}: <b style=\"font-family:Consolas,'Courier New',monospace;font-size:15px;\">#{}</b></td></tr>\n",
                escape(label),
                escape(code)
            ));
        }
        s.push_str(&format!(
            "<tr><td class=\"otk-pad\" style=\"padding:12px 24px 16px 24px;border-top:1px solid #e5e7eb;{FONT}font-size:12px;line-height:17px;color:#6b7280;\">{}</td></tr>\n",
            escape(&self.footer)
        ));
        s.push_str("</table>\n</td></tr>\n</table>\n</body>\n</html>\n");
        s
    }

    /// One block of the plain-text part.
    fn text_block(&self, s: &mut String, b: &Block) {
        match b {
            Block::Text(t) => {
                s.push_str(t.trim_end());
                s.push('\n');
            }
            Block::Fields(rows) => {
                let width = rows
                    .iter()
                    .map(|(l, _)| l.chars().count())
                    .max()
                    .unwrap_or(0);
                for (label, value) in rows {
                    let pad = width - label.chars().count();
                    s.push_str(&format!("{}{label}: {value}\n", " ".repeat(pad)));
                }
            }
            Block::Quote { title, text } => {
                s.push_str(&format!("{title}:\n"));
                for l in text.lines() {
                    s.push_str(&format!("  {l}\n"));
                }
            }
            Block::Diff { title, pieces } => {
                s.push_str(&format!("{title}:\n"));
                let mut body = String::new();
                for p in pieces {
                    match p {
                        Piece::Same(t) => body.push_str(t),
                        Piece::Deleted(t) => body.push_str(&format!("[-{t}-]")),
                        Piece::Inserted(t) => body.push_str(&format!("{{+{t}+}}")),
                    }
                }
                for l in body.lines() {
                    s.push_str(&format!("  {l}\n"));
                }
            }
            Block::Images(images) => {
                let names: Vec<&str> = images.iter().map(|(_, n)| n.as_str()).collect();
                s.push_str(&format!(
                    "{}: {}\n",
                    if self.lang_ru {
                        "Фото во вложении"
                    } else {
                        "Photos attached"
                    },
                    names.join(", ")
                ));
            }
            Block::List { title, items } => {
                if !title.is_empty() {
                    s.push_str(&format!("{title}\n"));
                }
                for i in items {
                    s.push_str(&format!("  {i}\n"));
                }
            }
            Block::Table { title, head, rows } => {
                s.push_str(&format!("{title}\n  {}\n", head.join(" | ")));
                for r in rows {
                    s.push_str(&format!("  {}\n", r.join(" | ")));
                }
            }
        }
    }

    /// The plain-text part's actions: each keyword with its number, label and explanation.
    fn text_buttons(&self, s: &mut String) {
        if !self.buttons.is_empty() {
            if let Some(t) = &self.actions_title {
                s.push_str(&format!("{t}\n"));
            }
            let width = self
                .buttons
                .iter()
                .map(|b| b.keyword.chars().count())
                .max()
                .unwrap_or(0);
            for (i, b) in self.buttons.iter().enumerate() {
                let pad = width - b.keyword.chars().count();
                s.push_str(&format!(
                    "  {}{} [{}] — {}",
                    b.keyword,
                    " ".repeat(pad),
                    i + 1,
                    b.label
                ));
                if !b.explain.is_empty() {
                    s.push_str(&format!(": {}", b.explain));
                }
                s.push('\n');
            }
            s.push('\n');
        }
    }

    /// The HTML part's document head: title and the styles for small screens, dark mode
    /// and print; then the page and the box the content sits in.
    fn html_head(&self, s: &mut String) {
        let lang = if self.lang_ru { "ru" } else { "en" };
        s.push_str("<!DOCTYPE html>\n");
        s.push_str(&format!(
        "<html lang=\"{lang}\" xmlns=\"http://www.w3.org/1999/xhtml\">\n<head>\n\
         <meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\" />\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\" />\n\
         <meta name=\"color-scheme\" content=\"light dark\" />\n\
         <meta name=\"supported-color-schemes\" content=\"light dark\" />\n\
         <title>{}</title>\n\
         <style type=\"text/css\">\n\
         @media screen and (max-width: 620px) {{ .otk-box {{ width: 100% !important; }} .otk-pad {{ padding: 12px !important; }} .otk-btn {{ display: block !important; }} .otk-btn a {{ display: block !important; }} .otk-explain {{ display: block !important; padding: 6px 0 0 0 !important; }} }}\n\
         @media (prefers-color-scheme: dark) {{ .otk-page {{ background: #111827 !important; }} .otk-box {{ background: #1f2937 !important; color: #f3f4f6 !important; }} .otk-box td {{ color: #f3f4f6 !important; }} .otk-quote {{ background: #374151 !important; }} }}\n\
         @media print {{ .otk-page {{ background: #ffffff !important; }} .otk-btn {{ border: 1px solid #000000 !important; }} }}\n\
         </style>\n</head>\n",
        escape(&self.title)
    ));
        s.push_str(
        "<body style=\"margin:0;padding:0;background:#eef1f5;\">\n\
         <table role=\"presentation\" class=\"otk-page\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\" bgcolor=\"#eef1f5\" style=\"background:#eef1f5;\">\n\
         <tr><td align=\"center\" style=\"padding:16px 8px;\">\n\
         <table role=\"presentation\" class=\"otk-box\" width=\"640\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\" bgcolor=\"#ffffff\" style=\"width:640px;max-width:640px;background:#ffffff;border:1px solid #cfd6df;\">\n",
    );
    }

    /// The HTML part's action buttons, each with its label and explanation.
    fn html_buttons(&self, s: &mut String) {
        if !self.buttons.is_empty() {
            s.push_str(&format!(
            "<tr><td class=\"otk-pad\" style=\"padding:12px 24px;{FONT}font-size:15px;line-height:22px;color:#111827;\">"
        ));
            if let Some(t) = &self.actions_title {
                s.push_str(&format!(
                    "<p style=\"margin:0 0 8px 0;font-weight:bold;\">{}</p>",
                    escape(t)
                ));
            }
            for b in &self.buttons {
                s.push_str(&format!(
                "<table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\" style=\"margin:0 0 10px 0;\"><tr>\
                 <td class=\"otk-btn\" bgcolor=\"#15803d\" style=\"background:#15803d;border-radius:4px;\">\
                 <a href=\"{}\" style=\"display:inline-block;padding:11px 18px;{FONT}font-size:16px;font-weight:bold;color:#ffffff;text-decoration:none;white-space:nowrap;\">{}</a></td>\
                 <td class=\"otk-explain\" style=\"padding:0 0 0 12px;{FONT}font-size:14px;line-height:19px;color:#374151;\"><b>{}</b>{}</td></tr></table>",
                escape(&b.href),
                escape(&b.keyword),
                escape(&b.label),
                if b.explain.is_empty() {
                    String::new()
                } else {
                    format!("<br />{}", escape(&b.explain))
                }
            ));
            }
            s.push_str("</td></tr>\n");
        }
    }
}

/// The HTML part's coloured lead: the ask and when it is due.
fn html_lead(s: &mut String, l: &Lead) {
    let (bg, fg) = match l.tone {
        Tone::Ask => ("#1d4ed8", "#ffffff"),
        Tone::Late => ("#b91c1c", "#ffffff"),
        Tone::Info => ("#e5e7eb", "#111827"),
    };
    s.push_str(&format!(
        "<tr><td class=\"otk-pad\" bgcolor=\"{bg}\" style=\"padding:16px 24px;background:{bg};color:{fg};{FONT}font-size:19px;line-height:26px;font-weight:bold;\">{}",
        escape(&l.ask)
    ));
    if let Some(d) = &l.due {
        s.push_str(&format!(
            "<br /><span style=\"font-size:16px;font-weight:normal;color:{fg};\">{}</span>",
            escape(d)
        ));
    }
    s.push_str("</td></tr>\n");
}

/// One block of the HTML part, inside its table cell.
fn html_block(s: &mut String, b: &Block) {
    match b {
        Block::Text(t) => {
            let paras: Vec<String> = t
                .trim_end()
                .split("\n\n")
                .map(|p| format!("<p style=\"margin:0 0 8px 0;\">{}</p>", lines(p)))
                .collect();
            s.push_str(&paras.join(""));
        }
        Block::Fields(rows) => {
            s.push_str("<table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\" width=\"100%\">");
            for (label, value) in rows {
                s.push_str(&format!(
                    "<tr><td valign=\"top\" width=\"34%\" style=\"padding:3px 12px 3px 0;{FONT}font-size:14px;line-height:20px;color:#4b5563;\">{}</td>\
                     <td valign=\"top\" style=\"padding:3px 0;{FONT}font-size:15px;line-height:20px;color:#111827;\">{}</td></tr>",
                    escape(label),
                    value_html(value)
                ));
            }
            s.push_str("</table>");
        }
        Block::Quote { title, text } => {
            s.push_str(&format!(
                "<p style=\"margin:0 0 6px 0;font-weight:bold;\">{}</p>{}",
                escape(title),
                quote_box(&lines(text))
            ));
        }
        Block::Diff { title, pieces } => {
            let mut body = String::new();
            for p in pieces {
                match p {
                    Piece::Same(t) => body.push_str(&lines(t)),
                    Piece::Deleted(t) => body.push_str(&format!(
                        "<del style=\"background:#fde2e2;color:#991b1b;text-decoration:line-through;\">{}</del>",
                        lines(t)
                    )),
                    Piece::Inserted(t) => body.push_str(&format!(
                        "<ins style=\"background:#d9f5e3;color:#14532d;text-decoration:underline;\">{}</ins>",
                        lines(t)
                    )),
                }
            }
            s.push_str(&format!(
                "<p style=\"margin:0 0 6px 0;font-weight:bold;\">{}</p>{}",
                escape(title),
                quote_box(&body)
            ));
        }
        Block::Images(images) => {
            for (cid, name) in images {
                s.push_str(&format!(
                    "<img src=\"cid:{}\" alt=\"{}\" width=\"400\" style=\"display:block;width:100%;max-width:400px;height:auto;border:1px solid #cfd6df;margin:0 0 8px 0;\" />",
                    escape(cid),
                    escape(name)
                ));
            }
        }
        Block::Table { title, head, rows } => {
            s.push_str(&format!(
                "<p style=\"margin:0 0 6px 0;font-weight:bold;\">{}</p>\
                 <table border=\"1\" cellpadding=\"5\" cellspacing=\"0\" width=\"100%\" style=\"border-collapse:collapse;border-color:#cfd6df;{FONT}font-size:14px;line-height:19px;\">\n<tr align=\"left\" bgcolor=\"#f1f3f6\">",
                escape(title)
            ));
            for h in head {
                s.push_str(&format!("<th>{}</th>", escape(h)));
            }
            s.push_str("</tr>\n");
            for r in rows {
                s.push_str("<tr>");
                for c in r {
                    s.push_str(&format!("<td>{}</td>", escape(c)));
                }
                s.push_str("</tr>\n");
            }
            s.push_str("</table>");
        }
        Block::List { title, items } => {
            if !title.is_empty() {
                // `== ` marks a group heading in the text part only.
                s.push_str(&format!(
                    "<p style=\"margin:0 0 6px 0;font-weight:bold;\">{}</p>",
                    escape(title.trim_start_matches("== "))
                ));
            }
            s.push_str("<ul style=\"margin:0;padding-left:20px;\">");
            for i in items {
                s.push_str(&format!("<li>{}</li>", escape(i)));
            }
            s.push_str("</ul>");
        }
    }
}

/// Escaped text with line breaks kept.
fn lines(t: &str) -> String {
    escape(t).replace('\n', "<br />")
}

fn quote_box(inner: &str) -> String {
    format!(
        "<table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\" width=\"100%\"><tr>\
         <td class=\"otk-quote\" bgcolor=\"#f6f7f9\" style=\"padding:10px 14px;background:#f6f7f9;border-left:4px solid #94a3b8;{FONT}font-size:15px;line-height:22px;color:#111827;\">{inner}</td></tr></table>"
    )
}

/// A field's value; a web address becomes a link.
fn value_html(value: &str) -> String {
    if (value.starts_with("https://") || value.starts_with("http://"))
        && !value.contains(char::is_whitespace)
    {
        format!(
            "<a href=\"{v}\" style=\"color:#1d4ed8;\">{v}</a>",
            v = escape(value)
        )
    } else {
        lines(value)
    }
}

/// The longest text, in bytes, [`word_diff`] compares. The diff's worst case grows with
/// the product of the two lengths (and `similar`'s own deadline would read the clock, which
/// the core does not): a draft is a few paragraphs, so two texts this long compare in well
/// under a millisecond, and a longer one is shown whole, as new.
pub const MAX_DIFF_BYTES: usize = 32 * 1024;

/// What changed between two texts, word by word: runs of deleted and inserted words
/// separated only by spaces are joined, so a rewritten phrase reads as one change. When
/// either text is longer than [`MAX_DIFF_BYTES`], the new text whole, as inserted.
pub fn word_diff(old: &str, new: &str) -> Vec<Piece> {
    if old.len() > MAX_DIFF_BYTES || new.len() > MAX_DIFF_BYTES {
        return if new.is_empty() {
            Vec::new()
        } else {
            vec![Piece::Inserted(new.to_string())]
        };
    }
    let diff = TextDiff::configure()
        .algorithm(Algorithm::Patience)
        .diff_words(old, new);
    let mut out = Vec::new();
    let mut del = String::new();
    let mut ins = String::new();
    let mut gap = String::new();
    let flush = |out: &mut Vec<Piece>, del: &mut String, ins: &mut String, gap: &mut String| {
        if !del.is_empty() {
            out.push(Piece::Deleted(std::mem::take(del)));
        }
        if !ins.is_empty() {
            out.push(Piece::Inserted(std::mem::take(ins)));
        }
        if !gap.is_empty() {
            out.push(Piece::Same(std::mem::take(gap)));
        }
    };
    for change in diff.iter_all_changes() {
        let value = change.value();
        let changing = !del.is_empty() || !ins.is_empty();
        match change.tag() {
            ChangeTag::Equal if changing && value.trim().is_empty() => gap.push_str(value),
            ChangeTag::Equal => {
                flush(&mut out, &mut del, &mut ins, &mut gap);
                match out.last_mut() {
                    Some(Piece::Same(s)) => s.push_str(value),
                    _ => out.push(Piece::Same(value.to_string())),
                }
            }
            ChangeTag::Delete => {
                if !gap.is_empty() {
                    if !del.is_empty() {
                        del.push_str(&gap);
                    }
                    if !ins.is_empty() {
                        ins.push_str(&gap);
                    }
                    gap.clear();
                }
                del.push_str(value);
            }
            ChangeTag::Insert => {
                if !gap.is_empty() {
                    if !del.is_empty() {
                        del.push_str(&gap);
                    }
                    if !ins.is_empty() {
                        ins.push_str(&gap);
                    }
                    gap.clear();
                }
                ins.push_str(value);
            }
        }
    }
    flush(&mut out, &mut del, &mut ins, &mut gap);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rewritten_phrase_is_one_change() {
        let d = word_diff("Воду дадут завтра утром.", "Воду дадут сегодня до 18:00.");
        assert_eq!(
            d,
            vec![
                Piece::Same("Воду дадут ".into()),
                Piece::Deleted("завтра утром.".into()),
                Piece::Inserted("сегодня до 18:00.".into()),
            ]
        );
    }
}
