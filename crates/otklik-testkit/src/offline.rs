//! The usual test config for tests without a mail stack (the handler, the store): one
//! executor, one rule, around-the-clock working time, state in `dir/state`.

use std::path::Path;
use std::sync::Arc;

use otklik_core::config::{Config, SecretCheck};

use otklik::config;

/// The mail domain of the usual offline config.
pub const DOMAIN: &str = "volchiha.example";

/// The usual config for tests without a mail stack, its state under `dir`.
pub fn config(dir: &Path) -> Arc<Config> {
    let lexicon = crate::repo_root().join("config/exclude-words.txt");
    let text = format!(
        r#"
[service]
state_dir = "{state}"
case_prefix = "OTK"

[imap]
host = "127.0.0.1"
tls = "none"
username = "otklik"
password_env = "OTKLIK_TEST_PASSWORD"

[smtp]
host = "127.0.0.1"
tls = "none"
from = "Обратная связь <otklik@{DOMAIN}>"

[calendar]
timezone = "UTC"
workdays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
hours = ["00:00-24:00"]

[deadlines]
answer = "9h"
draft_before_answer = "4h"
rework = "1h"
final_after_interim = "7d"

[people]
coordinator = {{ name = "Балакирева Ольга", email = "coord@{DOMAIN}" }}
publisher = "press@{DOMAIN}"

[[executors]]
id = "housing"
name = "Шишова Татьяна Михайловна"
email = "housing@{DOMAIN}"

[[rules]]
name = "ЖКХ"
topic = ["ЖКХ*"]
executor = "housing"

[intake]
senders = ["*@monitoring.example"]
exclude_words_file = "{lexicon}"
source_timezone = "Europe/Moscow"
"#,
        state = dir.join("state").display(),
        lexicon = lexicon.display(),
    );
    let env = |name: &str| (name == "OTKLIK_TEST_PASSWORD").then(|| "x".to_string());
    match config::load_str_env(&text, &dir.join("otklik.toml"), SecretCheck::Require, &env) {
        Ok(c) => Arc::new(c),
        Err(e) => panic!("test config invalid:\n{e}"),
    }
}
