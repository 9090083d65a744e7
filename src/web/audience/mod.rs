//! The audience page (`/join`): phones join a show as dreamers, by their own consent. This
//! folder grows the page and its WebSocket; `slots.rs` is who holds which dreamer and what the
//! crowd feels, apart from the network.

pub mod slots;
