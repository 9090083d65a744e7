//! The flash guard: audience safety, last in the picture's chain and on unless explicitly
//! disabled (`--no-flash-guard`).
//!
//! WCAG 2.3.1 asks for no more than three flashes in any one second, a flash being a pair of
//! opposing changes in relative luminance of 10% or more (the darker state below 0.8). The
//! guard watches the mean relative luminance of the output and its turning points:
//! - a single large change (a cut to a brighter or darker preset) passes at once: one change
//!   is not a flash, and a cut must land on its frame;
//! - a reversal (a change of 0.1 or more against the previous one) is allowed only
//!   `MIN_TRANSITION_GAP_S` (0.2 s) after the previous transition; sooner, the frame is blended
//!   with the previous output (in linear light) just enough to keep the swing under 0.1.
//!
//! So transitions are at least 0.2 s apart: at most 5 a second, 2.5 flashes. Each frame:
//! 1. the scene is drawn into a texture;
//! 2. a compute pass measures its mean relative luminance (sRGB linearised, on a grid) and
//!    decides how much of it may show;
//! 3. a pass blends the scene with the previous output by that amount, writing both the screen
//!    and the history for the next frame.
//!
//! Everything stays on the GPU: the render thread never waits for a measurement.

/// Least time between two opposing luminance transitions.
pub const MIN_TRANSITION_GAP_S: f32 = 0.2;
/// The luminance change WCAG counts as a transition.
pub const TRANSITION: f32 = 0.1;

use super::passes::{
    FULLSCREEN_VS_WGSL, clear_attachment, fullscreen_pipeline, intermediate_texture,
};

const SHADER: &str = r#"
struct Stats {
    prev_mean: f32,   // mean relative luminance of the last output
    amount: f32,      // how much of this frame's scene shows (0..1)
    dt: f32,          // this frame's duration, seconds (written by the CPU)
    initialized: f32,
    turning: f32,     // luminance at the last turning point
    dir: f32,         // direction of the last transition: -1, 0, 1
    since: f32,       // seconds since the last transition
    _pad: f32,
};

const TRANSITION: f32 = 0.1;
const MIN_GAP_S: f32 = 0.2;

fn to_linear(c: vec3<f32>) -> vec3<f32> {
    return select(pow((c + vec3<f32>(0.055)) / 1.055, vec3<f32>(2.4)), c / 12.92, c <= vec3<f32>(0.04045));
}

fn to_srgb(c: vec3<f32>) -> vec3<f32> {
    let x = clamp(c, vec3<f32>(0.0), vec3<f32>(1.0));
    return select(1.055 * pow(x, vec3<f32>(1.0 / 2.4)) - vec3<f32>(0.055), x * 12.92, x <= vec3<f32>(0.0031308));
}

fn luminance(c: vec3<f32>) -> f32 {
    return dot(to_linear(c), vec3<f32>(0.2126, 0.7152, 0.0722));
}

@group(0) @binding(0) var scene: texture_2d<f32>;
@group(0) @binding(1) var<storage, read_write> stats: Stats;

var<workgroup> partial: array<f32, 256>;

@compute @workgroup_size(256)
fn measure(@builtin(local_invocation_index) i: u32) {
    let dims = textureDimensions(scene);
    let gx = min(dims.x, 96u);
    let gy = min(dims.y, 54u);
    let n = gx * gy;
    var sum = 0.0;
    for (var k = i; k < n; k = k + 256u) {
        let x = (k % gx) * dims.x / gx + dims.x / (2u * gx);
        let y = (k / gx) * dims.y / gy + dims.y / (2u * gy);
        sum = sum + luminance(textureLoad(scene, vec2<i32>(i32(x), i32(y)), 0).rgb);
    }
    partial[i] = sum;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s = s >> 1u) {
        if (i < s) {
            partial[i] = partial[i] + partial[i + s];
        }
        workgroupBarrier();
    }
    if (i == 0u) {
        let cur = partial[0] / f32(n);
        if (stats.initialized < 0.5) {
            stats.prev_mean = cur;
            stats.amount = 1.0;
            stats.initialized = 1.0;
            stats.turning = cur;
            stats.dir = 0.0;
            stats.since = 1000.0;
            return;
        }
        stats.since = stats.since + stats.dt;
        let prev = stats.prev_mean;
        var amount = 1.0;
        let d = cur - stats.turning;
        let dir = select(select(0.0, -1.0, d <= -TRANSITION), 1.0, d >= TRANSITION);
        if (dir != 0.0 && dir != stats.dir) {
            if (stats.since >= MIN_GAP_S || stats.dir == 0.0) {
                // A transition that may happen now.
                stats.dir = dir;
                stats.since = 0.0;
            } else {
                // Too soon after the last one: hold the output just short of a transition.
                let allowed = stats.turning + dir * (TRANSITION * 0.9);
                let want = cur - prev;
                if (abs(want) > 1e-6) {
                    amount = clamp((allowed - prev) / want, 0.0, 1.0);
                } else {
                    amount = 0.0;
                }
            }
        }
        let out = prev + amount * (cur - prev);
        // Follow the extreme in the current direction: that is the next turning point.
        if ((stats.dir >= 0.0 && out > stats.turning) || (stats.dir <= 0.0 && out < stats.turning) || stats.since == 0.0) {
            if (stats.dir != 0.0 || abs(out - stats.turning) < TRANSITION) {
                stats.turning = out;
            }
        }
        stats.amount = amount;
        stats.prev_mean = out;
    }
}

@group(0) @binding(0) var g_scene: texture_2d<f32>;
@group(0) @binding(1) var g_prev: texture_2d<f32>;
@group(0) @binding(2) var<storage, read> g_stats: Stats;

struct GuardOut {
    @location(0) screen: vec4<f32>,
    @location(1) history: vec4<f32>,
};

@fragment
fn guard(@builtin(position) pos: vec4<f32>) -> GuardOut {
    let p = vec2<i32>(pos.xy);
    var out: GuardOut;
    // Nearly always nothing is held back: pass the scene through without the colour-space
    // round trip (the decision is one value for the whole frame, so this branch is uniform).
    if (g_stats.amount >= 1.0) {
        let c = textureLoad(g_scene, p, 0);
        out.screen = c;
        out.history = c;
        return out;
    }
    let s = to_linear(textureLoad(g_scene, p, 0).rgb);
    let h = to_linear(textureLoad(g_prev, p, 0).rgb);
    let c = vec4<f32>(to_srgb(mix(h, s, g_stats.amount)), 1.0);
    out.screen = c;
    out.history = c;
    return out;
}
"#;

struct Targets {
    size: (u32, u32),
    /// Kept alive with its view.
    _scene: wgpu::Texture,
    scene_view: wgpu::TextureView,
    history: [wgpu::Texture; 2],
    measure_bg: wgpu::BindGroup,
    /// `guard_bgs[i]` reads history `i` (and writes the other).
    guard_bgs: [wgpu::BindGroup; 2],
}

pub struct FlashGuard {
    format: wgpu::TextureFormat,
    stats: wgpu::Buffer,
    measure: wgpu::ComputePipeline,
    measure_bgl: wgpu::BindGroupLayout,
    guard: wgpu::RenderPipeline,
    guard_bgl: wgpu::BindGroupLayout,
    targets: Option<Targets>,
    current: usize,
}

impl FlashGuard {
    pub fn new(device: &wgpu::Device, format: wgpu::TextureFormat) -> Self {
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("flash guard"),
            source: wgpu::ShaderSource::Wgsl(format!("{FULLSCREEN_VS_WGSL}{SHADER}").into()),
        });
        let tex = |binding, vis| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: vis,
            ty: wgpu::BindingType::Texture {
                sample_type: wgpu::TextureSampleType::Float { filterable: false },
                view_dimension: wgpu::TextureViewDimension::D2,
                multisampled: false,
            },
            count: None,
        };
        let storage = |binding, vis, read_only| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: vis,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Storage { read_only },
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        };
        let measure_bgl = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("flash guard measure"),
            entries: &[
                tex(0, wgpu::ShaderStages::COMPUTE),
                storage(1, wgpu::ShaderStages::COMPUTE, false),
            ],
        });
        let guard_bgl = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("flash guard blend"),
            entries: &[
                tex(0, wgpu::ShaderStages::FRAGMENT),
                tex(1, wgpu::ShaderStages::FRAGMENT),
                storage(2, wgpu::ShaderStages::FRAGMENT, true),
            ],
        });
        let measure_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: None,
            bind_group_layouts: &[Some(&measure_bgl)],
            immediate_size: 0,
        });
        let measure = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("flash guard measure"),
            layout: Some(&measure_layout),
            module: &module,
            entry_point: Some("measure"),
            compilation_options: Default::default(),
            cache: None,
        });
        let guard_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: None,
            bind_group_layouts: &[Some(&guard_bgl)],
            immediate_size: 0,
        });
        let guard = fullscreen_pipeline(
            device,
            "flash guard blend",
            &guard_layout,
            &module,
            "guard",
            format,
            2,
        );
        let stats = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("flash guard stats"),
            size: 32,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        Self {
            format,
            stats,
            measure,
            measure_bgl,
            guard,
            guard_bgl,
            targets: None,
            current: 0,
        }
    }

    /// Forgets the luminance history (after a seek or a size change): the next frame passes.
    pub fn reset(&mut self, queue: &wgpu::Queue) {
        queue.write_buffer(&self.stats, 0, bytemuck::cast_slice(&[0.0f32; 8]));
    }

    /// The texture the scene is drawn into this frame, made for `size`.
    pub fn scene_view(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        size: (u32, u32),
    ) -> &wgpu::TextureView {
        if self.targets.as_ref().is_none_or(|t| t.size != size) {
            let make = |label| intermediate_texture(device, label, size, self.format);
            let scene = make("flash guard scene");
            let history = [make("flash guard history a"), make("flash guard history b")];
            let scene_view = scene.create_view(&Default::default());
            let measure_bg = device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: None,
                layout: &self.measure_bgl,
                entries: &[
                    wgpu::BindGroupEntry {
                        binding: 0,
                        resource: wgpu::BindingResource::TextureView(&scene_view),
                    },
                    wgpu::BindGroupEntry {
                        binding: 1,
                        resource: self.stats.as_entire_binding(),
                    },
                ],
            });
            let guard_bg = |prev: &wgpu::Texture| {
                device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: None,
                    layout: &self.guard_bgl,
                    entries: &[
                        wgpu::BindGroupEntry {
                            binding: 0,
                            resource: wgpu::BindingResource::TextureView(&scene_view),
                        },
                        wgpu::BindGroupEntry {
                            binding: 1,
                            resource: wgpu::BindingResource::TextureView(
                                &prev.create_view(&Default::default()),
                            ),
                        },
                        wgpu::BindGroupEntry {
                            binding: 2,
                            resource: self.stats.as_entire_binding(),
                        },
                    ],
                })
            };
            let guard_bgs = [guard_bg(&history[0]), guard_bg(&history[1])];
            self.targets = Some(Targets {
                size,
                _scene: scene,
                scene_view,
                history,
                measure_bg,
                guard_bgs,
            });
            self.reset(queue);
        }
        &self.targets.as_ref().expect("just made").scene_view
    }

    /// Measures the scene drawn this frame and writes the guarded picture into `view`.
    /// `dt_s` is the time this frame stands for (1 / fps offline; the frame interval live).
    pub fn apply(
        &mut self,
        queue: &wgpu::Queue,
        encoder: &mut wgpu::CommandEncoder,
        view: &wgpu::TextureView,
        dt_s: f32,
    ) {
        let Some(t) = self.targets.as_ref() else {
            return;
        };
        let dt = dt_s.clamp(0.0, 1.0);
        queue.write_buffer(&self.stats, 8, bytemuck::bytes_of(&dt));
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("flash guard measure"),
                timestamp_writes: None,
            });
            pass.set_pipeline(&self.measure);
            pass.set_bind_group(0, &t.measure_bg, &[]);
            pass.dispatch_workgroups(1, 1, 1);
        }
        let next = 1 - self.current;
        let history_view = t.history[next].create_view(&Default::default());

        let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
            label: Some("flash guard blend"),
            color_attachments: &[clear_attachment(view), clear_attachment(&history_view)],
            depth_stencil_attachment: None,
            timestamp_writes: None,
            occlusion_query_set: None,
            multiview_mask: None,
        });
        pass.set_pipeline(&self.guard);
        pass.set_bind_group(0, &t.guard_bgs[self.current], &[]);
        pass.draw(0..3, 0..1);
        drop(pass);
        self.current = next;
    }
}
