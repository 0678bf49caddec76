//! The .deb installs, works and goes like any server package, on this machine: `dpkg -i`
//! (nothing started or enabled), `otklik check-config` on the installed example,
//! `systemd-analyze verify` on the installed unit, `man otklik`, an upgrade that keeps the
//! admin's config, `dpkg -r` (nothing left but the config and the state), `dpkg --purge`
//! (nothing left). The .rpm is checked with `rpm -qlp` for the same files.
//!
//! It packages the dev binary this test run already built (`scripts/package --profile dev`):
//! no second, release build. It needs root and dpkg: without them it is skipped, except
//! under CI (`CI` set), where that fails. An `otklik` package already installed here is
//! never touched: the test fails and says so.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(cmd: &mut Command) -> Output {
    let shown = format!("{cmd:?}");
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {shown}: {e}"))
}

fn ok(cmd: &mut Command) -> String {
    let shown = format!("{cmd:?}");
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{shown} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

fn is_root() -> bool {
    // SAFETY: getuid has no preconditions and cannot fail.
    #[allow(unsafe_code)]
    unsafe {
        libc::getuid() == 0
    }
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Skips (prints why) where the test cannot run, or fails under CI.
fn can_run(tools: &[&str]) -> bool {
    let mut missing: Vec<String> = tools
        .iter()
        .filter(|t| !have(t))
        .map(|t| t.to_string())
        .collect();
    if !is_root() {
        missing.push("root".into());
    }
    if missing.is_empty() {
        return true;
    }
    let why = format!(
        "the package test needs {} (scripts/install-test-deps installs the tools)",
        missing.join(", ")
    );
    assert!(std::env::var_os("CI").is_none(), "{why}");
    eprintln!("SKIPPED: {why}");
    false
}

fn installed() -> bool {
    run(Command::new("dpkg-query").args(["-W", "-f=${Status}", "otklik"]))
        .stdout
        .starts_with(b"install ok installed")
        || run(Command::new("dpkg-query").args(["-W", "-f=${Status}", "otklik"]))
            .stdout
            .ends_with(b"config-files")
}

/// Builds both packages from the dev binary; their paths.
fn packages() -> (PathBuf, PathBuf) {
    ok(Command::new(repo().join("scripts/package"))
        .args(["--profile", "dev"])
        .current_dir(repo()));
    let dir = repo().join("target/package");
    let find = |suffix: &str| -> PathBuf {
        std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.to_string_lossy().ends_with(suffix))
            .unwrap_or_else(|| panic!("no *{suffix} in {}", dir.display()))
    };
    let deb = find(&format!("otklik_{}_amd64.deb", env!("CARGO_PKG_VERSION")));
    let rpm = find(".x86_64.rpm");
    (deb, rpm)
}

/// Every file and link the package brings, not counting its directories.
const FILES: &[&str] = &[
    "/usr/bin/otklik",
    "/lib/systemd/system/otklik.service",
    "/etc/otklik/otklik.toml",
    "/etc/otklik/exclude-words.txt",
    "/usr/share/man/man1/otklik.1.gz",
    "/usr/share/man/man1/otklik-status.1.gz",
    "/usr/share/bash-completion/completions/otklik",
    "/usr/share/zsh/vendor-completions/_otklik",
    "/usr/share/fish/vendor_completions.d/otklik.fish",
    "/usr/share/doc/otklik/README.md",
    "/usr/share/doc/otklik/operations.md",
];
const CONFFILES: &[&str] = &["/etc/otklik/otklik.toml", "/etc/otklik/exclude-words.txt"];
const STATE: &str = "/var/lib/otklik";

/// Purges the package however the test ends.
struct Purge;
impl Drop for Purge {
    fn drop(&mut self) {
        let _ = Command::new("dpkg").args(["--purge", "otklik"]).output();
    }
}

#[test]
fn the_deb_installs_checks_upgrades_removes_and_purges_cleanly() {
    if !can_run(&["dpkg", "dpkg-deb", "man", "systemd-analyze", "rpm", "strip"]) {
        return;
    }
    assert!(
        !installed(),
        "an otklik package is installed on this machine: the test will not touch it \
         (dpkg --purge otklik, then run the test again)"
    );
    assert!(
        !Path::new(STATE).exists(),
        "{STATE} exists on this machine: the test will not touch it"
    );
    let (deb, rpm) = packages();

    // The package's own list: what it brings is exactly what this test looks for.
    let listing = ok(Command::new("dpkg-deb").arg("-c").arg(&deb));
    for f in FILES {
        assert!(
            listing.contains(&format!(".{f}")),
            "the .deb lacks {f}:\n{listing}"
        );
    }

    let _purge = Purge;
    let said = ok(Command::new("dpkg").arg("-i").arg(&deb));
    assert!(
        said.contains("installed but not started"),
        "the install says what to do next:\n{said}"
    );
    for f in FILES {
        assert!(Path::new(f).exists(), "{f} is not installed");
    }
    let conffiles = ok(Command::new("dpkg-query").args(["-W", "-f=${Conffiles}", "otklik"]));
    for f in CONFFILES {
        assert!(conffiles.contains(f), "{f} is no conffile:\n{conffiles}");
    }
    // Nothing enabled, nothing started: the config is the example's.
    assert!(!Path::new("/etc/systemd/system/multi-user.target.wants/otklik.service").exists());

    // The installed binary accepts the installed example config, word list and all.
    let checked = ok(Command::new("/usr/bin/otklik")
        .args(["check-config", "--config", "/etc/otklik/otklik.toml"])
        .env_remove("OTKLIK_CONFIG"));
    assert_eq!(checked.trim(), "ok");
    // The default config path is the installed one.
    assert_eq!(
        ok(Command::new("/usr/bin/otklik")
            .arg("check-config")
            .env_remove("OTKLIK_CONFIG"))
        .trim(),
        "ok"
    );
    let version = ok(Command::new("/usr/bin/otklik").arg("--version"));
    assert_eq!(
        version.trim(),
        format!("otklik {}", env!("CARGO_PKG_VERSION"))
    );
    // Not running: the monitoring check says CRITICAL, exit status 2.
    let status = run(Command::new("/usr/bin/otklik").arg("status"));
    assert_eq!(status.status.code(), Some(2), "{status:?}");
    assert!(
        String::from_utf8_lossy(&status.stdout).starts_with("OTKLIK CRITICAL - not running"),
        "{status:?}"
    );

    // The installed unit as systemd reads it (its ExecStart is the installed binary).
    let verify =
        run(Command::new("systemd-analyze").args(["verify", "/lib/systemd/system/otklik.service"]));
    let stderr = String::from_utf8_lossy(&verify.stderr);
    assert!(verify.status.success(), "systemd-analyze verify:\n{stderr}");
    let ours: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("otklik.service"))
        .collect();
    assert!(
        ours.is_empty(),
        "systemd-analyze verify warns:\n{}",
        ours.join("\n")
    );

    // The man page, through man itself.
    let page = ok(Command::new("man")
        .args(["-P", "cat", "otklik"])
        .env("MANWIDTH", "100")
        .env("LANG", "C.UTF-8"));
    for word in ["otklik", "check-config", "status", "outbox", "--config"] {
        assert!(page.contains(word), "man otklik lacks {word}:\n{page}");
    }
    let page = ok(Command::new("man")
        .args(["-P", "cat", "otklik-status"])
        .env("MANWIDTH", "100")
        .env("LANG", "C.UTF-8"));
    assert!(page.contains("--json"), "man otklik-status:\n{page}");

    // An upgrade (the same package again) keeps the admin's edits of the config.
    let edited = std::fs::read_to_string("/etc/otklik/otklik.toml").unwrap()
        + "\n# edited by the administrator\n";
    std::fs::write("/etc/otklik/otklik.toml", &edited).unwrap();
    ok(Command::new("dpkg")
        .args(["-i", "--force-confdef", "--force-confold"])
        .arg(&deb));
    assert_eq!(
        std::fs::read_to_string("/etc/otklik/otklik.toml").unwrap(),
        edited,
        "the upgrade overwrote the config"
    );

    // The service's state, as systemd's StateDirectory= (DynamicUser) lays it out.
    std::fs::create_dir_all("/var/lib/private/otklik/store").unwrap();
    std::fs::write("/var/lib/private/otklik/secret", "0".repeat(64)).unwrap();
    std::os::unix::fs::symlink("private/otklik", STATE).unwrap();

    // Remove: nothing left but the config and the state.
    ok(Command::new("dpkg").args(["-r", "otklik"]));
    for f in FILES {
        let stays = CONFFILES.contains(f);
        assert_eq!(
            Path::new(f).exists(),
            stays,
            "{f} after dpkg -r: {}",
            if stays { "gone" } else { "still there" }
        );
    }
    for dir in [
        "/usr/share/doc/otklik",
        "/usr/share/fish/vendor_completions.d/otklik.fish",
    ] {
        assert!(!Path::new(dir).exists(), "{dir} after dpkg -r");
    }
    assert!(
        Path::new("/var/lib/otklik/secret").exists(),
        "dpkg -r took the state"
    );

    // Purge: the config and the state go too.
    ok(Command::new("dpkg").args(["--purge", "otklik"]));
    for gone in ["/etc/otklik", STATE, "/var/lib/private/otklik"] {
        assert!(
            std::fs::symlink_metadata(gone).is_err(),
            "{gone} after dpkg --purge"
        );
    }
    assert!(!installed(), "dpkg still knows otklik after the purge");

    // The .rpm carries the same files, the config as %config(noreplace), and its scripts.
    let rpm_files = ok(Command::new("rpm").arg("-qlp").arg(&rpm));
    for f in FILES {
        let f = f.replace("/lib/systemd/", "/usr/lib/systemd/").replace(
            "/usr/share/zsh/vendor-completions/",
            "/usr/share/zsh/site-functions/",
        );
        assert!(rpm_files.contains(&f), "the .rpm lacks {f}:\n{rpm_files}");
    }
    let rpm_config = ok(Command::new("rpm").arg("-qcp").arg(&rpm));
    for f in CONFFILES {
        assert!(
            rpm_config.contains(f),
            "{f} is no %config in the .rpm:\n{rpm_config}"
        );
    }
    let scripts = ok(Command::new("rpm").args(["-qp", "--scripts"]).arg(&rpm));
    assert!(
        scripts.contains("installed but not started") && scripts.contains("systemctl stop"),
        "{scripts}"
    );
}
