//! The report by mail (cl. 13: control): the month's report to the supervisor on the
//! first working day of the month, and `ОТЧЁТ`/`REPORT` on request. One mail: the table as
//! text and HTML, a bar chart of on-time rates per executor as an inline PNG, and the CSV
//! attached (the dialect of [`report::csv_dialect`]). Pure: rows, config and time in,
//! bytes out.

use std::time::SystemTime;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment as MimeAttachment, Mailbox, MultiPart, SinglePart};
use plotters::prelude::{
    BLACK, BitMapBackend, ChartBuilder, Color, IntoDrawingArea, IntoFont, RGBColor, Rectangle,
    WHITE,
};
use plotters::style::FontStyle;

use crate::auth::Secret;
use crate::compose::{self, ComposeError, OutMail};
use crate::config::{Config, Language};
use crate::html;
use crate::learning::report::{Accuracy, FirstChoice};
use crate::report::{self, Row};
use crate::templates::tr;

/// The store key of the last month sent (`YYYY-MM`).
pub const LAST_MONTHLY_KEY: &str = "monthly_report_last";

/// The font the chart is drawn with (DejaVu Sans: Latin and Cyrillic; its licence is beside it).
static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// The monthly chart could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// Plotting failed (the drawing backend's message).
    #[error("cannot draw the chart: {0}")]
    Draw(String),
    /// The bitmap could not be encoded as PNG.
    #[error("cannot encode the chart: {0}")]
    Encode(#[from] png::EncodingError),
}

/// The month before `date`'s month: its first and last days.
pub fn previous_month(date: NaiveDate) -> (NaiveDate, NaiveDate) {
    let first_this = date.with_day(1).unwrap_or(date);
    let last_prev = first_this.pred_opt().unwrap_or(first_this);
    (last_prev.with_day(1).unwrap_or(last_prev), last_prev)
}

/// The month report due at `now`: on or after the first working day of the month, at
/// `digest_at` (or the start of that day's working time), when the month before has not
/// been sent (`last`: its `YYYY-MM`). Returns the range and the key to remember.
pub fn due(
    config: &Config,
    last: Option<&str>,
    now: DateTime<Utc>,
) -> Option<(NaiveDate, NaiveDate, String)> {
    if !config.service.monthly_report || config.people.supervisor.is_none() {
        return None;
    }
    let cal = &config.calendar;
    let local = now.with_timezone(&cal.timezone());
    let today = local.date_naive();
    let first = today.with_day(1)?;
    let first_working = first
        .iter_days()
        .take(31)
        .take_while(|d| d.month() == first.month())
        .find(|d| cal.is_working_day(*d))?;
    if today < first_working {
        return None;
    }
    if today == first_working {
        let start = match config.service.digest_at {
            Some(at) => local.time() >= at,
            None => cal
                .intervals_on(today)
                .first()
                .is_some_and(|(s, _)| now >= *s),
        };
        if !start {
            return None;
        }
    }
    let (from, to) = previous_month(today);
    let key = from.format("%Y-%m").to_string();
    (last != Some(key.as_str())).then_some((from, to, key))
}

/// A bar chart of on-time rates per executor (approved in time and posted in time, per
/// cent), as PNG bytes. Executors are labelled by id; rows without a rate are left out.
pub fn chart_png(config: &Config, rows: &[Row]) -> Result<Vec<u8>, ChartError> {
    let lang = config.service.language;
    let rated: Vec<&Row> = rows
        .iter()
        .filter(|r| r.on_time_rate.is_some() || r.posted_rate.is_some())
        .collect();
    let (w, h) = (760u32, 420u32);
    let mut rgb = vec![255u8; (w * h * 3) as usize];
    // The font is registered once per process; a second registration is harmless.
    let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        let err = |e: &dyn std::fmt::Display| ChartError::Draw(e.to_string());
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let n = rated.len().max(1) as u32;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                tr(
                    lang,
                    "Своевременность по исполнителям, %",
                    "On time per executor, %",
                ),
                ("sans-serif", 20).into_font(),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(40)
            .build_cartesian_2d(0u32..n * 3, 0f64..100f64)
            .map_err(|e| err(&e))?;
        let labels: Vec<String> = rated.iter().map(|r| r.executor.clone()).collect();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(rated.len() * 3 + 1)
            .x_label_formatter(&|x| {
                if x % 3 == 1 {
                    labels.get((x / 3) as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .y_desc("%")
            .label_style(("sans-serif", 13).into_font())
            .draw()
            .map_err(|e| err(&e))?;
        let approved = RGBColor(54, 110, 180);
        let posted = RGBColor(240, 150, 40);
        for (i, r) in rated.iter().enumerate() {
            let x = i as u32 * 3;
            if let Some(v) = r.on_time_rate {
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(x, 0.0), (x + 1, v)],
                        approved.filled(),
                    )))
                    .map_err(|e| err(&e))?;
            }
            if let Some(v) = r.posted_rate {
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(x + 1, 0.0), (x + 2, v)],
                        posted.filled(),
                    )))
                    .map_err(|e| err(&e))?;
            }
        }
        let legend = [
            (approved, tr(lang, "согласовано в срок", "approved on time")),
            (posted, tr(lang, "размещено в срок", "posted on time")),
        ];
        for (i, (color, label)) in legend.iter().enumerate() {
            let y = 34 + i as i32 * 18;
            root.draw(&Rectangle::new(
                [(w as i32 - 200, y), (w as i32 - 188, y + 12)],
                color.filled(),
            ))
            .map_err(|e| err(&e))?;
            root.draw_text(
                label,
                &("sans-serif", 13).into_font().color(&BLACK),
                (w as i32 - 182, y),
            )
            .map_err(|e| err(&e))?;
        }
        root.present().map_err(|e| err(&e))?;
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header()?;
        writer.write_image_data(&rgb)?;
    }
    Ok(out)
}

/// The subject: `[OTK] Отчёт за 01.11.2026–30.11.2026`.
pub fn subject(config: &Config, from: NaiveDate, to: NaiveDate) -> String {
    format!(
        "[{}] {} {}–{}",
        config.service.case_prefix,
        tr(config.service.language, "Отчёт за", "Report for"),
        from.format("%d.%m.%Y"),
        to.format("%d.%m.%Y")
    )
}

fn intro(lang: Language, from: NaiveDate, to: NaiveDate) -> String {
    format!(
        "{} {}–{} ({}).",
        tr(
            lang,
            "Исполнение Положения о работе с сообщениями из открытых источников за",
            "Handling of posts from open sources for"
        ),
        from.format("%d.%m.%Y"),
        to.format("%d.%m.%Y"),
        tr(
            lang,
            "дела по дате выявления; каждый срок засчитан тому, у кого дело было, когда срок наступил",
            "cases by detection date; each deadline counts toward whoever held the case when it fell due"
        )
    )
}

/// The routing section: how often the first executor given was the one who drafted.
pub fn routing_lines(lang: Language, routing: &FirstChoice) -> Vec<String> {
    let line = |what: &str, a: &Accuracy| match a.percent() {
        Some(p) => format!(
            "{what}: {} {p:.1} % ({} {} {})",
            tr(lang, "верно", "right"),
            a.right,
            tr(lang, "из", "of"),
            a.checked
        ),
        None => format!(
            "{what}: {} {}",
            a.routed,
            tr(lang, "дел, ответов ещё нет", "cases, no answers yet")
        ),
    };
    vec![
        tr(
            lang,
            "Маршрутизация (первый назначенный исполнитель — тот, кто подготовил ответ):",
            "Routing (the first executor given is the one who drafted the answer):",
        )
        .to_string(),
        line(tr(lang, "по правилам", "by rules"), &routing.rules),
        line(tr(lang, "по модели", "by the model"), &routing.model),
        format!(
            "{}: {}",
            tr(lang, "оставлено координатору", "left to the coordinator"),
            routing.coordinator
        ),
    ]
}

/// The plain-text body: the intro, the table and the routing figures.
pub fn text(
    config: &Config,
    rows: &[Row],
    routing: &FirstChoice,
    from: NaiveDate,
    to: NaiveDate,
) -> String {
    let lang = config.service.language;
    format!(
        "{}\n\n{}\n{}\n\n{}\n",
        intro(lang, from, to),
        report::table(config, rows),
        routing_lines(lang, routing).join("\n  "),
        tr(
            lang,
            "Таблица во вложении (CSV, открывается в Excel).",
            "The table is attached (CSV, opens in Excel)."
        )
    )
}

/// The HTML body: the table, the chart (`cid:chart`) and the routing figures.
pub fn html_body(
    config: &Config,
    rows: &[Row],
    routing: &FirstChoice,
    from: NaiveDate,
    to: NaiveDate,
) -> String {
    let lang = config.service.language;
    let title = subject(config, from, to);
    let mut s = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{t}</title></head><body>\n<h2>{t}</h2>\n<p>{i}</p>\n<table border=\"1\" cellspacing=\"0\" cellpadding=\"4\">\n<tr>",
        t = html::escape(&title),
        i = html::escape(&intro(lang, from, to))
    );
    for h in report::headers(config) {
        s.push_str(&format!("<th>{}</th>", html::escape(h)));
    }
    s.push_str("</tr>\n");
    let (_, comma) = report::csv_dialect(config);
    for r in rows {
        s.push_str("<tr>");
        for c in report::cells_for(r, comma) {
            s.push_str(&format!("<td>{}</td>", html::escape(&c)));
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</table>\n");
    let closed = report::closed_lines(config, rows);
    if let Some((head, rest)) = closed.split_first() {
        s.push_str(&format!("<p>{}</p>\n<ul>\n", html::escape(head)));
        for l in rest {
            s.push_str(&format!("<li>{}</li>\n", html::escape(l.trim())));
        }
        s.push_str("</ul>\n");
    }
    s.push_str(&format!(
        "<p><img src=\"cid:chart\" alt=\"{}\"></p>\n",
        html::escape(tr(
            lang,
            "Своевременность по исполнителям",
            "On time per executor"
        ))
    ));
    let lines = routing_lines(lang, routing);
    if let Some((head, rest)) = lines.split_first() {
        s.push_str(&format!("<p>{}</p>\n<ul>\n", html::escape(head)));
        for l in rest {
            s.push_str(&format!("<li>{}</li>\n", html::escape(l)));
        }
        s.push_str("</ul>\n");
    }
    s.push_str("</body></html>\n");
    s
}

fn mailbox(name: Option<&str>, email: &str) -> Result<Mailbox, ComposeError> {
    let addr = email
        .parse()
        .map_err(|_| ComposeError::Address(email.to_string()))?;
    Ok(Mailbox::new(name.map(str::to_string), addr))
}

/// The report mail for one recipient: `multipart/mixed` of `multipart/alternative` (text;
/// `multipart/related` HTML with the inline chart) and the CSV attachment; the headers of
/// every service mail (no case: case 0 in the Message-ID, no thread).
#[allow(clippy::too_many_arguments)]
pub fn mail(
    config: &Config,
    secret: &Secret,
    rows: &[Row],
    routing: &FirstChoice,
    from: NaiveDate,
    to_date: NaiveDate,
    to: &str,
    nonce: u64,
    now: DateTime<Utc>,
) -> Result<OutMail, MonthlyError> {
    let domain = compose::domain(config);
    let message_id = secret.message_id(0, to, nonce, &domain);
    let mut builder = lettre::Message::builder()
        .from(mailbox(
            config.smtp.from.name.as_deref(),
            &config.smtp.from.email,
        )?)
        .to(mailbox(None, to)?)
        .subject(subject(config, from, to_date))
        .date(SystemTime::from(now))
        .message_id(Some(format!("<{message_id}>")));
    for (name, value) in [
        ("Auto-Submitted", "auto-generated"),
        ("X-Auto-Response-Suppress", "All"),
    ] {
        if let Ok(n) = HeaderName::new_from_ascii(name.to_string()) {
            builder = builder.raw_header(HeaderValue::new(n, value.to_string()));
        }
    }
    let png = chart_png(config, rows)?;
    let png_type = ContentType::parse("image/png").map_err(|_| MonthlyError::ContentType)?;
    let csv_type =
        ContentType::parse("text/csv; charset=utf-8").map_err(|_| MonthlyError::ContentType)?;
    let related = MultiPart::related()
        .singlepart(SinglePart::html(html_body(
            config, rows, routing, from, to_date,
        )))
        .singlepart(MimeAttachment::new_inline("chart".to_string()).body(png, png_type));
    let alternative = MultiPart::alternative()
        .singlepart(SinglePart::plain(text(
            config, rows, routing, from, to_date,
        )))
        .multipart(related);
    let csv_name = format!(
        "otklik-{}-{}.csv",
        from.format("%Y-%m-%d"),
        to_date.format("%Y-%m-%d")
    );
    let mixed = MultiPart::mixed().multipart(alternative).singlepart(
        MimeAttachment::new(csv_name).body(report::csv(config, rows).into_bytes(), csv_type),
    );
    let message = builder.multipart(mixed).map_err(ComposeError::from)?;
    Ok(OutMail {
        seq: nonce,
        case: None,
        message_id,
        envelope_from: config.smtp.from.email.clone(),
        to: vec![to.to_string()],
        raw: message.formatted(),
        attempts: 0,
        next_attempt: now,
        last_error: None,
        created: now,
    })
}

/// The report mail could not be built.
#[derive(Debug, thiserror::Error)]
pub enum MonthlyError {
    /// An address was invalid or the message builder refused it.
    #[error(transparent)]
    Compose(#[from] ComposeError),
    /// The chart could not be drawn or encoded.
    #[error(transparent)]
    Chart(#[from] ChartError),
    /// An attachment's MIME type (PNG or CSV) did not parse.
    #[error("invalid content type")]
    ContentType,
}
