//! A cue's caption.

use toml::Spanned;

use crate::show::diag::Reporter;
use crate::show::performance::CaptionFile;
use crate::show::timeline::{Caption, CaptionPlace};

/// A cue's caption starting at `start_s`, checked.
pub(super) fn caption(c: &Spanned<CaptionFile>, start_s: f64, r: &mut Reporter) -> Option<Caption> {
    let f = c.get_ref();
    let place = match &f.position {
        None => CaptionPlace::default(),
        Some(p) => r.choice(p, "position", &CaptionPlace::NAMES, CaptionPlace::from_name)?,
    };
    let (fade_s, hold_s, size) = (
        f.fade_s.unwrap_or(1.0),
        f.hold_s.unwrap_or(5.0),
        f.size.unwrap_or(1.0),
    );
    let ok = |x: f64| x.is_finite() && x >= 0.0;
    if !(ok(fade_s) && ok(hold_s) && size > 0.0 && size <= 4.0) || f.text.trim().is_empty() {
        r.error_hint(
            c.span(),
            "a caption needs text, fade_s and hold_s of zero or more, and a size within 0..4",
            "e.g. caption = { text = \"The forest wakes\", position = \"bottom\", fade_s = 1, hold_s = 5 }",
        );
        return None;
    }
    Some(Caption {
        start_s,
        text: f.text.clone(),
        place,
        fade_s,
        hold_s,
        size: size as f32,
    })
}
