//! The dream mosaic compositor: each dreamer's layer is drawn into a slice of a texture array,
//! then one pass composes them over the performance's own preset. At `unity` 0 every dreamer
//! has a tile of its own (its whole picture, scaled into the tile, whatever its opacity); at 1
//! the layers are merged full-frame, each by its blend mode and opacity; in between the two are
//! mixed on an S-curve.
//! A withdrawn dreamer's weight fades to zero, leaving the shared dreamscape in its place.

use bytemuck::{Pod, Zeroable};

use super::passes::{FULLSCREEN_VS_WGSL, fullscreen_pipeline, intermediate_texture};
use crate::show::look::{MAX_DREAMERS, Mosaic, tile_grid};

/// One dreamer's place in the composite, as the shader reads it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
struct TileUniform {
    /// x, y, width, height of the dreamer's tile, in 0..1 of the picture.
    rect: [f32; 4],
    mode: u32,
    /// opacity x presence: how much of the dreamer shows in the merged dreamscape.
    weight: f32,
    /// How much of the dreamer shows in their own tile: all of it while they are in (the
    /// tile is their own view; opacity is for merging).
    presence: f32,
    _pad: f32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
struct MosaicUniform {
    count: u32,
    unity: f32,
    seam_px: f32,
    _pad: f32,
    tiles: [TileUniform; MAX_DREAMERS],
}

const SHADER: &str = r#"
struct Tile {
    rect: vec4<f32>,
    mode: u32,
    weight: f32,
    presence: f32,
    _pad: f32,
};
struct MosaicU {
    count: u32,
    unity: f32,
    seam_px: f32,
    _pad: f32,
    tiles: array<Tile, MAX_DREAMERS>,
};
@group(0) @binding(0) var base_tex: texture_2d<f32>;
@group(0) @binding(1) var layer_tex: texture_2d_array<f32>;
@group(0) @binding(2) var samp: sampler;
@group(0) @binding(3) var<uniform> m: MosaicU;

fn blend_mode(dst: vec3<f32>, src: vec3<f32>, mode: u32) -> vec3<f32> {
    switch mode {
        case 1u: { return min(dst + src, vec3<f32>(1.0)); }
        case 2u: { return 1.0 - (1.0 - dst) * (1.0 - src); }
        case 3u: { return dst * src; }
        default: { return src; }
    }
}

@fragment
fn fs_main(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    let dims = vec2<f32>(textureDimensions(base_tex));
    let uv = pos.xy / dims;
    let base = textureSampleLevel(base_tex, samp, uv, 0.0).rgb;
    var merged = base;
    var tiled = base;
    // A fixed bound and no `continue`: lavapipe (Mesa 22.3) leaked about 1 MB a frame on the
    // loop over `m.count` with a `continue` in it (2 to 4 dreamers; found by the audience load
    // test, 45 MB/s), and this form keeps every texture read in uniform control flow.
    for (var i = 0u; i < MAX_DREAMERS; i = i + 1u) {
        let t = m.tiles[i];
        if (i < m.count && t.presence > 0.0) {
            let src = textureSampleLevel(layer_tex, samp, uv, i32(i), 0.0).rgb;
            merged = mix(merged, blend_mode(merged, src, t.mode), t.weight);
            let local = (uv - t.rect.xy) / t.rect.zw;
            let inside = all(local >= vec2<f32>(0.0)) && all(local < vec2<f32>(1.0));
            let own = textureSampleLevel(layer_tex, samp, clamp(local, vec2<f32>(0.0), vec2<f32>(1.0)), i32(i), 0.0).rgb;
            // A thin dark seam keeps the dreamers' tiles apart.
            let edge = min(local, 1.0 - local) * t.rect.zw * dims;
            let seam = smoothstep(0.0, m.seam_px, min(edge.x, edge.y));
            tiled = select(tiled, mix(tiled, own * seam, t.presence), inside);
        }
    }
    let u = m.unity * m.unity * (3.0 - 2.0 * m.unity);
    return vec4<f32>(mix(tiled, merged, u), 1.0);
}
"#;

/// Textures for one picture size and dreamer count.
struct Targets {
    size: (u32, u32),
    count: usize,
    base_view: wgpu::TextureView,
    layer_views: Vec<wgpu::TextureView>,
    bind_group: wgpu::BindGroup,
}

pub struct MosaicPass {
    format: wgpu::TextureFormat,
    pipeline: wgpu::RenderPipeline,
    bgl: wgpu::BindGroupLayout,
    sampler: wgpu::Sampler,
    uniform_buf: wgpu::Buffer,
    targets: Option<Targets>,
}

impl MosaicPass {
    pub fn new(device: &wgpu::Device, format: wgpu::TextureFormat) -> Self {
        let texture = |binding, view_dimension| {
            super::passes::texture_entry(
                binding,
                wgpu::ShaderStages::FRAGMENT,
                view_dimension,
                true,
            )
        };
        let bgl = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("mosaic"),
            entries: &[
                texture(0, wgpu::TextureViewDimension::D2),
                texture(1, wgpu::TextureViewDimension::D2Array),
                super::passes::sampler_entry(2),
                super::passes::uniform_entry(3, wgpu::ShaderStages::FRAGMENT),
            ],
        });
        let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("mosaic"),
            bind_group_layouts: &[Some(&bgl)],
            immediate_size: 0,
        });
        let source =
            format!("const MAX_DREAMERS: u32 = {MAX_DREAMERS}u;\n{FULLSCREEN_VS_WGSL}{SHADER}");
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("mosaic"),
            source: wgpu::ShaderSource::Wgsl(source.into()),
        });
        let pipeline =
            fullscreen_pipeline(device, "mosaic", &layout, &module, "fs_main", format, 1);
        let uniform_buf = super::passes::uniform_buffer(
            device,
            "mosaic uniforms",
            std::mem::size_of::<MosaicUniform>() as u64,
        );
        Self {
            format,
            pipeline,
            bgl,
            sampler: super::passes::linear_sampler(device),
            uniform_buf,
            targets: None,
        }
    }

    /// Makes sure there are textures for `count` dreamers at `size`.
    pub fn prepare(&mut self, device: &wgpu::Device, size: (u32, u32), count: usize) {
        let count = count.clamp(1, MAX_DREAMERS);
        if self
            .targets
            .as_ref()
            .is_some_and(|t| t.size == size && t.count == count)
        {
            return;
        }
        let base = intermediate_texture(device, "mosaic base", size, self.format);
        let layers = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("mosaic dreamers"),
            size: wgpu::Extent3d {
                width: size.0.max(1),
                height: size.1.max(1),
                depth_or_array_layers: count as u32,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: self.format,
            usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::TEXTURE_BINDING,
            view_formats: &[],
        });
        let layer_views = (0..count as u32)
            .map(|i| {
                layers.create_view(&wgpu::TextureViewDescriptor {
                    dimension: Some(wgpu::TextureViewDimension::D2),
                    base_array_layer: i,
                    array_layer_count: Some(1),
                    ..Default::default()
                })
            })
            .collect();
        let base_view = base.create_view(&Default::default());
        let array_view = layers.create_view(&wgpu::TextureViewDescriptor {
            dimension: Some(wgpu::TextureViewDimension::D2Array),
            ..Default::default()
        });
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("mosaic"),
            layout: &self.bgl,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: wgpu::BindingResource::TextureView(&base_view),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: wgpu::BindingResource::TextureView(&array_view),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: wgpu::BindingResource::Sampler(&self.sampler),
                },
                wgpu::BindGroupEntry {
                    binding: 3,
                    resource: self.uniform_buf.as_entire_binding(),
                },
            ],
        });
        self.targets = Some(Targets {
            size,
            count,
            base_view,
            layer_views,
            bind_group,
        });
    }

    /// Where the performance's own preset is drawn (after [`MosaicPass::prepare`]).
    pub fn base_view(&self) -> Option<&wgpu::TextureView> {
        self.targets.as_ref().map(|t| &t.base_view)
    }

    /// Where dreamer `i` is drawn (after [`MosaicPass::prepare`]).
    pub fn layer_view(&self, i: usize) -> Option<&wgpu::TextureView> {
        self.targets.as_ref().and_then(|t| t.layer_views.get(i))
    }

    /// Composes the base and the dreamers drawn this frame into `view`.
    pub fn compose(
        &self,
        queue: &wgpu::Queue,
        encoder: &mut wgpu::CommandEncoder,
        view: &wgpu::TextureView,
        mosaic: &Mosaic,
    ) {
        let Some(t) = self.targets.as_ref() else {
            return;
        };
        queue.write_buffer(
            &self.uniform_buf,
            0,
            bytemuck::bytes_of(&uniforms(mosaic, t)),
        );
        let mut pass = super::passes::begin_pass(encoder, view, "mosaic");
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &t.bind_group, &[]);
        pass.draw(0..3, 0..1);
    }
}

fn uniforms(mosaic: &Mosaic, t: &Targets) -> MosaicUniform {
    let dreamers = mosaic.dreamers();
    let count = dreamers.len().min(t.count);
    let (cols, rows) = tile_grid(count, t.size.0, t.size.1);
    let mut tiles = [TileUniform::default(); MAX_DREAMERS];
    for (i, (tile, d)) in tiles.iter_mut().zip(dreamers).take(count).enumerate() {
        let (c, r) = (i as u32 % cols, i as u32 / cols);
        *tile = TileUniform {
            rect: [
                c as f32 / cols as f32,
                r as f32 / rows as f32,
                1.0 / cols as f32,
                1.0 / rows as f32,
            ],
            mode: d.blend.code(),
            weight: (d.opacity * d.presence).clamp(0.0, 1.0),
            presence: d.presence.clamp(0.0, 1.0),
            _pad: 0.0,
        };
    }
    MosaicUniform {
        count: count as u32,
        unity: mosaic.unity.clamp(0.0, 1.0),
        seam_px: 2.0,
        _pad: 0.0,
        tiles,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wgpu::naga;

    #[test]
    fn the_compositor_shader_validates_and_its_uniforms_match() {
        let source =
            format!("const MAX_DREAMERS: u32 = {MAX_DREAMERS}u;\n{FULLSCREEN_VS_WGSL}{SHADER}");
        let module = naga::front::wgsl::parse_str(&source).unwrap();
        naga::valid::Validator::new(Default::default(), naga::valid::Capabilities::all())
            .validate(&module)
            .unwrap();
        let mut layouter = naga::proc::Layouter::default();
        layouter.update(module.to_ctx()).unwrap();
        let (handle, _) = module
            .types
            .iter()
            .find(|(_, t)| t.name.as_deref() == Some("MosaicU"))
            .unwrap();
        assert_eq!(
            layouter[handle].size as usize,
            std::mem::size_of::<MosaicUniform>()
        );
        // Every field, by name, where the shader reads it and where Rust writes it.
        let fields = |name: &str| {
            let (handle, ty) = module
                .types
                .iter()
                .find(|(_, t)| t.name.as_deref() == Some(name))
                .unwrap();
            let naga::TypeInner::Struct { members, .. } = &ty.inner else {
                panic!("{name} is not a struct")
            };
            let offsets: Vec<(String, usize)> = members
                .iter()
                .map(|m| (m.name.clone().unwrap_or_default(), m.offset as usize))
                .collect();
            (offsets, layouter[handle].size as usize)
        };
        use std::mem::offset_of;
        let named = |v: &[(&str, usize)]| -> Vec<(String, usize)> {
            v.iter().map(|(n, o)| (n.to_string(), *o)).collect()
        };
        assert_eq!(
            fields("MosaicU").0,
            named(&[
                ("count", offset_of!(MosaicUniform, count)),
                ("unity", offset_of!(MosaicUniform, unity)),
                ("seam_px", offset_of!(MosaicUniform, seam_px)),
                ("_pad", offset_of!(MosaicUniform, _pad)),
                ("tiles", offset_of!(MosaicUniform, tiles)),
            ])
        );
        let (tile, tile_size) = fields("Tile");
        assert_eq!(
            tile,
            named(&[
                ("rect", offset_of!(TileUniform, rect)),
                ("mode", offset_of!(TileUniform, mode)),
                ("weight", offset_of!(TileUniform, weight)),
                ("presence", offset_of!(TileUniform, presence)),
                ("_pad", offset_of!(TileUniform, _pad)),
            ])
        );
        assert_eq!(tile_size, std::mem::size_of::<TileUniform>());
    }
}
