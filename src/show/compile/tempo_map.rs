//! The performance's tempo map.

use crate::clock::Tempo;
use crate::show::diag::Reporter;
use crate::show::performance::PerformanceFile;

/// The performance's tempo map: `tempo_bpm` and `beats_per_bar`, then each `[[tempo]]`
/// change, whose position may itself be musical (read on the map so far).
pub(super) fn tempo_map(file: &PerformanceFile, r: &mut Reporter) -> Tempo {
    let mut bpb = 4;
    if let Some(b) = &file.beats_per_bar {
        if (1..=32).contains(b.get_ref()) {
            bpb = *b.get_ref() as u32;
        } else {
            r.error(b.span(), "beats_per_bar must be within 1..=32");
        }
    }
    let bpm_ok = |bpm: &toml::Spanned<f64>, r: &mut Reporter| {
        let ok = (10.0..=400.0).contains(bpm.get_ref());
        if !ok {
            r.error(
                bpm.span(),
                format!("a tempo must be within 10..400 BPM, not {}", bpm.get_ref()),
            );
        }
        ok
    };
    let mut tempo = Tempo::constant(120.0, bpb);
    if let Some(bpm) = &file.tempo_bpm {
        if bpm_ok(bpm, r) {
            tempo = Tempo::constant(*bpm.get_ref(), bpb);
        }
    }
    let mut last_beat = 0.0;
    for change in &file.tempo_changes {
        let t = match change.at.get_ref().seconds(&tempo) {
            Ok(t) => t,
            Err(e) => {
                r.error(change.at.span(), e);
                continue;
            }
        };
        let beat = tempo.beats_at(t);
        if beat < last_beat {
            r.error_hint(
                change.at.span(),
                "tempo changes must be in order",
                "sort the [[tempo]] tables by their `at`",
            );
            continue;
        }
        last_beat = beat;
        if bpm_ok(&change.bpm, r) {
            tempo.change_at_beat(beat, *change.bpm.get_ref());
        }
    }
    tempo
}
