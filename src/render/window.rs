//! The live window: winit's event loop on the main thread, drawing each frame for the time
//! the audio clock reports. Esc quits, space pauses and resumes.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use winit::application::ApplicationHandler;
use winit::event::{ElementState, KeyEvent, WindowEvent};
use winit::event_loop::{ActiveEventLoop, ControlFlow, EventLoop};
use winit::window::{Fullscreen, Window, WindowId};

use super::blanking::BlankingOff;
use super::gpu::{Gpu, RenderError};
use super::mapping::stage::OutputStage;
use super::mapping::virtual_out::VirtualOutput;
use super::output_windows::{Screen, window_outputs};
use super::picture_meter::PictureMeter;
use super::renderer::{FrameInputs, JoinCodeShown, Renderer, ShownCaption};
use super::service::ServiceNotifier;
use crate::bridge::ShowCommand;
use crate::bridge::health::GpuMemory;
use crate::bridge::{AnalysisReader, Health, Transport};
use crate::control::intent::{Intent, Steering};
use crate::control::keys::{KeyAction, KeyMap};
use crate::show::Diagnostic;
use crate::show::Timeline;
use crate::show::live::ShowMail;
use crate::show::live_look::LiveLook;
use crate::show::outputs::OutputMap;
use crate::show::watch::{FileWatcher, parent_dirs};

#[derive(Clone, Debug)]
pub struct WindowOptions {
    pub fullscreen: bool,
    /// The photosensitive flash guard (on unless explicitly turned off).
    pub flash_guard: bool,
    /// Close the window once the performance has ended (for scripted runs).
    pub exit_at_end: bool,
    /// Close the window after this much show time (`--seconds`).
    pub quit_after_s: Option<f64>,
    pub size: Option<(u32, u32)>,
    /// Which monitor fullscreen goes to (as `somnia list monitors` numbers them).
    pub monitor: Option<usize>,
    /// Wait for the display's refresh (no tearing); off trades tearing for latency.
    pub vsync: bool,
    /// Rehearsal mode: errors also show in a small overlay on the picture.
    pub rehearsal: bool,
    /// Locked (a kiosk): no key does anything but this chord, which quits.
    pub lock: Option<crate::control::keys::Chord>,
    /// An output map (`--outputs`): a window per window output, each showing its slices of
    /// the canvas through its projector's correction.
    pub outputs: Option<OutputMap>,
}

/// The window's line to the live show on the control thread: transport commands go out
/// (keys, saved files), new timelines and load errors come back.
pub struct ShowLink {
    /// What the keys steer: the live show, and MIDI learn (L) when MIDI input runs.
    pub steering: Steering,
    pub updates: Arc<ShowMail>,
    /// Live changes to the picture (OSC and MIDI).
    pub looks: Receiver<crate::bridge::StampedLook>,
    /// Where each presented frame is counted, for `/health` and `/somnia/status`.
    pub health: Arc<Health>,
    /// Folders to watch besides those of the shaders and presets (the performance's).
    pub dirs: Vec<PathBuf>,
    /// Set while the display is to sleep (a closed kiosk's `sleep` look).
    pub display_asleep: Option<Arc<std::sync::atomic::AtomicBool>>,
    /// The audience page's join code: its address, when the page is served.
    pub join: Option<JoinLink>,
    /// Where the console's thumbnails are asked for (at the start and after a preset or a
    /// shader changes); `None`: no console.
    pub thumbnails: Option<Arc<crate::bridge::Thumbnails>>,
}

// Every value of a layer fits the health report.
const _: () = assert!(crate::show::look::MAX_LAYER_PARAMS <= crate::bridge::health::SHOWN_PARAMS);

/// Where the audience joins, for the join code on the picture.
#[derive(Clone, Debug)]
pub struct JoinLink {
    /// The page's address, as the code holds it.
    pub url: Arc<str>,
    /// Shown all the time (a kiosk's `join_code = true`); else when a cue shows it.
    pub always: bool,
}

impl Default for WindowOptions {
    /// Safe by default: the flash guard is on.
    fn default() -> Self {
        Self {
            fullscreen: false,
            flash_guard: true,
            exit_at_end: false,
            quit_after_s: None,
            size: None,
            monitor: None,
            vsync: true,
            rehearsal: false,
            lock: None,
            outputs: None,
        }
    }
}

struct Live {
    /// The display neither blanks nor sleeps while the window is open.
    blanking: BlankingOff,
    /// Shader edits, reloaded live; `None` if the folders cannot be watched.
    watcher: Option<FileWatcher>,
    window: Arc<Window>,
    /// `None` after the surface or the device was lost, until the GPU side is rebuilt.
    surface: Option<wgpu::Surface<'static>>,
    config: wgpu::SurfaceConfiguration,
    /// The surface may be viewed as sRGB (an output's flash guard then works in place).
    srgb_views: bool,
    /// With an output map: the other window outputs' windows (the first is `window`).
    extra: Vec<Screen>,
    /// With an output map: the canvas, and each output's mapping and guard.
    stage: Option<OutputStage>,
    /// The output `window` shows.
    primary_output: usize,
    /// With an output map: its virtual outputs, drawn offscreen and streamed to their files.
    virtuals: Vec<VirtualOutput>,
    gpu: Gpu,
    renderer: Renderer,
    /// Each frame's brightness, read back for the health report (of this device).
    meter: PictureMeter,
}

struct App {
    timeline: Arc<Timeline>,
    transport: Arc<Transport>,
    analysis: AnalysisReader,
    options: WindowOptions,
    live: Option<Live>,
    /// A failure that ended the loop, reported by [`run`].
    error: Option<WindowError>,
    /// How far past the end of a performance to keep drawing with `exit_at_end`.
    tail_s: f64,
    last_frame: Option<Instant>,
    /// The first frame has been presented (and said so).
    picture_up: bool,
    /// With vsync, frames are paced to the display's refresh here too: some surfaces (a
    /// virtual display, a compositor that does not block) would otherwise be drawn as fast as
    /// the GPU goes, taking the CPU the sound and the controllers need.
    next_frame: Option<Instant>,
    link: Option<ShowLink>,
    /// What is steered live over the timeline.
    live_look: LiveLook,
    /// The current error of each file that failed to load, for the log and the overlay.
    errors: BTreeMap<PathBuf, String>,
    /// When each live change drawn in this frame was received (reused: no allocation a frame
    /// once it has grown).
    look_received: Vec<Instant>,
    /// What the keys mean.
    keys: KeyMap,
    /// The modifiers held now, for a locked window's chord.
    held: crate::control::keys::Held,
    /// The display was put to sleep.
    asleep: bool,
    /// systemd, told when the picture is up and fed from here while it stays up.
    service: ServiceNotifier,
    /// The `Health::playing_changes` the service manager was last told of.
    service_told: u64,
    /// When the GPU allocator's report is next read for the health report.
    next_gpu_report: Option<Instant>,
    /// The device was lost and the picture is being rebuilt.
    gpu_lost: bool,
    /// When the GPU side may be rebuilt again (after a failed try, or a rebuild just made).
    next_gpu_try: Option<Instant>,
    /// How long the next failed rebuild waits: doubling from 1 s to 30 s.
    gpu_retry_s: f64,
    /// A debug switch for tests of the way back: destroy the device at this show time
    /// (`SOMNIA_DEBUG_LOSE_GPU_AT_S`).
    lose_gpu_at_s: Option<f64>,
    /// The display's refresh rate, as last asked (for counting dropped frames).
    refresh_hz: f64,
    /// The crowd figures the journal last had (each change goes to it).
    journaled_crowd: crate::bridge::Crowd,
}

/// The shortest wait between two rebuilds of the GPU side, and the longest between failed tries.
const MIN_GPU_RETRY_S: f64 = 1.0;
const MAX_GPU_RETRY_S: f64 = 30.0;
/// How often the GPU allocator's report is read for `/health`.
const GPU_REPORT_EVERY: Duration = Duration::from_secs(5);

/// Why the window could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WindowError {
    /// No display to open a window on: run under a desktop session, or point DISPLAY (or
    /// WAYLAND_DISPLAY) at one (`xvfb-run` on a server).
    #[error("no display: {0}")]
    NoDisplay(String),
    /// A window, but nothing can draw into it: the machine lacks a GPU driver.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// A shader of the show does not compile: bad input, fixed in the file (each diagnostic
    /// names its file:line:col).
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Shaders(Vec<Diagnostic>),
    /// The window system refused (the window could not be made, or its loop failed).
    #[error("{0}")]
    Failed(String),
}

/// Opens the window and runs until Esc, the window is closed, or (with `exit_at_end`) the
/// performance ends. Must be called on the main thread.
pub fn run(
    timeline: Arc<Timeline>,
    transport: Arc<Transport>,
    analysis: AnalysisReader,
    options: WindowOptions,
    link: Option<ShowLink>,
) -> Result<(), WindowError> {
    let event_loop = EventLoop::new().map_err(|e| WindowError::NoDisplay(e.to_string()))?;
    event_loop.set_control_flow(ControlFlow::Poll);
    // The join code the picture shows is drawn again from the journal too.
    if let Some((link, join)) = link.as_ref().and_then(|l| Some((l, l.join.as_ref()?))) {
        let journal = &link.steering.sink.journal;
        if journal.is_on() {
            journal.send(crate::bridge::Note::Join {
                url: join.url.to_string(),
                always: join.always,
            });
        }
    }
    let lock = options.lock.clone();
    let mut app = App {
        timeline,
        transport,
        analysis,
        options,
        live: None,
        error: None,
        tail_s: 0.5,
        last_frame: None,
        picture_up: false,
        next_frame: None,
        link,
        live_look: LiveLook::default(),
        errors: BTreeMap::new(),
        look_received: Vec::with_capacity(1024),
        keys: lock.map_or_else(KeyMap::default, KeyMap::locked),
        held: Default::default(),
        asleep: false,
        service: ServiceNotifier::from_env(),
        service_told: 0,
        next_gpu_report: None,
        gpu_lost: false,
        next_gpu_try: None,
        gpu_retry_s: MIN_GPU_RETRY_S,
        lose_gpu_at_s: std::env::var("SOMNIA_DEBUG_LOSE_GPU_AT_S")
            .ok()
            .and_then(|s| s.parse().ok()),
        refresh_hz: 60.0,
        journaled_crowd: Default::default(),
    };
    event_loop
        .run_app(&mut app)
        .map_err(|e| WindowError::Failed(e.to_string()))?;
    app.service.stopping();
    match app.error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

impl App {
    /// New timelines from the control thread (a GO, a seek, a saved file) and load errors.
    fn take_show_updates(&mut self) {
        let (Some(link), Some(live)) = (&self.link, &mut self.live) else {
            return;
        };
        let Some(update) = link.updates.take() else {
            return;
        };
        let mut presets_changed = false;
        if let Some(timeline) = update.show {
            self.errors
                .retain(|p, _| p.extension().is_none_or(|e| e != "toml"));
            for d in live
                .renderer
                .set_fade_styles(&live.gpu, &timeline.fade_styles)
            {
                tracing::warn!("somnia: a fade style failed; its fades are plain mixes:\n{d}");
                self.errors.insert(d.path.clone(), d.to_string());
            }
            if timeline.presets != self.timeline.presets {
                presets_changed = true;
                let mut failed = false;
                for d in live.renderer.rebuild(&live.gpu, &timeline.presets) {
                    tracing::warn!("somnia: shader error, keeping the last good look:\n{d}");
                    self.errors.insert(d.path.clone(), d.to_string());
                    failed = true;
                }
                if !failed {
                    self.errors.retain(|p, _| {
                        p.extension()
                            .is_none_or(|e| e != "wgsl" && e != "fs" && e != "vs")
                    });
                }
            }
            self.timeline = timeline;
        }
        if let Some(diags) = update.load_failed {
            self.errors
                .retain(|p, _| p.extension().is_none_or(|e| e != "toml"));
            for d in diags {
                self.errors.insert(d.path.clone(), d.to_string());
            }
        }
        self.publish_errors();
        if presets_changed {
            self.ask_for_thumbnails();
        }
    }

    /// The errors go to the rehearsal overlay and to whoever reports them (the console).
    fn publish_errors(&mut self) {
        let errors: Vec<String> = self.errors.values().cloned().collect();
        if let Some(link) = &self.link {
            link.health.set_errors(&errors);
        }
        if let Some(live) = &mut self.live {
            live.renderer.set_errors(errors);
        }
    }

    /// Asks for thumbnails of the presets as their files are now (the console's grid).
    fn ask_for_thumbnails(&self) {
        if let Some(board) = self.link.as_ref().and_then(|l| l.thumbnails.as_ref()) {
            board.request();
        }
    }

    /// Live editing: a saved shader is rebuilt, a saved preset or performance reloads the show.
    /// Whatever fails keeps the last good version running; the error is logged with its
    /// file:line:col and, in rehearsal mode, shown on the picture until the file is fixed.
    fn reload_changed_files(&mut self) {
        self.take_show_updates();
        let Some(live) = &mut self.live else { return };
        let changed = live
            .watcher
            .as_ref()
            .map(FileWatcher::changed)
            .unwrap_or_default();
        if changed.is_empty() {
            return;
        }
        let mut show_changed = false;
        let mut shader_reloaded = false;
        let map_path = live
            .stage
            .as_ref()
            .and_then(|s| std::fs::canonicalize(&s.map().path).ok());
        for path in changed {
            let extension = path.extension().and_then(|e| e.to_str());
            // The output map, saved by hand (or by a calibration's save): its values are
            // taken live; a map that does not read keeps the last good mapping.
            if map_path.is_some() && std::fs::canonicalize(&path).ok() == map_path {
                let Some(stage) = live.stage.as_mut() else {
                    continue;
                };
                let file = stage.map().path.clone();
                match crate::show::outputs::load_outputs(&file) {
                    Ok(map) if &map == stage.map() => {
                        self.errors.remove(&path);
                    }
                    Ok(map) => match stage.reload(&live.gpu, map) {
                        Ok(()) => {
                            tracing::info!("somnia: output map reloaded from {}", file.display());
                            self.errors.remove(&path);
                            if let Some(link) = &self.link {
                                link.health.set_outputs(stage.report());
                            }
                        }
                        Err(e) => {
                            tracing::warn!("somnia: {}: {e}", file.display());
                            self.errors
                                .insert(path.clone(), format!("{}: {e}", file.display()));
                        }
                    },
                    Err(diags) => {
                        let said: Vec<String> = diags.iter().map(ToString::to_string).collect();
                        tracing::warn!(
                            "somnia: the output map does not read; the last good mapping stays:\n{}",
                            said.join("\n")
                        );
                        self.errors.insert(path.clone(), said.join("\n"));
                    }
                }
                continue;
            }
            // An ISF shader's inputs are its presets' parameters: the show reloads too.
            if extension == Some("fs") {
                show_changed = true;
            }
            match extension {
                Some("wgsl" | "fs" | "vs") => {
                    // A custom vertex stage is part of the `.fs` of its name.
                    let path = match extension {
                        Some("vs") => path.with_extension("fs"),
                        _ => path,
                    };
                    // The version about to be drawn, for the journal (each version once).
                    if let Some(link) = &self.link {
                        link.steering.sink.journal.file(&path);
                    }
                    for result in
                        live.renderer
                            .reload_shader(&live.gpu, &path, &self.timeline.presets)
                    {
                        match result {
                            Ok(name) => {
                                tracing::info!("somnia: reloaded `{name}` from {}", path.display());
                                self.errors.remove(&path);
                                shader_reloaded = true;
                            }
                            Err(d) => {
                                tracing::warn!(
                                    "somnia: shader error, keeping the last good look:\n{d}"
                                );
                                self.errors.insert(path.clone(), d.to_string());
                            }
                        }
                    }
                }
                Some("toml") => show_changed = true,
                _ => {}
            }
        }
        if let (true, Some(link)) = (show_changed, &self.link) {
            link.steering
                .carry_out(Intent::Show(ShowCommand::Reload), Instant::now());
        }
        self.publish_errors();
        if shader_reloaded {
            self.ask_for_thumbnails();
        }
    }

    fn start(&mut self, event_loop: &ActiveEventLoop) -> Result<Live, WindowError> {
        if let Some(map) = self.options.outputs.clone() {
            return self.start_outputs(event_loop, &map);
        }
        let (w, h) = self.options.size.unwrap_or((1280, 720));
        let mut attrs = Window::default_attributes()
            .with_title(format!("Somnia — {}", self.timeline.title))
            .with_inner_size(winit::dpi::PhysicalSize::new(w, h));
        if self.options.fullscreen {
            let monitor = match self.options.monitor {
                Some(i) => {
                    let m = event_loop.available_monitors().nth(i);
                    if m.is_none() {
                        tracing::warn!(
                            "somnia: no monitor {i} (`somnia list monitors` numbers them); using the primary one"
                        );
                    }
                    m
                }
                None => None,
            };
            attrs = attrs.with_fullscreen(Some(Fullscreen::Borderless(monitor)));
        }
        let window = Arc::new(
            event_loop
                .create_window(attrs)
                .map_err(|e| WindowError::Failed(format!("cannot open a window: {e}")))?,
        );
        if self.options.fullscreen {
            window.set_cursor_visible(false);
        }
        let attached = attach(
            std::slice::from_ref(&window),
            event_loop,
            &self.options,
            None,
            &self.timeline.presets,
            &self.timeline.fade_styles,
            None,
        )?;
        self.live_from(window, Vec::new(), 0, attached)
    }

    /// The windows of an output map: one a window output, the first of them the one whose
    /// redraws pace the frames.
    fn start_outputs(
        &mut self,
        event_loop: &ActiveEventLoop,
        map: &OutputMap,
    ) -> Result<Live, WindowError> {
        let shown = window_outputs(map);
        if shown.is_empty() {
            return Err(WindowError::Failed(format!(
                "{} has no window outputs to play on; `somnia render --outputs` draws its virtual ones",
                map.path.display()
            )));
        }
        let mut windows = Vec::new();
        for &i in &shown {
            let attrs = super::output_windows::attributes(
                event_loop,
                &self.timeline.title,
                &map.outputs[i],
            );
            let window = Arc::new(event_loop.create_window(attrs).map_err(|e| {
                WindowError::Failed(format!(
                    "cannot open output `{}`'s window: {e}",
                    map.outputs[i].name
                ))
            })?);
            window.set_cursor_visible(false);
            windows.push(window);
        }
        let attached = attach(
            &windows,
            event_loop,
            &self.options,
            Some((map, &shown)),
            &self.timeline.presets,
            &self.timeline.fade_styles,
            None,
        )?;
        let mut windows = windows.into_iter();
        let primary = windows.next().expect("one window at least");
        let extra: Vec<Arc<Window>> = windows.collect();
        let virtuals: Vec<VirtualOutput> = map
            .outputs
            .iter()
            .enumerate()
            .filter_map(|(i, o)| match &o.kind {
                crate::show::outputs::OutputKind::Virtual { file } => Some(VirtualOutput::new(
                    &attached.gpu,
                    i,
                    &o.name,
                    o.size,
                    file.as_deref(),
                )),
                _ => None,
            })
            .collect();
        tracing::info!(
            "somnia: {} output window(s) and {} virtual output(s) from {}",
            shown.len(),
            virtuals.len(),
            map.path.display()
        );
        let mut live = self.live_from(primary, extra, shown[0], attached)?;
        live.virtuals = virtuals;
        Ok(live)
    }

    fn live_from(
        &mut self,
        window: Arc<Window>,
        extra_windows: Vec<Arc<Window>>,
        primary_output: usize,
        attached: Attached,
    ) -> Result<Live, WindowError> {
        let Attached {
            mut surfaces,
            gpu,
            renderer,
            stage,
        } = attached;
        let (surface, config, srgb_views) = surfaces.remove(0);
        let extra = extra_windows
            .into_iter()
            .zip(surfaces)
            .zip(self.extra_outputs())
            .map(|((window, (surface, config, srgb_views)), output)| Screen {
                window,
                surface: Some(surface),
                config,
                srgb_views,
                output,
            })
            .collect();
        let mut watched = renderer.shader_paths();
        watched.extend(self.timeline.presets.iter().map(|p| p.path.clone()));
        watched.retain(|p| !crate::show::preset::is_builtin(p));
        let mut dirs = parent_dirs(&watched);
        dirs.extend(self.link.iter().flat_map(|r| r.dirs.iter().cloned()));
        if let Some(map) = &self.options.outputs {
            dirs.extend(parent_dirs(std::slice::from_ref(&map.path)));
        }
        dirs.sort();
        dirs.dedup();
        let watcher = match FileWatcher::new(&dirs) {
            // Nothing to watch (a kiosk opening on its built-in closed look): nothing to say.
            Err(_) if dirs.is_empty() => None,
            Ok(w) => Some(w),
            Err(e) => {
                tracing::warn!("somnia: {e}; shaders and presets will not reload while playing");
                None
            }
        };
        Ok(Live {
            blanking: BlankingOff::new(),
            watcher,
            window,
            surface: Some(surface),
            config,
            srgb_views,
            extra,
            stage,
            primary_output,
            virtuals: Vec::new(),
            meter: PictureMeter::new(&gpu.device),
            gpu,
            renderer,
        })
    }

    /// The outputs the windows after the first show, in the map's order.
    fn extra_outputs(&self) -> Vec<usize> {
        self.options
            .outputs
            .as_ref()
            .map(|m| window_outputs(m).into_iter().skip(1).collect())
            .unwrap_or_default()
    }

    /// A lost GPU device (or window surface) is built anew: adapter, device, surface,
    /// pipelines and textures, and the picture carries on at the show's time; the sound, on
    /// its own thread, never stops for it. A rebuild that fails is tried again each second.
    fn recover_gpu(&mut self, event_loop: &ActiveEventLoop) {
        let Some(live) = &mut self.live else { return };
        let now = Instant::now();
        if let Some(at_s) = self.lose_gpu_at_s {
            if self.transport.estimated_time_s(now, 0.05) >= at_s {
                self.lose_gpu_at_s = None;
                tracing::info!(
                    "somnia: debug: destroying the graphics device (SOMNIA_DEBUG_LOSE_GPU_AT_S)"
                );
                live.gpu.device.destroy();
            }
        }
        // wgpu calls its device-lost callback from here (and from submissions); a frame's poll
        // never waits.
        let _ = live.gpu.device.poll(wgpu::PollType::Poll);
        if live.gpu.is_lost() && !self.gpu_lost {
            self.gpu_lost = true;
            tracing::warn!("somnia: the graphics device was lost; building the picture anew");
            if let Some(link) = &self.link {
                link.health.count_gpu_device_loss();
            }
        }
        if !self.gpu_lost
            && live.surface.is_some()
            && live.extra.iter().all(|s| s.surface.is_some())
        {
            return;
        }
        if self.next_gpu_try.is_some_and(|t| now < t) {
            return;
        }
        live.surface = None;
        for s in &mut live.extra {
            s.surface = None;
        }
        let mut windows = vec![live.window.clone()];
        windows.extend(live.extra.iter().map(|s| s.window.clone()));
        let mut shown = vec![live.primary_output];
        shown.extend(live.extra.iter().map(|s| s.output));
        // The mapping as calibrated now, not as the file had it at the start.
        let map = live.stage.as_ref().map(|s| s.map().clone());
        match attach(
            &windows,
            event_loop,
            &self.options,
            map.as_ref().map(|m| (m, shown.as_slice())),
            &self.timeline.presets,
            &self.timeline.fade_styles,
            Some(&live.renderer),
        ) {
            Ok(Attached {
                mut surfaces,
                gpu,
                mut renderer,
                stage,
            }) => {
                renderer.set_errors(self.errors.values().cloned().collect());
                live.renderer = renderer;
                live.meter = PictureMeter::new(&gpu.device);
                live.gpu = gpu;
                live.stage = stage;
                let (surface, config, srgb_views) = surfaces.remove(0);
                live.config = config;
                live.srgb_views = srgb_views;
                live.surface = Some(surface);
                for (s, (surface, config, srgb_views)) in live.extra.iter_mut().zip(surfaces) {
                    s.surface = Some(surface);
                    s.config = config;
                    s.srgb_views = srgb_views;
                }
                for v in &mut live.virtuals {
                    v.rebuild(&live.gpu);
                }
                self.gpu_lost = false;
                // A driver that loses the surface again and again is not rebuilt every frame.
                self.gpu_retry_s = MIN_GPU_RETRY_S;
                self.next_gpu_try = Some(now + Duration::from_secs_f64(MIN_GPU_RETRY_S));
                tracing::info!("somnia: the picture is back");
            }
            Err(e) => {
                // Said at each doubling of the wait, then every 30 s.
                tracing::warn!(
                    "somnia: the picture cannot be rebuilt yet ({e}); trying again in {:.0} s",
                    self.gpu_retry_s
                );
                self.next_gpu_try = Some(now + Duration::from_secs_f64(self.gpu_retry_s));
                self.gpu_retry_s = (self.gpu_retry_s * 2.0).min(MAX_GPU_RETRY_S);
            }
        }
    }

    fn draw(&mut self, event_loop: &ActiveEventLoop) {
        self.reload_changed_files();
        self.recover_gpu(event_loop);
        let Some(live) = &mut self.live else { return };
        let asleep = self
            .link
            .as_ref()
            .and_then(|l| l.display_asleep.as_ref())
            .is_some_and(|a| a.load(std::sync::atomic::Ordering::Relaxed));
        if asleep != self.asleep {
            self.asleep = asleep;
            let said = match (asleep, live.blanking.sleep(asleep)) {
                (true, true) => Some("the display sleeps"),
                (false, true) => Some("the display is awake"),
                (true, false) => Some("the display cannot sleep here (no DPMS); it shows black"),
                // It never slept: nothing to say.
                (false, false) => None,
            };
            if let Some(said) = said {
                tracing::info!("somnia: {said}");
            }
        }
        let time_s = self.transport.estimated_time_s(Instant::now(), 0.05);
        let past_end = self.options.exit_at_end && time_s > self.timeline.duration_s + self.tail_s;
        if past_end || self.options.quit_after_s.is_some_and(|q| time_s > q) {
            event_loop.exit();
            return;
        }
        let Some(surface) = &live.surface else { return };
        let frame = match surface.get_current_texture() {
            wgpu::CurrentSurfaceTexture::Success(f)
            | wgpu::CurrentSurfaceTexture::Suboptimal(f) => f,
            wgpu::CurrentSurfaceTexture::Outdated => {
                surface.configure(&live.gpu.device, &live.config);
                return;
            }
            // A lost surface is made anew (with the device, in `recover_gpu`).
            wgpu::CurrentSurfaceTexture::Lost => {
                live.surface = None;
                return;
            }
            _ => return,
        };
        // The flash guard's step is the real time between frames (bounded: a stall is not a
        // licence for a sudden jump, the guard clamps it too).
        let now = Instant::now();
        let dt_s = self
            .last_frame
            .map_or(1.0 / 60.0, |t| now.duration_since(t).as_secs_f32());
        self.last_frame = Some(now);
        // This frame shows until about the next one: the last frame's interval estimates it.
        let span_s = Timeline::frame_time(time_s, f64::from(dt_s.min(0.1)));
        if let Some(link) = &self.link {
            for stamped in link.looks.try_iter().take(1024) {
                self.look_received.push(stamped.received);
                if let crate::bridge::LookCommand::Output(adjust) = &stamped.look {
                    match live.stage.as_mut() {
                        Some(stage) => match stage.adjust(&live.gpu, adjust) {
                            Ok(()) => link.health.set_outputs(stage.report()),
                            Err(e) => tracing::warn!("somnia: output map: {e}"),
                        },
                        None => tracing::warn!(
                            "somnia: an output calibration arrived, but no output map plays (--outputs)"
                        ),
                    }
                    continue;
                }
                // The journal has it as applied: on this frame's show time.
                let journal = &link.steering.sink.journal;
                if journal.is_on() {
                    journal.send(crate::bridge::Note::Look {
                        show_s: span_s,
                        look: stamped.look.clone(),
                    });
                }
                self.live_look.apply(stamped.look, &self.timeline, span_s);
            }
        }
        let (visual, captions) = ShownCaption::live_visual(&self.timeline, &self.live_look, span_s);
        let analysis = self.analysis.latest();
        if let Some(link) = &self.link {
            link.health.set_levels(crate::bridge::Levels {
                rms: analysis.rms,
                peak: analysis.peak,
                bands: analysis.bands,
            });
            link.health.set_showing(visual.preset, &visual.params);
        }
        let crowd = self
            .link
            .as_ref()
            .map(|l| l.steering.sink.crowd.get())
            .unwrap_or_default();
        if let Some(link) = &self.link {
            // The journal has each change.
            let journal = &link.steering.sink.journal;
            if crowd != self.journaled_crowd && journal.is_on() {
                self.journaled_crowd = crowd;
                journal.send(crate::bridge::Note::Crowd(crowd));
            }
        }
        let join_code = self
            .link
            .as_ref()
            .and_then(|l| l.join.as_ref())
            .map(|j| JoinCodeShown {
                url: j.url.clone(),
                opacity: if j.always { 1.0 } else { visual.join_code },
            });
        let inputs = FrameInputs {
            time_s,
            dt_s,
            // An external MIDI clock, while one runs, sets the beat; else the show's tempo map.
            musical: self
                .transport
                .external_clock()
                .musical_at(Instant::now(), self.timeline.tempo.beats_per_bar)
                .unwrap_or_else(|| self.timeline.musical_at(time_s)),
            analysis,
            visual,
            captions,
            crowd,
            join_code,
            date: crate::render::isf_layer::date_now(),
        };
        let mut encoder = live
            .gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("frame"),
            });
        let mut extra_frames = Vec::new();
        let mut virtual_slots = Vec::new();
        let metered = match live.stage.as_mut() {
            None => {
                live.renderer
                    .encode(&live.gpu, &mut encoder, &frame.texture, &inputs);
                live.meter.encode(&live.renderer, &mut encoder)
            }
            Some(stage) => {
                // The canvas once, then each window's output of it, guarded.
                let canvas = stage.canvas_view().clone();
                let size = stage.canvas_size();
                live.renderer
                    .encode_canvas(&live.gpu, &mut encoder, &canvas, size, &inputs);
                stage.encode(
                    &live.gpu,
                    &mut encoder,
                    live.primary_output,
                    &frame.texture,
                    live.srgb_views,
                    dt_s,
                );
                let view = frame.texture.create_view(&Default::default());
                let target = (frame.texture.width(), frame.texture.height());
                live.renderer
                    .encode_overlay(&live.gpu, &mut encoder, &view, target);
                for screen in &mut live.extra {
                    let Some(surface) = &screen.surface else {
                        continue;
                    };
                    let f = match surface.get_current_texture() {
                        wgpu::CurrentSurfaceTexture::Success(f)
                        | wgpu::CurrentSurfaceTexture::Suboptimal(f) => f,
                        wgpu::CurrentSurfaceTexture::Outdated => {
                            surface.configure(&live.gpu.device, &screen.config);
                            continue;
                        }
                        wgpu::CurrentSurfaceTexture::Lost => {
                            screen.surface = None;
                            continue;
                        }
                        _ => continue,
                    };
                    stage.encode(
                        &live.gpu,
                        &mut encoder,
                        screen.output,
                        &f.texture,
                        screen.srgb_views,
                        dt_s,
                    );
                    extra_frames.push((screen.window.clone(), f));
                }
                for v in &mut live.virtuals {
                    stage.encode(&live.gpu, &mut encoder, v.output, &v.texture, true, dt_s);
                    if let Some(slot) = v.encode_copy(&mut encoder) {
                        virtual_slots.push(slot);
                    } else {
                        virtual_slots.push(usize::MAX);
                    }
                }
                let guard = stage.guard(live.primary_output);
                live.meter.encode_from(&mut encoder, |encoder, dst| {
                    guard
                        .map(|g| g.copy_output_luminance(encoder, dst))
                        .is_some()
                })
            }
        };
        live.gpu.queue.submit([encoder.finish()]);
        if let Some(slot) = metered {
            live.meter.submitted(slot);
        }
        live.window.pre_present_notify();
        live.gpu.queue.present(frame);
        for (window, f) in extra_frames {
            window.pre_present_notify();
            live.gpu.queue.present(f);
        }
        for (v, slot) in live.virtuals.iter_mut().zip(virtual_slots) {
            if slot != usize::MAX {
                v.submitted(slot);
            }
            v.collect();
        }
        let now = Instant::now();
        if let Some(link) = &self.link {
            let period_s = self.options.vsync.then(|| 1.0 / self.refresh_hz);
            link.health.frame_presented(now, period_s);
            link.health.looks_shown(now, &self.look_received);
            self.look_received.clear();
            live.meter
                .collect(&live.gpu.device, |mean| link.health.frame_luminance(mean));
            // The GPU allocator's report is a walk over every allocation: now and then.
            if self.next_gpu_report.is_none_or(|t| now >= t) {
                self.next_gpu_report = Some(now + GPU_REPORT_EVERY);
                if let Some(r) = live.gpu.device.generate_allocator_report() {
                    link.health.set_gpu_memory(GpuMemory {
                        allocated_bytes: r.total_allocated_bytes,
                        reserved_bytes: r.total_reserved_bytes,
                        allocations: r.allocations.len() as u64,
                    });
                }
            }
        }
        if !self.picture_up {
            // Said once: the operator (and a script) knows the show can be seen.
            self.picture_up = true;
            let launch = crate::bridge::launch::since_launch_s;
            let sound = match self.transport.first_heard() {
                Some(at) => format!("the first sound {:.2} s", launch(at)),
                None => "no sound heard yet".to_string(),
            };
            tracing::info!(
                "somnia: the picture is up ({}x{}), {:.2} s after launch; {sound}",
                live.config.width,
                live.config.height,
                launch(std::time::Instant::now())
            );
        }
        // What plays: a kiosk's item (as it says on /health), else the show's title.
        let health = self.link.as_ref().map(|l| &l.health);
        let changes = health.map_or(0, |h| h.playing_changes());
        let playing = || {
            health
                .map(|h| h.playing())
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| self.timeline.title.clone())
        };
        if self.service.is_ready() && changes != self.service_told {
            self.service.status(&format!("playing {}", playing()));
        }
        self.service_told = changes;
        self.service.presented(now, playing);
    }
}

impl App {
    /// Carries out what a key asks of the show, through the same steering as OSC and MIDI.
    fn steer(&self, intent: Intent) {
        let learn = matches!(intent, Intent::Learn(_));
        match &self.link {
            Some(link) if !learn || link.steering.learn.is_some() => {
                link.steering
                    .carry_out_from("keyboard", intent, Instant::now());
            }
            _ if learn => {
                tracing::warn!("somnia: MIDI learn needs MIDI input (it is off: --no-midi)")
            }
            _ => tracing::warn!("somnia: {intent:?} needs a live show"),
        }
    }
}

/// The GPU side of the windows, as [`attach`] builds it.
struct Attached {
    /// Each window's surface, its configuration and whether it may be viewed as sRGB.
    surfaces: Vec<(wgpu::Surface<'static>, wgpu::SurfaceConfiguration, bool)>,
    gpu: Gpu,
    renderer: Renderer,
    /// With an output map: the canvas and every output's pass.
    stage: Option<OutputStage>,
}

/// The GPU side of the windows: a surface on each, a device that can present to them, the
/// renderer's pipelines for `presets` and, with an output map (and the output each window
/// shows), the output stage. Built at start, and again after the device is lost.
///
/// After a loss, `lost` is the renderer that drew before: a layer whose shader file does not
/// build now (it is mid-edit) is built from the source it last drew with.
fn attach(
    windows: &[Arc<Window>],
    event_loop: &ActiveEventLoop,
    options: &WindowOptions,
    outputs: Option<(&OutputMap, &[usize])>,
    presets: &[crate::show::preset::Preset],
    fade_styles: &[crate::show::preset::Preset],
    lost: Option<&Renderer>,
) -> Result<Attached, WindowError> {
    let mut tried = None;
    for backends in crate::render::gpu::backend_tries() {
        let mut desc = wgpu::InstanceDescriptor::new_with_display_handle_from_env(Box::new(
            event_loop.owned_display_handle(),
        ));
        if let Some(b) = backends {
            desc.backends = b;
        }
        let instance = wgpu::Instance::new(desc);
        // A backend that cannot make a surface here (no Vulkan at all) gives way to the next.
        let surfaces: Result<Vec<_>, _> = windows
            .iter()
            .map(|w| instance.create_surface(w.clone()))
            .collect();
        let surfaces = match surfaces {
            Ok(s) => s,
            Err(e) => {
                tried = Some(Err(RenderError::Surface(e.to_string())));
                continue;
            }
        };
        match Gpu::with_instance(instance, surfaces.first()) {
            Ok(gpu) => {
                tried = Some(Ok((gpu, surfaces)));
                break;
            }
            Err(e) => tried = Some(Err(e)),
        }
    }
    let (gpu, surfaces) =
        tried.unwrap_or_else(|| Err(RenderError::NoAdapter("no backend was tried".into())))?;
    let mut configured = Vec::new();
    for (surface, window) in surfaces.into_iter().zip(windows) {
        let caps = surface.get_capabilities(&gpu.adapter);
        // Prefer a non-sRGB format so the window shows the same bytes as `somnia render`.
        let format = caps
            .formats
            .iter()
            .copied()
            .find(|f| !f.is_srgb())
            .or(caps.formats.first().copied())
            .ok_or(RenderError::Surface("it offers no formats".into()))?;
        let size = window.inner_size();
        let mut config = surface
            .get_default_config(&gpu.adapter, size.width.max(1), size.height.max(1))
            .ok_or(RenderError::Surface(
                "it is not supported by this adapter".into(),
            ))?;
        config.format = format;
        config.present_mode = if options.vsync {
            wgpu::PresentMode::AutoVsync
        } else {
            wgpu::PresentMode::AutoNoVsync
        };
        // The flash guard works on the frame in place when the surface can be sampled and
        // viewed as sRGB; drivers that refuse get the guard's own full pass instead.
        let srgb_views = configure_for_in_place_guard(&surface, &gpu, &caps, &mut config);
        configured.push((surface, config, srgb_views));
    }
    let format = configured[0].1.format;
    let srgb_views = configured[0].2;
    let mut renderer = match lost {
        None => Renderer::new(&gpu, format, presets).map_err(WindowError::Shaders)?,
        Some(lost) => {
            let (renderer, kept) =
                Renderer::after_loss(&gpu, format, presets, lost).map_err(WindowError::Shaders)?;
            for d in kept {
                tracing::warn!("somnia: shader error, keeping the last good look:\n{d}");
            }
            renderer
        }
    };
    for d in renderer.set_fade_styles(&gpu, fade_styles) {
        tracing::warn!("somnia: a fade style failed; its fades are plain mixes:\n{d}");
    }
    renderer.set_srgb_views(srgb_views);
    let stage = match outputs {
        None => {
            if !options.flash_guard {
                renderer.set_flash_guard(&gpu.device, false);
            }
            None
        }
        Some((map, shown)) => {
            // Each output is guarded as its projector shows it; the canvas is not.
            renderer.set_flash_guard(&gpu.device, false);
            let formats: Vec<wgpu::TextureFormat> = (0..map.outputs.len())
                .map(|i| {
                    // A virtual output draws into an offscreen target of the capture format.
                    shown
                        .iter()
                        .position(|s| *s == i)
                        .map_or(super::offscreen::Offscreen::FORMAT, |w| {
                            configured[w].1.format
                        })
                })
                .collect();
            Some(
                OutputStage::new(&gpu, map, format, &formats, options.flash_guard)
                    .map_err(|e| WindowError::Failed(e.to_string()))?,
            )
        }
    };
    tracing::info!(
        "somnia: rendering on {}{}",
        gpu.describe(),
        if !options.flash_guard {
            ""
        } else if srgb_views {
            " (flash guard in place)"
        } else {
            " (flash guard in its own pass: this surface cannot be sampled)"
        }
    );
    renderer.set_rehearsal(options.rehearsal);
    Ok(Attached {
        surfaces: configured,
        gpu,
        renderer,
        stage,
    })
}

impl ApplicationHandler for App {
    fn about_to_wait(&mut self, event_loop: &ActiveEventLoop) {
        if crate::bridge::shutdown::requested() {
            tracing::info!("somnia: asked to stop (a signal); the show ends");
            event_loop.exit();
            return;
        }
        let (Some(next), Some(live)) = (self.next_frame, &self.live) else {
            return;
        };
        if Instant::now() >= next {
            self.next_frame = None;
            event_loop.set_control_flow(ControlFlow::Poll);
            live.window.request_redraw();
        } else {
            event_loop.set_control_flow(ControlFlow::WaitUntil(next));
        }
    }

    fn resumed(&mut self, event_loop: &ActiveEventLoop) {
        if self.live.is_some() {
            return;
        }
        match self.start(event_loop) {
            Ok(live) => {
                live.window.request_redraw();
                if let (Some(link), Some(stage)) = (&self.link, &live.stage) {
                    link.health.set_outputs(stage.report());
                }
                self.live = Some(live);
                self.ask_for_thumbnails();
            }
            Err(e) => {
                self.error = Some(e);
                event_loop.exit();
            }
        }
    }

    fn window_event(&mut self, event_loop: &ActiveEventLoop, id: WindowId, event: WindowEvent) {
        match event {
            // A locked window (a kiosk) is not closed by a visitor's window manager shortcut.
            WindowEvent::CloseRequested if self.options.lock.is_some() => {
                tracing::info!(
                    "somnia: the window is locked; close it with its key chord or a signal"
                );
            }
            WindowEvent::CloseRequested => event_loop.exit(),
            WindowEvent::ModifiersChanged(m) => {
                let state = m.state();
                self.held = crate::control::keys::Held {
                    ctrl: state.control_key(),
                    alt: state.alt_key(),
                    shift: state.shift_key(),
                };
            }
            // Destroyed by another program (a window manager, `xdotool windowclose`): as a
            // close. Drawing on would only fail, again and again.
            WindowEvent::Destroyed => {
                tracing::info!("somnia: the window was closed by another program; the show ends");
                self.live = None;
                event_loop.exit();
            }
            WindowEvent::Resized(size) => {
                let extra = self.live.as_mut().and_then(|l| {
                    let screen = l.extra.iter_mut().find(|s| s.window.id() == id)?;
                    Some((screen, &l.gpu))
                });
                if let Some((screen, gpu)) = extra {
                    screen.config.width = size.width.max(1);
                    screen.config.height = size.height.max(1);
                    if let Some(surface) = &screen.surface {
                        surface.configure(&gpu.device, &screen.config);
                    }
                } else if let Some(live) = &mut self.live {
                    live.config.width = size.width.max(1);
                    live.config.height = size.height.max(1);
                    if let Some(surface) = &live.surface {
                        surface.configure(&live.gpu.device, &live.config);
                    }
                }
            }
            // A key held down repeats, and X11 replays the keys held when the window gains
            // focus as synthetic presses: neither is a performer pressing a transport key, and
            // one press must never count twice.
            WindowEvent::KeyboardInput {
                event:
                    KeyEvent {
                        logical_key,
                        state: ElementState::Pressed,
                        repeat: false,
                        ..
                    },
                is_synthetic: false,
                ..
            } => match self.keys.action_with(&logical_key, self.held) {
                Some(KeyAction::Quit) => {
                    match &self.options.lock {
                        Some(chord) => tracing::info!("somnia: {chord} pressed; the show ends"),
                        None => tracing::info!("somnia: Esc pressed; the show ends"),
                    }
                    event_loop.exit();
                }
                Some(KeyAction::Steer(intent)) => self.steer(intent),
                None => {}
            },
            // The first window's redraws pace every output's frames; the others' are theirs.
            WindowEvent::RedrawRequested
                if self.live.as_ref().is_some_and(|l| l.window.id() != id) => {}
            WindowEvent::RedrawRequested => {
                let started = Instant::now();
                self.draw(event_loop);
                if let Some(live) = &self.live {
                    if live.surface.is_none() {
                        // Nothing to draw into while the GPU side is rebuilt: no spinning.
                        let next = started + Duration::from_millis(50);
                        self.next_frame = Some(next);
                        event_loop.set_control_flow(ControlFlow::WaitUntil(next));
                    } else if self.options.vsync {
                        let hz = live
                            .window
                            .current_monitor()
                            .and_then(|m| m.refresh_rate_millihertz())
                            .map_or(60.0, |mhz| f64::from(mhz) / 1000.0)
                            .clamp(24.0, 360.0);
                        self.refresh_hz = hz;
                        let next = started + Duration::from_secs_f64(1.0 / hz);
                        self.next_frame = Some(next);
                        event_loop.set_control_flow(ControlFlow::WaitUntil(next));
                    } else {
                        live.window.request_redraw();
                    }
                }
            }
            _ => {}
        }
    }
}

/// Names of the monitors, numbered as `--monitor` takes them.
/// Configures the surface to be sampled and viewed as sRGB, if the driver allows; otherwise
/// configures it plainly. Returns whether it worked.
fn configure_for_in_place_guard(
    surface: &wgpu::Surface<'_>,
    gpu: &Gpu,
    caps: &wgpu::SurfaceCapabilities,
    config: &mut wgpu::SurfaceConfiguration,
) -> bool {
    let srgb = config.format.add_srgb_suffix();
    if srgb != config.format && caps.usages.contains(wgpu::TextureUsages::TEXTURE_BINDING) {
        let mut wanted = config.clone();
        wanted.usage |= wgpu::TextureUsages::TEXTURE_BINDING;
        wanted.view_formats = vec![srgb];
        let scope = gpu.device.push_error_scope(wgpu::ErrorFilter::Validation);
        surface.configure(&gpu.device, &wanted);
        if pollster::block_on(scope.pop()).is_none() {
            *config = wanted;
            return true;
        }
    }
    surface.configure(&gpu.device, config);
    false
}

pub fn monitor_names() -> Result<Vec<String>, WindowError> {
    struct Lister(Vec<String>);
    impl ApplicationHandler for Lister {
        fn resumed(&mut self, event_loop: &ActiveEventLoop) {
            self.0 = event_loop
                .available_monitors()
                .enumerate()
                .map(|(i, m)| {
                    let size = m.size();
                    format!(
                        "{i}: {} ({}x{})",
                        m.name().unwrap_or_else(|| "unnamed".into()),
                        size.width,
                        size.height
                    )
                })
                .collect();
            event_loop.exit();
        }
        fn window_event(&mut self, _: &ActiveEventLoop, _: WindowId, _: WindowEvent) {}
    }
    if cfg!(target_os = "linux")
        && ["DISPLAY", "WAYLAND_DISPLAY"]
            .iter()
            .all(|v| std::env::var_os(v).is_none_or(|s| s.is_empty()))
    {
        return Err(WindowError::NoDisplay(
            "DISPLAY and WAYLAND_DISPLAY are not set".into(),
        ));
    }
    let event_loop = EventLoop::new().map_err(|_| {
        WindowError::NoDisplay(
            "none could be opened; is DISPLAY or WAYLAND_DISPLAY right?".to_string(),
        )
    })?;
    let mut lister = Lister(Vec::new());
    event_loop
        .run_app(&mut lister)
        .map_err(|e| WindowError::Failed(e.to_string()))?;
    Ok(lister.0)
}
