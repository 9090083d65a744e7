//! The audience page's join code on the picture: a QR code of its address (made with the
//! qrcode crate), drawn by the engine in the bottom-right corner, with the address in words
//! above it for whoever would rather type it. It is drawn before the flash guard like
//! captions are, and fades in and out rather than flashing.
//!
//! The code is drawn with whole pixels per module and its quiet zone, black on white, as big
//! as a third of the picture's height allows: a phone at the back of a room must read it.

use qrcode::{EcLevel, QrCode};

use super::passes::{begin_overlay_pass, blended_pipeline, uniform_entry};

/// Modules of white around the code: the quiet zone ISO/IEC 18004 asks for.
const QUIET_MODULES: u32 = 4;
/// The code's side (quiet zone included) as a share of the picture's height, at most.
const SIDE_OF_HEIGHT: f32 = 0.36;
/// Space from the picture's edges, as a share of its height.
const MARGIN_OF_HEIGHT: f32 = 0.04;

/// The modules of `url`'s QR code, quiet zone included, row by row (true: dark), and how many
/// there are a side. `None` when the address is too long for a QR code.
pub fn modules(url: &str) -> Option<(Vec<bool>, u32)> {
    // M: a quarter of the code may be lost (a head in the way, a projector's blur).
    let code = QrCode::with_error_correction_level(url.as_bytes(), EcLevel::M).ok()?;
    let inner = code.width() as u32;
    let side = inner + 2 * QUIET_MODULES;
    let colors = code.to_colors();
    let mut out = vec![false; (side * side) as usize];
    for y in 0..inner {
        for x in 0..inner {
            let dark = colors[(y * inner + x) as usize] == qrcode::Color::Dark;
            out[((y + QUIET_MODULES) * side + x + QUIET_MODULES) as usize] = dark;
        }
    }
    Some((out, side))
}

/// Where the code goes on a picture of `size`: (left, top, pixels a module) in pixels, whole
/// pixels a module so that every module is sharp.
pub fn placement(size: (u32, u32), side_modules: u32) -> (u32, u32, u32) {
    let (w, h) = size;
    let fit = (SIDE_OF_HEIGHT * h as f32) as u32 / side_modules.max(1);
    let module_px = fit.max(1);
    let side_px = module_px * side_modules;
    let margin = (MARGIN_OF_HEIGHT * h as f32) as u32;
    (
        w.saturating_sub(side_px + margin),
        h.saturating_sub(side_px + margin),
        module_px,
    )
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct JoinCodeUniform {
    /// Left, top, pixels a module, modules a side.
    rect: [f32; 4],
    opacity: f32,
    _pad: [f32; 3],
}

const SHADER: &str = r#"
struct JoinCode {
    rect: vec4<f32>,
    opacity: f32,
};
@group(0) @binding(0) var modules: texture_2d<f32>;
@group(0) @binding(1) var<uniform> code: JoinCode;

@fragment
fn fs_main(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    let m = floor((pos.xy - code.rect.xy) / code.rect.z);
    if (any(m < vec2<f32>(0.0)) || any(m >= vec2<f32>(code.rect.w))) {
        discard;
    }
    let dark = textureLoad(modules, vec2<i32>(m), 0).r;
    return vec4<f32>(vec3<f32>(1.0 - dark), code.opacity);
}
"#;

/// The code for one address, on the GPU.
struct Code {
    url: String,
    side_modules: u32,
    bind_group: wgpu::BindGroup,
}

pub struct JoinCodePass {
    pipeline: wgpu::RenderPipeline,
    bgl: wgpu::BindGroupLayout,
    uniform_buf: wgpu::Buffer,
    code: Option<Code>,
}

impl JoinCodePass {
    pub fn new(device: &wgpu::Device, format: wgpu::TextureFormat) -> Self {
        let bgl = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("join code"),
            entries: &[
                super::passes::texture_entry(
                    0,
                    wgpu::ShaderStages::FRAGMENT,
                    wgpu::TextureViewDimension::D2,
                    false,
                ),
                uniform_entry(1, wgpu::ShaderStages::FRAGMENT),
            ],
        });
        let (layout, module) = super::passes::fullscreen_program(device, "join code", &bgl, SHADER);
        let pipeline = blended_pipeline(
            device,
            "join code",
            &layout,
            &module,
            "fs_main",
            format,
            1,
            Some(wgpu::BlendState::ALPHA_BLENDING),
        );
        let uniform_buf = super::passes::uniform_buffer(
            device,
            "join code",
            std::mem::size_of::<JoinCodeUniform>() as u64,
        );
        Self {
            pipeline,
            bgl,
            uniform_buf,
            code: None,
        }
    }

    /// Makes the code for `url` unless it is the one already made; false when no QR code can
    /// hold the address (said once by the caller).
    fn prepare(&mut self, device: &wgpu::Device, queue: &wgpu::Queue, url: &str) -> bool {
        if self.code.as_ref().is_some_and(|c| c.url == url) {
            return true;
        }
        let Some((dark, side)) = modules(url) else {
            self.code = None;
            return false;
        };
        let extent = wgpu::Extent3d {
            width: side,
            height: side,
            depth_or_array_layers: 1,
        };
        let texture = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("join code"),
            size: extent,
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: wgpu::TextureFormat::R8Unorm,
            usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
            view_formats: &[],
        });
        let bytes: Vec<u8> = dark.iter().map(|d| if *d { 255 } else { 0 }).collect();
        queue.write_texture(
            texture.as_image_copy(),
            &bytes,
            wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(side),
                rows_per_image: Some(side),
            },
            extent,
        );
        let view = texture.create_view(&Default::default());
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("join code"),
            layout: &self.bgl,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: wgpu::BindingResource::TextureView(&view),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: self.uniform_buf.as_entire_binding(),
                },
            ],
        });
        self.code = Some(Code {
            url: url.to_string(),
            side_modules: side,
            bind_group,
        });
        true
    }

    /// Draws the code for `url` over `view` (of `size` pixels) at `opacity`; returns where
    /// (left, top, side) in pixels, for the address in words, or `None` if it could not be
    /// made.
    #[allow(clippy::too_many_arguments)]
    pub fn draw(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        encoder: &mut wgpu::CommandEncoder,
        view: &wgpu::TextureView,
        size: (u32, u32),
        url: &str,
        opacity: f32,
    ) -> Option<(u32, u32, u32)> {
        if !self.prepare(device, queue, url) {
            return None;
        }
        let code = self.code.as_ref()?;
        let (left, top, module_px) = placement(size, code.side_modules);
        let u = JoinCodeUniform {
            rect: [
                left as f32,
                top as f32,
                module_px as f32,
                code.side_modules as f32,
            ],
            opacity: opacity.clamp(0.0, 1.0),
            _pad: [0.0; 3],
        };
        queue.write_buffer(&self.uniform_buf, 0, bytemuck::bytes_of(&u));
        let mut pass = begin_overlay_pass(encoder, view, "join code");
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &code.bind_group, &[]);
        pass.draw(0..3, 0..1);
        Some((left, top, module_px * code.side_modules))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_join_address_makes_a_square_code_with_its_quiet_zone_and_finder_patterns() {
        let (dark, side) = modules("http://192.168.1.20:9080/join").unwrap();
        assert_eq!(dark.len(), (side * side) as usize);
        // Version 2 or 3 (25 or 29 modules) plus 4 a side.
        assert!((33..=37).contains(&side), "{side}");
        let at = |x: u32, y: u32| dark[(y * side + x) as usize];
        assert!(
            (0..side).all(|i| !at(i, 0) && !at(0, i)),
            "the quiet zone is light"
        );
        // The top-left finder pattern: a dark 7x7 ring.
        let q = QUIET_MODULES;
        assert!((0..7).all(|i| at(q + i, q) && at(q, q + i) && at(q + 6, q + i)));
        assert!(!at(q + 1, q + 1) && at(q + 3, q + 3));
    }

    #[test]
    fn the_code_fits_the_bottom_right_corner_in_whole_pixels_a_module() {
        let (left, top, module_px) = placement((1920, 1080), 37);
        assert_eq!(module_px, 10);
        assert_eq!((left + 370 + 43, top + 370 + 43), (1920, 1080));
        // Too small a picture for a readable code still gets one pixel a module, not zero.
        assert_eq!(placement((64, 36), 37).2, 1);
    }

    #[test]
    fn an_address_too_long_for_any_code_makes_none() {
        assert!(modules(&"x".repeat(5000)).is_none());
    }
}
