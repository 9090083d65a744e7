//! Watches a show's folders for edits (notify), so a VJ's saved shader shows up live.
//! Events arrive on notify's thread; the render loop drains them without waiting.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, channel};

use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};

pub struct FileWatcher {
    _watcher: RecommendedWatcher,
    rx: Receiver<PathBuf>,
}

/// Why a show's folders cannot be watched for edits. The show plays on; edits are then only
/// seen after a restart.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WatchError {
    /// The system's file watching (inotify) is not available or out of watches.
    #[error("cannot watch files: {0}")]
    Unavailable(notify::Error),
    #[error("none of the show's folders could be watched")]
    NoFolder,
}

impl FileWatcher {
    /// Watches each of `dirs` (not recursively). Fails if none can be watched.
    pub fn new(dirs: &[PathBuf]) -> Result<Self, WatchError> {
        let (tx, rx) = channel();
        let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            if let Ok(event) = res {
                if matches!(event.kind, EventKind::Modify(_) | EventKind::Create(_)) {
                    for p in event.paths {
                        let _ = tx.send(p);
                    }
                }
            }
        })
        .map_err(WatchError::Unavailable)?;
        let mut watched = 0;
        for d in dirs {
            if watcher.watch(d, RecursiveMode::NonRecursive).is_ok() {
                watched += 1;
            }
        }
        if watched == 0 {
            return Err(WatchError::NoFolder);
        }
        Ok(Self {
            _watcher: watcher,
            rx,
        })
    }

    /// Files changed since the last call, each once. Never blocks.
    pub fn changed(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = Vec::new();
        while let Ok(p) = self.rx.try_recv() {
            if !out.contains(&p) {
                out.push(p);
            }
        }
        out
    }
}

/// The folders holding `files`, each once.
pub fn parent_dirs(files: &[PathBuf]) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    for f in files {
        let d = f
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        if !dirs.contains(&d) {
            dirs.push(d);
        }
    }
    dirs
}
