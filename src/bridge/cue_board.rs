//! Where the show stands in its cue list, latest value wins: the live show (control thread)
//! writes it after every GO, jump and reload; controllers that report the show read it (OSC's
//! `/somnia/status`, later the operator's console). Only non-real-time threads touch it, so a
//! short lock is fine; the audio thread never sees it.

use std::sync::Mutex;

/// A cue as a performer knows it: its number (from 1, in file order) and its label.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CueName {
    pub number: usize,
    pub label: String,
}

impl std::fmt::Display for CueName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.label.is_empty() {
            write!(f, "cue {}", self.number)
        } else {
            write!(f, "cue {} “{}”", self.number, self.label)
        }
    }
}

/// The cue list's state as the performer sees it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CueStatus {
    /// What the next GO fires: the first manual cue after the last one GOne.
    pub standby: Option<CueName>,
}

#[derive(Debug, Default)]
pub struct CueBoard(Mutex<CueStatus>);

impl CueBoard {
    pub fn set(&self, status: CueStatus) {
        if let Ok(mut s) = self.0.lock() {
            *s = status;
        }
    }

    pub fn get(&self) -> CueStatus {
        self.0.lock().map(|s| s.clone()).unwrap_or_default()
    }
}
