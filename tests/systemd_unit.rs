//! The systemd unit (`systemd/otklik.service`): `systemd-analyze verify` accepts it
//! and `systemd-analyze security --offline=true` rates its exposure at 2.0 or less. Where
//! `systemd-analyze` is missing the check fails: a skipped check proves nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

const MAX_EXPOSURE: f64 = 2.0;

fn unit_text() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("systemd/otklik.service");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The unit as installed, but with `ExecStart=` pointing at the binary cargo built
/// (`verify` checks that the executable exists), written as `dir/otklik.service`.
fn unit_for_check(dir: &Path) -> PathBuf {
    let text = unit_text();
    assert!(
        text.contains("ExecStart=/usr/bin/otklik run"),
        "the unit's ExecStart changed; update this test"
    );
    let text = text.replace(
        "ExecStart=/usr/bin/otklik",
        &format!("ExecStart={}", env!("CARGO_BIN_EXE_otklik")),
    );
    let path = dir.join("otklik.service");
    std::fs::write(&path, text).expect("write the unit copy");
    path
}

/// `systemd-analyze`; the tests' install script (`scripts/install-test-deps`) puts it
/// there, so its absence fails the check rather than skipping it.
fn systemd_analyze() -> PathBuf {
    ["/usr/bin", "/bin", "/usr/local/bin"]
        .iter()
        .map(|dir| Path::new(dir).join("systemd-analyze"))
        .find(|p| p.exists())
        .expect(
            "systemd-analyze is missing: install the `systemd` package (scripts/install-test-deps)",
        )
}

#[test]
fn the_unit_says_what_the_issue_asks_for() {
    let text = unit_text();
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .collect();
    for wanted in [
        "Type=notify",
        "NotifyAccess=main",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "WatchdogSec=60s",
        "Restart=on-failure",
        "TimeoutStopSec=30s",
        "DynamicUser=yes",
        "StateDirectory=otklik",
        "ConfigurationDirectory=otklik",
        "LoadCredential=imap-password:/etc/otklik/imap-password",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
        "SystemCallFilter=@system-service",
        "CapabilityBoundingSet=",
    ] {
        assert!(lines.contains(&wanted), "the unit lacks `{wanted}`");
    }
    // The example config's state_dir is the unit's StateDirectory.
    let example = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/otklik.toml"),
    )
    .expect("config/otklik.toml");
    assert!(example.contains("state_dir = \"/var/lib/otklik\""));
}

#[test]
fn systemd_analyze_verify_accepts_the_unit() {
    let analyze = systemd_analyze();
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_for_check(dir.path());
    let out = Command::new(&analyze)
        .arg("verify")
        .arg(&unit)
        .output()
        .expect("run systemd-analyze verify");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "systemd-analyze verify failed ({}):\n{stderr}",
        out.status
    );
    // Warnings about our unit (unknown keys, bad values) do not fail `verify`: they must not be there.
    let ours: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("otklik.service"))
        .collect();
    assert!(
        ours.is_empty(),
        "systemd-analyze verify warns:\n{}",
        ours.join("\n")
    );
}

#[test]
fn systemd_analyze_security_rates_the_unit_at_most_2_0() {
    let analyze = systemd_analyze();
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_for_check(dir.path());
    let out = Command::new(&analyze)
        .args(["security", "--offline=true", "--no-pager"])
        .arg(&unit)
        .output()
        .expect("run systemd-analyze security");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "systemd-analyze security failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    // "→ Overall exposure level for otklik.service: 1.2 OK 🙂"
    let line = stdout
        .lines()
        .find(|l| l.contains("Overall exposure level for otklik.service:"))
        .unwrap_or_else(|| panic!("no overall exposure line:\n{stdout}"));
    let exposure: f64 = line
        .rsplit(':')
        .next()
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("cannot read the exposure from {line:?}"));
    eprintln!("{}", line.trim());
    assert!(
        exposure <= MAX_EXPOSURE,
        "exposure {exposure} > {MAX_EXPOSURE}:\n{stdout}"
    );
}
