//! The crash test at CI size: 60 notifications while the real `otklik` binary
//! is SIGKILLed 5 times at random moments and restarted. The full run (1,000
//! notifications, 20 kills) is `scripts/crash-test`; both use `examples/crash_test.rs`.

#[path = "../examples/crash_test.rs"]
mod crash;

use std::path::PathBuf;
use std::time::Duration;

use crash::support::mailstack::MailStack;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_loses_nothing_and_doubles_nothing() {
    // Its own stack: nothing else shares its mailboxes or its load.
    let stack = MailStack::start();
    let plan = crash::Plan {
        notifications: 60,
        kills: 5,
        bin: PathBuf::from(env!("CARGO_BIN_EXE_otklik")),
        kill_after: (Duration::from_millis(150), Duration::from_millis(1500)),
        settle: Duration::from_secs(180),
    };
    let report = crash::run(&stack, "crashci", &plan).await;
    report.print();
    let failures = report.failures();
    assert!(failures.is_empty(), "crash test failed: {failures:#?}");
    assert!(report.kills >= 5, "only {} kills", report.kills);
}
