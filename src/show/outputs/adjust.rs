//! Live calibration: an [`OutputAdjust`] from OSC or the console carried out on the map, with
//! the same checks the file gets, so a live value can never make a map that the file could
//! not hold (and that a save would then write).

use super::file::convex;
use super::{EDGES, Edge, OutputDef, OutputMap, limits};
use crate::bridge::{OutputAdjust, OutputChange};

/// What an adjustment changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Adjusted {
    /// Outputs (by index) whose remap must be baked again.
    pub rebake: Vec<usize>,
    /// Outputs whose black lift or test card changed: no bake.
    pub regrade: Vec<usize>,
    /// The map is to be saved.
    pub save: bool,
}

/// Carries out `adjust` on `map`; refused (with why, for the sender) when a value is out of
/// range or no output has that name. Nothing changes when it is refused.
pub fn apply(map: &mut OutputMap, adjust: &OutputAdjust) -> Result<Adjusted, String> {
    let targets: Vec<usize> = match &adjust.output {
        None => (0..map.outputs.len()).collect(),
        Some(name) => vec![
            map.outputs
                .iter()
                .position(|o| &o.name == name)
                .ok_or_else(|| format!("no output named `{name}`"))?,
        ],
    };
    let mut out = Adjusted::default();
    if adjust.change == OutputChange::Save {
        out.save = true;
        return Ok(out);
    }
    // Checked on copies: all the outputs or none.
    let mut changed = Vec::new();
    for &i in &targets {
        let mut def = map.outputs[i].clone();
        let bake = change(&mut def, map.canvas, adjust.change)?;
        changed.push((i, def, bake));
    }
    for (i, def, bake) in changed {
        map.outputs[i] = def;
        if bake {
            out.rebake.push(i);
        } else {
            out.regrade.push(i);
        }
    }
    Ok(out)
}

fn finite(vs: &[f64]) -> Result<(), String> {
    if vs.iter().all(|v| v.is_finite()) {
        Ok(())
    } else {
        Err("a value is not a number".into())
    }
}

/// Changes one output; true when its remap must be baked again.
fn change(def: &mut OutputDef, canvas: (u32, u32), c: OutputChange) -> Result<bool, String> {
    let (w, h) = (f64::from(def.size.0), f64::from(def.size.1));
    match c {
        OutputChange::TestCard(on) => {
            def.test_card = on;
            Ok(false)
        }
        OutputChange::CornerBy {
            corner,
            dx_px,
            dy_px,
        } => {
            let at = def
                .corners
                .get(usize::from(corner))
                .ok_or("corners are tl, tr, br and bl")?;
            change(
                def,
                canvas,
                OutputChange::Corner {
                    corner,
                    x_px: at[0] + dx_px,
                    y_px: at[1] + dy_px,
                },
            )
        }
        OutputChange::Corner { corner, x_px, y_px } => {
            finite(&[x_px, y_px])?;
            let k = usize::from(corner);
            if k > 3 {
                return Err("corners are tl, tr, br and bl".into());
            }
            if !limits::corner_in_reach([x_px, y_px], def.size) {
                return Err("that corner lies far off the output".into());
            }
            let mut corners = def.corners;
            corners[k] = [x_px, y_px];
            if !convex(&corners) {
                return Err("the corners would not make a convex quad".into());
            }
            def.corners = corners;
            Ok(true)
        }
        OutputChange::MeshPoint { column, row, x, y } => {
            finite(&[x, y])?;
            if !limits::mesh_point_in_reach([x, y]) {
                return Err("mesh points are in layout units, 0 to 1 across".into());
            }
            let mesh = def.mesh.get_or_insert_with(|| super::Mesh::identity(3, 3));
            let (column, row) = (usize::from(column), usize::from(row));
            if column >= mesh.columns || row >= mesh.rows {
                return Err(format!(
                    "the mesh is {}x{} (columns and rows from 1)",
                    mesh.columns, mesh.rows
                ));
            }
            mesh.points[row * mesh.columns + column] = [x, y];
            if mesh.is_identity() {
                def.mesh = None;
            }
            Ok(true)
        }
        OutputChange::Blend {
            edge,
            width_px,
            power,
        } => {
            let k = usize::from(edge);
            if k > 3 {
                return Err(format!("edges are {}", EDGES.join(", ")));
            }
            let across = if k < 2 { w } else { h };
            finite(&[width_px])?;
            if !(0.0..=across / 2.0).contains(&width_px) {
                return Err(format!("a blend's width is 0..{} px here", across / 2.0));
            }
            let power = power.or(def.blend.edges[k].map(|e| e.power)).unwrap_or(2.0);
            if !limits::within(power, limits::POWER) {
                return Err("a blend's power is 0.1..10".into());
            }
            def.blend.edges[k] = (width_px > 0.0).then_some(Edge { width_px, power });
            Ok(true)
        }
        OutputChange::Gamma(g) => {
            finite(&g)?;
            if !g.iter().all(|g| limits::within(*g, limits::GAMMA)) {
                return Err("gamma is 0.5..4".into());
            }
            def.blend.gamma = g;
            // Baked into the remap's gain (no `pow` a pixel).
            Ok(true)
        }
        OutputChange::BlackLift(l) => {
            finite(&[l])?;
            if !limits::within(l, limits::BLACK_LIFT) {
                return Err("the black lift is 0..0.5".into());
            }
            def.blend.black_lift = l;
            Ok(false)
        }
        OutputChange::SliceCrop { slice, rect } => {
            finite(&rect)?;
            let s = def
                .slices
                .get_mut(usize::from(slice))
                .ok_or("no such slice (slices from 1)")?;
            if !limits::crop_fits(rect, canvas) {
                return Err(format!(
                    "a crop lies within the {}x{} canvas",
                    canvas.0, canvas.1
                ));
            }
            s.crop = rect;
            Ok(true)
        }
        OutputChange::SliceRotate { slice, deg } => {
            if ![0, 90, 180, 270].contains(&deg) {
                return Err("a slice turns by 0, 90, 180 or 270 degrees".into());
            }
            let s = def
                .slices
                .get_mut(usize::from(slice))
                .ok_or("no such slice (slices from 1)")?;
            s.rotate_deg = deg;
            Ok(true)
        }
        OutputChange::Save => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse_outputs;
    use super::*;

    fn map() -> OutputMap {
        parse_outputs(
            std::path::Path::new("o.toml"),
            "canvas = [200, 100]\n[[output]]\nname = \"a\"\nvirtual = {}\nsize = [100, 100]\n[[output.slice]]\ncrop = [0, 0, 100, 100]\n[[output]]\nname = \"b\"\nvirtual = {}\nsize = [100, 100]\n",
        )
        .unwrap()
    }

    fn adjust(output: Option<&str>, change: OutputChange) -> OutputAdjust {
        OutputAdjust {
            output: output.map(str::to_string),
            change,
        }
    }

    #[test]
    fn a_corner_moves_and_its_output_is_baked_again() {
        let mut m = map();
        let done = apply(
            &mut m,
            &adjust(
                Some("a"),
                OutputChange::Corner {
                    corner: 1,
                    x_px: 95.0,
                    y_px: 3.0,
                },
            ),
        )
        .unwrap();
        assert_eq!(done.rebake, vec![0]);
        assert_eq!(m.outputs[0].corners[1], [95.0, 3.0]);
    }

    #[test]
    fn a_change_that_would_cross_the_corners_is_refused_and_changes_nothing() {
        let mut m = map();
        let before = m.clone();
        let refused = apply(
            &mut m,
            &adjust(
                Some("a"),
                OutputChange::Corner {
                    corner: 0,
                    x_px: 100.0,
                    y_px: 100.0,
                },
            ),
        );
        assert!(refused.is_err());
        assert_eq!(m, before);
        assert!(apply(&mut m, &adjust(Some("zz"), OutputChange::TestCard(true))).is_err());
        assert!(apply(&mut m, &adjust(None, OutputChange::Gamma([f64::NAN; 3]))).is_err());
    }

    #[test]
    fn the_test_card_goes_to_every_output_without_a_name() {
        let mut m = map();
        let done = apply(&mut m, &adjust(None, OutputChange::TestCard(true))).unwrap();
        assert_eq!(done.regrade, vec![0, 1]);
        assert!(m.outputs.iter().all(|o| o.test_card));
    }
}
