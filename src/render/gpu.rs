//! Our one wrapper around wgpu's instance, adapter, device and queue.

use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    #[error(
        "no graphics adapter found ({0}); install Mesa's Vulkan drivers (apt-get install mesa-vulkan-drivers) for software rendering, or set WGPU_BACKEND=gl"
    )]
    NoAdapter(String),
    #[error("the graphics device could not be opened: {0}")]
    Device(String),
    #[error("the window surface could not be created: {0}")]
    Surface(String),
    #[error("reading a frame back from the GPU failed: {0}")]
    Readback(String),
}

pub struct Gpu {
    pub instance: wgpu::Instance,
    pub adapter: wgpu::Adapter,
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
}

impl Gpu {
    /// A device for offscreen rendering. Honours `WGPU_BACKEND` and friends.
    pub fn headless() -> Result<Self, RenderError> {
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        Self::with_instance(instance, None)
    }

    /// A device able to present to `surface`, created from `instance`.
    pub fn with_instance(
        instance: wgpu::Instance,
        surface: Option<&wgpu::Surface<'_>>,
    ) -> Result<Self, RenderError> {
        let adapter = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            force_fallback_adapter: false,
            compatible_surface: surface,
            ..Default::default()
        }))
        .map_err(|e| RenderError::NoAdapter(e.to_string()))?;
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("somnia"),
            required_limits: wgpu::Limits::downlevel_defaults().using_resolution(adapter.limits()),
            ..Default::default()
        }))
        .map_err(|e| RenderError::Device(e.to_string()))?;
        // wgpu's default handler panics on any validation error. The show goes on: log it.
        device.on_uncaptured_error(Arc::new(|e| eprintln!("somnia: graphics error: {e}")));
        Ok(Self {
            instance,
            adapter,
            device,
            queue,
        })
    }

    /// "llvmpipe (LLVM 15.0.6, 256 bits) via Vulkan, Cpu" and the like.
    pub fn describe(&self) -> String {
        let info = self.adapter.get_info();
        format!(
            "{} via {:?}, {:?}",
            info.name, info.backend, info.device_type
        )
    }
}
