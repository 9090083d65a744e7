//! Reading and checking an output map file (`outputs/*.toml`).
//!
//! ```toml
//! canvas = [2304, 720]            # the size the show is composed at
//!
//! [[output]]
//! name = "left"
//! window = { monitor = 0, position = [0, 0] }   # monitor: a number or a name
//! size = [1280, 720]
//! [[output.slice]]
//! crop = [0, 0, 1280, 720]        # canvas pixels: x, y, width, height
//! # place = [0, 0, 1280, 720]     # layout pixels (default: the whole output)
//! # rotate = 90                   # clockwise: 0, 90, 180, 270
//! # flip_x = true
//! [output.warp]
//! corners = [[0, 0], [1280, 0], [1280, 720], [0, 720]]
//! [output.mesh]
//! columns = 3
//! rows = 3
//! points = [[0, 0], [0.5, 0], [1, 0], ...]   # layout units, row by row
//! [output.blend]
//! right = { width_px = 256, power = 2 }
//! gamma = 2.2                     # or [r, g, b]
//! black_lift = 0.02
//! [[output.mask]]
//! mode = "subtract"
//! points = [[0, 600], [200, 720], [0, 720]]
//!
//! [[output]]
//! name = "stream"
//! virtual = { file = "stream.rgba" }   # raw RGBA frames, for ffmpeg
//! size = [1280, 720]
//! ```
//!
//! Every problem is reported at its file:line:col. Paths (`virtual.file`) are the file's own,
//! relative to its folder.

use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::{
    Blend, Edge, MAX_MESH_SIDE, MAX_OUTPUTS, MAX_SIDE_PX, Mask, Mesh, MonitorChoice, OutputDef,
    OutputKind, OutputMap, Slice, limits,
};
use crate::show::diag::{Diagnostic, Reporter};
use crate::show::schema::{Nested, Shape, read_screened};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MapFile {
    pub canvas: Spanned<[Spanned<i64>; 2]>,
    #[serde(default, rename = "output")]
    pub outputs: Vec<Spanned<OutputFile>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputFile {
    pub name: Spanned<String>,
    pub window: Option<Spanned<WindowFile>>,
    #[serde(rename = "virtual")]
    pub virtual_out: Option<Spanned<VirtualFile>>,
    pub size: Spanned<[Spanned<i64>; 2]>,
    pub vsync: Option<bool>,
    pub test_card: Option<bool>,
    #[serde(default, rename = "slice")]
    pub slices: Vec<Spanned<SliceFile>>,
    pub warp: Option<WarpFile>,
    pub mesh: Option<Spanned<MeshFile>>,
    pub blend: Option<BlendFile>,
    #[serde(default, rename = "mask")]
    pub masks: Vec<Spanned<MaskFile>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowFile {
    pub monitor: Option<Spanned<MonitorFile>>,
    pub position: Option<Spanned<[i64; 2]>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
pub enum MonitorFile {
    Number(i64),
    Name(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VirtualFile {
    pub file: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SliceFile {
    pub crop: Spanned<[f64; 4]>,
    pub place: Option<Spanned<[f64; 4]>>,
    pub rotate: Option<Spanned<i64>>,
    #[serde(default)]
    pub flip_x: bool,
    #[serde(default)]
    pub flip_y: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WarpFile {
    pub corners: Spanned<[[f64; 2]; 4]>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeshFile {
    pub columns: Spanned<i64>,
    pub rows: Spanned<i64>,
    pub points: Option<Spanned<Vec<[f64; 2]>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlendFile {
    pub left: Option<Spanned<EdgeFile>>,
    pub right: Option<Spanned<EdgeFile>>,
    pub top: Option<Spanned<EdgeFile>>,
    pub bottom: Option<Spanned<EdgeFile>>,
    pub gamma: Option<Spanned<GammaFile>>,
    pub black_lift: Option<Spanned<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EdgeFile {
    pub width_px: Spanned<f64>,
    pub power: Option<Spanned<f64>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
pub enum GammaFile {
    One(f64),
    Each([f64; 3]),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaskFile {
    pub mode: Option<Spanned<String>>,
    pub points: Spanned<Vec<[f64; 2]>>,
    pub feather_px: Option<Spanned<f64>>,
}

/// The map file's shape, for every unknown key at once.
pub fn outputs_shape() -> Shape {
    let edge = || Nested::Table(Shape::of::<EdgeFile>(vec![]));
    Shape::of::<MapFile>(vec![(
        "output",
        Nested::Tables(Shape::of::<OutputFile>(vec![
            ("window", Nested::Table(Shape::of::<WindowFile>(vec![]))),
            ("virtual", Nested::Table(Shape::of::<VirtualFile>(vec![]))),
            ("slice", Nested::Tables(Shape::of::<SliceFile>(vec![]))),
            ("warp", Nested::Table(Shape::of::<WarpFile>(vec![]))),
            ("mesh", Nested::Table(Shape::of::<MeshFile>(vec![]))),
            (
                "blend",
                Nested::Table(Shape::of::<BlendFile>(vec![
                    ("left", edge()),
                    ("right", edge()),
                    ("top", edge()),
                    ("bottom", edge()),
                ])),
            ),
            ("mask", Nested::Tables(Shape::of::<MaskFile>(vec![]))),
        ])),
    )])
}

/// Reads and checks the output map at `path`.
pub fn load_outputs(path: &Path) -> Result<OutputMap, Vec<Diagnostic>> {
    let src = std::fs::read_to_string(path).map_err(|e| {
        vec![Diagnostic::file(
            path,
            format!("cannot read output map: {e}"),
        )]
    })?;
    parse_outputs(path, &src)
}

/// Checks the text of an output map read from `path`.
pub fn parse_outputs(path: &Path, src: &str) -> Result<OutputMap, Vec<Diagnostic>> {
    let (file, mut diags): (MapFile, _) = read_screened(path, src, &outputs_shape())?;
    let mut r = Reporter::new(path, src, &mut diags);
    let map = read(path, &file, &mut r);
    diags.sort_by_key(|d| (d.line, d.col));
    match map {
        Some(m) if diags.is_empty() => Ok(m),
        _ => Err(diags),
    }
}

/// A size `[w, h]` in pixels, each within 1..=MAX_SIDE_PX.
fn size(v: &Spanned<[Spanned<i64>; 2]>, what: &str, r: &mut Reporter) -> Option<(u32, u32)> {
    let [w, h] = v.get_ref();
    let w = r.within_int(w, &format!("{what} width"), 1, i64::from(MAX_SIDE_PX));
    let h = r.within_int(h, &format!("{what} height"), 1, i64::from(MAX_SIDE_PX));
    Some((w? as u32, h? as u32))
}

fn finite(values: &[f64]) -> bool {
    values.iter().all(|v| v.is_finite())
}

/// Twice the signed area of a polygon (positive: clockwise on a y-down screen).
fn area2(points: &[[f64; 2]]) -> f64 {
    (0..points.len())
        .map(|i| {
            let (a, b) = (points[i], points[(i + 1) % points.len()]);
            a[0] * b[1] - b[0] * a[1]
        })
        .sum()
}

fn read(path: &Path, file: &MapFile, r: &mut Reporter) -> Option<OutputMap> {
    let [cw, ch] = file.canvas.get_ref();
    let canvas = (
        r.within_int(cw, "canvas width", 1, i64::from(MAX_SIDE_PX)),
        r.within_int(ch, "canvas height", 1, i64::from(MAX_SIDE_PX)),
    );
    let canvas = canvas.0.zip(canvas.1).map(|(w, h)| (w as u32, h as u32));
    if file.outputs.is_empty() {
        r.error_hint(
            file.canvas.span(),
            "an output map needs at least one output",
            "add an [[output]] table with a name, a size and a window or virtual output",
        );
    }
    if file.outputs.len() > MAX_OUTPUTS {
        r.error(
            file.outputs[MAX_OUTPUTS].span(),
            format!("at most {MAX_OUTPUTS} outputs, not {}", file.outputs.len()),
        );
    }
    let mut names: Vec<&str> = Vec::new();
    let mut outputs = Vec::new();
    for o in &file.outputs {
        let name = o.get_ref().name.get_ref().as_str();
        if names.contains(&name) {
            r.error_hint(
                o.get_ref().name.span(),
                format!("a second output named `{name}`"),
                "each output needs a name of its own (OSC and the console reach it by name)",
            );
        }
        names.push(name);
        outputs.push(output(path, o, canvas, r));
    }
    Some(OutputMap {
        path: path.to_path_buf(),
        canvas: canvas?,
        outputs: outputs.into_iter().collect::<Option<Vec<_>>>()?,
    })
}

fn output(
    path: &Path,
    spanned: &Spanned<OutputFile>,
    canvas: Option<(u32, u32)>,
    r: &mut Reporter,
) -> Option<OutputDef> {
    let o = spanned.get_ref();
    let name = o.name.get_ref();
    let name_ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !name_ok {
        r.error_hint(
            o.name.span(),
            format!("an output's name must be letters, digits, `-` or `_`, not `{name}`"),
            "it is part of OSC addresses (/somnia/output/NAME/...)",
        );
    }
    let size = size(&o.size, "size", r);
    let kind = match (&o.window, &o.virtual_out) {
        (Some(w), None) => window(w, r),
        (None, Some(v)) => virtual_out(path, v, r),
        (Some(w), Some(_)) => {
            r.error_hint(
                w.span(),
                "an output is a window or a virtual output, not both",
                "take one of `window` and `virtual` out",
            );
            None
        }
        (None, None) => {
            r.error_hint(
                spanned.span(),
                format!("output `{name}` needs a `window` or a `virtual` output"),
                "window = { monitor = 0 }, or virtual = { file = \"stream.rgba\" }",
            );
            None
        }
    };
    let slices: Vec<Option<Slice>> = o.slices.iter().map(|s| slice(s, canvas, size, r)).collect();
    let corners = match &o.warp {
        Some(w) => corners(&w.corners, size, r),
        None => size.map(OutputDef::identity_corners),
    };
    let mesh = o.mesh.as_ref().map(|m| mesh(m, r));
    let blend = blend(o.blend.as_ref(), size, r);
    let masks: Vec<Option<Mask>> = o.masks.iter().map(|m| mask(m, r)).collect();
    if !name_ok {
        return None;
    }
    Some(OutputDef {
        name: name.clone(),
        kind: kind?,
        size: size?,
        vsync: o.vsync.unwrap_or(true),
        slices: slices.into_iter().collect::<Option<Vec<_>>>()?,
        corners: corners?,
        mesh: mesh.unwrap_or(Some(None))?,
        blend: blend?,
        masks: masks.into_iter().collect::<Option<Vec<_>>>()?,
        test_card: o.test_card.unwrap_or(false),
    })
}

fn window(w: &Spanned<WindowFile>, r: &mut Reporter) -> Option<OutputKind> {
    let f = w.get_ref();
    let monitor = match &f.monitor {
        None => None,
        Some(m) => match m.get_ref() {
            MonitorFile::Number(n) if (0..=64).contains(n) => {
                Some(MonitorChoice::Number(*n as usize))
            }
            MonitorFile::Number(n) => {
                r.error_hint(
                    m.span(),
                    format!("no monitor {n}"),
                    "monitors are numbered from 0, as `somnia list monitors` shows them",
                );
                return None;
            }
            MonitorFile::Name(s) if !s.trim().is_empty() => Some(MonitorChoice::Name(s.clone())),
            MonitorFile::Name(_) => {
                r.error(m.span(), "a monitor's name cannot be empty");
                return None;
            }
        },
    };
    let position = match &f.position {
        Some(p) => {
            let [x, y] = *p.get_ref();
            let range = -65_536..=65_536;
            if !(range.contains(&x) && range.contains(&y)) {
                r.error(p.span(), format!("position [{x}, {y}] is off any screen"));
                return None;
            }
            Some((x as i32, y as i32))
        }
        None => None,
    };
    Some(OutputKind::Window { monitor, position })
}

fn virtual_out(path: &Path, v: &Spanned<VirtualFile>, r: &mut Reporter) -> Option<OutputKind> {
    let file = match &v.get_ref().file {
        None => None,
        Some(f) if f.get_ref().trim().is_empty() => {
            r.error(f.span(), "a virtual output's file cannot be empty");
            return None;
        }
        Some(f) => {
            let base = path.parent().unwrap_or(Path::new("."));
            Some(base.join(f.get_ref()))
        }
    };
    Some(OutputKind::Virtual { file })
}

fn slice(
    s: &Spanned<SliceFile>,
    canvas: Option<(u32, u32)>,
    size: Option<(u32, u32)>,
    r: &mut Reporter,
) -> Option<Slice> {
    let f = s.get_ref();
    let crop = *f.crop.get_ref();
    let mut ok = true;
    if !finite(&crop) || crop[2] <= 0.0 || crop[3] <= 0.0 {
        r.error_hint(
            f.crop.span(),
            "a slice's crop is x, y, width, height with width and height above 0",
            "e.g. crop = [0, 0, 1280, 720]",
        );
        ok = false;
    } else if let Some((cw, ch)) = canvas {
        if !limits::crop_fits(crop, (cw, ch)) {
            r.error_hint(
                f.crop.span(),
                format!(
                    "the crop [{}, {}, {}, {}] reaches outside the {cw}x{ch} canvas",
                    crop[0], crop[1], crop[2], crop[3]
                ),
                "keep x + width within the canvas width and y + height within its height",
            );
            ok = false;
        }
    }
    let place = match (&f.place, size) {
        (Some(p), _) => {
            let v = *p.get_ref();
            if !finite(&v) || v[2] <= 0.0 || v[3] <= 0.0 {
                r.error(
                    p.span(),
                    "a slice's place is x, y, width, height with width and height above 0",
                );
                ok = false;
            }
            v
        }
        (None, Some((w, h))) => [0.0, 0.0, f64::from(w), f64::from(h)],
        (None, None) => [0.0; 4],
    };
    let rotate_deg = match &f.rotate {
        None => 0,
        Some(d) if [0, 90, 180, 270].contains(d.get_ref()) => *d.get_ref() as u16,
        Some(d) => {
            r.error_hint(
                d.span(),
                format!(
                    "a slice turns in quarter turns, not {} degrees",
                    d.get_ref()
                ),
                "rotate = 0, 90, 180 or 270 (clockwise)",
            );
            ok = false;
            0
        }
    };
    ok.then_some(Slice {
        crop,
        place,
        rotate_deg,
        flip_x: f.flip_x,
        flip_y: f.flip_y,
    })
}

fn corners(
    c: &Spanned<[[f64; 2]; 4]>,
    size: Option<(u32, u32)>,
    r: &mut Reporter,
) -> Option<[[f64; 2]; 4]> {
    let v = *c.get_ref();
    if !finite(&v.concat()) {
        r.error(c.span(), "a corner is not a number");
        return None;
    }
    if let Some((w, h)) = size {
        let far = v.iter().any(|p| !limits::corner_in_reach(*p, (w, h)));
        if far {
            r.error(c.span(), "a corner lies far off the output");
            return None;
        }
    }
    if !convex(&v) {
        r.error_hint(
            c.span(),
            "the corners do not make a convex quad",
            "list them top-left, top-right, bottom-right, bottom-left, with no three in a line",
        );
        return None;
    }
    Some(v)
}

/// Whether the quad turns the same way at each corner (convex, not crossed, not flat).
pub(crate) fn convex(q: &[[f64; 2]; 4]) -> bool {
    let turn = |i: usize| {
        let (a, b, c) = (q[i], q[(i + 1) % 4], q[(i + 2) % 4]);
        (b[0] - a[0]) * (c[1] - b[1]) - (b[1] - a[1]) * (c[0] - b[0])
    };
    let turns = [turn(0), turn(1), turn(2), turn(3)];
    let scale = area2(q).abs().max(1e-9);
    turns.iter().all(|t| *t > 1e-6 * scale) || turns.iter().all(|t| *t < -1e-6 * scale)
}

fn mesh(m: &Spanned<MeshFile>, r: &mut Reporter) -> Option<Option<Mesh>> {
    let f = m.get_ref();
    let side = 2..=MAX_MESH_SIDE as i64;
    let columns = r.within_int(&f.columns, "columns", *side.start(), *side.end());
    let rows = r.within_int(&f.rows, "rows", *side.start(), *side.end());
    let (columns, rows) = (columns? as usize, rows? as usize);
    let Some(points) = &f.points else {
        return Some(Some(Mesh::identity(columns, rows)));
    };
    if points.get_ref().len() != columns * rows {
        r.error_hint(
            points.span(),
            format!(
                "a {columns}x{rows} mesh has {} points, not {}",
                columns * rows,
                points.get_ref().len()
            ),
            "list every point, row by row from the top; or leave `points` out for a regular grid",
        );
        return None;
    }
    if !finite(&points.get_ref().concat())
        || !points
            .get_ref()
            .iter()
            .all(|p| limits::mesh_point_in_reach(*p))
    {
        r.error_hint(
            points.span(),
            "a mesh point lies far off the output",
            "points are in layout units: 0 to 1 across each side",
        );
        return None;
    }
    let mesh = Mesh {
        columns,
        rows,
        points: points.get_ref().clone(),
    };
    Some((!mesh.is_identity()).then_some(mesh))
}

fn blend(f: Option<&BlendFile>, size: Option<(u32, u32)>, r: &mut Reporter) -> Option<Blend> {
    let Some(f) = f else {
        return Some(Blend::default());
    };
    let mut blend = Blend::default();
    let mut ok = true;
    for (i, e) in [&f.left, &f.right, &f.top, &f.bottom]
        .into_iter()
        .enumerate()
    {
        let Some(e) = e else { continue };
        let across = size.map_or(f64::from(MAX_SIDE_PX), |(w, h)| {
            f64::from(if i < 2 { w } else { h })
        });
        let width = r.within(&e.get_ref().width_px, "width_px", 0.0, across / 2.0);
        let power = e.get_ref().power.as_ref().map_or(Some(2.0), |p| {
            r.within(p, "power", limits::POWER.0, limits::POWER.1)
        });
        match (width, power) {
            (Some(width_px), Some(power)) => {
                blend.edges[i] = (width_px > 0.0).then_some(Edge { width_px, power });
            }
            _ => ok = false,
        }
    }
    if let Some(g) = &f.gamma {
        let gamma = match g.get_ref() {
            GammaFile::One(v) => [*v; 3],
            GammaFile::Each(v) => *v,
        };
        if gamma.iter().all(|g| limits::within(*g, limits::GAMMA)) {
            blend.gamma = gamma;
        } else {
            r.error_hint(
                g.span(),
                "gamma must be within 0.5..4",
                "the projector's gamma: 2.2 for most, 1.0 for a linear preset",
            );
            ok = false;
        }
    }
    if let Some(l) = &f.black_lift {
        match r.within(l, "black_lift", limits::BLACK_LIFT.0, limits::BLACK_LIFT.1) {
            Some(v) => blend.black_lift = v,
            None => ok = false,
        }
    }
    ok.then_some(blend)
}

fn mask(m: &Spanned<MaskFile>, r: &mut Reporter) -> Option<Mask> {
    let f = m.get_ref();
    let subtract = match f.mode.as_ref() {
        None => true,
        Some(mode) => match mode.get_ref().as_str() {
            "subtract" => true,
            "add" => false,
            other => {
                r.unknown(mode.span(), "mask mode", other, ["add", "subtract"]);
                return None;
            }
        },
    };
    let points = f.points.get_ref();
    if points.len() < 3 || points.len() > 256 {
        r.error(
            f.points.span(),
            format!("a mask is 3 to 256 points, not {}", points.len()),
        );
        return None;
    }
    if !finite(&points.concat()) || area2(points).abs() < 1e-9 {
        r.error(f.points.span(), "a mask's points enclose nothing");
        return None;
    }
    let feather_px = f
        .feather_px
        .as_ref()
        .map_or(Some(1.0), |v| r.within(v, "feather_px", 0.0, 1024.0))?;
    Some(Mask {
        subtract,
        points: points.clone(),
        feather_px,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: &str = r#"canvas = [2304, 720]
[[output]]
name = "left"
window = { monitor = 0 }
size = [1280, 720]
[[output.slice]]
crop = [0, 0, 1280, 720]
[output.blend]
right = { width_px = 256 }

[[output]]
name = "right"
virtual = {}
size = [1280, 720]
[[output.slice]]
crop = [1024, 0, 1280, 720]
rotate = 180
[output.warp]
corners = [[10, 0], [1280, 0], [1270, 720], [0, 710]]
"#;

    #[test]
    fn a_two_output_map_reads_with_its_defaults() {
        let m = parse_outputs(Path::new("o.toml"), TWO).expect("good map");
        assert_eq!(m.canvas, (2304, 720));
        assert_eq!(m.outputs.len(), 2);
        let l = &m.outputs[0];
        assert_eq!(l.slices[0].place, [0.0, 0.0, 1280.0, 720.0]);
        assert_eq!(l.corners, OutputDef::identity_corners((1280, 720)));
        assert_eq!(l.blend.edges[1].map(|e| e.power), Some(2.0));
        assert_eq!(m.outputs[1].slices[0].rotate_deg, 180);
        assert!(matches!(
            m.outputs[1].kind,
            OutputKind::Virtual { file: None }
        ));
    }

    #[test]
    fn every_problem_is_reported_at_its_line_and_column() {
        let bad = TWO
            .replace("crop = [1024, 0, 1280, 720]", "crop = [1100, 0, 1280, 720]")
            .replace("rotate = 180", "rotate = 45")
            .replace("[1280, 0], [1270, 720]", "[1270, 720], [1280, 0]");
        let diags = parse_outputs(Path::new("o.toml"), &bad).expect_err("bad map");
        let said: Vec<String> = diags.iter().map(ToString::to_string).collect();
        assert_eq!(diags.len(), 3, "{said:#?}");
        assert!(said[0].starts_with("o.toml:16:8: the crop"), "{said:#?}");
        assert!(
            said[1].starts_with("o.toml:17:10: a slice turns"),
            "{said:#?}"
        );
        assert!(
            said[2].starts_with("o.toml:19:11: the corners"),
            "{said:#?}"
        );
    }

    #[test]
    fn a_half_written_map_is_refused_at_the_place_it_stops() {
        let cut = &TWO[..TWO
            .find("size = [1280, 720]\n[[output.slice]]\ncrop = [1024")
            .unwrap()
            + 9];
        let diags = parse_outputs(Path::new("o.toml"), cut).expect_err("cut map");
        assert!(diags[0].line >= 14, "{:?}", diags[0].to_string());
    }

    #[test]
    fn a_crossed_quad_is_not_convex() {
        assert!(convex(&[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]));
        assert!(!convex(&[[0.0, 0.0], [1.0, 1.0], [1.0, 0.0], [0.0, 1.0]]));
        assert!(!convex(&[[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [0.0, 1.0]]));
    }
}
