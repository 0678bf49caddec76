//! Starts the real otklik service in-process (`daemon::run`) against the test mail stack,
//! with its own users (prefixed by the test's name), state dir and config.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use otklik_core::config::{Config, SecretCheck};
use otklik_core::workflow::Case;

use otklik::config;
use otklik::control::{self, Request, Response};
use otklik::daemon::{self, Controls};
use tokio::sync::{Notify, watch};

use crate::mailstack::{MailStack, Received};

/// A generous deadline that only fails a hung test.
pub const WAIT: Duration = Duration::from_secs(60);

/// The people of one test: their mailbox users on the stack.
#[derive(Clone, Debug)]
pub struct People {
    /// What every address of this test starts with (its own name), so tests share no mailbox.
    pub prefix: String,
}

impl People {
    /// The people of a test whose addresses start with `prefix`.
    pub fn new(prefix: &str) -> People {
        People {
            prefix: prefix.to_string(),
        }
    }
    /// The service's own mailbox (intake and sender).
    pub fn service(&self) -> String {
        format!("{}-otklik", self.prefix)
    }
    /// The coordinator's address.
    pub fn coordinator(&self) -> String {
        format!("{}-coord", self.prefix)
    }
    /// The supervisor's address.
    pub fn supervisor(&self) -> String {
        format!("{}-super", self.prefix)
    }
    /// The publisher's address.
    pub fn publisher(&self) -> String {
        format!("{}-press", self.prefix)
    }
    /// The monitoring platform's address (it sends the notifications).
    pub fn monitor(&self) -> String {
        format!("{}-monitor", self.prefix)
    }
    /// The address of executor `id`.
    pub fn executor(&self, id: &str) -> String {
        format!("{}-{id}", self.prefix)
    }
    /// An address of nobody configured.
    pub fn stranger(&self) -> String {
        format!("{}-stranger", self.prefix)
    }
}

/// The config of a test service. `calendar` is a TOML `[calendar]` section body,
/// `extra` any further sections (escalations, deadlines).
pub fn config_text(
    stack: &MailStack,
    p: &People,
    state_dir: &str,
    calendar: &str,
    deadlines: &str,
    extra: &str,
) -> String {
    let a = |u: String| stack.addr(&u);
    format!(
        r#"
[service]
state_dir = "{state_dir}"
case_prefix = "OTK"
monthly_report = false

[imap]
host = "{host}"
port = {imap}
tls = "none"
username = "{service}"
password_env = "OTKLIK_TEST_IMAP_PASSWORD"
mailbox = "INBOX"
poll_seconds = 5

[smtp]
host = "{host}"
port = {smtp}
tls = "none"
from = "Обратная связь <{service}>"

[calendar]
{calendar}

[deadlines]
{deadlines}

[people]
coordinator = {{ name = "Балакирева Ольга", email = "{coord}", new_cases = false }}
supervisor = {{ name = "Шевич Наталья", email = "{sup}" }}
publisher = "{press}"

[[executors]]
id = "housing"
name = "Шишова Татьяна Михайловна"
position = "Председатель комитета по ЖКХ"
email = "{housing}"
deputy = "economy"

[[executors]]
id = "economy"
name = "Попов Андрей"
position = "Заместитель главы"
email = "{economy}"

[[executors]]
id = "education"
name = "Кузнецова Елена"
position = "Председатель комитета по образованию"
email = "{education}"

[[rules]]
name = "ЖКХ"
topic = ["ЖКХ*", "Дороги"]
executor = "housing"

[[rules]]
name = "Образование"
topic = ["Образование*"]
executor = "education"

[intake]
senders = ["*@monitoring.example", "{monitor}"]
exclude_words_file = "{lexicon}"
repeat_window = "30d"
source_timezone = "Europe/Moscow"

{extra}
"#,
        host = stack.host(),
        imap = stack.imap_port(),
        smtp = stack.smtp_port(),
        service = a(p.service()),
        coord = a(p.coordinator()),
        sup = a(p.supervisor()),
        press = a(p.publisher()),
        housing = a(p.executor("housing")),
        economy = a(p.executor("economy")),
        education = a(p.executor("education")),
        monitor = a(p.monitor()),
        lexicon = repo_path("config/exclude-words.txt").display(),
    )
}

/// The production-like calendar of the example (Asia/Barnaul, ru preset, lunch).
pub const RU_CALENDAR: &str = r#"timezone = "Asia/Barnaul"
preset = "ru"
workdays = ["mon", "tue", "wed", "thu", "fri"]
hours = ["08:00-12:00", "13:00-17:00"]"#;

/// Around the clock, every day.
pub const ALWAYS_CALENDAR: &str = r#"timezone = "UTC"
workdays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
hours = ["00:00-24:00"]"#;

/// The `[deadlines]` section the test configs use.
pub const DEFAULT_DEADLINES: &str = r#"answer = "9h"
draft_before_answer = "4h"
rework = "1h"
final_after_interim = "7d""#;

/// A path of the repository, from its root.
pub fn repo_path(rel: &str) -> PathBuf {
    crate::repo_root().join(rel)
}

/// A running service.
pub struct Service {
    /// The configuration the service runs with.
    pub config: Arc<Config>,
    /// Where that configuration was written.
    pub config_path: PathBuf,
    /// The service's state directory (store, secret, control socket).
    pub state_dir: PathBuf,
    stop: watch::Sender<bool>,
    /// Notified to make the service reload its configuration.
    pub reload: Arc<Notify>,
    task: Option<tokio::task::JoinHandle<Result<(), daemon::RunError>>>,
}

/// Writes the config into `dir` and loads it as the service would.
pub fn write_config(dir: &std::path::Path, text: &str) -> (PathBuf, Config) {
    let path = dir.join("otklik.toml");
    std::fs::write(&path, text).expect("write config");
    let env =
        |name: &str| (name == "OTKLIK_TEST_IMAP_PASSWORD").then(|| MailStack::PASSWORD.to_string());
    match config::load_env(&path, SecretCheck::Require, &env) {
        Ok(c) => (path, c),
        Err(e) => panic!("test config invalid:\n{e}"),
    }
}

impl Service {
    /// Starts the service with the config text (its `state_dir` must be inside `dir`).
    pub async fn start(dir: &std::path::Path, text: &str) -> Service {
        let (config_path, config) = write_config(dir, text);
        Service::start_with(config_path, config).await
    }

    /// Starts the service in-process with `config`, read from `config_path`.
    pub async fn start_with(config_path: PathBuf, config: Config) -> Service {
        let state_dir = config.service.state_dir.clone();
        let (stop, stop_rx) = watch::channel(false);
        let reload = Arc::new(Notify::new());
        let config = Arc::new(config);
        let run_config = (*config).clone();
        let controls = Controls {
            shutdown: stop_rx,
            reload: reload.clone(),
        };
        let task = tokio::spawn(daemon::run(run_config, controls));
        // Wait for the control socket: the service has opened its store.
        let sock = control::socket_path(&state_dir);
        let deadline = tokio::time::Instant::now() + WAIT;
        while !sock.exists() {
            if task.is_finished() {
                let result = task.await;
                panic!("the service stopped at start: {result:?}");
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the service did not start"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Service {
            config,
            config_path,
            state_dir,
            stop,
            reload,
            task: Some(task),
        }
    }

    /// Asks the service to stop and waits for it.
    pub async fn stop(mut self) {
        self.stop.send_replace(true);
        if let Some(task) = self.task.take() {
            match tokio::time::timeout(WAIT, task).await {
                Ok(Ok(Ok(()))) => {}
                other => panic!("the service did not stop cleanly: {other:?}"),
            }
        }
    }

    async fn ask(&self, req: Request) -> Response {
        let dir = self.state_dir.clone();
        tokio::task::spawn_blocking(move || control::ask(&dir, &req))
            .await
            .expect("control task")
            .expect("the service answers on its control socket")
    }

    /// Every case in the service's store.
    pub async fn cases(&self) -> Vec<Case> {
        match self.ask(Request::Cases).await {
            Response::Cases(c) => c,
            other => panic!("unexpected {other:?}"),
        }
    }

    /// Case `number`; panics if there is none.
    pub async fn case(&self, number: u64) -> Case {
        match self.ask(Request::Case { number }).await {
            Response::Case(Some(c)) => *c,
            other => panic!("no case {number}: {other:?}"),
        }
    }

    /// Waits until the case satisfies `pred` (the service works asynchronously).
    pub async fn wait_case(&self, number: u64, what: &str, pred: impl Fn(&Case) -> bool) -> Case {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Response::Case(Some(c)) = self.ask(Request::Case { number }).await
                && pred(&c)
            {
                return *c;
            }
            if tokio::time::Instant::now() > deadline {
                let now = self.ask(Request::Case { number }).await;
                panic!("case {number} never became {what}: {now:#?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until there are `n` cases.
    pub async fn wait_cases(&self, n: usize) -> Vec<Case> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let cases = self.cases().await;
            if cases.len() >= n {
                return cases;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "only {} of {n} cases: {cases:#?}",
                cases.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The open cases and the outbox depth, as the control socket reports them.
    pub async fn status(&self) -> (usize, usize) {
        match self.ask(Request::Status).await {
            Response::Status { cases, outbox } => (cases, outbox),
            other => panic!("unexpected {other:?}"),
        }
    }

    /// Waits until the service has sent everything it queued (at most `wait`).
    pub async fn outbox_drained(&self, wait: Duration) {
        let deadline = tokio::time::Instant::now() + wait;
        while self.status().await.1 > 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the outbox never drained"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// A reminder or escalation about `case_id` (its subject names a deadline, «срок»).
pub fn is_deadline_mail(m: &Received, case_id: &str) -> bool {
    about(m, case_id) && m.subject.contains("срок")
}

/// Every reminder and escalation about `case_id` in `user`'s INBOX.
pub async fn deadline_mails(stack: &MailStack, user: &str, case_id: &str) -> Vec<Received> {
    stack
        .fetch_all(user, "INBOX")
        .await
        .into_iter()
        .filter(|m| is_deadline_mail(m, case_id))
        .collect()
}

/// The history events of a case, in order.
pub fn events(case: &Case) -> Vec<String> {
    case.history.iter().map(|h| h.event.to_string()).collect()
}

/// A sample notification from `tests/data/notifications`.
pub fn sample(name: &str) -> Vec<u8> {
    std::fs::read(repo_path("tests/data/notifications").join(name)).expect("sample file")
}

/// A plain notification from the monitoring platform (the plain format of docs/notifications.md),
/// its post detected now: the service reads the real clock, so the deadlines of a test's
/// case are always ahead of it, whatever day the test runs.
pub fn notification(
    stack: &MailStack,
    p: &People,
    id: &str,
    topic: &str,
    author: &str,
    text: &str,
    extra: &str,
) -> Vec<u8> {
    let now = chrono::Utc::now();
    notification_detected(stack, p, id, topic, author, text, extra, now)
}

/// The platform's detection line for `at`, as it writes it: Moscow time, minutes.
pub fn detected_line(at: chrono::DateTime<chrono::Utc>) -> String {
    let msk = at.with_timezone(&chrono_tz::Europe::Moscow);
    format!("Дата выявления: {} (МСК)", msk.format("%d.%m.%Y %H:%M"))
}

/// [`notification`] with its post detected at `detected` (say a month before now, for a
/// case whose deadlines are long past).
#[allow(clippy::too_many_arguments)]
pub fn notification_detected(
    stack: &MailStack,
    p: &People,
    id: &str,
    topic: &str,
    author: &str,
    text: &str,
    extra: &str,
    detected: chrono::DateTime<chrono::Utc>,
) -> Vec<u8> {
    let detected = detected_line(detected);
    let body = format!(
        "Поступил новый инцидент для отработки.\n\nНомер инцидента: {id}\n{detected}\nРубрика: {topic}\nЛокация: с. Волчиха\nКатегория важности: Средняя\nИсточник: ВКонтакте\nАвтор: {author}\nСсылка: https://vk.com/wall-1_{id}\n{extra}\nТекст сообщения:\n{text}\n"
    );
    let mid = stack.new_message_id();
    stack.compose(
        &p.monitor(),
        &[&p.service()],
        &format!("Новый инцидент №{id}"),
        &body,
        &mid,
        None,
    )
}

/// Confirms, as `user`, the action the service asks them to confirm (a request without
/// proof of its sender: docs/keywords.md#confirmations): waits for the confirmation mail
/// whose subject holds `what` and replies to it. Returns the confirmation mail.
pub async fn confirm(stack: &MailStack, user: &str, what: &str) -> Received {
    let ask = stack
        .wait_for(
            user,
            "INBOX",
            |m| {
                (m.subject.starts_with("Подтвердите") || m.subject.starts_with("Please confirm"))
                    && m.subject.contains(what)
            },
            WAIT,
        )
        .await;
    stack.reply(user, &ask, "Да, это я.").await;
    ask
}

/// Is this one of our messages about case `id` (the tag and the header)?
pub fn about(m: &Received, case_id: &str) -> bool {
    m.subject.contains(&format!("[{case_id}]")) && m.header("X-Otklik-Case") == Some(case_id)
}

/// A test's world on the shared stack: its people, its temp dir and its running service
/// (with `calendar` and the default deadlines).
pub async fn start_on_shared(
    prefix: &str,
    calendar: &str,
) -> (&'static MailStack, People, tempfile::TempDir, Service) {
    let stack = MailStack::shared();
    let p = People::new(prefix);
    let dir = tempfile::tempdir().expect("temp dir");
    let text = config_for(stack, &p, dir.path(), calendar);
    let svc = Service::start(dir.path(), &text).await;
    (stack, p, dir, svc)
}

/// Sends `raw` to the service's address as `from` (a user name), through Postfix.
pub async fn to_service(stack: &MailStack, p: &People, from: &str, raw: &[u8]) {
    stack
        .send(&stack.addr(from), &[&stack.addr(&p.service())], raw)
        .await;
}

/// The action code in a mail's text: the first `#` and eight characters of `a`–`z`, `2`–`9`
/// that end a word.
pub fn action_code(text: &str) -> Option<String> {
    text.match_indices('#').find_map(|(i, _)| {
        let code: String = text[i + 1..].chars().take(8).collect();
        let next = text[i + 1..].chars().nth(8);
        (code.chars().count() == 8
            && code
                .chars()
                .all(|c| c.is_ascii_lowercase() || ('2'..='9').contains(&c))
            && !next.is_some_and(char::is_alphanumeric))
        .then_some(code)
    })
}

/// The subject of a one-click button of `mail`, `{head} #code`, the action code read from
/// the mail's text. The test fails unless the mail's HTML has that button: a mailto to the
/// service with this subject.
pub fn button(stack: &MailStack, p: &People, mail: &Received, head: &str) -> String {
    let code = action_code(&mail.text).expect("an action code");
    let subject = format!("{head} #{code}");
    let href = otklik_core::templates::mailto(&stack.addr(&p.service()), &subject, "");
    let html = mail.html.clone().unwrap_or_default();
    assert!(
        html.contains(&href.replace('&', "&amp;")),
        "no button «{head}» in {html}"
    );
    subject
}

/// Presses a button: a new mail from `from` (a user name) to the service with the
/// button's subject and no text, as a mail client opens a mailto.
pub async fn press(stack: &MailStack, p: &People, from: &str, subject: &str) {
    let raw = stack.compose(
        from,
        &[&p.service()],
        subject,
        "",
        &stack.new_message_id(),
        None,
    );
    to_service(stack, p, from, &raw).await;
}

impl Service {
    /// Waits until the service stops on its own and returns how it ended.
    pub async fn exited(mut self, within: Duration) -> Result<(), daemon::RunError> {
        let task = self.task.take().expect("the service runs");
        match tokio::time::timeout(within, task).await {
            Ok(Ok(result)) => result,
            Ok(Err(e)) => panic!("the service task failed: {e}"),
            Err(_) => panic!("the service did not stop on its own within {within:?}"),
        }
    }
}

/// Waits for our mail about `case_id` in `user`'s INBOX whose subject contains `subject`.
pub async fn mail_about(stack: &MailStack, user: &str, case_id: &str, subject: &str) -> Received {
    stack
        .wait_for(
            user,
            "INBOX",
            |m| about(m, case_id) && m.subject.contains(subject),
            WAIT,
        )
        .await
}

/// The usual test config: state in `dir/state`, the default deadlines, nothing extra.
pub fn config_for(stack: &MailStack, p: &People, dir: &std::path::Path, calendar: &str) -> String {
    config_text(
        stack,
        p,
        &dir.join("state").display().to_string(),
        calendar,
        DEFAULT_DEADLINES,
        "",
    )
}
