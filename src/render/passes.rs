//! Building blocks shared by every full-screen pass (layers, crossfade, flash guard): each
//! draws one triangle over the whole target with a `vs_main` that needs no vertex buffer.

/// WGSL for the vertex stage of every internal full-screen pass: one triangle covering the
/// target, no vertex buffer. Layer shaders get the same from `common.wgsl` (with `uv`).
pub const FULLSCREEN_VS_WGSL: &str = r#"
@vertex
fn vs_main(@builtin(vertex_index) i: u32) -> @builtin(position) vec4<f32> {
    let x = f32((i << 1u) & 2u);
    let y = f32(i & 2u);
    return vec4<f32>(x * 2.0 - 1.0, 1.0 - y * 2.0, 0.0, 1.0);
}
"#;

/// A full-screen program's pipeline layout (one bind group, `bgl`) and its shader module:
/// the shared full-screen vertex stage followed by `fragment_wgsl`.
pub fn fullscreen_program(
    device: &wgpu::Device,
    label: &str,
    bgl: &wgpu::BindGroupLayout,
    fragment_wgsl: &str,
) -> (wgpu::PipelineLayout, wgpu::ShaderModule) {
    let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some(label),
        bind_group_layouts: &[Some(bgl)],
        immediate_size: 0,
    });
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(label),
        source: wgpu::ShaderSource::Wgsl(format!("{FULLSCREEN_VS_WGSL}{fragment_wgsl}").into()),
    });
    (layout, module)
}

/// A pipeline drawing `module`'s `vs_main` and `fs_entry` over the whole target, writing one
/// colour target of `format` per entry of `targets` (no blending).
pub fn fullscreen_pipeline(
    device: &wgpu::Device,
    label: &str,
    layout: &wgpu::PipelineLayout,
    module: &wgpu::ShaderModule,
    fs_entry: &str,
    format: wgpu::TextureFormat,
    targets: usize,
) -> wgpu::RenderPipeline {
    blended_pipeline(
        device, label, layout, module, fs_entry, format, targets, None,
    )
}

/// [`fullscreen_pipeline`] with a blend state on its targets.
#[allow(clippy::too_many_arguments)]
pub fn blended_pipeline(
    device: &wgpu::Device,
    label: &str,
    layout: &wgpu::PipelineLayout,
    module: &wgpu::ShaderModule,
    fs_entry: &str,
    format: wgpu::TextureFormat,
    targets: usize,
    blend: Option<wgpu::BlendState>,
) -> wgpu::RenderPipeline {
    let target = Some(wgpu::ColorTargetState {
        format,
        blend,
        write_mask: wgpu::ColorWrites::ALL,
    });
    let targets = vec![target; targets];
    device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
        label: Some(label),
        layout: Some(layout),
        vertex: wgpu::VertexState {
            module,
            entry_point: Some("vs_main"),
            compilation_options: Default::default(),
            buffers: &[],
        },
        primitive: wgpu::PrimitiveState::default(),
        depth_stencil: None,
        multisample: wgpu::MultisampleState::default(),
        fragment: Some(wgpu::FragmentState {
            module,
            entry_point: Some(fs_entry),
            compilation_options: Default::default(),
            targets: &targets,
        }),
        multiview_mask: None,
        cache: None,
    })
}

/// A colour attachment that clears to black and keeps what is drawn.
pub fn clear_attachment(view: &wgpu::TextureView) -> Option<wgpu::RenderPassColorAttachment<'_>> {
    attachment(view, wgpu::LoadOp::Clear(wgpu::Color::BLACK))
}

fn attachment(
    view: &wgpu::TextureView,
    load: wgpu::LoadOp<wgpu::Color>,
) -> Option<wgpu::RenderPassColorAttachment<'_>> {
    Some(wgpu::RenderPassColorAttachment {
        view,
        depth_slice: None,
        resolve_target: None,
        ops: wgpu::Operations {
            load,
            store: wgpu::StoreOp::Store,
        },
    })
}

/// A texture a pass draws into and a later pass reads (`textureLoad`), of `size` pixels.
pub fn intermediate_texture(
    device: &wgpu::Device,
    label: &str,
    size: (u32, u32),
    format: wgpu::TextureFormat,
) -> wgpu::Texture {
    device.create_texture(&wgpu::TextureDescriptor {
        label: Some(label),
        size: wgpu::Extent3d {
            width: size.0.max(1),
            height: size.1.max(1),
            depth_or_array_layers: 1,
        },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format,
        usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::TEXTURE_BINDING,
        view_formats: &[],
    })
}

/// A render pass over `view` that draws over what it holds (text, a flash guard's hold).
pub fn begin_overlay_pass<'e>(
    encoder: &'e mut wgpu::CommandEncoder,
    view: &wgpu::TextureView,
    label: &str,
) -> wgpu::RenderPass<'e> {
    begin_with(encoder, attachment(view, wgpu::LoadOp::Load), label)
}

/// A uniform buffer of `size` bytes the CPU writes each frame.
pub fn uniform_buffer(device: &wgpu::Device, label: &str, size: u64) -> wgpu::Buffer {
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size,
        usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

/// A bind group layout entry for a float texture (`filterable` to be sampled, else loaded).
pub fn texture_entry(
    binding: u32,
    visibility: wgpu::ShaderStages,
    view_dimension: wgpu::TextureViewDimension,
    filterable: bool,
) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility,
        ty: wgpu::BindingType::Texture {
            sample_type: wgpu::TextureSampleType::Float { filterable },
            view_dimension,
            multisampled: false,
        },
        count: None,
    }
}

/// A bind group layout entry for a linear-filtering sampler, in the fragment stage.
pub fn sampler_entry(binding: u32) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::FRAGMENT,
        ty: wgpu::BindingType::Sampler(wgpu::SamplerBindingType::Filtering),
        count: None,
    }
}

/// A render pass over `view` that clears it first.
pub fn begin_pass<'e>(
    encoder: &'e mut wgpu::CommandEncoder,
    view: &wgpu::TextureView,
    label: &str,
) -> wgpu::RenderPass<'e> {
    begin_with(encoder, clear_attachment(view), label)
}

fn begin_with<'e>(
    encoder: &'e mut wgpu::CommandEncoder,
    attachment: Option<wgpu::RenderPassColorAttachment<'_>>,
    label: &str,
) -> wgpu::RenderPass<'e> {
    encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
        label: Some(label),
        color_attachments: &[attachment],
        depth_stencil_attachment: None,
        timestamp_writes: None,
        occlusion_query_set: None,
        multiview_mask: None,
    })
}

/// A bind group layout entry for a uniform buffer.
pub fn uniform_entry(binding: u32, visibility: wgpu::ShaderStages) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Uniform,
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

/// Bilinear filtering, clamped at the edges: for passes that scale or displace a picture.
pub fn linear_sampler(device: &wgpu::Device) -> wgpu::Sampler {
    device.create_sampler(&wgpu::SamplerDescriptor {
        label: Some("linear clamp"),
        mag_filter: wgpu::FilterMode::Linear,
        min_filter: wgpu::FilterMode::Linear,
        ..Default::default()
    })
}
