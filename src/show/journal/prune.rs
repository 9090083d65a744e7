//! Keeps a journals folder under its cap: the oldest journals go first, never the one being
//! written. A kiosk that runs for months keeps its last weeks, and never fills its disk.

use std::path::{Path, PathBuf};

/// Removes the oldest journals in `dir` (by modification time) until those left come to at
/// most `keep_bytes`, leaving `current` alone. Returns what it removed. Files that are not
/// journals are never touched.
pub fn prune(dir: &Path, keep_bytes: u64, current: Option<&Path>) -> Vec<PathBuf> {
    let Ok(read) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut journals: Vec<(std::time::SystemTime, u64, PathBuf)> = read
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == super::EXTENSION))
        .filter_map(|e| {
            let m = e.metadata().ok()?;
            m.is_file().then(|| {
                (
                    m.modified().unwrap_or(std::time::UNIX_EPOCH),
                    m.len(),
                    e.path(),
                )
            })
        })
        .collect();
    journals.sort();
    let mut total: u64 = journals.iter().map(|j| j.1).sum();
    let mut removed = Vec::new();
    for (_, len, path) in journals {
        if total <= keep_bytes {
            break;
        }
        if current.is_some_and(|c| c == path) {
            continue;
        }
        if std::fs::remove_file(&path).is_ok() {
            total -= len;
            removed.push(path);
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_journals_go_until_the_folder_fits_and_the_current_one_and_other_files_stay() {
        let dir = tempfile::tempdir().unwrap();
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        let mut paths = Vec::new();
        for i in 0..4u64 {
            let p = dir.path().join(format!("{i}.somnia-journal"));
            std::fs::write(&p, vec![0u8; 1000]).unwrap();
            let f = std::fs::File::options().write(true).open(&p).unwrap();
            f.set_modified(old + std::time::Duration::from_secs(60 * i))
                .unwrap();
            paths.push(p);
        }
        std::fs::write(dir.path().join("notes.txt"), vec![0u8; 5000]).unwrap();
        // The oldest is the current one: it stays, and the next two go.
        let removed = prune(dir.path(), 2000, Some(&paths[0]));
        assert_eq!(removed, [paths[1].clone(), paths[2].clone()]);
        assert!(paths[0].exists() && paths[3].exists());
        assert!(dir.path().join("notes.txt").exists());
    }
}
