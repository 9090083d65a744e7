//! Kiosks: installations that run unattended. A kiosk file ([`file`]) names a playlist of
//! performances and presets, an attract item and opening hours; [`playlist`] decides what
//! plays next and [`schedule`] when the kiosk is open. All of it is pure and checked like every
//! other file; `somnia kiosk` (the command that plays it) builds on it.

pub mod file;
pub mod playlist;
pub mod runner;
pub mod schedule;
