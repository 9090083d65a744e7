//! Text on the picture, with glyphon and the bundled DejaVu Sans: the rehearsal overlay's
//! error messages (and, later, narrative captions). Only the bundled font is loaded, never the
//! system's, so text looks the same on every machine and offline renders stay reproducible.

use glyphon::{
    Attrs, Buffer, Cache, Color, Family, FontSystem, Metrics, Resolution, Shaping, SwashCache,
    TextArea, TextAtlas, TextBounds, TextRenderer, Viewport, Wrap, cosmic_text::Align, fontdb,
};

/// DejaVu Sans (Bitstream Vera licence, see assets/fonts/LICENSE-DejaVu.txt).
pub const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
const FAMILY: &str = "DejaVu Sans";

/// Which edge of a text block its `y_px` gives.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Anchor {
    #[default]
    Top,
    Middle,
    Bottom,
}

/// One block of text to draw.
#[derive(Clone, Debug, PartialEq)]
pub struct TextItem {
    pub text: String,
    pub left_px: f32,
    /// The block's top, middle or bottom, as `anchor` says.
    pub y_px: f32,
    pub anchor: Anchor,
    /// Centre each line within `max_width_px` (else left-aligned).
    pub centered: bool,
    pub size_px: f32,
    /// Lines wrap at this width.
    pub max_width_px: f32,
    pub rgba: [u8; 4],
    /// A dark copy underneath, offset by a tenth of the size, so text reads over any picture.
    pub shadow: bool,
}

/// What a shaped buffer was made from: reused while the same text is drawn again.
#[derive(Clone, Debug, PartialEq)]
struct Shaped {
    text: String,
    size_px: f32,
    max_width_px: f32,
    centered: bool,
}

pub struct TextPainter {
    font_system: FontSystem,
    swash: SwashCache,
    viewport: Viewport,
    atlas: TextAtlas,
    renderer: TextRenderer,
    buffers: Vec<(Shaped, Buffer)>,
}

impl TextPainter {
    pub fn new(device: &wgpu::Device, queue: &wgpu::Queue, format: wgpu::TextureFormat) -> Self {
        let mut db = fontdb::Database::new();
        db.load_font_data(FONT.to_vec());
        let font_system = FontSystem::new_with_locale_and_db("en-US".into(), db);
        let cache = Cache::new(device);
        let viewport = Viewport::new(device, &cache);
        let mut atlas = TextAtlas::new(device, queue, &cache, format);
        let renderer =
            TextRenderer::new(&mut atlas, device, wgpu::MultisampleState::default(), None);
        Self {
            font_system,
            swash: SwashCache::new(),
            viewport,
            atlas,
            renderer,
            buffers: Vec::new(),
        }
    }

    /// Draws `items` over what `view` (of `size` pixels) already holds.
    pub fn draw(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        encoder: &mut wgpu::CommandEncoder,
        view: &wgpu::TextureView,
        size: (u32, u32),
        items: &[TextItem],
    ) -> Result<(), String> {
        self.shape(items);
        self.viewport.update(
            queue,
            Resolution {
                width: size.0,
                height: size.1,
            },
        );
        let bounds = TextBounds {
            left: 0,
            top: 0,
            right: size.0 as i32,
            bottom: size.1 as i32,
        };
        let mut areas = Vec::with_capacity(items.len() * 2);
        for (item, (_, buffer)) in items.iter().zip(&self.buffers) {
            let [r, g, b, a] = item.rgba;
            let height = buffer.layout_runs().count() as f32 * buffer.metrics().line_height;
            let top_px = match item.anchor {
                Anchor::Top => item.y_px,
                Anchor::Middle => item.y_px - height / 2.0,
                Anchor::Bottom => item.y_px - height,
            };
            if item.shadow {
                let offset = (item.size_px * 0.1).max(1.0);
                areas.push(TextArea {
                    buffer,
                    left: item.left_px + offset,
                    top: top_px + offset,
                    scale: 1.0,
                    bounds,
                    default_color: Color::rgba(0, 0, 0, a),
                    custom_glyphs: &[],
                });
            }
            areas.push(TextArea {
                buffer,
                left: item.left_px,
                top: top_px,
                scale: 1.0,
                bounds,
                default_color: Color::rgba(r, g, b, a),
                custom_glyphs: &[],
            });
        }
        self.renderer
            .prepare(
                device,
                queue,
                &mut self.font_system,
                &mut self.atlas,
                &self.viewport,
                areas,
                &mut self.swash,
            )
            .map_err(|e| format!("cannot lay out text: {e}"))?;
        {
            let mut pass = super::passes::begin_overlay_pass(encoder, view, "text");
            self.renderer
                .render(&self.atlas, &self.viewport, &mut pass)
                .map_err(|e| format!("cannot draw text: {e}"))?;
        }
        self.atlas.trim();
        Ok(())
    }

    /// Makes `self.buffers` line up with `items`, reusing buffers already shaped.
    fn shape(&mut self, items: &[TextItem]) {
        let mut old = std::mem::take(&mut self.buffers);
        for item in items {
            let key = Shaped {
                text: item.text.clone(),
                size_px: item.size_px,
                max_width_px: item.max_width_px,
                centered: item.centered,
            };
            if let Some(i) = old.iter().position(|(k, _)| *k == key) {
                self.buffers.push(old.swap_remove(i));
                continue;
            }
            let size = item.size_px.max(1.0);
            let mut buffer = Buffer::new(&mut self.font_system, Metrics::new(size, size * 1.3));
            buffer.set_wrap(Wrap::WordOrGlyph);
            buffer.set_size(Some(item.max_width_px.max(size)), None);
            buffer.set_text(
                &item.text,
                &Attrs::new().family(Family::Name(FAMILY)),
                Shaping::Advanced,
                item.centered.then_some(Align::Center),
            );
            buffer.shape_until_scroll(&mut self.font_system, false);
            self.buffers.push((key, buffer));
        }
    }
}
