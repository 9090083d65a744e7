//! How bright each presented frame was, read back from the GPU without ever waiting for it.
//!
//! The flash guard already measures every finished frame's mean relative luminance on the GPU;
//! this copies that one number into a small ring of mappable buffers and hands the values to
//! the health report a few frames later, in frame order. An unattended kiosk can then say how
//! long its picture has been black (a crossfade that lost its incoming item, a shader that
//! draws nothing), and the soak benchmark counts black frames exactly instead of guessing from
//! screenshots. A frame whose slot is still in flight goes unmeasured rather than stalling.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use super::renderer::Renderer;

/// Frames that may be in flight at once; the GPU answers within two or three.
const SLOTS: usize = 8;
/// Bytes a slot holds: one `f32`, padded to the copy alignment.
const SLOT_BYTES: u64 = wgpu::COPY_BUFFER_ALIGNMENT;

const IDLE: u8 = 0;
const COPYING: u8 = 1;
const READY: u8 = 2;
const FAILED: u8 = 3;

struct Slot {
    buffer: wgpu::Buffer,
    state: Arc<AtomicU8>,
}

/// The ring of read-back slots of one GPU device (made anew with the device after a loss).
pub struct PictureMeter {
    slots: Vec<Slot>,
    /// Slots whose copy was encoded, oldest frame first.
    in_flight: VecDeque<usize>,
}

impl PictureMeter {
    pub fn new(device: &wgpu::Device) -> Self {
        let slots = (0..SLOTS)
            .map(|_| Slot {
                buffer: device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("picture meter"),
                    size: SLOT_BYTES,
                    usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                }),
                state: Arc::new(AtomicU8::new(IDLE)),
            })
            .collect();
        Self {
            slots,
            in_flight: VecDeque::with_capacity(SLOTS),
        }
    }

    /// Records the copy of this frame's measured luminance into a free slot, after the
    /// renderer's commands in `encoder`. `None` when the renderer measures nothing (the flash
    /// guard is off) or every slot is still waiting.
    pub fn encode(
        &mut self,
        renderer: &Renderer,
        encoder: &mut wgpu::CommandEncoder,
    ) -> Option<usize> {
        self.encode_from(encoder, |encoder, dst| {
            renderer.copy_output_luminance(encoder, dst)
        })
    }

    /// [`PictureMeter::encode`] from any guard: `copy` records the copy of a measured
    /// luminance into the slot's buffer, or says there is none.
    pub fn encode_from(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        copy: impl FnOnce(&mut wgpu::CommandEncoder, &wgpu::Buffer) -> bool,
    ) -> Option<usize> {
        let free = (0..SLOTS).find(|i| self.slots[*i].state.load(Ordering::Acquire) == IDLE)?;
        let slot = &self.slots[free];
        if !copy(encoder, &slot.buffer) {
            return None;
        }
        slot.state.store(COPYING, Ordering::Release);
        self.in_flight.push_back(free);
        Some(free)
    }

    /// The frame holding `slot`'s copy was submitted: ask for the slot to be mapped when the
    /// GPU is done with it.
    pub fn submitted(&mut self, slot: usize) {
        let state = Arc::clone(&self.slots[slot].state);
        self.slots[slot]
            .buffer
            .slice(..)
            .map_async(wgpu::MapMode::Read, move |r| {
                state.store(if r.is_ok() { READY } else { FAILED }, Ordering::Release);
            });
    }

    /// Hands over, oldest first, every frame's luminance that has arrived; never waits.
    pub fn collect(&mut self, device: &wgpu::Device, mut each: impl FnMut(f32)) {
        let _ = device.poll(wgpu::PollType::Poll);
        while let Some(&i) = self.in_flight.front() {
            let slot = &self.slots[i];
            match slot.state.load(Ordering::Acquire) {
                READY => {
                    let mean =
                        slot.buffer.slice(..).get_mapped_range().ok().map(|bytes| {
                            f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
                        });
                    slot.buffer.unmap();
                    if let Some(mean) = mean {
                        each(mean);
                    }
                }
                FAILED => {}
                _ => return,
            }
            slot.state.store(IDLE, Ordering::Release);
            self.in_flight.pop_front();
        }
    }
}
