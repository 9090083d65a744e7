//! An ISF shader's INPUTS as a preset's named parameters: what cues, OSC, MIDI and the console
//! steer. One parameter per number: a float, bool, event or long is one; a `point2D` is two
//! (`NAME_x`, `NAME_y`); a `color` is four (`NAME_r`, `_g`, `_b`, `_a`). Images and audio
//! are fed by the renderer, not steered.
//!
//! The render thread writes each parameter's value into the shader's input block by the same
//! names ([`components`]), so both sides agree on what a parameter is.

use super::preset::ParamDef;

/// The parameter names an input's value is made of, in the order of its components (none
/// for images and audio).
pub fn components(input: &isf::Input) -> Vec<String> {
    let n = &input.name;
    match &input.ty {
        isf::InputType::Float(_)
        | isf::InputType::Long(_)
        | isf::InputType::Bool(_)
        | isf::InputType::Event => vec![n.clone()],
        isf::InputType::Point2d(_) => vec![format!("{n}_x"), format!("{n}_y")],
        isf::InputType::Color(_) => ["r", "g", "b", "a"]
            .iter()
            .map(|c| format!("{n}_{c}"))
            .collect(),
        isf::InputType::Image | isf::InputType::Audio(_) | isf::InputType::AudioFft(_) => {
            Vec::new()
        }
    }
}

/// A range from what the header gives, made usable: missing ends from `fallback`, reversed
/// or empty ranges widened, the default inside.
fn def(
    name: String,
    default: Option<f32>,
    min: Option<f32>,
    max: Option<f32>,
    fallback: (f32, f32),
) -> ParamDef {
    let finite = |v: Option<f32>| v.filter(|v| v.is_finite());
    let mut min = finite(min).unwrap_or(fallback.0);
    let mut max = finite(max).unwrap_or(fallback.1);
    if min > max {
        std::mem::swap(&mut min, &mut max);
    }
    if min == max {
        max = min + 1.0;
    }
    let default = finite(default).unwrap_or(min).clamp(min, max);
    ParamDef {
        name,
        min,
        max,
        default,
    }
}

/// A Shadertoy shader's parameters: the mouse (`iMouse`'s position, in pixels).
pub fn shadertoy_params() -> Vec<ParamDef> {
    vec![
        def(
            "mouse_x".into(),
            Some(0.0),
            Some(0.0),
            Some(1920.0),
            (0.0, 1.0),
        ),
        def(
            "mouse_y".into(),
            Some(0.0),
            Some(0.0),
            Some(1080.0),
            (0.0, 1.0),
        ),
    ]
}

/// Shadertoy's licence for a shader whose author says no other.
pub const SHADERTOY_LICENSE: &str = "CC BY-NC-SA 3.0 (Shadertoy's default)";

/// A Shadertoy export's author (`info.username`), if it says one.
pub fn shadertoy_author(json: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    let mut shader = &v;
    if let Some(first) = shader.as_array().and_then(|a| a.first()) {
        shader = first;
    }
    if let Some(inner) = shader.get("Shader") {
        shader = inner;
    }
    shader
        .get("info")?
        .get("username")?
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Whether a layer's shader is a Shadertoy shader (`.glsl`, or a `.json` export).
pub fn is_shadertoy(path: &std::path::Path) -> bool {
    path.extension().is_some_and(|x| x == "glsl" || x == "json")
}

/// Every parameter `header`'s inputs become, in the header's order.
pub fn params(header: &isf::Isf) -> Vec<ParamDef> {
    let mut out = Vec::new();
    for input in &header.inputs {
        let names = components(input);
        match &input.ty {
            isf::InputType::Float(v) => {
                out.push(def(names[0].clone(), v.default, v.min, v.max, (0.0, 1.0)))
            }
            isf::InputType::Bool(b) => out.push(def(
                names[0].clone(),
                Some(if b.default == Some(true) { 1.0 } else { 0.0 }),
                None,
                None,
                (0.0, 1.0),
            )),
            isf::InputType::Event => {
                out.push(def(names[0].clone(), Some(0.0), None, None, (0.0, 1.0)))
            }
            isf::InputType::Long(l) => {
                let values = &l.values;
                let lo = values.iter().min().copied().or(l.input_values.min);
                let hi = values.iter().max().copied().or(l.input_values.max);
                let default = l.input_values.default.or(values.first().copied());
                out.push(def(
                    names[0].clone(),
                    default.map(|v| v as f32),
                    lo.map(|v| v as f32),
                    hi.map(|v| v as f32),
                    (0.0, 10.0),
                ));
            }
            isf::InputType::Point2d(v) => {
                for (k, name) in names.into_iter().enumerate() {
                    let default = v.default.map(|d| d[k]);
                    // Points are in pixels where the header gives no range.
                    let fallback = (0.0, default.map_or(1.0, |d| (2.0 * d).max(1.0)));
                    out.push(def(
                        name,
                        default,
                        v.min.map(|m| m[k]),
                        v.max.map(|m| m[k]),
                        fallback,
                    ));
                }
            }
            isf::InputType::Color(v) => {
                for (k, name) in names.into_iter().enumerate() {
                    let at = |c: &Option<Vec<f32>>| c.as_ref().and_then(|c| c.get(k).copied());
                    // An opaque colour where the header gives no alpha.
                    let default = at(&v.default).or((k == 3).then_some(1.0));
                    out.push(def(name, default, at(&v.min), at(&v.max), (0.0, 1.0)));
                }
            }
            isf::InputType::Image | isf::InputType::Audio(_) | isf::InputType::AudioFft(_) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_value_input_becomes_parameters_with_the_headers_ranges_and_defaults() {
        let header = isf::parse(
            r#"/*{ "INPUTS": [
                { "NAME": "speed", "TYPE": "float", "DEFAULT": 2.0, "MIN": 0.0, "MAX": 4.0 },
                { "NAME": "invert", "TYPE": "bool", "DEFAULT": true },
                { "NAME": "count", "TYPE": "long", "VALUES": [2, 4, 8], "LABELS": ["a", "b", "c"], "DEFAULT": 4 },
                { "NAME": "tint", "TYPE": "color", "DEFAULT": [1.0, 0.5, 0.0] },
                { "NAME": "centre", "TYPE": "point2D", "DEFAULT": [0.25, 0.75], "MIN": [0, 0], "MAX": [1, 1] },
                { "NAME": "flash", "TYPE": "event" },
                { "NAME": "inputImage", "TYPE": "image" }
            ] }*/
            void main() {}"#,
        )
        .unwrap();
        let p = params(&header);
        let got: Vec<(&str, f32, f32, f32)> = p
            .iter()
            .map(|d| (d.name.as_str(), d.default, d.min, d.max))
            .collect();
        assert_eq!(
            got,
            [
                ("speed", 2.0, 0.0, 4.0),
                ("invert", 1.0, 0.0, 1.0),
                ("count", 4.0, 2.0, 8.0),
                ("tint_r", 1.0, 0.0, 1.0),
                ("tint_g", 0.5, 0.0, 1.0),
                ("tint_b", 0.0, 0.0, 1.0),
                ("tint_a", 1.0, 0.0, 1.0),
                ("centre_x", 0.25, 0.0, 1.0),
                ("centre_y", 0.75, 0.0, 1.0),
                ("flash", 0.0, 0.0, 1.0),
            ]
        );
    }

    #[test]
    fn a_range_given_backwards_or_empty_is_made_usable_and_the_default_kept_inside_it() {
        let header = isf::parse(
            r#"/*{ "INPUTS": [
                { "NAME": "a", "TYPE": "float", "DEFAULT": 9.0, "MIN": 1.0, "MAX": 0.0 },
                { "NAME": "b", "TYPE": "float", "MIN": 3.0, "MAX": 3.0 }
            ] }*/
            void main() {}"#,
        )
        .unwrap();
        let p = params(&header);
        assert_eq!((p[0].min, p[0].max, p[0].default), (0.0, 1.0, 1.0));
        assert_eq!((p[1].min, p[1].max, p[1].default), (3.0, 4.0, 3.0));
    }
}
