//! The parameter names a cue's `set` and ramps use, and what each refers to.

use crate::bridge::AudioParam;
use crate::show::diag::did_you_mean;
use crate::show::look::Post;
use crate::show::preset::Preset;
use crate::show::timeline::{Dreamer, Target};

/// What a parameter name in a cue refers to.
pub(super) enum ParamRef {
    Audio(AudioParam),
    Visual(Target),
}

/// Resolves a cue's parameter name: an audio parameter, `unity`, `post.<setting>`,
/// `dreamer<n>.opacity`, `dreamer<n>.<param>`, or a parameter of the preset showing.
/// `Err(None)` means nothing to report (the preset it would belong to already failed);
/// `Err(Some((message, hint)))` is a problem with the name.
pub(super) fn resolve_param(
    name: &str,
    active: Option<usize>,
    presets: &[Preset],
    dreamers: &[Dreamer],
) -> Result<ParamRef, Option<(String, String)>> {
    if let Some(ap) = AudioParam::from_name(name) {
        return Ok(ParamRef::Audio(ap));
    }
    if name == "unity" {
        return Ok(ParamRef::Visual(Target::Unity));
    }
    let hint_from = |word: &str, known: Vec<&str>| match did_you_mean(word, known.iter().copied()) {
        Some(s) => format!("did you mean `{s}`?"),
        None => format!("known here: {}", known.join(", ")),
    };
    if let Some(setting) = name.strip_prefix("post.") {
        let Some(pi) = active else { return Err(None) };
        return match Post::index(setting) {
            Some(setting) => Ok(ParamRef::Visual(Target::Post {
                preset: pi,
                setting,
            })),
            None => Err(Some((
                format!("there is no post setting `{setting}`"),
                hint_from(setting, Post::FIELDS.iter().map(|f| f.name).collect()),
            ))),
        };
    }
    if let Some(rest) = name.strip_prefix("dreamer") {
        let (number, what) = rest.split_once('.').unwrap_or((rest, ""));
        let Some(k) = number
            .parse::<usize>()
            .ok()
            .filter(|k| (1..=dreamers.len()).contains(k))
        else {
            return Err(Some((
                format!("`{name}`: there is no dreamer {number}"),
                format!(
                    "dreamers are numbered 1 to {} in the order of the [[dreamer]] tables; write `dreamer1.opacity`",
                    dreamers.len()
                ),
            )));
        };
        let dreamer = k - 1;
        if what == "opacity" {
            return Ok(ParamRef::Visual(Target::DreamerOpacity { dreamer }));
        }
        let preset = &presets[dreamers[dreamer].preset];
        return match preset.layer.param_index(what) {
            Some(param) => Ok(ParamRef::Visual(Target::DreamerParam { dreamer, param })),
            None => {
                let known = std::iter::once("opacity")
                    .chain(preset.layer.params.iter().map(|p| p.name.as_str()))
                    .collect();
                Err(Some((
                    format!(
                        "dreamer {k} (preset `{}`) has no parameter `{what}`",
                        preset.name
                    ),
                    hint_from(what, known),
                )))
            }
        };
    }
    let Some(pi) = active else { return Err(None) };
    let layer = &presets[pi].layer;
    match layer.param_index(name) {
        Some(param) => Ok(ParamRef::Visual(Target::Layer { preset: pi, param })),
        None => {
            let known = layer
                .params
                .iter()
                .map(|p| p.name.as_str())
                .chain(AudioParam::ALL.iter().map(|p| p.name()))
                .chain(["unity", "post.glitch", "post.glow"])
                .collect();
            Err(Some((
                format!("preset `{}` has no parameter `{name}`", presets[pi].name),
                hint_from(name, known),
            )))
        }
    }
}

/// One entry of a cue's `set` table as (name, number) pairs: a number as it is, a table
/// (`post = { glow = 1 }`, also written `post.glow = 1`) as dotted names. `None`: not a number.
pub(super) fn flatten_set(name: &str, value: &toml::Value) -> Vec<(String, Option<f64>)> {
    match value {
        toml::Value::Integer(i) => vec![(name.to_string(), Some(*i as f64))],
        toml::Value::Float(f) => vec![(name.to_string(), Some(*f))],
        toml::Value::Table(t) => t
            .iter()
            .flat_map(|(k, v)| flatten_set(&format!("{name}.{k}"), v))
            .collect(),
        _ => vec![(name.to_string(), None)],
    }
}
