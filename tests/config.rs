//! Config loading and check-config problems (docs/configuration.md).

use std::path::PathBuf;

use otklik_core::calendar::{Offset, WorkDuration};
use otklik_core::config::{
    Config, ConfigError, DeadlineKind, Language, NotifyTarget, Problem, SecretCheck, TlsMode,
};

use otklik::config;

const EXAMPLE: &str = include_str!("../config/otklik.toml");

/// The smallest useful config: everything with a default is left out.
const MINIMAL: &str = r#"[imap]
host = "imap.example.ru"
username = "incidents@example.ru"
password_file = "imap-password"

[smtp]
host = "smtp.example.ru"
from = "incidents@example.ru"

[calendar]
timezone = "Asia/Barnaul"

[people]
coordinator = { name = "Балакирева О.В.", email = "Balakireva@example.ru" }

[[executors]]
id = "housing"
name = "Шишова Татьяна Михайловна"
email = "shishova@example.ru"

[intake]
senders = ["*@monitoring.example"]
"#;

/// A temp dir holding `otklik.toml` with `text`, a dummy lexicon and the IMAP password file.
fn setup(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("exclude-words.txt"),
        "# test lexicon\nдурак\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("imap-password"), "imap-secret\n").unwrap();
    let path = dir.path().join("otklik.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

fn no_env(_: &str) -> Option<String> {
    None
}

fn load_text(text: &str) -> Result<Config, ConfigError> {
    let (_dir, path) = setup(text);
    config::load_env(&path, SecretCheck::Lenient, &no_env)
}

fn problems(text: &str) -> Vec<Problem> {
    match load_text(text) {
        Ok(_) => panic!("config was accepted:\n{text}"),
        Err(e) => e.problems,
    }
}

fn with(extra: &str) -> String {
    format!("{MINIMAL}\n{extra}")
}

/// The problem for `key`; fails with the whole list when there is none.
fn find<'a>(ps: &'a [Problem], key: &str) -> &'a Problem {
    ps.iter()
        .find(|p| p.key == key)
        .unwrap_or_else(|| panic!("no problem for {key}; got:\n{}", show(ps)))
}

fn show(ps: &[Problem]) -> String {
    ps.iter().map(|p| format!("{p}\n")).collect()
}

/// Exactly one problem, for `key`, at `line:col`; returns its message.
fn only(text: &str, key: &str, line: usize, col: usize) -> String {
    let ps = problems(text);
    assert_eq!(ps.len(), 1, "expected one problem, got:\n{}", show(&ps));
    let p = &ps[0];
    assert_eq!(
        (p.key.as_str(), p.line, p.col),
        (key, line, col),
        "wrong place: {p}"
    );
    p.message.clone()
}

/// Exactly one problem, for `key`; returns it.
fn one(text: &str, key: &str) -> Problem {
    let ps = problems(text);
    assert_eq!(ps.len(), 1, "expected one problem, got:\n{}", show(&ps));
    assert_eq!(ps[0].key, key, "wrong key: {}", ps[0]);
    ps[0].clone()
}

// ---------------------------------------------------------------- the example, defaults

#[test]
fn example_loads() {
    let (_dir, path) = setup(EXAMPLE);
    let env = |name: &str| match name {
        "OTKLIK_IMAP_PASSWORD" => Some("imap-secret".to_string()),
        "OTKLIK_SMTP_PASSWORD" => Some("smtp-secret".to_string()),
        _ => None,
    };
    let c = match config::load_env(&path, SecretCheck::Require, &env) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(c.executors.len(), 11);
    assert_eq!(c.imap.password.0, "imap-secret");
    assert_eq!(c.imap.port, 993);
    assert_eq!(c.smtp.port, 465);
    assert_eq!(c.smtp.username.as_deref(), Some("incidents@example.ru"));
    assert_eq!(
        c.smtp.password.as_ref().map(|s| s.0.as_str()),
        Some("smtp-secret")
    );
    assert_eq!(c.smtp.from.email, "incidents@example.ru");
    assert_eq!(
        c.smtp.from.name.as_deref(),
        Some("Обратная связь Администрации Волчихинского района")
    );
    assert_eq!(c.service.state_dir, PathBuf::from("/var/lib/otklik"));
    assert_eq!(c.people.coordinator.email, "balakireva@example.ru");
    assert!(c.people.supervisor.is_some());
    for id in [
        "economy",
        "housing",
        "affairs",
        "archive",
        "agro",
        "finance",
        "education",
        "culture",
        "legal",
        "sport",
        "emergency",
    ] {
        assert!(c.executor(id).is_some(), "executor {id}");
    }
    assert_eq!(
        c.executor_by_email("Shishova@Example.RU").unwrap().id,
        "housing"
    );
    // Every executor is known to the routing model (the example config's rules are a few
    // phrases; the rest is the model's).
    let known: Vec<&str> = c.routing.starter.model().executors().collect();
    for e in &c.executors {
        assert!(
            known.contains(&e.id.as_str()),
            "the model knows no {}",
            e.id
        );
    }
    assert!(!c.rules.is_empty());
    // The decree's ladder.
    let ladder: Vec<(DeadlineKind, String, Vec<NotifyTarget>)> = c
        .escalations
        .iter()
        .map(|e| (e.deadline, e.at.to_string(), e.notify.clone()))
        .collect();
    use NotifyTarget::*;
    assert_eq!(
        &ladder[..4],
        &[
            (DeadlineKind::Draft, "-2h".to_string(), vec![Executor]),
            (DeadlineKind::Draft, "0s".to_string(), vec![Coordinator]),
            (
                DeadlineKind::Answer,
                "-1h".to_string(),
                vec![Coordinator, Supervisor]
            ),
            (
                DeadlineKind::Answer,
                "0s".to_string(),
                vec![Coordinator, Supervisor]
            ),
        ]
    );
    // The decree has one 9-hour answer deadline for every post: the example leaves the
    // per-category section commented out.
    let high = c.deadlines.for_category(Some("Высокая"));
    assert_eq!(high.answer, WorkDuration::Seconds(9 * 3600));
    assert_eq!(high.draft_before_answer, WorkDuration::Seconds(4 * 3600));
    assert_eq!(high.rework, WorkDuration::Seconds(3600), "from [deadlines]");
    assert!(c.deadlines.categories.is_empty());
    assert_eq!(c.intake.source_timezone, chrono_tz::Europe::Moscow);
    assert_eq!(c.calendar.timezone(), chrono_tz::Asia::Barnaul);
}

/// The example's rules (and the routing model behind them) send the usual topics to the
/// competent executor.
#[test]
fn example_routes_usual_topics() {
    let c = load_text(EXAMPLE).unwrap();
    // The service's own decision: the example's rules first, then the routing model with
    // its starter corpus; `None` is a post left to the coordinator.
    let post = |topic: &str, text: &str| otklik_core::intake::Notification {
        source_id: None,
        topic: Some(topic.to_string()),
        location: None,
        category: None,
        source: None,
        link: None,
        author: None,
        detected_at: chrono::DateTime::UNIX_EPOCH,
        text: text.to_string(),
        repeat: false,
        attachments: vec![],
        warnings: vec![],
    };
    let route = |topic: &str, text: &str| -> Option<String> {
        otklik_core::routing::route(&c, None, &post(topic, text))
            .executor()
            .map(str::to_string)
    };
    // Left to the coordinator, her first one-click suggestion.
    let first_suggestion = |topic: &str, text: &str| -> Option<String> {
        otklik_core::routing::suggest(&c, None, &post(topic, text))
            .first()
            .map(|s| s.executor.clone())
    };
    for (topic, text, want) in [
        ("ЖКХ / Водоснабжение", "", "housing"),
        ("Дороги", "", "housing"),
        ("Благоустройство", "", "housing"),
        ("Мусор / ТКО", "", "housing"),
        ("Общественный транспорт", "", "housing"),
        ("Образование", "", "education"),
        ("Молодёжная политика", "", "education"),
        ("Культура", "", "culture"),
        ("Спорт", "", "sport"),
        ("ЧС / Пожары", "", "emergency"),
        ("Налоги", "", "finance"),
        ("Сельское хозяйство", "", "agro"),
        ("Экономика / Торговля", "", "economy"),
        ("Архив", "", "archive"),
        (
            "Прочее",
            "Третий день нет воды на улице Свердлова",
            "housing",
        ),
        ("Прочее", "Опять горит трава у села", "emergency"),
        ("Прочее", "Когда отремонтируют школу?", "education"),
        ("Прочее", "Нужна архивная справка о стаже", "archive"),
        ("Прочее", "Фермер продал скот", "agro"),
    ] {
        // Routed to the right executor, or left to the coordinator with the right one as
        // her first button (never to a wrong executor).
        match route(topic, text) {
            Some(got) => assert_eq!(got, want, "{topic} / {text}"),
            None => assert_eq!(
                first_suggestion(topic, text).as_deref(),
                Some(want),
                "{topic} / {text}: left to the coordinator"
            ),
        }
    }
    assert_eq!(route("Прочее", "Спасибо всем"), None);
    assert_eq!(route("Прочее", "Дорогие жители, поздравляем!"), None);
    // Roads are housing's: routed there, or left with housing as the first button.
    let road = "Когда починят дорогу на Бор?";
    assert!(
        route("Прочее", road).as_deref() == Some("housing")
            || (route("Прочее", road).is_none()
                && first_suggestion("Прочее", road).as_deref() == Some("housing")),
        "{road}: {:?} / {:?}",
        route("Прочее", road),
        first_suggestion("Прочее", road)
    );
    // A topic alone is never routed by the model: the coordinator judges an empty post,
    // with the topic's executor as her first button when the topic says something.
    assert_eq!(route("Справочные вопросы", ""), None);
    assert_eq!(route("Правовые вопросы", ""), None);
    assert_eq!(
        first_suggestion("Правовые вопросы", "").as_deref(),
        Some("legal")
    );
}

#[test]
fn globs_fold_cyrillic_case() {
    let p = otklik_core::config::Pattern::new("ЖКХ*").unwrap();
    for v in ["ЖКХ / Водоснабжение", "жкх", " Жкх/отопление "] {
        assert!(p.is_match(v), "{v}");
    }
    assert!(!p.is_match("Дороги"));
    let p = otklik_core::config::Pattern::new("*дорог*").unwrap();
    assert!(p.is_match("ДОРОГИ И ТРАНСПОРТ"));
}

#[test]
fn defaults_are_applied() {
    let c = load_text(MINIMAL).unwrap();
    assert_eq!(c.service.state_dir, PathBuf::from("/var/lib/otklik"));
    assert_eq!(c.service.case_prefix, "OTK");
    assert_eq!(c.service.language, Language::Ru);
    assert_eq!(c.service.digest_at, None);
    assert_eq!(c.imap.tls, TlsMode::Implicit);
    assert_eq!(c.imap.port, 993);
    assert_eq!(c.imap.mailbox, "INBOX");
    assert_eq!(c.imap.processed_mailbox, "otklik/processed");
    assert_eq!(c.imap.rejected_mailbox, "otklik/rejected");
    assert_eq!(c.imap.poll_seconds, 60);
    assert_eq!(c.imap.max_message_size, 26_214_400);
    assert_eq!(c.smtp.tls, TlsMode::Implicit);
    assert_eq!(c.smtp.port, 465);
    assert_eq!(c.smtp.username, None);
    assert_eq!(c.smtp.password, None);
    assert_eq!(c.smtp.from.name, None);
    let d = c.deadlines.default;
    assert_eq!(d.answer, WorkDuration::Seconds(9 * 3600));
    assert_eq!(d.draft_before_answer, WorkDuration::Seconds(4 * 3600));
    assert_eq!(d.rework, WorkDuration::Seconds(3600));
    assert_eq!(d.final_after_interim, WorkDuration::Days(7));
    assert!(c.deadlines.categories.is_empty());
    assert_eq!(c.intake.repeat_window, chrono::Duration::days(30));
    assert_eq!(
        c.intake.source_timezone,
        chrono_tz::Asia::Barnaul,
        "the calendar's zone"
    );
    assert!(c.rules.is_empty() && c.escalations.is_empty());
    assert_eq!(c.people.coordinator.email, "balakireva@example.ru");
    assert!(c.people.supervisor.is_none() && c.people.publisher.is_none());
    let e = c.executor("housing").unwrap();
    assert_eq!(
        (e.position.as_str(), e.deputy.as_deref(), e.absent.len()),
        ("", None, 0)
    );
}

#[test]
fn ports_follow_tls() {
    let text = MINIMAL
        .replace(
            "host = \"imap.example.ru\"",
            "host = \"imap.example.ru\"\ntls = \"starttls\"",
        )
        .replace(
            "host = \"smtp.example.ru\"",
            "host = \"smtp.example.ru\"\ntls = \"starttls\"",
        );
    let c = load_text(&text).unwrap();
    assert_eq!((c.imap.port, c.smtp.port), (143, 587));
    let text = MINIMAL.replace(
        "host = \"smtp.example.ru\"",
        "host = \"127.0.0.1\"\ntls = \"none\"",
    );
    let c = load_text(&text).unwrap();
    assert_eq!((c.smtp.tls, c.smtp.port), (TlsMode::None, 25));
    let text = MINIMAL.replace(
        "host = \"smtp.example.ru\"",
        "host = \"smtp.example.ru\"\nport = 2525",
    );
    assert_eq!(load_text(&text).unwrap().smtp.port, 2525);
}

#[test]
fn categories_match_case_insensitively_in_cyrillic() {
    let c = load_text(&with(
        "[deadlines]\nanswer = \"8h\"\n\n[deadlines.categories.\"Высокая\"]\nanswer = \"5h\"\n\n\
         [deadlines.categories.\"СРЕДНЯЯ\"]\nrework = \"30m\"\n",
    ))
    .unwrap();
    let d = &c.deadlines;
    for name in ["Высокая", "высокая", "ВЫСОКАЯ", " вЫсОкАя "] {
        assert_eq!(
            d.for_category(Some(name)).answer,
            WorkDuration::Seconds(5 * 3600)
        );
    }
    let mid = d.for_category(Some("средняя"));
    assert_eq!(mid.rework, WorkDuration::Seconds(1800));
    assert_eq!(
        mid.answer,
        WorkDuration::Seconds(8 * 3600),
        "from [deadlines]"
    );
    assert_eq!(d.for_category(Some("Низкая")), d.default);
    assert_eq!(d.for_category(None).answer, WorkDuration::Seconds(8 * 3600));
}

#[test]
fn secrets_never_printed() {
    let (dir, path) = setup(EXAMPLE);
    let env = |name: &str| match name {
        "OTKLIK_SMTP_PASSWORD" => Some("smtp-hunter2".to_string()),
        "OTKLIK_IMAP_PASSWORD" => Some("imap-secret".to_string()),
        _ => None,
    };
    let c = config::load_env(&path, SecretCheck::Require, &env).unwrap();
    assert_eq!(c.smtp.password.as_ref().unwrap().0, "smtp-hunter2");
    let dump = format!("{c:?} {:#?}", c);
    assert!(!dump.contains("imap-secret"), "IMAP password in Debug");
    assert!(!dump.contains("smtp-hunter2"), "SMTP password in Debug");
    drop(dir);
}

// ---------------------------------------------------------------- secrets

#[test]
fn password_file_prefers_systemd_credentials() {
    let (dir, path) = setup(MINIMAL);
    let creds = tempfile::tempdir().unwrap();
    std::fs::write(creds.path().join("imap-password"), "from-credstore\r\n").unwrap();
    let cred_dir = creds.path().to_string_lossy().into_owned();
    let env = move |name: &str| (name == "CREDENTIALS_DIRECTORY").then(|| cred_dir.clone());
    let c = config::load_env(&path, SecretCheck::Require, &env).unwrap();
    assert_eq!(c.imap.password.0, "from-credstore");

    // Not in the credentials folder: the config's folder.
    std::fs::remove_file(creds.path().join("imap-password")).unwrap();
    let c = config::load_env(&path, SecretCheck::Require, &env).unwrap();
    assert_eq!(c.imap.password.0, "imap-secret");

    // Nowhere: the problem names what was tried.
    std::fs::remove_file(dir.path().join("imap-password")).unwrap();
    let e = config::load_env(&path, SecretCheck::Require, &env).unwrap_err();
    assert_eq!(e.problems.len(), 1, "{e}");
    let p = &e.problems[0];
    assert_eq!(
        (p.key.as_str(), p.line, p.col),
        ("imap.password_file", 4, 17)
    );
    assert!(p.message.contains("CREDENTIALS_DIRECTORY"), "{p}");
}

#[test]
fn password_file_with_a_slash_is_a_path() {
    let (dir, _) = setup(MINIMAL);
    let sub = dir.path().join("secrets");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(sub.join("imap"), "two-lines\n\n").unwrap();
    let text = MINIMAL.replace("\"imap-password\"", "\"secrets/imap\"");
    let path = dir.path().join("other.toml");
    std::fs::write(&path, &text).unwrap();
    let c = config::load_env(&path, SecretCheck::Require, &no_env).unwrap();
    assert_eq!(c.imap.password.0, "two-lines\n", "only one newline trimmed");
}

#[test]
fn unreadable_password_file() {
    let text = MINIMAL.replace("\"imap-password\"", "\"/nonexistent/imap.pass\"");
    let msg = only(&text, "imap.password_file", 4, 17);
    assert!(msg.contains("/nonexistent/imap.pass"), "{msg}");
}

#[test]
fn password_env_require_and_lenient() {
    let text = MINIMAL.replace(
        "password_file = \"imap-password\"",
        "password_env = \"OTKLIK_TEST_IMAP_PASSWORD_UNSET\"",
    );
    let (_dir, path) = setup(&text);
    let c = config::load_env(&path, SecretCheck::Lenient, &no_env).unwrap();
    assert_eq!(c.imap.password.0, "");
    let e = config::load_env(&path, SecretCheck::Require, &no_env).unwrap_err();
    let p = &e.problems[0];
    assert_eq!(
        (p.key.as_str(), p.line, p.col),
        ("imap.password_env", 4, 16)
    );
    assert!(p.message.contains("OTKLIK_TEST_IMAP_PASSWORD_UNSET"), "{p}");
    let env = |n: &str| (n == "OTKLIK_TEST_IMAP_PASSWORD_UNSET").then(|| "pw".to_string());
    let c = config::load_env(&path, SecretCheck::Require, &env).unwrap();
    assert_eq!(c.imap.password.0, "pw");
}

#[test]
fn imap_needs_exactly_one_password_source() {
    let both = MINIMAL.replace(
        "password_file = \"imap-password\"",
        "password_file = \"imap-password\"\npassword_env = \"X\"",
    );
    only(&both, "imap.password_env", 5, 16);
    let neither = MINIMAL.replace("password_file = \"imap-password\"\n", "");
    only(&neither, "imap.password_file", 1, 1);
}

#[test]
fn smtp_username_needs_a_password_and_the_reverse() {
    let user_only = MINIMAL.replace(
        "host = \"smtp.example.ru\"",
        "host = \"smtp.example.ru\"\nusername = \"u@example.ru\"",
    );
    only(&user_only, "smtp.username", 8, 12);
    let pass_only = MINIMAL.replace(
        "host = \"smtp.example.ru\"",
        "host = \"smtp.example.ru\"\npassword_env = \"P\"",
    );
    only(&pass_only, "smtp.username", 8, 16);
}

// ---------------------------------------------------------------- file and TOML level

#[test]
fn missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.toml");
    let e = config::load(&path, SecretCheck::Lenient).unwrap_err();
    assert_eq!(e.problems.len(), 1);
    let p = &e.problems[0];
    assert_eq!((p.line, p.col, p.key.as_str()), (0, 0, ""));
    assert!(
        p.to_string()
            .starts_with(&format!("{}:0:0: -: ", path.display())),
        "{p}"
    );
}

#[test]
fn toml_syntax_error_has_its_place() {
    let ps = problems(&with("digest = = 1\n"));
    assert!(!ps.is_empty());
    assert_eq!((ps[0].line, ps[0].col), (24, 10), "{}", show(&ps));
    assert!(ps[0].message.starts_with("TOML syntax"), "{}", ps[0]);
}

#[test]
fn unknown_keys_everywhere() {
    only(&with("[servce]\nstate_dir = \"/x\"\n"), "servce", 24, 2);
    only(
        &with("[service]\nstate_dirr = \"/x\"\n"),
        "service.state_dirr",
        25,
        1,
    );
    let m = only(
        &with("[[executors]]\nid = \"x\"\nname = \"Иван\"\nemail = \"x@example.ru\"\nfoo = 1\n"),
        "executors[1].foo",
        28,
        1,
    );
    assert!(m.contains("unknown field `foo`"), "{m}");
    let coord = MINIMAL.replace("coordinator = { name", "coordinator = { nme = \"x\", name");
    only(&coord, "people.coordinator.nme", 14, 17);
    only(
        &with("[deadlines.categories.\"Высокая\"]\nanswr = \"4h\"\n"),
        "deadlines.categories.\"Высокая\".answr",
        25,
        1,
    );
    // A misspelt required key: the typo and the missing key, each at its place.
    let ps = problems(&with(
        "[[rules]]\ntopic = [\"ЖКХ*\"]\nexecutr = \"housing\"\n",
    ));
    assert_eq!(ps.len(), 2, "{}", show(&ps));
    let p = find(&ps, "rules[0].executr");
    assert_eq!((p.line, p.col), (26, 1));
    let p = find(&ps, "rules[0].executor");
    assert_eq!(
        (p.line, p.col, p.message.as_str()),
        (24, 1, "missing required key")
    );
}

#[test]
fn wrong_types() {
    let m = only(
        &with("[[escalations]]\ndeadline = 5\nat = \"-2h\"\nnotify = [\"executor\"]\n"),
        "escalations[0].deadline",
        25,
        12,
    );
    assert!(m.contains("expected a string"), "{m}");
    only(&with("[rules]\nexecutor = \"housing\"\n"), "rules", 24, 1);
}

#[test]
fn columns_count_characters_not_bytes() {
    // `topic = ["ЖКХ*", "` is 17 characters but 20 bytes before the bad glob's quote.
    only(
        &with("[[rules]]\ntopic = [\"ЖКХ*\", \"[ой\"]\nexecutor = \"housing\"\n"),
        "rules[0].topic[1]",
        25,
        18,
    );
    only(
        &with("[[rules]]\nname = \"Дороги\" ; x = 1\nexecutor = \"housing\"\n"),
        "",
        25,
        17,
    );
}

#[test]
fn all_problems_are_reported() {
    let text = MINIMAL
        .replace("timezone = \"Asia/Barnaul\"", "timezone = \"Asia/Barnul\"")
        .replace(
            "[calendar]",
            "[service]\ncase_prefix = \"otk\"\nlanguage = \"de\"\n\n[calendar]\nhours = [\"08:00-25:00\"]",
        )
        + "\n[[rules]]\ntopic = [\"[\"]\ntext = [\"(\"]\nexecutor = \"nobody\"\n";
    let ps = problems(&text);
    let keys: Vec<&str> = ps.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "service.case_prefix",
            "service.language",
            "calendar.hours[0]",
            "calendar.timezone",
            "rules[0].topic[0]",
            "rules[0].text[0]",
            "rules[0].executor",
        ],
        "{}",
        show(&ps)
    );
    // Sorted by place, each with its own.
    let places: Vec<(usize, usize)> = ps.iter().map(|p| (p.line, p.col)).collect();
    assert_eq!(
        places,
        [
            (11, 15),
            (12, 12),
            (15, 10),
            (16, 12),
            (30, 10),
            (31, 9),
            (32, 12)
        ]
    );
    let err = load_text(&text).unwrap_err().to_string();
    assert_eq!(err.lines().count(), 7, "{err}");
}

#[test]
fn missing_sections_and_keys() {
    let text = MINIMAL.replace(
        "[smtp]\nhost = \"smtp.example.ru\"\nfrom = \"incidents@example.ru\"\n",
        "",
    );
    only(&text, "smtp", 1, 1);
    let text = MINIMAL.replace("from = \"incidents@example.ru\"\n", "");
    only(&text, "smtp.from", 6, 1);
    let text = MINIMAL.replace("name = \"Шишова Татьяна Михайловна\"\n", "");
    only(&text, "executors[0].name", 16, 1);
}

// ---------------------------------------------------------------- executors and rules

#[test]
fn undefined_executor_in_rule() {
    let m = only(
        &with("[[rules]]\ntopic = [\"ЖКХ*\"]\nexecutor = \"nobody\"\n"),
        "rules[0].executor",
        26,
        12,
    );
    assert!(m.contains("nobody"), "{m}");
}

#[test]
fn duplicate_executor_id_and_email() {
    only(
        &with("[[executors]]\nid = \"housing\"\nname = \"Б\"\nemail = \"b@example.ru\"\n"),
        "executors[1].id",
        25,
        6,
    );
    let m = only(
        &with("[[executors]]\nid = \"other\"\nname = \"Б\"\nemail = \"Shishova@Example.ru\"\n"),
        "executors[1].email",
        27,
        9,
    );
    assert!(m.contains("executors[0]"), "{m}");
}

#[test]
fn executor_id_syntax() {
    one(
        &with("[[executors]]\nid = \"ЖКХ\"\nname = \"Б\"\nemail = \"b@example.ru\"\n"),
        "executors[1].id",
    );
}

#[test]
fn deputies() {
    let self_deputy = MINIMAL.replace(
        "email = \"shishova@example.ru\"",
        "email = \"shishova@example.ru\"\ndeputy = \"housing\"",
    );
    only(&self_deputy, "executors[0].deputy", 20, 10);
    let undefined = MINIMAL.replace(
        "email = \"shishova@example.ru\"",
        "email = \"shishova@example.ru\"\ndeputy = \"economy\"",
    );
    only(&undefined, "executors[0].deputy", 20, 10);
    let ok = with("[[executors]]\nid = \"economy\"\nname = \"Н\"\nemail = \"n@example.ru\"\n")
        .replace(
            "email = \"shishova@example.ru\"",
            "email = \"shishova@example.ru\"\ndeputy = \"economy\"",
        );
    let c = load_text(&ok).unwrap();
    assert_eq!(
        c.executor("housing").unwrap().deputy.as_deref(),
        Some("economy")
    );
}

#[test]
fn the_coordinators_deputy_and_absences() {
    let coord = "coordinator = { name = \"Балакирева О.В.\", email = \"Balakireva@example.ru\" }";
    let set = |extra: &str| {
        MINIMAL.replace(
            coord,
            &format!(
                "coordinator = {{ name = \"Балакирева О.В.\", email = \"Balakireva@example.ru\"{extra} }}"
            ),
        )
    };
    let by_id = load_text(&set(
        ", deputy = \"housing\", absent = [\"2026-12-14..2026-12-25\"]",
    ))
    .unwrap();
    let d = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    assert_eq!(by_id.people.coordinator.deputy.as_deref(), Some("housing"));
    assert_eq!(
        by_id.people.coordinator.absent,
        [(d("2026-12-14"), d("2026-12-25"))]
    );
    assert_eq!(
        by_id.coordinator_deputy().as_deref(),
        Some("shishova@example.ru")
    );
    let by_address = load_text(&set(", deputy = \"Zam@Example.ru\"")).unwrap();
    assert_eq!(
        by_address.coordinator_deputy().as_deref(),
        Some("zam@example.ru")
    );
    one(&set(", deputy = \"economy\""), "people.coordinator.deputy");
    one(&set(", deputy = \"Зам\""), "people.coordinator.deputy");
    one(
        &set(", absent = [\"2026-12-25..2026-12-14\"]"),
        "people.coordinator.absent[0]",
    );
    let supervisor = MINIMAL.replace(
        coord,
        &format!("{coord}\nsupervisor = {{ name = \"Ш\", email = \"s@example.ru\", deputy = \"housing\" }}"),
    );
    one(&supervisor, "people.supervisor.deputy");
}

#[test]
fn absences() {
    let text = MINIMAL.replace(
        "email = \"shishova@example.ru\"",
        "email = \"shishova@example.ru\"\nabsent = [\"2026-12-14..2026-12-25\", \"2027-01-09\"]",
    );
    let c = load_text(&text).unwrap();
    let d = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    assert_eq!(
        c.executor("housing").unwrap().absent,
        [
            (d("2026-12-14"), d("2026-12-25")),
            (d("2027-01-09"), d("2027-01-09"))
        ]
    );
    let backwards = MINIMAL.replace(
        "email = \"shishova@example.ru\"",
        "email = \"shishova@example.ru\"\nabsent = [\"2026-12-25..2026-12-14\"]",
    );
    only(&backwards, "executors[0].absent[0]", 20, 11);
    let bad = MINIMAL.replace(
        "email = \"shishova@example.ru\"",
        "email = \"shishova@example.ru\"\nabsent = [\"2026-12-01\", \"14.12.2026..25.12.2026\"]",
    );
    only(&bad, "executors[0].absent[1]", 20, 25);
}

#[test]
fn invalid_glob_and_regex() {
    let m = only(
        &with("[[rules]]\ncategory = [\"{Высокая\"]\nexecutor = \"housing\"\n"),
        "rules[0].category[0]",
        25,
        13,
    );
    assert!(m.contains("glob"), "{m}");
    let m = only(
        &with("[[rules]]\ntext = ['(?i)водопровод(']\nexecutor = \"housing\"\n"),
        "rules[0].text[0]",
        25,
        9,
    );
    assert!(m.contains("regular expression") && !m.contains('\n'), "{m}");
}

// ---------------------------------------------------------------- calendar

#[test]
fn calendar_values() {
    let cal = |line: &str| MINIMAL.replace("[calendar]\n", &format!("[calendar]\n{line}\n"));
    only(
        &cal("hours = [\"08:00-12:00\", \"13:00-25:00\"]"),
        "calendar.hours[1]",
        11,
        25,
    );
    only(
        &cal("hours = [\"08:00-12:00\", \"11:00-17:00\"]"),
        "calendar.hours[1]",
        11,
        25,
    );
    only(&cal("hours = []"), "calendar.hours", 11, 9);
    only(
        &cal("holidays = [\"2026-13-01\"]"),
        "calendar.holidays[0]",
        11,
        13,
    );
    only(
        &cal("working_days = [\"2026-1-1\"]"),
        "calendar.working_days[0]",
        11,
        17,
    );
    only(
        &cal("shortened_days = [\"31.12.2026\"]"),
        "calendar.shortened_days[0]",
        11,
        19,
    );
    only(
        &cal("workdays = [\"mon\", \"mnd\"]"),
        "calendar.workdays[1]",
        11,
        20,
    );
    only(&cal("preset = \"rus\""), "calendar.preset", 11, 10);
    let m = only(
        &MINIMAL.replace("Asia/Barnaul", "Asia/Barnul"),
        "calendar.timezone",
        11,
        12,
    );
    assert!(m.contains("Asia/Barnul"), "{m}");
    let c = load_text(&cal("hours = [\"00:00-24:00\"]\nworkdays = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\", \"sat\", \"sun\"]")).unwrap();
    assert_eq!(c.calendar.timezone(), chrono_tz::Asia::Barnaul);
}

// ---------------------------------------------------------------- durations, deadlines

#[test]
fn durations_and_offsets() {
    let dl = |body: &str| with(&format!("[deadlines]\n{body}\n"));
    let m = only(&dl("answer = \"9x\""), "deadlines.answer", 25, 10);
    assert!(m.contains("9x"), "{m}");
    let m = only(&dl("rework = \"1d4h\""), "deadlines.rework", 25, 10);
    assert!(m.contains("do not mix"), "{m}");
    only(
        &dl("draft_before_answer = \"1d\""),
        "deadlines.draft_before_answer",
        25,
        23,
    );
    only(&dl("answer = \"3h\""), "deadlines.answer", 25, 10);
    only(&dl("answer = \"0h\""), "deadlines.answer", 25, 10);
    let esc = |at: &str| {
        with(&format!(
            "[[escalations]]\ndeadline = \"draft\"\nat = \"{at}\"\nnotify = [\"executor\"]\n"
        ))
    };
    only(&esc("2x"), "escalations[0].at", 26, 6);
    only(&esc("-1d"), "escalations[0].at", 26, 6);
    let c = load_text(&esc("+1h30m")).unwrap();
    assert_eq!(
        c.escalations[0].at,
        Offset {
            negative: false,
            amount: WorkDuration::Seconds(5400)
        }
    );
    only(
        &with("[[escalations]]\ndeadline = \"drafts\"\nat = \"0h\"\nnotify = [\"executor\"]\n"),
        "escalations[0].deadline",
        25,
        12,
    );
}

#[test]
fn duplicate_category_case_insensitive() {
    only(
        &with(
            "[deadlines.categories.\"Высокая\"]\nanswer = \"4h\"\n\
             [deadlines.categories.\"ВЫСОКАЯ\"]\nanswer = \"5h\"\n",
        ),
        "deadlines.categories.\"Высокая\"",
        24,
        23,
    );
}

// ---------------------------------------------------------------- service, servers

#[test]
fn service_values() {
    let svc = |line: &str| with(&format!("[service]\n{line}\n"));
    for bad in ["otk", "O", "OTK12345678", "ОТК", "1OTK"] {
        only(
            &svc(&format!("case_prefix = \"{bad}\"")),
            "service.case_prefix",
            25,
            15,
        );
    }
    for good in ["OT", "VOLCH2026", "A123456789"] {
        let c = load_text(&svc(&format!("case_prefix = \"{good}\""))).unwrap();
        assert_eq!(c.service.case_prefix, good);
    }
    only(&svc("language = \"de\""), "service.language", 25, 12);
    only(&svc("digest_at = \"25:00\""), "service.digest_at", 25, 13);
    let c = load_text(&svc("digest_at = \"08:30\"\nlanguage = \"en\"")).unwrap();
    assert_eq!(
        c.service.digest_at,
        chrono::NaiveTime::from_hms_opt(8, 30, 0)
    );
    assert_eq!(c.service.language, Language::En);
}

#[test]
fn retention_is_whole_days_and_400_by_default() {
    let svc = |line: &str| with(&format!("[service]\n{line}\n"));
    let c = load_text(&svc("language = \"ru\"")).unwrap();
    assert_eq!(c.service.retention, chrono::Duration::days(400));
    let c = load_text(&svc("retention = \"90d\"")).unwrap();
    assert_eq!(c.service.retention, chrono::Duration::days(90));
    for bad in ["0d", "2400h", "1y", "", "5000000000d"] {
        let msg = only(
            &svc(&format!("retention = \"{bad}\"")),
            "service.retention",
            25,
            13,
        );
        assert!(!msg.is_empty(), "{bad:?}");
    }
}

#[test]
fn relative_state_dir_is_beside_the_config() {
    let (dir, path) = setup(&with("[service]\nstate_dir = \"state\"\n"));
    let c = config::load_env(&path, SecretCheck::Lenient, &no_env).unwrap();
    assert_eq!(c.service.state_dir, dir.path().join("state"));
}

#[test]
fn tls_modes() {
    let imap = |lines: &str| MINIMAL.replace("host = \"imap.example.ru\"", lines);
    only(
        &imap("host = \"imap.example.ru\"\ntls = \"ssl\""),
        "imap.tls",
        3,
        7,
    );
    let m = only(
        &imap("host = \"imap.example.ru\"\ntls = \"none\""),
        "imap.tls",
        3,
        7,
    );
    assert!(m.contains("loopback"), "{m}");
    only(
        &imap("host = \"10.0.0.1\"\ntls = \"none\""),
        "imap.tls",
        3,
        7,
    );
    for host in [
        "localhost",
        "LOCALHOST",
        "127.0.0.1",
        "127.1.2.3",
        "::1",
        "[::1]",
    ] {
        let c = load_text(&imap(&format!("host = \"{host}\"\ntls = \"none\""))).unwrap();
        assert_eq!((c.imap.tls, c.imap.port), (TlsMode::None, 143), "{host}");
    }
    only(
        &imap("host = \"imap.example.ru\"\nport = 0"),
        "imap.port",
        3,
        8,
    );
    only(
        &imap("host = \"imap.example.ru\"\nport = 70000"),
        "imap.port",
        3,
        8,
    );
    only(
        &imap("host = \"imap.example.ru\"\npoll_seconds = 0"),
        "imap.poll_seconds",
        3,
        16,
    );
}

#[test]
fn imap_max_message_size_is_a_size() {
    let imap = |line: &str| {
        MINIMAL.replace(
            "host = \"imap.example.ru\"",
            &format!("host = \"imap.example.ru\"\n{line}"),
        )
    };
    let c = load_text(&imap("max_message_size = 1048576")).unwrap();
    assert_eq!(c.imap.max_message_size, 1_048_576);
    for (text, bytes) in [
        ("\"25MB\"", 26_214_400),
        ("\"500 KB\"", 512_000),
        ("\"1GiB\"", 1 << 30),
        ("\"4096\"", 4096),
    ] {
        let c = load_text(&imap(&format!("max_message_size = {text}"))).unwrap();
        assert_eq!(c.imap.max_message_size, bytes, "{text}");
    }
    for bad in ["0", "-5", "\"25 parsecs\"", "\"0MB\"", "\"\""] {
        let m = only(
            &imap(&format!("max_message_size = {bad}")),
            "imap.max_message_size",
            3,
            20,
        );
        assert!(m.contains("above zero"), "{bad}: {m}");
    }
}

#[test]
fn from_must_be_an_address() {
    let text = MINIMAL.replace(
        "from = \"incidents@example.ru\"",
        "from = \"Обратная связь\"",
    );
    only(&text, "smtp.from", 8, 8);
    let text = MINIMAL.replace(
        "from = \"incidents@example.ru\"",
        "from = \"Обратная связь <incidents@example.ru\"",
    );
    only(&text, "smtp.from", 8, 8);
    let text = MINIMAL.replace(
        "from = \"incidents@example.ru\"",
        "from = '\"Связь, отдел\" <Incidents@Example.ru>'",
    );
    let c = load_text(&text).unwrap();
    assert_eq!(c.smtp.from.name.as_deref(), Some("Связь, отдел"));
    assert_eq!(c.smtp.from.email, "incidents@example.ru");
}

// ---------------------------------------------------------------- people, escalations

#[test]
fn people_emails() {
    let text = MINIMAL.replace("\"Balakireva@example.ru\"", "\"balakireva\"");
    only(&text, "people.coordinator.email", 14, 51);
    let m = only(&with("[people]\n"), "people", 24, 2);
    assert!(m.contains("duplicate"), "{m}");
    let no_coordinator = MINIMAL.replace(
        "coordinator = { name = \"Балакирева О.В.\", email = \"Balakireva@example.ru\" }\n",
        "",
    );
    only(&no_coordinator, "people.coordinator", 13, 1);
    let text = MINIMAL.replace("[people]\n", "[people]\npublisher = \"smm\"\n");
    only(&text, "people.publisher", 14, 13);
}

#[test]
fn notify_targets() {
    let esc = |notify: &str| {
        with(&format!(
            "[[escalations]]\ndeadline = \"answer\"\nat = \"-1h\"\nnotify = [{notify}]\n"
        ))
    };
    let m = only(
        &esc("\"coordinator\", \"boss\""),
        "escalations[0].notify[1]",
        27,
        26,
    );
    assert!(m.contains("neither a role"), "{m}");
    let m = only(&esc("\"supervisor\""), "escalations[0].notify[0]", 27, 11);
    assert!(m.contains("supervisor"), "{m}");
    only(&esc(""), "escalations[0].notify", 27, 10);
    let c = load_text(&esc("\"Executor\", \"Control@Example.ru\"")).unwrap();
    assert_eq!(
        c.escalations[0].notify,
        [
            NotifyTarget::Executor,
            NotifyTarget::Email("control@example.ru".into())
        ]
    );
    let with_supervisor = esc("\"supervisor\"").replace(
        "[people]\n",
        "[people]\nsupervisor = { name = \"Шевич Н.А.\", email = \"shevich@example.ru\" }\n",
    );
    let c = load_text(&with_supervisor).unwrap();
    assert_eq!(c.escalations[0].notify, [NotifyTarget::Supervisor]);
}

// ---------------------------------------------------------------- intake

#[test]
fn intake_values() {
    let senders_empty = MINIMAL.replace("senders = [\"*@monitoring.example\"]", "senders = []");
    only(&senders_empty, "intake.senders", 22, 11);
    let no_senders = MINIMAL.replace("senders = [\"*@monitoring.example\"]", "");
    only(&no_senders, "intake.senders", 21, 1);
    let intake = |line: &str| MINIMAL.replace("[intake]\n", &format!("[intake]\n{line}\n"));
    only(
        &intake("repeat_window = \"30h\""),
        "intake.repeat_window",
        22,
        17,
    );
    only(
        &intake("source_timezone = \"MSK\""),
        "intake.source_timezone",
        22,
        19,
    );
    let m = only(
        &intake("exclude_words_file = \"missing-words.txt\""),
        "intake.exclude_words_file",
        22,
        22,
    );
    assert!(m.contains("missing-words.txt"), "{m}");
    let c = load_text(&intake(
        "exclude_words_file = \"exclude-words.txt\"\nrepeat_window = \"14d\"\nsource_timezone = \"Europe/Moscow\"",
    ))
    .unwrap();
    assert_eq!(c.intake.repeat_window, chrono::Duration::days(14));
    assert_eq!(c.intake.source_timezone, chrono_tz::Europe::Moscow);
    assert!(c.intake.senders[0].is_match("noreply@Monitoring.Example"));
    assert!(!c.intake.senders[0].is_match("spam@example.com"));
}

#[test]
fn sender_trust_keys() {
    let intake = |line: &str| MINIMAL.replace("[intake]\n", &format!("[intake]\n{line}\n"));
    let c = load_text(MINIMAL).unwrap();
    assert_eq!(
        c.intake.trusted_authserv_id, None,
        "no header proves anything by default"
    );
    assert!(c.intake.link_hosts.iter().any(|h| h == "vk.com"));
    assert!(c.intake.link_hosts.iter().any(|h| h == "t.me"));
    let c = load_text(&intake(
        "trusted_authserv_id = \" mx.volchiha.example \"\nlink_hosts = [\"VK.com\", \"ok.ru.\"]",
    ))
    .unwrap();
    assert_eq!(
        c.intake.trusted_authserv_id.as_deref(),
        Some("mx.volchiha.example")
    );
    assert_eq!(c.intake.link_hosts, ["vk.com", "ok.ru"]);
    one(
        &intake("trusted_authserv_id = \"mx; dkim=pass\""),
        "intake.trusted_authserv_id",
    );
    one(
        &intake("trusted_authserv_id = \"\""),
        "intake.trusted_authserv_id",
    );
    one(
        &intake("link_hosts = [\"vk.com\", \"https://evil.example/\"]"),
        "intake.link_hosts[1]",
    );
}

#[test]
fn label_keys_are_field_names() {
    let m = only(
        &with("[intake.labels]\ntopik = [\"Направление\"]\n"),
        "intake.labels.topik",
        25,
        1,
    );
    assert!(m.contains("source_id"), "{m}");
    load_text(&with(
        "[intake.labels]\ntopic = [\"Направление\"]\ndetected_at = [\"Когда\"]\n",
    ))
    .unwrap();
}

#[test]
fn load_str_uses_the_given_path_in_messages() {
    let e = config::load_str(
        "[imap\n",
        std::path::Path::new("/etc/otklik/x.toml"),
        SecretCheck::Lenient,
    )
    .unwrap_err();
    assert!(e.to_string().starts_with("/etc/otklik/x.toml:1:"), "{e}");
}

#[test]
fn empty_file_names_every_required_section() {
    let ps = problems("# nothing yet\n");
    for section in ["imap", "smtp", "calendar", "people", "intake"] {
        let p = find(&ps, section);
        assert!(p.message.contains("missing required section"), "{p}");
    }
    assert_eq!(ps.len(), 5, "{}", show(&ps));
}

/// A section that fails to deserialize is reported once, not also as missing, and does not
/// make its dependants fail (a supervisor-less ladder because [people] was unreadable).
#[test]
fn broken_section_is_not_also_missing() {
    let text = MINIMAL.replace("[people]\n", "[people]\nsupervisor = \"Шевич Н.А.\"\n")
        + "\n[[escalations]]\ndeadline = \"answer\"\nat = \"0h\"\nnotify = [\"supervisor\"]\n";
    let ps = problems(&text);
    assert_eq!(ps.len(), 1, "{}", show(&ps));
    assert_eq!(find(&ps, "people.supervisor").line, 14);
    // Not a table at all: reported as such, not as missing.
    let text = format!("people = 5\n{}", MINIMAL.replace("[people]\n", "[peop]\n"));
    let ps = problems(&text);
    let keys: Vec<&str> = ps.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, ["people", "peop"], "{}", show(&ps));
}

/// A broken `[[executors]]` entry is reported; rules naming its id are not reported on top.
#[test]
fn broken_executor_entry_keeps_its_id() {
    let text = with(
        "[[executors]]\nid = \"economy\"\nname = \"Н\"\nemail = \"n@example.ru\"\nphone = 1\n\n\
         [[rules]]\ntopic = [\"Экономика\"]\nexecutor = \"economy\"\n",
    );
    let ps = problems(&text);
    assert_eq!(ps.len(), 1, "{}", show(&ps));
    find(&ps, "executors[1].phone");
}

#[test]
fn byte_order_mark_is_ignored() {
    let text = format!("\u{feff}{MINIMAL}");
    load_text(&text).unwrap();
    let ps = problems("\u{feff}[imapp]\nhots = 1\n");
    let p = find(&ps, "imapp");
    assert_eq!((p.line, p.col), (1, 2), "the mark is no column: {p}");
}

mod robustness {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

        /// Any damage to the example gives problems with real places (or still loads),
        /// never a panic.
        #[test]
        fn damaged_example_never_panics(start in 0usize..EXAMPLE.len(), len in 0usize..40, insert in "[=\\[\\]\"'a-zЖ0-9 \n.,{}#-]{0,6}") {
            let (_dir, path) = setup("");
            let mut at = start.min(EXAMPLE.len());
            while !EXAMPLE.is_char_boundary(at) { at -= 1; }
            let mut end = (at + len).min(EXAMPLE.len());
            while !EXAMPLE.is_char_boundary(end) { end -= 1; }
            let text = format!("{}{}{}", &EXAMPLE[..at], insert, &EXAMPLE[end..]);
            if let Err(e) = config::load_str_env(&text, &path, SecretCheck::Lenient, &no_env) {
                let lines = text.lines().count().max(1);
                prop_assert!(!e.problems.is_empty());
                for p in &e.problems {
                    prop_assert!(p.line >= 1 && p.line <= lines + 1, "{p}");
                    let width = text.lines().nth(p.line - 1).map(|l| l.chars().count()).unwrap_or(0);
                    prop_assert!(p.col >= 1 && p.col <= width + 1, "{p}");
                }
            }
        }

        /// Line and column agree with counting characters by hand.
        #[test]
        fn line_col_counts_characters(lines in proptest::collection::vec("[a-zа-яё =\"]{0,12}", 1..6), pick in 0usize..1000) {
            let text = lines.join("\n");
            let chars: Vec<(usize, char)> = text.char_indices().collect();
            let (offset, want) = if chars.is_empty() {
                (0, (1, 1))
            } else {
                let i = pick % chars.len();
                let before: String = chars[..i].iter().map(|(_, c)| c).collect();
                let line = before.matches('\n').count() + 1;
                let col = before.rsplit('\n').next().unwrap().chars().count() + 1;
                (chars[i].0, (line, col))
            };
            prop_assert_eq!(otklik_core::config::line_col(&text, offset), want);
        }
    }
}

/// `tests/data/config/broken.toml` holds one of nearly every mistake; the report is
/// exactly `broken.expected` (with `{path}` for the file's path).
#[test]
fn broken_file_report() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/config");
    let path = dir.join("broken.toml");
    let err = config::load_env(&path, SecretCheck::Require, &no_env).unwrap_err();
    let got = err
        .to_string()
        .replace(&path.display().to_string(), "{path}")
        + "\n";
    let want_file = dir.join("broken.expected");
    if std::env::var_os("OTKLIK_BLESS").is_some() {
        std::fs::write(&want_file, &got).unwrap();
    }
    let want = std::fs::read_to_string(&want_file).unwrap();
    assert_eq!(got, want, "\n--- got ---\n{got}");
}

/// Every unknown key of a section is reported, and the rest of the section still checked.
#[test]
fn several_typos_in_one_section() {
    let text = with(
        "[service]\nstat_dir = \"/x\"\ncase_prefix = \"otk\"\nlangauge = \"ru\"\n\n\
         [[executors]]\nid = \"x\"\nname = \"Н\"\nmail = \"x@example.ru\"\nemail = \"x@example.ru\"\ndeputi = \"y\"\n\n\
         [deadlines.categories.\"Высокая\"]\nanswr = \"4h\"\ndraft_before_answer = \"5h\"\n",
    );
    // (answer falls back to 9h, so draft_before_answer = 5h is fine.)
    let ps = problems(&text);
    let keys: Vec<&str> = ps.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "service.stat_dir",
            "service.case_prefix",
            "service.langauge",
            "executors[1].mail",
            "executors[1].deputi",
            "deadlines.categories.\"Высокая\".answr",
        ],
        "{}",
        show(&ps)
    );
}

/// A value of the wrong type is reported once; the rest of its section is still checked
/// and the key is not reported as missing on top.
#[test]
fn wrong_type_does_not_hide_the_rest() {
    let text = MINIMAL
        .replace(
            "host = \"imap.example.ru\"",
            "host = 42\nport = \"993\"\ntls = \"ssl\"",
        )
        .replace(
            "senders = [\"*@monitoring.example\"]",
            "senders = \"*@monitoring.example\"\nrepeat_window = \"1h\"",
        )
        + "\n[[rules]]\ntopic = \"ЖКХ*\"\nexecutor = [\"housing\"]\ntext = ['(']\n\n\
           [calendar.extra]\nx = 1\n";
    let ps = problems(&text);
    let keys: Vec<(&str, usize, usize)> =
        ps.iter().map(|p| (p.key.as_str(), p.line, p.col)).collect();
    assert_eq!(
        keys,
        [
            ("imap.host", 2, 8),
            ("imap.port", 3, 8),
            ("imap.tls", 4, 7),
            ("intake.senders", 24, 11),
            ("intake.repeat_window", 25, 17),
            ("rules[0].topic", 28, 9),
            ("rules[0].executor", 29, 12),
            ("rules[0].text[0]", 30, 9),
            ("calendar.extra", 32, 11),
        ],
        "{}",
        show(&ps)
    );
}

#[test]
fn ca_file_must_hold_a_readable_pem_certificate() {
    let missing = MINIMAL.replace(
        "host = \"smtp.example.ru\"",
        "host = \"smtp.example.ru\"\nca_file = \"no-such-ca.pem\"",
    );
    assert!(
        one(&missing, "smtp.ca_file")
            .message
            .contains("no-such-ca.pem")
    );
    let not_pem = MINIMAL.replace(
        "password_file = \"imap-password\"",
        "password_file = \"imap-password\"\nca_file = \"imap-password\"",
    );
    assert!(
        one(&not_pem, "imap.ca_file")
            .message
            .contains("no PEM certificate")
    );
    let (dir, path) = setup(&MINIMAL.replace(
        "password_file = \"imap-password\"",
        "password_file = \"imap-password\"\nca_file = \"ca.pem\"",
    ));
    std::fs::write(
        dir.path().join("ca.pem"),
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let c = config::load_env(&path, SecretCheck::Lenient, &no_env).unwrap();
    assert_eq!(
        c.imap.ca_file,
        Some(dir.path().join("ca.pem")),
        "relative to the config's folder"
    );
}

#[test]
fn max_absence_is_calendar_days() {
    let svc = |line: &str| with(&format!("[service]\n{line}\n"));
    let c = load_text(&svc("max_absence = \"30d\"")).unwrap();
    assert_eq!(c.service.max_absence, chrono::Duration::days(30));
    let c = load_text(&svc("")).unwrap();
    assert_eq!(c.service.max_absence, chrono::Duration::days(90));
    only(&svc("max_absence = \"8h\""), "service.max_absence", 25, 15);
}

#[test]
fn smtp_connections_are_bounded() {
    let smtp = |line: &str| {
        MINIMAL.replace(
            "host = \"smtp.example.ru\"",
            &format!("host = \"smtp.example.ru\"\n{line}"),
        )
    };
    assert_eq!(load_text(MINIMAL).unwrap().smtp.connections, 4);
    for n in [1, 8, 32] {
        let c = load_text(&smtp(&format!("connections = {n}"))).unwrap();
        assert_eq!(c.smtp.connections, n);
    }
    for bad in ["0", "-1", "33", "1000"] {
        let m = one(&smtp(&format!("connections = {bad}")), "smtp.connections").message;
        assert!(m.contains("from 1 to 32"), "{bad}: {m}");
    }
}

/// The starter model is trained on first use, not at load: a `routing.starter_corpus` is
/// read and checked at load, its model is the one trained on that corpus, and a config's
/// clones share it. A config loaded again brings another model (the service trains its
/// routing model anew on it); the built-in corpus's model is shared by every config of the
/// same executors.
#[test]
fn the_starter_model_is_trained_on_first_use() {
    use otklik_core::classifier::{Example, Model, parse_corpus};
    use std::sync::Arc;
    let corpus = "housing\tЖКХ\tНет горячей воды в доме\nhousing\tЖКХ\tПрорвало трубу в подвале\n";
    let (dir, path) = setup(&with("[routing]\nstarter_corpus = \"starter.tsv\"\n"));
    std::fs::write(dir.path().join("starter.tsv"), corpus).unwrap();
    let c = config::load_env(&path, SecretCheck::Lenient, &no_env).unwrap();
    assert!(!c.routing.starter.is_trained(), "trained at load");
    let copy = c.clone();
    let model = c.routing.starter.model().clone();
    assert!(copy.routing.starter.is_trained());
    assert!(Arc::ptr_eq(&model, copy.routing.starter.model()));
    let direct = Model::train(&parse_corpus(corpus).unwrap());
    assert_eq!(format!("{direct:?}"), format!("{model:?}"));
    let post = Example::new("ЖКХ", "Нет воды");
    assert_eq!(direct.predict(&post, 3), model.predict(&post, 3));
    let again = config::load_env(&path, SecretCheck::Lenient, &no_env).unwrap();
    assert!(!Arc::ptr_eq(&model, again.routing.starter.model()));
    let (a, b) = (load_text(MINIMAL).unwrap(), load_text(MINIMAL).unwrap());
    assert!(Arc::ptr_eq(
        a.routing.starter.model(),
        b.routing.starter.model()
    ));
}
