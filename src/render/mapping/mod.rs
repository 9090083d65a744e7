//! The output stage: the one canvas cut into slices for each output, corrected for its
//! projector (a four-corner homography, a mesh warp, soft-edge blends, masks), baked into one
//! float remap texture per output so each output costs one full-screen pass a frame.

pub mod bake;
pub mod geometry;
pub mod output_pass;
pub mod stage;
pub mod test_card;
pub mod virtual_out;
