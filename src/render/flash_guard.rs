//! The flash guard: audience safety, last in the picture's chain and on unless explicitly
//! disabled (`--no-flash-guard`).
//!
//! WCAG 2.3.1 asks for no more than three flashes in any one second, a flash being a pair of
//! opposing changes in relative luminance of 10% or more (the darker state below 0.8). The
//! guard watches the mean relative luminance of the output and its turning points:
//! - a single large change (a cut to a brighter or darker preset) passes at once: one change
//!   is not a flash, and a cut must land on its frame;
//! - a reversal (a change of 0.1 or more against the previous one) is allowed only
//!   `MIN_TRANSITION_GAP_S` (0.2 s) after the previous transition; sooner, the frame is mixed
//!   (in linear light) with a flat field at the previous output's luminance, just enough to
//!   keep the swing under 0.1. Luminance is linear in linear light, so the mix lands exactly.
//!
//! So transitions are at least 0.2 s apart: at most 5 a second, 2.5 flashes.
//!
//! Everything stays on the GPU and the render thread never waits for a measurement. Where the
//! target can be sampled and viewed as sRGB (offscreen frames; most window surfaces) the guard
//! works in place and costs almost nothing: a compute pass measures the finished frame on a
//! grid and writes an indirect draw that is empty unless the frame must be held, and the hold
//! is one blended triangle through the sRGB view (the hardware blends in linear light).
//! Elsewhere the scene is drawn into a texture of the guard's and a full pass writes the
//! target.

/// Least time between two opposing luminance transitions.
pub const MIN_TRANSITION_GAP_S: f32 = 0.2;
/// The luminance change WCAG counts as a transition.
pub const TRANSITION: f32 = 0.1;

use super::passes::{
    FULLSCREEN_VS_WGSL, begin_overlay_pass, begin_pass, blended_pipeline, fullscreen_pipeline,
    intermediate_texture,
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
    hold: f32,        // the previous output's luminance: the flat field a held frame mixes in
};

struct DrawArgs {
    vertex_count: u32,
    instance_count: u32,
    first_vertex: u32,
    first_instance: u32,
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
@group(0) @binding(2) var<storage, read_write> args: DrawArgs;

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
        args.instance_count = 1u;
        args.first_vertex = 0u;
        args.first_instance = 0u;
        if (stats.initialized < 0.5) {
            stats.prev_mean = cur;
            stats.hold = cur;
            stats.amount = 1.0;
            stats.initialized = 1.0;
            stats.turning = cur;
            stats.dir = 0.0;
            stats.since = 1000.0;
            args.vertex_count = 0u;
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
        stats.hold = prev;
        stats.prev_mean = out;
        // The in-place hold is drawn only when something must be held back.
        args.vertex_count = select(0u, 3u, amount < 1.0);
    }
}

@group(0) @binding(0) var g_scene: texture_2d<f32>;
@group(0) @binding(1) var<storage, read> g_stats: Stats;

// The guard's own pass (for targets it cannot work on in place): the scene, held if need be.
@fragment
fn present(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    let c = textureLoad(g_scene, vec2<i32>(pos.xy), 0);
    // Nearly always nothing is held back (the decision is one value for the whole frame, so
    // this branch is uniform).
    if (g_stats.amount >= 1.0) {
        return c;
    }
    let mixed = mix(vec3<f32>(g_stats.hold), to_linear(c.rgb), g_stats.amount);
    return vec4<f32>(to_srgb(mixed), 1.0);
}

@group(0) @binding(0) var<storage, read> h_stats: Stats;

// The in-place hold, drawn through an sRGB view with alpha blending: the hardware computes
// flat * (1 - amount) + frame * amount in linear light.
@fragment
fn hold(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    return vec4<f32>(vec3<f32>(h_stats.hold), 1.0 - h_stats.amount);
}
"#;

/// The guard's own scene texture, for targets it cannot work on in place.
struct SceneTarget {
    size: (u32, u32),
    view: wgpu::TextureView,
    measure_bg: wgpu::BindGroup,
    present_bg: wgpu::BindGroup,
}

pub struct FlashGuard {
    format: wgpu::TextureFormat,
    stats: wgpu::Buffer,
    args: wgpu::Buffer,
    measure: wgpu::ComputePipeline,
    measure_bgl: wgpu::BindGroupLayout,
    present: wgpu::RenderPipeline,
    present_bgl: wgpu::BindGroupLayout,
    /// `None` when the format has no sRGB twin to blend through.
    hold: Option<wgpu::RenderPipeline>,
    hold_bg: wgpu::BindGroup,
    scene: Option<SceneTarget>,
}

impl FlashGuard {
    pub fn new(device: &wgpu::Device, format: wgpu::TextureFormat) -> Self {
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("flash guard"),
            source: wgpu::ShaderSource::Wgsl(format!("{FULLSCREEN_VS_WGSL}{SHADER}").into()),
        });
        let tex = |binding, vis| {
            super::passes::texture_entry(binding, vis, wgpu::TextureViewDimension::D2, false)
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
        let compute = wgpu::ShaderStages::COMPUTE;
        let fragment = wgpu::ShaderStages::FRAGMENT;
        let measure_bgl = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("flash guard measure"),
            entries: &[
                tex(0, compute),
                storage(1, compute, false),
                storage(2, compute, false),
            ],
        });
        let present_bgl = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("flash guard present"),
            entries: &[tex(0, fragment), storage(1, fragment, true)],
        });
        let hold_bgl = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("flash guard hold"),
            entries: &[storage(0, fragment, true)],
        });
        let layout = |bgl: &wgpu::BindGroupLayout| {
            device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: None,
                bind_group_layouts: &[Some(bgl)],
                immediate_size: 0,
            })
        };
        let measure = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("flash guard measure"),
            layout: Some(&layout(&measure_bgl)),
            module: &module,
            entry_point: Some("measure"),
            compilation_options: Default::default(),
            cache: None,
        });
        let present = fullscreen_pipeline(
            device,
            "flash guard present",
            &layout(&present_bgl),
            &module,
            "present",
            format,
            1,
        );
        let srgb = format.add_srgb_suffix();
        let hold = (srgb != format).then(|| {
            blended_pipeline(
                device,
                "flash guard hold",
                &layout(&hold_bgl),
                &module,
                "hold",
                srgb,
                1,
                Some(wgpu::BlendState {
                    color: wgpu::BlendComponent {
                        src_factor: wgpu::BlendFactor::SrcAlpha,
                        dst_factor: wgpu::BlendFactor::OneMinusSrcAlpha,
                        operation: wgpu::BlendOperation::Add,
                    },
                    alpha: wgpu::BlendComponent::OVER,
                }),
            )
        });
        let stats = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("flash guard stats"),
            size: 32,
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_DST
                | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let args = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("flash guard hold draw"),
            size: 16,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::INDIRECT,
            mapped_at_creation: false,
        });
        let hold_bg = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("flash guard hold"),
            layout: &hold_bgl,
            entries: &[wgpu::BindGroupEntry {
                binding: 0,
                resource: stats.as_entire_binding(),
            }],
        });
        Self {
            format,
            stats,
            args,
            measure,
            measure_bgl,
            present,
            present_bgl,
            hold,
            hold_bg,
            scene: None,
        }
    }

    /// Forgets the luminance history (after a seek or a size change): the next frame passes.
    pub fn reset(&mut self, queue: &wgpu::Queue) {
        queue.write_buffer(&self.stats, 0, bytemuck::cast_slice(&[0.0f32; 8]));
    }

    /// Copies the last measured frame's mean relative luminance (an `f32`, as output: after
    /// any hold) to the start of `dst`, for the picture meter.
    pub fn copy_output_luminance(&self, encoder: &mut wgpu::CommandEncoder, dst: &wgpu::Buffer) {
        encoder.copy_buffer_to_buffer(&self.stats, 0, dst, 0, Some(4));
    }

    /// Whether the guard can work in place on a target of its format with `usage`, given that
    /// the target may be viewed as sRGB (`srgb_views`).
    pub fn can_work_in_place(&self, usage: wgpu::TextureUsages, srgb_views: bool) -> bool {
        srgb_views && self.hold.is_some() && usage.contains(wgpu::TextureUsages::TEXTURE_BINDING)
    }

    fn measure_bind_group(
        &self,
        device: &wgpu::Device,
        view: &wgpu::TextureView,
    ) -> wgpu::BindGroup {
        device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("flash guard measure"),
            layout: &self.measure_bgl,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: wgpu::BindingResource::TextureView(view),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: self.stats.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: self.args.as_entire_binding(),
                },
            ],
        })
    }

    fn measure(
        &self,
        queue: &wgpu::Queue,
        encoder: &mut wgpu::CommandEncoder,
        bind_group: &wgpu::BindGroup,
        dt_s: f32,
    ) {
        let dt = dt_s.clamp(0.0, 1.0);
        queue.write_buffer(&self.stats, 8, bytemuck::bytes_of(&dt));
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("flash guard measure"),
            timestamp_writes: None,
        });
        pass.set_pipeline(&self.measure);
        pass.set_bind_group(0, bind_group, &[]);
        pass.dispatch_workgroups(1, 1, 1);
    }

    /// Guards a finished frame in `target` where it lies (see
    /// [`FlashGuard::can_work_in_place`]). `dt_s` is the time this frame stands for.
    pub fn apply_in_place(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        encoder: &mut wgpu::CommandEncoder,
        target: &wgpu::Texture,
        dt_s: f32,
    ) {
        let Some(hold) = &self.hold else { return };
        let view = target.create_view(&Default::default());
        let bind_group = self.measure_bind_group(device, &view);
        self.measure(queue, encoder, &bind_group, dt_s);
        let srgb_view = target.create_view(&wgpu::TextureViewDescriptor {
            format: Some(self.format.add_srgb_suffix()),
            ..Default::default()
        });
        let mut pass = begin_overlay_pass(encoder, &srgb_view, "flash guard hold");
        pass.set_pipeline(hold);
        pass.set_bind_group(0, &self.hold_bg, &[]);
        pass.draw_indirect(&self.args, 0);
    }

    /// The texture the scene is drawn into this frame when the guard cannot work in place,
    /// made for `size`.
    pub fn scene_view(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        size: (u32, u32),
    ) -> &wgpu::TextureView {
        if self.scene.as_ref().is_none_or(|t| t.size != size) {
            let texture = intermediate_texture(device, "flash guard scene", size, self.format);
            let view = texture.create_view(&Default::default());
            let measure_bg = self.measure_bind_group(device, &view);
            let present_bg = device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("flash guard present"),
                layout: &self.present_bgl,
                entries: &[
                    wgpu::BindGroupEntry {
                        binding: 0,
                        resource: wgpu::BindingResource::TextureView(&view),
                    },
                    wgpu::BindGroupEntry {
                        binding: 1,
                        resource: self.stats.as_entire_binding(),
                    },
                ],
            });
            self.scene = Some(SceneTarget {
                size,
                view,
                measure_bg,
                present_bg,
            });
            self.reset(queue);
        }
        &self.scene.as_ref().expect("just made").view
    }

    /// Measures the scene drawn into [`FlashGuard::scene_view`] and writes the guarded
    /// picture into `view`.
    pub fn present(
        &mut self,
        queue: &wgpu::Queue,
        encoder: &mut wgpu::CommandEncoder,
        view: &wgpu::TextureView,
        dt_s: f32,
    ) {
        let Some(t) = self.scene.as_ref() else {
            return;
        };
        self.measure(queue, encoder, &t.measure_bg, dt_s);
        let mut pass = begin_pass(encoder, view, "flash guard present");
        pass.set_pipeline(&self.present);
        pass.set_bind_group(0, &t.present_bg, &[]);
        pass.draw(0..3, 0..1);
    }
}
