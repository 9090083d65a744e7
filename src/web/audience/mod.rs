//! The audience page (`/join`): phones join a show as dreamers, by their own consent. This
//! folder grows the page and its WebSocket; `slots.rs` is who holds which dreamer and what the
//! crowd feels, apart from the network.

pub mod slots;
pub mod socket;

use axum::response::Html;

use crate::show::Timeline;
use crate::show::look::MAX_DREAMERS;
use slots::{ParamControl, SlotControls};

/// How often phones whose connection dropped are checked for the end of their grace.
pub const TICK: std::time::Duration = std::time::Duration::from_millis(250);

/// The page's words as shipped (English); a venue translates a copy of this file.
pub const WORDS: &str = include_str!("words.json");
const PAGE: &str = include_str!("join.html");

/// The audience page with its words (`words`, a JSON object like [`WORDS`]; the shipped ones
/// when `None`) written into it: one request gives the whole page, nothing else to load.
pub fn page(words: Option<&str>) -> Html<String> {
    // `</` would end the script early: a translation can never break out of it.
    let words = words.unwrap_or(WORDS).replace("</", "<\\/");
    Html(PAGE.replacen("/*WORDS*/{}", &words, 1))
}

/// Each slot's colour and its name: distinct hues, each readable on the page's dark ground
/// (contrast over 4.5:1), and named so that colour is never the only way to tell them apart.
const COLOURS: [(&str, &str); MAX_DREAMERS] = [
    ("#ffb347", "amber"),
    ("#7fd4ff", "sky"),
    ("#b8f28c", "leaf"),
    ("#ff8fb1", "rose"),
    ("#d0a8ff", "lilac"),
    ("#fff07a", "lemon"),
    ("#7ff0d4", "mint"),
    ("#ffa08a", "coral"),
    ("#a8c4ff", "periwinkle"),
    ("#f5f5f5", "snow"),
    ("#ffd1f0", "blossom"),
    ("#c9e87f", "lime"),
];

/// The dreamer slots of `timeline`, in its order: the touch pad moves the first two parameters
/// of the dreamer's preset, the energy control the third (where the preset has them).
pub fn slot_controls(timeline: &Timeline) -> Vec<SlotControls> {
    timeline
        .dreamers
        .iter()
        .take(MAX_DREAMERS)
        .enumerate()
        .map(|(i, d)| {
            let params = timeline
                .presets
                .get(d.preset)
                .map(|p| p.layer.params.as_slice())
                .unwrap_or_default();
            let control = |n: usize| {
                params.get(n).map(|p| ParamControl {
                    name: p.name.clone(),
                    min: p.min,
                    max: p.max,
                })
            };
            let (colour, name) = COLOURS[i];
            SlotControls {
                pad: [control(0), control(1)],
                energy: control(2),
                colour: colour.into(),
                colour_name: name.into(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_carries_its_words_and_every_word_it_uses_is_in_the_words_file() {
        let Html(page) = page(None);
        assert!(!page.contains("/*WORDS*/"));
        assert!(page.len() < 100_000, "{} bytes", page.len());
        let words: serde_json::Value = serde_json::from_str(WORDS).unwrap();
        // Every `W.name` the script reads is a word of the file.
        for used in PAGE.split("W.").skip(1) {
            let name: String = used
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            assert!(
                words.get(&name).is_some(),
                "the page uses W.{name}, not in words.json"
            );
        }
        let Html(sneaky) = super::page(Some(r#"{"title":"</script><script>alert(1)"}"#));
        assert!(!sneaky.contains("</script><script>alert"));
    }

    #[test]
    fn a_shows_dreamer_slots_steer_their_presets_first_parameters_within_their_ranges() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("performances/dream-mosaic.toml");
        let t = crate::show::compile::load_timeline(&path).unwrap();
        let slots = slot_controls(&t);
        assert_eq!(slots.len(), t.dreamers.len().min(MAX_DREAMERS));
        assert!(!slots.is_empty());
        for (s, d) in slots.iter().zip(&t.dreamers) {
            let params = &t.presets[d.preset].layer.params;
            let x = s.pad[0].as_ref().unwrap();
            assert_eq!(
                (x.name.as_str(), x.min, x.max),
                (params[0].name.as_str(), params[0].min, params[0].max)
            );
        }
        let names: std::collections::HashSet<_> =
            slots.iter().map(|s| s.colour_name.clone()).collect();
        assert_eq!(
            names.len(),
            slots.len(),
            "every slot has its own colour name"
        );
    }
}
