//! A virtual output live: drawn offscreen like any output, read back without the render
//! thread ever waiting (a ring of mappable buffers, collected frames later), and written as
//! raw RGBA frames to its file by a thread of its own. The file is meant to be a named pipe
//! that ffmpeg reads onwards (to a v4l2loopback camera, a streaming server):
//! `ffmpeg -f rawvideo -pix_fmt rgba -s WxH -r FPS -i FILE ...`. Opening a pipe waits for its
//! reader, and a reader that falls behind or goes away must never slow the show: frames go to
//! the writer through a bounded channel, and when it is full they are dropped and counted. A
//! reader that goes away is waited for again; the stream resumes when one comes back.

use std::collections::VecDeque;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};

use crate::render::gpu::Gpu;

/// Frames read back at once, at most; the GPU answers within two or three.
const SLOTS: usize = 4;
/// Frames waiting for the writer, at most.
const QUEUED: usize = 2;

const IDLE: u8 = 0;
const COPYING: u8 = 1;
const READY: u8 = 2;
const FAILED: u8 = 3;

struct Slot {
    buffer: wgpu::Buffer,
    state: Arc<AtomicU8>,
}

/// One virtual output's target, its read-back ring and its writer.
pub struct VirtualOutput {
    /// The output of the map it is.
    pub output: usize,
    pub texture: wgpu::Texture,
    size: (u32, u32),
    padded_row_bytes: u32,
    slots: Vec<Slot>,
    in_flight: VecDeque<usize>,
    frames: Option<SyncSender<Vec<u8>>>,
    /// Frames dropped because the writer was behind (or waiting for a reader).
    dropped: u64,
    /// Frames the writer has written.
    written: Arc<AtomicU64>,
}

impl VirtualOutput {
    /// A virtual output of `size` pixels for output `output`, written to `file` if one is
    /// named (else drawn only).
    pub fn new(
        gpu: &Gpu,
        output: usize,
        name: &str,
        size: (u32, u32),
        file: Option<&Path>,
    ) -> Self {
        let written = Arc::new(AtomicU64::new(0));
        let frames = file.and_then(|f| start_writer(name, f.to_path_buf(), Arc::clone(&written)));
        let mut out = Self {
            output,
            texture: target(gpu, size),
            size,
            padded_row_bytes: 0,
            slots: Vec::new(),
            in_flight: VecDeque::new(),
            frames,
            dropped: 0,
            written,
        };
        out.rebuild(gpu);
        out
    }

    /// The GPU side made anew on `gpu` (after a lost device); the writer carries on.
    pub fn rebuild(&mut self, gpu: &Gpu) {
        let align = wgpu::COPY_BYTES_PER_ROW_ALIGNMENT;
        self.padded_row_bytes = (self.size.0 * 4).div_ceil(align) * align;
        self.texture = target(gpu, self.size);
        self.in_flight.clear();
        self.slots = (0..SLOTS)
            .map(|_| Slot {
                buffer: gpu.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("virtual output readback"),
                    size: u64::from(self.padded_row_bytes) * u64::from(self.size.1),
                    usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                }),
                state: Arc::new(AtomicU8::new(IDLE)),
            })
            .collect();
    }

    /// Frames dropped so far, and frames written.
    pub fn counts(&self) -> (u64, u64) {
        (self.dropped, self.written.load(Ordering::Relaxed))
    }

    /// Records the read-back of this frame (drawn into `texture` earlier in `encoder`) into a
    /// free slot; `None` with nowhere to write it or every slot still in flight (dropped).
    pub fn encode_copy(&mut self, encoder: &mut wgpu::CommandEncoder) -> Option<usize> {
        self.frames.as_ref()?;
        let Some(free) = (0..SLOTS).find(|i| self.slots[*i].state.load(Ordering::Acquire) == IDLE)
        else {
            self.dropped += 1;
            return None;
        };
        let (w, h) = self.size;
        encoder.copy_texture_to_buffer(
            wgpu::TexelCopyTextureInfo {
                texture: &self.texture,
                mip_level: 0,
                origin: wgpu::Origin3d::ZERO,
                aspect: wgpu::TextureAspect::All,
            },
            wgpu::TexelCopyBufferInfo {
                buffer: &self.slots[free].buffer,
                layout: wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(self.padded_row_bytes),
                    rows_per_image: Some(h),
                },
            },
            wgpu::Extent3d {
                width: w,
                height: h,
                depth_or_array_layers: 1,
            },
        );
        self.slots[free].state.store(COPYING, Ordering::Release);
        self.in_flight.push_back(free);
        Some(free)
    }

    /// The frame holding `slot`'s copy was submitted: map it when the GPU is done.
    pub fn submitted(&mut self, slot: usize) {
        let state = Arc::clone(&self.slots[slot].state);
        self.slots[slot]
            .buffer
            .slice(..)
            .map_async(wgpu::MapMode::Read, move |r| {
                state.store(if r.is_ok() { READY } else { FAILED }, Ordering::Release);
            });
    }

    /// Hands every frame read back so far to the writer, oldest first; never waits (the
    /// device is polled elsewhere each frame).
    pub fn collect(&mut self) {
        while let Some(&i) = self.in_flight.front() {
            let slot = &self.slots[i];
            match slot.state.load(Ordering::Acquire) {
                READY => {
                    let row = (self.size.0 * 4) as usize;
                    let rgba = slot.buffer.slice(..).get_mapped_range().ok().map(|data| {
                        let mut out = Vec::with_capacity(row * self.size.1 as usize);
                        for r in data.chunks(self.padded_row_bytes as usize) {
                            out.extend_from_slice(&r[..row]);
                        }
                        out
                    });
                    slot.buffer.unmap();
                    if let (Some(rgba), Some(tx)) = (rgba, &self.frames) {
                        match tx.try_send(rgba) {
                            Ok(()) => {}
                            Err(TrySendError::Full(_)) => self.count_dropped(),
                            Err(TrySendError::Disconnected(_)) => self.frames = None,
                        }
                    }
                }
                FAILED => {}
                _ => return,
            }
            self.slots[i].state.store(IDLE, Ordering::Release);
            self.in_flight.pop_front();
        }
    }

    fn count_dropped(&mut self) {
        self.dropped += 1;
        // Said at 1, 2, 4, 8 … dropped: a slow reader is visible without flooding the log.
        if self.dropped.is_power_of_two() {
            tracing::warn!(
                "somnia: virtual output {}: {} frame(s) dropped (its reader is behind or gone)",
                self.output + 1,
                self.dropped
            );
        }
    }
}

fn target(gpu: &Gpu, size: (u32, u32)) -> wgpu::Texture {
    let format = crate::render::offscreen::Offscreen::FORMAT;
    gpu.device.create_texture(&wgpu::TextureDescriptor {
        label: Some("virtual output"),
        size: wgpu::Extent3d {
            width: size.0,
            height: size.1,
            depth_or_array_layers: 1,
        },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format,
        // Sampled and with an sRGB twin: its flash guard works in place.
        usage: wgpu::TextureUsages::RENDER_ATTACHMENT
            | wgpu::TextureUsages::COPY_SRC
            | wgpu::TextureUsages::TEXTURE_BINDING,
        view_formats: &[format.add_srgb_suffix()],
    })
}

/// The writer thread: opens `file` (a pipe's open waits for a reader), writes each frame
/// whole, and when the reader goes away waits for the next. Ends when the output does.
fn start_writer(name: &str, file: PathBuf, written: Arc<AtomicU64>) -> Option<SyncSender<Vec<u8>>> {
    let (tx, rx) = sync_channel::<Vec<u8>>(QUEUED);
    let label = name.to_string();
    let spawned = std::thread::Builder::new()
        .name(format!("somnia-virtual-{name}"))
        .spawn(move || write_frames(&label, &file, &rx, &written));
    match spawned {
        Ok(_) => Some(tx),
        Err(e) => {
            tracing::warn!("somnia: virtual output `{name}`: cannot start its writer: {e}");
            None
        }
    }
}

fn write_frames(name: &str, file: &Path, rx: &Receiver<Vec<u8>>, written: &AtomicU64) {
    loop {
        // Blocks until a reader opens a pipe; a plain file opens at once (and is replaced).
        let mut out = match std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(file)
        {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(
                    "somnia: virtual output `{name}`: cannot open {}: {e}; trying again in 1 s",
                    file.display()
                );
                std::thread::sleep(std::time::Duration::from_secs(1));
                continue;
            }
        };
        tracing::info!(
            "somnia: virtual output `{name}` streams to {}",
            file.display()
        );
        // Frames queued while nobody read are stale: the stream starts from now.
        while rx.try_recv().is_ok() {}
        loop {
            let Ok(frame) = rx.recv() else { return };
            if let Err(e) = out.write_all(&frame) {
                tracing::info!(
                    "somnia: virtual output `{name}`: its reader went away ({e}); waiting for the next"
                );
                break;
            }
            written.fetch_add(1, Ordering::Relaxed);
        }
    }
}
