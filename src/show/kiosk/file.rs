//! The kiosk file: what an unattended installation plays, in what order, and when it is open.
//!
//! ```toml
//! title = "Dream Sanctuary"
//! order = "shuffle"          # in-order (default) or shuffle
//! shuffle = "bag"            # any, other (never the same twice), bag (each once a round)
//! fade_s = 3                 # the crossfade between items, picture and sound
//! hold_s = 60                # how long a preset plays (a performance plays to its end)
//!
//! [[item]]
//! performance = "first-light"
//! [[item]]
//! performance = "etherwood"
//! hold_s = 120               # a performance's own hold plays its first two minutes
//! [[item]]
//! preset = "aurora"
//! hold_s = 90
//!
//! [attract]                  # between items, and when nothing else can play
//! preset = "nebula"
//!
//! [schedule]
//! timezone = "Europe/Berlin"
//! closed = "black"           # black, sleep (the display's own power saving) or a preset
//! [[schedule.open]]
//! days = ["tue", "wed", "thu", "fri", "sat"]
//! from = "10:00"
//! to = "18:00"
//! [[schedule.open]]
//! days = ["fri", "sat"]
//! from = "20:00"
//! to = "02:00"               # before `from`: the next day
//! [[schedule.date]]
//! date = "2026-12-24"
//! from = "10:00"
//! to = "14:00"
//! [[schedule.date]]
//! date = "2026-12-25"
//! closed = true
//! ```
//!
//! Items are names in the kiosk's project (`performances/NAME.toml`, `presets/NAME.toml`),
//! never paths. Every problem is reported at its file:line:col, and the performances and
//! presets it names are checked with it.

use std::collections::BTreeMap;
use std::path::Path;

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use serde::Deserialize;
use toml::Spanned;

use super::playlist::{Order, Shuffle};
use super::schedule::{ClosedLook, DayHours, Schedule, Window};
use crate::show::compile::load_timeline;
use crate::show::diag::{Diagnostic, Reporter, drop_repeated_places, suggestion};
use crate::show::preset::load_preset;
use crate::show::project::Project;
use crate::show::schema::{Nested, Shape, read_screened};

/// How long a preset plays when neither it nor the kiosk says.
pub const DEFAULT_HOLD_S: f64 = 60.0;
/// The crossfade between items when the kiosk does not say.
pub const DEFAULT_FADE_S: f64 = 2.0;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KioskFile {
    pub title: Option<String>,
    pub order: Option<Spanned<String>>,
    pub shuffle: Option<Spanned<String>>,
    pub fade_s: Option<Spanned<f64>>,
    pub hold_s: Option<Spanned<f64>>,
    #[serde(default, rename = "item")]
    pub items: Vec<Spanned<ItemFile>>,
    pub attract: Option<Spanned<ItemFile>>,
    pub schedule: Option<ScheduleFile>,
    /// The audience page's QR code over every item (true), or only where an item's cue shows it.
    pub join_code: Option<bool>,
    /// The audience page's address as visitors' phones reach it (else the server's own).
    pub join_url: Option<Spanned<String>>,
    /// The operator console's secret (else one is made at each start and logged).
    pub console_token: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemFile {
    pub performance: Option<Spanned<String>>,
    pub preset: Option<Spanned<String>>,
    pub hold_s: Option<Spanned<f64>>,
    /// `[attract]` only: after how many items it plays (0: only when nothing else can).
    pub every: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleFile {
    pub timezone: Spanned<String>,
    pub closed: Option<Spanned<String>>,
    #[serde(default)]
    pub open: Vec<Spanned<OpenFile>>,
    #[serde(default, rename = "date")]
    pub dates: Vec<Spanned<DateFile>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenFile {
    pub days: Vec<Spanned<String>>,
    pub from: Spanned<String>,
    pub to: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DateFile {
    pub date: Spanned<String>,
    #[serde(default)]
    pub closed: bool,
    pub from: Option<Spanned<String>>,
    pub to: Option<Spanned<String>>,
}

/// The kiosk file's shape, for every unknown key at once.
pub fn kiosk_shape() -> Shape {
    let item = || Shape::of::<ItemFile>(vec![]);
    Shape::of::<KioskFile>(vec![
        ("item", Nested::Tables(item())),
        ("attract", Nested::Table(item())),
        (
            "schedule",
            Nested::Table(Shape::of::<ScheduleFile>(vec![
                ("open", Nested::Tables(Shape::of::<OpenFile>(vec![]))),
                ("date", Nested::Tables(Shape::of::<DateFile>(vec![]))),
            ])),
        ),
    ])
}

/// One thing a kiosk plays.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// A performance, to its end, or for its own `hold_s` (its first seconds, an excerpt).
    Performance { name: String, hold_s: Option<f64> },
    /// A preset, for `hold_s`.
    Preset { name: String, hold_s: f64 },
}

/// A kiosk file, checked.
#[derive(Clone, Debug)]
pub struct Kiosk {
    pub title: String,
    pub order: Order,
    pub fade_s: f64,
    pub items: Vec<Item>,
    pub attract: Option<Item>,
    /// The attract item plays after this many items (0: only when nothing else can play).
    pub attract_every: usize,
    pub schedule: Schedule,
    /// The join code shows over every item.
    pub join_code: bool,
    pub join_url: Option<String>,
    pub console_token: Option<String>,
}

/// The weekday names a window's `days` take, Monday first.
const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const ORDER_NAMES: [&str; 2] = ["in-order", "shuffle"];

/// Reads and checks the kiosk file at `path`, and the performances and presets it names.
pub fn load_kiosk(path: &Path) -> Result<Kiosk, Vec<Diagnostic>> {
    let src = std::fs::read_to_string(path)
        .map_err(|e| vec![Diagnostic::file(path, format!("cannot read kiosk: {e}"))])?;
    parse_kiosk(&Project::of_file(path), path, &src)
}

/// Reads the kiosk file at `path` to play it: only its own problems refuse it. The problems
/// of the files it names come back with it (the kiosk passes over those items until their
/// files are fixed: an unattended installation starts, whatever one file says).
pub fn load_kiosk_to_play(path: &Path) -> Result<(Kiosk, Vec<Diagnostic>), Vec<Diagnostic>> {
    let src = std::fs::read_to_string(path)
        .map_err(|e| vec![Diagnostic::file(path, format!("cannot read kiosk: {e}"))])?;
    match check(&Project::of_file(path), path, &src)? {
        (Some(k), diags) if diags.iter().all(|d| d.path != path) => Ok((k, diags)),
        (_, diags) => Err(diags),
    }
}

/// Checks the text of a kiosk file of `project`.
pub fn parse_kiosk(project: &Project, path: &Path, src: &str) -> Result<Kiosk, Vec<Diagnostic>> {
    match check(project, path, src)? {
        (Some(k), diags) if diags.is_empty() => Ok(k),
        (_, diags) => Err(diags),
    }
}

/// The kiosk a file makes, if its own structure holds, and every problem of it and of what it
/// names, in file order: the kiosk's own first, then those of the files it names.
fn check(
    project: &Project,
    path: &Path,
    src: &str,
) -> Result<(Option<Kiosk>, Vec<Diagnostic>), Vec<Diagnostic>> {
    let (file, mut diags): (KioskFile, _) = read_screened(path, src, &kiosk_shape())?;
    let screened = diags.len();
    let mut r = Reporter::new(path, src, &mut diags);
    let kiosk = read(project, &file, path, &mut r);
    drop_repeated_places(&mut diags, screened);
    diags.sort_by_key(|d| (d.path != path, d.path.clone(), d.line, d.col));
    Ok((kiosk, diags))
}

fn read(project: &Project, file: &KioskFile, path: &Path, r: &mut Reporter) -> Option<Kiosk> {
    let shuffle = file
        .shuffle
        .as_ref()
        .map(|s| r.choice(s, "shuffle", &Shuffle::NAMES, Shuffle::from_name));
    let order = match file.order.as_ref().map(|o| o.get_ref().as_str()) {
        None if shuffle.is_none() => Some(Order::InOrder),
        None | Some("shuffle") => shuffle
            .unwrap_or(Some(Shuffle::default()))
            .map(Order::Shuffle),
        Some("in-order") => {
            if let Some(s) = &file.shuffle {
                r.error_hint(
                    s.span(),
                    "`shuffle` says how to shuffle, but the order is in-order",
                    "write order = \"shuffle\", or take `shuffle` out",
                );
            }
            Some(Order::InOrder)
        }
        Some(other) => {
            let span = file.order.as_ref().map_or(0..0, Spanned::span);
            r.unknown(span, "order", other, ORDER_NAMES);
            None
        }
    };
    let fade_s = file
        .fade_s
        .as_ref()
        .map_or(Some(DEFAULT_FADE_S), |f| r.within(f, "fade_s", 0.0, 60.0));
    let hold_s = file.hold_s.as_ref().map_or(Some(DEFAULT_HOLD_S), |h| {
        r.within(h, "hold_s", 1.0, 86_400.0)
    });
    let items: Vec<Option<Item>> = file
        .items
        .iter()
        .map(|i| item(project, i, hold_s.unwrap_or(DEFAULT_HOLD_S), r))
        .collect();
    let attract = file
        .attract
        .as_ref()
        .map(|a| item(project, a, hold_s.unwrap_or(DEFAULT_HOLD_S), r));
    for i in &file.items {
        if let Some(e) = &i.get_ref().every {
            r.error_hint(
                e.span(),
                "`every` is for the [attract] item",
                "take it out of this [[item]]",
            );
        }
    }
    let attract_every = file
        .attract
        .as_ref()
        .and_then(|a| a.get_ref().every.as_ref())
        .map_or(Some(1), |e| r.within_int(e, "every", 0, 1000))
        .map(|e| e as usize);
    if items.is_empty() && attract.is_none() {
        r.error_hint(
            0..0,
            "a kiosk needs something to play",
            "add [[item]] tables (performance = \"NAME\" or preset = \"NAME\"), or an [attract] item",
        );
    }
    let schedule = match &file.schedule {
        None => Some(Schedule::always()),
        Some(s) => schedule(project, s, r),
    };
    let join_url = match &file.join_url {
        Some(u) => match crate::show::access::checked_url(u.get_ref()) {
            Ok(u) => Some(Some(u)),
            Err(e) => {
                r.error(u.span(), e.to_string());
                None
            }
        },
        None => Some(None),
    };
    let console_token = match &file.console_token {
        Some(t) => match crate::show::access::checked_token(t.get_ref()) {
            Ok(t) => Some(Some(t)),
            Err(e) => {
                r.error(t.span(), e);
                None
            }
        },
        None => Some(None),
    };
    Some(Kiosk {
        title: file.title.clone().unwrap_or_else(|| {
            path.file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("kiosk")
                .to_string()
        }),
        order: order?,
        fade_s: fade_s?,
        items: items.into_iter().collect::<Option<Vec<_>>>()?,
        attract: attract.flatten(),
        attract_every: attract_every?,
        schedule: schedule?,
        join_code: file.join_code.unwrap_or(false),
        join_url: join_url?,
        console_token: console_token?,
    })
}

/// One `[[item]]` (or the `[attract]` item): a performance or a preset of the project, checked
/// with everything it uses.
fn item(
    project: &Project,
    spanned: &Spanned<ItemFile>,
    default_hold_s: f64,
    r: &mut Reporter,
) -> Option<Item> {
    let f = spanned.get_ref();
    match (&f.performance, &f.preset) {
        (Some(name), None) => {
            // A performance plays to its end unless the item gives its own hold (an excerpt);
            // the kiosk's `hold_s` is for presets.
            let hold_s = match &f.hold_s {
                Some(h) => r.within(h, "hold_s", 1.0, 86_400.0).map(Some),
                None => Some(None),
            };
            let known = project.performance_names();
            let path = project.performance_path(name.get_ref());
            let file = exists(path, name, "performance", &known, r)?;
            // A broken file is reported, but the item stays: a kiosk passes over it until
            // the file is fixed, and `check` fails on it.
            if let Err(errs) = load_timeline(&file) {
                r.diags.extend(errs);
            }
            Some(Item::Performance {
                name: name.get_ref().clone(),
                hold_s: hold_s?,
            })
        }
        (None, Some(name)) => {
            let hold_s = f.hold_s.as_ref().map_or(Some(default_hold_s), |h| {
                r.within(h, "hold_s", 1.0, 86_400.0)
            });
            let known = project.preset_names();
            let file = exists(
                project.preset_path(name.get_ref()),
                name,
                "preset",
                &known,
                r,
            )?;
            if let Err(errs) = load_preset(project, &file) {
                r.diags.extend(errs);
            }
            Some(Item::Preset {
                name: name.get_ref().clone(),
                hold_s: hold_s?,
            })
        }
        _ => {
            r.error_hint(
                spanned.span(),
                "an item is a performance or a preset",
                "write performance = \"NAME\" or preset = \"NAME\" (one of them)",
            );
            None
        }
    }
}

/// The file a name stands for, if the name is plain and the file is there.
fn exists(
    file: Result<std::path::PathBuf, crate::show::project::NameError>,
    name: &Spanned<String>,
    what: &str,
    known: &[String],
    r: &mut Reporter,
) -> Option<std::path::PathBuf> {
    match file {
        Err(e) => {
            r.error(name.span(), e);
            None
        }
        Ok(f) if f.exists() => Some(f),
        Ok(_) => {
            r.error_hint(
                name.span(),
                format!("no {what} named `{}`", name.get_ref()),
                suggestion(name.get_ref(), known.iter().map(String::as_str)),
            );
            None
        }
    }
}

/// The `[schedule]` table, checked.
fn schedule(project: &Project, f: &ScheduleFile, r: &mut Reporter) -> Option<Schedule> {
    let tz = match TimeZone::get(f.timezone.get_ref()) {
        Ok(tz) => Some(tz),
        Err(_) => {
            r.error_hint(
                f.timezone.span(),
                format!("`{}` is not a time zone", f.timezone.get_ref()),
                "write an IANA name, such as Europe/Berlin, America/New_York or UTC",
            );
            None
        }
    };
    let closed = match &f.closed {
        None => Some(ClosedLook::Black),
        Some(c) => match c.get_ref().as_str() {
            "black" => Some(ClosedLook::Black),
            "sleep" => Some(ClosedLook::Sleep),
            name => {
                let known = project.preset_names();
                let hint = format!(
                    "black, sleep, or a preset ({})",
                    suggestion(name, known.iter().map(String::as_str))
                );
                match project.preset_path(name) {
                    Ok(p) if p.exists() => match load_preset(project, &p) {
                        Ok(_) => Some(ClosedLook::Preset(name.to_string())),
                        Err(errs) => {
                            r.diags.extend(errs);
                            None
                        }
                    },
                    _ => {
                        r.error_hint(c.span(), format!("`{name}` is not a closed look"), hint);
                        None
                    }
                }
            }
        },
    };
    let mut weekly: [Vec<Window>; 7] = Default::default();
    let mut ok = true;
    if f.open.is_empty() {
        r.error_hint(
            f.timezone.span(),
            "a schedule needs its opening hours",
            "add [[schedule.open]] tables: days = [\"tue\", \"wed\"], from = \"10:00\", to = \"18:00\"",
        );
        ok = false;
    }
    for spanned in &f.open {
        let o = spanned.get_ref();
        let window = window(&o.from, &o.to, r);
        if o.days.is_empty() {
            r.error_hint(
                spanned.span(),
                "these hours are on no day",
                "write days = [\"mon\", \"tue\"] (mon, tue, wed, thu, fri, sat, sun)",
            );
            ok = false;
        }
        for d in &o.days {
            match DAY_NAMES
                .iter()
                .position(|n| *n == d.get_ref().to_lowercase())
            {
                Some(i) => weekly[i].extend(window),
                None => {
                    r.unknown(d.span(), "day", d.get_ref(), DAY_NAMES);
                    ok = false;
                }
            }
        }
        ok &= window.is_some();
    }
    let mut dates = BTreeMap::new();
    for d in &f.dates {
        let df = d.get_ref();
        let Ok(date) = df.date.get_ref().parse::<Date>() else {
            r.error_hint(
                df.date.span(),
                format!("`{}` is not a date", df.date.get_ref()),
                "write it as YYYY-MM-DD: 2026-12-24",
            );
            ok = false;
            continue;
        };
        let hours = match (df.closed, &df.from, &df.to) {
            (true, None, None) => Some(DayHours::Closed),
            (false, Some(from), Some(to)) => window(from, to, r).map(|w| DayHours::Open(vec![w])),
            _ => {
                r.error_hint(
                    d.span(),
                    "a date is either closed or has its own hours",
                    "write closed = true, or from = \"HH:MM\" and to = \"HH:MM\"",
                );
                None
            }
        };
        match hours {
            Some(h) => {
                if dates.insert(date, h).is_some() {
                    r.error(df.date.span(), format!("{date} is given twice"));
                    ok = false;
                }
            }
            None => ok = false,
        }
    }
    let (tz, closed) = (tz?, closed?);
    ok.then_some(Schedule {
        tz,
        weekly,
        dates,
        closed,
    })
}

/// A window from `from` to `to`, each `HH:MM`.
fn window(from: &Spanned<String>, to: &Spanned<String>, r: &mut Reporter) -> Option<Window> {
    let (from_t, to_t) = (clock(from, r), clock(to, r));
    let (from_t, to_t) = (from_t?, to_t?);
    if from_t == to_t && from_t != Time::midnight() {
        r.error_hint(
            to.span(),
            "a window must not end where it starts",
            "for all day, write from = \"00:00\" and to = \"00:00\"",
        );
        return None;
    }
    Some(Window {
        from: from_t,
        to: to_t,
    })
}

/// A wall-clock time written `HH:MM`.
fn clock(t: &Spanned<String>, r: &mut Reporter) -> Option<Time> {
    let parsed = t.get_ref().split_once(':').and_then(|(h, m)| {
        let (h, m): (i8, i8) = (h.trim().parse().ok()?, m.trim().parse().ok()?);
        Time::new(h, m, 0, 0).ok()
    });
    if parsed.is_none() {
        r.error_hint(
            t.span(),
            format!("`{}` is not a time of day", t.get_ref()),
            "write it as HH:MM, from 00:00 to 23:59",
        );
    }
    parsed
}
