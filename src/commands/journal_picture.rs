//! The picture of a live show drawn again from its journal, at any size and rate: each frame
//! at a moment of the show as it was heard shows the timeline the show had then (rebuilt from
//! the journal's files, as they stood, and what the live show compiled it with: its GOs and
//! live changes), at the show's clock then (from the replayed engine: pauses stand, seeks
//! jump, Link's rate runs), with what was steered live over it (the render thread's own
//! changes, each from the show time it was applied at), the sound's analysis, the audience's
//! crowd figures then, and the join code where the show showed one.

use std::path::{Component, Path, PathBuf};

use crate::bridge::{Crowd, LookCommand};
use crate::offline::replay::Replayed;
use crate::render::capture::FrameRenderer;
use crate::show::Timeline;
use crate::show::cues::{GoPlan, LiveInput};
use crate::show::journal::{Journal, Plan, Record};
use crate::show::kiosk::runner::{Look, placed_look};
use crate::show::live_look::LiveLook;

/// What the frames are asked to be.
#[derive(Debug, Clone, Copy)]
pub struct FramesWanted {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    /// Heard frames (of the sound, from its start) to draw from and to.
    pub from: u64,
    pub to: u64,
}

/// A folder the journal's files are written back into, removed when done.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A path from the journal, as a path inside `root`: relative, with no `..` (a journal is a
/// file someone may hand over; it never names a place outside its own folder).
fn inside(root: &Path, path: &str) -> Option<PathBuf> {
    let p = Path::new(path);
    p.components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
        .then(|| root.join(p))
}

/// What the show was: a performance (by its path in the project), a preset's preview, or a
/// kiosk.
#[derive(Debug, Clone, Copy)]
pub enum Drawn<'a> {
    Performance(&'a str),
    Preset { name: &'a str, seconds: f64 },
    Kiosk,
}

/// Draws the frames, handing each (RGBA8, by its number) to `sink`; returns how many.
pub fn draw_frames(
    journal: &Journal,
    replayed: &Replayed,
    drawn: Drawn<'_>,
    wanted: FramesWanted,
    mut sink: impl FnMut(u64, &[u8]) -> Result<(), String>,
) -> Result<u64, String> {
    let Some(start) = journal.start() else {
        return Err("the journal has no start".into());
    };
    let scratch = Scratch(std::env::temp_dir().join(format!(
        "somnia-journal-{}-{}",
        std::process::id(),
        jiff::Timestamp::now().as_nanosecond()
    )));
    std::fs::create_dir_all(&scratch.0).map_err(|e| e.to_string())?;
    let perf_path = match drawn {
        Drawn::Performance(p) => Some(
            inside(&scratch.0, p)
                .ok_or_else(|| format!("the journal names its performance oddly: {p}"))?,
        ),
        Drawn::Preset { .. } | Drawn::Kiosk => None,
    };

    // What happened, by output frame, in the journal's order.
    let mut files: Vec<(u64, &str, &[u8])> = Vec::new();
    let mut plans: Vec<(u64, &Plan)> = Vec::new();
    let mut looks: Vec<(u64, f64, &LookCommand)> = Vec::new();
    let mut crowds: Vec<(u64, Crowd)> = Vec::new();
    let mut join: Option<(std::sync::Arc<str>, bool)> = None;
    for r in &journal.records {
        match r {
            Record::File { frame, path, bytes } => files.push((*frame, path, bytes)),
            Record::Plan { frame, plan } => plans.push((*frame, plan)),
            Record::Look {
                frame,
                show_s,
                look,
            } => looks.push((*frame, *show_s, look)),
            Record::Crowd { frame, crowd, .. } => crowds.push((*frame, *crowd)),
            Record::Join { url, always, .. } => {
                join.get_or_insert_with(|| (url.as_str().into(), *always));
            }
            _ => {}
        }
    }
    let (mut next_file, mut next_plan, mut next_look, mut next_crowd) = (0, 0, 0, 0);
    let mut crowd = Crowd::default();
    // A live show starts with no GOs; a kiosk with its first look (said as the journal began).
    let mut plan = match drawn {
        Drawn::Performance(_) => Plan::Live(LiveInput::default()),
        Drawn::Preset { name, seconds } => Plan::Preset {
            name: name.to_string(),
            seconds,
        },
        Drawn::Kiosk => plans
            .first()
            .map(|p| p.1.clone())
            .ok_or("the kiosk's journal names no look")?,
    };
    let mut changed_shaders: Vec<PathBuf> = Vec::new();
    let write_files_to = |frame: u64, next: &mut usize, changed: &mut Vec<PathBuf>| {
        while let Some(&(_, path, bytes)) = files.get(*next).filter(|f| f.0 <= frame) {
            *next += 1;
            let Some(to) = inside(&scratch.0, path) else {
                continue;
            };
            if let Some(parent) = to.parent() {
                let _ = std::fs::create_dir_all(parent);
            }
            if std::fs::write(&to, bytes).is_ok() {
                changed.push(to);
            }
        }
    };
    let kiosk_load = super::kiosk::item_loader(
        crate::show::project::Project::new(&scratch.0),
        super::LimiterArgs::default(),
        Default::default(),
    );
    let said = |d: Vec<crate::show::Diagnostic>| {
        d.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    };
    let load = |plan: &Plan| -> Result<Timeline, String> {
        // A preview is compiled again from the files as they stand (as live: its show's
        // recompiles say no more than that).
        if let Drawn::Preset { name, seconds } = drawn {
            return crate::show::compile::preset_preview(
                &crate::show::project::Project::new(&scratch.0),
                name,
                seconds,
            )
            .map_err(said);
        }
        match (plan, &perf_path) {
            (Plan::Live(live), Some(perf)) => {
                crate::show::compile::load_timeline_with(perf, &GoPlan::Live(live.clone()))
                    .map_err(said)
            }
            (
                Plan::Kiosk {
                    look,
                    origin_s,
                    before,
                    fade_s,
                },
                None,
            ) => {
                let look = Look::from_journal(look).ok_or("a look this version lacks")?;
                let before = match before {
                    Some((b, o)) => Some((
                        Look::from_journal(b).ok_or("a look this version lacks")?,
                        *o,
                    )),
                    None => None,
                };
                placed_look(
                    &kiosk_load,
                    &look,
                    *origin_s,
                    before.as_ref().map(|(l, o)| (l, *o)),
                    *fade_s,
                )
                .map_err(said)
            }
            _ => Err("the journal's plans are not of its show".into()),
        }
    };

    let rate = f64::from(start.sample_rate_hz);
    let latency = u64::from(start.latency_frames);
    let first = wanted.from + latency;
    write_files_to(first, &mut next_file, &mut changed_shaders);
    while plans.get(next_plan).is_some_and(|p| p.0 <= first) {
        plan = plans[next_plan].1.clone();
        next_plan += 1;
    }
    let mut timeline = load(&plan)?;
    let mut fr =
        FrameRenderer::new(&timeline, wanted.width, wanted.height).map_err(|e| e.to_string())?;
    fr.set_frame_interval(1.0 / wanted.fps.max(1) as f32);
    fr.set_flash_guard(start.flash_guard);
    let mut live_look = LiveLook::default();
    let count = frame_count(&wanted, rate);
    for i in 0..count {
        let heard = wanted.from + (i as f64 * rate / f64::from(wanted.fps)).round() as u64;
        let frame = heard + latency;
        changed_shaders.clear();
        write_files_to(frame, &mut next_file, &mut changed_shaders);
        // As live: a saved preset or performance shows once the live show has compiled it
        // (its plan), a saved shader at once (the render thread rebuilds it itself).
        let mut replan = false;
        while plans.get(next_plan).is_some_and(|p| p.0 <= frame) {
            plan = plans[next_plan].1.clone();
            next_plan += 1;
            replan = true;
        }
        if replan {
            match load(&plan) {
                Ok(t) => {
                    timeline = t;
                    for e in fr.adopt(&timeline) {
                        tracing::warn!("somnia render: {e}");
                    }
                }
                // As live: a version that does not load leaves the last good one showing.
                Err(e) => tracing::warn!("somnia render: {e}"),
            }
        }
        for shader in changed_shaders
            .iter()
            .filter(|p| p.extension().is_some_and(|x| x != "toml"))
        {
            for r in fr.reload_shader(&timeline, shader) {
                if let Err(e) = r {
                    tracing::warn!("somnia render: {e}");
                }
            }
        }
        while let Some(&(_, show_s, look)) = looks.get(next_look).filter(|l| l.0 <= frame) {
            live_look.apply(look.clone(), &timeline, show_s);
            next_look += 1;
        }
        while let Some(&(_, c)) = crowds.get(next_crowd).filter(|c| c.0 <= frame) {
            crowd = c;
            next_crowd += 1;
        }
        // The show's clock as this moment was heard: the engine's, less its lookahead.
        let show_samples = replayed.show_sample_at(frame).saturating_sub(latency);
        let show_s = show_samples as f64 / rate;
        let analysis = replayed.analysis_at(frame);
        let rgba = fr
            .frame_replayed(
                &timeline,
                &live_look,
                analysis,
                crowd,
                join.as_ref().map(|(url, always)| (url, *always)),
                show_s,
            )
            .map_err(|e| e.to_string())?;
        sink(i, &rgba)?;
    }
    Ok(count)
}

/// How many frames `wanted` is at `rate_hz`.
pub fn frame_count(wanted: &FramesWanted, rate_hz: f64) -> u64 {
    ((wanted.to - wanted.from) as f64 / rate_hz * f64::from(wanted.fps)).ceil() as u64
}

/// What the journal's show was, for its picture to be drawn again: a kiosk, a performance
/// played with `somnia play`, or a preset's preview (named by its first plan). `None` for a
/// journal that says none of these.
pub fn drawable(journal: &Journal) -> Option<Drawn<'_>> {
    let start = journal.start()?;
    match (start.command.as_str(), start.performance.as_deref()) {
        ("kiosk", _) => Some(Drawn::Kiosk),
        (_, Some(p)) => Some(Drawn::Performance(p)),
        _ => journal.records.iter().find_map(|r| match r {
            Record::Plan {
                plan: Plan::Preset { name, seconds },
                ..
            } => Some(Drawn::Preset {
                name,
                seconds: *seconds,
            }),
            _ => None,
        }),
    }
}
