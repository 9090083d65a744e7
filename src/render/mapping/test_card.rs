//! The calibration test card, drawn at the canvas's size so that it goes through each
//! output's slices, warp and blends as the show does: where two projectors overlap, their
//! grids must lie on each other. A numbered grid (columns lettered, rows numbered), a circle
//! in each cell and one across the middle (round only when the aspect is right), colour bars
//! and a grey ramp (for matching projectors' gamma). Each output writes its own name over it,
//! unwarped, so the operator knows which projector is which.

use crate::render::passes::{begin_pass, fullscreen_pipeline, uniform_buffer, uniform_entry};
use crate::render::text::{Anchor, TextItem, TextPainter};

const SHADER: &str = r#"
struct Card { size: vec2<f32>, cell: f32, pad: f32 };
@group(0) @binding(0) var<uniform> card: Card;

fn line(d: f32, half_width: f32) -> f32 {
    return 1.0 - smoothstep(half_width - 0.75, half_width + 0.75, abs(d));
}

@fragment
fn fs_main(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    let p = pos.xy;
    let cell = card.cell;
    let idx = floor(p / cell);
    let checker = (i32(idx.x) + i32(idx.y)) % 2;
    var c = select(vec3<f32>(0.10), vec3<f32>(0.16), checker == 1);
    // A circle in each cell.
    let centre = (idx + 0.5) * cell;
    c = mix(c, vec3<f32>(0.55), line(length(p - centre) - 0.35 * cell, 1.0));
    // Colour bars across the middle row of cells, a grey ramp under them.
    let mid = card.size * 0.5;
    let bars_w = card.size.x * 0.6;
    let left = mid.x - bars_w * 0.5;
    if (p.x >= left && p.x < left + bars_w) {
        let k = (p.x - left) / bars_w;
        if (p.y >= mid.y - cell * 0.5 && p.y < mid.y) {
            let bar = i32(floor(k * 8.0));
            var colours = array<vec3<f32>, 8>(
                vec3<f32>(1.0, 1.0, 1.0), vec3<f32>(1.0, 1.0, 0.0), vec3<f32>(0.0, 1.0, 1.0),
                vec3<f32>(0.0, 1.0, 0.0), vec3<f32>(1.0, 0.0, 1.0), vec3<f32>(1.0, 0.0, 0.0),
                vec3<f32>(0.0, 0.0, 1.0), vec3<f32>(0.0, 0.0, 0.0));
            c = colours[clamp(bar, 0, 7)];
        } else if (p.y >= mid.y && p.y < mid.y + cell * 0.5) {
            c = vec3<f32>(k);
        }
    }
    // The big circle and the centre cross.
    let r = 0.45 * min(card.size.x, card.size.y);
    c = mix(c, vec3<f32>(1.0, 0.85, 0.2), line(length(p - mid) - r, 1.5));
    c = mix(c, vec3<f32>(1.0, 0.85, 0.2), max(line(p.x - mid.x, 1.0), line(p.y - mid.y, 1.0)));
    // The grid, and the canvas's border.
    let g = p - idx * cell;
    let grid = max(line(min(g.x, cell - g.x), 1.0), line(min(g.y, cell - g.y), 1.0));
    let border = line(min(min(p.x, card.size.x - p.x), min(p.y, card.size.y - p.y)), 3.0);
    c = mix(c, vec3<f32>(1.0), max(grid, border));
    return vec4<f32>(c, 1.0);
}
"#;

/// A test card for a canvas, drawn once.
pub struct TestCard {
    pub texture: wgpu::Texture,
    pub view: wgpu::TextureView,
}

/// The grid's cell side for a canvas: eight cells down.
pub fn cell_px(canvas: (u32, u32)) -> f32 {
    (canvas.1 as f32 / 8.0).round().max(8.0)
}

/// The label of the cell in `column`, `row` (from 0): `A1`, `B1`, … `AA1` past `Z`.
pub fn cell_label(column: u32, row: u32) -> String {
    let mut letters = String::new();
    let mut c = column + 1;
    while c > 0 {
        c -= 1;
        letters.insert(0, (b'A' + (c % 26) as u8) as char);
        c /= 26;
    }
    format!("{letters}{}", row + 1)
}

impl TestCard {
    pub fn new(
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        format: wgpu::TextureFormat,
        canvas: (u32, u32),
    ) -> Result<Self, String> {
        let texture = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("test card"),
            size: wgpu::Extent3d {
                width: canvas.0,
                height: canvas.1,
                depth_or_array_layers: 1,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format,
            usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::TEXTURE_BINDING,
            view_formats: &[],
        });
        let view = texture.create_view(&Default::default());
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("test card"),
            entries: &[uniform_entry(0, wgpu::ShaderStages::FRAGMENT)],
        });
        let uniforms = uniform_buffer(device, "test card", 16);
        let cell = cell_px(canvas);
        queue.write_buffer(
            &uniforms,
            0,
            bytemuck::cast_slice(&[canvas.0 as f32, canvas.1 as f32, cell, 0.0]),
        );
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("test card"),
            layout: &layout,
            entries: &[wgpu::BindGroupEntry {
                binding: 0,
                resource: uniforms.as_entire_binding(),
            }],
        });
        let (pipeline_layout, module) =
            crate::render::passes::fullscreen_program(device, "test card", &layout, SHADER);
        let pipeline = fullscreen_pipeline(
            device,
            "test card",
            &pipeline_layout,
            &module,
            "fs_main",
            format,
            1,
        );
        let mut encoder = device.create_command_encoder(&Default::default());
        {
            let mut pass = begin_pass(&mut encoder, &view, "test card");
            pass.set_pipeline(&pipeline);
            pass.set_bind_group(0, &bind_group, &[]);
            pass.draw(0..3, 0..1);
        }
        let mut labels = Vec::new();
        let size_px = (cell * 0.22).clamp(8.0, 64.0);
        let (columns, rows) = (
            (canvas.0 as f32 / cell).ceil() as u32,
            (canvas.1 as f32 / cell).ceil() as u32,
        );
        for row in 0..rows {
            for column in 0..columns {
                labels.push(TextItem {
                    text: cell_label(column, row),
                    left_px: column as f32 * cell + size_px * 0.4,
                    y_px: row as f32 * cell + size_px * 0.3,
                    anchor: Anchor::Top,
                    centered: false,
                    size_px,
                    max_width_px: cell,
                    rgba: [230, 230, 230, 255],
                    shadow: false,
                });
            }
        }
        let mut text = TextPainter::new(device, queue, format);
        text.draw(device, queue, &mut encoder, &view, canvas, &labels)?;
        queue.submit([encoder.finish()]);
        Ok(Self { texture, view })
    }
}

/// The output's name over its test card: centred, large, unwarped.
pub fn name_item(name: &str, size: (u32, u32)) -> TextItem {
    let size_px = (size.1 as f32 / 10.0).clamp(12.0, 160.0);
    TextItem {
        text: format!("{name}\n{}×{}", size.0, size.1),
        left_px: 0.0,
        y_px: size.1 as f32 * 0.3,
        anchor: Anchor::Middle,
        centered: true,
        size_px,
        max_width_px: size.0 as f32,
        rgba: [255, 255, 255, 255],
        shadow: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_lettered_across_and_numbered_down() {
        assert_eq!(cell_label(0, 0), "A1");
        assert_eq!(cell_label(25, 7), "Z8");
        assert_eq!(cell_label(26, 0), "AA1");
    }
}
