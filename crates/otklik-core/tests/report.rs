//! The per-executor report (clause 13; `otklik report`): hand-built cases through
//! the real workflow, counted, rated and timed in working hours (one decimal), and printed
//! as a table, CSV (BOM, `;` and decimal comma in Russian, `,` and point in English) and JSON.
mod fixtures;

use std::path::Path;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use otklik_core::config::{Config, SecretCheck};
use otklik_core::intake::Notification;
use otklik_core::report::{self, Row};
use otklik_core::routing::Absences;
use otklik_core::workflow::{self, Action, Case, Classification, Ctx, DraftKind, Event, Role};

fn config_text(language: &str, economy_name: &str) -> String {
    format!(
        r#"
[service]
case_prefix = "OTK"
language = "{language}"

[imap]
host = "imap.example.ru"
username = "incidents@example.ru"
password_env = "OTKLIK_REPORT_UNSET"

[smtp]
host = "smtp.example.ru"
from = "incidents@example.ru"

[calendar]
timezone = "Asia/Barnaul"
preset = "ru"
workdays = ["mon", "tue", "wed", "thu", "fri"]
hours = ["08:00-12:00", "13:00-17:00"]

[people]
coordinator = {{ name = "Координатор", email = "coord@example.ru" }}

[[executors]]
id = "housing"
name = "Шишова Татьяна Михайловна"
email = "housing@example.ru"

[[executors]]
id = "economy"
name = "{economy_name}"
email = "economy@example.ru"

[intake]
senders = ["*@monitoring.example"]
"#
    )
}

fn config(language: &str, economy_name: &str) -> Config {
    match fixtures::load_str(
        &config_text(language, economy_name),
        Path::new("/report/otklik.toml"),
        SecretCheck::Lenient,
    ) {
        Ok(c) => c,
        Err(e) => panic!("report config:\n{e}"),
    }
}

/// Barnaul local time (UTC+7) in 2026.
fn bar(mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Barnaul
        .with_ymd_and_hms(2026, mo, d, h, mi, 0)
        .single()
        .expect("unambiguous")
        .to_utc()
}

fn date(mo: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, mo, d).unwrap()
}

fn open(config: &Config, number: u64, at: DateTime<Utc>, class: Classification) -> Case {
    open_late(config, number, at, at, class)
}

/// A case whose post was detected at `at` but whose notification the service took in only
/// at `taken_in` (it was down, or the mail was delayed).
fn open_late(
    config: &Config,
    number: u64,
    at: DateTime<Utc>,
    taken_in: DateTime<Utc>,
    class: Classification,
) -> Case {
    let n = Notification {
        source_id: Some(format!("r-{number}")),
        topic: Some("ЖКХ".into()),
        location: Some("с. Волчиха".into()),
        category: None,
        source: None,
        link: Some(format!("https://vk.com/wall-1_{number}")),
        author: Some(format!("Автор {number}")),
        detected_at: at,
        text: "Нет воды".into(),
        repeat: false,
        attachments: Vec::new(),
        warnings: Vec::new(),
    };
    let absences = Absences::new();
    let ctx = Ctx {
        config,
        absences: &absences,
        now: taken_in,
    };
    workflow::open(number, n, class, ctx).case
}

fn routed(executor: &str) -> Classification {
    Classification::Routed {
        rule: "ЖКХ".into(),
        executor: executor.into(),
        repeat_unmatched: false,
    }
}

fn act(config: &Config, case: Case, at: DateTime<Utc>, role: Role, action: Action) -> Case {
    let from = match role {
        Role::Coordinator => "coord@example.ru".to_string(),
        _ => format!("{}@example.ru", case.executor.as_deref().unwrap_or("x")),
    };
    let absences = Absences::new();
    let ctx = Ctx {
        config,
        absences: &absences,
        now: at,
    };
    let out = workflow::apply(
        &case,
        Event::Reply {
            from,
            role,
            action,
            text: "Текст".into(),
            attachments: Vec::new(),
        },
        ctx,
    );
    assert!(out.accepted, "{:?}", out.notices);
    out.case
}

fn draft(config: &Config, case: Case, at: DateTime<Utc>) -> Case {
    act(
        config,
        case,
        at,
        Role::Executor,
        Action::Draft(DraftKind::Answer),
    )
}

fn approve(config: &Config, case: Case, at: DateTime<Utc>) -> Case {
    act(config, case, at, Role::Coordinator, Action::Approve)
}

/// The cases of the week of 2 Nov 2026 (Tue 3 Nov shortened to 16:00, Wed 4 Nov off).
fn cases(config: &Config) -> Vec<Case> {
    // H1, Mon 09:00: answer deadline Tue 10:00 (7h Mon + 2h Tue), draft deadline Mon 15:00.
    // Draft at Mon 11:00 (2.0 working h), approved Mon 14:00 (3h + 1h after lunch = 4.0 h).
    let h1 = open(config, 1, bar(11, 2, 9, 0), routed("housing"));
    let h1 = draft(config, h1, bar(11, 2, 11, 0));
    let h1 = approve(config, h1, bar(11, 2, 14, 0));
    // H2, Mon 13:00: answer deadline Tue 14:00, draft deadline Tue 10:00.
    // Draft Tue 15:30 (late: Mon 4h + Tue 4h + 2.5h = 10.5 h), approved Thu 09:00
    // (late: Mon 4h + Tue 7h, shortened + Thu 1h = 12.0 h).
    let h2 = open(config, 2, bar(11, 2, 13, 0), routed("housing"));
    let h2 = draft(config, h2, bar(11, 3, 15, 30));
    let h2 = approve(config, h2, bar(11, 5, 9, 0));
    // H3: assigned, then excluded by the coordinator (clause 12).
    let h3 = open(config, 3, bar(11, 2, 16, 0), routed("housing"));
    let h3 = act(
        config,
        h3,
        bar(11, 2, 16, 30),
        Role::Coordinator,
        Action::Exclude,
    );
    // H4, a repeat of OTK-1, Thu 10:00: answer deadline Fri 11:00; never answered.
    let h4 = open(
        config,
        4,
        bar(11, 5, 10, 0),
        Classification::Repeat {
            of: "OTK-1".into(),
            executor: Some("housing".into()),
            earlier_answer: None,
        },
    );
    // E1, Thu 08:00: draft 09:30 (1.5 h), approved 10:00 (2.0 h); deadlines Thu 14:00/Fri 09:00.
    let e1 = open(config, 5, bar(11, 5, 8, 0), routed("economy"));
    let e1 = draft(config, e1, bar(11, 5, 9, 30));
    let e1 = approve(config, e1, bar(11, 5, 10, 0));
    // E2, Fri 30 Oct: outside the report's dates.
    let e2 = open(config, 6, bar(10, 30, 10, 0), routed("economy"));
    // U1, detected on the holiday, no rule matched: answer deadline Fri 09:00; nobody holds it.
    let u1 = open(
        config,
        7,
        bar(11, 4, 10, 0),
        Classification::Unmatched {
            repeat_unmatched: false,
            suggestions: vec![],
        },
    );
    vec![h1, h2, h3, h4, e1, e2, u1]
}

fn report_time() -> DateTime<Utc> {
    bar(11, 6, 16, 0)
}

fn rows(config: &Config) -> Vec<Row> {
    report::build_at(
        config,
        &cases(config),
        date(11, 2),
        date(11, 6),
        Some(report_time()),
    )
}

#[test]
fn rows_count_rate_and_time_each_executor_in_working_hours() {
    let config = config("ru", "Попов Андрей");
    let rows = rows(&config);
    let expected = vec![
        Row {
            executor: "-".into(),
            name: String::new(),
            cases: 1,
            overdue: 1,
            // U1's draft deadline (Thu 14:00) passed with nobody holding it.
            draft_late: 1,
            ..Row::default()
        },
        Row {
            executor: "economy".into(),
            name: "Попов Андрей".into(),
            cases: 1,
            answered_on_time: 1,
            draft_on_time: 1,
            on_time_rate: Some(100.0),
            avg_hours_to_draft: Some(1.5),
            worst_hours_to_draft: Some(1.5),
            avg_hours_to_approval: Some(2.0),
            worst_hours_to_approval: Some(2.0),
            ..Row::default()
        },
        Row {
            executor: "housing".into(),
            name: "Шишова Татьяна Михайловна".into(),
            cases: 4,
            answered_on_time: 1,
            answered_late: 1,
            overdue: 1,
            draft_on_time: 1,
            on_time_rate: Some(50.0),
            // (2.0 + 10.5) / 2 = 6.25 → 6.3
            avg_hours_to_draft: Some(6.3),
            worst_hours_to_draft: Some(10.5),
            avg_hours_to_approval: Some(8.0),
            worst_hours_to_approval: Some(12.0),
            excluded: 1,
            repeats: 1,
            // H2's draft came Tue 15:30 (due 10:00); H4's (due Thu 16:00) is still owed.
            draft_late: 2,
            ..Row::default()
        },
    ];
    assert_eq!(rows, expected);
}

#[test]
fn without_a_report_time_unanswered_cases_are_pending() {
    let config = config("ru", "Попов Андрей");
    let rows = report::build(&config, &cases(&config), date(11, 2), date(11, 6));
    let pending: Vec<(String, u32, u32)> = rows
        .iter()
        .map(|r| (r.executor.clone(), r.pending, r.overdue))
        .collect();
    assert_eq!(
        pending,
        [
            ("-".to_string(), 1, 0),
            ("economy".to_string(), 0, 0),
            ("housing".to_string(), 1, 0)
        ]
    );
    // Before the answer deadline of H4 (Fri 11:00) it is pending, after it overdue.
    let at = |t| {
        report::build_at(&config, &cases(&config), date(11, 2), date(11, 6), Some(t))
            .into_iter()
            .find(|r| r.executor == "housing")
            .map(|r| (r.pending, r.overdue))
    };
    assert_eq!(at(bar(11, 6, 10, 59)), Some((1, 0)));
    assert_eq!(at(bar(11, 6, 11, 1)), Some((0, 1)));
}

#[test]
fn the_dates_select_by_local_detection_day() {
    let config = config("ru", "Попов Андрей");
    let all = cases(&config);
    // E2 (Fri 30 Oct) only.
    let rows = report::build(&config, &all, date(10, 30), date(10, 30));
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].executor.as_str(), rows[0].cases), ("economy", 1));
    // Nothing on the weekend.
    assert!(report::build(&config, &all, date(10, 31), date(11, 1)).is_empty());
}

#[test]
fn csv_in_russian_has_a_bom_semicolons_and_decimal_commas() {
    let config = config("ru", "Попов Андрей");
    let csv = report::csv(&config, &rows(&config));
    assert!(csv.starts_with('\u{feff}'), "no BOM");
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').split("\r\n").collect();
    assert_eq!(
        lines,
        [
            "Исполнитель;ФИО;Дел;Согласовано в срок;Согласовано с опозданием;В работе;Просрочено;Согласовано в срок, %;Проект в срок;Среднее до проекта, ч;Наибольшее до проекта, ч;Среднее до согласования, ч;Наибольшее до согласования, ч;Исключено (п. 12);Повторных;Размещено в срок;Размещено с опозданием;Размещено в срок, %;Доработка в срок (п. 8);Доработка с опозданием;Окончательный ответ в срок (п. 9);Окончательный ответ с опозданием;Поступило после срока;Проект с опозданием;Окончательный проект в срок (п. 9);Окончательный проект с опозданием;Закрыто без ответа",
            "-;;1;0;0;0;1;-;0;-;-;-;-;0;0;0;0;-;0;0;0;0;0;1;0;0;0",
            "economy;Попов Андрей;1;1;0;0;0;100,0;1;1,5;1,5;2,0;2,0;0;0;0;0;-;0;0;0;0;0;0;0;0;0",
            "housing;Шишова Татьяна Михайловна;4;1;1;0;1;50,0;1;6,3;10,5;8,0;12,0;1;1;0;0;-;0;0;0;0;0;2;0;0;0",
            "",
        ]
    );
}

#[test]
fn csv_in_english_uses_commas_points_and_quotes_what_needs_it() {
    let config = config("en", "Popov, Andrey \\\"Jr\\\"");
    let csv = report::csv(&config, &rows(&config));
    assert!(csv.starts_with('\u{feff}'));
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').split("\r\n").collect();
    assert!(lines[0].starts_with("executor,name,cases,"), "{}", lines[0]);
    assert_eq!(
        lines[2],
        "economy,\"Popov, Andrey \"\"Jr\"\"\",1,1,0,0,0,100.0,1,1.5,1.5,2.0,2.0,0,0,0,0,-,0,0,0,0,0,0,0,0,0"
    );
    assert_eq!(
        lines[3],
        "housing,Шишова Татьяна Михайловна,4,1,1,0,1,50.0,1,6.3,10.5,8.0,12.0,1,1,0,0,-,0,0,0,0,0,2,0,0,0"
    );
}

#[test]
fn json_is_an_array_of_rows_with_numbers_and_nulls() {
    let config = config("ru", "Попов Андрей");
    let json = report::json(&rows(&config));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 3);
    let housing = &arr[2];
    assert_eq!(housing["executor"], "housing");
    assert_eq!(housing["name"], "Шишова Татьяна Михайловна");
    assert_eq!(housing["cases"], 4);
    assert_eq!(housing["answered_on_time"], 1);
    assert_eq!(housing["answered_late"], 1);
    assert_eq!(housing["overdue"], 1);
    assert_eq!(housing["on_time_rate"], 50.0);
    assert_eq!(housing["avg_hours_to_draft"], 6.3);
    assert_eq!(housing["worst_hours_to_approval"], 12.0);
    assert_eq!(housing["repeats"], 1);
    assert!(arr[0]["on_time_rate"].is_null());
    assert!(arr[0]["avg_hours_to_draft"].is_null());
    let keys: Vec<&str> = housing
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    for k in [
        "executor",
        "name",
        "cases",
        "answered_on_time",
        "answered_late",
        "pending",
        "overdue",
        "draft_on_time",
        "on_time_rate",
        "avg_hours_to_draft",
        "worst_hours_to_draft",
        "avg_hours_to_approval",
        "worst_hours_to_approval",
        "excluded",
        "repeats",
        "arrived_late",
        "draft_late",
        "final_draft_on_time",
        "final_draft_late",
        "closed_unanswered",
        "closed_reasons",
    ] {
        assert!(keys.contains(&k), "no {k} in {keys:?}");
    }
}

#[test]
fn the_table_aligns_its_columns() {
    let config = config("ru", "Попов Андрей");
    let table = report::table(&config, &rows(&config));
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "{table}");
    assert!(lines[0].starts_with("executor  name"), "{}", lines[0]);
    assert!(lines[3].starts_with("housing   Шишова Татьяна Михайловна"));
    // The `cases` column starts at the same character in every line.
    let at = lines[0]
        .find("cases")
        .map(|b| lines[0][..b].chars().count())
        .unwrap();
    let cell = |l: &str| {
        l.chars()
            .skip(at)
            .take_while(|c| *c != ' ')
            .collect::<String>()
    };
    assert_eq!(
        lines.iter().map(|l| cell(l)).collect::<Vec<_>>(),
        ["cases", "1", "1", "4"],
        "{table}"
    );
    assert!(
        lines[3].contains("6.3") && lines[3].contains("10.5"),
        "{table}"
    );
}

#[test]
fn a_notification_taken_in_late_counts_toward_its_first_executor_and_is_counted() {
    let config = config("ru", "Попов Андрей");
    // Detected Mon 2 Nov 09:00 (draft due Mon 15:00, answer due Tue 10:00), but taken in
    // only on Thu 5 Nov 10:00: both deadlines had passed before anyone held the case.
    let late = open_late(
        &config,
        8,
        bar(11, 2, 9, 0),
        bar(11, 5, 10, 0),
        routed("housing"),
    );
    let late = draft(&config, late, bar(11, 5, 11, 0));
    let late = approve(&config, late, bar(11, 5, 12, 0));
    let on_time = open(&config, 9, bar(11, 2, 9, 0), routed("economy"));
    assert!(report::arrived_late(&late) && !report::arrived_late(&on_time));
    assert_eq!(
        report::holder_at(&late, bar(11, 3, 10, 0)).as_deref(),
        Some("housing"),
        "the deadline that fell before the first assignment counts toward that executor"
    );
    let rows = report::build_at(
        &config,
        &[late, on_time],
        date(11, 2),
        date(11, 6),
        Some(report_time()),
    );
    let who: Vec<&str> = rows.iter().map(|r| r.executor.as_str()).collect();
    assert_eq!(who, ["economy", "housing"], "nobody's row `-`: {rows:?}");
    let housing = &rows[1];
    assert_eq!(housing.answered_late, 1);
    assert_eq!(housing.arrived_late, 1);
    assert_eq!(rows[0].arrived_late, 0);
    assert_eq!(rows[0].overdue, 1);
}

fn row<'a>(rows: &'a [Row], executor: &str) -> &'a Row {
    rows.iter()
        .find(|r| r.executor == executor)
        .unwrap_or_else(|| panic!("no row {executor}: {rows:#?}"))
}

/// Clause 9: an interim answer approved Mon 2 Nov 11:00 and posted Mon 12:00 (the final
/// deadline counts from the posting: 7 working days, Wed 4 Nov off → Thu 12 Nov 17:00).
fn interim_posted(config: &Config, number: u64, executor: &str) -> Case {
    let c = open(config, number, bar(11, 2, 9, 0), routed(executor));
    let c = act(
        config,
        c,
        bar(11, 2, 10, 0),
        Role::Executor,
        Action::Draft(DraftKind::Interim),
    );
    let c = approve(config, c, bar(11, 2, 11, 0));
    assert_eq!(
        c.deadlines.final_, None,
        "no final deadline before the posting"
    );
    let c = act(
        config,
        c,
        bar(11, 2, 12, 0),
        Role::Executor,
        Action::Published,
    );
    assert_eq!(c.deadlines.final_, Some(bar(11, 12, 17, 0)));
    c
}

#[test]
fn the_final_draft_in_time_is_the_executors_part_and_a_late_approval_is_not_theirs() {
    let config = config("ru", "Попов Андрей");
    // In time: the final draft Thu 12 Nov 15:00, approved Fri 13 Nov 10:00, posted 11:00.
    let c = interim_posted(&config, 1, "housing");
    let c = draft(&config, c, bar(11, 12, 15, 0));
    assert_eq!(c.final_draft_at, Some(bar(11, 12, 15, 0)));
    let c = approve(&config, c, bar(11, 13, 10, 0));
    let c = act(
        &config,
        c,
        bar(11, 13, 11, 0),
        Role::Executor,
        Action::Published,
    );
    // Late: economy's final draft comes Fri 13 Nov 09:00, after the deadline.
    let late = interim_posted(&config, 2, "economy");
    let late = draft(&config, late, bar(11, 13, 9, 0));
    let rows = report::build_at(
        &config,
        &[c, late],
        date(11, 2),
        date(11, 2),
        Some(bar(11, 16, 9, 0)),
    );
    let housing = row(&rows, "housing");
    assert_eq!(
        (
            housing.final_draft_on_time,
            housing.final_draft_late,
            housing.final_on_time,
            housing.final_late
        ),
        (1, 0, 0, 0),
        "{housing:?}"
    );
    assert_eq!(
        (
            housing.answered_on_time,
            housing.posted_on_time,
            housing.draft_on_time
        ),
        (1, 1, 1)
    );
    assert_eq!(
        (
            housing.answered_late,
            housing.posted_late,
            housing.draft_late
        ),
        (0, 0, 0)
    );
    // The late posting of a final answer drafted in time: nobody's row of an executor.
    assert_eq!(row(&rows, "-").final_late, 1);
    let economy = row(&rows, "economy");
    assert_eq!(
        (economy.final_draft_on_time, economy.final_draft_late),
        (0, 1)
    );
    // Its final answer is still owed past the deadline at the report time: economy's.
    assert_eq!(economy.final_late, 1);
}

#[test]
fn a_final_draft_still_owed_past_its_deadline_is_late() {
    let config = config("ru", "Попов Андрей");
    let c = interim_posted(&config, 1, "housing");
    let before = report::build_at(
        &config,
        std::slice::from_ref(&c),
        date(11, 2),
        date(11, 2),
        Some(bar(11, 12, 16, 0)),
    );
    assert_eq!(
        (
            row(&before, "housing").final_draft_on_time,
            row(&before, "housing").final_draft_late
        ),
        (0, 0)
    );
    let after = report::build_at(
        &config,
        &[c],
        date(11, 2),
        date(11, 2),
        Some(bar(11, 13, 9, 0)),
    );
    assert_eq!(row(&after, "housing").final_draft_late, 1);
}

#[test]
fn a_case_closed_without_an_answer_is_counted_with_its_reason() {
    let config = config("ru", "Попов Андрей");
    // Detected Mon 2 Nov 09:00 (draft due 15:00), closed Mon 10:00: nothing was late.
    let c = open(&config, 1, bar(11, 2, 9, 0), routed("housing"));
    let c = act(
        &config,
        c,
        bar(11, 2, 10, 0),
        Role::Coordinator,
        Action::Close,
    );
    // Closed Tue 11:00 after the draft deadline passed with no draft: late, and unanswered.
    let d = open(&config, 2, bar(11, 2, 9, 0), routed("housing"));
    let d = act(
        &config,
        d,
        bar(11, 3, 11, 0),
        Role::Coordinator,
        Action::Close,
    );
    assert!(report::closed_unanswered(&c).is_some());
    let rows = report::build_at(
        &config,
        &[c, d],
        date(11, 2),
        date(11, 2),
        Some(report_time()),
    );
    let housing = row(&rows, "housing");
    assert_eq!(housing.closed_unanswered, 2);
    assert_eq!(housing.closed_reasons, ["OTK-1: Текст", "OTK-2: Текст"]);
    assert_eq!(
        (housing.draft_late, housing.overdue, housing.pending),
        (1, 0, 0)
    );
    let table = report::table(&config, &rows);
    assert!(
        table.contains("Закрыто без ответа (ЗАКРЫТЬ), с причинами:"),
        "{table}"
    );
    assert!(table.contains("  OTK-1: Текст (housing)"), "{table}");
    let json = report::json(&rows);
    assert!(json.contains("\"closed_unanswered\": 2"), "{json}");
    assert!(json.contains("OTK-2: Текст"), "{json}");
    assert!(report::csv(&config, &rows).contains(";Закрыто без ответа\r\n"));
}

#[test]
fn each_deadline_counts_toward_who_held_the_case_when_it_fell() {
    let config = config("ru", "Попов Андрей");
    // Detected Mon 2 Nov 09:00: draft due Mon 15:00, answer due Tue 10:00. Housing holds it
    // past the draft deadline; the coordinator gives it to economy Mon 16:00, whose draft
    // comes Tue 09:00; after two returns the answer is approved Tue 13:45, late.
    let c = open(&config, 1, bar(11, 2, 9, 0), routed("housing"));
    let c = act(
        &config,
        c,
        bar(11, 2, 16, 0),
        Role::Coordinator,
        Action::Assign("economy".into()),
    );
    assert_eq!(
        report::holder_at(&c, bar(11, 2, 15, 0)).as_deref(),
        Some("housing")
    );
    assert_eq!(
        report::holder_at(&c, bar(11, 2, 16, 30)).as_deref(),
        Some("economy")
    );
    let c = draft(&config, c, bar(11, 3, 9, 0));
    // Returned Tue 09:30 (rework due 10:30), back 10:00: in time. Returned again 10:15
    // (due 11:15), back 13:30: late.
    let c = act(
        &config,
        c,
        bar(11, 3, 9, 30),
        Role::Coordinator,
        Action::Rework,
    );
    let c = draft(&config, c, bar(11, 3, 10, 0));
    let c = act(
        &config,
        c,
        bar(11, 3, 10, 15),
        Role::Coordinator,
        Action::Rework,
    );
    let c = draft(&config, c, bar(11, 3, 13, 30));
    let c = approve(&config, c, bar(11, 3, 13, 45));
    let rows = report::build_at(&config, &[c], date(11, 2), date(11, 2), Some(report_time()));
    let housing = row(&rows, "housing");
    let economy = row(&rows, "economy");
    assert_eq!((housing.draft_on_time, housing.draft_late), (0, 1));
    assert_eq!(
        (housing.cases, economy.cases),
        (0, 1),
        "cases: who holds it now"
    );
    assert_eq!((economy.answered_on_time, economy.answered_late), (0, 1));
    assert_eq!((economy.rework_on_time, economy.rework_late), (1, 1));
    assert_eq!((housing.rework_on_time, housing.rework_late), (0, 0));
}
