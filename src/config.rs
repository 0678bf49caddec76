//! The configuration as the service reads it: the core's typed [`Config`] and its checks,
//! validated against the real environment and files.

use std::path::Path;

use otklik_core::config::{Config, ConfigError, Environment, Problem, SecretCheck, parse};

/// Reads one environment variable; [`load_env`] and [`load_str_env`] take one so tests can
/// supply `CREDENTIALS_DIRECTORY` and `password_env` variables without touching the
/// process-global environment.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment, as [`load`] and [`load_str`] use it.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The files on this machine and the given variables.
struct System<'a> {
    env: EnvLookup<'a>,
}

impl Environment for System<'_> {
    fn var(&self, name: &str) -> Option<String> {
        (self.env)(name)
    }
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        std::fs::read(path)
    }
}

/// Read, parse and validate a config file.
pub fn load(path: &Path, secrets: SecretCheck) -> Result<Config, ConfigError> {
    load_env(path, secrets, &process_env)
}

/// Parse and validate config text (for tests and fuzzing); `path` is used for messages
/// and to resolve relative file names.
pub fn load_str(text: &str, path: &Path, secrets: SecretCheck) -> Result<Config, ConfigError> {
    load_str_env(text, path, secrets, &process_env)
}

/// [`load`] with an explicit environment.
pub fn load_env(
    path: &Path,
    secrets: SecretCheck,
    env: EnvLookup<'_>,
) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        problems: vec![Problem {
            path: path.to_path_buf(),
            line: 0,
            col: 0,
            key: String::new(),
            message: format!("cannot read the config file: {e}"),
        }],
    })?;
    load_str_env(&text, path, secrets, env)
}

/// [`load_str`] with an explicit environment.
pub fn load_str_env(
    text: &str,
    path: &Path,
    secrets: SecretCheck,
    env: EnvLookup<'_>,
) -> Result<Config, ConfigError> {
    parse(text, path, secrets, &System { env })
}
