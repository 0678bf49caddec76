//! The mails as officials receive them, end to end: the real service sends through the real
//! Postfix into Dovecot, the test actors read their mailboxes over IMAP and look at both
//! parts of each mail — the HTML part and the text part state the same facts (the case tag,
//! the deadlines, the actions and the action code); after a rework the approval request
//! shows the deleted and inserted words next to the coordinator's comments.

use otklik_testkit as support;

use support::mailstack::{MailStack, Received};
use support::service::*;

use otklik_core::workflow::State;

/// Every hour a working hour, in a zone that is not UTC: the `Date:` header and the
/// deadlines are in local time.
const BARNAUL_ALWAYS: &str = r#"timezone = "Asia/Barnaul"
workdays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
hours = ["00:00-24:00"]"#;

/// `%XX`-decoded `mailto:` subjects, in the order they appear.
fn mailto_subjects(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in s.match_indices("mailto:") {
        let link: String = s[i..]
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '"' && *c != '<')
            .collect();
        let link = link.replace("&amp;", "&");
        let Some((_, query)) = link.split_once("?subject=") else {
            continue;
        };
        let raw = query.split('&').next().unwrap_or("");
        let mut bytes = Vec::new();
        let b = raw.as_bytes();
        let mut j = 0;
        while j < b.len() {
            if b[j] == b'%' && j + 2 < b.len() {
                bytes.push(u8::from_str_radix(&raw[j + 1..j + 3], 16).expect("hex"));
                j += 3;
            } else {
                bytes.push(b[j]);
                j += 1;
            }
        }
        out.push(String::from_utf8(bytes).expect("UTF-8 subject"));
    }
    out
}

/// `dd.mm.yyyy hh:mm` stamps in a text.
fn stamps(s: &str) -> Vec<String> {
    let re = regex::Regex::new(r"\d\d\.\d\d\.\d{4} \d\d:\d\d").unwrap();
    re.find_iter(s).map(|m| m.as_str().to_string()).collect()
}

/// The HTML and the text part of `m` carry the same tag, code, deadlines and actions.
fn same_facts(m: &Received, tag: &str) -> (String, String) {
    let html = m
        .html
        .clone()
        .unwrap_or_else(|| panic!("no HTML part: {}", m.summary()));
    let text = m.text.clone();
    assert!(m.subject.contains(&format!("[{tag}]")), "{}", m.subject);
    assert!(
        html.contains(&format!("[{tag}]")),
        "tag in the HTML: {html}"
    );
    assert!(
        text.contains(&format!("[{tag}]")),
        "tag in the text: {text}"
    );
    let code = regex::Regex::new(r"#([a-z2-9]{8})\b")
        .unwrap()
        .captures(&text)
        .map(|c| c[1].to_string())
        .expect("an action code in the text");
    assert!(html.contains(&format!("#{code}")), "code in the HTML");
    let mut text_stamps = stamps(&text);
    let mut html_stamps = stamps(&html);
    text_stamps.sort();
    text_stamps.dedup();
    html_stamps.sort();
    html_stamps.dedup();
    assert_eq!(text_stamps, html_stamps, "the same deadlines in both parts");
    let in_text = mailto_subjects(&text);
    let in_html = mailto_subjects(&html);
    assert_eq!(in_text, in_html, "the same actions in both parts");
    for s in &in_html {
        assert!(s.starts_with(&format!("[{tag}]")), "{s}");
        assert!(s.ends_with(&format!("#{code}")), "{s}");
    }
    (text, html)
}

async fn open_case(stack: &MailStack, p: &People, svc: &Service) -> Received {
    stack
        .append(
            &p.service(),
            "INBOX",
            &notification(
                stack,
                p,
                "7001",
                "ЖКХ",
                "Анна Смирнова",
                "Во дворе дома 5 по ул. Ленина не вывозят мусор.",
                "",
            ),
        )
        .await;
    let m = stack
        .wait_for(&p.executor("housing"), "INBOX", |m| about(m, "OTK-1"), WAIT)
        .await;
    svc.wait_case(1, "assigned", |c| c.state == State::Assigned)
        .await;
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_parts_of_each_mail_say_the_same_and_the_rework_shows_what_changed() {
    let (stack, p, _dir, svc) = start_on_shared("mails", BARNAUL_ALWAYS).await;
    let forward = open_case(stack, &p, &svc).await;

    // The forward: the ask and the deadline first, in local time with working hours left.
    let (text, html) = same_facts(&forward, "OTK-1");
    assert!(
        text.starts_with("Ответьте на это письмо"),
        "the instruction first: {text}"
    );
    let second = text.lines().nth(1).unwrap_or("");
    assert!(
        second.starts_with("Подготовьте проект ответа автору — до ")
            && second.contains("осталось ")
            && second.contains(" рабочих ч"),
        "{second}"
    );
    assert!(html.contains("Подготовьте проект ответа автору"));
    for kw in ["ПРОМЕЖУТОЧНЫЙ", "УТОЧНЕНИЕ", "НЕ МОЯ КОМПЕТЕНЦИЯ"]
    {
        assert!(html.contains(&format!(">{kw}</a>")), "button {kw}");
    }
    let date = forward.header("Date").expect("Date header");
    assert!(
        date.ends_with("+0700"),
        "Date in the service's zone: {date}"
    );
    assert!(
        forward
            .raw
            .windows(21)
            .any(|w| w == b"multipart/alternative")
    );

    // Draft, returned with comments, reworked.
    let returned_text = "Здравствуйте, Анна! Мусор вывезут завтра утром.";
    stack
        .reply(&p.executor("housing"), &forward, returned_text)
        .await;
    let approval = mail_about(stack, &p.coordinator(), "OTK-1", "На согласование").await;
    let (text, html) = same_facts(&approval, "OTK-1");
    assert!(text.starts_with(
        "Ответьте на это письмо: первая строка — СОГЛАСОВАНО или ДОРАБОТАТЬ и замечания."
    ));
    assert!(
        !html.contains("<del"),
        "nothing to compare in the first round"
    );
    svc.wait_case(1, "draft_submitted", |c| c.state == State::DraftSubmitted)
        .await;
    let comments = "Укажите время вывоза и телефон диспетчерской.";
    stack
        .reply(
            &p.coordinator(),
            &approval,
            &format!("ДОРАБОТАТЬ\n{comments}"),
        )
        .await;
    let returned = mail_about(
        stack,
        &p.executor("housing"),
        "OTK-1",
        "Возвращено на доработку",
    )
    .await;
    let (text, _) = same_facts(&returned, "OTK-1");
    assert!(text.contains(comments));
    svc.wait_case(1, "rework", |c| c.state == State::Rework)
        .await;
    let reworked = "Здравствуйте, Анна! Мусор вывезут сегодня до 18:00. Диспетчерская: 2-22-22.";
    stack
        .reply(&p.executor("housing"), &returned, reworked)
        .await;
    let approval2 = stack
        .wait_for(
            &p.coordinator(),
            "INBOX",
            |m| {
                about(m, "OTK-1")
                    && m.subject.contains("На согласование")
                    && m.text.contains("2-22-22")
            },
            WAIT,
        )
        .await;
    let (text, html) = same_facts(&approval2, "OTK-1");
    assert!(
        text.contains("[-завтра утром.-]{+сегодня до 18:00. Диспетчерская: 2-22-22.+}"),
        "{text}"
    );
    assert!(html.contains("завтра утром.</del>"), "{html}");
    assert!(
        html.contains("сегодня до 18:00. Диспетчерская: 2-22-22.</ins>"),
        "{html}"
    );
    assert!(text.contains(comments) && html.contains(comments));

    // Approved: the executor is asked to post it, with the ОПУБЛИКОВАНО button.
    stack
        .reply(&p.coordinator(), &approval2, "СОГЛАСОВАНО")
        .await;
    let approved = mail_about(stack, &p.executor("housing"), "OTK-1", "] Согласовано:").await;
    let (text, html) = same_facts(&approved, "OTK-1");
    assert!(text.contains(reworked) && html.contains(reworked));
    assert!(html.contains(">ОПУБЛИКОВАНО</a>"));
    svc.wait_case(1, "approved", |c| c.state == State::Approved)
        .await;
    svc.stop().await;
}
