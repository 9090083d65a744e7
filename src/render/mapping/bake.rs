//! Baking an output's mapping into its remap: for each output pixel, the canvas point it
//! shows (u, v in 0..1), its gain in linear light (the blends and masks, 0 where nothing
//! shows) and how much of the black-level lift it takes. The output pass reads one texel and
//! one canvas sample a pixel; everything here runs only when the mapping changes.
//!
//! Output pixel → (masks) → the corners' homography, backwards → the mesh, backwards (from a
//! table made by drawing the mesh forwards) → a layout pixel → its slice → a canvas point.

use super::geometry::{Homography, blend_gain, mesh_point, polygon_distance, slice_to_canvas};
use crate::show::outputs::{Mesh, OutputDef};

/// One output's baked mapping, row by row from the top.
#[derive(Clone, Debug, PartialEq)]
pub struct Remap {
    pub size: (u32, u32),
    /// (canvas u, canvas v, gain, lift) per output pixel.
    pub texels: Vec<[f32; 4]>,
}

impl Remap {
    pub fn at(&self, x: u32, y: u32) -> [f32; 4] {
        self.texels[(y * self.size.0 + x) as usize]
    }
}

/// Bakes `def`'s mapping for a canvas of `canvas` pixels.
pub fn bake(def: &OutputDef, canvas: (u32, u32)) -> Remap {
    let (w, h) = def.size;
    let (wf, hf) = (f64::from(w), f64::from(h));
    let (cw, ch) = (f64::from(canvas.0), f64::from(canvas.1));
    // Corners in output units: the homography maps the (mesh-warped) layout square there.
    let quad = def.corners.map(|p| [p[0] / wf, p[1] / hf]);
    let back = Homography::unit_square_to(&quad)
        .and_then(|h| h.inverse())
        .unwrap_or(Homography::IDENTITY);
    let mesh_back = def.mesh.as_ref().map(|m| MeshInverse::new(m, def.size));
    let masks = Masks::new(def);
    let mut texels = Vec::with_capacity((w * h) as usize);
    for y in 0..h {
        for x in 0..w {
            let p = [f64::from(x) + 0.5, f64::from(y) + 0.5];
            let cover = masks.coverage(p);
            let texel = if cover <= 0.0 {
                None
            } else {
                let q = back.apply([p[0] / wf, p[1] / hf]);
                let uv = match &mesh_back {
                    Some(m) => m.lookup(q),
                    None => inside_unit(q).then_some(q),
                };
                uv.and_then(|uv| {
                    let layout = [uv[0] * wf, uv[1] * hf];
                    let c = def
                        .slices
                        .iter()
                        .rev()
                        .find_map(|s| slice_to_canvas(s, layout))?;
                    let (gain, outside) = blend_gain(&def.blend, def.size, layout);
                    Some([
                        (c[0] / cw) as f32,
                        (c[1] / ch) as f32,
                        (gain * cover) as f32,
                        if outside { cover as f32 } else { 0.0 },
                    ])
                })
            };
            texels.push(texel.unwrap_or([0.0; 4]));
        }
    }
    Remap {
        size: def.size,
        texels,
    }
}

fn inside_unit(q: [f64; 2]) -> bool {
    (0.0..=1.0).contains(&q[0]) && (0.0..=1.0).contains(&q[1])
}

/// The mesh warp run backwards: a table over the warped square, at the output's resolution,
/// of the layout point each place came from. Made by drawing the mesh forwards as small
/// triangles (each a few pixels) and interpolating within each.
struct MeshInverse {
    /// The output's size: the table is [`MARGIN`] cells wider on each side.
    size: (usize, usize),
    /// Layout (s, t) per table cell; NaN where the warped mesh does not reach.
    table: Vec<[f64; 2]>,
}

impl MeshInverse {
    fn new(mesh: &Mesh, size: (u32, u32)) -> Self {
        let (w, h) = (size.0 as usize, size.1 as usize);
        let (tw, th) = (w + 2 * MARGIN, h + 2 * MARGIN);
        let mut table = vec![[f64::NAN; 2]; tw * th];
        // About four output pixels a triangle side, over the layout square and a margin of
        // [`MARGIN`] + 1 pixels round it (the mesh continued), so a lookup at the edge has
        // neighbours on every side.
        let n = (size.0.max(size.1) / 4).clamp(8, 1024) as usize;
        let reach = |k: usize, side: usize| {
            let m = (MARGIN + 1) as f64 / side as f64;
            -m + (1.0 + 2.0 * m) * k as f64 / n as f64
        };
        let grid: Vec<[f64; 2]> = (0..=n)
            .flat_map(|j| (0..=n).map(move |i| (i, j)))
            .map(|(i, j)| {
                let q = mesh_point(mesh, reach(i, w), reach(j, h));
                [
                    q[0] * w as f64 + MARGIN as f64,
                    q[1] * h as f64 + MARGIN as f64,
                ]
            })
            .collect();
        let uv = |i: usize, j: usize| [reach(i, w), reach(j, h)];
        for j in 0..n {
            for i in 0..n {
                let k = |i: usize, j: usize| grid[j * (n + 1) + i];
                let corners = [(i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1)];
                for tri in [[0, 1, 2], [0, 2, 3]] {
                    let v = tri.map(|c| {
                        (
                            k(corners[c].0, corners[c].1),
                            uv(corners[c].0, corners[c].1),
                        )
                    });
                    fill_triangle(&mut table, (tw, th), v);
                }
            }
        }
        Self {
            size: (w, h),
            table,
        }
    }

    /// The layout point that the mesh moved to `q` (warped units), if any.
    fn lookup(&self, q: [f64; 2]) -> Option<[f64; 2]> {
        let (w, h) = self.size;
        let x = q[0] * w as f64 - 0.5 + MARGIN as f64;
        let y = q[1] * h as f64 - 0.5 + MARGIN as f64;
        let (w, h) = (w + 2 * MARGIN, h + 2 * MARGIN);
        if !(x >= 0.0 && y >= 0.0 && x < (w - 1) as f64 && y < (h - 1) as f64) {
            return None;
        }
        let (x0, y0) = (x.floor(), y.floor());
        let (fx, fy) = (x - x0, y - y0);
        let cell = |i: f64, j: f64| -> Option<[f64; 2]> {
            let (i, j) = (i.clamp(0.0, (w - 1) as f64), j.clamp(0.0, (h - 1) as f64));
            let v = self.table[j as usize * w + i as usize];
            (!v[0].is_nan()).then_some(v)
        };
        let near = [
            (cell(x0, y0), (1.0 - fx) * (1.0 - fy)),
            (cell(x0 + 1.0, y0), fx * (1.0 - fy)),
            (cell(x0, y0 + 1.0), (1.0 - fx) * fy),
            (cell(x0 + 1.0, y0 + 1.0), fx * fy),
        ];
        // Bilinear where all four are known; at the mesh's edge, the known ones weighted.
        let (mut sum, mut weight) = ([0.0; 2], 0.0);
        for (v, wt) in near {
            if let Some(v) = v {
                sum[0] += v[0] * wt;
                sum[1] += v[1] * wt;
                weight += wt;
            }
        }
        (weight > 0.25).then(|| [sum[0] / weight, sum[1] / weight])
    }
}

/// Cells of the mesh's table beyond the output on each side.
const MARGIN: usize = 2;

/// Writes into `table` (at pixel centres inside the triangle) the layout point interpolated
/// from the triangle's corners: `(position in table pixels, layout point)`.
fn fill_triangle(table: &mut [[f64; 2]], (w, h): (usize, usize), v: [([f64; 2], [f64; 2]); 3]) {
    let [(a, ua), (b, ub), (c, uc)] = v;
    let area = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
    if area.abs() < 1e-12 {
        return;
    }
    let lo_x = a[0].min(b[0]).min(c[0]).floor().max(0.0) as usize;
    let hi_x = (a[0].max(b[0]).max(c[0]).ceil().max(0.0) as usize).min(w);
    let lo_y = a[1].min(b[1]).min(c[1]).floor().max(0.0) as usize;
    let hi_y = (a[1].max(b[1]).max(c[1]).ceil().max(0.0) as usize).min(h);
    for y in lo_y..hi_y {
        for x in lo_x..hi_x {
            let p = [x as f64 + 0.5, y as f64 + 0.5];
            let wa = ((b[0] - p[0]) * (c[1] - p[1]) - (b[1] - p[1]) * (c[0] - p[0])) / area;
            let wb = ((c[0] - p[0]) * (a[1] - p[1]) - (c[1] - p[1]) * (a[0] - p[0])) / area;
            let wc = 1.0 - wa - wb;
            let eps = -1e-9;
            if wa >= eps && wb >= eps && wc >= eps {
                table[y * w + x] = [
                    wa * ua[0] + wb * ub[0] + wc * uc[0],
                    wa * ua[1] + wb * ub[1] + wc * uc[1],
                ];
            }
        }
    }
}

/// A mask's outline, its feather in pixels, and its bounds grown by the feather.
type Outline<'a> = (&'a [[f64; 2]], f64, [f64; 4]);

/// The masks of an output, for coverage at a point (0: hidden, 1: shown).
struct Masks<'a> {
    adds: Vec<Outline<'a>>,
    subtracts: Vec<Outline<'a>>,
}

impl<'a> Masks<'a> {
    fn new(def: &'a OutputDef) -> Self {
        let mut out = Self {
            adds: Vec::new(),
            subtracts: Vec::new(),
        };
        for m in &def.masks {
            let feather = m.feather_px.max(1.0);
            let mut bounds = [
                f64::INFINITY,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::NEG_INFINITY,
            ];
            for p in &m.points {
                bounds = [
                    bounds[0].min(p[0] - feather),
                    bounds[1].min(p[1] - feather),
                    bounds[2].max(p[0] + feather),
                    bounds[3].max(p[1] + feather),
                ];
            }
            let entry = (m.points.as_slice(), feather, bounds);
            if m.subtract {
                out.subtracts.push(entry);
            } else {
                out.adds.push(entry);
            }
        }
        out
    }

    /// How much of a polygon covers `p`: 1 well inside, 0 well outside, a ramp `feather`
    /// pixels wide across the outline.
    fn inside(poly: &Outline<'_>, p: [f64; 2]) -> f64 {
        let (points, feather, b) = poly;
        if p[0] < b[0] || p[1] < b[1] || p[0] > b[2] || p[1] > b[3] {
            return 0.0;
        }
        (0.5 + polygon_distance(points, p) / feather).clamp(0.0, 1.0)
    }

    fn coverage(&self, p: [f64; 2]) -> f64 {
        let mut c: f64 = if self.adds.is_empty() {
            1.0
        } else {
            self.adds
                .iter()
                .map(|m| Self::inside(m, p))
                .fold(0.0, f64::max)
        };
        for m in &self.subtracts {
            c = c.min(1.0 - Self::inside(m, p));
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::show::outputs::{Blend, Edge, Mask, OutputKind, Slice};

    fn output(size: (u32, u32), crop: [f64; 4]) -> OutputDef {
        OutputDef {
            name: "o".into(),
            kind: OutputKind::Virtual { file: None },
            size,
            vsync: false,
            slices: vec![Slice {
                crop,
                place: [0.0, 0.0, f64::from(size.0), f64::from(size.1)],
                rotate_deg: 0,
                flip_x: false,
                flip_y: false,
            }],
            corners: OutputDef::identity_corners(size),
            mesh: None,
            blend: Blend::default(),
            masks: Vec::new(),
            test_card: false,
        }
    }

    #[test]
    fn an_unwarped_whole_slice_maps_each_pixel_to_its_own_canvas_pixel() {
        let r = bake(&output((64, 32), [0.0, 0.0, 64.0, 32.0]), (64, 32));
        for (x, y) in [(0, 0), (63, 31), (10, 20)] {
            let t = r.at(x, y);
            assert!((t[0] - (x as f32 + 0.5) / 64.0).abs() < 1e-6);
            assert!((t[1] - (y as f32 + 0.5) / 32.0).abs() < 1e-6);
            assert_eq!((t[2], t[3]), (1.0, 1.0));
        }
    }

    #[test]
    fn an_identity_mesh_bakes_as_no_mesh_within_a_hundredth_of_a_pixel() {
        let mut o = output((96, 64), [0.0, 0.0, 96.0, 64.0]);
        o.corners = [[4.0, 2.0], [90.0, 0.0], [96.0, 60.0], [0.0, 64.0]];
        let plain = bake(&o, (96, 64));
        o.mesh = Some(Mesh::identity(4, 3));
        let meshed = bake(&o, (96, 64));
        let mut worst: f32 = 0.0;
        for (a, b) in plain.texels.iter().zip(&meshed.texels) {
            if a[2] > 0.0 && b[2] > 0.0 {
                worst = worst
                    .max((a[0] - b[0]).abs() * 96.0)
                    .max((a[1] - b[1]).abs() * 64.0);
            }
        }
        assert!(worst < 0.01, "off by {worst} px");
    }

    #[test]
    fn a_subtract_mask_hides_its_inside_and_feathers_its_edge() {
        let mut o = output((100, 100), [0.0, 0.0, 100.0, 100.0]);
        o.masks.push(Mask {
            subtract: true,
            points: vec![[0.0, 0.0], [50.0, 0.0], [50.0, 100.0], [0.0, 100.0]],
            feather_px: 4.0,
        });
        let r = bake(&o, (100, 100));
        assert_eq!(r.at(10, 50)[2], 0.0);
        assert_eq!(r.at(80, 50)[2], 1.0);
        let edge = r.at(50, 50)[2];
        assert!(edge > 0.4 && edge < 0.8, "{edge}");
    }

    #[test]
    fn the_lift_is_outside_the_overlap_only() {
        let mut o = output((100, 10), [0.0, 0.0, 100.0, 10.0]);
        o.blend.edges[1] = Some(Edge {
            width_px: 20.0,
            power: 2.0,
        });
        let r = bake(&o, (100, 10));
        assert_eq!(r.at(50, 5)[3], 1.0);
        assert_eq!(r.at(90, 5)[3], 0.0);
        assert!(r.at(99, 5)[2] < 0.01);
    }
}
