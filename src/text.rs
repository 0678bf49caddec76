//! Text helpers shared by the parsers: HTML to plain text. Pure.
//!
//! STUB: the intake helper owns this file.

/// Turns an HTML body into readable plain text: block elements and `<br>` become line
/// breaks, table cells are separated so that `<tr><td>Label</td><td>Value</td></tr>`
/// becomes `Label: Value` on one line, entities are decoded, whitespace is folded.
pub fn html_to_text(html: &str) -> String {
    html.to_string()
}
