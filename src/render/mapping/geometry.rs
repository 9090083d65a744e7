//! The mapping's math, on the CPU in `f64`: the four-corner homography, the mesh warp, a
//! slice's crop and turn, the soft-edge blend's ramp and polygon masks. Pure functions, so
//! each is tested alone; `bake.rs` puts them together once per change of the mapping.

use crate::show::outputs::{Blend, Mesh, Slice};

/// A 3×3 projective map of the plane (a true homography, not a bilinear stretch: straight
/// lines stay straight, so a keystoned projector's picture is corrected exactly).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Homography {
    m: [[f64; 3]; 3],
}

impl Homography {
    pub const IDENTITY: Self = Self {
        m: [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
    };

    /// The map taking the unit square's corners (0,0), (1,0), (1,1), (0,1) to `quad`'s, in
    /// that order (Heckbert's closed form). `None` when the quad is degenerate.
    pub fn unit_square_to(quad: &[[f64; 2]; 4]) -> Option<Self> {
        let [[x0, y0], [x1, y1], [x2, y2], [x3, y3]] = *quad;
        let sx = x0 - x1 + x2 - x3;
        let sy = y0 - y1 + y2 - y3;
        let (g, h) = if sx.abs() < 1e-12 && sy.abs() < 1e-12 {
            (0.0, 0.0)
        } else {
            let (dx1, dx2, dy1, dy2) = (x1 - x2, x3 - x2, y1 - y2, y3 - y2);
            let det = dx1 * dy2 - dx2 * dy1;
            if det.abs() < 1e-12 {
                return None;
            }
            ((sx * dy2 - dx2 * sy) / det, (dx1 * sy - sx * dy1) / det)
        };
        let m = [
            [x1 - x0 + g * x1, x3 - x0 + h * x3, x0],
            [y1 - y0 + g * y1, y3 - y0 + h * y3, y0],
            [g, h, 1.0],
        ];
        let out = Self { m };
        out.inverse().map(|_| out)
    }

    pub fn apply(&self, p: [f64; 2]) -> [f64; 2] {
        let m = &self.m;
        let w = m[2][0] * p[0] + m[2][1] * p[1] + m[2][2];
        [
            (m[0][0] * p[0] + m[0][1] * p[1] + m[0][2]) / w,
            (m[1][0] * p[0] + m[1][1] * p[1] + m[1][2]) / w,
        ]
    }

    /// The map back (`None` when singular).
    pub fn inverse(&self) -> Option<Self> {
        let m = &self.m;
        let cof = |r0: usize, r1: usize, c0: usize, c1: usize| {
            m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0]
        };
        let adj = [
            [cof(1, 2, 1, 2), -cof(0, 2, 1, 2), cof(0, 1, 1, 2)],
            [-cof(1, 2, 0, 2), cof(0, 2, 0, 2), -cof(0, 1, 0, 2)],
            [cof(1, 2, 0, 1), -cof(0, 2, 0, 1), cof(0, 1, 0, 1)],
        ];
        let det = m[0][0] * adj[0][0] + m[0][1] * adj[1][0] + m[0][2] * adj[2][0];
        if !det.is_finite() || det.abs() < 1e-12 {
            return None;
        }
        let mut inv = [[0.0; 3]; 3];
        for (r, row) in inv.iter_mut().enumerate() {
            for (c, v) in row.iter_mut().enumerate() {
                *v = adj[r][c] / det;
            }
        }
        Some(Self { m: inv })
    }
}

/// Catmull-Rom weights for the four points around a parameter `t` in 0..1 between the middle
/// two.
fn catmull_rom(t: f64) -> [f64; 4] {
    let (t2, t3) = (t * t, t * t * t);
    [
        0.5 * (-t3 + 2.0 * t2 - t),
        0.5 * (3.0 * t3 - 5.0 * t2 + 2.0),
        0.5 * (-3.0 * t3 + 4.0 * t2 + t),
        0.5 * (t3 - t2),
    ]
}

/// Where the mesh warp moves layout point `(s, t)` (layout units, 0..1; a little beyond continues the edge): a Catmull-Rom
/// surface through the grid's points. Past the grid's edge a point continues its edge's line,
/// so a regular grid gives back exactly what it was given: the identity.
pub fn mesh_point(mesh: &Mesh, s: f64, t: f64) -> [f64; 2] {
    let (nc, nr) = (mesh.columns as isize, mesh.rows as isize);
    let p = |i: isize, j: isize| mesh.points[(j * nc + i) as usize];
    // Outside the grid (one step at most): 2·edge − inner, per direction that left it.
    fn at(
        p: &dyn Fn(isize, isize) -> [f64; 2],
        nc: isize,
        nr: isize,
        i: isize,
        j: isize,
    ) -> [f64; 2] {
        let out = |e: [f64; 2], inner: [f64; 2]| [2.0 * e[0] - inner[0], 2.0 * e[1] - inner[1]];
        if i < 0 {
            out(at(p, nc, nr, 0, j), at(p, nc, nr, 1, j))
        } else if i >= nc {
            out(at(p, nc, nr, nc - 1, j), at(p, nc, nr, nc - 2, j))
        } else if j < 0 {
            out(at(p, nc, nr, i, 0), at(p, nc, nr, i, 1))
        } else if j >= nr {
            out(at(p, nc, nr, i, nr - 1), at(p, nc, nr, i, nr - 2))
        } else {
            p(i, j)
        }
    }
    // A little past the square (the baker's margin), the edge cells' curves continue.
    let x = s.clamp(-0.5, 1.5) * (nc - 1) as f64;
    let y = t.clamp(-0.5, 1.5) * (nr - 1) as f64;
    let (ci, cj) = (
        (x.floor() as isize).clamp(0, nc - 2),
        (y.floor() as isize).clamp(0, nr - 2),
    );
    let (wx, wy) = (catmull_rom(x - ci as f64), catmull_rom(y - cj as f64));
    let mut out = [0.0; 2];
    for (b, wyb) in wy.iter().enumerate() {
        for (a, wxa) in wx.iter().enumerate() {
            let p = at(&p, nc, nr, ci - 1 + a as isize, cj - 1 + b as isize);
            let w = wxa * wyb;
            out[0] += w * p[0];
            out[1] += w * p[1];
        }
    }
    out
}

/// The canvas pixel a slice shows at layout pixel `p`, if `p` is inside its place.
pub fn slice_to_canvas(slice: &Slice, p: [f64; 2]) -> Option<[f64; 2]> {
    let [px, py, pw, ph] = slice.place;
    let (mut s, mut t) = ((p[0] - px) / pw, (p[1] - py) / ph);
    if !(0.0..=1.0).contains(&s) || !(0.0..=1.0).contains(&t) {
        return None;
    }
    // Flips are of the picture as it stands on the output, after its turn.
    if slice.flip_x {
        s = 1.0 - s;
    }
    if slice.flip_y {
        t = 1.0 - t;
    }
    // Turned clockwise by `rotate_deg`: the crop's point (a, b) lands at (s, t).
    let (a, b) = match slice.rotate_deg {
        90 => (t, 1.0 - s),
        180 => (1.0 - s, 1.0 - t),
        270 => (1.0 - t, s),
        _ => (s, t),
    };
    let [cx, cy, cw, ch] = slice.crop;
    Some([cx + a * cw, cy + b * ch])
}

/// The blend's ramp at `x` across an overlap (0 at the outer edge, 1 where the overlap ends),
/// in linear light: Bourke's curve, `0.5 (2x)^p` then its mirror, so a ramp and its
/// neighbour's (`ramp(1 - x)`) always sum to 1.
pub fn ramp(x: f64, power: f64) -> f64 {
    let x = x.clamp(0.0, 1.0);
    if x < 0.5 {
        0.5 * (2.0 * x).powf(power)
    } else {
        1.0 - 0.5 * (2.0 * (1.0 - x)).powf(power)
    }
}

/// The blend's gain at layout pixel `p` of an output `size` (in linear light, 0..1), and
/// whether `p` lies outside every overlap (where the black level is lifted).
pub fn blend_gain(blend: &Blend, size: (u32, u32), p: [f64; 2]) -> (f64, bool) {
    let (w, h) = (f64::from(size.0), f64::from(size.1));
    // Distance from each edge, inward: left, right, top, bottom.
    let from_edge = [p[0], w - p[0], p[1], h - p[1]];
    let mut gain = 1.0;
    let mut outside = true;
    for (edge, d) in blend.edges.iter().zip(from_edge) {
        if let Some(e) = edge {
            if d < e.width_px {
                outside = false;
                gain *= ramp(d / e.width_px, e.power);
            }
        }
    }
    (gain, outside)
}

/// The signed distance from `p` to the polygon's outline, positive inside (even-odd).
pub fn polygon_distance(points: &[[f64; 2]], p: [f64; 2]) -> f64 {
    let mut nearest = f64::INFINITY;
    let mut inside = false;
    let n = points.len();
    for i in 0..n {
        let (a, b) = (points[i], points[(i + n - 1) % n]);
        let (ex, ey) = (b[0] - a[0], b[1] - a[1]);
        let (wx, wy) = (p[0] - a[0], p[1] - a[1]);
        let len2 = ex * ex + ey * ey;
        let k = if len2 > 0.0 {
            ((wx * ex + wy * ey) / len2).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let (dx, dy) = (wx - ex * k, wy - ey * k);
        nearest = nearest.min(dx * dx + dy * dy);
        if (a[1] > p[1]) != (b[1] > p[1]) && p[0] < a[0] + (p[1] - a[1]) * ex / ey {
            inside = !inside;
        }
    }
    if inside {
        nearest.sqrt()
    } else {
        -nearest.sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::show::outputs::Edge;

    fn close(a: [f64; 2], b: [f64; 2], tol: f64) -> bool {
        (a[0] - b[0]).abs() <= tol && (a[1] - b[1]).abs() <= tol
    }

    #[test]
    fn the_homography_maps_the_four_corners_exactly_and_inverts() {
        let quad = [[12.0, 30.5], [1270.0, 2.0], [1240.25, 700.0], [40.0, 719.0]];
        let h = Homography::unit_square_to(&quad).expect("a good quad");
        let unit = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]];
        for (u, q) in unit.iter().zip(&quad) {
            assert!(close(h.apply(*u), *q, 1e-9), "{:?} -> {:?}", u, h.apply(*u));
        }
        let inv = h.inverse().expect("invertible");
        for k in 0..100 {
            let p = [(k % 10) as f64 / 9.0, (k / 10) as f64 / 9.0];
            assert!(close(inv.apply(h.apply(p)), p, 1e-12));
        }
        // Straight lines stay straight: the middle of an edge maps onto that edge.
        let mid = h.apply([0.5, 0.0]);
        let (a, b) = (quad[0], quad[1]);
        let cross = (b[0] - a[0]) * (mid[1] - a[1]) - (b[1] - a[1]) * (mid[0] - a[0]);
        assert!(cross.abs() < 1e-6);
    }

    #[test]
    fn a_flat_quad_has_no_homography() {
        assert!(
            Homography::unit_square_to(&[[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [3.0, 0.0]]).is_none()
        );
    }

    #[test]
    fn an_identity_mesh_is_the_identity() {
        for (c, r) in [(2, 2), (3, 3), (5, 4)] {
            let mesh = Mesh::identity(c, r);
            for k in 0..121 {
                let p = [(k % 11) as f64 / 10.0, (k / 11) as f64 / 10.0];
                assert!(
                    close(mesh_point(&mesh, p[0], p[1]), p, 1e-12),
                    "{c}x{r} at {p:?}"
                );
            }
        }
    }

    #[test]
    fn a_moved_mesh_point_moves_the_picture_there_and_smoothly_around_it() {
        let mut mesh = Mesh::identity(3, 3);
        mesh.points[4] = [0.6, 0.55];
        assert!(close(mesh_point(&mesh, 0.5, 0.5), [0.6, 0.55], 1e-12));
        assert!(close(mesh_point(&mesh, 0.0, 0.0), [0.0, 0.0], 1e-12));
        // Smooth: nearby points move by nearby amounts.
        let a = mesh_point(&mesh, 0.49, 0.5);
        let b = mesh_point(&mesh, 0.51, 0.5);
        assert!((b[0] - a[0]) > 0.0 && (b[0] - a[0]) < 0.05);
    }

    fn slice(rotate_deg: u16, flip_x: bool, flip_y: bool) -> Slice {
        Slice {
            crop: [100.0, 50.0, 400.0, 200.0],
            place: [10.0, 20.0, 200.0, 400.0],
            rotate_deg,
            flip_x,
            flip_y,
        }
    }

    #[test]
    fn crop_and_rotation_map_canvas_to_output_as_stated() {
        // Unturned: the place's corners show the crop's.
        let s = Slice {
            place: [10.0, 20.0, 400.0, 200.0],
            ..slice(0, false, false)
        };
        assert_eq!(slice_to_canvas(&s, [10.0, 20.0]), Some([100.0, 50.0]));
        assert_eq!(slice_to_canvas(&s, [410.0, 220.0]), Some([500.0, 250.0]));
        assert_eq!(slice_to_canvas(&s, [5.0, 20.0]), None);
        // A quarter turn clockwise: the crop's top-left shows at the place's top-right, its
        // top-right at the bottom-right.
        let s = slice(90, false, false);
        assert_eq!(slice_to_canvas(&s, [210.0, 20.0]), Some([100.0, 50.0]));
        assert_eq!(slice_to_canvas(&s, [210.0, 420.0]), Some([500.0, 50.0]));
        assert_eq!(slice_to_canvas(&s, [10.0, 20.0]), Some([100.0, 250.0]));
        // Half a turn: top-left at bottom-right.
        let s = slice(180, false, false);
        assert_eq!(slice_to_canvas(&s, [210.0, 420.0]), Some([100.0, 50.0]));
        // Three quarters: top-left at bottom-left.
        let s = slice(270, false, false);
        assert_eq!(slice_to_canvas(&s, [10.0, 420.0]), Some([100.0, 50.0]));
        // A flip after the turn mirrors what the output shows.
        let s = slice(90, true, false);
        assert_eq!(slice_to_canvas(&s, [10.0, 20.0]), Some([100.0, 50.0]));
    }

    #[test]
    fn two_neighbouring_blend_ramps_sum_to_one_in_linear_light() {
        for power in [1.0, 2.0, 3.5] {
            for k in 0..=1000 {
                let x = f64::from(k) / 1000.0;
                let sum = ramp(x, power) + ramp(1.0 - x, power);
                assert!((sum - 1.0).abs() < 1e-12, "power {power} at {x}: {sum}");
            }
        }
        // Within 1/255 after gamma: each projector's 8-bit value, back to light, summed.
        let edge = Some(Edge {
            width_px: 256.0,
            power: 2.0,
        });
        let gamma = 2.2;
        let a = Blend {
            edges: [None, edge, None, None],
            gamma: [gamma; 3],
            black_lift: 0.0,
        };
        let b = Blend {
            edges: [edge, None, None, None],
            ..a
        };
        let mut worst: f64 = 0.0;
        for x in 1024..1280 {
            let c = f64::from(x) + 0.5;
            let (ga, _) = blend_gain(&a, (1280, 720), [c, 360.0]);
            let (gb, _) = blend_gain(&b, (1280, 720), [c - 1024.0, 360.0]);
            let light = |g: f64| ((g.powf(1.0 / gamma) * 255.0).round() / 255.0).powf(gamma);
            let seen = (light(ga) + light(gb)).powf(1.0 / gamma);
            worst = worst.max((seen - 1.0).abs());
        }
        assert!(
            worst <= 1.0 / 255.0,
            "the overlap is off by {} levels",
            worst * 255.0
        );
    }

    #[test]
    fn a_polygons_distance_is_positive_inside_and_measured_to_its_outline() {
        let square = [[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]];
        assert!((polygon_distance(&square, [5.0, 5.0]) - 5.0).abs() < 1e-12);
        assert!((polygon_distance(&square, [12.0, 5.0]) + 2.0).abs() < 1e-12);
        assert!((polygon_distance(&square, [1.0, 5.0]) - 1.0).abs() < 1e-12);
    }
}
