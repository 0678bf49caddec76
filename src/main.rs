//! `otklik`: parses the command line and dispatches; everything else lives in the library.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use otklik::cli::{self, Cli, Command, LogFormat};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.command {
        Command::Run { log_format } => run(&cli, *log_format),
        Command::Status { json } => {
            otklik::logging::init(LogFormat::Human, "warn");
            let mut out = std::io::stdout().lock();
            ExitCode::from(cli::status(&cli, *json, &mut out))
        }
        _ => {
            otklik::logging::init(LogFormat::Human, "warn");
            let mut out = std::io::stdout().lock();
            match cli::execute(&cli, &mut out) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("otklik: {e}");
                    ExitCode::from(1)
                }
            }
        }
    }
}

fn run(cli: &Cli, log_format: LogFormat) -> ExitCode {
    otklik::logging::init(log_format, "info");
    let config = match cli::load_config(&cli.config, otklik_core::config::SecretCheck::Require) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("otklik: {e}");
            return ExitCode::from(1);
        }
    };
    // A crash from here on leaves a flag for the next start (src/crashflag.rs).
    otklik::crashflag::arm(&config.service.state_dir);
    // Fault injection for the tests (FAILPOINTS=…): only in a `--features failpoints` build.
    #[cfg(feature = "failpoints")]
    let _failpoints = fail::FailScenario::setup();
    // Before the runtime's threads: see src/memory.rs.
    otklik::memory::fix_thresholds();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("otklik: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(async {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let reload = Arc::new(tokio::sync::Notify::new());
        otklik::signals::spawn(stop_tx, reload.clone());
        otklik::daemon::run(
            config,
            otklik::daemon::Controls {
                shutdown: stop_rx,
                reload,
            },
        )
        .await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("otklik: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
