//! The control socket in `state_dir`: while the daemon holds the store (sled is
//! single-writer), the CLI asks it over this socket. One JSON request line, one JSON
//! answer line.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use otklik_core::archive::{Entry, Query, Similar};
use otklik_core::decide::{Facts, Questions};
use otklik_core::workflow::Case;

use crate::archive::Archive;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::Notify;

use crate::outbox::{self, Listed};
use crate::status::Live;
use crate::store::Store;

/// The control socket's path in the state directory.
pub fn socket_path(state_dir: &Path) -> PathBuf {
    state_dir.join("otklik.sock")
}

/// A request to the running service over the control socket.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Request {
    /// All cases.
    Cases,
    /// The open cases (`otklik cases` without `--all`).
    OpenCases,
    /// One case by number.
    Case {
        /// The case number.
        number: u64,
    },
    /// The facts the core needs to decide about a message (`otklik route`).
    Facts(Box<Questions>),
    /// Outbox depth and case counts.
    Status,
    /// The queued mails and the dead letters, or only the dead ones (`otklik outbox`).
    Outbox {
        /// Only the dead letters.
        dead_only: bool,
    },
    /// Dead letter `seq` back into the queue (`otklik outbox --resend`).
    Resend {
        /// The dead letter's number.
        seq: u64,
    },
    /// What `otklik status` reports: only the running service answers it.
    Health,
    /// Imports archive rows (line, entry), all or none (`otklik archive import`).
    ArchiveImport {
        /// The rows, each with its line in the file.
        rows: Vec<(usize, Entry)>,
    },
    /// The earlier answers most like a post, any score (`otklik similar`).
    Similar(Box<Query>),
    /// The stored training examples of the routing model (`otklik route` trains the same
    /// model as the service from them).
    Training,
}

/// Cases travel as recorded: their attachments by name, type, hash and size, never the
/// bytes (the CLI prints names only).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Response {
    /// The cases asked for.
    Cases(Vec<Case>),
    /// The case asked for, if it exists.
    Case(Option<Box<Case>>),
    /// The facts the core needs to decide about a message.
    Facts(Box<Facts>),
    /// The case count and the outbox depth.
    Status {
        /// How many cases there are.
        cases: usize,
        /// How many mails wait in the outbox.
        outbox: usize,
    },
    /// The outbox's mails.
    Outbox(Vec<Listed>),
    /// The dead letter is queued again, durably; the daemon's sender was woken.
    Resent {
        /// The dead letter's number.
        seq: u64,
    },
    /// The running service's health.
    Health(Box<otklik_core::status::Health>),
    /// How many archive rows were imported.
    Imported {
        /// The count.
        count: usize,
    },
    /// The earlier answers, best first.
    Similar(Vec<Similar>),
    /// The routing model's stored training examples.
    Training(Vec<otklik_core::learning::signals::Taught>),
    /// The request failed; why.
    Error(String),
}

/// Answers one request from the store (the daemon and the CLI's own fallback share this).
/// Without the daemon's archive, one is built from the store when a request needs it
/// (its cases' dates then in UTC).
pub fn answer(store: &Store, req: &Request) -> Response {
    answer_with(store, None, req)
}

/// [`answer`], with the running service's archive.
pub fn answer_with(store: &Store, archive: Option<&Archive>, req: &Request) -> Response {
    let needs_archive = match req {
        Request::Facts(q) => q.similar_to.is_some(),
        Request::ArchiveImport { .. } | Request::Similar(_) => true,
        _ => false,
    };
    let built;
    let archive = match archive {
        Some(a) => Some(a),
        None if needs_archive => match Archive::load(store, chrono_tz::UTC) {
            Ok(a) => {
                built = a;
                Some(&built)
            }
            Err(e) => return Response::Error(e.to_string()),
        },
        None => None,
    };
    let result = (|| -> Result<Response, crate::store::StoreError> {
        Ok(match req {
            Request::Cases => Response::Cases(store.cases().collect::<Result<_, _>>()?),
            Request::OpenCases => Response::Cases(store.open_cases()?),
            Request::Case { number } => Response::Case(store.case_record(*number)?.map(Box::new)),
            Request::Facts(q) => {
                Response::Facts(Box::new(crate::handler::facts(store, archive, q)?))
            }
            Request::ArchiveImport { rows } => match archive {
                Some(a) => match a.import(store, rows.clone()) {
                    Ok(count) => Response::Imported { count },
                    Err(e) => Response::Error(e.to_string()),
                },
                None => Response::Error("no archive".into()),
            },
            Request::Similar(q) => {
                Response::Similar(archive.map(|a| a.candidates(q)).unwrap_or_default())
            }
            Request::Training => Response::Training(store.training()?),
            Request::Status => Response::Status {
                cases: store.case_count(),
                outbox: store.outbox_len(),
            },
            Request::Outbox { dead_only } => Response::Outbox(outbox::list(store, *dead_only)?),
            Request::Resend { seq } => match outbox::resend(store, *seq) {
                Ok(()) => Response::Resent { seq: *seq },
                Err(e) => Response::Error(e.to_string()),
            },
            Request::Health => {
                Response::Error("only the running service reports its status".into())
            }
        })
    })();
    result.unwrap_or_else(|e| Response::Error(e.to_string()))
}

/// Serves the socket until the task is dropped. `outbox_wake` wakes the sender after a
/// dead letter is queued again.
pub async fn serve(listener: UnixListener, store: Store, outbox_wake: Arc<Notify>) {
    serve_with(listener, store, outbox_wake, None, None).await
}

/// [`serve`], answering [`Request::Health`] from the service's `live` facts.
pub async fn serve_with(
    listener: UnixListener,
    store: Store,
    outbox_wake: Arc<Notify>,
    live: Option<Arc<Live>>,
    archive: Option<Arc<Archive>>,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let store = store.clone();
        let wake = outbox_wake.clone();
        let live = live.clone();
        let archive = archive.clone();
        tokio::spawn(async move {
            if let Err(e) = serve_one(stream, store, wake, live, archive).await {
                tracing::debug!(error = %e, "control connection ended");
            }
        });
    }
}

async fn serve_one(
    stream: UnixStream,
    store: Store,
    outbox_wake: Arc<Notify>,
    live: Option<Arc<Live>>,
    archive: Option<Arc<Archive>>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    while let Some(line) = lines.next_line().await? {
        let response = match serde_json::from_str::<Request>(&line) {
            Ok(req) => {
                let store = store.clone();
                let live = live.clone();
                let archive = archive.clone();
                tokio::task::spawn_blocking(move || match (&req, live) {
                    (Request::Health, Some(live)) => {
                        match live.health(&store, chrono::Utc::now()) {
                            Ok(f) => Response::Health(Box::new(f)),
                            Err(e) => Response::Error(e.to_string()),
                        }
                    }
                    _ => answer_with(&store, archive.as_deref(), &req),
                })
                .await
                .unwrap_or_else(|e| Response::Error(e.to_string()))
            }
            Err(e) => Response::Error(format!("bad request: {e}")),
        };
        if matches!(response, Response::Resent { .. }) {
            outbox_wake.notify_one();
        }
        let mut bytes =
            serde_json::to_vec(&response).unwrap_or_else(|_| b"{\"error\":\"encoding\"}".to_vec());
        bytes.push(b'\n');
        write.write_all(&bytes).await?;
    }
    Ok(())
}

/// Asks a running daemon; `None` when no daemon listens.
pub fn ask(state_dir: &Path, req: &Request) -> Option<Response> {
    ask_within(state_dir, req, None).ok()
}

/// Why a daemon gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum AskError {
    /// Nothing listens on the socket.
    #[error("no service listens on {path}: {source}")]
    Connect {
        /// The socket's path.
        path: String,
        /// What the system reported.
        source: std::io::Error,
    },
    /// The service did not answer.
    #[error("the service on {path} did not answer: {source}")]
    Answer {
        /// The socket's path.
        path: String,
        /// What the system reported.
        source: std::io::Error,
    },
    /// The answer could not be read.
    #[error("the service on {path} answered something unreadable: {source}")]
    Garbled {
        /// The socket's path.
        path: String,
        /// What the JSON reader reported.
        source: serde_json::Error,
    },
}

/// [`ask`], saying why there is no answer, and giving up after `timeout` (None: waits).
pub fn ask_within(
    state_dir: &Path,
    req: &Request,
    timeout: Option<std::time::Duration>,
) -> Result<Response, AskError> {
    use std::io::{BufRead, Write};
    let path = socket_path(state_dir);
    let name = path.display().to_string();
    let mut stream =
        std::os::unix::net::UnixStream::connect(&path).map_err(|source| AskError::Connect {
            path: name.clone(),
            source,
        })?;
    let answer_err = |source| AskError::Answer {
        path: name.clone(),
        source,
    };
    stream.set_read_timeout(timeout).map_err(answer_err)?;
    stream.set_write_timeout(timeout).map_err(answer_err)?;
    let mut line = serde_json::to_vec(req).map_err(|source| AskError::Garbled {
        path: name.clone(),
        source,
    })?;
    line.push(b'\n');
    stream.write_all(&line).map_err(answer_err)?;
    let mut reader = std::io::BufReader::new(stream);
    let mut answer = String::new();
    reader.read_line(&mut answer).map_err(answer_err)?;
    serde_json::from_str(&answer).map_err(|source| AskError::Garbled { path: name, source })
}
