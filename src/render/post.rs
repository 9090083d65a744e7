//! The post chain, one pass after the layers and before the flash guard: the glitch (scanline
//! tear, block displacement, RGB split, smear), glow, feedback trails, then the colour grade.
//! It keeps its own history (the picture before grading) for trails and smear. When every
//! setting is neutral the renderer skips it, so a plain preset pays nothing for it.
//!
//! The glitch's pattern is a function of the performance time, not of a random generator, so
//! offline renders stay reproducible.

use bytemuck::{Pod, Zeroable};

use super::passes::{begin_pass, clear_attachment, fullscreen_pipeline};
use crate::show::look::Post;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
struct PostUniform {
    time_s: f32,
    /// How much of the trail survives this frame, 0..1.
    keep: f32,
    glow: f32,
    gain: f32,
    contrast: f32,
    saturation: f32,
    /// The hue shift's angle, as its cosine and sine: worked out once a frame here rather
    /// than for every pixel (a software rasteriser pays for each `cos` and `sin`).
    hue_cos: f32,
    hue_sin: f32,
    glitch: f32,
    _pad: [f32; 3],
}

const SHADER: &str = r#"
struct PostU {
    time_s: f32,
    keep: f32,
    glow: f32,
    gain: f32,
    contrast: f32,
    saturation: f32,
    hue_cos: f32,
    hue_sin: f32,
    glitch: f32,
    pad0: f32,
    pad1: f32,
    pad2: f32,
};
@group(0) @binding(0) var scene_tex: texture_2d<f32>;
@group(0) @binding(1) var history_tex: texture_2d<f32>;
@group(0) @binding(2) var samp: sampler;
@group(0) @binding(3) var<uniform> u: PostU;
@group(0) @binding(4) var bloom_tex: texture_2d<f32>;

struct PostOut {
    @location(0) screen: vec4<f32>,
    @location(1) history: vec4<f32>,
};

fn hash(p: vec2<f32>) -> f32 {
    var q = fract(p * vec2<f32>(123.34, 456.21));
    q = q + dot(q, q + 45.32);
    return fract(q.x * q.y);
}

// The scene's pixel under `uv`, unfiltered: the pass draws at the scene's own size, so an
// undisturbed pixel reads exactly its own, and the glitch's offsets are a digital picture's
// (whole pixels). A fetch costs a software rasteriser far less than a filtered sample.
fn scene(uv: vec2<f32>) -> vec3<f32> {
    let dims = vec2<i32>(textureDimensions(scene_tex));
    let p = clamp(vec2<i32>(floor(uv * vec2<f32>(dims))), vec2<i32>(0), dims - vec2<i32>(1));
    return textureLoad(scene_tex, p, 0).rgb;
}

// Rotation about the grey axis (Rodrigues): a hue shift that keeps brightness.
fn hue_rotate(c: vec3<f32>) -> vec3<f32> {
    let k = vec3<f32>(0.57735027);
    let ca = u.hue_cos;
    return c * ca + cross(k, c) * u.hue_sin + k * dot(k, c) * (1.0 - ca);
}

fn post(pos: vec4<f32>) -> PostOut {
    let dims = vec2<f32>(textureDimensions(scene_tex));
    var uv = pos.xy / dims;
    let g = u.glitch;
    // The glitch pattern changes 12 times a second.
    let tick = floor(u.time_s * 12.0);
    var smear = 0.0;
    if (g > 0.0) {
        // Scanline tear: some bands of rows slide sideways.
        let band = floor(uv.y * 36.0);
        let tear = step(1.0 - 0.5 * g, hash(vec2<f32>(band, tick)));
        uv.x = uv.x + tear * (hash(vec2<f32>(band + 17.0, tick)) - 0.5) * 0.3 * g;
        // Block displacement: some blocks show a piece of the picture from elsewhere.
        let block = floor(uv * vec2<f32>(16.0, 9.0));
        if (hash(block + vec2<f32>(tick * 1.37, 3.0)) < 0.3 * g) {
            uv = uv + (vec2<f32>(hash(block + 3.1), hash(block + 5.7)) - 0.5) * 0.15 * g;
        }
        // Smear: some thin blocks drag the previous frame along.
        let sb = floor(uv * vec2<f32>(6.0, 40.0));
        smear = select(0.0, 0.85, hash(sb + vec2<f32>(tick * 0.77, 9.0)) < 0.25 * g);
    }
    // RGB split.
    let split = vec2<f32>(0.015 * g * (0.4 + 0.6 * hash(vec2<f32>(tick, 1.0))), 0.0);
    var col = scene(uv);
    if (g > 0.0) {
        col = vec3<f32>(scene(uv + split).r, col.g, scene(uv - split).b);
    }
    if (smear > 0.0) {
        let dragged = textureSampleLevel(history_tex, samp, uv - vec2<f32>(0.03 * g, 0.0), 0.0).rgb;
        col = mix(col, dragged, smear);
    }
    // Glow: the bloom pass's picture, drawn at a quarter of the size, spread back by the
    // sampler's filtering.
    if (u.glow > 0.0) {
        col = col + u.glow * textureSampleLevel(bloom_tex, samp, uv, 0.0).rgb;
    }
    // Feedback trails: the previous picture, a touch larger, fading.
    if (u.keep > 0.0) {
        let prev = textureSampleLevel(history_tex, samp, (uv - 0.5) * 0.992 + 0.5, 0.0).rgb;
        col = max(col, prev * u.keep);
    }
    col = clamp(col, vec3<f32>(0.0), vec3<f32>(1.0));
    var out: PostOut;
    out.history = vec4<f32>(col, 1.0);
    // The grade: exposure, contrast about mid grey, saturation, hue.
    var c = col * u.gain;
    c = (c - 0.5) * u.contrast + 0.5;
    let luma = dot(c, vec3<f32>(0.2126, 0.7152, 0.0722));
    c = mix(vec3<f32>(luma), c, u.saturation);
    c = hue_rotate(c);
    out.screen = vec4<f32>(clamp(c, vec3<f32>(0.0), vec3<f32>(1.0)), 1.0);
    return out;
}

@fragment
fn fs_main(@builtin(position) pos: vec4<f32>) -> PostOut {
    return post(pos);
}

// Without trails or glitch nothing reads the history: the picture alone is written.
@fragment
fn fs_screen(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    return post(pos).screen;
}
"#;

/// The glow's bright parts, spread over two rings of taps, drawn at a quarter of the picture's
/// width and height: each tap then costs a sixteenth of what it did at full size, and the
/// post pass reads the result back with one filtered tap. (At full size the twelve taps were
/// most of the post chain's cost.)
const BLOOM_SHADER: &str = r#"
@group(0) @binding(0) var scene_tex: texture_2d<f32>;
@group(0) @binding(1) var samp: sampler;

@fragment
fn fs_bloom(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    let dims = vec2<f32>(textureDimensions(scene_tex));
    // The bloom target's size, as `bloom_size` makes it.
    let bloom_dims = max(floor(dims / 4.0), vec2<f32>(1.0));
    let uv = pos.xy / bloom_dims;
    let aspect = dims.y / dims.x;
    var sum = vec3<f32>(0.0);
    for (var i = 0; i < 12; i = i + 1) {
        let a = f32(i) * 0.5235988;
        let r = select(0.012, 0.03, i % 2 == 1);
        let o = vec2<f32>(cos(a) * aspect, sin(a)) * r;
        let c = textureSampleLevel(scene_tex, samp, uv + o, 0.0).rgb;
        sum = sum + max(c - vec3<f32>(0.55), vec3<f32>(0.0));
    }
    return vec4<f32>(sum * (2.0 / 12.0), 1.0);
}
"#;

/// A view of a new picture of `size` that one pass draws and a later one reads.
fn picture(
    device: &wgpu::Device,
    label: &str,
    size: (u32, u32),
    format: wgpu::TextureFormat,
) -> wgpu::TextureView {
    super::passes::intermediate_texture(device, label, size, format)
        .create_view(&Default::default())
}

/// The bloom target's size for a picture of `size`: a quarter each way (at least a pixel).
fn bloom_size(size: (u32, u32)) -> (u32, u32) {
    ((size.0 / 4).max(1), (size.1 / 4).max(1))
}

struct Targets {
    size: (u32, u32),
    input_view: wgpu::TextureView,
    bloom_view: wgpu::TextureView,
    /// Reads the input, for the bloom pass.
    bloom_group: wgpu::BindGroup,
    /// Reads the input, with a one-pixel stand-in for the history: for the pass that writes
    /// the picture only, which never reads the history.
    screen_group: wgpu::BindGroup,
    /// Made the first time trails or the glitch run: two full-size pictures that a look with
    /// neither (most) would carry for nothing.
    history: Option<History>,
}

/// The post chain's memory of the pictures before: it writes one while reading the other.
struct History {
    views: [wgpu::TextureView; 2],
    /// `bind_groups[i]` reads history `i` (and the pass writes the other).
    bind_groups: [wgpu::BindGroup; 2],
}

pub struct PostPass {
    format: wgpu::TextureFormat,
    pipeline: wgpu::RenderPipeline,
    /// The same pass writing the picture only, for when nothing will read the history.
    screen_pipeline: wgpu::RenderPipeline,
    bgl: wgpu::BindGroupLayout,
    bloom_pipeline: wgpu::RenderPipeline,
    bloom_bgl: wgpu::BindGroupLayout,
    sampler: wgpu::Sampler,
    uniform_buf: wgpu::Buffer,
    targets: Option<Targets>,
    current: usize,
    /// False when the chain was skipped last frame: its history is stale and is cleared.
    ran_last_frame: bool,
}

impl PostPass {
    pub fn new(device: &wgpu::Device, format: wgpu::TextureFormat) -> Self {
        let texture = |binding| {
            super::passes::texture_entry(
                binding,
                wgpu::ShaderStages::FRAGMENT,
                wgpu::TextureViewDimension::D2,
                true,
            )
        };
        let bgl = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("post"),
            entries: &[
                texture(0),
                texture(1),
                super::passes::sampler_entry(2),
                super::passes::uniform_entry(3, wgpu::ShaderStages::FRAGMENT),
                texture(4),
            ],
        });
        let (layout, module) = super::passes::fullscreen_program(device, "post", &bgl, SHADER);
        let pipeline = fullscreen_pipeline(device, "post", &layout, &module, "fs_main", format, 2);
        let screen_pipeline = fullscreen_pipeline(
            device,
            "post, picture only",
            &layout,
            &module,
            "fs_screen",
            format,
            1,
        );
        let bloom_bgl = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("post bloom"),
            entries: &[texture(0), super::passes::sampler_entry(1)],
        });
        let (bloom_layout, bloom_module) =
            super::passes::fullscreen_program(device, "post bloom", &bloom_bgl, BLOOM_SHADER);
        let bloom_pipeline = fullscreen_pipeline(
            device,
            "post bloom",
            &bloom_layout,
            &bloom_module,
            "fs_bloom",
            format,
            1,
        );
        let uniform_buf = super::passes::uniform_buffer(
            device,
            "post uniforms",
            std::mem::size_of::<PostUniform>() as u64,
        );
        Self {
            format,
            pipeline,
            screen_pipeline,
            bgl,
            bloom_pipeline,
            bloom_bgl,
            sampler: super::passes::linear_sampler(device),
            uniform_buf,
            targets: None,
            current: 0,
            ran_last_frame: false,
        }
    }

    /// The texture the scene is drawn into when the chain runs, made for `size`.
    pub fn input_view(&mut self, device: &wgpu::Device, size: (u32, u32)) -> &wgpu::TextureView {
        if self.targets.as_ref().is_none_or(|t| t.size != size) {
            let make = |label, size| picture(device, label, size, self.format);
            let input_view = make("post input", size);
            let bloom_view = make("post bloom", bloom_size(size));
            let bloom_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("post bloom"),
                layout: &self.bloom_bgl,
                entries: &[
                    wgpu::BindGroupEntry {
                        binding: 0,
                        resource: wgpu::BindingResource::TextureView(&input_view),
                    },
                    wgpu::BindGroupEntry {
                        binding: 1,
                        resource: wgpu::BindingResource::Sampler(&self.sampler),
                    },
                ],
            });
            let stand_in = make("post history stand-in", (1, 1));
            let screen_group = self.bind_group(device, &input_view, &stand_in, &bloom_view);
            self.targets = Some(Targets {
                size,
                input_view,
                bloom_view,
                bloom_group,
                screen_group,
                history: None,
            });
            self.ran_last_frame = false;
        }
        &self.targets.as_ref().expect("just made").input_view
    }

    /// The post pass's bindings: the scene, a history, the sampler, the uniforms, the bloom.
    fn bind_group(
        &self,
        device: &wgpu::Device,
        input: &wgpu::TextureView,
        history: &wgpu::TextureView,
        bloom: &wgpu::TextureView,
    ) -> wgpu::BindGroup {
        device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("post"),
            layout: &self.bgl,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: wgpu::BindingResource::TextureView(input),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: wgpu::BindingResource::TextureView(history),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: wgpu::BindingResource::Sampler(&self.sampler),
                },
                wgpu::BindGroupEntry {
                    binding: 3,
                    resource: self.uniform_buf.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 4,
                    resource: wgpu::BindingResource::TextureView(bloom),
                },
            ],
        })
    }

    /// Notes that the chain did not run this frame (so its history is stale next time).
    pub fn skip(&mut self) {
        self.ran_last_frame = false;
    }

    /// Runs the chain on the scene drawn into [`PostPass::input_view`], writing `view`.
    /// `dt_s` is the time the frame stands for: trails fade by time, not by frame count.
    pub fn apply(
        &mut self,
        gpu: &super::gpu::Gpu,
        encoder: &mut wgpu::CommandEncoder,
        view: &wgpu::TextureView,
        post: &Post,
        time_s: f64,
        dt_s: f32,
    ) {
        let picture_only = post.trails_s <= 0.0 && post.glitch <= 0.0;
        if !picture_only {
            self.make_history(&gpu.device);
        }
        let Some(t) = self.targets.as_ref() else {
            return;
        };
        let u = uniform(post, time_s, dt_s);
        gpu.queue
            .write_buffer(&self.uniform_buf, 0, bytemuck::bytes_of(&u));
        if post.glow > 0.0 {
            let mut pass = begin_pass(encoder, &t.bloom_view, "post bloom");
            pass.set_pipeline(&self.bloom_pipeline);
            pass.set_bind_group(0, &t.bloom_group, &[]);
            pass.draw(0..3, 0..1);
        }
        let history = match &t.history {
            Some(history) if !picture_only => history,
            _ => {
                let mut pass = begin_pass(encoder, view, "post, picture only");
                pass.set_pipeline(&self.screen_pipeline);
                pass.set_bind_group(0, &t.screen_group, &[]);
                pass.draw(0..3, 0..1);
                // The history was not kept: trails that start later start from black.
                self.ran_last_frame = false;
                return;
            }
        };
        if !self.ran_last_frame {
            // Stale trails from minutes ago must not reappear: start from black.
            begin_pass(encoder, &history.views[self.current], "post history clear");
        }
        let next = 1 - self.current;
        let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
            label: Some("post"),
            color_attachments: &[
                clear_attachment(view),
                clear_attachment(&history.views[next]),
            ],
            depth_stencil_attachment: None,
            timestamp_writes: None,
            occlusion_query_set: None,
            multiview_mask: None,
        });
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &history.bind_groups[self.current], &[]);
        pass.draw(0..3, 0..1);
        drop(pass);
        self.current = next;
        self.ran_last_frame = true;
    }
}

impl PostPass {
    /// The history's two pictures and their bindings, the first time they are needed (for
    /// the targets' size; they go with the targets when the size changes).
    fn make_history(&mut self, device: &wgpu::Device) {
        let Some(t) = self.targets.as_ref() else {
            return;
        };
        if t.history.is_some() {
            return;
        }
        let make = |label| picture(device, label, t.size, self.format);
        let views = [make("post history a"), make("post history b")];
        let bind_groups =
            [0, 1].map(|i| self.bind_group(device, &t.input_view, &views[i], &t.bloom_view));
        if let Some(t) = self.targets.as_mut() {
            t.history = Some(History { views, bind_groups });
        }
        // New pictures hold nothing yet: the pass clears the one it reads first.
        self.ran_last_frame = false;
    }
}

fn uniform(post: &Post, time_s: f64, dt_s: f32) -> PostUniform {
    // A trail falls to a tenth over `trails_s`, whatever the frame rate.
    let keep = if post.trails_s > 0.0 {
        0.1f32.powf(dt_s.max(0.0) / post.trails_s)
    } else {
        0.0
    };
    PostUniform {
        // Wrapped so the pattern keeps its precision in long shows.
        time_s: (time_s % 3600.0) as f32,
        keep,
        glow: post.glow,
        gain: post.exposure_ev.exp2(),
        contrast: post.contrast,
        saturation: post.saturation,
        hue_cos: (post.hue_shift * std::f32::consts::TAU).cos(),
        hue_sin: (post.hue_shift * std::f32::consts::TAU).sin(),
        glitch: post.glitch,
        _pad: [0.0; 3],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::passes::FULLSCREEN_VS_WGSL;
    use wgpu::naga;

    #[test]
    fn the_post_shaders_validate() {
        for shader in [SHADER, BLOOM_SHADER] {
            let module =
                naga::front::wgsl::parse_str(&format!("{FULLSCREEN_VS_WGSL}{shader}")).unwrap();
            naga::valid::Validator::new(Default::default(), naga::valid::Capabilities::all())
                .validate(&module)
                .unwrap();
        }
    }

    #[test]
    fn trails_fade_to_a_tenth_over_their_time_at_any_frame_rate() {
        let post = Post {
            trails_s: 2.0,
            ..Post::default()
        };
        for fps in [24.0f32, 60.0, 144.0] {
            let keep = uniform(&post, 0.0, 1.0 / fps).keep;
            let after_2s = keep.powf(2.0 * fps);
            assert!((after_2s - 0.1).abs() < 1e-3, "{fps} fps: {after_2s}");
        }
        assert_eq!(uniform(&Post::default(), 0.0, 0.016).keep, 0.0);
    }
}
