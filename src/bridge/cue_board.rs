//! Where the show stands in its cue list, latest value wins: the live show (control thread)
//! writes it after every GO, jump and reload; controllers that report the show read it (OSC's
//! `/somnia/status`, the operator's console). Only non-real-time threads touch it, so a
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
    /// Every cue, in file order.
    pub cues: Vec<CueRow>,
    /// The show's presets, in its order (what a console offers to cut to).
    pub presets: Vec<PresetFacts>,
    pub title: String,
    pub duration_s: f64,
    /// Whether the show has a composer whose macros can be moved.
    pub symphony: bool,
    /// The tempo map, counting from `origin_s` on the show clock (for MIDI clock out).
    pub tempo: crate::clock::Tempo,
    pub origin_s: f64,
}

/// One cue of the list.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CueRow {
    pub name: CueName,
    /// When it fires (or would, GOne on time from here) on the show clock; `None` while that
    /// is not known.
    pub time_s: Option<f64>,
    /// It waits for GO.
    pub manual: bool,
    pub state: CueRowState,
}

/// Where a cue stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CueRowState {
    /// Its time is set (it has fired, or will at its time).
    #[default]
    Timed,
    /// It waits for a GO.
    Waiting,
    /// Passed over: it plays only if jumped to.
    Skipped,
}

impl CueRowState {
    pub fn name(self) -> &'static str {
        match self {
            Self::Timed => "timed",
            Self::Waiting => "waiting",
            Self::Skipped => "skipped",
        }
    }
}

/// A preset as a console shows it: its name and its layer's parameters.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PresetFacts {
    pub name: String,
    pub params: Vec<ParamFacts>,
}

/// A parameter's name, range and default.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ParamFacts {
    pub name: String,
    pub min: f32,
    pub max: f32,
    pub default: f32,
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
