//! The compiler: what it has built so far, the presets it loads by name (each once), and the
//! opening of a performance (its length, master bus, first preset and dream mosaic).

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

use toml::Spanned;

use super::sort_diagnostics;
use crate::bridge::Curve;
use crate::bridge::{AudioParam, MasterSettings, Patch};
use crate::clock::Tempo;
use crate::show::cues::Resolved;
use crate::show::diag::{Diagnostic, Reporter};
use crate::show::look::{BlendMode, MAX_DREAMERS};
use crate::show::loops::{self, Loop};
use crate::show::performance::PerformanceFile;
use crate::show::preset::{Preset, load_preset};
use crate::show::project::Project;
use crate::show::symphony::Macros;
use crate::show::time::TimeSpec;
use crate::show::timeline::{
    AudioAction, AudioCue, Caption, Dreamer, Switch, Timeline, VisualChange,
};

/// Carries one performance file through compilation. Each phase adds to what is built and
/// reports what it finds through [`Compiler::report`].
pub(super) struct Compiler<'a> {
    pub(super) project: &'a Project,
    pub(super) path: &'a Path,
    pub(super) src: &'a str,
    pub(super) file: &'a PerformanceFile,
    /// Compiling for a live show (GOs given so far), not a render.
    pub(super) is_live: bool,
    pub(super) diags: Vec<Diagnostic>,

    /// Every preset loaded, in the order first named; indices are preset ids.
    pub(super) presets: Vec<Preset>,
    /// Each name looked up so far, and what it came to (`None`: it failed, already reported).
    by_name: HashMap<String, Option<usize>>,

    pub(super) tempo: Tempo,
    pub(super) duration_s: f64,
    master: MasterSettings,
    initial_patch: Patch,
    pub(super) audio: Vec<AudioCue>,
    pub(super) switches: Vec<Switch>,
    /// The ISF transitions cues name as `fade_style`, in the order first named.
    pub(super) fade_styles: Vec<Preset>,
    pub(super) changes: Vec<VisualChange>,
    pub(super) captions: Vec<Caption>,
    pub(super) dreamers: Vec<Dreamer>,
    unity: f32,

    /// The preset showing after the cues so far, as the show plays.
    pub(super) active: Option<usize>,
    /// The preset showing after the cues so far in a render. Live, a cue's parameter that this
    /// preset has is no error even when something else shows (an act passed over, a live
    /// preset change).
    pub(super) planned_active: Option<usize>,

    /// The composer's macros after the cues so far, those it opens with, and each change.
    pub(super) macros: Macros,
    pub(super) opening_macros: Macros,
    pub(super) macro_changes: Vec<(f64, Macros)>,
}

impl<'a> Compiler<'a> {
    /// Starts on `file`, reading its tempo map, length and master bus.
    pub(super) fn new(
        project: &'a Project,
        path: &'a Path,
        src: &'a str,
        file: &'a PerformanceFile,
        is_live: bool,
    ) -> Self {
        let mut diags = Vec::new();
        let tempo = super::tempo_map::tempo_map(file, &mut Reporter::new(path, src, &mut diags));
        let mut c = Self {
            project,
            path,
            src,
            file,
            is_live,
            diags,
            presets: Vec::new(),
            by_name: HashMap::new(),
            tempo,
            duration_s: 0.0,
            master: MasterSettings::default(),
            initial_patch: Patch::default(),
            audio: Vec::new(),
            switches: Vec::new(),
            fade_styles: Vec::new(),
            changes: Vec::new(),
            captions: Vec::new(),
            dreamers: Vec::new(),
            unity: 1.0,
            active: None,
            planned_active: None,
            macros: Macros::default(),
            opening_macros: Macros::default(),
            macro_changes: Vec::new(),
        };
        c.duration_s = c.time(&file.duration).unwrap_or(0.0);
        if c.duration_s <= 0.0 && c.diags.is_empty() {
            c.report()
                .error(file.duration.span(), "duration must be more than zero");
        }
        if let Some(ceiling) = &file.limiter_ceiling_db {
            let db = *ceiling.get_ref();
            if (-24.0..=0.0).contains(&db) {
                c.master.limiter_ceiling_db = db as f32;
            } else {
                c.report().error(
                    ceiling.span(),
                    format!("limiter_ceiling_db must be within -24..0 dBFS, not {db}"),
                );
            }
        }
        c
    }

    /// Where this file's problems go.
    pub(super) fn report(&mut self) -> Reporter<'_> {
        Reporter::new(self.path, self.src, &mut self.diags)
    }

    /// A time of the file in seconds on the tempo map, or reported.
    pub(super) fn time(&mut self, spec: &Spanned<TimeSpec>) -> Option<f64> {
        match spec.get_ref().seconds(&self.tempo) {
            Ok(t) => Some(t),
            Err(e) => {
                self.report().error(spec.span(), e);
                None
            }
        }
    }

    /// The preset `name` as an index into the presets, loaded the first time it is named;
    /// problems (no such preset, errors in its file) are reported the first time only.
    pub(super) fn preset(&mut self, name: &Spanned<String>) -> Option<usize> {
        let mut found = Vec::new();
        let index = self.preset_reporting_to(name.get_ref(), name.span(), &mut found);
        self.diags.extend(found);
        index
    }

    /// [`Compiler::preset`], with its problems put in `diags`, for a name that did not come
    /// from the file (a controller's, live).
    pub(super) fn preset_reporting_to(
        &mut self,
        name: &str,
        span: Range<usize>,
        diags: &mut Vec<Diagnostic>,
    ) -> Option<usize> {
        if let Some(found) = self.by_name.get(name) {
            return *found;
        }
        let result = match self.project.preset_path(name) {
            Err(e) => {
                diags.push(Diagnostic::at(self.path, self.src, span, e));
                None
            }
            Ok(p) if !p.exists() => {
                let available = self.project.preset_names();
                let place = self.project.presets_dir().display().to_string();
                let hint = match crate::show::diag::did_you_mean(
                    name,
                    available.iter().map(String::as_str),
                ) {
                    Some(s) => format!("did you mean `{s}`? (presets live in {place})"),
                    None => format!("presets live in {place}: {}", available.join(", ")),
                };
                diags.push(
                    Diagnostic::at(
                        self.path,
                        self.src,
                        span,
                        format!("no preset named `{name}`"),
                    )
                    .with_hint(hint),
                );
                None
            }
            Ok(p) => match load_preset(self.project, &p) {
                Ok(preset) => {
                    self.presets.push(preset);
                    Some(self.presets.len() - 1)
                }
                Err(errs) => {
                    diags.extend(errs);
                    None
                }
            },
        };
        self.by_name.insert(name.to_string(), result);
        result
    }

    /// The crossfade style a cue names (`fade_style`), loaded the first time; `None`, with
    /// the problem reported at the name, when it is not an ISF transition in `shaders/`.
    pub(super) fn fade_style(&mut self, name: &Spanned<String>) -> Option<usize> {
        let wanted = name.get_ref();
        if let Some(i) = self.fade_styles.iter().position(|p| p.name == *wanted) {
            return Some(i);
        }
        match crate::show::preset::fade_style(self.project, wanted) {
            Ok(style) => {
                self.fade_styles.push(style);
                Some(self.fade_styles.len() - 1)
            }
            Err(e) => {
                let place = self.project.shaders_dir().display().to_string();
                self.report().error_hint(
                    name.span(),
                    e,
                    format!(
                        "a fade style is an ISF transition's name, its file NAME.fs in {place}"
                    ),
                );
                None
            }
        }
    }

    /// The opening: the engine's tempo, the first preset and its patch, the dream mosaic and
    /// its unity, and the composer's opening macros.
    pub(super) fn opening(&mut self) {
        let file = self.file;
        // The engine's tempo (for synced delays and stutters) follows the performance's map.
        self.audio = self
            .tempo
            .segments()
            .iter()
            .map(|seg| AudioCue {
                time_s: seg.start_s,
                action: AudioAction::Param {
                    param: AudioParam::TempoBpm,
                    value: seg.bpm as f32,
                    ramp_s: 0.0,
                    curve: Curve::Linear,
                },
            })
            .collect();
        self.active = self.preset(&file.preset);
        self.planned_active = self.active;
        if let Some(i) = self.active {
            self.switches.push(Switch {
                time_s: 0.0,
                preset: i,
                fade_s: 0.0,
                style: None,
            });
            if let Some(p) = self.presets[i].patch {
                self.initial_patch = p;
            }
        }

        // The dream mosaic: its dreamers' layers and starting unity.
        if let Some(extra) = file.dreamers.get(MAX_DREAMERS) {
            self.report().error(
                extra.preset.span(),
                format!("a mosaic has at most {MAX_DREAMERS} dreamers"),
            );
        }
        for d in file.dreamers.iter().take(MAX_DREAMERS) {
            let preset = self.preset(&d.preset);
            let blend = d
                .blend
                .as_ref()
                .and_then(|b| {
                    self.report()
                        .choice(b, "blend mode", &BlendMode::NAMES, BlendMode::from_name)
                })
                .unwrap_or_default();
            let opacity = self.unit_value(d.opacity.as_ref(), "opacity", 1.0);
            if let Some(preset) = preset {
                self.dreamers.push(Dreamer {
                    preset,
                    blend,
                    opacity,
                    present: d.present.unwrap_or(true),
                });
            }
        }
        self.unity = self.unit_value(file.unity.as_ref(), "unity", 1.0);

        // The composer: its starting macros; the cues' changes follow.
        if let Some(sym) = &file.symphony {
            let mut macros = self.macros;
            self.apply_macros(&mut macros, &sym.get_ref().macros());
            self.macros = macros;
        }
        self.opening_macros = self.macros;
    }

    /// A 0..1 value from the file, or `default`; out of range is reported.
    pub(super) fn unit_value(&mut self, v: Option<&Spanned<f64>>, name: &str, default: f32) -> f32 {
        match v {
            None => default,
            Some(v) if (0.0..=1.0).contains(v.get_ref()) => *v.get_ref() as f32,
            Some(v) => {
                self.report().error(
                    v.span(),
                    format!("{name} must be within 0..1, not {}", v.get_ref()),
                );
                default
            }
        }
    }

    /// The timeline, or every problem found (in file order).
    pub(super) fn finish(
        mut self,
        resolved: Resolved,
        loop_regions: Vec<Loop>,
    ) -> Result<Timeline, Vec<Diagnostic>> {
        if !self.diags.is_empty() {
            sort_diagnostics(self.path, &mut self.diags);
            return Err(self.diags);
        }
        // Live, the end moves with the last act GOne.
        let duration_s = resolved.end_s;
        self.audio.push(AudioCue {
            time_s: duration_s,
            action: AudioAction::AllNotesOff,
        });
        let mut audio = super::loop_regions::unroll(&loop_regions, self.audio);
        audio.sort_by(|a, b| {
            // Releases first at equal times, so a note (or a loop's jump back) that ends as
            // another begins never cuts the new one.
            let rank = |c: &AudioCue| {
                u8::from(!matches!(
                    c.action,
                    AudioAction::NoteOff { .. } | AudioAction::AllNotesOff
                ))
            };
            a.time_s.total_cmp(&b.time_s).then(rank(a).cmp(&rank(b)))
        });
        self.switches.sort_by(|a, b| a.time_s.total_cmp(&b.time_s));
        self.changes.sort_by(|a, b| a.time_s.total_cmp(&b.time_s));
        self.captions
            .sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
        let path = self.path;
        Ok(Timeline {
            title: self.file.title.clone().unwrap_or_else(|| {
                path.file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or("untitled")
                    .to_string()
            }),
            tempo: self.tempo,
            duration_s: loops::show_length_s(&loop_regions, duration_s),
            origin_s: 0.0,
            before: None,
            loops: loop_regions,
            presets: self.presets,
            initial_patch: self.initial_patch,
            master: self.master,
            audio,
            switches: self.switches,
            fade_styles: self.fade_styles,
            changes: self.changes,
            dreamers: self.dreamers,
            unity: self.unity,
            captions: self.captions,
            cues: resolved.cues,
            symphony: self.file.symphony.is_some(),
        })
    }
}
