//! Process handling for the servers: spawning with a guardian and a death signal, stopping
//! a whole process group, reaping, and removing stacks a dead test process left behind.

use std::fs;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock, mpsc};
use std::time::{Duration, Instant};

use super::{SERVER_DEADLINE, STACK_PREFIX};

// ------------------------------------------------------- process handling

pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A running server: its master process, and the guardian that kills it if
/// this test process dies without stopping it.
pub(super) struct Server {
    child: Child,
    /// `sh` blocked reading a pipe whose only writer is this process: when
    /// this process dies (even by SIGKILL) the pipe closes and the guardian
    /// SIGTERMs the server, then SIGKILLs its process group. Needed on top
    /// of PDEATHSIG because Postfix's master changes its effective ids now
    /// and then, and that clears PDEATHSIG.
    guardian: Option<Child>,
}

pub(super) const GUARDIAN_SCRIPT: &str = r#"read -r _ || true
kill -TERM "$1" 2>/dev/null || exit 0
i=0
while kill -0 -- "-$1" 2>/dev/null && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i+1)); done
kill -KILL -- "-$1" 2>/dev/null
exit 0
"#;

impl Server {
    fn dismiss_guardian(&mut self) {
        if let Some(mut guardian) = self.guardian.take() {
            let _ = guardian.kill();
            let _ = guardian.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.dismiss_guardian();
    }
}

/// Spawns a server (see `spawn_daemon`) with its guardian.
pub(super) fn spawn_server(cmd: Command) -> io::Result<Server> {
    let mut child = spawn_daemon(cmd)?;
    // the pipe's write end is close-on-exec: no other child inherits it
    let guardian = Command::new("/bin/sh")
        .arg("-c")
        .arg(GUARDIAN_SCRIPT)
        .arg("mailstack-guardian")
        .arg(child.id().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn();
    match guardian {
        Ok(guardian) => Ok(Server {
            child,
            guardian: Some(guardian),
        }),
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            Err(io::Error::other(format!(
                "cannot start its guardian /bin/sh: {e}"
            )))
        }
    }
}

/// Spawns a server from one long-lived thread with PR_SET_PDEATHSIG =
/// SIGTERM, in its own process group. The death signal fires when the
/// *thread* that forked the child ends, so the forking is done by a thread
/// that lives as long as the test process, not by the (short-lived) test thread.
pub(super) fn spawn_daemon(mut cmd: Command) -> io::Result<Child> {
    type Job = (Command, mpsc::Sender<io::Result<Child>>);
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<Job>>> = OnceLock::new();
    cmd.process_group(0);
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM as libc::c_ulong) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let spawner = SPAWNER.get_or_init(|| {
        become_subreaper();
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("mailstack-spawner".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
            })
            .expect("cannot start the mailstack spawner thread");
        Mutex::new(tx)
    });
    let (reply_tx, reply_rx) = mpsc::channel();
    lock(spawner)
        .send((cmd, reply_tx))
        .map_err(|_| io::Error::other("mailstack spawner thread is gone"))?;
    reply_rx
        .recv()
        .map_err(|_| io::Error::other("mailstack spawner thread is gone"))?
}

/// Makes orphaned descendants of this process (the servers' children, once a
/// server stops) this process's children instead of PID 1's, which may never
/// reap them (it does not on these machines): `stop_child` reaps them, so no
/// zombies are left.
pub fn become_subreaper() {
    // SAFETY: plain syscall.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong);
    }
}

/// Reaps what is left of process group `pgid` (the zombies this process
/// inherited as subreaper); waits up to `timeout` for it to be empty and
/// returns whether it is.
pub fn reap_process_group(pgid: u32, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if !reap_group(pgid as libc::pid_t) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The process group of `pid`, if it exists.
pub fn process_group(pid: u32) -> Option<u32> {
    // SAFETY: plain syscall.
    let pgid = unsafe { libc::getpgid(pid as libc::pid_t) };
    u32::try_from(pgid).ok()
}

/// Waits until `ready()` or the server exits or the deadline passes.
pub(super) fn wait_ready(
    slot: &mut Option<Server>,
    what: &str,
    mut ready: impl FnMut() -> bool,
) -> Result<(), String> {
    let deadline = Instant::now() + SERVER_DEADLINE;
    loop {
        if let Some(server) = slot.as_mut()
            && let Ok(Some(status)) = server.child.try_wait()
        {
            *slot = None;
            return Err(format!("{what} exited during start-up ({status})"));
        }
        if ready() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!("{what} not ready after {SERVER_DEADLINE:?}"));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Who gets the SIGTERM that stops a server.
#[derive(Clone, Copy)]
pub(super) enum StopBy {
    /// Postfix's master stops and reaps its children itself, at once.
    Master,
    /// Dovecot's master waits about a second for its children after a SIGTERM;
    /// terminating the whole group at once is as clean and immediate.
    Group,
}

/// SIGTERM to the server, wait for it, then make sure its whole process
/// group is gone (its children hold the listening sockets: a restart on the
/// same ports must wait for them) and reaped (this process is their
/// subreaper; see `spawn_daemon`).
pub(super) fn stop_child(slot: &Mutex<Option<Server>>, what: &str, by: StopBy) {
    let Some(mut server) = lock(slot).take() else {
        return;
    };
    // first, so it cannot signal a pid reused after the server is gone
    server.dismiss_guardian();
    let child = &mut server.child;
    let pid = child.id() as libc::pid_t;
    // SAFETY: plain syscalls on a pid/pgid we own.
    unsafe {
        match by {
            StopBy::Master => libc::kill(pid, libc::SIGTERM),
            StopBy::Group => libc::kill(-pid, libc::SIGTERM),
        };
    }
    let deadline = Instant::now() + SERVER_DEADLINE;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            _ => {
                eprintln!("mailstack: {what} (pid {pid}) ignored SIGTERM; killing its group");
                // SAFETY: as above.
                unsafe {
                    libc::kill(-pid, libc::SIGKILL);
                }
                let _ = child.wait();
                break;
            }
        }
    }
    let term_deadline = Instant::now() + Duration::from_secs(5);
    let kill_deadline = term_deadline + Duration::from_secs(5);
    let mut killed = false;
    loop {
        if !reap_group(pid) {
            return;
        }
        let now = Instant::now();
        if now >= kill_deadline {
            eprintln!("mailstack: processes of {what} (group {pid}) survive SIGKILL");
            return;
        }
        if now >= term_deadline && !killed {
            // SAFETY: as above.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
            killed = true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Reaps the zombies of process group `pgid` that are this process's
/// children; returns whether any process of the group is still there (a
/// zombie whose parent is someone else does not count: it holds nothing).
pub(super) fn reap_group(pgid: libc::pid_t) -> bool {
    let me = std::process::id() as libc::pid_t;
    let mut remaining = false;
    for (pid, state, ppid) in group_members(pgid) {
        if ppid == me {
            let mut status = 0;
            // SAFETY: waits for one specific child that no `Child` handle owns.
            let reaped = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
            if reaped != pid {
                remaining = true;
            }
        } else if state != 'Z' {
            remaining = true;
        }
    }
    remaining
}

/// (pid, state, ppid) of every process in process group `pgid`, from /proc.
pub(super) fn group_members(pgid: libc::pid_t) -> Vec<(libc::pid_t, char, libc::pid_t)> {
    let mut found = Vec::new();
    let Ok(entries) = fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<libc::pid_t>().ok())
        else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // "pid (comm) state ppid pgrp ...": comm may hold anything, so split after the last ')'
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        let mut fields = rest.split_whitespace();
        let state = fields.next().and_then(|s| s.chars().next()).unwrap_or('?');
        let ppid = fields.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        let pgrp = fields.next().and_then(|p| p.parse::<libc::pid_t>().ok());
        if pgrp == Some(pgid) {
            found.push((pid, state, ppid));
        }
    }
    found
}

/// Pids of the live processes (not this one) whose command line names `dir`.
pub fn pids_mentioning(dir: &Path) -> Vec<u32> {
    let needle = dir.as_os_str().as_encoded_bytes();
    let me = std::process::id();
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid = entry.file_name().to_str()?.parse::<u32>().ok()?;
            // a zombie's cmdline is empty
            let cmdline = fs::read(entry.path().join("cmdline")).ok()?;
            (pid != me && cmdline.windows(needle.len()).any(|w| w == needle)).then_some(pid)
        })
        .collect()
}

/// Kills (with their process groups) all processes whose command line names `dir`.
pub(super) fn kill_processes_mentioning(dir: &Path) {
    for pid in pids_mentioning(dir) {
        let pid = pid as libc::pid_t;
        // SAFETY: plain syscalls.
        unsafe {
            let pgid = libc::getpgid(pid);
            if pgid == pid {
                libc::kill(-pgid, libc::SIGKILL);
            }
            libc::kill(pid, libc::SIGKILL);
        }
    }
}

/// "pid starttime" of this process: identifies it even if its pid is reused later.
pub(super) fn owner_stamp() -> String {
    let pid = std::process::id();
    format!("{pid} {}\n", start_time(pid).unwrap_or_default())
}

pub(super) fn start_time(pid: u32) -> Option<String> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    // fields after comm start at field 3 (state); starttime is field 22
    rest.split_whitespace().nth(19).map(str::to_owned)
}

/// Removes stacks left by test processes that died without dropping them
/// (SIGKILL, abort): kills their servers and deletes their dirs.
pub(super) fn reap_stale_stacks() {
    let Ok(entries) = fs::read_dir("/tmp") else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with(STACK_PREFIX) {
            continue;
        }
        let path = entry.path();
        let alive = match fs::read_to_string(path.join("owner")) {
            Ok(stamp) => {
                let mut it = stamp.split_whitespace();
                match (it.next().and_then(|p| p.parse::<u32>().ok()), it.next()) {
                    (Some(pid), Some(start)) => start_time(pid).as_deref() == Some(start),
                    _ => false,
                }
            }
            // being created right now, or debris: only reap once it is old
            Err(_) => entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_none_or(|age| age < Duration::from_secs(60)),
        };
        if !alive {
            kill_processes_mentioning(&path);
            let _ = fs::remove_dir_all(&path);
        }
    }
}
