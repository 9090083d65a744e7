//! The composer: its macros (key, mode, tension, density, unity), from the file and live, and
//! the music it composes from them.

use super::compiler::Compiler;
use crate::bridge::LiveMacros;
use crate::show::diag::Reporter;
use crate::show::performance::MacrosFile;
use crate::show::symphony::{Macros, Mode, SymphonySpec, compose, key_from_name};

impl Compiler<'_> {
    /// Applies the macros given in `f` onto `m`, reporting bad values.
    pub(super) fn apply_macros(&mut self, m: &mut Macros, f: &MacrosFile) {
        apply_macros(m, f, &mut self.report());
    }

    /// The composer's music, if the performance has a `[symphony]`: from its start to its
    /// stop (or the end), with every macro change the cues and controllers made.
    pub(super) fn compose(&mut self) {
        let Some(sym) = &self.file.symphony else {
            return;
        };
        let sym = sym.get_ref();
        let start_s = sym.start.as_ref().and_then(|t| self.time(t)).unwrap_or(0.0);
        let end_s = sym
            .stop
            .as_ref()
            .and_then(|t| self.time(t))
            .unwrap_or(self.duration_s)
            .min(self.duration_s);
        // The opening macros again, their problems already reported.
        let mut base = Macros::default();
        let mut ignored = Vec::new();
        apply_macros(
            &mut base,
            &sym.macros(),
            &mut Reporter::new(self.path, self.src, &mut ignored),
        );
        let spec = SymphonySpec {
            seed: sym.seed.as_ref().map_or(1, |s| *s.get_ref() as u64),
            start_s,
            end_s,
            base,
            changes: std::mem::take(&mut self.macro_changes),
        };
        self.audio.extend(compose(&spec, &self.tempo));
    }
}

/// Applies the macros given in `f` onto `m`, reporting bad values to `r`.
fn apply_macros(m: &mut Macros, f: &MacrosFile, r: &mut Reporter) {
    if let Some(k) = &f.key {
        match key_from_name(k.get_ref()) {
            Some(pc) => m.key = pc,
            None => r.error_hint(
                k.span(),
                format!("`{}` is not a key", k.get_ref()),
                "write a note name: C, F#, Bb",
            ),
        }
    }
    if let Some(mode) = f
        .mode
        .as_ref()
        .and_then(|md| r.choice(md, "mode", &Mode::NAMES, Mode::from_name))
    {
        m.mode = mode;
    }
    for (v, name, dst) in [
        (&f.tension, "tension", &mut m.tension),
        (&f.density, "density", &mut m.density),
        (&f.unity, "unity", &mut m.unity),
    ] {
        if let Some(v) = v {
            if (0.0..=1.0).contains(v.get_ref()) {
                *dst = *v.get_ref() as f32;
            } else {
                r.error(
                    v.span(),
                    format!("{name} must be within 0..1, not {}", v.get_ref()),
                );
            }
        }
    }
}

/// Applies a live change of macros onto `m`.
pub(super) fn apply_live_macros(m: &mut Macros, l: &LiveMacros) -> Result<(), String> {
    if let Some(k) = &l.key {
        m.key = key_from_name(k).ok_or_else(|| format!("`{k}` is not a key"))?;
    }
    if let Some(md) = &l.mode {
        m.mode = Mode::from_name(md).ok_or_else(|| format!("unknown mode `{md}`"))?;
    }
    for (v, dst) in [
        (l.tension, &mut m.tension),
        (l.density, &mut m.density),
        (l.unity, &mut m.unity),
    ] {
        if let Some(v) = v.filter(|v| v.is_finite()) {
            *dst = v.clamp(0.0, 1.0);
        }
    }
    Ok(())
}
